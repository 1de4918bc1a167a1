"""Vectorized Arrow kernels for text functions that SQL macros compute slowly. Each is registered in
DuckDB as `dr_NAME` (an Arrow UDF) and declared in the operator library like any macro."""

from __future__ import annotations

from typing import Any

# numpy and pyarrow are imported when a kernel runs, so `recipe check` stays fast. Arguments and
# results are pyarrow arrays; the annotations say Any because DuckDB evaluates them when registering.

# Part of every stage fingerprint: bump it when a kernel's results change.
KERNELS_VERSION = "1"


def _word_stats(text: Any) -> tuple[Any, Any]:
    """Per row: the number of words and their total length, splitting on Unicode whitespace."""
    import numpy as np
    import pyarrow.compute as pc

    split = pc.utf8_split_whitespace(text)
    lengths = pc.utf8_length(pc.list_flatten(split)).to_numpy(zero_copy_only=False)
    parents = pc.list_parent_indices(split).to_numpy(zero_copy_only=False)
    # Arrow keeps empty pieces around runs of whitespace; a word is a non-empty piece, as str.split() has it.
    words = np.bincount(parents, weights=lengths > 0, minlength=len(text))
    chars = np.bincount(parents, weights=lengths, minlength=len(text))
    return words, chars


def _with_nulls(values: Any, text: Any) -> Any:
    import numpy as np
    import pyarrow as pa

    return pa.array(values.astype(np.float64), mask=text.is_null().to_numpy(zero_copy_only=False))


def words(text: Any) -> Any:
    counts, _ = _word_stats(text)
    return _with_nulls(counts, text)


def mean_word_length(text: Any) -> Any:
    import numpy as np

    counts, chars = _word_stats(text)
    return _with_nulls(np.divide(chars, np.maximum(counts, 1)), text)
