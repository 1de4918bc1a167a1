"""`duplicate_line_ratio(text)`: the share of a document's lines that repeat an earlier line of it, Gopher's
duplicate-line fraction (Rae et al. 2021, table A1) as a text function, so a recipe can keep or drop on it
(`drop duplicate_line_ratio(text) > 30%`) or sort and mix by it."""

from __future__ import annotations

from typing import Any

from datarecipe.operators.base import declare, register
from datarecipe.operators.functions import TEXT


def duplicate_line_ratio(text: Any) -> Any:
    """Arrow kernel: per row, the lines that repeat an earlier line, over the lines, blank lines left out."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    lines = pc.split_pattern(text, "\n")
    table = pa.table({"row": pc.list_parent_indices(lines), "line": pc.list_flatten(lines)})
    table = table.filter(pc.not_equal(pc.utf8_trim_whitespace(table["line"]), ""))
    # Each distinct line of a row is counted once as a line and its other occurrences as repeats.
    counts = table.group_by(["row", "line"]).aggregate([([], "count_all")])
    rows = counts["row"].to_numpy().astype(np.int64)
    occurrences = counts["count_all"].to_numpy().astype(np.float64)
    total = np.bincount(rows, weights=occurrences, minlength=len(text))
    repeats = np.bincount(rows, weights=occurrences - 1, minlength=len(text))
    return pa.array(np.divide(repeats, np.maximum(total, 1)), mask=text.is_null().to_numpy(zero_copy_only=False))


register(declare(
    duplicate_line_ratio, "duplicate_line_ratio", "function", (TEXT,),
    "Share of the lines that repeat an earlier line of the document, exactly (Gopher's `dup_line_frac`): "
    "`a\\nb\\na\\na` gives 0.5. Lines are split on `\\n`; blank lines (empty or only whitespace) are left out of "
    "both counts, as Gopher's split on runs of newlines leaves out empty ones, so paragraph breaks and a final "
    "newline are not repeats. 0 for a text without a non-blank line.", "number"))
