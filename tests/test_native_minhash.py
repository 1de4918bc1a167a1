"""The native MinHash kernels (native/src/minhash.rs, behind operators/dedup/minhash.py) give exactly the numpy
oracle's shingles, band keys and Jaccard similarities (tests/oracle/minhash.py): on arbitrary Unicode, on word-heavy
texts with case and scripts, on empty, huge and odd texts, on sliced and chunked arrays with nulls, and on the sample
documents. Bit-identical, so MINHASH_VERSION and cached stage outputs stay valid."""

from __future__ import annotations

import gzip
import json
from functools import cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from datarecipe.operators import native
from datarecipe.operators.dedup import minhash
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracle import minhash as oracle

ROOT = Path(__file__).resolve().parents[1]
PARAMS = [(5, 14, 8), (1, 1, 1), (3, 4, 2), (2, 20, 5)]
ODD = ["", " ", "\x00", "a\x00b c\x00d e f g h", "A\r\nB\rC\nD\x0bE\x1cF\u2028G\u0085H  I J K",
       "İstanbul ΣΑΣ ß ǅ ﬁ Ǆ ΐ 𝒜𝒷𝒸 𐐀𐐁 ẞ", "½ ² ٣ ௰ 〇 x_y __ a-b", "ÉCOLE école Ecole", "ǅungla",
       "💩 🙂 👍🏽 " * 5, "漢字かなカナ한국어 中文 文字", "a" * 100_000, ("word " * 20_000).strip(),
       "\ud7ff\ue000\uffff\U0010ffff", "x\u0301\u0327y\u200dz", "٠١٢ ०१२ 0１２"]


@cache
def sample() -> list[str]:
    texts = []
    with gzip.open(ROOT / "data/sample/pydocs.jsonl.gz", "rt") as fh:
        texts += [json.loads(line)["text"] for line in fh][:300]
    for folder in ("code", "handbook"):
        for path in sorted((ROOT / "data/sample" / folder).rglob("*"))[:60]:
            if path.is_file():
                texts.append(path.read_bytes().decode("utf-8", "replace"))
    return texts


def params(ngram: int, bands: int, rows: int) -> pa.Array:
    return pa.array([json.dumps({"ngram": ngram, "bands": bands, "rows": rows})])


def agree(texts: list[str | None] | pa.Array | pa.ChunkedArray, other: object = None) -> None:
    array = texts if isinstance(texts, pa.Array | pa.ChunkedArray) else pa.array(texts, pa.string())
    for ngram, bands, rows in PARAMS:
        p = params(ngram, bands, rows)
        assert minhash.bands(array, p).to_pylist() == oracle.bands(array, p).to_pylist()
        got_rows, got = minhash.shingles(array, ngram)
        want_rows, want = oracle.shingles(array, ngram)
        assert np.array_equal(got_rows, want_rows) and np.array_equal(got, want)
        right = array[::-1] if other is None else other
        assert minhash.jaccard(array, right, p).to_pylist() == oracle.jaccard(array, right, p).to_pylist()


words = st.lists(st.one_of(st.sampled_from(["the", "The", "THE", "cat", "Cat", "sat", "on", "mat", "Ünï", "ÜNÏ",
                                            "straße", "STRASSE", "ΣΑΣ", "σας", "İ", "i̇", "x_y", "123", "٣"]),
                           st.text(max_size=6)), max_size=40)
joiners = st.sampled_from([" ", "  ", "\n", "\r\n", ", ", "-", "\x00", "\t", ".", "\u2028"])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.none(), st.text(), st.builds(lambda ws, j: j.join(ws), words, joiners)), max_size=12))
def test_arbitrary_unicode(texts: list[str | None]) -> None:
    agree(texts)


def test_odd_texts_and_the_sample() -> None:
    agree(ODD)
    agree([*ODD, None, *ODD[::-1]])
    texts = sample()
    agree(texts)


def test_sliced_and_chunked_arrays_with_nulls() -> None:
    texts = [*sample()[:40], None, "", *ODD, None]
    array = pa.array(texts, pa.string())
    agree(array.slice(3, 30))
    agree(pa.chunked_array([array.slice(0, 10), array.slice(10, 7), array.slice(17)]))
    agree(pa.array(texts, pa.large_string()).slice(5))
    agree(array, pa.array(texts[::-1]))


def test_small_slices_give_the_same_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    array = pa.array([*sample()[:50], None, ""])
    p = params(5, 14, 8)
    whole = minhash.bands(array, p)
    monkeypatch.setattr(minhash, "SLICE_BYTES", 1000)
    assert minhash.bands(array, p).equals(whole)
    assert minhash.jaccard(array, array[::-1], p).equals(oracle.jaccard(array, array[::-1], p))


def test_errors_come_back_as_native_errors() -> None:
    _, lib = native.lib()
    t = native.Texts(pa.array(["a b c"], pa.large_string()))
    keys, keys_ptr = native.numbers(1, "uint64")
    has, has_ptr = native.numbers(1, "uint32")
    with pytest.raises(native.NativeError, match="must be positive"):
        native.check(lib.dr_minhash_bands(*t.args(), 0, 1, 1, keys_ptr, has_ptr))
