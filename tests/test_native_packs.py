"""The native rule packs (native/src/packs/) decide, and c4 rewrites, exactly as the Python rules they replaced
(tests/oracle/packs.py): with the default parameters and with others (0 and -1 turning rules off), on arbitrary
Unicode, on line-structured texts whose lines, paragraphs and n-grams repeat (so the repetition rules fire), on odd
line breaks, NULs, empty and huge texts, on the sample documents and on the bench corpus."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datarecipe.operators import named
from datarecipe.operators.packs import PACKS
from helpers import sample_texts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracle.packs import RULES
from oracle.wordsplit import Tokenizer

ROOT = Path(__file__).resolve().parents[1]
SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@cache
def tokenizer() -> Tokenizer:
    return Tokenizer()


def defaults(pack: str) -> dict[str, Any]:
    return {p.name: p.default for p in named("pack")[pack].params}


def native(pack: str, texts: list[str | None], p: dict[str, Any]) -> list[tuple[str | None, str | None]]:
    """The product's kernel (the native pack) on a batch: (why each text is dropped, its new text)."""
    op = named("pack")[pack]
    out = op.kernel(pa.array(texts, pa.string()), **p).to_pylist()
    return [(o["drop"], o["text"]) for o in out] if op.rewrites else [(o, None) for o in out]


def agree(pack: str, texts: list[str], p: dict[str, Any] | None = None) -> None:
    p = defaults(pack) | (p or {})
    got = native(pack, texts, p)
    for text, g in zip(texts, got, strict=True):
        assert g == RULES[pack](text, p, tokenizer()), f"{pack} {p} on {text[:300]!r}"


# ---- parameters -------------------------------------------------------------------------------------------


def _param(p: Any) -> st.SearchStrategy[Any]:
    """Values of a parameter: its default, off (0 or -1), and values that make its rule fire or not."""
    if p.type == "bool":
        return st.booleans()
    if p.type == "int":
        return st.sampled_from([p.default, 0, p.default // 2, p.default * 2]) | st.integers(
            -1 if p.min == -1 else 0, 12)
    return st.sampled_from([p.default, 0.0, p.default / 2, min(p.default * 2, p.max or 9)]) | st.floats(
        0, p.max if p.max is not None else 1.5)


def params(pack: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({p.name: _param(p) for p in named("pack")[pack].params})


# ---- texts ------------------------------------------------------------------------------------------------

_WORDS = ["the", "be", "to", "of", "and", "that", "have", "with", "The", "word", "words", "a", "I", "don't", "it's",
          "extraordinarily", "1234", "3.5", "e.g.", "U.S.", "#", "##", "...", "…", "-", "•", "—", "!", "?", ".", ",",
          '"', "'", "。", "！", "।", "؟", "‼", "lorem", "ipsum", "Lorem Ipsum", "JavaScript", "javascript",
          "\u212aavascript", "JAVASCR\u0130PT", "Terms of Use", "privacy policy", "uses cookies", "use cookies",
          "[1]", "[12]", "[١٢]", "[edit]", "[citation needed]", "[x]", "[", "]", "{", "}", "é", "日本語", "Ünï",
          "😀", "http://example.org/a?b=c", "co-op", "well-known", "(see)", "\x00", "\u00a0", "\t"]
_BREAKS = ["\n", "\n", "\n", "\n\n", "\n\n\n", "\r\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x85", "\u2028",
           "\u2029", " \n ", "\n \n", "\r\n\r\n"]


@st.composite
def _lines(draw: Any) -> str:
    """A text of lines drawn from a few (so lines, paragraphs and n-grams repeat) and breaks of every kind."""
    pool = draw(st.lists(st.lists(st.sampled_from(_WORDS), max_size=14).map(" ".join), min_size=1, max_size=5))
    ends = st.sampled_from(["", ".", "!", "?", "...", '"', "…", " ", "。"])
    parts = []
    for _ in range(draw(st.integers(0, 30))):
        parts.append(draw(st.sampled_from(pool)) + draw(ends))
        parts.append(draw(st.sampled_from(_BREAKS)))
    text = "".join(parts)
    return draw(st.sampled_from(["", " ", "\n", "\r\n"])) + text if draw(st.booleans()) else text


_texts = st.one_of(st.text(max_size=300), _lines(), st.lists(st.sampled_from(_WORDS), max_size=200).map(" ".join))


@pytest.mark.parametrize("pack", PACKS)
@SLOW
@given(texts=st.lists(_texts, min_size=1, max_size=6))
def test_default_parameters(pack: str, texts: list[str]) -> None:
    agree(pack, texts)


@pytest.mark.parametrize("pack", PACKS)
@SLOW
@given(data=st.data(), texts=st.lists(_texts, min_size=1, max_size=6))
def test_other_parameters(pack: str, data: Any, texts: list[str]) -> None:
    agree(pack, texts, data.draw(params(pack)))


EDGES = ["", " ", "\n", "\n\n", "\r\n\r\n", "\r", "\x0b", "\x1c", "\u2028", "\x00", "\x00\n\x00", "word",
         "a\n\na\n\na", "a\r\na\r\na", "a.\na.\na.\n", "x\u2028x\u2028x", "\n\n\nfoo\n\n\nfoo\n\n\n",
         "The be. " * 3, "[1][2] the end. ", "\u212a", "İ", "{", "...", "…\n…\n", "- a\n• b\n- c"]


@pytest.mark.parametrize("pack", PACKS)
def test_edge_texts_and_nulls(pack: str) -> None:
    agree(pack, EDGES)
    for p in ({name: 0 for name in defaults(pack)}, {name: -1 for name in defaults(pack)}):
        agree(pack, EDGES, p)
    got = native(pack, [None, "x", None], defaults(pack))
    assert got[0] == got[2] == (None, None)
    op = named("pack")[pack]  # a sliced large_string array and a chunked one are read at their offsets
    whole = op.kernel(pa.array(EDGES, pa.string()), **defaults(pack))
    sliced = op.kernel(pa.array(["skipped", *EDGES], pa.large_string()).slice(1), **defaults(pack))
    chunked = op.kernel(pa.chunked_array([pa.array(EDGES[:5]), pa.array(EDGES[5:])]), **defaults(pack))
    assert sliced.to_pylist() == chunked.to_pylist() == whole.to_pylist()


@pytest.mark.parametrize("pack", PACKS)
def test_huge_texts(pack: str) -> None:
    line = "The cat sat on the mat with the dog, and that was that. " * 20
    agree(pack, [(line + "\n") * 2000, line * 3000, "x" * 3_000_000, ("a b c d e f\n\n" * 50_000)])


# ---- real documents ---------------------------------------------------------------------------------------


def samples() -> list[str]:
    return [t for t in sample_texts() if t is not None]


@pytest.mark.parametrize("pack", PACKS)
def test_sample_documents(pack: str) -> None:
    agree(pack, samples())


CORPUS = ROOT / "bench/data/corpus.parquet"


@pytest.mark.skipif(not CORPUS.exists(), reason="the bench corpus is not here (bench/data/corpus.parquet)")
@pytest.mark.parametrize("pack", PACKS)
def test_bench_corpus(pack: str) -> None:
    docs = int(os.environ.get("DR_PACKS_CORPUS_DOCS", "300"))  # 2000 takes a minute, the oracle being slow
    texts = pq.read_table(CORPUS, columns=["text"]).column("text").slice(0, docs).to_pylist()
    agree(pack, [t for t in texts if t is not None])


def test_lowercasing_reaches_ascii_only_through_two_characters() -> None:
    """c4 lowercases a line only to look for ASCII phrases: the native side lowercases ASCII letters, KELVIN SIGN and
    `İ`, and leaves the rest, which is exact if no other character lowercases to anything with ASCII in it."""
    others = "".join(chr(cp) for cp in range(0x80, 0x110000) if not 0xD800 <= cp < 0xE000)
    ascii_out = [c for c in others.lower() if c < "\x80"]
    assert ascii_out == ["i", "k"]
    assert chr(0x130).lower() == "i\u0307" and chr(0x212A).lower() == "k"
