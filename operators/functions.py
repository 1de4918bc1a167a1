"""Text functions, usable in any expression (`keep words(text) > 50`): each is lowered to `dr_NAME`, a DuckDB macro
(its `macro`, over the parameter names) or a kernel of the native core (native/src/textfns.rs), which computes
faster what a macro would compute slowly. Kernels are declared with `declare`, as a plugin's are, and registered in
DuckDB as Arrow UDFs (runtime/session.py). Language identification, `lang()`, is in langid.py."""

from __future__ import annotations

from typing import Any

from datarecipe.operators.base import REQUIRED, Operator, Param, declare, register

# pyarrow and the native core are loaded when a kernel runs, so `recipe check` stays fast. Arguments and
# results are pyarrow arrays; the annotations say Any because DuckDB evaluates them when registering.

# Stop words per language. English is Gopher's list (Rae et al. 2021, appendix A); the others
# are the most frequent function words of each language, in the same spirit.
STOPWORDS: dict[str, tuple[str, ...]] = {
    "en": ("the", "be", "to", "of", "and", "that", "have", "with"),
    "de": ("der", "die", "und", "das", "ist", "zu", "den", "mit"),
    "fr": ("le", "la", "les", "de", "et", "est", "que", "un"),
    "es": ("el", "la", "de", "que", "y", "en", "los", "es"),
}


# The native kernels' numbers (native/src/textfns.rs). Their Python predecessors are the test oracle
# (tests/oracle/functions.py); the native ones give the same values.
NATIVE = {"words": 0, "mean_word_length": 1, "alpha_ratio": 2, "uppercase_ratio": 3, "digit_ratio": 4,
          "stopwords": 5, "duplicate_line_ratio": 6, "lines": 7, "bullet_line_ratio": 8, "ellipsis_line_ratio": 9}


def text_function(name: str, text: Any, arg: int = 0) -> Any:
    """The native text function `name` of every row, as float64, null where the text is."""
    import pyarrow as pa
    from datarecipe.operators.native import Texts, check, lib, numbers

    texts = Texts(text)
    out, pointer = numbers(texts.n)
    check(lib()[1].dr_text_function(NATIVE[name], arg, *texts.args(), pointer))
    return pa.array(out, mask=texts.nulls if texts.nulls.any() else None)


def words(text: Any) -> Any:
    return text_function("words", text)


def mean_word_length(text: Any) -> Any:
    return text_function("mean_word_length", text)


def alpha_ratio(text: Any) -> Any:
    return text_function("alpha_ratio", text)


def uppercase_ratio(text: Any) -> Any:
    return text_function("uppercase_ratio", text)


def digit_ratio(text: Any) -> Any:
    return text_function("digit_ratio", text)


def stopwords(lang: str, text: Any) -> Any:
    """Occurrences of the language's stop words among the lowercased runs of letters."""
    return text_function("stopwords", text, list(STOPWORDS).index(lang))


# The line functions were DuckDB macros over `string_split(rtrim(text, chr(10)), chr(10))` (tests/oracle/functions.py
# keeps them); the native kernels split the same lines and match the macros' regexes (RE2's ASCII `\s`) without
# building a list per document: 6 to 17 times faster.
def lines(text: Any) -> Any:
    return text_function("lines", text)


def bullet_line_ratio(text: Any) -> Any:
    return text_function("bullet_line_ratio", text)


def ellipsis_line_ratio(text: Any) -> Any:
    return text_function("ellipsis_line_ratio", text)


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
    declare(lines, "lines", "function", (TEXT,), "Number of lines (a final newline does not start a new one).",
            "number"),
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
    declare(bullet_line_ratio, "bullet_line_ratio", "function", (TEXT,),
            f"Share of lines that start with a bullet ({' '.join(BULLETS)}).", "number"),
    declare(ellipsis_line_ratio, "ellipsis_line_ratio", "function", (TEXT,),
            "Share of lines that end with an ellipsis (`...` or `…`).", "number"),
    Operator("lower", "function", (TEXT,), "The text in lowercase.", "string", "lower(text)"),
    Operator("url_host", "function", (Param("text", "text", "text", "a URL, e.g. `meta.url`"),),
             "The host of a URL, lowercased (`https://en.Wikipedia.org/wiki/X` gives `en.wikipedia.org`); an empty "
             "string when the value is not a URL. MeCo prefixes documents with it.", "string",
             "lower(regexp_extract(text, '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?([^:/?#]+)', 1))"),
)
