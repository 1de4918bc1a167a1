"""`recipe explain --estimate`: run the plan on a deterministic sample of each source and scale what each stage
did to the full inputs: documents in and out, tokens, the output's size and the time of a full run.

The sample. Each source's rows are counted: Parquet rows from the files' metadata, JSONL lines (not blank) in a
streaming pass over the decompressed files, text files by listing them. Of those rows, the N whose hash of
(seed, file relative to the source, row number) is smallest are read (all of them when there are N or fewer), so
the sample depends on the recipe's seed and the inputs alone. The real stages run on it, in a temporary cache.

The scaling. Before the mix, a stage's documents of a source are the sample's times total/sampled. The mix runs
runtime/stages/mix.py's arithmetic on the supply scaled up to the full inputs (so a share the full inputs cannot
fill shows as a shortfall) and takes from the sample its targets scaled down by sampled/total; what the full run
takes of a source in a phase is its target there, or what it has left when short. The mix, the order and the
output scale each source's documents, bytes and tokens by that amount over what the sample took.

The time. The plan runs three times: on a tenth of the sample twice (the first pays what a process pays once:
imports, models loaded), then on the sample. Per stage, the line through the last two gives a fixed cost and a
cost per document; a full run's is the fixed cost, plus the one-time cost, plus the cost per document times the
documents the stage would get, and the whole run adds planning (hashing the inputs) and DuckDB's setup.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import fsspec
import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
from datarecipe.compiler.language.errors import RecipeError
from datarecipe.compiler.language.spec import CheckedRecipe, SourceSpec
from datarecipe.compiler.plan import InputFile, Plan, Stage
from datarecipe.runtime import memory, session
from datarecipe.runtime.artifacts.shards import write_parquet
from datarecipe.runtime.executors.local import RUNNERS, Runner
from datarecipe.runtime.stages import atomic, output, sql
from datarecipe.runtime.stages.context import StageContext
from datarecipe.runtime.stages.ingest import Quarantine, SourceReader
from datarecipe.runtime.stages.mix import Mixer
from datarecipe.runtime.stages.output import OUTPUT_COLUMNS
from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

CHUNK = 1 << 20  # row numbers hashed at a time
COUNTED = {"parquet": "rows from the Parquet metadata", "jsonl": "lines counted", "text": "files listed"}


@dataclass(frozen=True)
class Sample:
    """The rows of one source the estimate reads, as (file path, row number) in hash order, and how many rows the
    source has."""

    format: str
    total: int
    picked: tuple[tuple[str, int], ...]

    @property
    def sampled(self) -> int:
        return len(self.picked)

    @property
    def scale(self) -> float:
        """total / sampled: what one sampled row stands for."""
        return self.total / self.sampled if self.sampled else 1.0

    @property
    def rows(self) -> dict[str, frozenset[int]]:
        """The sampled row numbers of each file, for SourceReader."""
        by_file: dict[str, set[int]] = {}
        for path, n in self.picked:
            by_file.setdefault(path, set()).add(n)
        return {path: frozenset(r) for path, r in by_file.items()}

    def first(self, k: int) -> Sample:
        """The sample of k rows (a part of this one)."""
        return Sample(self.format, self.total, self.picked[:k])


def _hashes(seed: int, name: str, rows: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each (seed, file, row): splitmix64 of the row number offset by a digest of the file."""
    base = np.uint64(int.from_bytes(hashlib.blake2b(f"{seed}\0{name}".encode(), digest_size=8).digest(), "little"))
    z = rows.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + base
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _row_numbers(src: SourceSpec, path: str) -> Iterator[np.ndarray]:
    """The numbers of a file's rows, as the source's reader numbers them, in chunks."""
    if src.format == "text":
        yield np.zeros(1, np.int64)
        return
    if src.format == "parquet":
        with fsspec.open(path, "rb") as fh:
            n = pq.ParquetFile(fh).metadata.num_rows
        for start in range(0, n, CHUNK):
            yield np.arange(start + 1, min(n, start + CHUNK) + 1, dtype=np.int64)
        return
    lines: list[int] = []
    with fsspec.open(path, "rb", compression="infer") as fh:
        for n, raw in enumerate(io.BufferedReader(fh), start=1):
            if raw.strip():
                lines.append(n)
            if len(lines) == CHUNK:
                yield np.array(lines, np.int64)
                lines = []
    yield np.array(lines, np.int64)


def sample_source(src: SourceSpec, files: tuple[InputFile, ...], size: int, seed: int) -> Sample:
    """The `size` rows of the source with the smallest hashes (bottom-k), and the source's row count."""
    reader = SourceReader(src, files, Quarantine())
    keys, where, rows = np.empty(0, np.uint64), np.empty(0, np.int64), np.empty(0, np.int64)
    total = 0
    for i, f in enumerate(files):
        try:
            for numbers in _row_numbers(src, f.path):
                total += len(numbers)
                keys = np.concatenate([keys, _hashes(seed, reader.relative(f.path), numbers)])
                where = np.concatenate([where, np.full(len(numbers), i, np.int64)])
                rows = np.concatenate([rows, numbers])
                if len(keys) > max(4 * size, CHUNK):
                    keep = np.argpartition(keys, size - 1)[:size]
                    keys, where, rows = keys[keep], where[keep], rows[keep]
        except Exception as exc:  # noqa: BLE001 - a file the run could not read either
            if src.on_error == "quarantine":  # the run quarantines the file: it has no rows to estimate
                continue
            raise RecipeError(None, f"cannot count the rows of the file: {type(exc).__name__}: {exc}",
                              "the file may be truncated or not in the declared format",
                              stage=f"ingest_{src.name}", input=f.path) from None
    first = np.argsort(keys, kind="stable")[:size]
    picked = zip(where[first].tolist(), rows[first].tolist(), strict=True)
    return Sample(src.format, total, tuple((files[i].path, n) for i, n in picked))


class ScaledMixer(Mixer):
    """The mix's arithmetic for the full inputs, run on a sample: what each source supplies and has left is scaled
    up to the full inputs, and the targets set are scaled down to the sample; the next phase counts what the full
    run would have taken (the targets, or what a short source had). A share the full inputs cannot fill is
    recorded, and the sample then takes all it has of that source."""

    def __init__(self, stage: str, params: dict[str, Any], scale: dict[str, float]):
        super().__init__(stage, params)
        self.scale = scale
        self.left: list[dict[str, float]] = []  # per phase: what each source has left, scaled up
        self.shortfalls: list[str] = []
        self.sample_taken: Counter[str] = Counter()  # what the sample's phases took, in the budget's unit

    def on_supply(self, rows: list[dict[str, Any]]) -> None:
        super().on_supply([{k: v * self.scale[row["source"]] if k.startswith(("once_", "docs_")) else v
                            for k, v in row.items()} for row in rows])

    def targets(self, i: int, rows: list[dict[str, Any]]) -> list[tuple[int, str, float, int]]:
        full = [{**row, "remaining": round(row["remaining"] * self.scale[row["source"]])} for row in rows]
        self.left.append({row["source"]: row["remaining"] for row in full})
        try:
            out = super().targets(i, full)
        except RecipeError as exc:  # the full run would stop here
            del self.phases[i:]  # the record of the phase that failed
            self.shortfalls.append(exc.message)
            plenty = [{**row, "remaining": max(row["remaining"], self.params["budget"])} for row in full]
            out = super().targets(i, plenty)
        return [(phase, s, target / self.scale[s], upto) for phase, s, target, upto in out]

    def on_taken(self, i: int, rows: list[dict[str, Any]]) -> None:
        """What the full run takes in the phase: each source's target, or what it has left when short."""
        record = self.phases[i]
        record["taken"] = {s: min(want, self.left[i].get(s, 0)) for s, want in record["targets"].items()}
        self.taken.update(record["taken"])
        for row in rows:
            self.sample_taken[row["source"]] += row["size"] or 0

    def amounts(self) -> tuple[dict[str, float], dict[str, float]]:
        """Per source, what the full run takes in the budget's unit, and what it lacks of its targets."""
        taken: Counter[str] = Counter()
        short: Counter[str] = Counter()
        for record, left in zip(self.phases, self.left, strict=True):
            taken.update(record["taken"])
            for source, want in record["targets"].items():
                short[source] += max(0, want - left.get(source, 0))
        return dict(taken), {s: n for s, n in short.items() if n >= 1}


class SampleEngine(StageContext):
    """The local executor's stage runners on a sample of each source (the context's reader reads only the sampled
    rows), timing every stage; the mix's arithmetic is scaled to the full inputs, and the output goes to the cache
    directory."""

    sampled = True

    def __init__(self, plan: Plan, recipe: CheckedRecipe, samples: dict[str, Sample], **options: Any):
        super().__init__(plan, recipe, **options)
        self.samples = samples
        self.seconds: dict[str, float] = {}
        self.mixer: ScaledMixer | None = None
        self.manifest: dict[str, Any] = {}

    def reader(self, src: SourceSpec, quarantine: Quarantine) -> SourceReader:
        return SourceReader(src, self.plan.files[src.name], quarantine, self.samples[src.name].rows)

    def run(self) -> dict[str, Any]:
        """Every stage of the plan, timed, then the output; returns its manifest."""
        started = time.perf_counter()
        self.budget = memory.Budget(self.memory_limit, self.threads)
        con = session.connect(self.plan.macros, threads=self.threads, memory_limit=self.budget.duckdb_setting(),
                              spill_dir=self.spill_dir, failures=self.failures,
                              readable=self.readable())
        self.seconds["connect"] = time.perf_counter() - started

        def scaled_mix(ctx: StageContext, con: duckdb.DuckDBPyConnection, stage: Stage, tmp: Path) -> dict[str, Any]:
            self.mixer = ScaledMixer(stage.name, stage.params, {s: x.scale for s, x in self.samples.items()})
            return sql.run_mix(ctx, con, stage, tmp, self.mixer)

        runners: dict[str, Runner] = {**RUNNERS, "mix": scaled_mix}
        try:
            for stage in self.plan.stages:
                started = time.perf_counter()
                if stage.kind == "write":
                    (self.cache_dir / "output").mkdir()
                    self.manifest = output.write_build(self, stage, self.cache_dir / "output", con)
                else:
                    self.stats[stage.name], _ = atomic.build_stage(stage, self.stage_dir(stage), self.reporter,
                                                                   partial(runners[stage.kind], self, con, stage))
                self.seconds[stage.name] = time.perf_counter() - started
        finally:
            con.close()
        return self.manifest

    def shard_bytes(self) -> dict[str, int]:
        """Per source, the bytes of a shard of its documents in the output, alone: sources compress differently, and
        the sample's output does not hold them in the output's proportions."""
        columns = [*OUTPUT_COLUMNS, *self.plan.stage("output").params["scores"]]
        table = pq.read_table(self.stage_dir(self.plan.stage("order")) / "data.parquet", columns=columns)
        out = {}
        for source in set(table.column("source").to_pylist()):
            path = self.cache_dir / "output" / f"{source}.parquet"
            rows = table.filter(pc.equal(table.column("source"), source))
            write_parquet(path, table.schema, rows.to_batches())
            out[source] = path.stat().st_size
        return out

    def tokens(self, stage: Stage) -> dict[str, float] | None:
        """Per source, the tokens of a stage's documents, where they have been counted (`n_tokens`)."""
        path = self.stage_dir(stage) / "data.parquet"
        if not path.exists() or "n_tokens" not in pq.read_schema(path).names:
            return None
        table = pq.read_table(path, columns=["source", "n_tokens"]).group_by("source").aggregate(
            [("n_tokens", "sum")])
        return {row["source"]: row["n_tokens_sum"] or 0 for row in table.to_pylist()}


def _data_inputs(plan: Plan, stage: Stage) -> list[str]:
    if stage.kind == "write":
        return ["order"]
    return [i for i in stage.inputs if plan.stage(i).kind != "fit"]


def _docs_in(engine: SampleEngine, stage: Stage) -> int | None:
    """The documents that went into a stage on the engine's sample (None: it did not run)."""
    if stage.name not in engine.seconds:
        return None
    if stage.kind == "ingest":
        return engine.samples[stage.source].sampled
    return sum(engine.stats[i]["rows"] for i in _data_inputs(engine.plan, stage))


def _seconds(stage: Stage, docs: float, warm_up: SampleEngine, small: SampleEngine, engine: SampleEngine) -> float:
    """A stage's time on `docs` documents: what a run pays once (the warm-up's time over the same run's again), a
    fixed cost and a cost per document (the line through the small run and the sample's)."""
    t, n = engine.seconds[stage.name], _docs_in(engine, stage) or 0
    t0, n0 = small.seconds.get(stage.name), _docs_in(small, stage)
    if t0 is None or n0 is None:  # the small run stopped before this stage
        return t * docs / n if n else t
    once = max(0.0, warm_up.seconds.get(stage.name, t0) - t0)
    per_doc = max(0.0, t - t0) / (n - n0) if n > n0 else 0.0
    return once + max(0.0, t0 - per_doc * n0) + per_doc * docs


def estimate(recipe: CheckedRecipe, plan: Plan, size: int, *, plan_seconds: float = 0.0,
             **options: Any) -> dict[str, Any]:
    """The estimate of a full run of the plan from a sample of `size` rows per source (`options`: the engine's
    threads, memory_limit and device)."""
    samples = {s.name: sample_source(s, plan.files[s.name], size, recipe.seed) for s in recipe.sources}
    small = {name: x.first(max(1, size // 10)) for name, x in samples.items()}
    with tempfile.TemporaryDirectory(prefix="datarecipe-estimate-") as tmp:
        # A warm-up on a tenth of the sample pays what a process pays once (imports, models loaded); the same run
        # again and the sample's then give each stage's fixed cost and its cost per document.
        runs = [SampleEngine(plan, recipe, rows, cache_dir=Path(tmp) / name, **options)
                for name, rows in (("warm-up", small), ("small", small), ("sample", samples))]
        for engine in runs:
            try:
                engine.run()
            except RecipeError:  # a small run can stop where the sample does not (a fitted scorer short of docs)
                if engine is runs[-1]:
                    raise
        warm_up, small_run, engine = runs
        return _scale(recipe, warm_up, small_run, engine, plan_seconds)


def _tokens_per_doc(engine: SampleEngine, source: str) -> float:
    """The tokens per document of a source as its score stage counted them, for the stages before it."""
    stage = engine.stage_of("score", source)
    counted = engine.tokens(stage) or {}
    docs = engine.stats[stage.name]["rows"]
    return counted.get(source, 0) / docs if docs else 0.0


def _scale(recipe: CheckedRecipe, warm_up: SampleEngine, small: SampleEngine, engine: SampleEngine,
           plan_seconds: float) -> dict[str, Any]:
    """Each stage's documents, tokens and seconds, and the output's size, scaled from the sample to the full
    inputs."""
    mixer = engine.mixer
    assert mixer is not None
    before = {s: x.scale for s, x in engine.samples.items()}
    amounts, short = mixer.amounts()
    after = {s: amounts.get(s, 0) / mixer.sample_taken[s] if mixer.sample_taken[s] else 0.0 for s in before} \
        if mixer.params["budget"] else before
    plan = engine.plan
    mix_at = next(k for k, s in enumerate(plan.stages) if s.kind == "mix")
    per_doc = {s: _tokens_per_doc(engine, s) for s in before} if recipe.tokenizer else {}
    est: dict[str, float] = {}  # documents out of each stage, for the full inputs
    rows = []
    for k, stage in enumerate(plan.stages):
        factor = after if k >= mix_at else before
        sample_in = _docs_in(engine, stage) or 0
        if stage.kind == "ingest":
            docs_in = float(engine.samples[stage.source].total)
        else:
            docs_in = sum(est[i] for i in _data_inputs(plan, stage))
        by_source: dict[str, int] | None
        if stage.kind == "write":
            by_source = {s: c.get("docs", 0) for s, c in engine.manifest["mixture"]["by_source"].items()}
        else:
            by_source = engine.stats[stage.name].get("by_source")
        if by_source is None:  # a fitted scorer's training set: its inputs
            est[stage.name] = docs_in * engine.stats[stage.name]["rows"] / sample_in if sample_in else 0.0
        else:
            est[stage.name] = sum(n * factor[s] for s, n in by_source.items())
        row: dict[str, Any] = {"name": stage.name, "docs_in": round(docs_in), "docs_out": round(est[stage.name])}
        if recipe.tokenizer and stage.kind not in ("ingest", "fit"):
            counted = engine.tokens(plan.stage("order") if stage.kind == "write" else stage)
            if counted is None:  # before the score stage: its documents times the tokens per document
                counted = {s: n * per_doc[s] for s, n in (by_source or {}).items()}
            row["tokens_out"] = round(sum(n * factor[s] for s, n in counted.items()))
        row["seconds"] = round(_seconds(stage, docs_in, warm_up, small, engine), 3)
        rows.append(row)
    by = engine.manifest["mixture"]["by_source"]
    alone = engine.shard_bytes()  # mixed in shards, sources compress less well than alone: by as much as here
    mixed = engine.manifest["totals"]["shard_bytes"] / sum(alone.values()) if alone else 0.0
    output: dict[str, Any] = {
        "docs": round(sum(c.get("docs", 0) * after[s] for s, c in by.items())),
        "text_bytes": round(sum(c.get("bytes", 0) * after[s] for s, c in by.items())),
        "shard_bytes": round(sum(n * after[s] * mixed for s, n in alone.items()))}
    if "tokens" in engine.manifest["totals"]:
        output["tokens"] = round(sum(c.get("tokens", 0) * after[s] for s, c in by.items()))
    result: dict[str, Any] = {
        "stages": rows, "output": output,
        "seconds": round(plan_seconds + engine.seconds["connect"] + sum(r["seconds"] for r in rows), 3),
        "sample": {s: {"sampled": x.sampled, "total": x.total, "counted": COUNTED[x.format]}
                   for s, x in engine.samples.items()}}
    if mixer.shortfalls:
        result["shortfall"] = {"unit": mixer.unit, "by_source": {s: round(n) for s, n in sorted(short.items())},
                               "messages": mixer.shortfalls}
    return result


def _size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1000
    raise AssertionError  # pragma: no cover


def render(result: dict[str, Any], name: str) -> Group:
    """The estimate as a table of stages, the output's size, the sample, and any shortfall."""
    tokens = any("tokens_out" in r for r in result["stages"])
    table = Table(title=f"{escape(name)}: estimate of a full run")
    for col in ("stage", "docs in", "kept docs", *(("tokens",) if tokens else ()), "seconds"):
        table.add_column(col, justify="left" if col == "stage" else "right")
    for r in result["stages"]:
        counted = (f"{r['tokens_out']:,}" if "tokens_out" in r else "",) if tokens else ()
        table.add_row(escape(r["name"]), f"{r['docs_in']:,}", f"{r['docs_out']:,}", *counted, f"{r['seconds']:.2f}")
    out = result["output"]
    lines = [Text(f"output: {out['docs']:,} docs, {_size(out['text_bytes'])} of text"
                  + (f", {out['tokens']:,} tokens" if "tokens" in out else "")
                  + f", {_size(out['shard_bytes'])} of shards; about {result['seconds']:.1f}s for a full run")]
    sample = ", ".join(f"{s} {x['sampled']:,} of {x['total']:,} ({x['counted']})" for s, x in result["sample"].items())
    lines.append(Text(f"sample: {sample}", style="dim"))
    for message in result.get("shortfall", {}).get("messages", []):
        lines.append(Text(f"estimated shortfall, the full run would stop at the mix: {message}", style="yellow"))
    return Group(table, *lines)
