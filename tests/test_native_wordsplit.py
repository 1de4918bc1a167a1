"""The native word splitter (native/src/wordsplit.rs) gives exactly the oracle's words (tests/oracle/wordsplit.py,
spaCy's English tokenizer rules): on arbitrary Unicode, on texts built from the pieces the rules care about
(punctuation, quotes, hyphens, dots, emoticons, abbreviations, contractions, URLs, units), on the sample documents and
the bench corpus, on empty, huge and odd texts, whatever the state of its chunk cache."""

from __future__ import annotations

import gzip
import json
from functools import cache
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datarecipe.operators import native
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracle.wordsplit import _ABBREVIATIONS, _EMOTICONS, _HYPHENS, _PUNCT, _QUOTES, _UNITS, Tokenizer

ROOT = Path(__file__).resolve().parents[1]


@cache
def oracle() -> Tokenizer:
    return Tokenizer()


def split(texts: list[str]) -> list[list[str]]:
    """The native words of every text."""
    _, lib = native.lib()
    t = native.Texts(pa.array(texts, pa.large_string()))
    o = native.Out()
    native.check(lib.dr_wordsplit(*t.args(), o.handle))
    data, offsets, _, counts = o.take()
    raw = data.tobytes()
    words = [raw[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(len(offsets) - 1)]
    out, i = [], 0
    for c in counts:
        out.append(words[i:i + int(c)])
        i += int(c)
    return out


def agree(texts: list[str]) -> None:
    tok = oracle()
    for text, got in zip(texts, split(texts), strict=True):
        want = tok.words(text)
        if got != want:
            for chunk in text.split():
                assert split([chunk])[0] == list(tok.split(chunk)), f"chunk {chunk!r}"
            assert got == want, f"text {text[:200]!r}"


# ---- hypothesis ------------------------------------------------------------------------------------------

_SPECIALS = [*_ABBREVIATIONS, *_EMOTICONS, "don't", "dont", "I'm", "Im", "can't", "won’t", "cannot", "Cannot",
             "y'all", "gonna", "you're", "we'd", "it'll", "'s", "n't", "’S", "shell", "we'll", "well", "They've"]
_URLS = ["http://www.example.com", "https://a.b.org/x?y=1#z", "www.example.com", "example.org:8080/path",
         "user@example.com", "mailto:someone@host.io", "ftp://1.2.3.4:21/", "io.Reader", "a.b", "x.co.uk",
         "http://bücher.de/straße", "https://xn--e1a.xn--p1ai", "foo_bar.com", "-a.com", "a-.com", "a--b.com",
         "1.2.3.4", "1.2.3", "1234.5.6.7", "a@b@c.com", "http://@x.com", "h://x.com", "ab://x.com", "a:b@c.de",
         "x.𝐚𝐛", "𝐚.com", "x.c０m", "x.ßs", "١.٢.٣.٤", "x.com:١٢", "x.com:1", "x.com:123456", "a.b.c.de/", "é.fr"]
_PIECES = [*_SPECIALS, *_URLS, *_UNITS, *_HYPHENS, *_PUNCT, *_QUOTES, ".", "..", "...", "....", "…", "+", "-", "*",
           "^", "°", "°C", "°F.", "10", "3", "km", "Word", "word", "ABC", "éé", "Ünï", "ß", "İ", "Σ", "ǅ", "Ⅻ", "½",
           "²", "%", "§", "=", "<", ">", "/", ":", "@", "#", "?", "_", "€", "$", "£", "©", "😀", "🇫🇷", "👍🏽", "𝐀",
           "𝐚", "𠀀", "\U00030000", "ಠ", "ツ", "中文", "ق", "٣", "१", "a", "b", "A", "Z", "x", "e", "g", "i", "s",
           "S", "'", "’", "\"", "(", ")", "[", "]", "\u00a0", "\u3000", "\u2028", "\x1c", "\x0b", "\r\n", "\t",
           "\x00", " ", " ", " "]

_piecewise = st.lists(st.sampled_from(_PIECES), max_size=40).map("".join)
_alphabet = st.sampled_from(list("abcXYZ019.:/@?#_-~,'’+*^=<>()°%²$€😀𝐚é中٣ ") + ["\u00a0", "\U0002a6d6"])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(max_size=60), min_size=1, max_size=8))
def test_arbitrary_unicode(texts: list[str]) -> None:
    agree(texts)


@settings(max_examples=700, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_piecewise, min_size=1, max_size=8))
def test_the_pieces_the_rules_care_about(texts: list[str]) -> None:
    agree(texts)


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(_alphabet, max_size=30), min_size=1, max_size=8))
def test_url_like_chunks(texts: list[str]) -> None:
    """The URL pattern, matched by hand, against the regex: strings over the characters it cares about."""
    agree(texts)
    tok = oracle()
    for text in texts:
        for chunk in text.split():
            assert (split([chunk])[0] == [chunk]) == (len(tok.split(chunk)) == 1), chunk


def test_every_special_string_and_its_neighbours() -> None:
    tok = oracle()
    keys = list(tok.special)
    texts = keys + [k + p for k in keys for p in (".", ",", ")", "'s", "-a", ".B")] + \
        [p + k for k in keys for p in ("(", "\"", "a.", "b-", "..")] + [f"a{k}b" for k in keys]
    agree(texts)


# ---- documents -------------------------------------------------------------------------------------------

def test_the_sample_documents() -> None:
    sample = ROOT / "data" / "sample"
    texts = [p.read_text("utf-8", "replace") for p in sorted((sample / "code").iterdir())]
    with gzip.open(sample / "pydocs.jsonl.gz", "rt", encoding="utf-8") as f:
        texts += [json.loads(line)["text"] for line in f]
    for p in sorted((sample / "handbook").glob("*.parquet")):
        texts += [t for t in pq.read_table(p, columns=["body"]).column("body").to_pylist() if t is not None]
    assert len(texts) > 300
    agree(texts)


def test_the_bench_corpus() -> None:
    path = ROOT / "bench" / "data" / "corpus.parquet"
    if not path.exists():
        pytest.skip("no bench corpus (bench/data/corpus.parquet)")
    f = pq.ParquetFile(path)
    texts: list[str] = []
    for batch in f.iter_batches(batch_size=500, columns=["text"]):
        texts += [t for t in batch.column("text").to_pylist() if t is not None]
        if len(texts) >= 2000:
            break
    agree(texts[:2000])


def test_empty_huge_and_odd_texts() -> None:
    huge = ("The cat's 10km-long tail (e.g. Mr.Smith's) :-) http://x.com/a?b... " * 20_000)[:1_000_000]
    texts = ["", " ", "\n\r\n", "\x00", "a\x00b", "a\r\nb\rc\x0bd\x1ce\u2028f", "\x00.\x00", huge,
             "(" * 5_000 + "a", "a" + "." * 100_000, "." * 100_000 + "a", "a" + ")" * 5_000, "x" * 100_000,
             "a-" * 5_000, "1+" * 5_000 + "1", ("a" * 70 + ".") * 3 + "com"]
    agree(texts)


def test_a_full_chunk_cache_changes_nothing() -> None:
    _, lib = native.lib()
    texts = [" ".join(_PIECES[i:i + 30]) for i in range(0, len(_PIECES), 7)] * 3
    tok = oracle()
    want = [tok.words(t) for t in texts]
    old = lib.dr_wordsplit_cache_limit(3)
    try:
        assert split(texts) == want
        lib.dr_wordsplit_cache_limit(1)
        assert split(texts) == want
    finally:
        lib.dr_wordsplit_cache_limit(old)
    assert split(texts) == want
    assert split(texts) == want
