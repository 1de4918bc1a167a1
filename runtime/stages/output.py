"""The output stage's runner: the ordered stage's rows cut into shards, with the build's ledger, quarantine,
recipe copy, dataset card and manifest, written beside the previous build and swapped in whole
(runtime/stages/atomic.py)."""

from __future__ import annotations

import itertools
import os
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from datarecipe.compiler.language.errors import RecipeError
from datarecipe.compiler.plan import Stage
from datarecipe.runtime.artifacts.manifest import build_manifest, dropped_examples, write_manifest
from datarecipe.runtime.artifacts.shards import DATA, Shard, name_shards, write_parquet, write_shards
from datarecipe.runtime.paths import is_remote
from datarecipe.runtime.session import STREAM_ROWS
from datarecipe.runtime.stages.atomic import publish_output, replace_output
from datarecipe.runtime.stages.ingest import QUARANTINE_SCHEMA
from datarecipe.runtime.stages.sql import LEDGER_SCHEMA

if TYPE_CHECKING:
    import duckdb
    from datarecipe.runtime.stages.context import StageContext

OUTPUT_COLUMNS = ("doc_id", "source", "text", "content_hash", "meta")
# The build's ledger: every stage's (LEDGER_SCHEMA), with the document each semantic duplicate duplicates.
BUILD_LEDGER_SCHEMA = LEDGER_SCHEMA.append(pa.field("duplicate_of", pa.string()))
# How an executor writes the shards: (stage, build directory, ordered rows) -> the shards, in order.
ShardWriter = Callable[[Stage, Path, "OrderedRows"], list[Shard]]


def write_output(ctx: StageContext, stage: Stage, shards: ShardWriter | None, con: duckdb.DuckDBPyConnection
                 ) -> dict[str, Any]:
    """The build at the output path, replacing the previous one whole; returns its manifest."""
    def write(tmp: Path) -> dict[str, Any]:
        ctx.reporter.start(stage.name)
        return write_build(ctx, stage, tmp, con, shards)

    url = stage.params["path"]
    if is_remote(url):  # written locally (its shards may go straight to the store), then published
        manifest = publish_output(url, ctx.cache_dir / "publish" / f"{stage.fingerprint}-{os.getpid()}", write)
    else:
        final = Path(url)
        if final.exists() and not (final / "manifest.json").exists() and any(final.iterdir()):
            raise RecipeError(None, f"{final} exists and is not a datarecipe build",
                              "choose another output path, or remove the directory", stage=stage.name,
                              input=str(final))
        manifest = replace_output(final, write)
    ctx.reporter.finish(stage.name, rows=manifest["totals"]["docs"], shards=len(manifest["shards"]), **ctx.measured())
    return manifest


def write_build(ctx: StageContext, stage: Stage, out: Path, con: duckdb.DuckDBPyConnection,
                shards: ShardWriter | None = None) -> dict[str, Any]:
    """Every file of a build in `out`: the shards (written by `shards`, by default in this process), the ledger,
    the quarantine, the recipe, the card and the manifest (`con`, the build's DuckDB session, finds the card's
    examples). Returns the manifest."""
    params = stage.params
    ordered = OrderedRows(ctx.data_files("order"), [*OUTPUT_COLUMNS, *params["scores"]], len(params["phases"]))
    (out / DATA).mkdir()
    written = (shards or partial(write_local_shards, ctx))(stage, out, ordered)
    # The stages' ledgers and the sources' quarantines, each concatenated in plan order as they stream by.
    ledgers = [ctx.stage_dir(s) / "ledger.parquet" for s in ctx.plan.stages]
    ledger_rows = write_parquet(out / "ledger.parquet", BUILD_LEDGER_SCHEMA,
                                build_ledger([p for p in ledgers if p.exists()]), final=True)
    quarantined: Counter[str] = Counter()

    def counted(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            quarantined.update(batch.column("source").to_pylist())
            yield batch

    write_parquet(out / "quarantine.parquet", QUARANTINE_SCHEMA,
                  counted(streamed([str(ctx.stage_dir(s) / "quarantine.parquet") for s in ctx.plan.stages
                                    if s.kind == "ingest"])), final=True)
    # The recipe as it was, beside what it built: `recipe diff` compares two builds' recipes from it.
    (out / "recipe.recipe").write_text(ctx.recipe.text, encoding="utf-8")
    manifest = build_manifest(ctx, params, written, ordered.text_bytes, ordered.per_phase, ordered.counted,
                              ordered.files, ledger_rows, quarantined, out)
    from datarecipe.runtime.artifacts.card import write_card  # matplotlib, only when a build is written

    card = write_card(out, manifest, ctx.recipe, dropped_examples(ctx, con, [str(p) for p in ledgers if p.exists()]),
                      ordered.files)
    # Every file of the build is in the manifest, and the manifest in its checksum file.
    write_manifest(out, manifest, ["recipe.recipe", *card])
    return manifest


def build_ledger(ledgers: list[Path]) -> Iterator[pa.RecordBatch]:
    """The stages' ledgers one after the other, each row with the document it duplicates where its stage says
    (`duplicates.parquet` beside the ledger, row for row: a semantic dedup's), else null."""
    for path in ledgers:
        beside = path.with_name("duplicates.parquet")
        of = (batch.column("duplicate_of") for batch in streamed([str(beside)])) if beside.exists() else None
        pending: pa.Array | None = None
        for batch in streamed([str(path)]):
            if of is None:
                column = pa.nulls(batch.num_rows, pa.string())
            else:  # the same rows in the same order, in batches of its own
                parts, need = [], batch.num_rows
                while need:
                    pending = pending if pending is not None and len(pending) else next(of)
                    parts.append(pending.slice(0, need))
                    need -= len(parts[-1])
                    pending = pending.slice(len(parts[-1]))
                column = pa.concat_arrays(parts)
            yield pa.record_batch([*batch.columns, column], schema=BUILD_LEDGER_SCHEMA)


def streamed(files: list[str]) -> Iterator[pa.RecordBatch]:
    """The rows of Parquet files, one after the other, a batch at a time."""
    for path in files:
        yield from pq.ParquetFile(path).iter_batches(batch_size=STREAM_ROWS)


def write_local_shards(ctx: StageContext, stage: Stage, out: Path, ordered: OrderedRows) -> list[Shard]:
    """The output's shards, cut from the ordered rows as they stream by, each run of one phase on its own."""
    params = stage.params
    shards: list[Shard] = []
    for index, run in itertools.groupby(ordered.runs(), key=lambda pair: pair[0]):
        shards += write_shards(out, params["format"], ordered.schema, (batch for _, batch in run),
                               params["shard_rows"], params["shard_bytes"],
                               lambda n: ctx.reporter.advance(stage.name, n), first=len(shards),
                               phase=params["phases"][index])
    return name_shards(out, shards, params["format"])


class OrderedRows:
    """The ordered stage's rows as the output reads them (its `files`: one, or its parts in order): runs of one
    phase each (phases are contiguous, in order), counted as they pass: docs, bytes and tokens per phase and
    source, and the text's bytes."""

    def __init__(self, files: list[str], columns: list[str], phases: int):
        self.files, self.columns = files, columns
        self.schema = pa.schema([pq.read_schema(files[0]).field(c) for c in columns])
        self.counted = "n_tokens" in columns
        self.per_phase: list[dict[str, Counter[str]]] = [defaultdict(Counter) for _ in range(phases)]
        self.text_bytes = 0

    def batches(self, files: list[str] | None = None) -> Iterator[pa.RecordBatch]:
        """The rows of `files` (default: all), with `_phase`, counted."""
        for path in self.files if files is None else files:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=STREAM_ROWS, columns=[*self.columns, "_phase"]):
                self.count(batch)
                yield batch

    def count(self, batch: pa.RecordBatch) -> None:
        sizes = pc.binary_length(batch.column("text"))
        self.text_bytes += pc.sum(sizes).as_py() or 0
        parts = {"phase": batch.column("_phase"), "source": batch.column("source"), "bytes": sizes,
                 **({"tokens": batch.column("n_tokens")} if self.counted else {})}
        grouped = pa.table(parts).group_by(["phase", "source"]).aggregate(
            [("bytes", "count"), ("bytes", "sum"), *([("tokens", "sum")] if self.counted else [])])
        for row in grouped.to_pylist():
            self.per_phase[row["phase"]][row["source"]].update(
                {"docs": row["bytes_count"], "bytes": row["bytes_sum"] or 0,
                 **({"tokens": row["tokens_sum"] or 0} if self.counted else {})})

    def add(self, text_bytes: int, per_phase: list[dict[str, Counter[str]]]) -> None:
        """Counts made elsewhere (by the Ray engine's tasks, each on some of the files), added to these."""
        self.text_bytes += text_bytes
        for mine, theirs in zip(self.per_phase, per_phase, strict=True):
            for source, counts in theirs.items():
                mine[source].update(counts)

    def runs(self) -> Iterator[tuple[int, pa.RecordBatch]]:
        for batch in self.batches():
            data = batch.drop_columns(["_phase"])
            for phase, a, b in phase_runs(batch.column("_phase")):
                yield phase, data.slice(a, b - a)


def phase_runs(phases: pa.Array) -> Iterator[tuple[int, int, int]]:
    """A batch's runs of one phase: (phase, first row, end row)."""
    phase = phases.to_numpy()
    cuts = [0, *(int(k) + 1 for k in (phase[1:] != phase[:-1]).nonzero()[0]), len(phase)]
    for a, b in itertools.pairwise(cuts):
        if b > a:
            yield int(phase[a]), a, b
