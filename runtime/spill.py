"""Sorting a stage's documents within `--memory`: an external merge sort through run files in the spill directory.

DuckDB's own sort holds the strings of the rows it sorts: sorting a stage's documents by doc_id takes memory that
grows with the corpus (about 0.6 to 1 times its text, measured with DuckDB 2.0), whatever its memory limit. So a
stage whose documents are written in the order of one key column (`Stage.params["sorted_by"]`: doc_id, or the
ingest's row number) leaves the ORDER BY out of its SQL, and the engine sorts the rows DuckDB streams out:

- rows are gathered into runs of at most `run_bytes`; each run is sorted in memory (Arrow) and, unless it is the
  only one, written to a Parquet file in the spill directory, in small row groups;
- the runs are merged, at most `FAN_IN` at a time (more runs than that are merged in passes), a row group of each
  at a time: rows up to the smallest last key of the current row groups are taken from every run, sorted and
  written, and the run whose row group is used up reads its next.

The key must be unique per row (doc_id in a stage's documents, the ingest's row number), so the result is the one
order of the keys: the same bytes whatever the run size, the thread count or how the batches arrived. A build
whose stage fits in one run never touches the disk."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

FAN_IN = 32  # runs merged at once: their row groups are in memory together
GROUP_BYTES = 2**20  # the row groups of a run file: what a merge holds of each run
OUT_ROWS = 1024  # rows per batch a merge yields
RUN_MIN = 16 * 2**20


def sorted_batches(batches: Iterable[pa.RecordBatch], schema: pa.Schema, key: str, run_bytes: int,
                   spill_dir: Path) -> Iterator[pa.RecordBatch]:
    """`batches` in ascending order of the unique column `key`, holding about `run_bytes` of rows (plus one row
    group per run merged) in memory; runs past the first go to files in `spill_dir`, removed once read."""
    run_bytes = max(run_bytes, RUN_MIN)
    made: list[Path] = []  # every run file, removed at the end whatever happens

    def run(rows: Iterable[pa.RecordBatch]) -> Path:
        made.append(_write_run(rows, schema, spill_dir))
        return made[-1]

    runs: list[Path] = []
    pending: list[pa.RecordBatch] = []
    size = 0
    try:
        for batch in batches:
            if not batch.num_rows:
                continue
            pending.append(batch)
            size += batch.nbytes
            if size >= run_bytes:
                runs.append(run(_sorted(pending, schema, key).to_batches()))
                pending, size = [], 0
        if not runs:  # one run: sorted in memory, no file
            yield from _sorted(pending, schema, key).to_batches(max_chunksize=OUT_ROWS)
            return
        if pending:
            runs.append(run(_sorted(pending, schema, key).to_batches()))
            pending = []
        while len(runs) > FAN_IN:  # passes that merge FAN_IN runs into one, until one pass merges them all
            merged = []
            for i in range(0, len(runs), FAN_IN):
                group = runs[i:i + FAN_IN]
                if len(group) == 1:
                    merged.append(group[0])
                    continue
                merged.append(run(_merge(group, schema, key)))
                for path in group:  # merged: no longer needed
                    path.unlink(missing_ok=True)
            runs = merged
        yield from _merge(runs, schema, key)
    finally:
        for path in made:
            path.unlink(missing_ok=True)


def _sorted(batches: list[pa.RecordBatch], schema: pa.Schema, key: str) -> pa.Table:
    return _in_order(pa.Table.from_batches(batches, schema), key)


def _in_order(table: pa.Table, key: str) -> pa.Table:
    return table.take(pc.sort_indices(table, [(key, "ascending")]))


def _write_run(batches: Iterable[pa.RecordBatch], schema: pa.Schema, spill_dir: Path) -> Path:
    """Sorted rows as a run file of row groups of about GROUP_BYTES."""
    spill_dir.mkdir(parents=True, exist_ok=True)
    path = spill_dir / f"sort-{os.getpid()}-{uuid.uuid4().hex}.parquet"
    with pq.ParquetWriter(path, schema, compression="zstd", compression_level=1) as writer:
        for batch in batches:
            rows = max(1, int(batch.num_rows * GROUP_BYTES / max(batch.nbytes, 1)))
            for start in range(0, batch.num_rows, rows):
                writer.write_batch(batch.slice(start, rows))
    return path


class _Run:
    """A run file read a row group at a time: `rows` is the current group from `offset` on."""

    def __init__(self, path: Path):
        self.file = pq.ParquetFile(path)
        self.group = 0
        self.rows: pa.Table | None = None
        self.next()

    def next(self) -> None:
        while self.group < self.file.num_row_groups:
            self.rows = self.file.read_row_group(self.group)
            self.group += 1
            if self.rows.num_rows:
                return
        self.rows = None


def _merge(paths: list[Path], schema: pa.Schema, key: str) -> Iterator[pa.RecordBatch]:
    runs = [r for r in (_Run(p) for p in paths) if r.rows is not None]
    while runs:
        bound = min(r.rows.column(key)[-1].as_py() for r in runs if r.rows is not None)
        taken = []
        for run in runs:
            assert run.rows is not None
            keys = run.rows.column(key)
            n = pc.sum(pc.less_equal(keys, pa.scalar(bound, keys.type))).as_py() or 0  # a sorted prefix
            if n:
                taken.append(run.rows.slice(0, n))
                run.rows = run.rows.slice(n)
            if not run.rows.num_rows:
                run.next()
        runs = [r for r in runs if r.rows is not None]
        yield from _in_order(pa.concat_tables(taken).cast(schema), key).to_batches(max_chunksize=OUT_ROWS)


def consumed(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """`batches`, a sorted stream, started: its input is read (and its runs written) before this returns, so the
    DuckDB result it reads is finished and the connection free for the next query."""
    first = next(batches, None)
    if first is None:
        return iter(())
    return itertools.chain([first], batches)


ALIGNED = pa.schema([("a", pa.int64()), ("b", pa.int64()), ("text_a", pa.string()), ("text_b", pa.string())])


def attach(rows: Iterable[pa.RecordBatch], key: str, texts: Iterable[pa.RecordBatch],
           name: str) -> Iterator[pa.RecordBatch]:
    """A merge join: `rows`, sorted by their column `key` (which may repeat), each with the `text` of the row of
    `texts` whose `_rid` is its key, as a new column `name`. `texts` come in ascending order of `_rid` (a table
    scanned in its row order: DuckDB keeps that order through a scan and a filter, not through a join), hold every
    key, and may hold rows no key asks for, which are skipped. Holds a batch of rows, its texts and one batch of
    texts."""
    window: pa.Table | None = None  # texts that the current batch, or a later one, may ask for
    pending = iter(texts)
    read: int | None = None  # the last `_rid` read
    for batch in rows:
        if not batch.num_rows:
            continue
        keys = batch.column(key)
        last = keys[-1].as_py()
        wanted = pc.unique(keys)
        parts = [_wanted(window, wanted, last)] if window is not None else []
        while read is None or read < last:
            more = next(pending, None)
            if more is None:
                break
            if not more.num_rows:
                continue
            rid = more.column("_rid")
            if (read is not None and rid[0].as_py() <= read) or (
                    len(rid) > 1 and not pc.all(pc.greater(rid.slice(1), rid.slice(0, len(rid) - 1))).as_py()):
                raise AssertionError("the texts of a merge join are not in ascending row order")
            read = rid[-1].as_py()
            parts.append(_wanted(pa.Table.from_batches([more]), wanted, last))
        window = pa.concat_tables(parts) if parts else None
        at = pc.index_in(keys, value_set=window.column("_rid")) if window is not None else None
        if at is None or at.null_count:
            raise AssertionError(f"a row's `{key}` has no text")
        yield batch.append_column(name, window.column("text").take(at).combine_chunks())
        window = window.filter(pc.greater_equal(window.column("_rid"), last))  # the next batch begins at `last`
    for _ in pending:  # read to the end: a DuckDB result is done only then
        pass


def _wanted(texts: pa.Table, keys: pa.Array, last: int) -> pa.Table:
    """The texts that the keys of a batch ask for, and those past its last key (a later batch may ask for them)."""
    rid = texts.column("_rid")
    return texts.filter(pc.or_(pc.is_in(rid, value_set=keys), pc.greater(rid, last)))
