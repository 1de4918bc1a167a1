"""The native DSIR featurizer and scorer (native/src/dsir.rs, behind operators/scorers/fitted.py) give exactly the
oracle's features, fit counts, log-probabilities and weights (tests/oracle/dsir.py, the numpy version they replaced):
on arbitrary Unicode (str.lower's full mappings and final sigma, `\\w` and `\\s` of every plane), on word and
punctuation runs, on empty, huge and odd texts and on the sample documents. The weights are the same float64 sums,
bit for bit."""

from __future__ import annotations

import gzip
import hashlib
import json
from functools import cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from datarecipe.operators import native
from datarecipe.operators.scorers import fitted
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracle import dsir as oracle

ROOT = Path(__file__).resolve().parents[1]
ODD = ["", " ", "\x00", "a\x00b c\x00d", "A\r\nB\rC\nD\x0bE\x1cF\u2028G\u0085H", "İstanbul ΣΑΣ. ΟΔΟΣ ß ǅ ﬁ ΐ 𝒜𝒷𝒸 𐐀 ẞ",
       "½ ² ٣ ௰ 〇 x_y __ _ a-b ‿ ⁀", "ÉCOLE école Ecole!!! ... ?!", "💩 🙂 👍🏽 " * 5, "漢字かなカナ한국어 中文",
       "a" * 100_000, ("Word, " * 20_000).strip(), "\ud7ff\ue000\uffff\U0010ffff", "x\u0301\u0327y\u200dz",
       "K Å Ω", "ΑΣ́Α ΑΣ́ Σ", "٠١٢ ०१२ 0１２ ...---!!!"]
BUCKETS = [10_000, 1, 7, 2**20, 4_294_967_291]


@cache
def sample() -> list[str]:
    texts = []
    with gzip.open(ROOT / "data/sample/pydocs.jsonl.gz", "rt") as fh:
        texts += [json.loads(line)["text"] for line in fh][:200]
    for folder in ("code", "handbook"):
        for path in sorted((ROOT / "data/sample" / folder).rglob("*"))[:40]:
            if path.is_file():
                texts.append(path.read_bytes().decode("utf-8", "replace"))
    return texts


def agree(texts: list[str], ngrams: tuple[int, ...] = (1, 2, 3), buckets: list[int] = BUCKETS) -> None:
    for ngram in ngrams:
        for b in buckets:
            got, got_text = fitted.hashed_ngrams(texts, ngram, b)
            want, want_text = oracle.hashed_ngrams(texts, ngram, b)
            assert np.array_equal(got, want) and np.array_equal(got_text, want_text)
            counts = np.zeros(b, dtype=np.int64) if b <= 2**20 else None
            if counts is not None:
                fitted._dsir_counts(texts, ngram, counts)
                assert np.array_equal(counts, oracle.counts([texts], ngram, b))
                ratio = np.random.default_rng(b).normal(size=b)
                weights = fitted.DsirScorer(ratio, ngram)._weights(texts)
                assert weights.tobytes() == oracle.weights(texts, ratio, ngram).tobytes()


words = st.lists(st.one_of(st.sampled_from(["the", "The", "THE", "cat", "Ünï", "ÜNÏ", "straße", "ΣΑΣ", "ΟΔΟΣ",
                                            "σας", "İ", "x_y", "_", "123", "٣", "...", "!?", "--", "'s", "ﬁ"]),
                           st.text(max_size=6)), max_size=40)
joiners = st.sampled_from(["", " ", "  ", "\n", "\r\n", ", ", "-", "\x00", "\t", ".", "\u2028", "\u3000"])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.text(), st.builds(lambda ws, j: j.join(ws), words, joiners)), max_size=8))
def test_arbitrary_unicode(texts: list[str]) -> None:
    agree(texts, buckets=[10_000, 4_294_967_291])


def test_odd_texts_and_the_sample() -> None:
    agree(ODD)
    agree(sample(), ngrams=(2,), buckets=[10_000])


def test_sha256_buckets_are_data_selections() -> None:
    texts = ["Hello, World", "a b", "ünï ΣΑΣ", "x" * 200]
    for b in (10_000, 999_983, 4_294_967_291):
        found, text_of = fitted.hashed_ngrams(texts, 2, b)
        want = sorted(int(hashlib.sha256(s.encode()).hexdigest(), 16) % b for s in
                      ["hello", ",", "world", "hello ,", ", world", "a", "b", "a b", "ünï", "σας", "ünï σας",
                       "x" * 200])
        assert sorted(found.tolist()) == want


def test_fit_and_score_are_the_oracles(tmp_path: Path) -> None:
    raw, target = sample()[:120], sample()[120:200]
    params = {"ngram": 2, "buckets": 10_000}
    fitted.fit("dsir", params, {"target": lambda: iter([target]), "raw": lambda: iter([raw[:50], raw[50:]])},
               tmp_path, 0)
    want_target = oracle.log_probs(oracle.counts([target], 2, 10_000))
    want_raw = oracle.log_probs(oracle.counts([raw], 2, 10_000))
    assert np.load(tmp_path / "target_log_probs.npy").tobytes() == want_target.tobytes()
    assert np.load(tmp_path / "raw_log_probs.npy").tobytes() == want_raw.tobytes()
    scores = fitted.load("dsir", params, tmp_path).score([*raw[:30], None, ""]).to_numpy(zero_copy_only=False)
    want = oracle.weights([*raw[:30], ""], want_target - want_raw, 2)
    assert np.isnan(scores[30]) and scores[[*range(30), 31]].tobytes() == want.tobytes()


def test_errors_come_back_as_native_errors() -> None:
    ffi, lib = native.lib()
    t = native.Texts(pa.array(["a b c"], pa.large_string()))
    counts = np.zeros(4, dtype=np.int64)
    with pytest.raises(native.NativeError, match="buckets"):
        native.check(lib.dr_dsir_count(*t.args(), 2, 0, ffi.cast("int64_t *", counts.ctypes.data)))
