"""Lowering: the one place SQL is rendered. Expressions become DuckDB SQL, stages become
scripts from the jinja2 templates in templates/. Every recipe literal goes through `literal`."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import jinja2
from datarecipe.compiler.language import ast
from datarecipe.compiler.language.spec import CANONICAL, MixShare
from datarecipe.operators import FUNCTIONS, KERNELS_VERSION, REGISTRY


def literal(value: Any) -> str:
    """A Python value as a SQL literal. Strings are quoted, never pasted as SQL text."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if value == value and abs(value) != float("inf") else f"'{value}'::DOUBLE"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    text = str(value)
    # Control characters are spelled with chr() so a script can be split on `;` + newline.
    parts = re.split(r"([\x00-\x1f])", text)
    pieces = [f"chr({ord(p)})" if len(p) == 1 and ord(p) < 32 else "'" + p.replace("'", "''") + "'"
              for p in parts if p != ""]
    if not pieces:
        return "''"
    return pieces[0] if len(pieces) == 1 else "(" + " || ".join(pieces) + ")"


def identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _type(e: ast.Expr) -> str:
    match e:
        case ast.Num():
            return "number"
        case ast.Str():
            return "string"
        case ast.Ref(parts=parts):
            return "json" if parts[0] == "meta" and len(parts) > 1 else CANONICAL.get(parts[0], "string")
        case ast.Call(name=name):
            return REGISTRY[("function", name)].returns
        case ast.Binary(op=op) if op in "+-*/%":
            return "number"
        case ast.Unary(op="-"):
            return "number"
        case ast.Sql():
            return "any"
    return "bool"


_CASTS = {"number": "DOUBLE", "bool": "BOOLEAN"}


def expr_sql(e: ast.Expr, want: str = "") -> str:
    """An expression of the recipe language as DuckDB SQL."""
    match e:
        case ast.Num():
            v = e.scaled
            return literal(int(v)) if float(v).is_integer() and abs(v) < 2**63 else literal(float(v))
        case ast.Str(value=value):
            return literal(value)
        case ast.Bool(value=value):
            return literal(value)
        case ast.Ref(parts=parts):
            if parts[0] == "meta" and len(parts) > 1:
                path = "$." + ".".join('"' + p + '"' for p in parts[1:])
                got = f"json_extract_string(meta, {literal(path)})"
                return f"TRY_CAST({got} AS {_CASTS[want]})" if want in _CASTS else got
            return identifier(parts[0])
        case ast.Call():
            op = REGISTRY[("function", e.name)]
            args = bind_literal_args(op, e)
            rendered = [expr_sql(args[p.name], "string") if p.type == "text" else literal(args[p.name])
                        for p in op.params]
            if op.fingerprint:  # a plugin's kernel is told the documents, to name the one it fails on
                rendered.append("doc_id")
            return f"dr_{op.name}({', '.join(rendered)})"
        case ast.Unary(op="not", operand=operand):
            return f"(NOT {expr_sql(operand, 'bool')})"
        case ast.Unary(operand=operand):
            return f"(-{expr_sql(operand, 'number')})"
        case ast.Binary(op=op, left=left, right=right):
            if op in ("and", "or"):
                return f"({expr_sql(left, 'bool')} {op.upper()} {expr_sql(right, 'bool')})"
            if op in "+-*/%":
                return f"({expr_sql(left, 'number')} {op} {expr_sql(right, 'number')})"
            lt, rt = _type(left), _type(right)
            sql_op = "=" if op == "==" else op
            return f"({expr_sql(left, rt)} {sql_op} {expr_sql(right, lt)})"
        case ast.Between(value=value, low=low, high=high):
            return (f"({expr_sql(value, 'number')} BETWEEN {expr_sql(low, 'number')}"
                    f" AND {expr_sql(high, 'number')})")
        case ast.InList(value=value, items=items, negated=negated):
            item_type = _type(items.items[0])
            inner = ", ".join(expr_sql(i) for i in items.items)
            return f"({expr_sql(value, item_type)} {'NOT IN' if negated else 'IN'} ({inner}))"
        case ast.Match(value=value, pattern=pattern, negated=negated):
            found = f"regexp_matches({expr_sql(value, 'string')}, {literal(pattern.value)})"
            return f"(NOT {found})" if negated else found
        case ast.Sql(text=text):
            import sqlglot

            inner = sqlglot.parse_one(text, dialect="duckdb").sql(dialect="duckdb")
            return f"CAST(({inner}) AS BOOLEAN)" if want == "bool" else f"({inner})"
    raise ValueError(f"cannot lower {e!r}")  # pragma: no cover - the checker admits nothing else


def selection_key(share: MixShare, seed: int) -> str:
    """What orders a source's documents for the mix, smallest first (then the seeded hash, then doc_id):
    uniform: nothing; `top X`: -X; `sample_by X temperature T`: -(X / T + Gumbel noise), the Gumbel-top-k
    trick, so the documents taken are a sample without replacement with probability proportional to
    exp(X / T). The noise is a hash of the seed and the content, like every random choice."""
    if share.rank is None:
        return "0"
    rank = expr_sql(share.rank, "number")
    if share.select == "top":
        return f"coalesce(-({rank}), 'inf'::DOUBLE)"
    uniform = f"((md5_number_lower({literal(str(seed))} || ':gumbel:' || CAST(content_hash AS VARCHAR)) + 0.5)" \
              " / 18446744073709551616.0)"
    return f"coalesce(-(({rank}) / {literal(share.temperature)} - ln(-ln({uniform}))), 'inf'::DOUBLE)"


def shuffle_key(seed: int) -> str:
    """The order of `shuffle`: a hash of the seed, the document and its epoch (a repeat is placed anew)."""
    return f"md5_number_lower({literal(str(seed))} || ':order:' || doc_id || ':' || CAST(_epoch AS VARCHAR))"


def size_sql(unit: str) -> str:
    """A document's size in a budget's unit (`bytes`, `tokens`; a document otherwise)."""
    return {"bytes": "strlen(text)", "tokens": "n_tokens"}.get(unit, "1")


# The canonical schema as DuckDB types (model.CANONICAL; content_hash is md5_number_lower's UBIGINT).
_CANONICAL_SQL = {"doc_id": "VARCHAR", "source": "VARCHAR", "text": "VARCHAR", "content_hash": "UBIGINT",
                  "meta": "VARCHAR"}


def bind_query(e: ast.Sql) -> str:
    """A query that makes DuckDB bind a `sql` expression over the canonical schema (its functions and columns
    resolved, its types checked) and that reads no row: `recipe check` runs it."""
    columns = ", ".join(f"NULL::{sql_type} AS {identifier(name)}" for name, sql_type in _CANONICAL_SQL.items())
    return f"SELECT {expr_sql(e)} FROM (SELECT {columns}) AS docs LIMIT 0"


def bind_literal_args(op: Any, call: ast.Call) -> dict[str, Any]:
    """Arguments by parameter name, with defaults; the checker has already validated them."""
    out: dict[str, Any] = {}
    for i, arg in enumerate(call.args):
        name = arg.name or op.params[i].name
        param = op.param(name)
        if param.type == "text":
            out[name] = arg.value
        elif isinstance(arg.value, ast.Num):
            out[name] = int(arg.value.scaled) if param.type in ("int", "size") else arg.value.scaled
        else:
            out[name] = arg.value.value  # type: ignore[union-attr]
    for p in op.params:
        if p.name not in out:
            out[p.name] = p.default_arg(call.span)
    return out


@cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader(__package__, "templates"),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True, autoescape=False)
    env.filters["lit"] = literal
    return env


def render(template: str, **values: Any) -> str:
    return _env().get_template(template).render(**values)


def macros_sql() -> str:
    """The DuckDB macros of every built-in text function. (Plugins' are kernels; they enter the fingerprints
    of the stages that call them only, through the plan.)"""
    return render("macros.sql.j2", functions=FUNCTIONS, kernels_version=KERNELS_VERSION)


def statements(script: str) -> list[tuple[str, str]]:
    """Split a rendered script into (target, statement); `-- @data` marks a statement's output. A statement ends
    at a `;` that ends a line of SQL (not one that ends a comment)."""
    out: list[tuple[str, str]] = []
    chunk: list[str] = []

    def flush() -> None:
        body = "\n".join(line for line in chunk if not line.lstrip().startswith("--")).strip().rstrip(";").rstrip()
        if body:
            marker = next((m.group(1) for line in chunk if (m := re.match(r"\s*-- @(\w+)", line))), "")
            out.append((marker, body))
        chunk.clear()

    for line in script.splitlines():
        chunk.append(line)
        if not line.lstrip().startswith("--") and line.rstrip().endswith(";"):
            flush()
    flush()
    return out
