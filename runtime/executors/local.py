"""The local executor: runs a plan's stages in order in this process, each by its runner (runtime/stages/) on one
in-process DuckDB session, and caches every stage's output by its fingerprint (runtime/stages/atomic.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
from datarecipe.compiler.language.spec import CheckedRecipe
from datarecipe.compiler.plan import Plan, Stage
from datarecipe.runtime import memory, session
from datarecipe.runtime.artifacts.manifest import filtered_words
from datarecipe.runtime.stages import atomic, fit, ingest, mirror, output, score, sql
from datarecipe.runtime.stages.context import StageContext
from datarecipe.runtime.stages.mix import empty_error, empty_sources
from datarecipe.runtime.stages.output import ShardWriter

# A stage runner: (context, session, stage, temporary directory) -> the stage's counts; it writes the stage's files
# in the directory, which runtime/stages/atomic.py renames into place.
Runner = Callable[[StageContext, duckdb.DuckDBPyConnection, Stage, Path], dict[str, Any]]
# The runner of each kind of stage (the output stage, `write`, is runtime/stages/output.py's write_output).
RUNNERS: dict[str, Runner] = {"ingest": ingest.run_ingest, "sql": sql.run_sql, "fit": fit.run_fit,
                              "score": score.run_score, "mix": sql.run_mix}


class LocalEngine(StageContext):
    """Executes a Plan: each stage by its runner (by default in this process), skipping those whose output is
    there."""

    def __init__(self, plan: Plan, recipe: CheckedRecipe, *, cache_dir: Path, strict: bool = False,
                 runners: Mapping[str, Runner] = RUNNERS, shard_writer: ShardWriter | None = None,
                 cache_store: str | None = None, **options: Any):
        super().__init__(plan, recipe, cache_dir=cache_dir, **options)
        self.runners = runners  # the runner of each kind of stage (the Ray engine's run theirs on the cluster)
        self.shard_writer = shard_writer  # how the output's shards are written: by default, in this process
        self.strict = strict  # a source the mix names that gets no documents fails the build (`--strict`)
        self.cache_store = cache_store  # the cache in an object store, `cache_dir` its local copy (mirror.py)
        self.con: duckdb.DuckDBPyConnection | None = None  # kept open by `connected()`

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection that can reach no file (the engine hands it every input as Arrow), given DuckDB's
        share of `--memory` (runtime/memory.py)."""
        self.failures = []
        if self.watch is None:
            self.budget = memory.Budget(self.memory_limit, self.threads)
            self.watch = memory.Watch(self.budget, self.spill_dir)
        return session.connect(self.plan.macros, threads=self.threads,
                               memory_limit=self.budget.duckdb_setting(), spill_dir=self.spill_dir,
                               failures=self.failures, readable=self.readable())

    @contextmanager
    def connected(self) -> Iterator[None]:
        """One DuckDB connection for every `run` inside, rather than one each: `recipe run` under DVC runs a
        stage per `run` (runtime/dvc.py)."""
        self.con = self.connect()
        try:
            yield
        finally:
            self.con.close()
            self.con = None

    def run(self, only: str | None = None) -> dict[str, Any]:
        """Run the plan, skipping stages whose output is there; with `only`, that stage alone (`recipe stage`,
        under DVC), whose inputs must be there already. Returns the manifest, or the stage's stats."""
        con = self.con or self.connect()
        try:
            for stage in self.plan.stages:
                if only is not None and stage.name != only:
                    if self.done(stage):
                        self.stats[stage.name] = atomic.read_stats(self.stage_dir(stage))
                    elif stage.name in self.plan.stage(only).inputs:
                        raise session.stage_error(
                            only, f"stage `{stage.name}`, an input of `{only}`, has not run (or ran for another "
                                  "version of the recipe)", "run `dvc repro`, which runs the stages in order",
                            str(self.stage_dir(stage)))
                    continue
                if stage.kind == "write":
                    empty = self.strict and empty_sources(self.plan.stage("mix").params, self.stage_stats("mix"))
                    if empty:  # before the output is written: the previous build stays
                        raise empty_error(empty, partial(filtered_words, self))
                    with self.watched(con, stage):
                        return output.write_output(self, stage, self.shard_writer, con)
                self.run_stage(con, stage)
                if only is not None:
                    return self.stats[stage.name]
        finally:
            if con is not self.con:
                con.close()
        raise AssertionError("a plan ends with its output stage")  # pragma: no cover

    def run_stage(self, con: duckdb.DuckDBPyConnection, stage: Stage) -> None:
        """The stage's output, built by its runner unless it is there already (or, with a cache in an object
        store, fetched from it; and uploaded to it once built: runtime/stages/mirror.py)."""
        run = partial(self.runners[stage.kind], self, con, stage)
        if self.cache_store:
            run = partial(mirror.fetched_or_run, self, self.cache_store, stage, run)
        with self.watched(con, stage):
            self.stats[stage.name], _ = atomic.build_stage(stage, self.stage_dir(stage), self.reporter, run,
                                                           self.measured)
        if self.cache_store:
            mirror.push(self, self.cache_store, stage, self.stage_dir(stage))

    @contextmanager
    def watched(self, con: duckdb.DuckDBPyConnection, stage: Stage) -> Iterator[None]:
        """The stage run under `--memory` (runtime/memory.py): stopped with an error naming it when the process
        goes past the budget; what it held and spilled is reported with its end."""
        assert self.watch is not None  # made by `connect`
        with self.watch.stage(stage.name, con.interrupt):
            yield
        memory.release()
