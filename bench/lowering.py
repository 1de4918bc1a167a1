"""A/B of two lowerings of the text functions words, mean_word_length, alpha_ratio, uppercase_ratio and
digit_ratio: the Arrow kernels in operators/functions.py against the
RE2-regex DuckDB macros they replaced, on the same documents in one process.

    .venv/bin/python bench/lowering.py [--docs 60000] [--quick]

The last line is a JSON object: docs, seconds for each lowering (best of 2), and the speedup.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow.dataset as ds

sys.path.insert(0, str(Path(__file__).parent))
from datarecipe.compiler import kernels  # noqa: E402
from spine import corpus  # noqa: E402

REGEX_MACROS = [
    r"CREATE MACRO m_words(text) AS (length(regexp_extract_all(text, '\S+')))",
    r"CREATE MACRO m_mwl(text) AS (coalesce(list_avg(list_transform(regexp_extract_all(text, '\S+'),"
    r" lambda w: length(w))), 0))",
    r"CREATE MACRO m_alpha(text) AS (length(regexp_replace(text, '[^\pL]', '', 'g'))"
    r" / greatest(length(regexp_replace(text, '\s', '', 'g')), 1))",
    r"CREATE MACRO m_upper(text) AS (length(regexp_replace(text, '[^\p{Lu}]', '', 'g'))"
    r" / greatest(length(regexp_replace(text, '[^\pL]', '', 'g')), 1))",
    r"CREATE MACRO m_digit(text) AS (length(regexp_replace(text, '[^\pN]', '', 'g'))"
    r" / greatest(length(regexp_replace(text, '\s', '', 'g')), 1))",
]
QUERY = ("SELECT count(*) FROM docs WHERE {p}_words(text) >= 50 AND {p}_mwl(text) BETWEEN 3 AND 10"
         " AND (length(text) - length(replace(text, '#', ''))) / greatest({p}_words(text), 1) < 0.1"
         " AND {p}_alpha(text) >= 0.6 AND {p}_upper(text) < 0.4 AND {p}_digit(text) < 0.5")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=60_000)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    docs = 8_000 if args.quick else args.docs
    with tempfile.TemporaryDirectory() as tmp:
        corpus(Path(tmp) / "data", docs)
        con = duckdb.connect()
        con.execute("SET enable_progress_bar = false")
        con.execute("SET threads = 2")
        con.register("raw", ds.dataset(str(Path(tmp) / "data"), format="json"))
        con.execute("CREATE TABLE docs AS SELECT text FROM raw")
    text = duckdb.sqltype("VARCHAR")
    con.create_function("k_words", kernels.words, [text], duckdb.sqltype("DOUBLE"), type="arrow")
    for name, kernel in (("k_mwl", kernels.mean_word_length), ("k_alpha", kernels.alpha_ratio),
                         ("k_upper", kernels.uppercase_ratio), ("k_digit", kernels.digit_ratio)):
        con.create_function(name, kernel, [text], duckdb.sqltype("DOUBLE"), type="arrow")
    for sql in REGEX_MACROS:
        con.execute(sql)
    seconds: dict[str, float] = {}
    counts = {}
    for prefix in ("k", "m", "k", "m"):
        start = time.perf_counter()
        counts[prefix] = con.execute(QUERY.format(p=prefix)).fetchone()
        took = time.perf_counter() - start
        seconds[prefix] = min(seconds.get(prefix, took), took)
    con.close()
    if counts["k"] != counts["m"]:
        sys.exit(f"the lowerings disagree: {counts}")
    print(json.dumps({"docs": docs, "kernel_s": round(seconds["k"], 2), "regex_macro_s": round(seconds["m"], 2),
                      "speedup": round(seconds["m"] / seconds["k"], 2)}))


if __name__ == "__main__":
    main()
