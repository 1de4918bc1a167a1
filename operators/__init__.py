"""The operator library. Every operator is declared once, in the module of its family, beside its validation and
its lowering (a SQL macro or filter step) or its kernel (a function over Arrow arrays): its name, typed parameters
with defaults and ranges, and its documentation. The checker, the planner, the lowering, `recipe explain` and
docs/reference.md all read these declarations; the runtime calls their kernels.

Operators with a Python implementation are declared with `declare` (base.py), the function behind the public
`@datarecipe.operator` decorator, so built-in kernels and plugins take one path: the same checks, the same
registry, the same way into DuckDB (runtime/session.py).

Adding an operator is one new module that declares it, imported below. The order of the imports is the order of
the registry, which the macros' SQL (hence stage fingerprints) follows.
"""

from __future__ import annotations

from datarecipe.operators.base import (
    BUILT_IN,
    REGISTRY,
    REQUIRED,
    FilterStep,
    Operator,
    OperatorError,
    Param,
    builtins,
    declare,
    named,
    operator,
    provided_by,
    register,
)

# The order of these imports is the order of the registry.
# isort: off
from datarecipe.operators import functions, langid, duplicate_line_ratio  # noqa: F401
from datarecipe.operators.packs import gopher_quality, gopher_repetition, c4, fineweb  # noqa: F401
from datarecipe.operators.transforms import redact_pii, strip_lines, url_blocklist  # noqa: F401
from datarecipe.operators.dedup import exact, minhash  # noqa: F401
from datarecipe.operators.scorers import classifier, perplexity, embedding  # noqa: F401
from datarecipe.operators.scorers import fasttext_classifier, dsir, zipfit, expr  # noqa: F401
from datarecipe.operators import space  # noqa: F401
from datarecipe.operators import steps, sources, settings  # noqa: F401
# isort: on

# Part of every stage fingerprint (through the macros' SQL): bump it when a built-in kernel's results change (the
# text functions, the rule packs, the transforms). lang()'s model is named in it.
KERNELS_VERSION = f"5; lang: {langid.MODEL}"

# The built-in text functions, in the order they are declared: the macros' SQL lists them so.
FUNCTIONS = tuple(op for op in builtins() if op.kind == "function")

__all__ = ["BUILT_IN", "FUNCTIONS", "KERNELS_VERSION", "REGISTRY", "REQUIRED", "FilterStep", "Operator",
           "OperatorError", "Param", "builtins", "declare", "named", "operator", "provided_by", "register"]
