"""The engine's sorts within `--memory` (runtime/spill.py): an external merge sort through run files, and the merge
join that gives a MinHash step's pairs both texts. Checked against Python's sorted() and a dict join, with run
sizes small enough that every case goes through files and, with a small fan-in, through merge passes."""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa
import pytest
from datarecipe.runtime import spill
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SCHEMA = pa.schema([("k", pa.string()), ("t", pa.string())])


def batches_of(rows: list[tuple[str, str]], cut: list[int]) -> list[pa.RecordBatch]:
    """The rows as record batches cut at `cut` (sizes, cycled), some of them empty."""
    out, i, j = [], 0, 0
    while i < len(rows):
        n = cut[j % len(cut)]
        j += 1
        part = rows[i:i + n]
        out.append(pa.record_batch([pa.array([k for k, _ in part], pa.string()),
                                    pa.array([t for _, t in part], pa.string())], schema=SCHEMA))
        i += n
    return out


@pytest.fixture
def small_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spill, "RUN_MIN", 1)
    monkeypatch.setattr(spill, "GROUP_BYTES", 300)  # row groups of a few rows: merges read many of them
    monkeypatch.setattr(spill, "OUT_ROWS", 7)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(keys=st.lists(st.text(min_size=0, max_size=12), unique=True, max_size=300),
       cut=st.lists(st.integers(0, 60), min_size=1, max_size=5).filter(any),
       run_bytes=st.sampled_from([1, 500, 5_000, 10**9]), fan_in=st.sampled_from([2, 3, 32]))
def test_sorted_batches_are_the_rows_in_key_order_whatever_the_runs(tmp_path_factory: pytest.TempPathFactory,
                                                                    small_runs: None, keys: list[str], cut: list[int],
                                                                    run_bytes: int, fan_in: int) -> None:
    spill_dir = tmp_path_factory.mktemp("spill")
    rng = random.Random(len(keys))
    rows = [(k, "x" * rng.randint(0, 80) + k) for k in keys]
    spill.FAN_IN = fan_in
    try:
        out = pa.Table.from_batches(list(spill.sorted_batches(batches_of(rows, cut), SCHEMA, "k", run_bytes,
                                                              spill_dir)), SCHEMA)
    finally:
        spill.FAN_IN = 32
    assert list(zip(out.column("k").to_pylist(), out.column("t").to_pylist(), strict=True)) == sorted(rows)
    assert not list(spill_dir.iterdir())  # every run file removed


def test_a_run_that_fits_touches_no_disk(tmp_path: Path) -> None:
    rows = [(f"d{i:03d}", "text") for i in range(200, 0, -1)]
    out = list(spill.sorted_batches(batches_of(rows, [64]), SCHEMA, "k", 10**9, tmp_path / "spill"))
    assert [k for b in out for k in b.column("k").to_pylist()] == sorted(k for k, _ in rows)
    assert not (tmp_path / "spill").exists()


def test_run_files_are_removed_when_the_reader_stops_early(tmp_path: Path, small_runs: None) -> None:
    rows = [(f"d{i:04d}", "y" * 50) for i in range(500, 0, -1)]
    stream = spill.sorted_batches(batches_of(rows, [50]), SCHEMA, "k", 2_000, tmp_path)
    next(stream)
    assert list(tmp_path.iterdir())  # runs on disk while it is read
    stream.close()
    assert not list(tmp_path.iterdir())


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pairs=st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), max_size=200),
       run_bytes=st.sampled_from([1, 2_000, 10**9]))
def test_aligned_gives_every_pair_both_texts(tmp_path_factory: pytest.TempPathFactory, small_runs: None,
                                            pairs: list[tuple[int, int]], run_bytes: int) -> None:
    spill_dir = tmp_path_factory.mktemp("spill")
    text = {i: f"text of {i} " * (i % 5) for i in range(41)}
    doc = {i: f"src/{i:03d}" for i in range(41)}
    schema_a = pa.schema([("a", pa.int64()), ("b", pa.int64()), ("doc_b", pa.string()), ("text_a", pa.string())])
    schema_b = pa.schema([("doc_b", pa.string()), ("text_b", pa.string())])
    side_a = [pa.record_batch([pa.array([a for a, _ in pairs[i:i + 17]], pa.int64()),
                               pa.array([b for _, b in pairs[i:i + 17]], pa.int64()),
                               pa.array([doc[b] for _, b in pairs[i:i + 17]]),
                               pa.array([text[a] for a, _ in pairs[i:i + 17]])], schema=schema_a)
              for i in range(0, len(pairs), 17)]
    seconds = sorted({b for _, b in pairs}, reverse=True)
    side_b = [pa.record_batch([pa.array([doc[b] for b in seconds[i:i + 5]]),
                               pa.array([text[b] for b in seconds[i:i + 5]])], schema=schema_b)
              for i in range(0, len(seconds), 5)]
    a = spill.consumed(spill.sorted_batches(side_a, schema_a, "doc_b", run_bytes, spill_dir))
    b = spill.consumed(spill.sorted_batches(side_b, schema_b, "doc_b", run_bytes, spill_dir))
    out = pa.Table.from_batches(list(spill.aligned(a, b)), spill.ALIGNED).to_pylist()
    assert sorted((r["a"], r["b"], r["text_a"], r["text_b"]) for r in out) == \
        sorted((x, y, text[x], text[y]) for x, y in pairs)
