"""The local engine: runs a plan's stages in order with in-process DuckDB, streaming Arrow
batches from cached Parquet, and caches every stage's output by its fingerprint."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from datarecipe.compiler.language.errors import RecipeError
from datarecipe.compiler.language.spec import CheckedRecipe, SourceSpec
from datarecipe.compiler.lower import statements
from datarecipe.compiler.plan import Plan, Stage
from datarecipe.operators import REGISTRY, minhash
from datarecipe.runtime import session as kernels
from datarecipe.runtime.artifacts.shards import (
    DATA,
    MANIFEST,
    Shard,
    name_shards,
    sha256_file,
    write_parquet,
    write_shards,
)
from datarecipe.runtime.lock import alive, stage_lock
from datarecipe.runtime.progress import Reporter
from datarecipe.runtime.stages.ingest import QUARANTINE_SCHEMA, RAW_SCHEMA, Quarantine, SourceReader, read_blocklist
from datarecipe.runtime.stages.mix import Mixer, empty_error, empty_sources, shortfalls

STREAM_ROWS = 8192
# Texts scored between two writes of the score cache: a killed run loses at most this much work.
# DATARECIPE_SCORE_CHUNK overrides it (smaller for slow models).
SCORE_CHUNK = 4096
LEDGER_SCHEMA = pa.schema([("doc_id", pa.string()), ("source", pa.string()), ("stage", pa.string()),
                           ("rule", pa.string())])
OUTPUT_COLUMNS = ("doc_id", "source", "text", "content_hash", "meta")


def _fail(stage: str, message: str, hint: str = "", input: str = "") -> RecipeError:
    return RecipeError(None, message, hint, stage=stage, input=input)


class LocalEngine:
    """Executes a Plan on this machine. I/O is here; the plan itself is pure data."""

    def __init__(self, plan: Plan, recipe: CheckedRecipe, *, cache_dir: Path, threads: int = 0,
                 memory_limit: str = "4GB", reporter: Reporter | None = None, recipe_path: str = "",
                 device: str = "auto", stage_root: Path | None = None, strict: bool = False):
        self.plan = plan
        self.strict = strict  # a source the mix names that gets no documents fails the build (`--strict`)
        self.recipe = recipe
        self.cache_dir = Path(cache_dir)
        self.threads = threads or (os.cpu_count() or 1)
        self.memory_limit = memory_limit
        self.reporter = reporter or Reporter("quiet")
        self.recipe_path = recipe_path
        self.device = device
        self.stage_root = stage_root  # under DVC: one fixed directory per stage, which DVC versions
        self.spill_dir = self.cache_dir / "duckdb-tmp"  # where DuckDB spills past its memory limit
        self.stats: dict[str, dict[str, Any]] = {}
        self.con: duckdb.DuckDBPyConnection | None = None  # kept open by `connected()`

    # ---- DuckDB ---------------------------------------------------------------------------------

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection that can reach no file: the engine hands it every input as Arrow."""
        self.spill_dir.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(config={"threads": self.threads, "memory_limit": self.memory_limit,
                                     "temp_directory": str(self.spill_dir), "preserve_insertion_order": True,
                                     "autoinstall_known_extensions": False, "autoload_known_extensions": False})
        # Text functions, filters and transforms with a kernel, built-in or plugin; what a plugin fails on.
        self.failures: list[kernels.OperatorFailure] = []
        kernels.register_kernels(con, self.failures)
        for name, kernel, args, result in minhash.UDFS:  # `dedup minhash`: signatures and verification
            con.create_function(name, kernel, [duckdb.sqltype(a) for a in args], duckdb.sqltype(result),
                                type="arrow")
        for _, sql in statements(self.plan.macros):
            con.execute(sql)
        con.execute("SET enable_progress_bar = false")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        return con

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

    def plugin_failure(self, stage: Stage) -> None:
        """After DuckDB failed: when a plugin's kernel raised, the error that names it and the document."""
        if self.failures:
            failure = self.failures[0]
            raise failure.recipe_error(stage.name) from failure.error

    def stage_dir(self, stage: Stage) -> Path:
        if self.stage_root is not None:
            return self.stage_root / stage.name
        return self.cache_dir / stage.name / stage.fingerprint

    def done(self, stage: Stage) -> bool:
        """Whether the stage's output is there, complete, and of this fingerprint."""
        marker = self.stage_dir(stage) / "_SUCCESS"
        return marker.exists() and marker.read_text() == stage.fingerprint

    def data_files(self, name: str) -> list[str]:
        """The Parquet files of a finished stage's documents: `data.parquet`, or the parts in it when an engine
        wrote it in parts (runtime/distributed.py)."""
        data = self.stage_dir(self.plan.stage(name)) / "data.parquet"
        return sorted(str(p) for p in data.glob("part-*.parquet")) if data.is_dir() else [str(data)]

    def register_outputs(self, con: duckdb.DuckDBPyConnection, names: Iterable[str]) -> None:
        """The documents of finished stages, as tables named after them, read straight from their Parquet."""
        for name in names:
            con.register(name, ds.dataset(self.data_files(name), format="parquet"))

    # ---- running ---------------------------------------------------------------------------------

    def run(self, only: str | None = None) -> dict[str, Any]:
        """Run the plan, skipping stages whose output is there; with `only`, that stage alone (`recipe stage`,
        under DVC), whose inputs must be there already. Returns the manifest, or the stage's stats."""
        con = self.con or self.connect()
        try:
            for stage in self.plan.stages:
                if only is not None and stage.name != only:
                    if self.done(stage):
                        self.stats[stage.name] = json.loads((self.stage_dir(stage) / "stats.json").read_text())
                    elif stage.name in self.plan.stage(only).inputs:
                        raise _fail(only, f"stage `{stage.name}`, an input of `{only}`, has not run (or ran for "
                                          "another version of the recipe)", "run `dvc repro`, which runs the "
                                          "stages in order", str(self.stage_dir(stage)))
                    continue
                if stage.kind == "write":
                    empty = self.strict and empty_sources(self.plan.stage("mix").params, self.stage_stats("mix"))
                    if empty:  # before the output is written: the previous build stays
                        raise empty_error(empty, self.filtered_words)
                    return self.write_output(stage)
                self.run_stage(con, stage)
                if only is not None:
                    return self.stats[stage.name]
        finally:
            if con is not self.con:
                con.close()
        raise AssertionError("a plan ends with its output stage")  # pragma: no cover

    def run_stage(self, con: duckdb.DuckDBPyConnection, stage: Stage) -> None:
        done = self.stage_dir(stage)
        def waiting() -> None:  # another build that needs this very stage (same fingerprint) is building it
            self.reporter.emit("stage_wait", stage=stage.name, lock=str(done))
            if self.reporter.mode == "human":
                self.reporter.console.print(f"{stage.name}: another build is building this stage; waiting for it")

        with stage_lock(done.parent / f".{done.name}.lock", waiting):
            if self.done(stage):
                self.stats[stage.name] = json.loads((done / "stats.json").read_text())
                self.reporter.start(stage.name)
                self.reporter.finish(stage.name, cached=True, rows=self.stats[stage.name].get("rows", 0))
                return
            self._build_stage(con, stage, done)

    def _build_stage(self, con: duckdb.DuckDBPyConnection, stage: Stage, done: Path) -> None:
        prefix = f".tmp-{stage.name}-"
        _remove_stale(done.parent, prefix, mine=f"{prefix}{stage.fingerprint}-")  # left by a killed run
        tmp = done.parent / f"{prefix}{stage.fingerprint}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        self.reporter.start(stage.name)
        try:
            run = {"ingest": self.run_ingest, "sql": self.run_sql, "fit": self.run_fit,
                   "score": self.run_score, "mix": self.run_mix}[stage.kind]
            stats = run(con, stage, tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        # What this run did (texts scored, model passes) is reported, not kept: a stage's output is the same
        # bytes however much of the score cache was warm.
        kept = {k: v for k, v in stats.items() if k != "scores"}
        (tmp / "stats.json").write_text(json.dumps(kept, sort_keys=True, indent=1))
        (tmp / "_SUCCESS").write_text(stage.fingerprint)
        shutil.rmtree(done, ignore_errors=True)
        tmp.rename(done)
        self.stats[stage.name] = stats
        self.reporter.finish(stage.name, **_summary(stats))

    def run_ingest(self, con: duckdb.DuckDBPyConnection, stage: Stage, tmp: Path) -> dict[str, Any]:
        src = next(s for s in self.recipe.sources if f"ingest_{s.name}" == stage.name)
        quarantine = Quarantine()
        reader = self.reader(src, quarantine)
        failure: list[BaseException] = []

        def counted() -> Iterator[pa.RecordBatch]:
            for batch in reader.batches():
                self.reporter.advance(stage.name, batch.num_rows)
                yield batch

        con.register(f"raw_{src.name}", pa.RecordBatchReader.from_batches(RAW_SCHEMA, watched(counted(), failure)))
        rows = 0
        try:
            for target, sql in stage.statements():
                if target == "":
                    con.execute(sql)
                elif target == "duplicates":
                    self.duplicates(reader, con.sql(sql).fetchall())
                else:
                    result = con.sql(sql).to_arrow_reader(STREAM_ROWS)
                    rows = write_parquet(tmp / "data.parquet", result.schema, result)
        except RecipeError:
            raise
        except Exception as exc:  # DuckDB reports a failed Python stream as its own error type
            if failure:
                raise failure[0] from None
            if not isinstance(exc, duckdb.Error):
                raise
            raise _fail(stage.name, f"DuckDB failed: {str(exc).splitlines()[0]}") from None
        finally:
            con.unregister(f"raw_{src.name}")
            _drop_temp_tables(con)
        pq.write_table(quarantine.table(), tmp / "quarantine.parquet")
        counts = Counter(r["source"] for r in quarantine.rows)
        return {"rows": rows, "by_source": {src.name: rows}, "quarantined": dict(counts)}

    def reader(self, src: SourceSpec, quarantine: Quarantine) -> SourceReader:
        """The reader of a source's files (runtime/estimate.py's engine reads a sample of them)."""
        return SourceReader(src, self.plan.files[src.name], quarantine)

    def run_mix(self, con: duckdb.DuckDBPyConnection, stage: Stage, tmp: Path) -> dict[str, Any]:
        """The mix's SQL, with runtime/mixing.py setting each phase's targets between its statements."""
        mixer = Mixer(stage.name, stage.params, self.filtered_words)
        stats = self.run_sql(con, stage, tmp, lambda target, sql: mixer.statement(con, target, sql)) | mixer.stats()
        for source, supply in stats["supply"].items():  # what the supply was measured on
            supply["input"] = self.plan.stage(stage.params["feeds"][source]).fingerprint
        return stats

    def run_sql(self, con: duckdb.DuckDBPyConnection, stage: Stage, tmp: Path,
                hook: Callable[[str, str], bool] | None = None) -> dict[str, Any]:
        """A stage's statements in order: `@data` and `@ledger` are written to Parquet; `hook` takes the others
        it knows."""
        self.register_outputs(con, stage.inputs)
        tables = stage.params.get("tables", [])  # files a stage reads (url_blocklist), handed over as Arrow
        try:
            for table in tables:
                con.register(table["name"], read_blocklist(table, stage.name))
            for target, sql in stage.statements():
                try:
                    if target == "":
                        con.execute(sql)
                    elif hook is not None and hook(target, sql):
                        pass
                    else:
                        result = con.sql(sql).to_arrow_reader(STREAM_ROWS)
                        on_rows = (lambda n: self.reporter.advance(stage.name, n)) if target == "data" else None
                        schema = LEDGER_SCHEMA if target in ("ledger", "changed") else result.schema
                        write_parquet(tmp / f"{target}.parquet", schema, result, on_rows)
                except duckdb.Error as exc:
                    self.plugin_failure(stage)
                    hint = ("raise `--memory`, or lower `--threads`" if isinstance(exc, duckdb.OutOfMemoryException)
                            else "see the stage's SQL with `recipe explain`")
                    raise _fail(stage.name, f"DuckDB failed: {str(exc).splitlines()[0]}", hint) from None
        finally:
            for name in [*stage.inputs, *(t["name"] for t in tables)]:
                con.unregister(name)
            _drop_temp_tables(con)
        return sql_stats(tmp)

    # ---- scores ----------------------------------------------------------------------------------

    def run_fit(self, con: duckdb.DuckDBPyConnection, stage: Stage, tmp: Path) -> dict[str, Any]:
        """Train a fitted scorer: its inputs are written out first, so it can read them more than once."""
        from datarecipe.operators.scorers import fitted

        self.register_outputs(con, stage.inputs)
        docs: dict[str, int] = {}
        try:
            for target, sql in stage.statements():
                role = target.removeprefix("input_")
                result = con.sql(sql).to_arrow_reader(STREAM_ROWS)
                docs[role] = write_parquet(tmp / f"{target}.parquet", result.schema, result,
                                           lambda n: self.reporter.advance(stage.name, n))
        except duckdb.Error as exc:
            raise _fail(stage.name, f"DuckDB failed: {str(exc).splitlines()[0]}") from None
        finally:
            for name in stage.inputs:
                con.unregister(name)

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
            raise _fail(stage.name, exc.message, exc.hint) from None
        for role in docs:
            (tmp / f"input_{role}.parquet").unlink()
        return {"rows": sum(docs.values()), "docs": docs, "fit": fit_stats}

    def score_cache(self, entry: dict[str, Any]) -> Path:
        """Where a scorer's values are kept: one directory per cache key, of Parquet parts
        (content_hash, value), shared by every build and recipe that uses the same scorer."""
        return self.cache_dir / "scores" / entry["cache"]

    def register_cache(self, con: duckdb.DuckDBPyConnection, entry: dict[str, Any]) -> None:
        parts = sorted(str(p) for p in self.score_cache(entry).glob("part-*.parquet"))
        name = f"score_cache_{entry['name']}"
        if parts:
            con.register(name, ds.dataset(parts, format="parquet"))
        else:
            value = {"number": pa.float64(), "int": pa.int64()}.get(entry["returns"], pa.list_(pa.float32()))
            con.register(name, pa.table({"content_hash": pa.array([], pa.uint64()), "value": pa.array([], value)}))

    def load_scorer(self, stage: Stage, entry: dict[str, Any]) -> Any:
        try:
            if entry["kind"] == "tokens":
                from datarecipe.runtime import tokens

                return _TokenCounter(tokens.load(Path(self.plan.files["tokenizer"][0].path)))
            if entry["kind"] == "python":
                return kernels.PluginScorer(REGISTRY[("scorer", entry["op"])], entry["args"])
            if entry["kind"] == "model":
                from datarecipe.operators.scorers import models as scoring
                from datarecipe.runtime import weights

                local = Path(self.plan.files[f"model:{entry['args']['path']}"][0].path)
                return scoring.load(entry["op"], local, entry["args"], weights.pick_device(self.device))
            from datarecipe.operators.scorers import fitted

            return fitted.load(entry["op"], entry["args"], self.stage_dir(self.plan.stage(entry["fit"])) / "model")
        except RecipeError as exc:
            raise _fail(stage.name, f"score `{entry['name']}`: {exc.message}", exc.hint,
                        entry["args"].get("path", "")) from None

    def run_score(self, con: duckdb.DuckDBPyConnection, stage: Stage, tmp: Path) -> dict[str, Any]:
        """Look every document's scores up in the score cache; run the scorers on the texts it lacks."""
        entries = {e["name"]: e for e in stage.params["scores"]}
        data_inputs = [n for n in stage.inputs if self.plan.stage(n).kind != "fit"]
        self.register_outputs(con, data_inputs)
        work: dict[str, dict[str, Any]] = {}
        try:
            for entry in entries.values():
                if entry["kind"] != "sql":
                    self.register_cache(con, entry)
            for target, sql in stage.statements():
                try:
                    if target == "":
                        con.execute(sql)
                    elif target.startswith("todo_"):
                        entry = entries[target.removeprefix("todo_")]
                        work[entry["name"]] = self.fill_cache(con, stage, entry, sql)
                        self.register_cache(con, entry)
                    else:
                        result = con.sql(sql).to_arrow_reader(STREAM_ROWS)
                        write_parquet(tmp / "data.parquet", result.schema, result,
                                      lambda n: self.reporter.advance(stage.name, n))
                except duckdb.Error as exc:
                    self.plugin_failure(stage)
                    raise _fail(stage.name, f"DuckDB failed: {str(exc).splitlines()[0]}",
                                "see the stage's SQL with `recipe explain`") from None
        finally:
            for name in [*data_inputs, *(f"score_cache_{n}" for n, e in entries.items() if e["kind"] != "sql")]:
                con.unregister(name)
            _drop_temp_tables(con)
        rows = pq.read_metadata(tmp / "data.parquet").num_rows
        return {"rows": rows, "by_source": {stage.params["source"]: rows} if rows else {}, "scores": work}

    def fill_cache(self, con: duckdb.DuckDBPyConnection, stage: Stage, entry: dict[str, Any],
                   sql: str) -> dict[str, Any]:
        """Score the texts the cache lacks, in chunks; each chunk is a part of the cache once written."""
        todo = con.sql(f"SELECT count(*) FROM ({sql})").fetchall()[0][0]
        docs = con.sql(f"SELECT count(*) FROM {stage.name}__docs").fetchall()[0][0]
        out = {"op": entry["op"], "cache": entry["cache"], "docs": docs, "scored": todo, "forward_passes": 0}
        if not todo:
            return out
        task = f"{stage.name}.{entry['name']}"
        self.reporter.start(task, total=todo, event="task")
        scorer = self.load_scorer(stage, entry)
        cache = self.score_cache(entry)
        cache.mkdir(parents=True, exist_ok=True)
        for part in cache.glob(".part-*.tmp-*"):  # a part a killed run was writing
            if not alive(int(part.name.rsplit("-", 1)[-1])):
                part.unlink(missing_ok=True)
        chunk = _score_chunk(stage.name)
        reader = con.sql(sql).to_arrow_reader(chunk)
        for batch in _chunks(reader, chunk):
            hashes = batch.column("content_hash")
            texts = [t if t is not None else "" for t in batch.column("text").to_pylist()]
            try:
                values = scorer.score(texts, lambda n: self.reporter.advance(task, n))
            except kernels.OperatorFailure as failure:  # name the document: the first with that text
                doc = con.execute(f"SELECT min(doc_id) FROM {stage.name}__docs WHERE content_hash = $1",
                                  [hashes[failure.row or 0].as_py()]).fetchall()[0][0]
                raise failure.recipe_error(stage.name, doc) from failure.error
            write_score_part(cache, hashes, values)
        out["forward_passes"] = scorer.forward_passes
        self.reporter.finish(task, event="task", rows=todo, forward_passes=scorer.forward_passes)
        return out

    @staticmethod
    def duplicates(reader: SourceReader, rows: list[tuple]) -> None:
        """Rows whose id an earlier row of the source already has: quarantined, or the build fails."""
        if not rows:
            return
        if reader.src.on_error == "fail":
            doc_id, file, line, _ = rows[0]
            raise _fail(f"ingest_{reader.src.name}",
                        f"{len(rows):,} row(s) repeat an id an earlier row already has; the first is `{doc_id}`",
                        f"ids must be unique; fix the `{reader.src.id_column}` column, or set "
                        '`on_error: "quarantine"` to keep the first row of each id', f"{file}:{line}")
        for doc_id, file, line, text in rows:
            reader.quarantine.add(reader.src.name, file, line, f"duplicate id `{doc_id}`", text)

    # ---- output -----------------------------------------------------------------------------------

    def write_output(self, stage: Stage) -> dict[str, Any]:
        params = stage.params
        final = Path(params["path"])
        if final.exists() and not (final / "manifest.json").exists() and any(final.iterdir()):
            raise _fail(stage.name, f"{final} exists and is not a datarecipe build",
                        "choose another output path, or remove the directory", str(final))
        final.parent.mkdir(parents=True, exist_ok=True)
        _recover_output(final)
        tmp = final.parent / f".{final.name}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        self.reporter.start(stage.name)
        try:
            manifest = self._write(stage, tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if final.exists():
            old = final.parent / f".{final.name}.old-{os.getpid()}"
            final.rename(old)
            tmp.rename(final)
            shutil.rmtree(old)
        else:
            tmp.rename(final)
        self.reporter.finish(stage.name, rows=manifest["totals"]["docs"], shards=len(manifest["shards"]))
        return manifest

    def _write(self, stage: Stage, tmp: Path) -> dict[str, Any]:
        params = stage.params
        ordered = OrderedRows(self.stage_dir(self.plan.stage("order")) / "data.parquet",
                              [*OUTPUT_COLUMNS, *params["scores"]], len(params["phases"]))
        (tmp / DATA).mkdir()
        shards = self.write_shards(stage, tmp, ordered)
        text_bytes, per_phase, counted = ordered.text_bytes, ordered.per_phase, ordered.counted
        per_source: dict[str, Counter[str]] = defaultdict(Counter)
        for counts in per_phase:
            for source, c in counts.items():
                per_source[source].update(c)
        ledgers = [self.stage_dir(s) / "ledger.parquet" for s in self.plan.stages
                   if (self.stage_dir(s) / "ledger.parquet").exists()]
        ledger = pa.concat_tables([pq.read_table(p, schema=LEDGER_SCHEMA) for p in ledgers]) if ledgers \
            else LEDGER_SCHEMA.empty_table()
        write_parquet(tmp / "ledger.parquet", LEDGER_SCHEMA, ledger.to_batches())
        quarantines = [pq.read_table(self.stage_dir(s) / "quarantine.parquet") for s in self.plan.stages
                       if s.kind == "ingest"]
        quarantine = pa.concat_tables(quarantines) if quarantines else QUARANTINE_SCHEMA.empty_table()
        write_parquet(tmp / "quarantine.parquet", QUARANTINE_SCHEMA, quarantine.to_batches())
        # The recipe as it was, beside what it built: `recipe diff` compares two builds' recipes from it.
        (tmp / "recipe.recipe").write_text(self.recipe.text, encoding="utf-8")
        manifest = {
            "recipe": {"name": self.recipe.name, "path": self.recipe_path, "sha256": self.plan.recipe_sha256,
                       "copy": "recipe.recipe"},
            "format": params["format"],
            "seed": params["seed"],
            "license": params["license"],
            "fingerprints": {s.name: s.fingerprint for s in self.plan.stages},
            "inputs": {name: [{"path": f.path, "size": f.size, "fingerprint": f.fingerprint} for f in files]
                       for name, files in sorted(self.plan.files.items())},
            "shards": [s.__dict__ for s in shards],
            "mixture": self.mixture(per_source, per_phase),
            "totals": {"docs": sum(s.rows for s in shards), "text_bytes": text_bytes,
                       **({"tokens": sum(c["tokens"] for c in per_source.values())} if counted else {}),
                       "shard_bytes": sum(s.bytes for s in shards), "shards": len(shards)},
            "funnel": self.funnel(),
            "scores": self.score_summary(ordered.path),
            "ledger": {"path": "ledger.parquet", "rows": ledger.num_rows,
                       "sha256": sha256_file(tmp / "ledger.parquet")},
            "quarantine": {"path": "quarantine.parquet", "rows": quarantine.num_rows,
                           "sha256": sha256_file(tmp / "quarantine.parquet"),
                           "by_source": dict(sorted(Counter(quarantine.column("source").to_pylist()).items()))},
        }
        from datarecipe.runtime.artifacts.card import write_card  # matplotlib, only when a build is written

        card = write_card(tmp, manifest, self.recipe, self.dropped_examples(tmp / "ledger.parquet"), ordered.path)
        # Every file of the build is in the manifest, and the manifest in its checksum file: `recipe verify`
        # notices an edit to any of them.
        manifest["files"] = {name: sha256_file(tmp / name) for name in sorted(["recipe.recipe", *card])}
        (tmp / MANIFEST).write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
                                     + b"\n")
        (tmp / f"{MANIFEST}.sha256").write_text(f"{sha256_file(tmp / MANIFEST)}  {MANIFEST}\n", encoding="utf-8")
        return manifest

    def write_shards(self, stage: Stage, tmp: Path, ordered: OrderedRows) -> list[Shard]:
        """The output's shards, cut from the ordered rows as they stream by, each run of one phase on its own."""
        params = stage.params
        shards: list[Shard] = []
        for index, run in itertools.groupby(ordered.runs(), key=lambda pair: pair[0]):
            shards += write_shards(tmp, params["format"], ordered.schema, (batch for _, batch in run),
                                   params["shard_rows"], params["shard_bytes"],
                                   lambda n: self.reporter.advance(stage.name, n), first=len(shards),
                                   phase=params["phases"][index])
        return name_shards(tmp, shards, params["format"])

    def dropped_examples(self, ledger: Path, per_rule: int = 3) -> list[dict[str, Any]]:
        """The first documents (by doc_id) each rule left out, with their text as read, for the dataset card."""
        con = duckdb.connect(config={"threads": self.threads, "memory_limit": self.memory_limit})
        try:
            con.register("ledger", ds.dataset(ledger, format="parquet"))
            con.register("docs", ds.dataset([f for s in self.plan.stages if s.kind == "ingest"
                                             for f in self.data_files(s.name)], format="parquet"))
            result = con.sql(f"""
                WITH picked AS (SELECT source, rule, doc_id FROM ledger
                                QUALIFY row_number() OVER (PARTITION BY source, rule ORDER BY doc_id) <= {per_rule})
                SELECT p.source, p.rule, p.doc_id, left(d.text, 1000) AS text
                FROM picked p JOIN docs d USING (doc_id) ORDER BY p.source, p.rule, p.doc_id""")
            return [dict(zip(("source", "rule", "doc_id", "text"), row, strict=True)) for row in result.fetchall()]
        finally:
            con.close()

    def mixture(self, written: dict[str, Counter[str]], per_phase: list[dict[str, Counter[str]]]) -> dict[str, Any]:
        """What the mix asked of each source and what was written: docs, bytes and tokens, and the share of the
        budget's unit each source got against its target share, over the build and per phase."""
        mix = self.recipe.mix
        unit = mix.unit if mix else "docs"
        recorded = self.stats["mix"]

        def shares(counts: dict[str, Counter[str]], targets: dict[str, float]) -> dict[str, Any]:
            total = sum(c[unit] for c in counts.values())
            return {source: {**dict(counts.get(source, Counter())),
                             "share": counts.get(source, Counter())[unit] / total if total else 0.0,
                             "target_share": targets.get(source)}
                    for source in sorted(counts.keys() | targets.keys())}

        overall: Counter[str] = Counter()
        phases = []
        for spec, record, counts in zip(self.recipe.order.phases, recorded["phases"], per_phase, strict=True):
            width = spec.end - spec.start
            targets = {s.source: s.share for s in spec.shares} if mix else {}
            for source, share in targets.items():
                overall[source] += width * share
            entry = {"name": spec.name, "start": spec.start, "end": spec.end, "budget": record["budget"],
                     "by_source": shares(counts, targets)}
            if record.get("renormalized"):
                entry["renormalized"] = record["renormalized"]
            phases.append(entry)
        by_source = shares(written, {s: round(v, 12) for s, v in overall.items()})
        return {"unit": unit, "budget": mix.budget if mix else None, "on_short": recorded["on_short"],
                "by_source": by_source, "phases": phases, "supply": recorded["supply"],
                "short": shortfalls(self.plan.stage("mix").params, recorded, by_source)}

    def score_summary(self, ordered: Path) -> dict[str, Any]:
        """Per source and score: its scorer, cache key, and the count, nulls, min, mean and max of its values
        in the output (embeddings: count and nulls)."""
        out: dict[str, Any] = {}
        for stage in self.plan.stages:
            if stage.kind != "score":
                continue
            source = stage.params["source"]
            names = [e["name"] for e in stage.params["scores"]]
            table = pq.read_table(ordered, columns=["source", *names], filters=[("source", "=", source)])
            out[source] = {}
            for entry in stage.params["scores"]:
                column = table.column(entry["name"])
                summary: dict[str, Any] = {"op": entry["op"], "count": len(column) - column.null_count,
                                           "nulls": column.null_count}
                if "cache" in entry:
                    summary["cache"] = entry["cache"]
                if entry["returns"] in ("number", "int") and summary["count"]:
                    bounds = pc.min_max(column).as_py()
                    summary.update(min=bounds["min"], mean=pc.mean(column).as_py(), max=bounds["max"])
                out[source][entry["name"]] = summary
        return out

    def stage_stats(self, name: str) -> dict[str, Any]:
        """A finished stage's counts: from this run, or from its stats.json (a worker of the Ray engine runs the
        mix without the stages before it)."""
        if name not in self.stats:
            self.stats[name] = json.loads((self.stage_dir(self.plan.stage(name)) / "stats.json").read_text())
        return self.stats[name]

    def filtered(self, source: str) -> dict[str, Any]:
        """A source's funnel up to the mix: docs read, quarantined, dropped per rule in recipe order (the first rule
        that drops a document owns it), kept. Steps are lists, so their order survives JSON with sorted keys."""
        ingest = self.stage_stats(f"ingest_{source}")
        filt = self.stage_stats(f"filter_{source}")
        # `dedup minhash(scope: global)` drops in stages of its own (`dedup_global...`), after the filters.
        late: Counter[str] = Counter()
        for stage in self.plan.stages:
            if stage.name.startswith("dedup_global") and f"filter_{source}" in stage.inputs:
                late.update(self.stage_stats(stage.name).get("dropped", {}).get(source, {}))
        dropped = Counter(filt.get("dropped", {}).get(source, {})) + late
        rules = self.recipe.filter_for(source).rules
        # A rule pack drops documents under `pack:reason` labels, counted here per reason too.
        by_reason = {r.label: {k: n for k, n in sorted(dropped.items(), key=lambda kv: (-kv[1], kv[0]))
                               if k.startswith(f"{r.op}:")} for r in rules if r.kind == "apply"}
        quarantined = ingest["quarantined"].get(source, 0)
        changed = filt.get("changed", {}).get(source, {})
        return {"read": ingest["rows"] + quarantined, "quarantined": quarantined,
                "dropped": [{"rule": r.label, "dropped": sum(by_reason[r.label].values()) if r.kind == "apply"
                             else dropped.get(r.label, 0)} for r in rules],
                "dropped_by_reason": by_reason, "kept": filt["rows"] - sum(late.values()),
                # the documents each transform rewrote (some of which a later rule dropped), in recipe order
                "changed": [{"rule": r.label, "changed": changed.get(r.label, 0)} for r in rules
                            if r.kind == "apply" and REGISTRY[("pack", r.op)].rewrites]}

    def filtered_words(self, source: str) -> str:
        """A source's funnel up to the mix in words, naming the rule that removed the most: what an error that
        the source is short needs to say."""
        f = self.filtered(source)
        steps = [f"read {f['read']:,}", *([f"quarantined {f['quarantined']:,}"] if f["quarantined"] else []),
                 *(f"`{s['rule']}` -{s['dropped']:,}" if s["dropped"] else f"`{s['rule']}` 0" for s in f["dropped"]),
                 f"kept {f['kept']:,}"]
        worst = max(f["dropped"], key=lambda s: s["dropped"], default=None)
        most = f"; `{worst['rule']}` removed the most" if worst and worst["dropped"] else ""
        return f"its funnel: {', '.join(steps)}{most}"

    def funnel(self) -> dict[str, Any]:
        """Per source: its funnel up to the mix (`filtered`), then what the mix left out (and each phase's `where`,
        where the phases differ), the repeats it made, and what it selected."""
        out: dict[str, Any] = {}
        mix = self.stats.get("mix", {})
        phases = self.plan.stage("mix").params["phases"]
        for src in self.recipe.sources:
            f = self.filtered(src.name)
            left_out = mix.get("dropped", {}).get(src.name, {})
            selected = self.stats["order"]["by_source"].get(src.name, 0)
            # Where the phases that take the source ask different `where`s, what each phase's left out (documents
            # another phase may take): apart from the steps above, which count each document once.
            taking = [(p, record, share) for p, record in zip(phases, mix.get("phases", []), strict=False)
                      for share in p["shares"] if share["source"] == src.name]
            where_by_phase = [{"phase": p["name"], "rule": share["where_label"],
                               "excluded": f["kept"] - record.get("eligible", {}).get(src.name, f["kept"])}
                              for p, record, share in taking if share["where_label"]]
            out[src.name] = {
                **f,
                "left_out_by_mix": [{"rule": rule, "dropped": left_out[rule]}
                                    for rule in sorted(left_out, key=lambda r: (r == "over budget", r))],
                **({"where_by_phase": where_by_phase} if len({s["where_label"] for _, _, s in taking}) > 1 else {}),
                "repeats": selected - (f["kept"] - sum(left_out.values())),
                "selected": selected,
            }
        return out


def watched(batches: Iterator[pa.RecordBatch], failure: list[BaseException]) -> Iterator[pa.RecordBatch]:
    """The batches, keeping the exception that ends them: DuckDB, reading them, would report its own instead."""
    try:
        yield from batches
    except BaseException as exc:
        failure.append(exc)
        raise


class OrderedRows:
    """The ordered stage's rows as the output reads them: runs of one phase each (phases are contiguous, in
    order), counted as they pass: docs, bytes and tokens per phase and source, and the text's bytes."""

    def __init__(self, path: Path, columns: list[str], phases: int):
        self.path, self.columns = path, columns
        self.file = pq.ParquetFile(path)
        self.schema = pa.schema([self.file.schema_arrow.field(c) for c in columns])
        self.counted = "n_tokens" in columns
        self.per_phase: list[dict[str, Counter[str]]] = [defaultdict(Counter) for _ in range(phases)]
        self.text_bytes = 0

    def runs(self) -> Iterator[tuple[int, pa.RecordBatch]]:
        for batch in self.file.iter_batches(batch_size=STREAM_ROWS, columns=[*self.columns, "_phase"]):
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
            phase = batch.column("_phase").to_numpy()
            cuts = [0, *(int(k) + 1 for k in (phase[1:] != phase[:-1]).nonzero()[0]), len(phase)]
            data = batch.drop_columns(["_phase"])
            for a, b in itertools.pairwise(cuts):
                if b > a:
                    yield int(phase[a]), data.slice(a, b - a)


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


def write_score_part(cache: Path, hashes: pa.Array, values: pa.Array) -> None:
    """One part of a score cache, named by the hashes it holds, written whole or not at all."""
    part = pa.table({"content_hash": hashes, "value": values})
    digest = hashlib.sha256(hashes.to_numpy(zero_copy_only=False).tobytes()).hexdigest()[:16]
    tmp = cache / f".part-{digest}.tmp-{os.getpid()}"
    pq.write_table(part, tmp)
    tmp.rename(cache / f"part-{digest}.parquet")


def _score_chunk(stage: str) -> int:
    value = os.environ.get("DATARECIPE_SCORE_CHUNK", str(SCORE_CHUNK))
    if not value.isdigit() or int(value) < 1:
        raise _fail(stage, f"DATARECIPE_SCORE_CHUNK is {value!r}", "a number of texts, at least 1")
    return int(value)


def _remove_stale(parent: Path, prefix: str, mine: str) -> None:
    """Remove the temporary directories of a killed run: those of this stage and fingerprint (the caller
    holds its lock, so no live process writes them), and those of other fingerprints whose process is gone."""
    if not parent.is_dir():
        return
    for path in parent.glob(f"{prefix}*"):
        pid = path.name.rsplit("-", 1)[-1]
        if path.name.startswith(mine) or pid.isdigit() and not alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _recover_output(final: Path) -> None:
    """Undo what a build killed while replacing its output left behind (the caller holds the build lock):
    the previous output, moved aside, goes back if the new one is not in place; temporary copies go."""
    for old in sorted(final.parent.glob(f".{final.name}.old-*")):
        if final.exists():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.rename(final)
    for tmp in final.parent.glob(f".{final.name}.tmp-*"):
        shutil.rmtree(tmp, ignore_errors=True)


def _drop_temp_tables(con: duckdb.DuckDBPyConnection) -> None:
    for (table,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall():
        con.execute(f'DROP TABLE "{table}"')


class _TokenCounter:
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


def _chunks(reader: pa.RecordBatchReader, rows: int) -> Iterator[pa.RecordBatch]:
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


def _summary(stats: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"rows": stats.get("rows", 0)}
    if "scores" in stats:
        out["scores"] = stats["scores"]
    return out
