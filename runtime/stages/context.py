"""What a stage runner is given: the plan and recipe, where stage outputs live, the reporter, and the counts of
the stages run so far. An executor is one (runtime/executors/local.py); one that reads differently (a sample of
each source, a part of a stage's input) overrides `reader`, `data_files` or `duplicates`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from datarecipe.compiler.language.spec import CheckedRecipe, SourceSpec
from datarecipe.compiler.plan import Plan, Stage
from datarecipe.runtime.memory import DEFAULT_SORT_BYTES, Budget, Watch
from datarecipe.runtime.progress import Reporter
from datarecipe.runtime.session import OperatorFailure, parquet_view
from datarecipe.runtime.spill import consumed, sorted_batches
from datarecipe.runtime.stages import atomic
from datarecipe.runtime.stages.ingest import Quarantine, SourceReader, quarantine_duplicates

if TYPE_CHECKING:
    import duckdb


class StageContext:
    """A build's stage outputs and settings, as the stage runners (runtime/stages/) read them. A runner is a
    function `run(ctx, con, stage, tmp) -> stats` that writes the stage's output files in `tmp` (a directory
    runtime/stages/atomic.py renames into place) from the outputs of `stage.inputs`, read with `data_files` or
    `register_outputs`."""

    sampled = False  # a run on a sample of each source (the estimate): a fit may see fewer documents than a build

    def __init__(self, plan: Plan, recipe: CheckedRecipe, *, cache_dir: Path, threads: int = 0,
                 memory_limit: str = "4GB", reporter: Reporter | None = None, recipe_path: str = "",
                 device: str = "auto", stage_root: Path | None = None):
        self.plan = plan
        self.recipe = recipe
        self.recipe_path = recipe_path  # as the manifest records it
        self.cache_dir = Path(cache_dir)
        self.threads = threads or (os.cpu_count() or 1)
        self.memory_limit = memory_limit
        self.reporter = reporter or Reporter("quiet")
        self.device = device  # where models run: `auto`, `cpu`, `cuda`, ...
        self.stage_root = stage_root  # under DVC: one fixed directory per stage, which DVC versions
        self.stats: dict[str, dict[str, Any]] = {}  # per stage run or found finished: its counts
        self.failures: list[OperatorFailure] = []  # what a plugin's kernel failed on, in the session
        self.spill_dir = self.cache_dir / "duckdb-tmp"  # where DuckDB and the engine's sorts spill
        self.budget: Budget | None = None  # `--memory`, once a session is open (runtime/memory.py)
        self.watch: Watch | None = None  # `--memory` enforced while the stages run

    def measured(self) -> dict[str, Any]:
        """The running stage's peak resident memory and spill so far, for its `stage_end` event."""
        return self.watch.measured() if self.watch is not None else {}

    def stage_dir(self, stage: Stage) -> Path:
        return atomic.stage_dir(stage, self.cache_dir, self.stage_root)

    def done(self, stage: Stage) -> bool:
        """Whether the stage's output is there, complete, and of this fingerprint."""
        return atomic.is_done(self.stage_dir(stage), stage.fingerprint)

    def stage_stats(self, name: str) -> dict[str, Any]:
        """A finished stage's counts: from this run, or from its stats.json (a worker of the Ray engine runs the
        mix without the stages before it)."""
        if name not in self.stats:
            self.stats[name] = atomic.read_stats(self.stage_dir(self.plan.stage(name)))
        return self.stats[name]

    def stage_of(self, step: str, source: str) -> Stage:
        """The source's stage of a step (`ingest`, `filter`, ...)."""
        return next(s for s in self.plan.stages if s.step == step and s.source == source)

    def data_files(self, name: str) -> list[str]:
        """The Parquet files of a finished stage's documents: `data.parquet`, or the parts in it when an engine
        wrote it in parts (runtime/executors/cluster.py)."""
        data = self.stage_dir(self.plan.stage(name)) / "data.parquet"
        return sorted(str(p) for p in data.glob("part-*.parquet")) if data.is_dir() else [str(data)]

    def register_outputs(self, con: duckdb.DuckDBPyConnection, names: Any) -> None:
        """The documents of finished stages, as views named after them, which DuckDB reads from their Parquet
        (within its memory limit: `session.forget` drops them)."""
        for name in names:
            parquet_view(con, name, self.data_files(name))

    def write_data(self, con: duckdb.DuckDBPyConnection, stage: Stage, sql: str, tmp: Path) -> bool:
        """Whether this context writes a stage's `@data` itself, in its stead (the Ray engine splits the mix's and
        the order's: runtime/executors/cluster.py); here it does not."""
        return False

    def readable(self) -> list[Path]:
        """Where the session may read files: the cache, and under DVC the stages' directories."""
        return [self.cache_dir, *([self.stage_root] if self.stage_root is not None else [])]

    def in_order(self, stage: Stage, rows: pa.RecordBatchReader) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
        """A stage's `@data` rows as it writes them: in the order of its `sorted_by` column, sorted by the engine
        within `--memory` (runtime/spill.py), without that column when it is the engine's (`_row`); as they come
        when it has none."""
        key = stage.params.get("sorted_by")
        if not key:
            return rows.schema, iter(rows)
        batches = self.sorted_by(rows, key, consume=False)
        if not key.startswith("_"):
            return rows.schema, batches
        return rows.schema.remove(rows.schema.get_field_index(key)), (b.drop_columns([key]) for b in batches)

    def sorted_by(self, rows: pa.RecordBatchReader, key: str, consume: bool = True) -> Iterator[pa.RecordBatch]:
        """Rows in the order of the column `key`, sorted within `--memory` (runtime/spill.py); with `consume`, read
        to their end before this returns (the session is free for another query)."""
        run_bytes = self.budget.sort_bytes if self.budget is not None else DEFAULT_SORT_BYTES
        batches = sorted_batches(rows, rows.schema, key, run_bytes, self.spill_dir)
        return consumed(batches) if consume else batches

    def reader(self, src: SourceSpec, quarantine: Quarantine) -> SourceReader:
        """The reader of a source's files (the estimate reads a sample of them)."""
        return SourceReader(src, self.plan.files[src.name], quarantine)

    def duplicates(self, reader: SourceReader, rows: list[tuple]) -> None:
        """Rows whose id an earlier row of the source already has: quarantined, or the build fails."""
        quarantine_duplicates(self.stage_of("ingest", reader.src.name).name, reader, rows)
