"""`NAME = expr(VALUE)`: a score computed in the score stage's SQL from other columns and scores."""

from __future__ import annotations

from datarecipe.operators.base import REQUIRED, Operator, Param, register

register(Operator("expr", "scorer", (
    Param("value", "number_expr", REQUIRED, "a number expression over the document's columns, text "
          "functions and the scores defined before it in the block"),),
    "A score computed in SQL, e.g. `len = expr(words(text))` or `q = expr(edu - 0.1 * ppl)`. It is "
    "not cached: it is recomputed whenever the stage runs.", returns="number", scorer="sql"))
