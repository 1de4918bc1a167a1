"""The native key of `dedup exact(normalize: true)` (native/src/normkey.rs, the DuckDB function `dr_exact_key`) is
the value of the SQL it replaced, bit for bit, so the same documents are kept and the keys themselves are unchanged:
on arbitrary Unicode of every plane, Greek final sigma, U+0130, KELVIN SIGN, CRLF, NULs, empty and huge texts, the
sample documents and the bench corpus; and the table native/gen_normkey.py generated matches the running DuckDB."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datarecipe.operators.dedup import exact
from helpers import sample_texts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "bench/data/corpus.parquet"

# The oracle: the SQL `dedup exact(normalize: true)` was lowered to before the native key.
NORMALIZED = r"trim(regexp_replace(lower(t), '[^\pL\pN]+', ' ', 'g'))"
SQL_KEY = f"md5_number_lower({NORMALIZED})"


@cache
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    for name, kernel, args, result in exact.UDFS:
        c.create_function(name, kernel, [duckdb.sqltype(a) for a in args], duckdb.sqltype(result), type="arrow")
    return c


def sql(texts: list[str | None]) -> tuple[list[str | None], list[int | None]]:
    """(normalized texts, keys) as the SQL computes them."""
    c = con()
    c.register("docs", pa.table({"i": pa.array(range(len(texts))), "t": pa.array(texts, pa.large_string())}))
    rows = c.execute(f"SELECT {NORMALIZED}, {SQL_KEY} FROM docs ORDER BY i").fetchall()
    c.unregister("docs")
    return [r[0] for r in rows], [r[1] for r in rows]


def agree(texts: list[str | None]) -> None:
    """The native normalized texts and keys are the SQL's."""
    want_text, want_key = sql(texts)
    array = pa.array(texts, pa.large_string())
    got_text = exact.normalized(array).to_pylist()
    got_key = exact.normalized_key(array).to_pylist()
    for text, gt, wt, gk, wk in zip(texts, got_text, want_text, got_key, want_key, strict=True):
        assert gt == wt, f"normalized {text[:200]!r}" if text is not None else "null"
        assert gk == wk, f"key of {text[:200]!r}" if text is not None else "null"


# ---- the table ---------------------------------------------------------------------------------------------------

def code_points() -> list[int]:
    """Every code point below U+3000, and a sample of the rest (every 7th, and the ends of the table's range)."""
    cps = set(range(0x3000)) | set(range(0x3000, 0x110000, 7)) | set(range(0x1E900, 0x1E960))
    cps |= set(range(0x323A0, 0x32500)) | set(range(0xE0000, 0xE0100)) | {0x10FFFF, 0xFFFD, 0xFEFF}
    return sorted(cp for cp in cps if not 0xD800 <= cp < 0xE000)


def test_the_table_is_the_running_duckdbs() -> None:
    """Each code point alone, between letters and between spaces: lowercased or a separator, as DuckDB has it
    (a failure here means native/gen_normkey.py must be run again for this DuckDB)."""
    cps = code_points()
    agree([chr(cp) for cp in cps])
    agree([f"A{chr(cp)}b" for cp in cps[::3]])
    agree([f" {chr(cp)}{chr(cp)} . " for cp in cps[1::3]])


def test_the_table_was_generated_from_this_duckdb() -> None:
    from datarecipe.operators.native import lib

    ffi, native = lib()
    assert ffi.string(native.dr_normkey_duckdb_version()).decode() == duckdb.__version__


# ---- the cases worth naming --------------------------------------------------------------------------------------

NAMED = [
    "", " ", "   ", "\0", "a\0b", "\0\0x\0", ".", "a", "A", "Hello, World!", "  Hello,   World!!  ", "x" * 3,
    "ΟΔΥΣΣΕΥΣ", "ὈΔΥΣΣΕΎΣ ΣΑΣ", "σας Σ", "İstanbul", "\u0130\u0307", "\u212a\u212b", "ǅǈǋ", "ẞ", "ﬀ ﬁ",
    "Ⱥ Ⱦ", "line\r\nline\rline\nline", "\t\x0b\x0c\x1c\x1d\x1e\x1f\x85\u2028\u2029", "\u00a0\u3000\u200b\ufeff",
    "١٢٣ ٤", "Ⅻ ⅻ ① ½ ²", "日本語のテキスト、です。", "한국어 텍스트", "🙂 emoji 🙂👍🏽", "𝐀𝐁𝐂 𝔄", "e\u0301 é",
    "\U000e0041\U000e0042", "\U0010ffff\U000f0000", "Ꭰ ꭰ", "𐐀𐐨", "𞤀𞤢", "a_b-c.d", "x'y\"z", "ⓐⒶ",
    "KELVIN \u212a, ANGSTROM \u212b, OHM \u2126",
]


def test_named_cases() -> None:
    agree(NAMED)


def test_nulls_are_null() -> None:
    agree([None, "a", None, "", None])
    assert exact.normalized_key(pa.array([None, None], pa.string())).to_pylist() == [None, None]


def test_huge_texts() -> None:
    """1 MB texts: ASCII words, every script at once, separators only, and one long word."""
    base = "".join(NAMED)
    agree([("Word, word; WORD. " * 60_000)[:1_000_000], (base * (1_000_000 // len(base) + 1))[:1_000_000],
           " .,;\n" * 200_000, "A" * 1_000_000])


# ---- arbitrary Unicode ----------------------------------------------------------------------------------------

_any = st.characters(blacklist_categories=("Cs",))  # every plane, no surrogates (DuckDB text is UTF-8)
_pieces = st.sampled_from(NAMED + ["\r\n", "\n\n", "Σ", "ς", "σ", "İ", "\u212a", "\0", " ", ".", "Ⱥ", "ǅ"])
_texts = st.one_of(
    st.text(_any, max_size=200),
    st.lists(st.one_of(_pieces, st.text(_any, max_size=5)), max_size=40).map("".join),
    st.lists(st.sampled_from(["The", "the", "ΣΑΣ", "ς", "ok", "42", "ı", "İ", "ß", "\u212a"]) | _pieces,
             max_size=40).map(" ".join),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.none(), _texts), max_size=20))
def test_arbitrary_unicode(texts: list[str | None]) -> None:
    agree(texts)


# ---- real documents ---------------------------------------------------------------------------------------------

def samples() -> list[str]:
    return [t for t in sample_texts() if t is not None]


def test_sample_documents() -> None:
    agree(samples())


@pytest.mark.skipif(not CORPUS.exists(), reason="the bench corpus is not here (bench/data/corpus.parquet)")
def test_bench_corpus() -> None:
    agree(pq.read_table(CORPUS, columns=["text"]).column("text").slice(0, 2000).to_pylist())


# ---- in DuckDB, as a build runs it ----------------------------------------------------------------------------

def test_the_registered_function_is_the_sql_key(tmp_path: Path) -> None:
    """`dr_exact_key` as the build's session registers it, over batches DuckDB cuts (2,048 rows and more), with
    nulls: the SQL key of every row."""
    from datarecipe.runtime.session import connect

    texts = [None if i % 97 == 0 else f"Doc {i % 1000}: {NAMED[i % len(NAMED)]}" for i in range(10_000)]
    c = connect("", threads=2, memory_limit="1GB", spill_dir=tmp_path / "spill", failures=[])
    c.register("docs", pa.table({"i": pa.array(range(len(texts))), "t": pa.array(texts, pa.string())}))
    mismatches = c.execute(f"SELECT count(*) FROM (SELECT t, t AS text FROM docs) "
                           f"WHERE {SQL_KEY} IS DISTINCT FROM {exact.key(True, False)}").fetchone()
    assert mismatches == (0,)
    assert exact.key(True, False) == exact.key(True, True) == "dr_exact_key(text)"
