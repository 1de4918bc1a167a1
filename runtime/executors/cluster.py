"""The Ray engine: the local engine's plan, stages, SQL and cache on a Ray cluster (docs/scaling.md).

The driver (this process) walks the plan's stages in order as the local engine does, with the same
fingerprints, stage directories, locks and `_SUCCESS` markers, so a build resumes from whatever either engine
finished. What changes is where a stage's work runs:

- ingest: one task per shard of the source's files (consecutive files, about `shard_bytes` each), each running
  the stage's SQL on its shard; a source with an id column is first hash-partitioned by id, so that each
  partition's SQL sees every row of an id.
- a stage the plan says may be split (`Stage.partition`: a filter without MinHash, a score stage): its input
  is hash-partitioned by the stage's key (map tasks that write one file per partition), and one task per
  partition runs the stage's own SQL on it. A filter without dedup runs one task per part of its input.
- model, fitted and plugin scores: an actor pool (one model load per actor, `num_gpus` when the cluster has
  GPUs) scores the texts the cache lacks, in chunks read from shared storage, into the same content-addressed
  score cache.
- the mix and the order (`POSITIONED`): one task makes the stage's choice on its narrow columns and writes its
  narrow table of positions by input file; a task per input file joins its documents to their positions and
  splits them into ranges; a task per range sorts and writes it (`positioned_stage`).
- fits and MinHash dedup: one task each, the stage's runner on a worker.
- the output: tasks measure the ordered rows (each row's size, in a narrow file), the driver cuts the shards
  from those sizes, and tasks write them (and upload them, to an object store).

A task runs the same stage runners as the local engine (runtime/stages/), given a `PartContext`: the plan and
settings, with the part of a stage's input the task reads.

Every task writes under its stage's temporary directory, to names that depend only on its inputs, so a task
Ray retries after its worker died writes the same files again. Stage outputs written in parts are a directory
`data.parquet/` of `part-NNNNN.parquet` files; every reader of stage outputs takes either form. The cache must
be on storage every node sees at the same path (a shared filesystem); the output there or in an object store;
sources may be any fsspec URL the nodes can read.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
import os
import pickle
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from datarecipe.compiler.language.errors import RecipeError, RecipeErrors
from datarecipe.compiler.language.parser import parse
from datarecipe.compiler.language.spec import CheckedRecipe
from datarecipe.compiler.lower.queries import (
    count_table,
    empty_view,
    first_doc_of_text,
    located,
    raw_buckets,
    records_in_order,
    row_buckets,
)
from datarecipe.compiler.plan import InputFile, Plan, Stage
from datarecipe.runtime import memory, session
from datarecipe.runtime.artifacts.shards import Cutter, Shard, row_sizes, shard_name, write_parquet, write_shard
from datarecipe.runtime.executors.local import RUNNERS, LocalEngine
from datarecipe.runtime.paths import is_remote
from datarecipe.runtime.plugins import load_plugins
from datarecipe.runtime.session import STREAM_ROWS, parquet_view
from datarecipe.runtime.stages import ingest, score
from datarecipe.runtime.stages.atomic import ASSEMBLING, WORK, object_store, store_errors, uncommit
from datarecipe.runtime.stages.context import StageContext
from datarecipe.runtime.stages.ingest import RAW_SCHEMA, Quarantine, SourceReader, watched
from datarecipe.runtime.stages.output import OrderedRows, phase_runs
from datarecipe.runtime.stages.sql import LEDGER_SCHEMA, sql_stats

# The stages whose `@data` joins their documents to a narrow table of positions that their earlier statements
# make (compiler/lower/templates: the mix's `mix__picked`, the order's `order__places`), on these columns; the
# Ray engine makes the table in one task and writes the documents in range tasks (`positioned_stage`).
POSITIONED = {"mix": ("__picked", ("doc_id",)), "order": ("__places", ("doc_id", "_epoch"))}
# What the output's measuring tasks write: each ordered row's phase and its size as the shard writer counts it.
MEASURED = pa.schema([("_phase", pa.int32()), ("bytes", pa.int64())])
# Input bytes per ingest task at most; fewer when that would leave cores idle.
SHARD_BYTES = 256 * 2**20
# What a task is retried on: its worker or node died (an error the stage raised is not retried).
RETRIES = 3


@dataclass(frozen=True)
class Context:
    """What a worker needs to run any stage of the build, put in Ray's object store once."""

    plan: Plan
    recipe: CheckedRecipe
    recipe_path: str  # absolute: workers load the recipe's plugins from its directory
    cwd: str  # the driver's working directory: sources and models named relative to it
    cache_dir: str  # absolute, on storage every node sees
    stage_root: str | None
    memory_limit: str
    device: str


# ---- the worker side ---------------------------------------------------------------------------------------


class PartContext(StageContext):
    """What the stage runners (runtime/stages/) are given in a worker, on part of a stage's input: `parts` names
    the files it reads for a stage (the others are read whole), `shard` the source files an ingest reads, `raw`
    the hash-partitioned raw rows a source with ids is ingested from."""

    def __init__(self, ctx: Context, threads: int = 1):
        super().__init__(ctx.plan, ctx.recipe, cache_dir=Path(ctx.cache_dir), threads=threads,
                         memory_limit=ctx.memory_limit, recipe_path=ctx.recipe_path, device=ctx.device,
                         stage_root=Path(ctx.stage_root) if ctx.stage_root else None)
        self.spill_dir = Path(tempfile.gettempdir()) / f"datarecipe-spill-{os.getpid()}"  # this node's disk
        self.parts: dict[str, list[str]] = {}
        self.empty: set[str] = set()  # inputs this part has no rows of (views with their columns and no rows)
        self.locate: Path | None = None  # a positioned stage's whole task: its narrow table by input file, here
        self.shard: tuple[InputFile, ...] | None = None
        self.raw: list[str] | None = None
        self.found: list[tuple[Any, ...]] = []

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A task's session: `--memory` per core it holds is the worker process's budget, shared as in a local
        build (DuckDB's share, the engine's sorts' share: runtime/memory.py)."""
        # a task holding N cores (a whole stage) has N times the budget: a node has cores x --memory
        self.budget = memory.Budget(f"{memory.parse_size(self.memory_limit) * self.threads // 1024}KiB", self.threads)
        return session.connect(self.plan.macros, threads=self.threads, memory_limit=self.budget.duckdb_setting(),
                               spill_dir=self.spill_dir, failures=self.failures, readable=self.readable())

    def data_files(self, name: str) -> list[str]:
        return self.parts.get(name) or super().data_files(name)

    def register_outputs(self, con: duckdb.DuckDBPyConnection, names: Any) -> None:
        super().register_outputs(con, [n for n in names if n not in self.empty])
        for name in set(names) & self.empty:
            parquet_view(con, f"{name}__all", super().data_files(name)[:1])
            con.execute(empty_view(name, f"{name}__all"))

    def write_data(self, con: duckdb.DuckDBPyConnection, stage: Stage, sql: str, tmp: Path) -> bool:
        """A positioned stage's whole task (POSITIONED): instead of its documents, its narrow table, split by the
        input file each document is in (`located/p-NNNNN.parquet`, numbered as `input_files` lists them), with
        `located/index.json`; and an empty `data.parquet`, which the stage's parts replace."""
        if self.locate is None:
            return False
        suffix, keys = POSITIONED[stage.step]
        table = f"{stage.name}{suffix}"
        schema = con.table(table).limit(0).to_arrow_table().schema
        files = [f for _, f in input_files(self, stage)]
        found = _split(con.sql(located(table, keys, files)).to_arrow_reader(STREAM_ROWS), _fresh(str(self.locate)),
                       schema)
        (rows,), = con.execute(count_table(table)).fetchall()
        if sum(pq.read_metadata(f).num_rows for f in found.values()) != rows:  # a document in no input file
            raise RecipeError(None, f"{rows:,} positions, and not all of their documents were found in the "
                                    "stage's input files", "this is a bug in datarecipe: please report it")
        (self.locate / "index.json").write_text(json.dumps({"rows": rows, "files": found}))
        columns, _ = self.in_order(stage, con.sql(sql).limit(0).to_arrow_reader())
        write_parquet(tmp / "data.parquet", columns, [])
        return True

    def reader(self, src: Any, quarantine: Quarantine) -> Any:
        if self.raw is not None:
            return _RawParts(src, self.raw, quarantine)
        return SourceReader(src, self.shard if self.shard is not None else self.plan.files[src.name], quarantine)

    def duplicates(self, reader: Any, rows: list[tuple]) -> None:  # type: ignore[override]
        # the driver decides, over every partition, as the local engine would (quarantine keeps 1,000 characters)
        self.found = [(doc_id, file, line, (text or "")[:1000]) for doc_id, file, line, text in rows]


class _RawParts:
    """A source's raw rows from the files of one hash partition, as SourceReader gives them."""

    def __init__(self, src: Any, files: list[str], quarantine: Quarantine):
        self.src, self.files, self.quarantine = src, files, quarantine

    def batches(self) -> Iterator[pa.RecordBatch]:
        for path in self.files:
            yield from pq.ParquetFile(path).iter_batches(batch_size=STREAM_ROWS, columns=RAW_SCHEMA.names)


_WORKER: dict[str, Any] = {}


def _setup(ctx: Context) -> None:
    """Once per worker process and build: the driver's directory, and the recipe's plugins imported."""
    key = f"{ctx.plan.recipe_sha256}:{ctx.recipe_path}:{ctx.cwd}"
    if _WORKER.get("key") == key:
        return
    os.chdir(ctx.cwd)
    load_plugins(parse(ctx.recipe.text), ctx.recipe_path)
    _WORKER["key"] = key


def _with_part(ctx: Context, threads: int, run: Callable[[PartContext, duckdb.DuckDBPyConnection], Any]) -> Any:
    """`run(part, con)` in a worker, on a DuckDB session of its own; a user's error is returned as `Failed`."""
    try:
        _setup(ctx)
    except RecipeErrors as exc:  # a plugin this node cannot import
        return Failed(replace(exc.errors[0]))
    part = PartContext(ctx, threads)
    try:
        con = part.connect()
    except RecipeError as exc:  # a `--memory` too small for a worker
        return Failed(replace(exc))
    try:
        return run(part, con)
    except RecipeError as exc:
        return Failed(replace(exc))
    except duckdb.Error as exc:
        hint = ("raise `--memory`, or give the nodes more memory per core"
                if isinstance(exc, duckdb.OutOfMemoryException) else "see the stage's SQL with `recipe explain`")
        return Failed(RecipeError(None, f"DuckDB failed: {str(exc).splitlines()[0]}", hint))
    finally:
        con.close()
        shutil.rmtree(part.spill_dir, ignore_errors=True)


def _result(stage: Stage, ref: Any) -> Any:
    """A task's result; a user's error it returned, or Ray's failure to run it, raised as the stage's error."""
    import ray

    try:
        result = ray.get(ref)
    except ray.exceptions.RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        raise session.stage_error(stage.name, f"a Ray task failed: {str(cause or exc).splitlines()[-1]}",
                                  "`--debug` shows the worker's traceback") from exc
    except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError, ray.exceptions.ActorDiedError,
            ray.exceptions.ObjectLostError) as exc:
        raise session.stage_error(
            stage.name, f"a Ray task's worker died {RETRIES + 1} times: {str(exc).splitlines()[0]}",
            "see the workers' logs (`ray logs`), e.g. for memory; finished stages are kept") from exc
    except ray.exceptions.RayError as exc:  # out of memory, the object store full, an actor gone
        raise session.stage_error(
            stage.name, f"Ray could not run a task: {type(exc).__name__}: {str(exc).splitlines()[0]}",
            "see the workers' logs (`ray logs`); give the nodes more memory per core, or start them with "
            "fewer `--num-cpus`; finished stages are kept") from exc
    if isinstance(result, Failed):
        raise replace(result.error, stage=result.error.stage or stage.name)
    return result


def _timed(function: Callable[..., Any], *args: Any) -> Any:
    """A task: the function's result with its seconds on the worker (a failure as it is)."""
    started = time.perf_counter()
    result = function(*args)
    return result if isinstance(result, Failed) else (time.perf_counter() - started, result)


def _kept(function: Callable[..., Any], *args: Any) -> Any:
    """A task whose result is kept beside its output (the last argument) once it succeeded, written whole, with
    the key of its arguments, so that a build killed later does not run it again (`RayEngine.tasks`)."""
    result = _timed(function, *args)
    if not isinstance(result, Failed):
        work = str(Path(args[-1]).parent)
        tmp = Path(f"{args[-1]}.result.tmp-{os.getpid()}")
        tmp.write_bytes(pickle.dumps({"work": work, "key": _call_key(args[1:], work), "result": result}))
        tmp.rename(f"{args[-1]}.result")
    return result


def _kept_result(call: tuple[Any, ...]) -> Any | None:
    """The kept result of a task with these arguments (the last its output), its paths moved to where its
    `work/` is now (the stage's temporary directory is named after the process building it); None when there is
    none, or it was kept for other arguments (e.g. another `--partitions`)."""
    try:
        kept = pickle.loads(Path(f"{call[-1]}.result").read_bytes())
    except (OSError, pickle.UnpicklingError, EOFError):
        return None
    work = str(Path(call[-1]).parent)
    if kept["key"] != _call_key(call, work):
        return None
    return _moved(kept["result"], kept["work"], work)


def _call_key(call: tuple[Any, ...], work: str) -> str:
    return hashlib.sha256(repr(_moved(call, work, "<work>")).encode()).hexdigest()


def _moved(value: Any, old: str, new: str) -> Any:
    """`value` with every path under the directory `old` under `new` instead."""
    if isinstance(value, str):
        return new + value[len(old):] if value.startswith(old + os.sep) else value
    if isinstance(value, dict):
        return {k: _moved(v, old, new) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_moved(v, old, new) for v in value)
    return value


@dataclass(frozen=True)
class Failed:
    """A user's error in a task, returned rather than raised: Ray cannot rebuild a RecipeError it raised (its
    exception wrapper calls the class with no arguments). A copy, without the traceback."""

    error: RecipeError


def _fresh(out: str) -> Path:
    """A task's output directory, emptied: a retried task starts over."""
    path = Path(out)
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def ingest_shard(ctx: Context, stage_name: str, shard: tuple[InputFile, ...], out: str) -> dict[str, Any]:
    """The ingest stage's SQL on a shard of the source's files: `data.parquet` and `quarantine.parquet`."""
    def run(part: PartContext, con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
        part.shard = shard
        return ingest.run_ingest(part, con, ctx.plan.stage(stage_name), _fresh(out))
    return _with_part(ctx, 1, run)


def partition_raw(ctx: Context, stage_name: str, shard: tuple[InputFile, ...], index: int, partitions: int,
                  out: str) -> dict[str, Any]:
    """A shard of a source with ids, read and split by a hash of the id: one file of raw rows per partition,
    with `_row` made unique over the source (the shard's index in its high bits)."""
    stage = ctx.plan.stage(stage_name)
    src = next(s for s in ctx.recipe.sources if s.name == stage.source)

    def run(part: PartContext, con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
        quarantine = Quarantine()
        part.shard = shard
        reader = part.reader(src, quarantine)
        failure: list[BaseException] = []
        con.register("raw", pa.RecordBatchReader.from_batches(RAW_SCHEMA, watched(reader.batches(), failure)))
        try:
            result = con.sql(raw_buckets("raw", index, partitions))
            files = _split(result.to_arrow_reader(STREAM_ROWS), _fresh(out), RAW_SCHEMA)
        except duckdb.Error:
            if failure:
                raise failure[0] from None
            raise
        finally:
            con.unregister("raw")
        return {"files": files, "quarantine": quarantine.rows, "rows": reader.count}
    return _with_part(ctx, 1, run)


def partition_rows(ctx: Context, files: list[str], key: str, partitions: int, out: str) -> dict[str, Any]:
    """Rows of a stage's output split by a hash of the key: one file per partition that gets rows."""
    def run(part: PartContext, con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
        data = ds.dataset(files, format="parquet")
        con.register("part", data)
        try:
            result = con.sql(row_buckets("part", key, partitions))
            return {"files": _split(result.to_arrow_reader(STREAM_ROWS), _fresh(out), data.schema),
                    "rows": data.count_rows()}
        finally:
            con.unregister("part")
    return _with_part(ctx, 1, run)


def _split(reader: pa.RecordBatchReader, out: Path, schema: pa.Schema) -> dict[int, str]:
    """Write each batch's rows to the file of their `_bucket`."""
    writers: dict[int, pq.ParquetWriter] = {}
    try:
        for batch in reader:
            buckets = batch.column("_bucket")
            rows = batch.drop_columns(["_bucket"]).cast(schema)
            for bucket in pc.unique(buckets).to_pylist():
                if bucket not in writers:
                    writers[bucket] = pq.ParquetWriter(out / f"p-{bucket:05d}.parquet", schema, compression="zstd")
                writers[bucket].write_batch(rows.filter(pc.equal(buckets, bucket)))
    finally:
        for writer in writers.values():
            writer.close()
    return {bucket: str(out / f"p-{bucket:05d}.parquet") for bucket in sorted(writers)}


def ingest_partition(ctx: Context, stage_name: str, files: list[str], out: str) -> dict[str, Any]:
    """The ingest stage's SQL on one hash partition of a source's raw rows; its duplicate ids are returned."""
    def run(part: PartContext, con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
        part.raw = files
        stats = ingest.run_ingest(part, con, ctx.plan.stage(stage_name), _fresh(out))
        return {"stats": stats, "duplicates": part.found}
    return _with_part(ctx, 1, run)


def stage_part(ctx: Context, stage_name: str, parts: dict[str, list[str]], out: str) -> dict[str, Any]:
    """A filter or score stage's SQL on one part of its input (for a score stage, with the cache filled)."""
    stage = ctx.plan.stage(stage_name)

    def run(part: PartContext, con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
        part.parts = parts
        return RUNNERS[stage.kind](part, con, stage, _fresh(out))
    return _with_part(ctx, 1, run)


def score_todo(ctx: Context, stage_name: str, parts: dict[str, list[str]], chunk: int, out: str) -> dict[str, Any]:
    """The texts one partition of a score stage lacks in each score's cache (`@todo_NAME`), written in row
    groups of `chunk` texts, the scoring actors' unit of work."""
    stage = ctx.plan.stage(stage_name)
    entries = {e["name"]: e for e in stage.params["scores"]}

    def run(part: PartContext, con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
        part.parts = parts
        directory = _fresh(out)
        data_inputs = [n for n in stage.inputs if ctx.plan.stage(n).kind != "fit"]
        part.register_outputs(con, data_inputs)
        todo: dict[str, Any] = {}
        for entry in entries.values():
            if entry["kind"] != "sql":
                score.register_cache(part, con, entry)
        try:
            for target, sql in stage.statements():
                if target == "":
                    con.execute(sql)
                elif target.startswith("todo_"):
                    path = directory / f"{target}.parquet"
                    result = con.sql(sql).to_arrow_reader(chunk)
                    rows = 0
                    with pq.ParquetWriter(path, result.schema, compression="zstd") as writer:
                        # in content_hash order, in a row group per chunk, as fill_cache cuts them
                        for batch in score.chunks(part.sorted_by(result, "content_hash"), chunk):
                            writer.write_batch(batch, row_group_size=chunk)
                            rows += batch.num_rows
                    todo[target.removeprefix("todo_")] = {"path": str(path), "rows": rows,
                                                          "groups": pq.ParquetFile(path).num_row_groups}
        finally:
            session.drop_temp_tables(con)
        return todo
    return _with_part(ctx, 1, run)


def whole_stage(ctx: Context, stage_name: str, threads: int, out: str, locate: str = "") -> dict[str, Any]:
    """A stage that cannot be split (fits, MinHash dedup), run whole by its runner; for a positioned stage (the
    mix, the order), with `locate`, all but the writing of its documents."""
    stage = ctx.plan.stage(stage_name)

    def run(part: PartContext, con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
        part.locate = Path(locate) if locate else None
        return RUNNERS[stage.kind](part, con, stage, _fresh(out))
    return _with_part(ctx, threads, run)


def position_part(ctx: Context, stage_name: str, input_name: str, file: str, narrow: str, ranges: int, total: int,
                  out: str) -> dict[str, Any]:
    """A positioned stage's `@data` on one file of its input, joined to that file's rows of the narrow table:
    its rows, with their positions, split into `ranges` equal ranges of the positions 1..total."""
    stage = ctx.plan.stage(stage_name)
    suffix, _ = POSITIONED[stage.step]
    key = stage.params["sorted_by"]

    def run(part: PartContext, con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
        part.parts = {input_name: [file]}
        part.empty = {n for n in stage.inputs if n != input_name}
        part.register_outputs(con, stage.inputs)
        parquet_view(con, f"{stage.name}{suffix}", [narrow])
        sql = next(sql for target, sql in stage.statements() if target == "data")
        result = con.sql(sql).to_arrow_reader(STREAM_ROWS)
        schema = result.schema.append(pa.field("_bucket", pa.int64()))

        def ranged() -> Iterator[pa.RecordBatch]:
            for batch in result:
                bucket = pc.divide(pc.multiply(pc.subtract(batch.column(key).cast(pa.int64()), 1), ranges), total)
                yield pa.record_batch([*batch.columns, bucket], schema=schema)
        return {"files": _split(pa.RecordBatchReader.from_batches(schema, ranged()), _fresh(out), result.schema)}
    return _with_part(ctx, 1, run)


def position_range(ctx: Context, stage_name: str, files: list[str], out: str) -> dict[str, Any]:
    """One range of a positioned stage's positions, from every file's part of it: its documents in position order,
    sorted within `--memory`, as the local engine writes them."""
    stage = ctx.plan.stage(stage_name)

    def run(part: PartContext, con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
        rows = ds.dataset(files, format="parquet").scanner(batch_size=STREAM_ROWS).to_reader()
        schema, ordered = part.in_order(stage, rows)
        return {"rows": write_parquet(_fresh(out) / "data.parquet", schema, ordered)}
    return _with_part(ctx, 1, run)


def measure_rows(ctx: Context, files: list[str], columns: list[str], phases: int, out: str
                 ) -> tuple[int, list[dict[str, Counter[str]]], int]:
    """Some of the ordered stage's files, measured for the output: each row's phase and size as the shard writer
    counts it (a narrow file, `out`), and the manifest's counts (text bytes, per phase and source); with the rows."""
    _setup(ctx)
    counts = OrderedRows(files, columns, phases)
    rows = 0
    with pq.ParquetWriter(out, MEASURED) as writer:
        for batch in counts.batches():
            sizes = pa.array(row_sizes(batch.drop_columns(["_phase"])), pa.int64())
            writer.write_batch(pa.record_batch([batch.column("_phase").cast(pa.int32()), sizes], schema=MEASURED))
            rows += batch.num_rows
    return counts.text_bytes, counts.per_phase, rows


def write_rows(ctx: Context, files: list[str], columns: list[str], fmt: str, start: int, end: int, build: str,
               name: str, phase: str) -> Shard | Failed:
    """One shard of the output: rows [start, end) of the ordered stage's files (one after the other), written as
    the local engine writes them; to an object store, uploaded from here."""
    _setup(ctx)
    tables, offset = [], 0
    for path in files:
        source = pq.ParquetFile(path)
        for group in range(source.num_row_groups):
            rows = source.metadata.row_group(group).num_rows
            if offset < end and offset + rows > start:
                table = source.read_row_group(group, columns=columns)
                tables.append(table.slice(max(start - offset, 0), min(end, offset + rows) - max(start, offset)))
            offset += rows
    schema = pa.schema([pq.read_schema(files[0]).field(c) for c in columns])
    shard = write_shard(Path(build), name, fmt, schema, pa.concat_tables(tables), phase)
    url = ctx.plan.stage("output").params["path"]
    if is_remote(url):  # published from here, not through the driver (runtime/stages/atomic.py)
        try:
            with store_errors(url):
                fs, root = object_store(url)
                fs.put_file(str(Path(build) / name), f"{root}/{name}")
        except RecipeError as exc:
            return Failed(replace(exc))
        (Path(build) / name).unlink()
    return shard


class Scorer:
    """An actor holding one scorer (a model loaded once): it scores chunks of a score stage's todo files into
    the score cache."""

    def __init__(self, ctx: Context, stage_name: str, entry_name: str):
        self.ctx = ctx
        self.stage = ctx.plan.stage(stage_name)
        self.entry = next(e for e in self.stage.params["scores"] if e["name"] == entry_name)
        self.failed: Failed | None = None  # a model that does not load: each chunk reports it
        try:
            _setup(ctx)
            self.part = PartContext(ctx)
            self.scorer = score.load_scorer(self.part, self.stage, self.entry)
        except RecipeErrors as exc:
            self.failed = Failed(replace(exc.errors[0]))
            return
        except RecipeError as exc:
            self.failed = Failed(replace(exc))
            return
        self.cache = score.score_cache(self.part, self.entry)
        self.cache.mkdir(parents=True, exist_ok=True)

    def score(self, path: str, group: int) -> tuple[int, int] | Failed:
        """Score one row group of a todo file; returns the texts scored and the model's forward passes."""
        if self.failed is not None:
            return self.failed
        before = int(self.scorer.forward_passes)
        batch = pq.ParquetFile(path).read_row_group(group)
        hashes = batch.column("content_hash").combine_chunks()
        texts = score.score_inputs(batch)
        try:
            values = self.scorer.score(texts)
        except session.OperatorFailure as failure:  # name the document: the first with that text
            return Failed(failure.recipe_error(self.stage.name, self._doc(hashes[failure.row or 0].as_py())))
        score.write_score_part(self.cache, hashes, values)
        return len(texts), int(self.scorer.forward_passes) - before

    def _doc(self, content_hash: int) -> str:
        def run(part: PartContext, con: duckdb.DuckDBPyConnection) -> str:
            source = self.stage.source
            con.register("docs", ds.dataset(part.data_files(self.stage.inputs[0]), format="parquet"))
            row = con.execute(first_doc_of_text("docs"), [source, content_hash]).fetchall()
            return str(row[0][0])
        return str(_with_part(self.ctx, 1, run))


# ---- the driver side ---------------------------------------------------------------------------------------


def connect(address: str | None, object_store_bytes: int = 256 * 2**20) -> bool:
    """Join the cluster at `address` (`auto`: the one this machine runs; `ray://host:port`: through Ray Client);
    with none, start a Ray instance on this machine for this run. Returns whether this call connected."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    if ray.is_initialized():
        return False
    address = address or os.environ.get("RAY_ADDRESS") or None
    env = {"env_vars": {"RAY_USAGE_STATS_ENABLED": "0"}}
    try:
        if address:
            ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False, runtime_env=env)
        else:
            ray.init(address="local", object_store_memory=object_store_bytes, include_dashboard=False,
                     logging_level=logging.ERROR, log_to_driver=False, runtime_env=env)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise RecipeError(None, f"cannot connect to the Ray cluster at {address or 'a new local instance'}: "
                                f"{str(exc).splitlines()[0]}",
                          "start it with `ray start --head`, or pass its address: `--address HOST:PORT`, "
                          "`--address auto` (the cluster this machine is part of), `--address ray://HOST:10001`",
                          stage="ray", input=address or "") from None
    return True


class RayEngine(LocalEngine):
    """Runs a plan on a Ray cluster (see the module's docstring); outputs are byte-identical to LocalEngine's. The
    local engine's walk of the plan, given the runners below (`RUNNERS_ON_RAY`), which run a stage's work as tasks;
    its methods are what those runners share: tasks, actor pools, a stage's input in parts."""

    def __init__(self, plan: Plan, recipe: CheckedRecipe, *, address: str | None = None, partitions: int = 0,
                 shard_bytes: int = SHARD_BYTES, **kwargs: Any):
        self.requested_threads = kwargs.get("threads", 0)  # 0: every core of the node a whole stage runs on
        super().__init__(plan, recipe, runners=RUNNERS_ON_RAY, shard_writer=partial(write_shards, self), **kwargs)
        self.address = address
        self.partitions = partitions
        self.shard_bytes = shard_bytes
        self.context: Any = None  # the build's Context, in Ray's object store while `run` runs

    def run(self, only: str | None = None) -> dict[str, Any]:
        import ray

        self.cache_dir = self.cache_dir.resolve()
        self.spill_dir = self.cache_dir / "duckdb-tmp"
        ctx = Context(self.plan, self.recipe, str(Path(self.recipe_path).resolve()), os.getcwd(),
                      str(self.cache_dir), str(self.stage_root.resolve()) if self.stage_root else None,
                      self.memory_limit, self.device)
        connected = connect(self.address)
        try:
            self.context = ray.put(ctx)
            if not self.partitions:  # two parts per core: a slow part leaves the others busy
                self.partitions = max(1, 2 * int(ray.cluster_resources().get("CPU", 1)))
            return super().run(only)
        finally:
            if connected:
                ray.shutdown()

    # ---- tasks ---------------------------------------------------------------------------------------------

    def tasks(self, stage: Stage, function: Callable[..., Any], calls: list[tuple[Any, ...]],
              rows: Callable[[Any], int] | None = None, cpus: int = 1, resume: bool = False) -> list[Any]:
        """`function(context, *call)` as one task (of `cpus` CPUs) per call: their results, in the order of the
        calls. A `tasks` event reports how many ran, their seconds in all and the longest (docs/scaling.md).
        `resume`: each call's last argument is its output under the stage's `work/`, and a task a killed build
        finished (its result kept beside its output, `OUT.result`) is not run again (runtime/stages/atomic.py)."""
        import ray

        found = {i: _kept_result(call) for i, call in enumerate(calls)} if resume else {}
        kept = {i: result for i, result in found.items() if result is not None}
        remote = ray.remote(_kept if resume else _timed).options(
            num_cpus=cpus, max_retries=RETRIES, retry_exceptions=False,
            name=f"{stage.name}.{function.__name__}")  # `ray::NAME` in `ps`
        if rows is not None:
            for _, result in kept.values():
                self.reporter.advance(stage.name, rows(result))
        started = time.perf_counter()
        todo = [i for i in range(len(calls)) if i not in kept]
        timed = dict(zip(todo, self.gather(stage, [remote.remote(function, self.context, *calls[i]) for i in todo],
                                           None if rows is None else lambda r: rows(r[1])), strict=True))
        seconds = [t for t, _ in timed.values()]
        self.reporter.emit("tasks", stage=stage.name, step=function.__name__, tasks=len(todo),
                           task_seconds=round(sum(seconds), 3), max_seconds=round(max(seconds, default=0), 3),
                           seconds=round(time.perf_counter() - started, 3), **({"resumed": len(kept)} if kept else {}))
        return [(timed.get(i) or kept[i])[1] for i in range(len(calls))]

    def gather(self, stage: Stage, refs: list[Any], rows: Callable[[Any], int] | None = None) -> list[Any]:
        """The tasks' results in the order given, advancing the stage's progress by `rows(result)` as each
        finishes; an error a task raised is raised here, with its stage."""
        import ray

        index = {ref: i for i, ref in enumerate(refs)}
        results: list[Any] = [None] * len(refs)
        pending = list(refs)
        failed: dict[int, RecipeError] = {}
        try:
            # After a failure, the tasks before it still run: the error reported is that of the first task in
            # order that failed (the first file, as the local engine reads them), not of the first to finish.
            while pending and not (failed and all(index[ref] > min(failed) for ref in pending)):
                ready, pending = ray.wait(pending, num_returns=1)
                for ref in ready:
                    try:
                        results[index[ref]] = result = _result(stage, ref)
                    except RecipeError as exc:
                        failed[index[ref]] = exc
                        continue
                    if rows is not None:
                        self.reporter.advance(stage.name, rows(result))
            if failed:
                raise failed[min(failed)]
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise
        return results

    def pool(self, stage: Stage, actors: list[Any], items: list[tuple[str, int]], task: str) -> list[Any]:
        """The scoring actors' results for every todo chunk: each actor takes the next chunk when it is done
        with its last, so a slow actor (or one Ray restarted) takes fewer."""
        import ray

        queue, running, results = list(reversed(items)), {}, []
        free = list(actors)
        while queue or running:
            while free and queue:
                actor = free.pop()
                running[actor.score.remote(*queue.pop())] = actor
            ready, _ = ray.wait(list(running), num_returns=1)
            for ref in ready:
                free.append(running.pop(ref))
                results.append(result := _result(stage, ref))
                self.reporter.advance(task, result[0])
        return results

    def whole(self, stage: Stage, tmp: Path, locate: str = "") -> dict[str, Any]:
        """The stage as one task, on a node with the cores for it (`locate`: see `whole_stage`)."""
        import ray

        work = tmp / "whole"  # not `work/`, which may hold the finished tasks of a later step (`tasks`' resume)
        # DuckDB's threads on the largest node (--threads caps them), all reserved for the task
        largest = max((int(n["Resources"].get("CPU", 0)) for n in ray.nodes() if n["Alive"]), default=1)
        threads = max(1, min(self.requested_threads or largest, largest))
        result: dict[str, Any] = self.tasks(stage, whole_stage, [(stage.name, threads, str(work), locate)],
                                            cpus=threads)[0]
        for path in work.iterdir():
            path.rename(tmp / path.name)
        work.rmdir()
        return result

    # ---- the stages' parts ---------------------------------------------------------------------------------

    def shards(self, files: tuple[InputFile, ...]) -> list[tuple[InputFile, ...]]:
        """Consecutive runs of a source's files of about `shard_bytes` each, and at least one per partition
        when the files allow it."""
        target = min(self.shard_bytes, max(1, math.ceil(sum(f.size for f in files) / self.partitions)))
        out: list[list[InputFile]] = []
        size = target
        for f in files:
            if size >= target:
                out.append([])
                size = 0
            out[-1].append(f)
            size += f.size
        return [tuple(shard) for shard in out]

    def assemble(self, parts: list[Path], tmp: Path) -> None:
        """A stage's documents as the parts its tasks wrote, in order (empty parts left out, but one kept)."""
        if (tmp / WORK).is_dir():  # the tasks' outputs move: a killed build's are not resumed from
            (tmp / WORK / ASSEMBLING).touch()
        data = tmp / "data.parquet"
        data.mkdir()
        kept = [p for p in parts if pq.read_metadata(p).num_rows] or parts[:1]
        for i, part in enumerate(kept):
            part.rename(data / f"part-{i:05d}.parquet")

    def partitioned(self, stage: Stage, input_name: str, key: str, tmp: Path) -> list[dict[str, list[str]]]:
        """The stage's input as parts: its own parts when any split will do, else hash-partitioned by `key`."""
        files = self.data_files(input_name)
        if key == "":
            return [{input_name: [f]} for f in files if pq.read_metadata(f).num_rows]
        maps = self.tasks(stage, partition_rows, [([f], key, self.partitions, str(tmp / "work" / f"map-{i:05d}"))
                                                  for i, f in enumerate(files)], resume=True)
        buckets = sorted({b for m in maps for b in m["files"]})
        return [{input_name: [m["files"][b] for m in maps if b in m["files"]]} for b in buckets]


# ---- the driver's stage runners: a stage's work as tasks, its output as the local engine's runner writes it ---


def ingest_stage(engine: RayEngine, con: duckdb.DuckDBPyConnection, stage: Stage, tmp: Path) -> dict[str, Any]:
    """An ingest: a task per shard of the source's files, or, for a source with ids, per hash partition of them."""
    src = next(s for s in engine.recipe.sources if s.name == stage.source)
    shards = engine.shards(engine.plan.files[src.name])
    if not shards:
        return engine.whole(stage, tmp)
    work = tmp / "work"
    quarantine = Quarantine()
    if not src.id_column:  # ids are file:row, unique: each shard is ingested alone, in file order
        results = engine.tasks(stage, ingest_shard, [(stage.name, shard, str(work / f"{i:05d}"))
                                                     for i, shard in enumerate(shards)],
                               lambda r: r["rows"] + sum(r["quarantined"].values()), resume=True)
        for i in range(len(shards)):
            quarantine.rows += pq.read_table(work / f"{i:05d}" / "quarantine.parquet").to_pylist()
        parts = [work / f"{i:05d}" / "data.parquet" for i in range(len(shards))]
        rows = sum(r["rows"] for r in results)
    else:  # every row of an id in one partition: the first (by file and line) is kept, as locally
        maps = engine.tasks(stage, partition_raw, [
            (stage.name, shard, i, engine.partitions, str(work / f"raw-{i:05d}")) for i, shard in enumerate(shards)],
            lambda r: r["rows"], resume=True)
        for result in maps:
            quarantine.rows += result["quarantine"]
        buckets = sorted({b for m in maps for b in m["files"]})
        results = engine.tasks(stage, ingest_partition, [
            (stage.name, [m["files"][b] for m in maps if b in m["files"]], str(work / f"{b:05d}"))
            for b in buckets], resume=True)
        order = {f.path: i for i, f in enumerate(engine.plan.files[src.name])}
        found = sorted((row for r in results for row in r["duplicates"]), key=lambda r: (order[r[1]], r[2]))
        reader = SourceReader(src, (), quarantine)
        engine.duplicates(reader, found)
        parts = [work / f"{b:05d}" / "data.parquet" for b in buckets]
        rows = sum(r["stats"]["rows"] for r in results)
        if not buckets:
            return engine.whole(stage, tmp)
    engine.assemble(parts, tmp)
    pq.write_table(quarantine.table(), tmp / "quarantine.parquet")
    shutil.rmtree(work)
    return {"rows": rows, "by_source": {src.name: rows},
            "quarantined": dict(Counter(r["source"] for r in quarantine.rows))}


def sql_stage(engine: RayEngine, con: duckdb.DuckDBPyConnection, stage: Stage, tmp: Path) -> dict[str, Any]:
    """A stage of SQL: a task per part of its input when the plan says it may be split, else one task."""
    if stage.step in POSITIONED:
        return positioned_stage(engine, con, stage, tmp)
    if stage.partition is None or len(stage.inputs) != 1:
        return engine.whole(stage, tmp)
    parts = engine.partitioned(stage, stage.inputs[0], stage.partition, tmp)
    if not parts:  # no input rows: the stage's SQL writes its empty output
        shutil.rmtree(tmp / "work", ignore_errors=True)
        return engine.whole(stage, tmp)
    work = tmp / "work"
    engine.tasks(stage, stage_part, [(stage.name, p, str(work / f"{i:05d}")) for i, p in enumerate(parts)],
                 lambda r: r["rows"], resume=True)
    engine.assemble([work / f"{i:05d}" / "data.parquet" for i in range(len(parts))], tmp)
    for name in ("ledger", "changed"):  # one file of each, in the order the stage's SQL writes it
        found = [str(work / f"{i:05d}" / f"{name}.parquet") for i in range(len(parts))
                 if (work / f"{i:05d}" / f"{name}.parquet").exists()]
        if found:
            con.register("record_parts", ds.dataset(found, format="parquet", schema=LEDGER_SCHEMA))
            try:
                result = con.sql(records_in_order("record_parts")).to_arrow_reader(STREAM_ROWS)
                write_parquet(tmp / f"{name}.parquet", LEDGER_SCHEMA, result)
            finally:
                con.unregister("record_parts")
    shutil.rmtree(work)
    return sql_stats(tmp)


def score_stage(engine: RayEngine, con: duckdb.DuckDBPyConnection, stage: Stage, tmp: Path) -> dict[str, Any]:
    """A score stage: the texts the cache lacks scored by actor pools, then a task per part of its input."""
    import ray

    data_input = next(n for n in stage.inputs if engine.plan.stage(n).kind != "fit")
    parts = engine.partitioned(stage, data_input, stage.partition or "content_hash", tmp)
    if not parts:
        shutil.rmtree(tmp / "work", ignore_errors=True)
        return engine.whole(stage, tmp)
    work = tmp / "work"
    chunk = score.score_chunk(stage.name)
    def find_todos(round_: int) -> list[dict[str, Any]]:
        return engine.tasks(stage, score_todo, [(stage.name, p, chunk, str(work / f"todo{round_}-{i:05d}"))
                                                for i, p in enumerate(parts)])

    todos = find_todos(0)
    scores: dict[str, dict[str, Any]] = {}
    for entry in stage.params["scores"]:
        if entry["kind"] == "sql":
            continue
        if entry["kind"] == "space" and any(s["scored"] for s in scores.values()):
            # a cluster reads the vectors of an embedding scored above: what its cache lacks is known only now
            todos = find_todos(len(scores))
        name = entry["name"]
        items = [(t[name]["path"], g) for t in todos for g in range(t[name]["groups"]) if t[name]["rows"]]
        total = sum(t[name]["rows"] for t in todos)
        scores[name] = {"op": entry["op"], "cache": entry["cache"], "scored": total, "forward_passes": 0}
        if not items:
            continue
        task = f"{stage.name}.{name}"
        engine.reporter.start(task, total=total, event="task")
        gpus = int(ray.cluster_resources().get("GPU", 0)) if entry["kind"] == "model" else 0
        actors = [ray.remote(Scorer).options(num_cpus=0 if gpus else 1, num_gpus=1 if gpus else 0,
                                             max_restarts=RETRIES, max_task_retries=RETRIES)
                  .remote(engine.context, stage.name, name)
                  for _ in range(min(len(items), gpus or max(1, int(ray.cluster_resources().get("CPU", 1)))))]
        try:
            done = engine.pool(stage, actors, items, task)
        finally:
            for actor in actors:
                ray.kill(actor)
        scores[name]["forward_passes"] = sum(passes for _, passes in done)
        engine.reporter.finish(task, event="task", rows=total, forward_passes=scores[name]["forward_passes"])
    results = engine.tasks(stage, stage_part, [(stage.name, p, str(work / f"{i:05d}"))
                                                for i, p in enumerate(parts)], lambda r: r["rows"], resume=True)
    engine.assemble([work / f"{i:05d}" / "data.parquet" for i in range(len(parts))], tmp)
    shutil.rmtree(work)
    rows = sum(r["rows"] for r in results)
    for entry in scores.values():
        entry["docs"] = rows
    return {"rows": rows, "by_source": {stage.source: rows} if rows else {}, "scores": scores}


def write_shards(engine: RayEngine, stage: Stage, tmp: Path, ordered: OrderedRows) -> list[Shard]:
    """The shards, written by tasks in parallel. Tasks measure the ordered rows first (a task per file: each row's
    size and phase, and the manifest's counts); the driver then cuts the shards where the local engine would (a
    shard's end depends only on the sizes of the rows before it), reading only those two narrow columns."""
    params = stage.params
    work = tmp.parent / f"{tmp.name}-measured"
    work.mkdir()
    try:
        measured = engine.tasks(stage, measure_rows, [
            ([f], ordered.columns, len(params["phases"]), str(work / f"{i:05d}.parquet"))
            for i, f in enumerate(ordered.files)])
        for text_bytes, per_phase, _ in measured:
            ordered.add(text_bytes, per_phase)
        ranges: list[tuple[int, int, int]] = []  # first row, end row, phase
        position = 0
        pieces = (run for i in range(len(measured)) for run in _phase_runs(work / f"{i:05d}.parquet"))
        for index, run in itertools.groupby(pieces, key=lambda pair: pair[0]):
            cutter, start = Cutter(params["shard_rows"] or 2**62, params["shard_bytes"]), position
            for _, sizes in run:
                for cut in cutter.cut_sizes(sizes):
                    ranges.append((start, position + cut, index))
                    start = position + cut
                position += len(sizes)
            ranges.append((start, position, index))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    fmt = params["format"]
    if is_remote(params["path"]):  # the shard tasks write to the store: the previous build is no build from here
        uncommit(params["path"])
    shards: list[Shard] = engine.tasks(stage, write_rows, [
        (ordered.files, ordered.columns, fmt, start, end, str(tmp.resolve()), shard_name(i, len(ranges), fmt),
         params["phases"][index]) for i, (start, end, index) in enumerate(ranges)], lambda shard: shard.rows)
    return shards


def _phase_runs(path: Path) -> Iterator[tuple[int, Any]]:
    """A measured file's rows as runs of one phase: (phase, the rows' sizes)."""
    for batch in pq.ParquetFile(path).iter_batches(batch_size=1 << 20):
        sizes = batch.column("bytes").to_numpy()
        for phase, a, b in phase_runs(batch.column("_phase")):
            yield phase, sizes[a:b]


def positioned_stage(engine: RayEngine, con: duckdb.DuckDBPyConnection, stage: Stage, tmp: Path) -> dict[str, Any]:
    """The mix or the order (POSITIONED), with no step that reads every document in one place: one task makes the
    stage's choices, on its narrow columns, and writes its narrow table of positions by input file; a task per
    input file joins its documents to its part of that table and splits them by position into equal ranges; a task
    per range sorts it and writes it, a part of the stage's documents in position order."""
    work = tmp / WORK
    located = work / "located"  # under `work/`: the tasks' arguments name it, and a resumed build finds them
    stats = engine.whole(stage, tmp, locate=str(located))
    index = json.loads((located / "index.json").read_text())
    if index["rows"]:
        ranges = max(1, min(engine.partitions, index["rows"]))
        calls = [(stage.name, name, file, index["files"][str(b)], ranges, index["rows"], str(work / f"map-{b:05d}"))
                 for b, (name, file) in enumerate(input_files(engine, stage)) if str(b) in index["files"]]
        maps = engine.tasks(stage, position_part, calls, resume=True)
        buckets = sorted({r for m in maps for r in m["files"]})
        engine.tasks(stage, position_range, [
            (stage.name, [m["files"][r] for m in maps if r in m["files"]], str(work / f"{r:05d}")) for r in buckets],
            lambda r: r["rows"], resume=True)
        (tmp / "data.parquet").unlink()
        engine.assemble([work / f"{r:05d}" / "data.parquet" for r in buckets], tmp)
        stats |= sql_stats(tmp)  # the documents the parts hold
    shutil.rmtree(work)
    return stats


def input_files(ctx: StageContext, stage: Stage) -> list[tuple[str, str]]:
    """A positioned stage's input files, each with the input it is of, in the order `_bucket` numbers them."""
    return [(name, f) for name in stage.inputs for f in ctx.data_files(name)]


def one_task(engine: RayEngine, con: duckdb.DuckDBPyConnection, stage: Stage, tmp: Path) -> dict[str, Any]:
    """A fit: the stage as one task."""
    return engine.whole(stage, tmp)


# The runner of each kind of stage on the driver (the output's shards are written by `write_shards`).
RUNNERS_ON_RAY: dict[str, Callable[..., dict[str, Any]]] = {
    "ingest": ingest_stage, "sql": sql_stage, "fit": one_task, "score": score_stage, "mix": positioned_stage}
