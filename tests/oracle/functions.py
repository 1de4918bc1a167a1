"""The numpy/pyarrow kernels of the text functions (operators/functions.py) and of `duplicate_line_ratio`
(operators/duplicate_line_ratio.py) before the native core (native/src/textfns.rs) replaced them: the oracle the
native kernels are checked against, value for value."""

from __future__ import annotations

from functools import cache
from typing import Any

from datarecipe.operators.functions import STOPWORDS


def _word_stats(text: Any) -> tuple[Any, Any]:
    """Per row: the number of words and their total length, as Python's `str.split()` has them: a word is a run of
    non-whitespace characters (Unicode whitespace, `str.isspace`). From the batch's code points, not Arrow's
    `utf8_split_whitespace`, which pyarrow 26 gets wrong now and then (it left `'0é\\r'` one word of 3)."""
    import numpy as np

    classes, bounds = _decoded(text)
    word = (classes & _SPACE) == 0
    before = np.concatenate([[False], word[:-1]])  # whether the character before is part of a word
    starts = bounds[:-1][bounds[:-1] < len(word)]
    before[starts] = False  # a row's first character starts a word, whatever ended the row before
    begins = np.concatenate([[0], np.cumsum(word & ~before)])
    chars = np.concatenate([[0], np.cumsum(word)])
    return begins[bounds[1:]] - begins[bounds[:-1]], chars[bounds[1:]] - chars[bounds[:-1]]


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


_LETTER, _UPPER, _NUMBER, _SPACE = 1, 2, 4, 8


@cache
def _classes() -> Any:
    """For every code point, a bit set: letter (\\pL), uppercase letter (Lu), number (\\pN), whitespace."""
    import unicodedata

    import numpy as np

    table = np.zeros(0x110000, dtype=np.uint8)
    for cp in range(0x110000):
        ch = chr(cp)
        cat = unicodedata.category(ch)
        table[cp] = ((_LETTER if cat[0] == "L" else 0) | (_UPPER if cat == "Lu" else 0)
                     | (_NUMBER if cat[0] == "N" else 0) | (_SPACE if ch.isspace() else 0))
    return table


def _decoded(text: Any) -> tuple[Any, Any]:
    """The class bits of every code point of the batch (one decode of the whole batch), and the rows' bounds in it."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pc.fill_null(text, "").cast(pa.large_string())
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int64)[text.offset:text.offset + len(text) + 1]
    data = text.buffers()[2]
    raw = memoryview(data)[offsets[0]:offsets[-1]] if data is not None else memoryview(b"")
    points = np.frombuffer(bytes(raw).decode("utf-8").encode("utf-32-le"), dtype=np.uint32)
    bounds = np.concatenate([[0], np.cumsum(pc.utf8_length(text).to_numpy(zero_copy_only=False))])
    return _classes()[points], bounds


def _char_counts(text: Any) -> dict[int, Any]:
    """Per row, how many characters fall in each class."""
    import numpy as np

    classes, bounds = _decoded(text)
    counts = {}
    for bit in (_LETTER, _UPPER, _NUMBER, _SPACE):
        running = np.concatenate([[0], np.cumsum((classes & bit) != 0)])
        counts[bit] = running[bounds[1:]] - running[bounds[:-1]]
    counts[0] = bounds[1:] - bounds[:-1]
    return counts


def alpha_ratio(text: Any) -> Any:
    import numpy as np

    c = _char_counts(text)
    return _with_nulls(c[_LETTER] / np.maximum(c[0] - c[_SPACE], 1), text)


def uppercase_ratio(text: Any) -> Any:
    import numpy as np

    c = _char_counts(text)
    return _with_nulls(c[_UPPER] / np.maximum(c[_LETTER], 1), text)


def digit_ratio(text: Any) -> Any:
    import numpy as np

    c = _char_counts(text)
    return _with_nulls(c[_NUMBER] / np.maximum(c[0] - c[_SPACE], 1), text)


def stopwords(lang: str, text: Any) -> Any:
    """Occurrences of the language's stop words among the lowercased runs of letters."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    words = pa.array(STOPWORDS[lang], pa.string())
    runs = pc.split_pattern_regex(pc.utf8_lower(pc.fill_null(text, "")), r"[^\pL]+")
    hits = pc.is_in(pc.list_flatten(runs), value_set=words).to_numpy(zero_copy_only=False)
    counts = np.bincount(pc.list_parent_indices(runs).to_numpy(zero_copy_only=False), weights=hits,
                         minlength=len(text))
    return _with_nulls(counts, text)


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


# The DuckDB macros the line functions were (operators/functions.py), as `CREATE MACRO` bodies over `text`.
MACROS = {
    "lines": r"CASE WHEN text = '' THEN 0 ELSE length(string_split(rtrim(text, chr(10)), chr(10))) END",
    "bullet_line_ratio": r"CASE WHEN text = '' THEN 0 ELSE length(list_filter(string_split(rtrim(text, chr(10)), "
                         r"chr(10)), lambda l: regexp_matches(l, '^\s*[•‣◦⁃∙·*–\-]'))) / length(string_split("
                         r"rtrim(text, chr(10)), chr(10))) END",
    "ellipsis_line_ratio": r"CASE WHEN text = '' THEN 0 ELSE length(list_filter(string_split(rtrim(text, chr(10)), "
                           r"chr(10)), lambda l: regexp_matches(l, '(\.\.\.|…)\s*$'))) / length(string_split("
                           r"rtrim(text, chr(10)), chr(10))) END",
}
