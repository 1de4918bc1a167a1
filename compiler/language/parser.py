"""Recipe text to AST: a lark LALR grammar and one Transformer. Lark stays in this module."""

from __future__ import annotations

import math
import re
from functools import cache
from importlib import resources
from typing import Any

from datarecipe.compiler.language import ast
from datarecipe.compiler.language.errors import RecipeError, RecipeErrors, Span
from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

_TOP_LEVEL = re.compile(r"^(recipe|source|filter|score|mix|order|output)\b", re.M)
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n", "t": "\t"}
_TERMINAL_NAMES = {
    "RBRACE": "`}`", "LBRACE": "`{`", "LPAR": "`(`", "RPAR": "`)`", "LSQB": "`[`", "RSQB": "`]`",
    "COMMA": "`,`", "COLON": "`:`", "EQUAL": "`=`", "DOT": "`.`", "NAME": "a name", "STRING": "a string",
    "NUMBER": "a number", "NEG": "`-`",
    "COMPARE": "a comparison", "MATCH": "`~`", "ADD": "`+`/`-`", "MUL": "`*`/`/`/`%`",
}


@cache
def _parser() -> Lark:
    grammar = resources.files(__package__).joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=False)


def _span(meta: Any) -> Span:
    return Span(meta.line, meta.column, meta.end_line, meta.end_column)


def _tok_span(tok: Token) -> Span:
    return Span(tok.line or 1, tok.column or 1, tok.end_line or tok.line or 1, tok.end_column or 1)


def _unquote(tok: Token) -> str:
    body = tok[1:-1]
    # Unknown escapes keep their backslash, so regexes like "\d+" read as written.
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), body)


def _number(tok: Token) -> ast.Num:
    m = re.fullmatch(r"([\d_.eE+-]+?)(%|KiB|MiB|GiB|TiB|KB|MB|GB|TB|K|M|B|T)?", str(tok))
    digits, unit = (m.group(1), m.group(2) or "") if m else (str(tok), "")
    plain = digits.replace("_", "")
    value: float = int(plain) if plain.isdigit() and len(plain) <= 31 else float(plain)  # ints stay exact
    if not math.isfinite(value) or value > 1e30:
        raise RecipeError(_tok_span(tok), f"the number {tok} is too large", "numbers go up to 1e30")
    return ast.Num(value, unit, str(tok), _tok_span(tok))


@v_args(meta=True)
class _ToAst(Transformer):
    def __init__(self, text: str):
        super().__init__()
        self.text = text
        self._offsets = [0]
        for line in text.split("\n"):
            self._offsets.append(self._offsets[-1] + len(line) + 1)

    def _slice(self, span: Span) -> str:
        start = self._offsets[span.line - 1] + span.col - 1
        end = self._offsets[span.end_line - 1] + span.end_col - 1
        return " ".join(self.text[start:end].split())

    # expressions
    def number(self, meta: Any, c: list) -> ast.Num:
        return _number(c[0])

    def string(self, meta: Any, c: list) -> ast.Str:
        return ast.Str(_unquote(c[0]), _span(meta))

    def boolean(self, meta: Any, c: list) -> ast.Bool:
        return ast.Bool(c[0] == "true", _span(meta))

    def ref(self, meta: Any, c: list) -> ast.Ref:
        return ast.Ref(tuple(str(t) for t in c), _span(meta))

    def sql(self, meta: Any, c: list) -> ast.Sql:
        return ast.Sql(_unquote(c[0]), _span(meta))

    def list_literal(self, meta: Any, c: list) -> ast.ListLit:
        return ast.ListLit(tuple(c), _span(meta))

    def arg(self, meta: Any, c: list) -> ast.Arg:
        if len(c) == 2:
            return ast.Arg(str(c[0]), c[1], _span(meta))
        return ast.Arg(None, c[0], _span(meta))

    def call(self, meta: Any, c: list) -> ast.Call:
        return ast.Call(str(c[0]), tuple(c[1:]), _span(meta), _tok_span(c[0]))

    def unary(self, meta: Any, c: list) -> ast.Unary:
        return ast.Unary(str(c[0]), c[1], _span(meta))

    def binary(self, meta: Any, c: list) -> ast.Binary:
        return ast.Binary(str(c[1]), c[0], c[2], _span(meta), _tok_span(c[1]))

    def between(self, meta: Any, c: list) -> ast.Between:
        return ast.Between(c[0], c[1], c[2], _span(meta))

    def in_list(self, meta: Any, c: list) -> ast.InList:
        return ast.InList(c[0], c[-1], len(c) == 4, _span(meta))

    def match(self, meta: Any, c: list) -> ast.Match:
        return ast.Match(c[0], ast.Str(_unquote(c[2]), _tok_span(c[2])), c[1] == "!~", _span(meta))

    # blocks
    def setting(self, meta: Any, c: list) -> ast.Setting:
        return ast.Setting(str(c[0]), c[1], _span(meta))

    def header(self, meta: Any, c: list) -> ast.Header:
        return ast.Header(_unquote(c[0]), tuple(c[1:]), _span(meta))

    def source(self, meta: Any, c: list) -> ast.Source:
        return ast.Source(str(c[0]), c[1], _span(meta), _tok_span(c[0]))

    def rule(self, meta: Any, c: list) -> ast.Rule:
        body = c[1]
        if isinstance(body, Token):  # `dedup exact` without parentheses
            body = ast.Call(str(body), (), _tok_span(body), _tok_span(body))
        span = _span(meta)
        return ast.Rule(str(c[0]), body, self._slice(span), span)

    def filter(self, meta: Any, c: list) -> ast.Filter:
        return ast.Filter(str(c[0]), tuple(c[1:]), _span(meta), _tok_span(c[0]))

    def score_entry(self, meta: Any, c: list) -> ast.ScoreEntry:
        return ast.ScoreEntry(str(c[0]), c[1], _span(meta), _tok_span(c[0]))

    def score_dedup(self, meta: Any, c: list) -> ast.Rule:
        span = _span(meta)
        return ast.Rule("dedup", c[1], self._slice(span), span)

    def score(self, meta: Any, c: list) -> ast.Score:
        items = c[1:]
        return ast.Score(str(c[0]), tuple(i for i in items if isinstance(i, ast.ScoreEntry)), _span(meta),
                         _tok_span(c[0]), tuple(i for i in items if isinstance(i, ast.Rule)))

    def mix_option(self, meta: Any, c: list) -> tuple[str, Any]:
        if c[0].type == "SAMPLE_BY":
            return ("select", ("sample_by", c[1], _number(c[3])))
        if c[0].type == "TOP":
            return ("select", ("top", c[1], None))
        if c[0].type == "BALANCE":
            weights = c[3] if len(c) > 3 else None
            if isinstance(weights, Token):  # a file of weights
                weights = ast.Str(_unquote(weights), _tok_span(weights))
            return ("balance", (c[1], weights))
        value = _number(c[1]) if c[0].type == "MAX_EPOCHS" else c[1]
        return (str(c[0]), value)

    def mix_entry(self, meta: Any, c: list) -> ast.MixEntry:
        options = dict(c[2:])
        select, rank, temperature = options.get("select", ("", None, None))
        balance, weights = options.get("balance", (None, None))
        return ast.MixEntry(str(c[0]), _number(c[1]), options.get("where"), options.get("max_epochs"),
                            _span(meta), select, rank, temperature, balance, weights)

    def mix_setting(self, meta: Any, c: list) -> ast.Setting:
        return ast.Setting(str(c[0]), c[1], _span(meta))

    def mix(self, meta: Any, c: list) -> ast.Mix:
        has_unit = len(c) > 1 and isinstance(c[1], Token) and c[1].type == "NAME"
        unit_tok = c[1] if has_unit else c[0]
        items = c[2:] if has_unit else c[1:]
        entries = tuple(i for i in items if isinstance(i, ast.MixEntry))
        settings = tuple(i for i in items if isinstance(i, ast.Setting))
        return ast.Mix(_number(c[0]), str(c[1]) if has_unit else "", entries, _span(meta),
                       _tok_span(unit_tok), settings)

    def order_step(self, meta: Any, c: list) -> ast.OrderStep:
        if isinstance(c[0], ast.Call):
            return ast.OrderStep("call", None, False, _span(meta), c[0])
        if c[0].type == "SHUFFLE":
            return ast.OrderStep("shuffle", None, False, _span(meta))
        return ast.OrderStep("sort", c[1], len(c) == 3 and c[2] == "desc", _span(meta))

    def phase_mix(self, meta: Any, c: list) -> ast.PhaseMix:
        return ast.PhaseMix(tuple(c), _span(meta))

    def phase_at(self, meta: Any, c: list) -> tuple[str, ast.Num | None, ast.Num, Any]:
        if c[0].type == "FROM":
            return ("from", _number(c[1]), _number(c[3]), _span(meta))
        return (str(c[0]), None, _number(c[1]), _span(meta))

    def phase(self, meta: Any, c: list) -> ast.Phase:
        at, start, end, at_span = c[2]
        return ast.Phase(str(c[1]), at, start, end, tuple(c[3:]), _span(meta), _tok_span(c[1]), at_span)

    def order(self, meta: Any, c: list) -> ast.Order:
        return ast.Order(tuple(c), _span(meta))

    def shard_limit(self, meta: Any, c: list) -> ast.ShardLimit:
        return ast.ShardLimit(_number(c[0]), str(c[1]) if len(c) > 1 else "", _span(meta))

    def output(self, meta: Any, c: list) -> ast.Output:
        path = ast.Str(_unquote(c[0]), _tok_span(c[0]))
        rest = c[1:]
        fmt, fmt_span = "parquet", path.span
        if rest and isinstance(rest[0], Token):
            fmt, fmt_span = str(rest[0]), _tok_span(rest[0])
            rest = rest[1:]
        return ast.Output(path, fmt, fmt_span, tuple(rest), _span(meta))

    def start(self, meta: Any, c: list) -> tuple:
        return tuple(c)


def _describe(tok: Token | None) -> str:
    if tok is None or tok.type == "$END":
        return "end of file"
    return f"`{tok}`"


def _accepted(exc: UnexpectedInput) -> set[str]:
    """The terminals the parser could take here (exact, unlike LALR's merged lookaheads)."""
    interactive = getattr(exc, "interactive_parser", None)
    try:
        return set(interactive.accepts()) if interactive is not None else set(getattr(exc, "allowed", ()))
    except Exception:  # noqa: BLE001 - accepts() replays the parser and may itself fail
        return set(getattr(exc, "expected", ()) or ())


def _expected(accepted: set[str]) -> str:
    names = sorted({_TERMINAL_NAMES.get(t, f"`{t.lower()}`") for t in accepted
                    if not t.startswith("__ANON") and t != "$END"})
    if len(names) > 10:
        return ""
    return ("expected " + ", ".join(names)) if names else ""


def _syntax_error(exc: UnexpectedInput, text: str, chunk: str) -> RecipeError:
    line, col = max(getattr(exc, "line", 1) or 1, 1), max(getattr(exc, "column", 1) or 1, 1)
    accepted = _accepted(exc)
    if isinstance(exc, UnexpectedToken):
        tok = exc.token
        width = max(1, len(str(tok))) if tok.type != "$END" else 1
        msg = f"unexpected {_describe(tok)}"
        if tok.type == "$END":
            # Point just past the last thing written in this block, not at the end of the file.
            body = chunk.rstrip()
            line = body.count("\n") + 1
            col = len(body) - (body.rfind("\n") + 1) + 1
            if "RBRACE" in accepted:
                msg = "this block is not closed"
                return RecipeError(Span(line, col, line, col + 1), msg, "add the missing `}`")
    elif isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream or 0
        ch = text[pos] if pos < len(text) else ""
        width, msg = 1, f"unexpected character {ch!r}"
        accepted = set(exc.allowed or ())
    elif isinstance(exc, UnexpectedEOF):
        lines = text.rstrip("\n").split("\n") or [""]
        line, col, width, msg = len(lines), len(lines[-1]) + 1, 1, "unexpected end of file"
    else:  # pragma: no cover - lark has no other kinds
        width, msg = 1, "syntax error"
    hint = _expected(accepted)
    if isinstance(exc, UnexpectedToken) and str(exc.token) == "=" and "COMPARE" in accepted:
        hint = "compare with `==`"
    if msg == "unexpected character '\"'":
        hint = "this string is not closed: add the missing `\"` on the same line"
    if msg.startswith("unexpected character") and text[getattr(exc, "pos_in_stream", 0):][:1] == "'":
        hint = "strings use double quotes"
    return RecipeError(Span(line, col, line, col + width), msg, hint)


def _chunks(text: str) -> list[str]:
    """The text once per top-level block, everything else blanked, so positions stay put."""
    starts = [m.start() for m in _TOP_LEVEL.finditer(text)] or [0]
    if starts[0] != 0:
        starts.insert(0, 0)
    bounds = list(zip(starts, starts[1:] + [len(text)], strict=True))
    blank = re.sub(r"[^\n]", " ", text)
    return [blank[:a] + text[a:b] + blank[b:] for a, b in bounds]


def _too_deep(text: str) -> RecipeError:
    return RecipeError(Span(1, 1, 1, 2), "the recipe nests too deeply", "split the expression into several rules")


def parse(text: str) -> ast.Recipe:
    """Parse recipe text. Raises RecipeErrors with one error per broken top-level block."""
    if "\x00" in text:
        at = text.index("\x00")
        line = text[:at].count("\n") + 1
        col = at - (text.rfind("\n", 0, at) + 1) + 1
        raise RecipeErrors([RecipeError(Span(line, col, line, col + 1), "the file contains a NUL byte",
                                        "a recipe is a UTF-8 text file")])
    try:
        tree = _parser().parse(text)
    except RecursionError:
        raise RecipeErrors([_too_deep(text)]) from None
    except UnexpectedInput:
        errors = []
        for chunk in _chunks(text):
            try:
                _parser().parse(chunk)
            except UnexpectedInput as exc:
                errors.append(_syntax_error(exc, text, chunk))
        raise RecipeErrors(errors or [RecipeError(Span(1, 1, 1, 2), "syntax error")]) from None
    try:
        blocks = _ToAst(text).transform(tree)
    except VisitError as exc:  # a number too large, and the like
        if isinstance(exc.orig_exc, RecipeError):
            raise RecipeErrors([exc.orig_exc]) from None
        raise RecipeErrors([RecipeError(Span(1, 1, 1, 2), f"cannot read the recipe: {exc.orig_exc}")]) from None
    except RecursionError:
        raise RecipeErrors([_too_deep(text)]) from None
    return ast.Recipe(blocks, text)
