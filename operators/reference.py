"""docs/reference.md, generated from the operator declarations (`recipe docs`)."""

from __future__ import annotations

from importlib import resources

from datarecipe.operators import BUILT_IN, REGISTRY, Operator, Param

_KINDS = (
    ("setting", "Header settings", "Written inside `recipe \"NAME\" { ... }`, e.g. `seed 17`."),
    ("source", "Sources", "`source NAME = FORMAT(path, ...)`. Every source is normalized to the canonical "
     "schema: `doc_id`, `source`, `text`, `content_hash`, `meta` (a JSON object of the other fields)."),
    ("function", "Text functions", "Usable in any expression: `keep`, `drop`, mix `where`, `sort`. "
     "Each is lowered to `dr_NAME`: a DuckDB macro, or a vectorized Arrow kernel. "
     "The `text` parameter defaults to the `text` column."),
    ("pack", "Rule packs", "`apply PACK(...)` inside a filter block. Every threshold is a parameter; the "
     "defaults are the published ones (and datatrove's). A document dropped by a pack is labelled "
     "`PACK:REASON` in the ledger, naming the first sub-rule that failed."),
    ("dedup", "Dedup methods", "`dedup METHOD(...)` inside a filter block; `dedup semantic(...)`, over "
     "embeddings, inside the source's score block."),
    ("scorer", "Scorers", "`NAME = SCORER(...)` inside `score SOURCE { ... }`. A score is a column of the "
     "source's documents, computed after its filters; the mix (`where NAME >= 3`) and the order "
     "(`sort NAME desc`) select on it, so changing a threshold never re-scores. Model and fitted scores are "
     "cached by `(content_hash, scorer fingerprint)`: the fingerprint covers the model's weights (sha256 of "
     "its files) or the fitted model's inputs, the scorer's code version, its parameters and the numeric "
     "precision (float32 on CPU, bfloat16 on CUDA)."),
    ("mix_setting", "Mix settings", "Written inside the mix block as `NAME: value`, e.g. `on_short: renormalize`."),
    ("step", "Order steps", "Besides `shuffle` and `sort EXPR [asc|desc]`, written in `order { ... }` or in a "
     "phase (`phase NAME last 10%: STEP, STEP`)."),
)


def _default(p: Param) -> str:
    if p.required:
        return "required"
    if p.type == "modules":
        return "none"
    if p.type == "text":
        return f"`{p.default}` column"
    if p.type == "share":
        return f"`{p.default * 100:g}%`"
    if isinstance(p.default, bool):
        return f"`{str(p.default).lower()}`"
    if isinstance(p.default, str):
        return f'`"{p.default}"`'
    return f"`{p.default}`"


def _num(x: float | None) -> str:
    return f"{int(x):_}" if x is not None and float(x).is_integer() else f"{x}"


def _type(p: Param) -> str:
    if p.type == "share":
        return "percentage"
    if p.type == "modules":
        return "list of module names"
    if p.type == "choice":
        return " \\| ".join(f'`"{c}"`' for c in p.choices)
    bounds = ""
    if p.min is not None:
        bounds = f" ({_num(p.min)}..{_num(p.max)})" if p.max is not None else f" (≥ {_num(p.min)})"
    return p.type + bounds


def _cell(text: str) -> str:
    """Text for a cell of a Markdown table, where `|` ends the cell even inside backticks."""
    return text.replace("|", "\\|")


def _operator(op: Operator) -> list[str]:
    sig = ", ".join(p.name for p in op.params)
    head = f"### `{op.name}`" if op.kind in ("setting", "mix_setting") else f"### `{op.name}({sig})`"
    if op.kind == "pack":
        head = f"### `apply {op.name}(...)`"
    lines = [head, "", op.doc + (f" Returns a {op.returns}." if op.returns else ""), ""]
    if op.params and op.kind not in ("setting", "mix_setting"):
        lines += ["| parameter | type | default | meaning |", "| --- | --- | --- | --- |"]
        lines += [f"| `{p.name}` | {_type(p)} | {_cell(_default(p))} | {_cell(p.doc)} |" for p in op.params]
        lines.append("")
    elif op.kind in ("setting", "mix_setting"):
        p = op.params[0]
        lines += [f"Type: {_type(p)}. Default: {_default(p)}.", ""]
    return lines


def reference(plugins: bool = False) -> str:
    """The language reference: the built-in operators, and with `plugins`, those of the plugins loaded."""
    lines = ["# Language reference", "",
             "Generated from the operator declarations in `operators/` by `recipe docs`; "
             "do not edit by hand.", "",
             resources.files("datarecipe.compiler.lower").joinpath("templates/statements.md").read_text(encoding="utf-8")]
    for kind, title, intro in _KINDS:
        lines += [f"## {title}", "", intro, ""]
        for (k, _), op in sorted(REGISTRY.items()):
            if k == kind and op.origin == BUILT_IN:
                lines += _operator(op)
    if plugins:
        lines += _plugins()
    return "\n".join(lines).rstrip() + "\n"


def _plugins() -> list[str]:
    ops = sorted((op for op in REGISTRY.values() if op.origin != BUILT_IN), key=lambda op: (op.origin, op.name))
    lines = ["## Plugin operators", "",
             "Operators of the plugins installed here (`recipe operators` lists them), by origin. Each is used "
             "like a built-in of its kind; its fingerprint (package, version, source) is part of the "
             "fingerprint of every stage that uses it. See docs/plugins.md.", ""]
    if not ops:
        lines += ["No plugin is installed.", ""]
    for op in ops:
        head, *rest = _operator(op)
        lines += [f"{head} ({op.category})", "", f"From {op.origin}.", "", *rest[1:]]
    return lines
