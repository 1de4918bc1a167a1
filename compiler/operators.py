"""The operator library. Every operator is declared here once: its name, typed parameters with
defaults and ranges, its documentation and its lowering. The checker, `recipe explain`, the
SQL lowering and docs/reference.md all read these declarations."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import kernels

REQUIRED: Any = object()  # a parameter without a default


@dataclass(frozen=True)
class Param:
    """A typed operator parameter.

    Types: `text` (an expression of string type, such as the `text` column), `str`, `int`,
    `float`, `bool`, `choice` (one of `choices`), `size` (bytes, `128MB`), `path`.
    """

    name: str
    type: str
    default: Any = REQUIRED
    doc: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@dataclass(frozen=True)
class Operator:
    """One operator.

    kind: `function` (usable in any expression; lowered to the DuckDB macro `dr_<name>`),
    `dedup` (a `dedup` step of a filter), `source` (a reader), `setting` (a header setting).
    """

    name: str
    kind: str
    params: tuple[Param, ...]
    doc: str
    returns: str = ""  # for functions: number | string | bool
    macro: str = ""  # for functions: the macro body, over the parameter names
    # For functions computed by an Arrow kernel instead of a macro (see kernels.py).
    kernel: Callable[..., Any] | None = field(default=None, compare=False)

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)


TEXT = Param("text", "text", "text", "the string to measure; any string expression")

BULLETS = "•‣◦⁃∙·*-–"


FUNCTIONS = (
    Operator("length", "function", (TEXT,), "Number of characters (Unicode code points).",
             "number", "length(text)"),
    Operator("bytes", "function", (TEXT,), "Number of bytes of the UTF-8 encoding.",
             "number", "octet_length(encode(text))"),
    Operator("words", "function", (TEXT,), "Number of words: runs of non-whitespace (Unicode whitespace).",
             "number", kernel=kernels.words),
    Operator("mean_word_length", "function", (TEXT,),
             "Mean length in characters of the words (0 for no words).",
             "number", kernel=kernels.mean_word_length),
    Operator("lines", "function", (TEXT,), "Number of lines (a final newline does not start a new one).",
             "number", "CASE WHEN text = '' THEN 0 ELSE length(string_split(rtrim(text, chr(10)), chr(10))) END"),
    Operator("symbol_ratio", "function",
             (Param("symbol", "str", REQUIRED, "the symbol to count, e.g. \"#\" or \"...\""), TEXT),
             "Occurrences of `symbol` per word (Gopher's symbol-to-word ratio).", "number",
             "(length(text) - length(replace(text, symbol, ''))) / greatest(length(symbol), 1)"
             " / greatest(dr_words(text), 1)"),
    Operator("alpha_ratio", "function", (TEXT,),
             "Share of non-whitespace characters that are letters (any script; Unicode whitespace).", "number",
             kernel=kernels.alpha_ratio),
    Operator("uppercase_ratio", "function", (TEXT,), "Share of letters that are uppercase (Unicode `Lu`).",
             "number", kernel=kernels.uppercase_ratio),
    Operator("digit_ratio", "function", (TEXT,),
             "Share of non-whitespace characters that are numbers (Unicode `N`: digits in any script).",
             "number", kernel=kernels.digit_ratio),
    Operator("stopwords", "function",
             (Param("lang", "choice", "en", "language of the stop-word list", choices=tuple(kernels.STOPWORDS)),
              TEXT),
             "Number of stop-word occurrences among the lowercased runs of letters (Gopher counts "
             "`the, be, to, of, and, that, have, with`).", "number", kernel=kernels.stopwords),
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
)

DEDUPS = (
    Operator("exact", "dedup",
             (Param("normalize", "bool", False,
                    "compare texts lowercased, with runs of punctuation and whitespace collapsed"),),
             "Exact-duplicate removal: of each group of equal texts, the smallest `doc_id` is kept."),
)

_ON_ERROR = Param("on_error", "choice", "fail",
                  "what a bad row or file does: `fail` the run, or go to `quarantine` with a count",
                  choices=("fail", "quarantine"))
_PATH = Param("path", "path", REQUIRED, "an fsspec URL or local path; globs (`*`, `**`) allowed")
_ID = Param("id", "str", "", "column holding a stable document id; without it, the file and row are the id")

SOURCES = (
    Operator("parquet", "source",
             (_PATH, Param("text", "str", "text", "column holding the document text"), _ID, _ON_ERROR),
             "Parquet files. Columns other than text and id are kept in `meta`."),
    Operator("jsonl", "source",
             (_PATH, Param("text", "str", "text", "field holding the document text"), _ID, _ON_ERROR),
             "JSON Lines, plain or compressed (`.gz`, `.zst`, by extension). Other fields go to `meta`."),
    Operator("text", "source", (_PATH, _ON_ERROR),
             "Plain UTF-8 text files, one document per file; the file path relative to the glob's base is the id."),
)

SETTINGS = (
    Operator("seed", "setting", (Param("value", "int", 0, "seed of every hash-based random choice", min=0,
                                       max=2**63 - 1),),
             "Seed for shuffles and sampling. Randomness is a hash of (seed, content), never execution order."),
    Operator("tokenizer", "setting", (Param("value", "str", "", "tokenizer name or path"),),
             "Tokenizer for token budgets and the `n_tokens` column."),
    Operator("license", "setting", (Param("value", "str", "", "SPDX id for the dataset card"),),
             "License of the built dataset, recorded in the manifest."),
)

REGISTRY: dict[tuple[str, str], Operator] = {
    (op.kind, op.name): op for op in FUNCTIONS + DEDUPS + SOURCES + SETTINGS
}


def named(kind: str) -> dict[str, Operator]:
    """Operators of one kind, by name."""
    return {name: op for (k, name), op in REGISTRY.items() if k == kind}
