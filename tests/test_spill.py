"""The engine's sorts within `--memory` (runtime/spill.py): an external merge sort through run files, and the merge
join that gives a MinHash step's pairs their texts. Checked against Python's sorted() and a dict join, with run
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


def texts_in_row_order(rows: list[int], text: dict[int, str], size: int) -> list[pa.RecordBatch]:
    schema = pa.schema([("_rid", pa.int64()), ("text", pa.string())])
    return [pa.record_batch([pa.array(rows[i:i + size], pa.int64()), pa.array([text[r] for r in rows[i:i + size]])],
                            schema=schema) for i in range(0, len(rows), size)]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pairs=st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), max_size=200),
       run_bytes=st.sampled_from([1, 2_000, 10**9]))
def test_attach_gives_every_pair_both_texts(tmp_path_factory: pytest.TempPathFactory, small_runs: None,
                                           pairs: list[tuple[int, int]], run_bytes: int) -> None:
    # As a MinHash step does it: the pairs sorted by their first row, the first texts merged in (texts come in row
    # order, only those some pair needs), sorted by the second row, the second texts merged in.
    spill_dir = tmp_path_factory.mktemp("spill")
    text = {i: f"text of {i} " * (i % 5) for i in range(41)}
    schema = pa.schema([("a", pa.int64()), ("b", pa.int64()), ("_ra", pa.int64()), ("_rb", pa.int64())])
    side = [pa.record_batch([pa.array([a for a, _ in pairs[i:i + 17]], pa.int64()),
                             pa.array([b for _, b in pairs[i:i + 17]], pa.int64()),
                             pa.array([a for a, _ in pairs[i:i + 17]], pa.int64()),
                             pa.array([b for _, b in pairs[i:i + 17]], pa.int64())], schema=schema)
            for i in range(0, len(pairs), 17)]
    by_first = spill.consumed(spill.sorted_batches(side, schema, "_ra", run_bytes, spill_dir))
    firsts = spill.attach(by_first, "_ra", texts_in_row_order(sorted({a for a, _ in pairs}), text, 3), "text_a")
    with_a = schema.append(pa.field("text_a", pa.string()))
    by_second = spill.consumed(spill.sorted_batches(firsts, with_a, "_rb", run_bytes, spill_dir))
    both = spill.attach(by_second, "_rb", texts_in_row_order(sorted({b for _, b in pairs}), text, 5), "text_b")
    out = pa.Table.from_batches(list(both), with_a.append(pa.field("text_b", pa.string()))).to_pylist()
    assert sorted((r["a"], r["b"], r["text_a"], r["text_b"]) for r in out) == \
        sorted((x, y, text[x], text[y]) for x, y in pairs)


def test_attach_refuses_texts_out_of_row_order() -> None:
    schema = pa.schema([("_ra", pa.int64())])
    rows = [pa.record_batch([pa.array([1, 2, 3], pa.int64())], schema=schema)]
    texts = texts_in_row_order([2, 1, 3], {1: "x", 2: "y", 3: "z"}, 2)
    with pytest.raises(AssertionError, match="row order"):
        list(spill.attach(rows, "_ra", texts, "text_a"))
    with pytest.raises(AssertionError, match="has no text"):
        list(spill.attach(rows, "_ra", texts_in_row_order([1, 3], {1: "x", 3: "z"}, 2), "text_a"))
