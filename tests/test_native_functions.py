"""The native text functions (native/src/textfns.rs) give exactly what the kernels and macros they replaced gave
(tests/oracle/functions.py), value for value and null for null: on arbitrary Unicode, line breaks of every kind,
NULs, empty and huge texts, sliced and chunked arrays, every code point, the sample documents and the bench
corpus."""

from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datarecipe.compiler.lower import macros_sql
from datarecipe.compiler.plan import Plan
from datarecipe.operators import duplicate_line_ratio, functions
from datarecipe.operators.native import NativeError, Texts, check, lib, numbers
from datarecipe.runtime.executors.local import LocalEngine
from helpers import sample_texts
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import functions as oracle

ROOT = Path(__file__).resolve().parent.parent

# The kernels, native and oracle, as functions of an Arrow array.
KERNELS = {name: (getattr(functions, name), getattr(oracle, name))
           for name in ("words", "mean_word_length", "alpha_ratio", "uppercase_ratio", "digit_ratio")}
KERNELS |= {f"stopwords_{lang}": (lambda t, lang=lang: functions.stopwords(lang, t),
                                  lambda t, lang=lang: oracle.stopwords(lang, t)) for lang in functions.STOPWORDS}
KERNELS["duplicate_line_ratio"] = (duplicate_line_ratio.duplicate_line_ratio, oracle.duplicate_line_ratio)
MACROS = ("lines", "bullet_line_ratio", "ellipsis_line_ratio")


def agree(array: pa.Array | pa.ChunkedArray, kernels: tuple[str, ...] = tuple(KERNELS), macros: bool = True) -> None:
    """Every native kernel gives its oracle's values, nulls included, bit for bit."""
    whole = array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
    for name in kernels:
        native, python = KERNELS[name]
        got, want = native(array), python(whole)
        assert got.type == pa.float64() and len(got) == len(whole), name
        if not got.equals(want):
            rows = [i for i, (g, w) in enumerate(zip(got.to_pylist(), want.to_pylist(), strict=True)) if g != w]
            raise AssertionError(f"{name}: {len(rows)} rows differ, first {whole[rows[0]].as_py()!r}: "
                                 f"native {got[rows[0]]}, oracle {want[rows[0]]}")
    if macros:
        agree_with_macros(whole)


@cache
def duckdb_session() -> object:
    """A session with the old macros as `old_NAME(text)`, beside the native `dr_NAME`."""
    con = LocalEngine(Plan("stub", "", macros_sql(), ()), None,  # type: ignore[arg-type]
                      cache_dir=Path(tempfile.mkdtemp()), threads=1).connect()
    for name, body in oracle.MACROS.items():
        con.execute(f"CREATE OR REPLACE MACRO old_{name}(text) AS ({body})")
    return con


def agree_with_macros(array: pa.Array) -> None:
    """The line functions, now native kernels, give what their DuckDB macros gave, in DuckDB."""
    con = duckdb_session()
    table = pa.table({"i": pa.array(range(len(array)), pa.int64()), "text": array.cast(pa.string())})
    con.register("texts", table)  # type: ignore[attr-defined]
    try:
        for name in MACROS:
            rows = con.execute(  # type: ignore[attr-defined]
                f"SELECT i, text, old_{name}(text)::DOUBLE, dr_{name}(text) FROM texts"
                f" WHERE old_{name}(text)::DOUBLE IS DISTINCT FROM dr_{name}(text) ORDER BY i LIMIT 1").fetchall()
            assert not rows, f"{name}: {rows[0][1]!r}: macro {rows[0][2]}, native {rows[0][3]}"
    finally:
        con.unregister("texts")  # type: ignore[attr-defined]


BREAKS = ["\n", "\r\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\x00", "\t",
          " ", "\u00a0", "\u3000"]
PIECES = ["The", "the", "THE", "be", "to", "of", "and", "that", "have", "with", "der", "die", "und", "ist", "le",
          "la", "les", "que", "y", "los", "İs", "\u212aey", "straße", "ÀÉÎ", "日本語", "٣٤", "Ⅻ", "①", "½", "🙂",
          "x\u200by", "...", "…", "- item", "• item", "* item", "– item", "·", "‣", "◦", "⁃", "∙", "#", "a\ua7cbthe",
          "\U00011f04the", "\u0130", "ǅ", "ß", "ﬁ", "\U0001d400", "0", "42", "    - x", "\t• y", "  ...  "]
chunks = st.one_of(st.text(max_size=40), st.sampled_from(BREAKS), st.sampled_from(PIECES),
                   st.text(st.characters(codec="utf-8"), max_size=8))
documents = st.lists(chunks, max_size=30).map("".join)
batches = st.lists(st.one_of(st.none(), documents), max_size=10)


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(batches, st.integers(0, 3))
def test_native_kernels_match_the_oracle_on_any_text(values: list[str | None], cut: int) -> None:
    agree(pa.array(["pad\n"] * cut + values, pa.string()).slice(cut))  # a slice: offsets must be honoured


@settings(max_examples=20, deadline=None, derandomize=True, database=None)
@given(st.lists(batches, min_size=1, max_size=4))
def test_chunked_arrays(parts: list[list[str | None]]) -> None:
    agree(pa.chunked_array([pa.array(p, pa.string()) for p in parts], pa.string()))


def test_edge_batches() -> None:
    for values in ([], [None], [None, None], [""], ["", None, ""], ["\x00"], ["\n"], ["\n\n\n"], ["\r\n"], [" \n"]):
        agree(pa.array(values, pa.string()))
    agree(pa.array(["x\n", None, "y"], pa.large_string()).slice(1))


def test_huge_documents() -> None:
    line = "The cat... and THE hat, to be with-that ÀÉÎ 日本語 ٣٤ 🙂\n- item\n"
    huge = line * (1_000_000 // len(line.encode()))
    agree(pa.array([huge, huge.replace("\n", "\r\n"), "x" * 1_000_000, "\n" * 1_000_000, None], pa.string()))


def test_every_code_point() -> None:
    """Each code point alone, as a line, beside and inside a stop word: the character classes, whitespace, the
    letters Arrow's lowercasing and RE2 saw (textfns.rs LATER_LETTERS) and the two non-ASCII characters that
    lowercase into a stop word (`İst`) are the same for every code point."""
    cps = [chr(cp) for cp in range(0x110000) if not 0xD800 <= cp < 0xE000]
    agree(pa.array(cps, pa.string()), ("words", "alpha_ratio", "uppercase_ratio", "digit_ratio"), macros=False)
    agree(pa.array([f"{c}\nthe{c} {c}st\n{c}" for c in cps], pa.string()),
          ("stopwords_en", "stopwords_de", "duplicate_line_ratio"), macros=False)
    agree_with_macros(pa.array([f"{c}- x\n{c}...{c}\n{c}" for c in cps], pa.string()))


def test_stop_word_lists_are_the_declared_ones() -> None:
    """The native lists (textfns.rs STOPWORD_LISTS) are operators/functions.py's STOPWORDS, in its order."""
    everything = " ".join(w for words in functions.STOPWORDS.values() for w in words)
    for lang, words in functions.STOPWORDS.items():
        assert functions.stopwords(lang, pa.array([" ".join(words), everything])).to_pylist()[0] == len(words)
        assert functions.stopwords(lang, pa.array([everything])).equals(oracle.stopwords(lang, pa.array([everything])))


def test_bullets_are_the_declared_ones() -> None:
    got = functions.bullet_line_ratio(pa.array([f"{b} x" for b in functions.BULLETS] + ["+ x"])).to_pylist()
    assert got == [1.0] * len(functions.BULLETS) + [0.0]


def test_unknown_function_is_an_error() -> None:
    texts = Texts(pa.array(["x"]))
    out, pointer = numbers(1)
    with pytest.raises(NativeError, match="unknown text function"):
        check(lib()[1].dr_text_function(99, 0, *texts.args(), pointer))
    with pytest.raises(NativeError, match="unknown stop-word list"):
        check(lib()[1].dr_text_function(functions.NATIVE["stopwords"], 9, *texts.args(), pointer))


def samples() -> list[str | None]:
    return list(sample_texts())


# The big batches: one stop-word list (test_stop_word_lists_are_the_declared_ones checks them all), as the oracle's
# lists cost the most.
BIG = ("words", "mean_word_length", "alpha_ratio", "uppercase_ratio", "digit_ratio", "stopwords_en",
       "duplicate_line_ratio")


def test_sample_documents() -> None:
    agree(pa.array(samples(), pa.string()), BIG)


CORPUS = ROOT / "bench/data/corpus.parquet"


@pytest.mark.skipif(not CORPUS.exists(), reason="the bench corpus is not here (bench/data/corpus.parquet)")
def test_bench_corpus() -> None:
    agree(pq.read_table(CORPUS, columns=["text"]).column("text").slice(0, 2000), BIG)
