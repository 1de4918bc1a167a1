"""Deterministic writers: row groups and shards are cut from the row sequence alone, never
from how batches happened to arrive, so the same rows always give the same bytes."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROW_GROUP_ROWS = 16_384
ROW_GROUP_BYTES = 64 * 10**6
# A build's files (shards, ledger, quarantine) are compressed harder than the stages' files in the cache, which are
# written once and read once or twice: zstd level 1 writes about 1.5x and reads about 1.8x faster than level 3, for
# files about 20% larger.
_PARQUET = {"compression": "zstd", "compression_level": 3, "write_statistics": True}
_CACHE_PARQUET = {"compression": "zstd", "compression_level": 1, "write_statistics": True}
DATA = "data"  # a build's shards, and nothing else (`shard_name`)
MANIFEST = "manifest.json"  # what a build holds, with every file's sha256; its own is in `manifest.json.sha256`


def row_sizes(batch: pa.RecordBatch) -> np.ndarray:
    """Approximate bytes of each row: its string payloads plus a fixed overhead."""
    total = np.full(batch.num_rows, 16, dtype=np.int64)
    for col in batch.columns:
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            total += pc.fill_null(pc.binary_length(col), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    return total


class Cutter:
    """Where a row stream is cut into chunks of at most max_rows rows and about max_bytes bytes: before a row that
    would take its chunk past either (a chunk holds at least one row)."""

    def __init__(self, max_rows: int, max_bytes: int):
        self.max_rows, self.max_bytes = min(max_rows, 2**62), min(max_bytes, 2**62)  # sums stay in int64
        self.rows = self.size = 0

    def cuts(self, batch: pa.RecordBatch) -> list[int]:
        """The rows of the next batch of the stream before which a new chunk begins."""
        return self.cut_sizes(row_sizes(batch))

    def cut_sizes(self, sizes: np.ndarray) -> list[int]:
        """`cuts`, given the rows' sizes (`row_sizes`): the Parquet writer's rule, found a chunk at a time (a
        search in the running sum) rather than a row at a time."""
        ends = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)])  # ends[j]: the bytes of rows before j
        out, i, n = [], 0, len(sizes)
        while i < n:
            by_rows = i + max(self.max_rows - self.rows, 0)  # the first row the chunk has no room for by count
            # the first row j >= i that would take the chunk past max_bytes: ends[j + 1] > max_bytes - size + ends[i]
            by_bytes = max(int(np.searchsorted(ends, self.max_bytes - self.size + ends[i], side="right")) - 1, i)
            cut = min(by_rows, by_bytes)
            if not self.rows:
                cut = max(cut, i + 1)  # a chunk holds at least one row
            if cut >= n:
                self.rows += n - i
                self.size += int(ends[n] - ends[i])
                break
            out.append(cut)
            self.rows = self.size = 0
            i = cut
        return out


def chunks(batches: Iterable[pa.RecordBatch], max_rows: int, max_bytes: int) -> Iterator[pa.Table]:
    """Regroup batches into tables of at most max_rows rows and about max_bytes bytes."""
    cutter = Cutter(max_rows, max_bytes)
    pending: list[pa.RecordBatch] = []
    for batch in batches:
        start = 0
        for cut in cutter.cuts(batch):
            pending.append(batch.slice(start, cut - start))
            yield pa.Table.from_batches([b for b in pending if b.num_rows])
            pending, start = [], cut
        if start < batch.num_rows:
            pending.append(batch.slice(start))
    if cutter.rows:
        yield pa.Table.from_batches([b for b in pending if b.num_rows])


def write_parquet(path: Path, schema: pa.Schema, batches: Iterable[pa.RecordBatch],
                  on_rows: Callable[[int], None] | None = None, final: bool = False) -> int:
    """Write batches to one Parquet file with deterministic row groups; returns the row count. `final`: a file of
    the build (compressed for keeping), not of the cache."""
    total = 0
    with pq.ParquetWriter(path, schema, **(_PARQUET if final else _CACHE_PARQUET)) as writer:  # type: ignore[arg-type]
        for table in chunks(batches, ROW_GROUP_ROWS, ROW_GROUP_BYTES):
            # one chunk per row group: Parquet's pages follow Arrow's chunks, which follow how batches arrived
            writer.write_table(table.cast(schema).combine_chunks(), row_group_size=table.num_rows)
            total += table.num_rows
            if on_rows:
                on_rows(table.num_rows)
    return total


@dataclass(frozen=True)
class Shard:
    path: str  # inside the build directory
    rows: int
    bytes: int
    sha256: str
    phase: str = ""


def sha256_file(path: Path | str, fs: Any = None) -> str:
    """A file's sha256: a local path, or a path in an fsspec file system `fs` (an object store's)."""
    digest = hashlib.sha256()
    with (fs.open(path, "rb") if fs is not None else open(path, "rb")) as fh:
        while block := fh.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def shard_name(index: int, count: int, fmt: str) -> str:
    """A shard's path in a build, as the Hugging Face Hub names the files of a split: shards under `data/`, so a
    reader pointed at `data/` finds the training rows and nothing else, numbered in training order."""
    return f"{DATA}/train-{index:05d}-of-{count:05d}.{fmt}"


def write_shards(build: Path, fmt: str, schema: pa.Schema, batches: Iterable[pa.RecordBatch],
                 shard_rows: int, shard_bytes: int, on_rows: Callable[[int], None] | None = None,
                 first: int = 0, phase: str = "") -> list[Shard]:
    """Cut the row stream into shards of at most shard_rows rows and about shard_bytes bytes, numbered from
    `first` and labelled with the training phase they hold. Their names are provisional until `name_shards`:
    a shard's name holds the count of shards, known once the stream has ended."""
    shards: list[Shard] = []
    for i, table in enumerate(chunks(batches, shard_rows or 2**62, shard_bytes), start=first):
        shards.append(write_shard(build, f"{DATA}/part-{i:05d}.{fmt}", fmt, schema, table, phase))
        if on_rows:
            on_rows(table.num_rows)
    return shards


def name_shards(build: Path, shards: list[Shard], fmt: str) -> list[Shard]:
    """The shards written by `write_shards`, renamed to their final names (`shard_name`)."""
    named = []
    for i, shard in enumerate(shards):
        path = shard_name(i, len(shards), fmt)
        (build / shard.path).rename(build / path)
        named.append(replace(shard, path=path))
    return named


def write_shard(build: Path, path: str, fmt: str, schema: pa.Schema, table: pa.Table, phase: str = "") -> Shard:
    """One shard of a build, as Parquet or JSON lines, at `path` inside the build directory."""
    file = build / path
    if fmt == "parquet":
        write_parquet(file, schema, table.to_batches(), final=True)
    else:
        with open(file, "wb") as fh:
            for row in table.to_pylist():
                meta = row.get("meta")
                if meta is not None:
                    row["meta"] = orjson.Fragment(meta.encode())
                fh.write(orjson.dumps(row) + b"\n")
    return Shard(path, table.num_rows, os.path.getsize(file), sha256_file(file), phase)
