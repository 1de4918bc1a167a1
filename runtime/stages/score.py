"""The score stage's runner, and the score cache it reads and fills.

Every document's scores are looked up in the score cache: per scorer (its cache key: the scorer and its
arguments), a directory of Parquet parts of (content_hash, value), shared by every build and recipe that uses the
same scorer. The scorers run only on the texts it lacks (`@todo_NAME`), in chunks; each chunk becomes a part of
the cache once written whole, so a killed run loses at most one chunk of work."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq
from datarecipe.compiler.language.errors import RecipeError
from datarecipe.compiler.lower import queries
from datarecipe.compiler.plan import Stage
from datarecipe.operators import REGISTRY
from datarecipe.runtime.artifacts.shards import write_parquet
from datarecipe.runtime.lock import alive
from datarecipe.runtime.session import (
    SQL_HINT,
    OperatorFailure,
    PluginScorer,
    drop_temp_tables,
    forget,
    parquet_view,
    run_statements,
    stage_errors,
    stream,
)

if TYPE_CHECKING:
    import duckdb
    from datarecipe.runtime.stages.context import StageContext

# Texts scored between two writes of the score cache: a killed run loses at most this much work.
# DATARECIPE_SCORE_CHUNK overrides it (smaller for slow models).
SCORE_CHUNK = 4096


def run_score(ctx: StageContext, con: duckdb.DuckDBPyConnection, stage: Stage, tmp: Path) -> dict[str, Any]:
    """Look every document's scores up in the score cache; run the scorers on the texts it lacks."""
    entries = {e["name"]: e for e in stage.params["scores"]}
    data_inputs = [n for n in stage.inputs if ctx.plan.stage(n).kind != "fit"]
    ctx.register_outputs(con, data_inputs)
    work: dict[str, dict[str, Any]] = {}

    def write(target: str, sql: str) -> None:
        if target.startswith("todo_"):
            entry = entries[target.removeprefix("todo_")]
            work[entry["name"]] = fill_cache(ctx, con, stage, entry, sql)
            register_cache(ctx, con, entry)
        else:
            schema, rows = ctx.in_order(stage, stream(con, sql))
            write_parquet(tmp / "data.parquet", schema, rows, lambda n: ctx.reporter.advance(stage.name, n))

    try:
        for entry in entries.values():
            if entry["kind"] != "sql":
                register_cache(ctx, con, entry)
        with stage_errors(stage.name, plugins=ctx.failures, hint=SQL_HINT):
            run_statements(con, stage.sql, write)
    finally:
        forget(con, [*data_inputs, *(f"score_cache_{n}" for n, e in entries.items() if e["kind"] != "sql")])
        drop_temp_tables(con)
    rows = pq.read_metadata(tmp / "data.parquet").num_rows
    return {"rows": rows, "by_source": {stage.params["source"]: rows} if rows else {}, "scores": work}


def score_cache(ctx: StageContext, entry: dict[str, Any]) -> Path:
    """Where a scorer's values are kept: one directory per cache key, of Parquet parts (content_hash, value)."""
    return ctx.cache_dir / "scores" / entry["cache"]


def register_cache(ctx: StageContext, con: duckdb.DuckDBPyConnection, entry: dict[str, Any]) -> None:
    """A scorer's cache as the table `score_cache_NAME` (empty, of the score's type, when it has no part yet)."""
    parts = sorted(str(p) for p in score_cache(ctx, entry).glob("part-*.parquet"))
    name = f"score_cache_{entry['name']}"
    if parts:
        parquet_view(con, name, parts)
    else:
        value = {"number": pa.float64(), "int": pa.int64()}.get(entry["returns"], pa.list_(pa.float32()))
        con.register(name, pa.table({"content_hash": pa.array([], pa.uint64()), "value": pa.array([], value)}))


def load_scorer(ctx: StageContext, stage: Stage, entry: dict[str, Any]) -> Any:
    """The scorer of a score entry, loaded: anything with `score(texts, progress) -> Arrow array` and
    `forward_passes`."""
    try:
        if entry["kind"] == "tokens":
            from datarecipe.runtime import tokens

            return TokenCounter(tokens.load(Path(ctx.plan.files["tokenizer"][0].path)))
        if entry["kind"] == "python":
            return PluginScorer(REGISTRY[("scorer", entry["op"])], entry["args"])
        if entry["kind"] == "space":  # a cluster: the nearest centroid of a vector
            from datarecipe.operators.space.kernels import ClusterScorer

            return ClusterScorer.load(ctx.stage_dir(ctx.plan.stage(entry["fit"])) / "model", ctx.device, stage.name,
                                      distance=entry["op"] == "centroid_distance")
        if entry["kind"] == "model":  # torch and transformers, only when a recipe scores with a model
            from datarecipe.operators.scorers import models as scoring
            from datarecipe.runtime import weights

            local = Path(ctx.plan.files[f"model:{entry['args']['path']}"][0].path)
            return scoring.load(entry["op"], local, entry["args"], weights.pick_device(ctx.device))
        from datarecipe.operators.scorers import fitted

        return fitted.load(entry["op"], entry["args"], ctx.stage_dir(ctx.plan.stage(entry["fit"])) / "model")
    except RecipeError as exc:
        raise RecipeError(None, f"score `{entry['name']}`: {exc.message}", exc.hint, stage=stage.name,
                          input=entry["args"].get("path", "")) from None


def fill_cache(ctx: StageContext, con: duckdb.DuckDBPyConnection, stage: Stage, entry: dict[str, Any],
               sql: str) -> dict[str, Any]:
    """Score the texts the cache lacks (`sql`), in chunks; each chunk is a part of the cache once written."""
    docs_table = f"{stage.name}__docs"  # score.sql.j2's table of the stage's documents
    todo = con.sql(queries.count_rows(sql)).fetchall()[0][0]
    docs = con.sql(queries.count_table(docs_table)).fetchall()[0][0]
    out = {"op": entry["op"], "cache": entry["cache"], "docs": docs, "scored": todo, "forward_passes": 0}
    if not todo:
        return out
    task = f"{stage.name}.{entry['name']}"
    ctx.reporter.start(task, total=todo, event="task")
    scorer = load_scorer(ctx, stage, entry)
    cache = score_cache(ctx, entry)
    cache.mkdir(parents=True, exist_ok=True)
    for part in cache.glob(".part-*.tmp-*"):  # a part a killed run was writing
        if not alive(int(part.name.rsplit("-", 1)[-1])):
            part.unlink(missing_ok=True)
    chunk = score_chunk(stage.name)
    for batch in chunks(ctx.sorted_by(stream(con, sql, chunk), "content_hash"), chunk):
        hashes = batch.column("content_hash")
        try:
            values = scorer.score(score_inputs(batch), lambda n: ctx.reporter.advance(task, n))
        except OperatorFailure as failure:  # name the document: the first with that text
            doc = con.execute(queries.first_doc_with_hash(docs_table),
                              [hashes[failure.row or 0].as_py()]).fetchall()[0][0]
            raise failure.recipe_error(stage.name, doc) from failure.error
        write_score_part(cache, hashes, values)
    out["forward_passes"] = scorer.forward_passes
    ctx.reporter.finish(task, event="task", rows=todo, forward_passes=scorer.forward_passes)
    return out


def score_inputs(batch: pa.RecordBatch) -> Any:
    """What a scorer scores in a batch of a todo: its texts (a null text as ""), or its vectors (a cluster's)."""
    if "vector" in batch.schema.names:
        return batch.column("vector")
    return [t if t is not None else "" for t in batch.column("text").to_pylist()]


def write_score_part(cache: Path, hashes: pa.Array, values: pa.Array) -> None:
    """One part of a score cache, named by the hashes it holds, written whole or not at all."""
    part = pa.table({"content_hash": hashes, "value": values})
    digest = hashlib.sha256(hashes.to_numpy(zero_copy_only=False).tobytes()).hexdigest()[:16]
    tmp = cache / f".part-{digest}.tmp-{os.getpid()}"
    pq.write_table(part, tmp)
    tmp.rename(cache / f"part-{digest}.parquet")


def score_chunk(stage: str) -> int:
    """Texts scored per part of the cache: SCORE_CHUNK, or DATARECIPE_SCORE_CHUNK."""
    value = os.environ.get("DATARECIPE_SCORE_CHUNK", str(SCORE_CHUNK))
    if not value.isdigit() or int(value) < 1:
        raise RecipeError(None, f"DATARECIPE_SCORE_CHUNK is {value!r}", "a number of texts, at least 1", stage=stage)
    return int(value)


def chunks(reader: Iterable[pa.RecordBatch], rows: int) -> Iterator[pa.RecordBatch]:
    """The reader's batches regrouped into batches of `rows` rows (the last one shorter)."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in reader:
        pending.append(batch)
        count += batch.num_rows
        while count >= rows:
            table = pa.Table.from_batches(pending).combine_chunks()
            yield table.slice(0, rows).to_batches()[0]
            rest = table.slice(rows)
            pending, count = rest.to_batches(), rest.num_rows
    if count:
        yield pa.Table.from_batches(pending).combine_chunks().to_batches()[0]


class TokenCounter:
    """A tokenizer behind the scorer interface: `n_tokens` fills its cache like any score."""

    def __init__(self, counter: Any):
        self.counter = counter

    @property
    def forward_passes(self) -> int:
        return int(self.counter.calls)

    def score(self, texts: list[str], progress: Any = None) -> pa.Array:
        counts = self.counter.count(texts)
        if progress is not None:
            progress(len(texts))
        return counts
