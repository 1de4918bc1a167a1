"""What an operator is, and the registry of them: `Param`, `Operator`, `declare` (the checks every declaration
passes, built-in or plugin) and `register`. The operators themselves are declared in the family modules beside
their lowering or kernel (operators/__init__.py imports them in order).

A plugin operator also carries where it came from and a fingerprint of its code, which enters the fingerprint of
every stage that uses it, and nothing else (docs/plugins.md)."""

from __future__ import annotations

import hashlib
import inspect
import json
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from datarecipe.compiler.language import ast
from datarecipe.compiler.language.errors import Span

REQUIRED: Any = object()  # a parameter without a default
BUILT_IN = "built-in"


@dataclass(frozen=True)
class Param:
    """A typed operator parameter.

    Types: `text` (an expression of string type, such as the `text` column), `str`, `int`,
    `float`, `bool`, `choice` (one of `choices`), `size` (bytes, `128MB`), `path`, `file` (a local
    file the stage reads; an input of its fingerprint), `line_condition` (a condition over `line`),
    `source` (the name of a declared source, unquoted), `number_expr` (an expression of number type), `share`
    (a percentage, `90%`, held as a fraction), `modules` (a list of Python module names in double quotes), `vector`
    (the name of an embedding score, unquoted), `score` (the name of a number score, unquoted; "" for none).
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
    # For scorers: `model` (a transformers model, operators/scorers/models.py), `fitted` (trained in a stage of
    # its own from other sources, operators/scorers/fitted.py), `sql` (computed in the score stage's SQL),
    # `python` (a plugin's batch function, runtime/session.py), `space` (fitted on a vector score of its block:
    # `cluster`) or `set` (computed over the source's whole set of documents after the scores: `representative`;
    # operators/space).
    scorer: str = ""
    origin: str = BUILT_IN  # or the plugin's package and version, or its module and file
    module: str = ""  # the Python module of the kernel
    # For plugins: a hash of the package, its version and the module's source. Built-in kernels are versioned
    # by operators.KERNELS_VERSION instead.
    fingerprint: str = ""
    # Checks of a call's arguments together, which the parameters' types and ranges cannot say: `validate(args,
    # last)` (the checked arguments, and whether the call ends its filter block; true outside a filter block)
    # returns the (message, hint) of a check error, or None.
    validate: Callable[[Mapping[str, Any], bool], tuple[str, str] | None] | None = field(default=None, compare=False)
    # For a pack or dedup lowered to SQL rather than run as a kernel: the values of its step of filter.sql.j2, or
    # None when the rule runs in a stage of its own (a global dedup).
    lower: Callable[[FilterStep], dict[str, Any] | None] | None = field(default=None, compare=False)

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    @property
    def category(self) -> str:
        """The kind as a user names it: a pack is a `filter` or a `transform`."""
        if self.kind == "pack":
            return "filter" if self.drops else "transform"
        return self.kind


@dataclass(frozen=True)
class FilterStep:
    """What the planner hands an operator's `lower`: one rule of a source's filter block, as a step of its stage."""

    label: str  # the rule as the drop ledger names it
    args: dict[str, Any]  # the checked arguments, defaults bound
    stage: str  # the filter stage's name
    index: int  # the step's number in the stage, from 1
    rewritten: bool  # whether a rule before it, or this one, rewrites the text
    files: tuple[Any, ...]  # the files the rule reads (InputFile: path, size, fingerprint), resolved by the runtime
    sql: Callable[[ast.Expr, str], str]  # an expression of the recipe as DuckDB SQL, of a wanted type


class OperatorError(ValueError):
    """A declaration the operator library cannot take: a bad name, parameter or signature, or a name taken."""


# What a declared kind is in the library, and what it may return.
_KINDS = {"function": ("function", ("number", "string", "bool")), "filter": ("pack", ("",)),
          "transform": ("pack", ("",)), "scorer": ("scorer", ("number", "vector"))}
_SIMPLE_TYPES = ("str", "int", "float", "bool", "choice")
# Words of the language and column names: an operator so named could not be called, or would read as one.
_RESERVED = frozenset("and or not in between true false sql keep drop apply dedup where top sample_by max_epochs "
                      "temperature balance weights shuffle sort asc desc phase first last from to recipe source filter "
                      "score mix order output line meta doc_id text content_hash n_tokens minhash_bands minhash_jaccard"
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


def register(*ops: Operator) -> None:
    """Add operators to the library, in order. A plugin's name must be new to every kind; an operator declared
    again by its own module (the module imported again) replaces the first declaration."""
    for op in ops:
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
