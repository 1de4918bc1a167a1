"""Text functions, usable in any expression (`keep words(text) > 50`): each is lowered to `dr_NAME`, a DuckDB macro
(its `macro`, over the parameter names) or a vectorized Arrow kernel defined here, which computes faster what a macro
would compute slowly. Kernels are declared with `declare`, as a plugin's are, and registered in DuckDB as Arrow UDFs
(runtime/session.py). Language identification, `lang()`, is in langid.py."""

from __future__ import annotations

from functools import cache
from typing import Any

from datarecipe.operators.base import REQUIRED, Operator, Param, declare, register

# numpy and pyarrow are imported when a kernel runs, so `recipe check` stays fast. Arguments and
# results are pyarrow arrays; the annotations say Any because DuckDB evaluates them when registering.

# Stop words per language. English is Gopher's list (Rae et al. 2021, appendix A); the others
# are the most frequent function words of each language, in the same spirit.
STOPWORDS: dict[str, tuple[str, ...]] = {
    "en": ("the", "be", "to", "of", "and", "that", "have", "with"),
    "de": ("der", "die", "und", "das", "ist", "zu", "den", "mit"),
    "fr": ("le", "la", "les", "de", "et", "est", "que", "un"),
    "es": ("el", "la", "de", "que", "y", "en", "los", "es"),
}


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


# ---- declarations ---------------------------------------------------------------------------------------

TEXT = Param("text", "text", "text", "the string to measure; any string expression")

BULLETS = "•‣◦⁃∙·*-–"


register(
    Operator("length", "function", (TEXT,), "Number of characters (Unicode code points).",
             "number", "length(text)"),
    Operator("bytes", "function", (TEXT,), "Number of bytes of the UTF-8 encoding.",
             "number", "octet_length(encode(text))"),
    declare(words, "words", "function", (TEXT,),
            "Number of words: runs of non-whitespace (Unicode whitespace).", "number"),
    declare(mean_word_length, "mean_word_length", "function", (TEXT,),
            "Mean length in characters of the words (0 for no words).", "number"),
    Operator("lines", "function", (TEXT,), "Number of lines (a final newline does not start a new one).",
             "number", "CASE WHEN text = '' THEN 0 ELSE length(string_split(rtrim(text, chr(10)), chr(10))) END"),
    Operator("symbol_ratio", "function",
             (Param("symbol", "str", REQUIRED, "the symbol to count, e.g. \"#\" or \"...\""), TEXT),
             "Occurrences of `symbol` per word (Gopher's symbol-to-word ratio).", "number",
             "(length(text) - length(replace(text, symbol, ''))) / greatest(length(symbol), 1)"
             " / greatest(dr_words(text), 1)"),
    declare(alpha_ratio, "alpha_ratio", "function", (TEXT,),
            "Share of non-whitespace characters that are letters (any script; Unicode whitespace).", "number"),
    declare(uppercase_ratio, "uppercase_ratio", "function", (TEXT,),
            "Share of letters that are uppercase (Unicode `Lu`).", "number"),
    declare(digit_ratio, "digit_ratio", "function", (TEXT,),
            "Share of non-whitespace characters that are numbers (Unicode `N`: digits in any script).", "number"),
    declare(stopwords, "stopwords", "function",
            (Param("lang", "choice", "en", "language of the stop-word list", choices=tuple(STOPWORDS)),
             TEXT),
            "Number of stop-word occurrences among the lowercased runs of letters (Gopher counts "
            "`the, be, to, of, and, that, have, with`).", "number"),
    Operator("bullet_line_ratio", "function", (TEXT,),
             f"Share of lines that start with a bullet ({' '.join(BULLETS)}).", "number",
             "CASE WHEN text = '' THEN 0 ELSE length(list_filter(string_split(rtrim(text, chr(10)), chr(10)),"
             f" lambda l: regexp_matches(l, '^\\s*[{BULLETS.replace('-', '')}\\-]')))"
             " / length(string_split(rtrim(text, chr(10)), chr(10))) END"),
    Operator("ellipsis_line_ratio", "function", (TEXT,),
             "Share of lines that end with an ellipsis (`...` or `…`).", "number",
             "CASE WHEN text = '' THEN 0 ELSE length(list_filter(string_split(rtrim(text, chr(10)), chr(10)),"
             r" lambda l: regexp_matches(l, '(\.\.\.|…)\s*$')))"
             " / length(string_split(rtrim(text, chr(10)), chr(10))) END"),
    Operator("lower", "function", (TEXT,), "The text in lowercase.", "string", "lower(text)"),
    Operator("url_host", "function", (Param("text", "text", "text", "a URL, e.g. `meta.url`"),),
             "The host of a URL, lowercased (`https://en.Wikipedia.org/wiki/X` gives `en.wikipedia.org`); an empty "
             "string when the value is not a URL. MeCo prefixes documents with it.", "string",
             "lower(regexp_extract(text, '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?([^:/?#]+)', 1))"),
)
