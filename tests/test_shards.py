"""Where the writers cut a row stream (runtime/artifacts/shards.py): the Cutter's search in the running sum is the
row-at-a-time rule, whatever the batches the stream comes in."""

from __future__ import annotations

import itertools

import numpy as np
from datarecipe.runtime.artifacts.shards import Cutter
from hypothesis import given, settings
from hypothesis import strategies as st


def one_row_at_a_time(sizes: list[int], max_rows: int, max_bytes: int) -> list[int]:
    """The rule as written: cut before a row that would take a non-empty chunk past either limit."""
    out, rows, size = [], 0, 0
    for i, n in enumerate(sizes):
        if rows and (rows >= max_rows or size + n > max_bytes):
            out.append(i)
            rows = size = 0
        rows += 1
        size += n
    return out


@settings(max_examples=300, deadline=None)
@given(sizes=st.lists(st.integers(16, 500), max_size=200), max_rows=st.integers(1, 30),
       max_bytes=st.integers(1, 3000), splits=st.lists(st.integers(0, 200), max_size=6))
def test_the_cuts_are_the_row_at_a_time_rule_in_any_batches(sizes: list[int], max_rows: int, max_bytes: int,
                                                            splits: list[int]) -> None:
    bounds = sorted({0, len(sizes), *(min(s, len(sizes)) for s in splits)})
    cutter, found = Cutter(max_rows, max_bytes), []
    for a, b in itertools.pairwise(bounds):
        found += [a + c for c in cutter.cut_sizes(np.array(sizes[a:b], dtype=np.int64))]
    assert found == one_row_at_a_time(sizes, max_rows, max_bytes)
