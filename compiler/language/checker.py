"""Check a parsed recipe: resolve names, bind and type arguments, check units and ranges.
Every error is collected; the caller gets all of them at once."""

from __future__ import annotations

import re
import warnings
from dataclasses import replace
from typing import Any

from datarecipe.compiler.language import ast
from datarecipe.compiler.language.errors import NOWHERE, RecipeError, RecipeErrors, Span, did_you_mean
from datarecipe.compiler.language.spec import (
    CANONICAL,
    CheckedRecipe,
    FilterSpec,
    MixShare,
    MixSpec,
    OrderSpec,
    OutputSpec,
    PhaseSpec,
    PrefixSpec,
    RuleSpec,
    ScoreSpec,
    SourceSpec,
    SpaceDedupSpec,
    StepSpec,
)
from datarecipe.operators import Operator, named

# Few, large shards: DVC (and object stores) handle thousands of files well, millions badly. 500MB of text is
# about a third of that as zstd Parquet (the example build: 2.8MB of text in 0.98MB of shards), some 2,000 shards
# for a terabyte of text. A shard is held in memory while it is written.
DEFAULT_SHARD_BYTES = 500 * 10**6
# The object stores a build may be published to (through fsspec: s3fs ships with datarecipe; gcsfs and adlfs are
# the user's to install), committed by its manifest (runtime/stages/atomic.py).
OBJECT_STORES = ("s3", "gs", "gcs", "az", "abfs")
WRITABLE_HINT = "an output is a local directory or an object store prefix: " + ", ".join(
    f"`{s}://`" for s in OBJECT_STORES)


def unwritable(path: str) -> str:
    """Why a build cannot be written at `path` (a URL, but not of an object store), or ""."""
    scheme = path.split("://")[0] if "://" in path else ""
    return f"cannot write a build to `{scheme}://`" if scheme and scheme not in OBJECT_STORES else ""
_MIX_UNITS = ("docs", "bytes", "tokens")
TOKENS = "n_tokens"  # the column of token counts
# Functions the `sql` escape hatch may not call: they reach files, the environment or the catalog.
_SQL_DENY = re.compile(r"^(read_|glob|getenv|query|parquet_|sniff_|duckdb_|pragma_|current_setting|"
                       r"load|install|attach|copy|export|import|which_secret|iceberg_|delta_)", re.I)
# A module the header's `plugins` names: what Python's `import` takes.
MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_SQL_DENY_NODES = ("Query", "Subquery", "Table", "Create", "Insert", "Delete", "Update", "Drop", "Copy",
                   "Command", "Placeholder", "Parameter", "Set", "Pragma", "AggFunc", "Window", "Star",
                   # statements: attach a database, install or load an extension, and the like
                   "Attach", "Detach", "Install", "Use", "Describe", "Summarize", "Export", "Kill", "Transaction",
                   "Commit", "Rollback", "Merge", "Alter", "Analyze", "LoadData", "Show", "Grant", "Revoke",
                   "Comment", "TruncateTable", "Refresh", "Cache", "Uncache", "DDL", "DML")


class _Checker:
    def __init__(self, recipe: ast.Recipe):
        self.recipe = recipe
        self.errors: list[RecipeError] = []
        self.names: dict[str, str] = {}  # names bound in a nested scope: `line` inside strip_lines, scores
        self.declared: dict[str, int] = {}  # source name -> line declared
        self.score_sources: dict[str, list[str]] = {}  # score name -> the sources that define it
        self.scored: tuple[ScoreSpec, ...] = ()
        self.tokenizer = ""  # the header's: with one, every source has `n_tokens` after its filters
        self.caps: dict[str, tuple[float, Span]] = {}  # `max_epochs` per source, where it was given
        self.clusters: dict[tuple[str, str], int] = {}  # (source, score) -> k, for each `cluster` score
        self.space_dedups: list[SpaceDedupSpec] = []

    def error(self, span: Span, message: str, hint: str = "") -> None:
        self.errors.append(RecipeError(span, message, hint))

    # ---- arguments -----------------------------------------------------------------------------

    def bind(self, op: Operator, call: ast.Call) -> dict[str, Any]:
        """Match a call's arguments to the operator's parameters, fill defaults, check types."""
        bound: dict[str, Any] = {}
        given: set[str] = set()
        positional = True
        for i, arg in enumerate(call.args):
            if arg.name is None:
                if not positional:
                    self.error(arg.span, "a positional argument follows a named one",
                               "write positional arguments first")
                    continue
                if i >= len(op.params):
                    self.error(arg.span, f"`{op.name}` takes at most {len(op.params)} argument(s)",
                               f"parameters: {', '.join(p.name for p in op.params) or 'none'}")
                    continue
                param = op.params[i]
            else:
                positional = False
                found = op.param(arg.name)
                if found is None:
                    self.error(arg.span, f"`{op.name}` has no parameter `{arg.name}`",
                               did_you_mean(arg.name, [p.name for p in op.params]))
                    continue
                param = found
            if param.name in given:
                self.error(arg.span, f"parameter `{param.name}` is given twice", "remove one of them")
                continue
            given.add(param.name)
            value = self.value(param, arg.value, op)
            if value is not None:
                bound[param.name] = value
        for param in op.params:
            if param.name not in given:
                if param.required:
                    self.error(call.span, f"`{op.name}` needs the argument `{param.name}`", param.doc)
                else:
                    bound[param.name] = param.default_arg(call.span)
        return bound

    def bind_in(self, names: dict[str, str], op: Operator, call: ast.Call) -> dict[str, Any]:
        """`bind`, with `names` (scores, by type) the columns its expressions may name."""
        self.names = dict(names)
        try:
            return self.bind(op, call)
        finally:
            self.names = {}

    def value(self, param: Any, expr: ast.Expr, op: Operator) -> Any:
        """A literal argument's value, or the expression for `text` parameters; None on error."""
        what = f"`{param.name}` of `{op.name}`"
        if param.type == "text":
            if self.infer(expr) not in ("string", "json", "any", "error"):
                self.error(expr.span, f"{what} must be a string expression", "e.g. `text` or `meta.title`")
            return expr
        if param.type == "line_condition":
            self.names["line"] = "string"
            try:
                self.condition(expr)
            finally:
                del self.names["line"]
            return expr
        if param.type == "number_expr":
            self.expect(expr, "number", "e.g. `expr(words(text) / 100)`")
            return expr
        if param.type == "source":
            if not isinstance(expr, ast.Ref) or len(expr.parts) != 1:
                self.error(expr.span, f"{what} must name a source", "write the source's name without quotes, "
                           "e.g. `target: wiki`")
                return None
            return expr.parts[0] if self.source_ref(expr.parts[0], expr.span, self.declared) else None
        if param.type in ("vector", "score"):  # a score of the block (before this entry), by name
            want = "an embedding (a score of `embedding(...)`)" if param.type == "vector" else "a number score"
            if not isinstance(expr, ast.Ref) or len(expr.parts) != 1:
                self.error(expr.span, f"{what} names {want}", f"write the score's name, e.g. `{param.name}: emb`")
                return None
            name = expr.parts[0]
            kind = self.names.get(name)
            if kind is None or name == TOKENS:
                self.error(expr.span, f"{what}: `{name}` is not a score available here",
                           did_you_mean(name, [n for n, k in self.names.items() if (k == "vector") ==
                                               (param.type == "vector")])
                           or "define it in the source's score block, before its first use")
                return None
            if (kind == "vector") != (param.type == "vector"):
                self.error(expr.span, f"{what}: `{name}` is {'an embedding' if kind == 'vector' else 'a ' + kind}, "
                           f"not {want}", "an embedding is `NAME = embedding(...)`; a cluster id is "
                           "`NAME = cluster(EMB, k: ...)`")
                return None
            if param.type == "score" and name not in {score for _, score in self.clusters}:
                self.error(expr.span, f"{what}: `{name}` is not a `cluster(...)` score",
                           "sets are clusters: `topic = cluster(emb, k: 64)`, then `clusters: topic`")
                return None
            return name
        if param.type == "modules":  # the header's `plugins`: imported before checking (runtime/plugins.py)
            items = expr.items if isinstance(expr, ast.ListLit) else ()
            bad = [i for i in items if not isinstance(i, ast.Str) or not MODULE_NAME.fullmatch(i.value)]
            if not isinstance(expr, ast.ListLit) or bad:
                self.error(bad[0].span if bad else expr.span, f"{what} is a list of Python module names in double "
                           "quotes", 'e.g. `plugins ["my_rules", "team.filters"]`')
                return None
            return tuple(i.value for i in items if isinstance(i, ast.Str))
        if param.type in ("str", "path", "file", "choice"):
            if not isinstance(expr, ast.Str):
                self.error(expr.span, f"{what} must be a string in double quotes", f'write e.g. `{param.name}: "..."`')
                return None
            if param.type == "choice" and expr.value not in param.choices:
                self.error(expr.span, f"{what} must be one of {', '.join(param.choices)}",
                           did_you_mean(expr.value, param.choices))
                return None
            if param.type == "path" and not expr.value.strip():
                self.error(expr.span, f"{what} must not be empty", "give a path or an fsspec URL")
                return None
            if param.type == "file":
                if not expr.value.strip() or "://" in expr.value or set(expr.value) & set("*?["):
                    self.error(expr.span, f"{what} must name one local file", "write e.g. `\"lists/domains.txt\"`")
                    return None
                return expr  # the planner reads the file, and reports a failure at this span
            return expr.value
        if param.type == "bool":
            if not isinstance(expr, ast.Bool):
                self.error(expr.span, f"{what} must be `true` or `false`", "booleans are written without quotes")
                return None
            return expr.value
        if param.type == "share":
            if not isinstance(expr, ast.Num) or expr.kind != "percent" or not 0 <= expr.value <= 100:
                self.error(expr.span, f"{what} is a percentage, 0% to 100%", f"e.g. `{param.name}: 90%`")
                return None
            return expr.scaled
        if param.type in ("int", "float", "size"):
            negative = isinstance(expr, ast.Unary) and expr.op == "-" and isinstance(expr.operand, ast.Num)
            if negative:
                assert isinstance(expr, ast.Unary) and isinstance(expr.operand, ast.Num)
                expr = ast.Num(-expr.operand.value, expr.operand.unit, "-" + expr.operand.text, expr.span)
            if not isinstance(expr, ast.Num):
                self.error(expr.span, f"{what} must be a number", "numbers are written without quotes, e.g. `10_000`")
                return None
            number = expr.scaled
            if param.type == "int" and not float(number).is_integer():
                self.error(expr.span, f"{what} must be a whole number", "drop the fraction")
                return None
            if param.min is not None and number < param.min or param.max is not None and number > param.max:
                self.error(expr.span, f"{what} is out of range: {expr.text}",
                           f"allowed: {param.min:g} to {param.max:g}" if param.max is not None
                           else f"allowed: at least {param.min:g}")
                return None
            return int(number) if param.type in ("int", "size") else float(number)
        raise AssertionError(param.type)  # pragma: no cover - every declared type is handled

    # ---- expressions ---------------------------------------------------------------------------

    def infer(self, e: ast.Expr) -> str:
        """The type of an expression: number, string, bool, json (adapts to its use) or error."""
        match e:
            case ast.Num():
                return "number"
            case ast.Str():
                return "string"
            case ast.Bool():
                return "bool"
            case ast.Ref(parts=parts):
                if parts[0] == "meta" and len(parts) > 1:
                    return "json"
                if len(parts) == 1 and parts[0] in CANONICAL:
                    return CANONICAL[parts[0]]
                if len(parts) == 1 and parts[0] in self.names:
                    return self.names[parts[0]]
                if parts == ("line",):
                    self.error(e.span, "unknown column `line`",
                               "`line` names a line only inside `apply strip_lines(...)`; did you mean `lines()`?")
                    return "error"
                name = ".".join(parts)
                if name == TOKENS:
                    self.error(e.span, "`n_tokens` is not available here",
                               "tokens are counted after the filters, with the header's `tokenizer`: use `n_tokens` in "
                               "the mix (`where`, `top`) or in `sort`" if self.tokenizer else
                               'set the tokenizer that counts them in the header: `tokenizer "tok/tokenizer.json"`')
                elif name in self.score_sources:
                    self.error(e.span, f"`{name}` is a score of source {_names(self.score_sources[name])}, not "
                               "available here", "scores are computed after the filters: use them in the mix "
                               "entry of their source (`where`), in `sort`, or in a later `expr` of their block")
                elif parts[0] in named("function"):
                    self.error(e.span, f"`{name}` is a function, not a column", f"write `{name}()`")
                else:
                    self.error(e.span, f"unknown column `{name}`",
                               did_you_mean(name, list(CANONICAL) + [f"{f}()" for f in named("function")])
                               or "columns: " + ", ".join(CANONICAL) + ", meta.FIELD")
                return "error"
            case ast.Call(name=name):
                op = named("function").get(name)
                if op is None:
                    self.error(e.name_span, f"unknown function `{name}`", did_you_mean(name, named("function")))
                    for arg in e.args:
                        self.infer(arg.value)
                    return "error"
                self.bind(op, e)
                return op.returns
            case ast.Unary(op="not", operand=operand):
                self.expect(operand, "bool", "`not` needs a boolean")
                return "bool"
            case ast.Unary(operand=operand):
                self.expect(operand, "number", "`-` needs a number")
                return "number"
            case ast.Binary(op=op, left=left, right=right):
                if op in ("and", "or"):
                    self.expect(left, "bool", f"`{op}` joins conditions")
                    self.expect(right, "bool", f"`{op}` joins conditions")
                    return "bool"
                if op in "+-*/%":
                    self.expect(left, "number", f"`{op}` needs numbers")
                    self.expect(right, "number", f"`{op}` needs numbers")
                    return "number"
                lt, rt = self.infer(left), self.infer(right)
                if "vector" in (lt, rt):
                    self.error(e.op_span, "an embedding is a vector of floats: it cannot be compared",
                               "compare a number, e.g. a classifier's score")
                elif "error" not in (lt, rt) and "json" not in (lt, rt) and "any" not in (lt, rt) and lt != rt:
                    self.error(e.op_span, f"cannot compare {lt} with {rt}",
                               "quote strings, and leave numbers unquoted")
                elif lt == rt == "bool" and op not in ("==", "!="):
                    self.error(e.op_span, f"`{op}` does not order booleans", "use `==` or `!=`")
                return "bool"
            case ast.Between(value=value, low=low, high=high):
                for part in (value, low, high):
                    self.expect(part, "number", "`between` compares numbers")
                return "bool"
            case ast.InList(value=value, items=items):
                vt = self.infer(value)
                for item in items.items:
                    if not isinstance(item, ast.Num | ast.Str | ast.Bool):
                        self.error(item.span, "list items must be literals", "write numbers, strings or booleans")
                        continue
                    it = self.infer(item)
                    if vt not in ("json", "error", "any") and it != vt:
                        self.error(item.span, f"this list holds {it}s but the value is a {vt}",
                                   "quote strings, and leave numbers unquoted")
                if not items.items:
                    self.error(items.span, "the list is empty", "list at least one value")
                return "bool"
            case ast.Match(value=value, pattern=pattern):
                self.expect(value, "string", "`~` matches strings against a regular expression")
                try:
                    with warnings.catch_warnings():  # Python's FutureWarnings about RE syntax are noise here
                        warnings.simplefilter("ignore")
                        re.compile(pattern.value)
                except (re.error, OverflowError, RecursionError) as exc:
                    self.error(pattern.span, f"invalid regular expression: {exc}",
                               "patterns use RE2 syntax (like Python's re, without backreferences)")
                return "bool"
            case ast.Sql():
                self.check_sql(e)
                return "any"
            case ast.ListLit():
                self.error(e.span, "a list is only allowed after `in`", "write e.g. `meta.lang in [\"en\", \"de\"]`")
                return "error"
        raise AssertionError(e)  # pragma: no cover

    def expect(self, e: ast.Expr, want: str, hint: str) -> None:
        got = self.infer(e)
        if got not in (want, "error", "json", "any"):
            self.error(e.span, f"expected a {want}, got a {got}", hint)

    def check_sql(self, e: ast.Sql) -> None:
        import logging

        import sqlglot  # only recipes that use `sql` pay for importing it
        from sqlglot import exp

        logging.getLogger("sqlglot").setLevel(logging.ERROR)  # no "falling back to a Command" on stderr: we say it

        hint = "`sql` takes one scalar expression over the document's columns"
        deny = tuple(getattr(exp, name) for name in _SQL_DENY_NODES if hasattr(exp, name))
        try:
            trees = sqlglot.parse(e.text, dialect="duckdb")
        except sqlglot.errors.SqlglotError as exc:
            self.error(e.span, f"invalid SQL expression: {str(exc).splitlines()[0][:200]}", hint)
            return
        if len(trees) != 1 or trees[0] is None:
            self.error(e.span, "`sql` takes exactly one expression", hint)
            return
        for node in trees[0].walk():
            if isinstance(node, deny):
                what = str(node.this).split()[0].upper() if isinstance(node, exp.Command) else node.key.upper()
                self.error(e.span, f"`sql` may not contain {what}", hint)
                return
            if isinstance(node, exp.Func):
                fname = node.name if isinstance(node, exp.Anonymous) else node.sql_name()
                if _SQL_DENY.match(fname or ""):
                    self.error(e.span, f"`sql` may not call `{fname.lower()}`", hint)
                    return
            if isinstance(node, exp.Column) and not node.table and node.name not in CANONICAL:
                self.error(e.span, f"unknown column `{node.name}` in `sql`",
                           did_you_mean(node.name, CANONICAL))
                return
        if not isinstance(trees[0], exp.Condition):  # a statement no rule above names
            self.error(e.span, f"`sql` cannot be {trees[0].key.upper()} as a whole", hint)

    def condition(self, e: ast.Expr) -> None:
        got = self.infer(e)
        if got not in ("bool", "error", "json", "any"):
            self.error(e.span, f"a condition must be true or false, but this is a {got}",
                       "compare it, e.g. `words(text) >= 50`")

    # ---- blocks --------------------------------------------------------------------------------

    def run(self) -> CheckedRecipe:
        blocks = self.recipe.blocks
        headers = [b for b in blocks if isinstance(b, ast.Header)]
        settings = self.header(headers)
        decls = [b for b in blocks if isinstance(b, ast.Source)]
        sources = self.sources(decls)
        declared: dict[str, int] = {}
        for decl in decls:  # a source with a broken reader is still declared: no cascade of errors
            declared.setdefault(decl.name, decl.span.line)
        self.declared = declared
        self.tokenizer = settings["tokenizer"]
        if self.tokenizer:
            self.score_sources[TOKENS] = list(declared)
        for block in blocks:  # every score's name first, so a use where it is not available says so
            if isinstance(block, ast.Score):
                for entry in block.entries:
                    self.score_sources.setdefault(entry.name, [])
                    if block.source not in self.score_sources[entry.name]:
                        self.score_sources[entry.name].append(block.source)
        filters = self.filters([b for b in blocks if isinstance(b, ast.Filter)], declared)
        scores = self.scores([b for b in blocks if isinstance(b, ast.Score)], declared)
        self.scored = scores
        mixes = [b for b in blocks if isinstance(b, ast.Mix)]
        for extra in mixes[1:]:
            self.error(extra.span, "a recipe has one `mix` block", "merge the entries into the first")
        mix = self.mix(mixes[0], declared) if mixes else None
        orders = [b for b in blocks if isinstance(b, ast.Order)]
        for extra_order in orders[1:]:
            self.error(extra_order.span, "a recipe has one `order` block", "merge the steps into the first")
        order = self.order(orders[0] if orders else None, mix, declared)
        if mix is not None:  # every source some phase takes from, with its cap over the whole build
            used = sorted({s.source for p in order.phases for s in p.shares})
            mix = replace(mix, caps=tuple((source, self.caps.get(source, (1.0, NOWHERE))[0]) for source in used))
        outputs = [b for b in blocks if isinstance(b, ast.Output)]
        for extra_output in outputs[1:]:
            self.error(extra_output.span, "a recipe has one `output`", "remove the extra one")
        if not outputs:
            self.error(self.end_span(), "the recipe has no `output`", 'add e.g. `output "build/NAME"`')
        if not decls:
            self.error(self.end_span(), "the recipe has no `source`",
                       'add e.g. `source web = jsonl("data/web/*.jsonl.gz")`')
        output = self.output(outputs[0], settings["name"]) if outputs else None
        if self.errors or output is None:
            raise RecipeErrors(self.errors)
        return CheckedRecipe(settings["name"], settings["seed"], settings["tokenizer"], settings["license"],
                             tuple(s for s, _ in sources), filters, scores, mix, order, output, self.recipe.text,
                             settings["language"], tuple(self.space_dedups))

    def end_span(self) -> Span:
        lines = self.recipe.text.rstrip("\n").split("\n") or [""]
        return Span(len(lines), 1, len(lines), 2)

    def header(self, headers: list[ast.Header]) -> dict[str, Any]:
        out: dict[str, Any] = {"name": "", "seed": 0, "tokenizer": "", "license": "", "language": ()}
        for extra in headers[1:]:
            self.error(extra.span, "a recipe has one `recipe` header", "merge the settings into the first")
        if not headers:
            return out
        header = headers[0]
        out["name"] = header.name
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", header.name):
            self.error(header.span, f"recipe name {header.name!r} is not a simple name",
                       "use letters, digits, `.`, `_` and `-`")
        for op, s in self.settings("setting", header.settings):
            value = self.value(op.params[0], s.value, op)
            if value is not None and s.name == "language":
                value = tuple(code.strip() for code in value.split(",") if code.strip())
                bad = [c for c in value if not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*", c)]
                if bad or not value:
                    self.error(s.value.span, f"`{bad[0]}` is not a language code" if bad else "no language given",
                               'ISO 639 codes, comma-separated: `language "en, de, pt-br"`')
            if value is not None:
                out[s.name] = value
        return out

    def settings(self, kind: str, items: tuple[ast.Setting, ...]) -> list[tuple[Operator, ast.Setting]]:
        """The settings of a header or a mix with their operators; an unknown or repeated one is an error."""
        known = named(kind)
        seen: set[str] = set()
        out = []
        for item in items:
            op = known.get(item.name)
            if op is None:
                what = "mix setting" if kind == "mix_setting" else "setting"
                self.error(item.span, f"unknown {what} `{item.name}`", did_you_mean(item.name, known))
                continue
            if item.name in seen:
                self.error(item.span, f"`{item.name}` is set twice", "remove one of them")
            seen.add(item.name)
            out.append((op, item))
        return out

    def sources(self, decls: list[ast.Source]) -> list[tuple[SourceSpec, int]]:
        out: list[tuple[SourceSpec, int]] = []
        first: dict[str, int] = {}
        readers = named("source")
        for decl in decls:
            if decl.name in first:
                self.error(decl.name_span, f"source `{decl.name}` is declared twice",
                           f"it was first declared on line {first[decl.name]}; rename one of them")
                continue
            first[decl.name] = decl.span.line
            op = readers.get(decl.reader.name)
            if op is None:
                self.error(decl.reader.name_span, f"unknown source format `{decl.reader.name}`",
                           did_you_mean(decl.reader.name, readers))
                continue
            args = self.bind(op, decl.reader)
            if any(p.name not in args for p in op.params):
                continue
            out.append((SourceSpec(decl.name, op.name, args["path"], args.get("text", ""), args.get("id", ""),
                                   args["on_error"]), decl.span.line))
        return out

    def source_ref(self, name: str, span: Span, declared: dict[str, int]) -> bool:
        if name not in declared:
            self.error(span, f"unknown source `{name}`", did_you_mean(name, declared))
            return False
        if declared[name] > span.line:
            self.error(span, f"source `{name}` is used before it is declared (line {declared[name]})",
                       "declare sources before the blocks that use them")
            return False
        return True

    def filters(self, blocks: list[ast.Filter], declared: dict[str, int]) -> tuple[FilterSpec, ...]:
        out: list[FilterSpec] = []
        seen: dict[str, int] = {}
        dedups = named("dedup")
        for block in blocks:
            if block.source in seen:
                self.error(block.source_span, f"source `{block.source}` already has a filter block",
                           f"merge it into the block on line {seen[block.source]}")
                continue
            seen[block.source] = block.span.line
            self.source_ref(block.source, block.source_span, declared)
            rules: list[RuleSpec] = []
            for rule in block.rules:
                if rule.kind in ("keep", "drop"):
                    self.condition(rule.body)
                    rules.append(RuleSpec(rule.kind, rule.text, rule.body))
                elif rule.kind == "dedup":
                    assert isinstance(rule.body, ast.Call)
                    op = dedups.get(rule.body.name)
                    if op is None:
                        self.error(rule.body.name_span, f"unknown dedup method `{rule.body.name}`",
                                   did_you_mean(rule.body.name, dedups))
                        continue
                    if _over_vectors(op):
                        self.error(rule.body.name_span, f"`dedup {op.name}` compares embeddings, which are "
                                   "computed after the filters",
                                   f"write it in the score block of `{block.source}`, after the embedding: "
                                   f"`score {block.source} {{ emb = embedding(...)  dedup {op.name}(emb) }}`")
                        continue
                    args = self.bind(op, rule.body)
                    if op.validate and (problem := op.validate(args, rule is block.rules[-1])):
                        self.error(rule.body.name_span, *problem)
                        continue
                    rules.append(RuleSpec("dedup", rule.text, None, op.name, tuple(sorted(args.items()))))
                else:
                    assert isinstance(rule.body, ast.Call)
                    packs = named("pack")
                    op = packs.get(rule.body.name)
                    if op is None:
                        hint = did_you_mean(rule.body.name, packs)
                        if rule.body.name in named("function"):
                            hint = f"`{rule.body.name}` is a text function: use it in `keep`/`drop`"
                        self.error(rule.body.name_span, f"unknown rule pack `{rule.body.name}`", hint)
                        continue
                    if op.drops and any(r.kind == "apply" and r.op == op.name for r in rules):
                        self.error(rule.body.name_span, f"`{op.name}` is applied twice in this block",
                                   "give one call all the parameters; its drops are labelled by pack")
                        continue
                    args = self.bind(op, rule.body)
                    rules.append(RuleSpec("apply", rule.text, None, op.name, tuple(sorted(args.items()))))
            out.append(FilterSpec(block.source, tuple(rules)))
        return tuple(out)

    def scores(self, blocks: list[ast.Score], declared: dict[str, int]) -> tuple[ScoreSpec, ...]:
        out: list[ScoreSpec] = []
        seen: dict[str, int] = {}
        columns: dict[str, tuple[str, str]] = {}  # score name -> (type, source), across blocks
        scorers = named("scorer")
        for block in blocks:
            if block.source in seen:
                self.error(block.source_span, f"source `{block.source}` already has a score block",
                           f"merge it into the block on line {seen[block.source]}")
                continue
            seen[block.source] = block.span.line
            self.source_ref(block.source, block.source_span, declared)
            local: dict[str, str] = {}
            for entry in block.entries:
                if entry.name in CANONICAL or entry.name.startswith("_") or entry.name in ("line", TOKENS):
                    self.error(entry.name_span, f"`{entry.name}` cannot name a score",
                               "it is a column of every document (or reserved); choose another name")
                    continue
                if entry.name in local:
                    self.error(entry.name_span, f"score `{entry.name}` is defined twice in this block",
                               "rename one of them")
                    continue
                op = scorers.get(entry.call.name)
                if op is None:
                    hint = did_you_mean(entry.call.name, scorers)
                    if entry.call.name in named("function"):
                        hint = f"`{entry.call.name}` is a text function: write `{entry.name} = expr(...)` around it"
                    self.error(entry.call.name_span, f"unknown scorer `{entry.call.name}`", hint)
                    continue
                args = self.bind_in(local, op, entry.call)  # `expr` sees the scores before it
                if any(p.required and p.name not in args for p in op.params):
                    continue
                if op.validate and (problem := op.validate(args, True)):
                    self.error(entry.call.span, *problem)
                    continue
                inputs = tuple((p.name, args.pop(p.name) or block.source) for p in op.params if p.type == "source")
                first = columns.setdefault(entry.name, (op.returns, block.source))
                if first[0] != op.returns:
                    self.error(entry.name_span, f"score `{entry.name}` is a {op.returns} here but a {first[0]} "
                               f"for source `{first[1]}`", "a column has one type: rename one of them")
                    continue
                value = args.pop("value", None)
                if op.scorer != "set":  # a set-level score comes after the block: no later entry reads it
                    local[entry.name] = op.returns
                if op.name == "cluster":
                    self.clusters[(block.source, entry.name)] = args["k"]
                if op.name == "centroid_distance" and (block.source, args["clusters"]) not in self.clusters:
                    self.error(entry.call.span, f"`{args['clusters']}` is not a `cluster(...)` score of this block",
                               "name the block's cluster score, e.g. `d = centroid_distance(topic)`")
                    continue
                out.append(ScoreSpec(block.source, entry.name, op.name, op.scorer, op.returns,
                                     tuple(sorted(args.items())), value, inputs))
            self.block_dedups(block, local)
        return tuple(out)

    def block_dedups(self, block: ast.Score, local: dict[str, str]) -> None:
        """`dedup semantic(...)` in a score block: over the block's scores, once per block."""
        for rule in block.dedups:
            assert isinstance(rule.body, ast.Call)
            op = named("dedup").get(rule.body.name)
            if op is None or not _over_vectors(op):
                choices = [name for name, o in named("dedup").items() if _over_vectors(o)]
                self.error(rule.body.name_span, f"a score block dedups by its embeddings: `dedup "
                           f"{' | '.join(choices)}`, not `{rule.body.name}`",
                           "exact and MinHash dedups go in the source's filter block")
                continue
            if self.space_dedups and self.space_dedups[-1].source == block.source:
                self.error(rule.span, f"source `{block.source}` has two `dedup {op.name}`", "keep one")
                continue
            args = self.bind_in(local, op, rule.body)
            if any(p.required and p.name not in args for p in op.params):
                continue
            self.space_dedups.append(SpaceDedupSpec(block.source, rule.text, op.name, tuple(sorted(args.items()))))

    def counted(self) -> dict[str, str]:
        """`n_tokens`, where the recipe has a tokenizer: a column after the filters, like a score."""
        return {TOKENS: "number"} if self.tokenizer else {}

    def mix(self, mix: ast.Mix, declared: dict[str, int]) -> MixSpec | None:
        unit = mix.unit or ("bytes" if mix.budget.kind == "size" else "")
        if not unit:
            self.error(mix.unit_span, "the budget needs a unit", "write e.g. `mix 10_000 docs` or `mix 1GB`")
        elif unit not in _MIX_UNITS:
            self.error(mix.unit_span, f"unknown budget unit `{unit}`", did_you_mean(unit, _MIX_UNITS))
        elif unit == "tokens" and not self.tokenizer:
            self.error(mix.unit_span, "a token budget needs the recipe's tokenizer",
                       'set it in the header, e.g. `tokenizer "models/tok/tokenizer.json"` (a tokenizer.json, a local '
                       "tokenizer directory, a hub id in the local cache, or `package:NAME`)")
        elif mix.budget.kind == "size" and unit != "bytes" or mix.budget.kind == "percent":
            self.error(mix.budget.span, f"`{mix.budget.text}` is not a number of {unit}",
                       "write e.g. `mix 10_000 docs` or `mix 1GB`")
        budget = mix.budget.scaled
        if budget < 1 or not float(budget).is_integer():
            self.error(mix.budget.span, "the budget must be a positive whole number", "e.g. `mix 10_000 docs`")
        on_short = "fail"
        for op, setting in self.settings("mix_setting", mix.settings):
            value = setting.value
            word = value.parts[0] if isinstance(value, ast.Ref) and len(value.parts) == 1 else \
                value.value if isinstance(value, ast.Str) else None
            choices = op.params[0].choices
            if word not in choices:
                self.error(value.span, f"`{setting.name}` is one of {', '.join(choices)}",
                           did_you_mean(str(word or ""), choices) or f"e.g. `{setting.name}: {choices[-1]}`")
            else:
                on_short = word
        shares = self.mix_entries(mix.entries, mix.span, declared)
        if self.errors:
            return None
        return MixSpec(unit, int(budget), shares, on_short)

    def mix_entries(self, entries: tuple[ast.MixEntry, ...], span: Span, declared: dict[str, int]) \
            -> tuple[MixShare, ...]:
        """The entries of the mix or of a phase's mix. `max_epochs` goes to self.caps: one cap per source."""
        shares: list[MixShare] = []
        seen: set[str] = set()
        total = 0.0
        for entry in entries:
            entry_span = Span(entry.span.line, entry.span.col, entry.span.line, entry.span.col + len(entry.source))
            if entry.source in seen:
                self.error(entry_span, f"source `{entry.source}` appears twice in the mix", "merge the two entries")
            seen.add(entry.source)
            self.source_ref(entry.source, entry_span, declared)
            if entry.share.kind != "percent":
                self.error(entry.share.span, "a mix weight is a percentage",
                           f"write `{_as_percent(entry.share, entries)}`")
            elif not 0 < entry.share.value <= 100:
                self.error(entry.share.span, "a mix weight is between 0% and 100%", "weights are shares of the budget")
            total += entry.share.value if entry.share.kind == "percent" else 0
            self.names = {sc.name: sc.returns for sc in self.scored if sc.source == entry.source} | self.counted()
            try:
                if entry.where is not None:
                    self.condition(entry.where)
                if entry.rank is not None:
                    self.expect(entry.rank, "number", f"`{entry.select}` ranks by a number, e.g. a score")
                weights = self.balance(entry) if entry.balance is not None else ()
                weights_file = entry.weights.value if isinstance(entry.weights, ast.Str) else ""
            finally:
                self.names = {}
            temperature = 1.0
            if entry.temperature is not None:
                temperature = entry.temperature.scaled
                if entry.temperature.kind != "plain" or temperature <= 0:
                    self.error(entry.temperature.span, "the temperature is a number above 0",
                               "lower samples closer to the top scores; e.g. `temperature 0.5`")
            if entry.max_epochs is not None:
                epochs = entry.max_epochs.scaled
                if entry.max_epochs.kind != "plain" or epochs < 1 or not float(epochs).is_integer():
                    self.error(entry.max_epochs.span, "`max_epochs` is a number of passes, at least 1",
                               "a whole number: `max_epochs 2` lets each document appear twice")
                elif entry.source in self.caps and self.caps[entry.source][0] != epochs:
                    first = self.caps[entry.source][1]
                    self.error(entry.max_epochs.span, f"`max_epochs` of `{entry.source}` is already "
                               f"{self.caps[entry.source][0]:g} (line {first.line})",
                               "it caps the source over the whole build: give it once")
                else:
                    self.caps[entry.source] = (float(epochs), entry.max_epochs.span)
            label = f"where {_text_of(self.recipe.text, entry.where.span)}" if entry.where else ""
            shares.append(MixShare(entry.source, entry.share.value / 100, entry.where, label, entry.select, entry.rank,
                                   temperature, entry.balance, weights,
                                   _text_of(self.recipe.text, entry.balance.span) if entry.balance else "",
                                   weights_file, self.clusters.get((entry.source, _name_of(entry.balance)), 0)))
        if not entries:
            self.error(span, "the mix is empty", "list sources with their weights, e.g. `web 100%`")
        elif abs(total - 100) > 1e-6 and all(e.share.kind == "percent" for e in entries):
            self.error(span if len(entries) > 1 else entries[0].share.span,
                       f"mix weights add up to {total:g}%, not 100%",
                       "make the percentages sum to 100")
        return tuple(shares)

    def balance(self, entry: ast.MixEntry) -> tuple[float, ...]:
        """`balance X [weights [...]]`: X groups the source's documents (a cluster id, or any number or string);
        weights are one per cluster id 0, 1, ..., k - 1, at least 0, not all 0."""
        assert entry.balance is not None
        kind = self.infer(entry.balance)
        if kind in ("bool", "vector"):
            self.error(entry.balance.span, f"`balance` groups documents by a value, not by a {kind}",
                       "e.g. a cluster id: `balance topic` after `topic = cluster(emb, k: 16)`")
        if entry.weights is None:
            return ()
        if isinstance(entry.weights, ast.Str):  # a file: the engine reads it (runtime/stages/mix.py)
            path = entry.weights.value
            if not path.strip() or "://" in path or set(path) & set("*?["):
                self.error(entry.weights.span, "`weights` names one local file", 'e.g. `weights "climb/weights.json"`')
            if kind not in ("number", "json", "any", "error"):
                self.error(entry.weights.span, "weights are per cluster id, and the balance is not by a number",
                           "balance by a cluster score, e.g. `balance topic weights [...]`")
            return ()
        items = entry.weights.items
        bad = [i for i in items if not isinstance(i, ast.Num) or i.kind != "plain" or i.value < 0]
        if bad or not items:
            self.error(bad[0].span if bad else entry.weights.span, "a weight is a number, at least 0",
                       "one weight per cluster id, e.g. `weights [2, 1, 0.5, 1]`")
            return ()
        weights = tuple(float(i.value) for i in items if isinstance(i, ast.Num))
        if not any(weights):
            self.error(entry.weights.span, "the weights are all 0", "give some cluster a weight above 0")
        name = _name_of(entry.balance)
        k = self.clusters.get((entry.source, name))
        if kind not in ("number", "json", "any", "error"):
            self.error(entry.weights.span, "weights are per cluster id, and the balance is not by a number",
                       "balance by a cluster score, e.g. `balance topic weights [...]`")
        elif k is not None and len(weights) != k:
            self.error(entry.weights.span, f"`{name}` has {k} clusters, and {len(weights)} weights are "
                       "given", f"give one weight per cluster id 0 to {k - 1}")
        return weights

    def order(self, order: ast.Order | None, mix: MixSpec | None, declared: dict[str, int]) -> OrderSpec:
        """The phases in training order, each with its shares and steps resolved, and the metadata prefix."""
        defaults: list[StepSpec] = []
        phases: list[ast.Phase] = []
        prefix: PrefixSpec | None = None
        for item in order.items if order else ():
            if isinstance(item, ast.Phase):
                phases.append(item)
            elif item.kind == "call" and item.call is not None and item.call.name == "prefix_metadata":
                if prefix is not None:
                    self.error(item.span, "`prefix_metadata` is given twice", "keep one")
                prefix = self.prefix(item.call)
            elif phases:
                self.error(item.span, "an ordering step after a phase belongs to no phase",
                           "join it to the phase with a comma (`phase x last 10%: shuffle, sort edu desc`), or "
                           "move it above the phases, where it is the default order of every phase")
            else:
                step = self.step(item)
                if step is not None:
                    defaults.append(step)
        self.check_steps(defaults, order.span if order else NOWHERE)
        shares = mix.shares if mix else ()
        if not phases:
            spec = OrderSpec((PhaseSpec("all", 0.0, 1.0, shares, tuple(defaults)),), prefix)
            self.sorted_by_scores(spec.phases[0], "", order.span if order else NOWHERE)
        else:
            if mix is None:
                self.error(phases[0].span, "phases split the mix's budget, and there is no `mix` block",
                           "add a budget, e.g. `mix 1B tokens { web 100% }`")
            spec = OrderSpec(tuple(self.phases(phases, shares, tuple(defaults), declared)), prefix)
        return spec

    def phases(self, phases: list[ast.Phase], shares: tuple[MixShare, ...], defaults: tuple[StepSpec, ...],
               declared: dict[str, int]) -> list[PhaseSpec]:
        out: list[tuple[PhaseSpec, ast.Phase]] = []
        names: set[str] = set()
        for phase in phases:
            if phase.name in names:
                self.error(phase.name_span, f"phase `{phase.name}` is declared twice", "give each phase its own name")
            names.add(phase.name)
            bounds = self.phase_bounds(phase)
            own: tuple[MixShare, ...] | None = None
            steps: list[StepSpec] = []
            for item in phase.steps:
                if isinstance(item, ast.PhaseMix):
                    if own is not None:
                        self.error(item.span, f"phase `{phase.name}` has two mixes", "merge them into one")
                    own = _inherit(self.mix_entries(item.entries, item.span, declared), shares)
                elif item.kind == "call" and item.call is not None and item.call.name == "prefix_metadata":
                    self.error(item.span, "`prefix_metadata` applies to the whole order, not to one phase",
                               "write it at the top level of `order`, with `until:` where it stops")
                else:
                    step = self.step(item)
                    if step is not None:
                        steps.append(step)
            self.check_steps(steps, phase.span)
            if bounds is not None:
                out.append((PhaseSpec(phase.name, bounds[0], bounds[1], shares if own is None else own,
                                      tuple(steps) or defaults, own is not None), phase))
        out.sort(key=lambda pair: (pair[0].start, pair[0].end))
        for spec, phase in out:
            self.sorted_by_scores(spec, spec.name, phase.span)
        at = 0.0
        for spec, phase in out:
            if spec.start > at + 1e-9:
                self.error(phase.at_span, f"no phase covers {_pct(at)} to {_pct(spec.start)} of the training order",
                           "phases must tile the order from 0% to 100%")
            elif spec.start < at - 1e-9:
                prev = next(p for p, _ in out if p.end > spec.start and p is not spec)
                self.error(phase.at_span, f"phases `{prev.name}` and `{spec.name}` overlap from {_pct(spec.start)} "
                           f"to {_pct(min(at, spec.end))}", "phases must tile the order without overlapping")
            at = max(at, spec.end)
        if out and at < 1 - 1e-9:
            self.error(out[-1][1].at_span, f"no phase covers {_pct(at)} to 100% of the training order",
                       "phases must tile the order from 0% to 100%")
        return [spec for spec, _ in out]

    def phase_bounds(self, phase: ast.Phase) -> tuple[float, float] | None:
        numbers = [n for n in (phase.start, phase.end) if n is not None]
        for n in numbers:
            if n.kind != "percent" or not 0 <= n.value <= 100:
                self.error(n.span, "a phase's position is a percentage of the training order, 0% to 100%",
                           "e.g. `first 90%`, `last 10%` or `from 40% to 60%`")
                return None
        end = phase.end.scaled if phase.end is not None else 0.0
        if phase.at == "first":
            bounds = (0.0, end)
        elif phase.at == "last":
            bounds = (1.0 - end, 1.0)
        else:
            bounds = (phase.start.scaled if phase.start is not None else 0.0, end)
        if bounds[1] - bounds[0] <= 1e-9:
            self.error(phase.at_span, f"phase `{phase.name}` is empty", "give it a width above 0%")
            return None
        return bounds

    def step(self, item: ast.OrderStep) -> StepSpec | None:
        if item.kind == "shuffle":
            return StepSpec("shuffle")
        if item.kind == "sort":
            assert item.key is not None
            self.names = {sc.name: sc.returns for sc in self.scored} | self.counted()
            try:
                kind = self.infer(item.key)
            finally:
                self.names = {}
            if kind == "bool":
                self.error(item.key.span, "sort by a number or a string, not a condition",
                           "e.g. `sort length(text) desc`")
            elif kind == "vector":
                self.error(item.key.span, "cannot sort by an embedding", "sort by a number, e.g. a score")
            return StepSpec("sort", item.key, item.descending)
        call = item.call
        assert call is not None
        steps = named("step")
        op = steps.get(call.name)
        if op is None:
            self.error(call.name_span, f"unknown ordering step `{call.name}`",
                       did_you_mean(call.name, [*steps, "shuffle", "sort"]))
            return None
        args = self.bind_in({sc.name: sc.returns for sc in self.scored}, op, call)  # a step may name a score
        return StepSpec(call.name, args=tuple(sorted(args.items())))

    def sorted_by_scores(self, phase: PhaseSpec, name: str, phase_span: Span) -> None:
        """A `sort` by a score that some source of the phase lacks would put that source's documents, NULL,
        after all the others: the phase would read its sources one after the other instead of mixed."""
        sources = [s.source for s in phase.shares] or list(self.declared)
        for step in phase.steps:
            if step.kind == "knn_chains":  # every document of the phase needs its vector (and cluster)
                args = dict(step.args)
                vectors = [s for s in self.scored if s.name == args.get("vectors") and s.source in sources]
                if len({(s.op, s.args) for s in vectors}) > 1:
                    self.error(phase_span, f"`knn_chains` compares `{args['vectors']}` across sources, and it is "
                               "not the same embedding in each", "give every source of the phase the same "
                               "`embedding(...)` (model and settings), so their vectors share one space")
                for score in (v for v in (args.get("vectors"), args.get("clusters")) if v):
                    lacking = [s for s in sources if s not in self.score_sources.get(score, [])]
                    if lacking:
                        self.error(phase_span, f"`knn_chains` reads `{score}`, a score of "
                                   f"{_names(self.score_sources.get(score, []))} only, and "
                                   f"{f'phase `{name}`' if name else 'the mix'} also takes {_names(lacking)}",
                                   f"give {_names(lacking)} the same score, or order that phase another way")
            for ref in _refs(step.key) if step.kind == "sort" else ():
                score = ref.parts[0] if len(ref.parts) == 1 else ""
                lacking = [s for s in sources if score in self.score_sources and s not in self.score_sources[score]]
                if not lacking or any(e.span == ref.span for e in self.errors):  # a default step of several phases
                    continue
                whose, what = (f"phase `{name}`", "the phase") if name else ("the mix", "the order")
                self.error(ref.span, f"`{score}` is a score of {_names(self.score_sources[score])} only, and {whose} "
                           f"also takes {_names(lacking)}: without `{score}`, those documents would all sort after "
                           f"the scored ones, and {what} would not be mixed",
                           f"give {_names(lacking)} a `{score}` too (e.g. `score {lacking[0]} {{ {score} = "
                           "expr(0) }`), or order it another way (`shuffle`, `sort words(text) desc`)")

    def check_steps(self, steps: list[StepSpec], span: Span) -> None:
        for alone in ("length_buckets", "knn_chains"):
            if any(s.kind == alone for s in steps) and len(steps) > 1:
                self.error(span, f"`{alone}` orders a phase by itself; it does not combine with other steps",
                           f"keep `{alone}(...)` alone, or use `shuffle`/`sort` instead")

    def prefix(self, call: ast.Call) -> PrefixSpec | None:
        op = named("step")["prefix_metadata"]
        errors = len(self.errors)
        args = self.bind(op, call)
        if len(self.errors) > errors:
            return None
        return PrefixSpec(args["value"], args["until"], args["label"], args["separator"])

    def output(self, out: ast.Output, name: str) -> OutputSpec | None:
        if out.format not in ("parquet", "jsonl"):
            self.error(out.format_span, f"unknown output format `{out.format}`",
                       did_you_mean(out.format, ("parquet", "jsonl")))
        if not out.path.value.strip():
            self.error(out.path.span, "the output path is empty", 'write e.g. `output "build/NAME"`')
        if problem := unwritable(out.path.value):
            self.error(out.path.span, problem, WRITABLE_HINT)
        shard_bytes, shard_rows = DEFAULT_SHARD_BYTES, 0
        for limit in out.shard:
            amount = limit.amount
            if limit.unit in ("rows", "docs") and amount.kind in ("plain", "count"):
                shard_rows = int(amount.scaled)
                if shard_rows < 1:
                    self.error(amount.span, "a shard holds at least one row", "e.g. `shard 10_000 rows`")
            elif not limit.unit and amount.kind == "size":
                shard_bytes = int(amount.scaled)
                if shard_bytes < 1000:
                    self.error(amount.span, "a shard size under 1KB is not useful", "write e.g. `128MB`")
            else:
                self.error(limit.span, f"cannot read shard limit `{amount.text} {limit.unit}`".rstrip("` ") + "`",
                           "write a size like `128MB` or a row count like `10_000 rows`")
        return OutputSpec(out.path.value, out.format, shard_bytes, shard_rows)


def _name_of(e: ast.Expr | None) -> str:
    """The name an expression is, when it is a bare name (a score): "" otherwise."""
    return e.parts[0] if isinstance(e, ast.Ref) and len(e.parts) == 1 else ""


def _over_vectors(op: Operator) -> bool:
    """Whether an operator works on embeddings (a `vector` parameter): it runs after the scores."""
    return any(p.type == "vector" for p in op.params)


def _inherit(own: tuple[MixShare, ...], main: tuple[MixShare, ...]) -> tuple[MixShare, ...]:
    """A phase's mix entries, each with the main mix's `where`, selection (`top`, `sample_by`) and `balance` for its
    source where it gives none of its own: a phase reweights what the sources offer, it does not widen it."""
    base = {s.source: s for s in main}
    out = []
    for share in own:
        first = base.get(share.source)
        if first is not None and share.where is None:
            share = replace(share, where=first.where, where_label=first.where_label)
        if first is not None and not share.select:
            share = replace(share, select=first.select, rank=first.rank, temperature=first.temperature)
        if first is not None and share.balance is None:
            share = replace(share, balance=first.balance, weights=first.weights, balance_label=first.balance_label,
                            weights_file=first.weights_file, k=first.k)
        out.append(share)
    return tuple(out)


def _refs(e: ast.Expr | None) -> list[ast.Ref]:
    """The column references in an expression, in the order written."""
    match e:
        case ast.Ref():
            return [e]
        case ast.Call(args=args):
            return [r for a in args for r in _refs(a.value)]
        case ast.Unary(operand=operand):
            return _refs(operand)
        case ast.Binary(left=left, right=right):
            return _refs(left) + _refs(right)
        case ast.Between(value=value, low=low, high=high):
            return _refs(value) + _refs(low) + _refs(high)
        case ast.InList(value=value) | ast.Match(value=value):
            return _refs(value)
    return []


def _as_percent(share: ast.Num, entries: tuple[ast.MixEntry, ...]) -> str:
    """A mix weight written without `%`, as a percentage: weights that add up to at most 1 are fractions (`0.6` is
    `60%`), others are percentages already (`40` is `40%`)."""
    plain = sum(e.share.value for e in entries if e.share.kind == "plain")
    return f"{share.value * 100:g}%" if share.kind == "plain" and plain <= 1 + 1e-9 else f"{share.text}%"


def _pct(x: float) -> str:
    return f"{x * 100:.4g}%"


def _names(names: list[str]) -> str:
    return ", ".join(f"`{n}`" for n in names)


def _text_of(text: str, span: Span) -> str:
    lines = text.split("\n")
    if span.line == span.end_line:
        return lines[span.line - 1][span.col - 1:span.end_col - 1]
    parts = [lines[span.line - 1][span.col - 1:]] + lines[span.line:span.end_line - 1]
    parts.append(lines[span.end_line - 1][:span.end_col - 1])
    return " ".join(" ".join(parts).split())


def check(recipe: ast.Recipe) -> CheckedRecipe:
    """Check a parsed recipe. Raises RecipeErrors holding every error found."""
    checker = _Checker(recipe)
    try:
        return checker.run()
    except RecipeErrors:
        raise
    except RecursionError:
        raise RecipeErrors([RecipeError(NOWHERE, "the recipe nests too deeply")]) from None

