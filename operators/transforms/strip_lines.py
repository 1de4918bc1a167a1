"""`apply strip_lines(CONDITION)`: lowered to SQL, a DuckDB lambda over the lines of the text (filter.sql.j2)."""

from __future__ import annotations

from typing import Any

from datarecipe.operators.base import REQUIRED, FilterStep, Operator, Param, register


def lower(step: FilterStep) -> dict[str, Any]:
    """The filter.sql.j2 step: the condition over `line`, as SQL."""
    return {"kind": "strip_lines", "label": step.label, "changes": step.label,
            "sql": step.sql(step.args["condition"], "bool")}


register(Operator("strip_lines", "pack", (
    Param("condition", "line_condition", REQUIRED,
          "a condition over `line` (the line, a string); lines where it is true are removed, where it is "
          "false or NULL kept; `text` and the other columns still name the document's"),),
    "Transform: removes the lines for which the condition holds, as C4 and FineWeb do, e.g. "
    "`apply strip_lines(words(line) < 3 or line ~ \"(?i)javascript\")`. Lines are split on `\\n`; a `\\r` "
    "before it stays part of the line (match blank lines of CRLF text with `line ~ \"^\\s*$\"`), and a "
    "final newline ends the last line rather than starting an empty one. The lines kept are joined with `\\n`, "
    "and a final newline stays. A text left with no line becomes `\"\"`: the document stays, for a later "
    "rule to drop (`keep length(text) > 0`). Functions without an argument still measure the whole "
    "`text`: write `words(line)`. Drops nothing.",
    drops=False, rewrites=True, lower=lower))
