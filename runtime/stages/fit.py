"""The fit stage's runner: train a fitted scorer (operators/scorers/fitted.py) on the documents its SQL selects,
into the stage's `model/`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow.parquet as pq
from datarecipe.compiler.language.errors import RecipeError
from datarecipe.compiler.plan import Stage
from datarecipe.runtime.artifacts.shards import write_parquet
from datarecipe.runtime.session import STREAM_ROWS, forget, run_statements, stage_errors, stream

if TYPE_CHECKING:
    import duckdb
    from datarecipe.runtime.stages.context import StageContext


def run_fit(ctx: StageContext, con: duckdb.DuckDBPyConnection, stage: Stage, tmp: Path) -> dict[str, Any]:
    """Train a fitted scorer: its inputs are written out first, so it can read them more than once."""
    if stage.params["op"] == "cluster":  # fitted on the vectors of a score, not on texts
        from datarecipe.runtime.stages.space import run_cluster_fit

        return run_cluster_fit(ctx, con, stage, tmp)
    from datarecipe.operators.scorers import fitted  # its libraries, only when a recipe fits a scorer

    ctx.register_outputs(con, stage.inputs)
    docs: dict[str, int] = {}

    def write(target: str, sql: str) -> None:
        result = stream(con, sql)
        texts = (batch.select(["text"]) for batch in ctx.sorted_by(result, "doc_id", consume=False))
        docs[target.removeprefix("input_")] = write_parquet(tmp / f"{target}.parquet", result.schema.remove(0), texts,
                                                            lambda n: ctx.reporter.advance(stage.name, n))

    try:
        with stage_errors(stage.name):
            run_statements(con, stage.sql, write)
    finally:
        forget(con, stage.inputs)

    def texts(path: Path) -> Any:
        def batches() -> Iterator[list[str]]:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=STREAM_ROWS, columns=["text"]):
                yield [t if t is not None else "" for t in batch.column(0).to_pylist()]
        return batches

    params = stage.params
    inputs = {role: texts(tmp / f"input_{role}.parquet") for role in docs}
    (tmp / "model").mkdir()
    try:
        fit_stats = fitted.fit(params["op"], params["args"], inputs, tmp / "model", params["seed"])
    except RecipeError as exc:
        raise RecipeError(None, exc.message, exc.hint, stage=stage.name) from None
    for role in docs:
        (tmp / f"input_{role}.parquet").unlink()
    return {"rows": sum(docs.values()), "docs": docs, "fit": fit_stats}
