"""The SQL stages' runner: a filter, a global dedup, the mix and the order run their own SQL over the outputs of
their inputs; what it marks `@data`, `@ledger` and `@changed` is written to Parquet, and the stage's counts are
read back from those files."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq
from datarecipe.compiler.plan import Stage
from datarecipe.runtime import memory
from datarecipe.runtime.artifacts.manifest import filtered_words
from datarecipe.runtime.artifacts.shards import write_parquet
from datarecipe.runtime.session import (
    SQL_HINT,
    drop_temp_tables,
    forget,
    run_statements,
    stage_errors,
    stream,
)
from datarecipe.runtime.spill import ALIGNED, attach
from datarecipe.runtime.stages.ingest import read_blocklist
from datarecipe.runtime.stages.mix import Mixer, read_weights

if TYPE_CHECKING:
    import duckdb
    from datarecipe.runtime.stages.context import StageContext

# The rows of a ledger (the documents a rule dropped) and of a filter's `changed` (those a transform rewrote).
LEDGER_SCHEMA = pa.schema([("doc_id", pa.string()), ("source", pa.string()), ("stage", pa.string()),
                           ("rule", pa.string())])


def run_sql(ctx: StageContext, con: duckdb.DuckDBPyConnection, stage: Stage, tmp: Path,
            hook: Callable[[str, str], bool] | None = None) -> dict[str, Any]:
    """A stage's statements in order: `@data`, `@ledger` and `@changed` are written to Parquet; `hook` takes the
    others it knows."""
    ctx.register_outputs(con, stage.inputs)
    chained = stage.step == "order" and any("knn_chains" in p["steps"] for p in stage.params["phases"])
    if hook is None and (stage.step == "space" or chained):  # SemDeDup, ranks, knn_chains: between the statements
        from datarecipe.runtime.stages import space

        hook = space.hook(ctx, con, stage)
    tables = stage.params.get("tables", [])  # files a stage reads (url_blocklist), handed over as Arrow

    # A MinHash step's candidate pairs, by the statement that reads their texts next (see minhash.sql.j2): sorted by
    # the row of their first document, then with the first texts and sorted by the row of the second; None: no pairs.
    held: dict[str, tuple[pa.Schema, Iterator[pa.RecordBatch] | None]] = {}

    def write(target: str, sql: str) -> None:
        if hook is not None and hook(target, sql) or target == "data" and ctx.write_data(con, stage, sql, tmp):
            return
        if target in ("texts_a", "texts_b") and held[target][1] is None:  # no pairs: no texts to read
            if target == "texts_b":
                con.register("minhash_aligned", ALIGNED.empty_table())
            return
        result = stream(con, sql)
        if target == "pairs":
            pairs = ctx.sorted_by(result, "_ra")
            first = next(pairs, None)
            held["texts_a"] = result.schema, None if first is None else itertools.chain([first], pairs)
            held["texts_b"] = held["texts_a"]
            return
        if target == "texts_a":
            schema, pairs = held["texts_a"]
            schema = schema.append(pa.field("text_a", result.schema.field("text").type))
            firsts = pa.RecordBatchReader.from_batches(schema, attach(pairs, "_ra", result, "text_a"))
            held["texts_b"] = schema, ctx.sorted_by(firsts, "_rb")
            return
        if target == "texts_b":
            both = attach(held["texts_b"][1], "_rb", ctx.sorted_by(result, "_rid"), "text_b")
            con.register("minhash_aligned", pa.RecordBatchReader.from_batches(
                ALIGNED, (pa.record_batch([b.column(n) for n in ALIGNED.names], schema=ALIGNED) for b in both)))
            return
        if target == "data":
            schema, rows = ctx.in_order(stage, result)
            write_parquet(tmp / "data.parquet", schema, rows, lambda n: ctx.reporter.advance(stage.name, n))
        else:
            schema = LEDGER_SCHEMA if target in ("ledger", "changed") else result.schema
            write_parquet(tmp / f"{target}.parquet", schema, result)

    try:
        for table in tables:
            con.register(table["name"], read_weights(table, stage.name) if table.get("kind") == "weights"
                         else read_blocklist(table, stage.name))
        with stage_errors(stage.name, plugins=ctx.failures, hint=SQL_HINT, memory_hint=memory.HINT):
            run_statements(con, stage.sql, write)
    finally:
        phases = range(len(stage.params.get("phases", [])))
        chains = [f"{stage.name}__{t}_{i}" for i in phases for t in ("tour", "chain")]  # knn_chains' tables
        ranks = [f"space_rank_{r['name']}" for r in stage.params.get("ranks", [])]
        forget(con, [*stage.inputs, *(t["name"] for t in tables), "minhash_aligned", "space_dropped", *chains, *ranks])
        drop_temp_tables(con)
    return sql_stats(tmp)


def run_mix(ctx: StageContext, con: duckdb.DuckDBPyConnection, stage: Stage, tmp: Path,
            mixer: Mixer | None = None) -> dict[str, Any]:
    """The mix's SQL, with the mixer (runtime/stages/mix.py) setting each phase's targets between its
    statements."""
    mixer = mixer or Mixer(stage.name, stage.params, partial(filtered_words, ctx))
    stats = run_sql(ctx, con, stage, tmp, partial(mixer.statement, con)) | mixer.stats()
    for source, supply in stats["supply"].items():  # what the supply was measured on
        supply["input"] = ctx.plan.stage(stage.params["feeds"][source]).fingerprint
    return stats


def sql_stats(tmp: Path) -> dict[str, Any]:
    """A SQL stage's counts, from what it wrote: documents per source, and per source and rule those dropped
    (the ledger) and those a transform rewrote (a filter's `changed.parquet`). Counted by Arrow, not in Python
    rows: a file can hold a row per document of the corpus."""
    def counted(name: str, keys: list[str]) -> list[dict[str, Any]]:
        table = pq.read_table(tmp / f"{name}.parquet", columns=keys)
        return table.group_by(keys).aggregate([([], "count_all")]).sort_by([(k, "ascending") for k in keys]).to_pylist()

    by_source = {row["source"]: row["count_all"] for row in counted("data", ["source"])}  # a file, or parts (Ray)
    stats: dict[str, Any] = {"rows": sum(by_source.values()), "by_source": by_source}
    for name, key in (("ledger", "dropped"), ("changed", "changed")):
        if (tmp / f"{name}.parquet").exists():
            counts: dict[str, dict[str, int]] = defaultdict(dict)
            for row in counted(name, ["source", "rule"]):
                counts[row["source"]][row["rule"]] = row["count_all"]
            stats[key] = dict(counts)
    return stats
