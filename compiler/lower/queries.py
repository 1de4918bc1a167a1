"""The queries the runtime runs beside a stage's own SQL (counts, lookups, splits of a stage over parts), made here
so that SQL text is made in one place, the lowering. Each returns SQL text; identifiers come from the plan
(stage and table names), values are bound as parameters or written with `literal`."""

from __future__ import annotations

# --- The stage runners' queries (runtime/stages, runtime/executors/local.py, runtime/executors/sample.py) ---

# --- The cluster executor's, the mix's and the report's queries (runtime/executors/cluster.py,
#     runtime/stages/mix.py, runtime/artifacts/report.py) ---
