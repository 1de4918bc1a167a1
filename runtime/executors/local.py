"""The local executor: runs a plan's stages in order in this process, each by its runner (runtime/stages/) on one
in-process DuckDB session, and caches every stage's output by its fingerprint (runtime/stages/atomic.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
from datarecipe.compiler.language.spec import CheckedRecipe
from datarecipe.compiler.plan import Plan, Stage
from datarecipe.runtime import session
from datarecipe.runtime.artifacts.manifest import filtered_words
from datarecipe.runtime.artifacts.shards import Shard
from datarecipe.runtime.stages import atomic, fit, ingest, output, score, sql
from datarecipe.runtime.stages.context import StageContext
from datarecipe.runtime.stages.mix import empty_error, empty_sources
from datarecipe.runtime.stages.output import OrderedRows

# A stage runner: (context, session, stage, temporary directory) -> the stage's counts; it writes the stage's files
# in the directory, which runtime/stages/atomic.py renames into place.
Runner = Callable[[StageContext, duckdb.DuckDBPyConnection, Stage, Path], dict[str, Any]]
# The runner of each kind of stage (the output stage, `write`, is runtime/stages/output.py's write_output).
RUNNERS: dict[str, Runner] = {"ingest": ingest.run_ingest, "sql": sql.run_sql, "fit": fit.run_fit,
                              "score": score.run_score, "mix": sql.run_mix}


class LocalEngine(StageContext):
    """Executes a Plan on this machine: each stage by its runner, skipping those whose output is there."""

    def __init__(self, plan: Plan, recipe: CheckedRecipe, *, cache_dir: Path, strict: bool = False,
                 **options: Any):
        super().__init__(plan, recipe, cache_dir=cache_dir, **options)
        self.strict = strict  # a source the mix names that gets no documents fails the build (`--strict`)
        self.spill_dir = self.cache_dir / "duckdb-tmp"  # where DuckDB spills past its memory limit
        self.con: duckdb.DuckDBPyConnection | None = None  # kept open by `connected()`

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection that can reach no file: the engine hands it every input as Arrow."""
        self.failures = []
        return session.connect(self.plan.macros, threads=self.threads, memory_limit=self.memory_limit,
                               spill_dir=self.spill_dir, failures=self.failures)

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
                    return self.write_output(stage)
                self.run_stage(con, stage)
                if only is not None:
                    return self.stats[stage.name]
        finally:
            if con is not self.con:
                con.close()
        raise AssertionError("a plan ends with its output stage")  # pragma: no cover

    def run_stage(self, con: duckdb.DuckDBPyConnection, stage: Stage) -> None:
        """The stage's output, built by its runner unless it is there already."""
        runners = {"ingest": self.run_ingest, "sql": self.run_sql, "fit": self.run_fit, "score": self.run_score,
                   "mix": self.run_mix}
        self.stats[stage.name], _ = atomic.build_stage(stage, self.stage_dir(stage), self.reporter,
                                                       partial(runners[stage.kind], con, stage))

    # ---- the stage runners: each a function of runtime/stages/, which the Ray engine replaces by its own -------

    def run_ingest(self, con: duckdb.DuckDBPyConnection, stage: Stage, tmp: Path) -> dict[str, Any]:
        return ingest.run_ingest(self, con, stage, tmp)

    def run_sql(self, con: duckdb.DuckDBPyConnection, stage: Stage, tmp: Path) -> dict[str, Any]:
        return sql.run_sql(self, con, stage, tmp)

    def run_mix(self, con: duckdb.DuckDBPyConnection, stage: Stage, tmp: Path) -> dict[str, Any]:
        return sql.run_mix(self, con, stage, tmp)

    def run_fit(self, con: duckdb.DuckDBPyConnection, stage: Stage, tmp: Path) -> dict[str, Any]:
        return fit.run_fit(self, con, stage, tmp)

    def run_score(self, con: duckdb.DuckDBPyConnection, stage: Stage, tmp: Path) -> dict[str, Any]:
        return score.run_score(self, con, stage, tmp)

    def write_output(self, stage: Stage) -> dict[str, Any]:
        return output.write_output(self, stage, self.write_shards)

    def write_shards(self, stage: Stage, tmp: Path, ordered: OrderedRows) -> list[Shard]:
        return output.write_local_shards(self, stage, tmp, ordered)

    # ---- the score cache, as the Ray engine's scoring actors reach it (runtime/executors/cluster.py) ----------

    def score_cache(self, entry: dict[str, Any]) -> Path:
        return score.score_cache(self, entry)

    def register_cache(self, con: duckdb.DuckDBPyConnection, entry: dict[str, Any]) -> None:
        score.register_cache(self, con, entry)

    def load_scorer(self, stage: Stage, entry: dict[str, Any]) -> Any:
        return score.load_scorer(self, stage, entry)
