"""Phases of the training order: each phase's share of the budget and its own mix, `max_epochs` over the whole
build, overshoot carried from phase to phase in token budgets, a phase a source cannot fill (`on_short: fail`
and `renormalize`), `length_buckets`, `prefix_metadata`, determinism across threads, and the checker's errors.

Every build runs the real `recipe` command on a small corpus written into tmp_path; the numbers asserted are
worked out here, from the recipe's arithmetic and from the shards as DuckDB reads them."""

from __future__ import annotations

import math
import random
import re
from collections import Counter, defaultdict
from fractions import Fraction
from pathlib import Path
from typing import Any

import duckdb
import pytest
from helpers import build, corpus, digest_tree, document, json_events, manifest, ok, recipe, steps, write_jsonl
from models import tiny_tokenizer_dir
from tokenizers import Tokenizer


def q(sql: str, params: list[Any] | None = None) -> list[tuple]:
    with duckdb.connect() as con:
        return con.execute(sql, params or []).fetchall()


def largest_remainder(total: int, shares: list[float]) -> list[int]:
    """Whole parts of `total` in proportion to `shares` that add up to it (largest remainder, ties to the
    first), written out here rather than imported from the code under test. Shares count as the decimals
    they are written as (45 x 70% is 31.5)."""
    exact = [total * Fraction(str(s)) for s in shares]
    parts = [math.floor(x) for x in exact]
    order = sorted(range(len(shares)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def in_order(out: Path, columns: str = "doc_id, source, text, content_hash, meta") -> list[dict[str, Any]]:
    """Every row of the build in training order (shard by shard, row by row), with the shard it is in and the
    phase the manifest gives that shard."""
    phase_of = {s["path"]: s["phase"] for s in manifest(out)["shards"]}
    sql = (f"SELECT {columns}, filename FROM read_parquet('{out}/data/*.parquet', filename = true, "
           "file_row_number = true) ORDER BY filename, file_row_number")
    with duckdb.connect() as con:
        result = con.execute(sql)
        names = [d[0] for d in result.description]
        rows = [dict(zip(names, r, strict=True)) for r in result.fetchall()]
    for row in rows:
        row["shard"] = Path(row.pop("filename")).relative_to(out).as_posix()
        row["phase"] = phase_of[row["shard"]]
    return rows


def shard_names(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in (out / "data").iterdir())


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_tokenizer_dir(tmp_path_factory.mktemp("tok")) / "tokenizer.json"


def token_counts(tokenizer: Path, texts: list[str]) -> list[int]:
    plain = Tokenizer.from_file(str(tokenizer))
    return [len(e.ids) for e in plain.encode_batch(texts, add_special_tokens=False)]


def two_sources(root: Path, long_n: int = 300, short_n: int = 60) -> None:
    write_jsonl(root / "data/long.jsonl", corpus(long_n, seed=11, prefix="l"))
    write_jsonl(root / "data/short.jsonl", corpus(short_n, seed=12, prefix="s"))


SOURCES = """\
recipe "phases" { seed 3 }
source long = jsonl("data/long.jsonl", text: "body", id: "id")
source short = jsonl("data/short.jsonl", text: "body", id: "id")
"""


# ---- phases hold their shares -----------------------------------------------------------------------


def test_each_phase_holds_exactly_its_share_of_the_budget_in_training_order(tmp_path: Path) -> None:
    two_sources(tmp_path, 300, 60)
    text = SOURCES + """\
mix 200 docs { long 50% short 50% max_epochs 3 }
order {
  phase main   first 75%: shuffle
  phase anneal last 25%: mix { short 80%, long 20% }
}
output "build/p" shard 40 rows
"""
    ok(build(tmp_path, text, "--quiet"))
    out = tmp_path / "build/p"
    rows = in_order(out, "doc_id, source")
    assert len(rows) == 200

    # 200 docs split 75% / 25% is 150 and 50; main takes 50/50 of 150, anneal 80/20 of 50.
    main_budget, anneal_budget = largest_remainder(200, [0.75, 0.25])
    assert (main_budget, anneal_budget) == (150, 50)
    main_want = dict(zip(("long", "short"), largest_remainder(main_budget, [0.5, 0.5]), strict=True))
    anneal_want = dict(zip(("short", "long"), largest_remainder(anneal_budget, [0.8, 0.2]), strict=True))
    assert main_want == {"long": 75, "short": 75} and anneal_want == {"short": 40, "long": 10}

    # The phase of a row is where it sits: main is the first 150 rows in training order, anneal the last 50.
    by_position = ["main"] * main_budget + ["anneal"] * anneal_budget
    assert Counter(r["source"] for r in rows[:main_budget]) == main_want
    assert Counter(r["source"] for r in rows[main_budget:]) == anneal_want

    # Shards are cut at the phase boundary (40 + 40 + 40 + 30 rows, then 40 + 10), and never hold two phases;
    # the manifest's label of each shard is the phase of every row in it.
    m = manifest(out)
    assert [s["path"] for s in m["shards"]] == shard_names(out)
    assert [(s["rows"], s["phase"]) for s in m["shards"]] == [
        (40, "main"), (40, "main"), (40, "main"), (30, "main"), (40, "anneal"), (10, "anneal")]
    for row, phase in zip(rows, by_position, strict=True):
        assert row["phase"] == phase, row
    per_shard = defaultdict(set)
    for row in rows:
        per_shard[row["shard"]].add(row["phase"])
    assert all(len(phases) == 1 for phases in per_shard.values())
    last_main = max(i for i, r in enumerate(rows) if r["phase"] == "main")
    first_anneal = min(i for i, r in enumerate(rows) if r["phase"] == "anneal")
    assert last_main < first_anneal

    # The manifest's mixture agrees with the data, per phase and over the build.
    mixture = m["mixture"]
    assert (mixture["unit"], mixture["budget"], mixture["on_short"]) == ("docs", 200, "fail")
    phases = mixture["phases"]
    assert [(p["name"], p["start"], p["end"], p["budget"]) for p in phases] == [
        ("main", 0.0, 0.75, 150), ("anneal", 0.75, 1.0, 50)]
    for p, want in zip(phases, (main_want, anneal_want), strict=True):
        assert {s: v["docs"] for s, v in p["by_source"].items()} == want
        assert "renormalized" not in p
    assert mixture["phases"][1]["by_source"]["short"]["target_share"] == 0.8
    overall = Counter(r["source"] for r in rows)
    assert {s: v["docs"] for s, v in mixture["by_source"].items()} == overall == {"long": 85, "short": 115}
    assert mixture["by_source"]["short"]["target_share"] == pytest.approx(0.75 * 0.5 + 0.25 * 0.8)
    assert mixture["by_source"]["short"]["share"] == pytest.approx(115 / 200)

    # The 115 copies of the 60 short documents are spread as evenly as possible: least-used documents first.
    uses = Counter(r["doc_id"] for r in rows if r["source"] == "short")
    assert len(uses) == 60 and sorted(Counter(uses.values()).items()) == [(1, 5), (2, 55)]


# ---- max_epochs over the whole build -------------------------------------------------------------------


def test_max_epochs_caps_each_document_over_all_phases(tmp_path: Path) -> None:
    # 30 short documents, at most twice each (the cap is given in the anneal phase's mix, and holds over the
    # whole build): main takes 25 of them (50% of 50), anneal 35 (70% of 50) = 60 = 30 x 2.
    two_sources(tmp_path, 300, 30)
    text = SOURCES + """\
mix 100 docs { long 50% short 50% }
order {
  phase main   first 50%: shuffle
  phase anneal last 50%: mix { short 70% max_epochs 2, long 30% }, shuffle
}
output "build/p"
"""
    ok(build(tmp_path, text, "--quiet"))
    rows = in_order(tmp_path / "build/p", "doc_id, source")
    assert len(rows) == 100
    uses = Counter(r["doc_id"] for r in rows if r["source"] == "short")
    assert sum(uses.values()) == 60
    assert max(uses.values()) <= 2
    assert set(uses.values()) == {2} and len(uses) == 30  # the cap is met exactly: every document twice
    long_uses = Counter(r["doc_id"] for r in rows if r["source"] == "long")
    assert set(long_uses.values()) == {1} and len(long_uses) == 25 + 15  # long keeps the default cap of 1
    per_phase = Counter((r["phase"], r["source"]) for r in rows)
    assert per_phase == {("main", "long"): 25, ("main", "short"): 25, ("anneal", "short"): 35,
                         ("anneal", "long"): 15}
    # main took 25 distinct documents; anneal took the 5 main left out, and every document a second time
    main_ids = [r["doc_id"] for r in rows if r["phase"] == "main" and r["source"] == "short"]
    assert len(set(main_ids)) == 25
    anneal_ids = Counter(r["doc_id"] for r in rows if r["phase"] == "anneal" and r["source"] == "short")
    assert len(anneal_ids) == 30 and {d for d, n in anneal_ids.items() if n == 2} == set(uses) - set(main_ids)

    # Without max_epochs (a cap of 1), no document is taken twice, in one phase or across phases.
    two_sources(tmp_path, 300, 60)
    ok(build(tmp_path, text.replace("short 70% max_epochs 2, long 30%", "short 60%, long 40%"), "--quiet"))
    rows = in_order(tmp_path / "build/p", "doc_id, source")
    assert Counter((r["phase"], r["source"]) for r in rows) == {
        ("main", "long"): 25, ("main", "short"): 25, ("anneal", "short"): 30, ("anneal", "long"): 20}
    ids = [r["doc_id"] for r in rows]
    assert len(ids) == len(set(ids)) == 100
    main = {r["doc_id"] for r in rows if r["phase"] == "main"}
    anneal = {r["doc_id"] for r in rows if r["phase"] == "anneal"}
    assert not main & anneal


# ---- token budgets across phases ---------------------------------------------------------------------

TOKEN_LAYOUTS = {
    "three phases": ("""\
  phase main first 70%: shuffle
  phase mid from 70% to 90%: mix { web 30%, wiki 70% }, sort n_tokens desc
  phase anneal last 10%: mix { wiki 100% }
""", [("main", 0.7, None), ("mid", 0.2, {"web": 0.3, "wiki": 0.7}), ("anneal", 0.1, {"wiki": 1.0})]),
    "six phases": ("""\
  shuffle
  phase p1 first 20%
  phase p2 from 20% to 40%
  phase p3 from 40% to 60%
  phase p4 from 60% to 80%: mix { web 30%, wiki 70% }
  phase p5 from 80% to 90%
  phase p6 last 10%: mix { wiki 50%, web 50% }
""", [("p1", 0.2, None), ("p2", 0.2, None), ("p3", 0.2, None), ("p4", 0.2, {"web": 0.3, "wiki": 0.7}),
      ("p5", 0.1, None), ("p6", 0.1, {"wiki": 0.5, "web": 0.5})]),
}


@pytest.mark.parametrize("layout", TOKEN_LAYOUTS)
def test_token_budget_per_phase_carries_overshoot_and_stays_within_a_document(tmp_path: Path, tokenizer: Path,
                                                                             layout: str) -> None:
    web = corpus(3000, seed=1, prefix="w", descending_ids=False)
    wiki = corpus(1000, seed=2, prefix="k", descending_ids=False)
    write_jsonl(tmp_path / "data/web.jsonl", web)
    write_jsonl(tmp_path / "data/wiki.jsonl", wiki)
    steps, phases = TOKEN_LAYOUTS[layout]
    text = f"""\
recipe "tokens" {{ seed 5  tokenizer "{tokenizer}" }}
source web  = jsonl("data/web.jsonl", text: "body", id: "id")
source wiki = jsonl("data/wiki.jsonl", text: "body", id: "id")
mix 100_000 tokens {{ web 60% wiki 40% max_epochs 2 }}
order {{
{steps}}}
output "build/tokens"
"""
    ok(build(tmp_path, text, "--quiet"))
    out = tmp_path / "build/tokens"
    rows = in_order(out, "doc_id, source, text")
    # token counts worked out here with the tokenizer, not read from the build
    for row, n in zip(rows, token_counts(tokenizer, [r["text"] for r in rows]), strict=True):
        row["tokens"] = n
    longest = {s: max(r["tokens"] for r in rows if r["source"] == s) for s in ("web", "wiki")}

    # Shards hold one phase each, in phase order.
    names = [p for p, _, _ in phases]
    seen = list(dict.fromkeys(r["phase"] for r in rows))
    assert seen == names

    default = {"web": 0.6, "wiki": 0.4}
    budgets = largest_remainder(100_000, [w for _, w, _ in phases])
    got: Counter[tuple[str, str]] = Counter()
    for r in rows:
        got[(r["phase"], r["source"])] += r["tokens"]
    running_target: Counter[str] = Counter()
    running_got: Counter[str] = Counter()
    overall_target: Counter[str] = Counter()
    report = []
    for (name, width, own), budget in zip(phases, budgets, strict=True):
        weights = own or default
        targets = dict(zip(weights, largest_remainder(budget, list(weights.values())), strict=True))
        for source, target in targets.items():
            running_target[source] += target
            running_got[source] += got[(name, source)]
            overall_target[source] += width * weights[source]
            report.append((name, source, target, got[(name, source)], running_got[source] - running_target[source]))
        assert {s for (p, s) in got if p == name} == set(targets), name
    for name, source, _, _, drift in report:
        # the running total per source stays within one document of the running target
        assert abs(drift) < longest[source], (layout, name, source, drift, longest, report)
    for name, source, target, taken, _ in report:
        # so each phase gets its target to within one document (the carry from the phase before)
        assert abs(taken - target) < longest[source], (layout, name, source, report)

    total = sum(r["tokens"] for r in rows)
    assert abs(total - 100_000) < sum(longest.values()), (total, report)
    for source, share in overall_target.items():
        got_share = sum(r["tokens"] for r in rows if r["source"] == source) / total
        assert abs(got_share - share) < 0.001, (source, got_share, share, report)
    mixture = manifest(out)["mixture"]
    assert mixture["unit"] == "tokens" and mixture["budget"] == 100_000
    assert [p["budget"] for p in mixture["phases"]] == budgets
    for p in mixture["phases"]:
        for source, entry in p["by_source"].items():
            assert entry["tokens"] == got[(p["name"], source)]
    # no document more than twice over the whole build
    assert max(Counter(r["doc_id"] for r in rows).values()) <= 2


# ---- a phase a source cannot fill ----------------------------------------------------------------------

SHORT_PHASE = SOURCES + """\
mix BUDGET docs { long 70% short 30% max_epochs 2 }
order {
  phase main   first 80%: shuffle
  phase anneal last 20%: mix { short 80%, long 20% }
}
output "build/p"
"""


def test_a_phase_a_source_cannot_fill_fails_with_the_numbers_and_the_largest_budget_that_fits(tmp_path: Path) -> None:
    two_sources(tmp_path, 300, 42)
    ok(build(tmp_path, SHORT_PHASE.replace("BUDGET", str(100)), "--quiet"))
    before = digest_tree(tmp_path / "build/p")

    # 250 docs: main 200 takes 60 short (30%), leaving 42 x 2 - 60 = 24 copies; anneal asks 40 (80% of 50).
    result = build(tmp_path, SHORT_PHASE.replace("BUDGET", str(250)), "--quiet")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    message = " ".join(result.stderr.split())
    assert ("source `short` is short in phase `anneal`: it has 42 docs after filters x 2 epochs = 84, 24 left after "
            "earlier phases, phase `anneal` asks for 40 (80% of 50 docs), short by 16") in message
    assert "`long`" not in message.split("hint")[0]
    assert digest_tree(tmp_path / "build/p") == before
    assert sorted(p.name for p in (tmp_path / "build").iterdir()) == [".p.lock", "p"]

    # The hint's budget builds, and uses every copy the short source may give; one document more does not fit.
    found = re.search(r"the largest budget these sources can fill is ([\d,]+) docs", message)
    assert found, message
    best = int(found.group(1).replace(",", ""))
    # 42 x 2 copies over (80% x 30% + 20% x 80%) = 0.4 of the budget
    assert best == 210
    ok(build(tmp_path, SHORT_PHASE.replace("BUDGET", str(best)), "--quiet"))
    rows = in_order(tmp_path / "build/p", "doc_id, source")
    assert len(rows) == best
    uses = Counter(r["doc_id"] for r in rows if r["source"] == "short")
    assert sum(uses.values()) == 84 and set(uses.values()) == {2}
    more = build(tmp_path, SHORT_PHASE.replace("BUDGET", str(best + 1)), "--quiet")
    assert more.returncode == 1 and "short by 1" in more.stderr, more.stderr


def test_the_suggested_budget_is_one_the_sources_can_fill(tmp_path: Path) -> None:
    # 54 short documents, once each. At 90 docs, main (45) asks 30% = 13.5 and anneal (45) 90% = 40.5 of short;
    # both ties go to the first source, short, so 14 + 41 = 55 > 54: the build fails by one document although
    # 54 / (50% x 30% + 50% x 90%) = 90. The hint must then name a smaller budget, one that builds (89 does).
    two_sources(tmp_path, 300, 54)
    text = SOURCES + """\
mix BUDGET docs { short 30% long 70% }
order {
  phase main   first 50%: shuffle
  phase anneal last 50%: mix { short 90%, long 10% }
}
output "build/p"
"""
    assert largest_remainder(45, [0.3, 0.7])[0] + largest_remainder(45, [0.9, 0.1])[0] == 55
    result = build(tmp_path, text.replace("BUDGET", "90"), "--quiet")
    assert result.returncode == 1 and "short by 1" in result.stderr, result.stderr
    message = " ".join(result.stderr.split())
    found = re.search(r"the largest budget these sources can fill is ([\d,]+) docs", message)
    assert found, message
    best = int(found.group(1).replace(",", ""))
    assert best < 90, f"the hint suggests {best} docs, and a build of 90 docs just failed: {message}"
    ok(build(tmp_path, text.replace("BUDGET", str(best)), "--quiet"))


def test_on_short_renormalize_gives_what_a_short_source_lacks_to_the_others_by_weight(tmp_path: Path) -> None:
    two_sources(tmp_path, 300, 30)
    write_jsonl(tmp_path / "data/mid.jsonl", corpus(200, seed=13, prefix="m"))
    text = SOURCES + """\
source mid = jsonl("data/mid.jsonl", text: "body", id: "id")
mix 200 docs { long 60%, mid 25%, short 15%, on_short: renormalize }
order {
  phase main   first 75%: shuffle
  phase anneal last 25%: mix { short 50%, long 30%, mid 20% }, shuffle
}
output "build/p"
"""
    ok(build(tmp_path, text, "--quiet"))
    out = tmp_path / "build/p"
    rows = in_order(out, "doc_id, source")
    assert len(rows) == 200  # the budget is still met
    main = Counter(r["source"] for r in rows[:150])
    anneal = Counter(r["source"] for r in rows[150:])
    # main: 150 by 60/25/15 is 90, 37.5, 22.5: the tie goes to the first, 90/38/22, which short can give.
    assert main == dict(zip(("long", "mid", "short"), largest_remainder(150, [0.6, 0.25, 0.15]), strict=True))
    assert main == {"long": 90, "mid": 38, "short": 22}
    # anneal asks 25/15/10 of 50; short has 30 - 22 = 8 left and gives all of them; the other 42 go to long
    # and mid by 30:20, 25.2 and 16.8: 25 and 17.
    asked = dict(zip(("short", "long", "mid"), largest_remainder(50, [0.5, 0.3, 0.2]), strict=True))
    assert asked == {"short": 25, "long": 15, "mid": 10}
    rest = dict(zip(("long", "mid"), largest_remainder(50 - 8, [0.6, 0.4]), strict=True))
    assert anneal == {"short": 8, **rest} == {"short": 8, "long": 25, "mid": 17}
    assert {r["phase"] for r in rows[150:]} == {"anneal"}
    shorts = [r["doc_id"] for r in rows if r["source"] == "short"]
    assert len(shorts) == len(set(shorts)) == 30  # every short document, once

    mixture = manifest(out)["mixture"]
    assert mixture["on_short"] == "renormalize"
    assert "renormalized" not in mixture["phases"][0]
    renormalized = mixture["phases"][1]["renormalized"]
    assert renormalized["short"] == {"asked": 25, "got": 8}
    for source, entry in renormalized.items():
        assert entry == {"asked": asked[source], "got": anneal[source]}
    assert {s: v["docs"] for s, v in mixture["phases"][1]["by_source"].items()} == anneal


# ---- a phase's own mix keeps what the main mix says of each source -------------------------------------------

INHERIT = """\
recipe "inherit" { seed 5 }
source py  = jsonl("data/py.jsonl", text: "body", id: "id")
source deb = jsonl("data/deb.jsonl", text: "body", id: "id")
score py  { tech = expr(0) }
score deb { tech = expr(words(text)) }
mix 100 docs { py 65%  deb 35% where tech >= 45 }
order {
  phase main   first 80%: shuffle
  phase anneal last 20%: mix { py 60%, deb 40%ANNEAL }, sort tech desc
}
output "build/p"
"""


def test_a_phase_mix_keeps_the_main_mix_where_of_a_source_unless_it_gives_its_own(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "data/py.jsonl", corpus(200, seed=1, prefix="p"))
    deb = corpus(200, seed=2, prefix="d")
    write_jsonl(tmp_path / "data/deb.jsonl", deb)
    words = {f"deb/{r['id']}": len(r["body"].split()) for r in deb}
    below = {doc_id for doc_id, n in words.items() if n < 45}
    assert 50 < len(below) < 150  # the threshold leaves out a good part of the source, and keeps enough

    # The anneal's `deb 40%` says nothing of `where`: it keeps the main mix's `where tech >= 45`.
    ok(build(tmp_path, INHERIT.replace("ANNEAL", ""), "--quiet"))
    out = tmp_path / "build/p"
    rows = in_order(out, "doc_id, source, tech")
    assert all(r["tech"] == words[r["doc_id"]] for r in rows if r["source"] == "deb")
    anneal = [r for r in rows if r["phase"] == "anneal"]
    assert Counter(r["source"] for r in anneal) == {"py": 12, "deb": 8}
    assert [r["source"] for r in anneal] == ["deb"] * 8 + ["py"] * 12  # sorted by tech desc: py's is 0
    assert all(r["tech"] >= 45 for r in rows if r["source"] == "deb"), [r for r in anneal if r["tech"] < 45]
    # The funnel calls the documents under the threshold what they are, not "over budget".
    funnel = manifest(out)["funnel"]["deb"]
    taken = {r["doc_id"] for r in rows if r["source"] == "deb"}
    assert funnel["left_out_by_mix"] == [{"rule": "where tech >= 45", "dropped": len(below)},
                                         {"rule": "over budget", "dropped": 200 - len(below) - len(taken)}]
    assert "where_by_phase" not in funnel  # one `where` for every phase: the row above says it all
    ledger = q(f"SELECT doc_id FROM '{out}/ledger.parquet' WHERE rule = 'where tech >= 45'")
    assert {doc_id for (doc_id,) in ledger} == below

    # Its own `where` replaces the main mix's, in that phase only; the funnel shows what each phase's left out.
    ok(build(tmp_path, INHERIT.replace("ANNEAL", " where tech >= 60"), "--quiet"))
    rows = in_order(out, "doc_id, source, tech")
    assert all(r["tech"] >= 60 for r in rows if r["source"] == "deb" and r["phase"] == "anneal")
    assert all(r["tech"] >= 45 for r in rows if r["source"] == "deb")
    assert any(r["tech"] < 60 for r in rows if r["source"] == "deb" and r["phase"] == "main")
    funnel = manifest(out)["funnel"]["deb"]
    assert funnel["where_by_phase"] == [
        {"phase": "main", "rule": "where tech >= 45", "excluded": len(below)},
        {"phase": "anneal", "rule": "where tech >= 60", "excluded": sum(n < 60 for n in words.values())}]
    assert steps(funnel["left_out_by_mix"])["where tech >= 45 (phase main), where tech >= 60 (phase anneal)"] == \
        len(below)  # left out by every phase that takes the source
    human = ok(recipe(tmp_path, "report", "build/p")).stdout
    assert re.search(r"phase anneal: where tech >= 60\s+│\s+\d+ not eligible", human), human


RENORMALIZE = SOURCES + """\
filter short { keep words(text) >= WORDS }
mix 200 docs { long 65% short 35%, on_short: renormalize }
order { shuffle }
output "build/p"
"""


def test_a_source_renormalize_leaves_short_or_empty_is_a_warning_and_empty_an_error_with_strict(tmp_path: Path) -> None:
    two_sources(tmp_path, 300, 60)
    keeps = sum(len(r["body"].split()) >= 50 for r in corpus(60, seed=12, prefix="s"))
    assert 10 < keeps < 70  # of the 70 docs (35% of 200) the mix asks

    # Short: a warning in the terminal, a `warning` event in JSON, and the same words in the manifest, the card
    # and `recipe report`.
    result = ok(build(tmp_path, RENORMALIZE.replace("WORDS", "50")))
    out = tmp_path / "build/p"
    mixture = manifest(out)["mixture"]
    assert mixture["short"] == [{"source": "short", "docs": keeps, "share": keeps / 200, "target_share": 0.35,
                                 "renormalized_in": ["all"]}]
    words = (f"source `short` got {keeps / 200:.2%} of the docs, against a target of 35.00%: it ran short, and "
             "`on_short: renormalize` gave what it lacked to the other sources")
    assert f"warning: {words}" in " ".join(result.stderr.split())
    card = (out / "README.md").read_text(encoding="utf-8")
    assert f"> **Warning:** {words}." in card and f"35.00% (renormalized: asked 70, got {keeps} docs)" in card
    assert f"warning: {words}" in " ".join(ok(recipe(tmp_path, "report", "build/p")).stdout.split())
    events = json_events(ok(build(tmp_path, RENORMALIZE.replace("WORDS", "50"), "--json")).stdout)
    warning = next(e for e in events if e["event"] == "warning")
    assert warning == {"event": "warning", "kind": "short_source", **mixture["short"][0], "message": words}
    assert events[-1]["event"] == "done"

    # Empty: a warning even under --quiet; with --strict, an error of the mix stage, with the source's funnel, and
    # the previous build stays.
    empty = RENORMALIZE.replace("WORDS", "1000")
    result = ok(build(tmp_path, empty, "--quiet"))
    assert ("warning: source `short` is in the mix and got NO documents (its target: 35.00% of the docs)"
            in " ".join(result.stderr.split())), result.stderr
    assert manifest(out)["mixture"]["short"][0]["docs"] == 0
    ok(build(tmp_path, RENORMALIZE.replace("WORDS", "50"), "--quiet"))
    before = digest_tree(out)
    strict = build(tmp_path, empty, "--quiet", "--strict")
    assert strict.returncode == 1 and "Traceback" not in strict.stderr
    assert ("error: stage mix: source `short` got no documents (its funnel: read 60, `keep words(text) >= 1000` -60, "
            "kept 0; `keep words(text) >= 1000` removed the most), and the run is `--strict`"
            in " ".join(strict.stderr.split())), strict.stderr
    assert digest_tree(out) == before


# ---- determinism -------------------------------------------------------------------------------------------


def test_phases_with_every_ordering_step_give_identical_bytes_across_threads(tmp_path: Path) -> None:
    web = corpus(1200, seed=21, prefix="w", dups=20)
    for i, row in enumerate(web):
        row["url"] = f"https://web.example.com/{i % 97}/{row['id']}" if i % 5 else ""
    write_jsonl(tmp_path / "data/web/a.jsonl", web[:600])
    write_jsonl(tmp_path / "data/web/b.jsonl", web[600:])
    docs = corpus(150, seed=22, prefix="d")
    for row in docs:
        row["url"] = f"https://docs.example.org/{row['id']}"
    write_jsonl(tmp_path / "data/docs.jsonl", docs)
    text = """\
recipe "det" { seed 41 }
source web  = jsonl("data/web/*.jsonl", text: "body", id: "id")
source docs = jsonl("data/docs.jsonl", text: "body", id: "id")
filter web { dedup exact() }
mix 120KB { web 70% sample_by words(text) temperature 0.5, docs 30% max_epochs 2 }
order {
  shuffle
  phase main   first 60%
  phase mid    from 60% to 85%: mix { web 50% top words(text), docs 50% }, length_buckets(block: 2000, order: "asc")
  phase anneal last 15%: mix { docs 100% }, sort words(text) desc
  prefix_metadata(meta.url, until: 80%, label: "URL: ")
}
output "build/det" shard 100 rows
"""
    out = tmp_path / "build/det"
    digests = []
    for threads in ("1", "2"):
        ok(build(tmp_path, text, "--quiet", "--threads", threads, "--cache", f"cache-{threads}"))
        digests.append(digest_tree(out))
    shards = [n for n in digests[0] if n.startswith("data/")]
    assert len(shards) >= 5
    assert digests[1] == digests[0], "--threads 2 changed the output"
    m = manifest(out)
    assert [p["name"] for p in m["mixture"]["phases"]] == ["main", "mid", "anneal"]
    assert {s["phase"] for s in m["shards"]} == {"main", "mid", "anneal"}
    assert any(r[0].startswith("URL: ") for r in q(f"SELECT text FROM '{out}/data/*.parquet'"))


# ---- length buckets ---------------------------------------------------------------------------------------


def exact_length_text(rng: random.Random, i: int, length: int) -> str:
    body = f"{i:04d} "
    while len(body) < length:
        body += document(rng) + " "
    return body[:length - 1] + "."


BLOCK = 1000
# Byte lengths of the documents and their power-of-two bucket. A block holds the documents that start within
# one 1000-byte stretch of its bucket (so 1000 bytes give or take one document).
LENGTHS = {150: 7, 300: 8, 600: 9}


def test_length_buckets_emit_whole_blocks_of_one_bucket(tmp_path: Path) -> None:
    rng = random.Random(5)
    rows = [{"id": f"e{i:04d}", "body": exact_length_text(rng, i, length)}
            for i, length in enumerate(length for length in LENGTHS for _ in range(120))]
    write_jsonl(tmp_path / "data/eq.jsonl", rows)
    length_of = {f"eq/{r['id']}": len(r["body"].encode()) for r in rows}
    assert sorted(set(length_of.values())) == sorted(LENGTHS)
    text = f"""\
recipe "buckets" {{ seed 8 }}
source eq = jsonl("data/eq.jsonl", text: "body", id: "id")
mix 360 docs {{ eq 100% }}
order {{
  phase mixed first 40%: length_buckets(block: {BLOCK}, order: "shuffle")
  phase up from 40% to 70%: length_buckets(block: {BLOCK}, order: "asc")
  phase down last 30%: length_buckets(block: {BLOCK}, order: "desc")
}}
output "build/b"
"""
    ok(build(tmp_path, text, "--quiet"))
    out = in_order(tmp_path / "build/b", "doc_id, text")
    assert len(out) == len({r["doc_id"] for r in out}) == 360  # every document once
    for r in out:
        assert len(r["text"].encode()) == length_of[r["doc_id"]]
        r["bucket"] = math.floor(math.log2(len(r["text"].encode())))
    phases = {name: [r for r in out if r["phase"] == name] for name in ("mixed", "up", "down")}
    assert [len(p) for p in phases.values()] == [144, 108, 108]

    up = [r["bucket"] for r in phases["up"]]
    down = [r["bucket"] for r in phases["down"]]
    assert up == sorted(up) and len(set(up)) == 3  # short documents first
    assert down == sorted(down, reverse=True) and len(set(down)) == 3  # long first

    # In the shuffled phase, blocks of different buckets alternate; a run of one bucket is one or more whole
    # blocks, so every run but the one holding a bucket's last block reaches a block less one document, and a
    # bucket has at most as many runs as blocks (one per 1000-byte stretch of its documents).
    mixed = phases["mixed"]
    runs: dict[int, list[list[dict[str, Any]]]] = defaultdict(list)
    for i, r in enumerate(mixed):
        if i and mixed[i - 1]["bucket"] == r["bucket"]:
            runs[r["bucket"]][-1].append(r)
        else:
            runs[r["bucket"]].append([r])
    assert len(runs) == 3
    assert sum(len(rs) for rs in runs.values()) >= 6  # the buckets do interleave
    for length, bucket in LENGTHS.items():
        sizes = [len(run) * length for run in runs[bucket]]
        short = [size for size in sizes if size < BLOCK - length]
        assert len(short) <= 1, f"bucket {bucket}: runs of {short} bytes, under a block less one document; {sizes}"
        assert len(sizes) <= -(-sum(sizes) // BLOCK), (bucket, sizes)


# ---- prefix_metadata ------------------------------------------------------------------------------------------


def test_prefix_metadata_prefixes_the_first_share_of_the_order_and_keeps_hashes_and_tokens(tmp_path: Path,
                                                                                        tokenizer: Path) -> None:
    web = corpus(400, seed=31, prefix="w", descending_ids=False)
    for i, row in enumerate(web):
        if i % 11 == 0:
            row["url"] = ""
        elif i % 13 == 0:
            row["url"] = None
        else:
            row["url"] = f"https://example.com/{i % 7}/{row['id']}.html"
    write_jsonl(tmp_path / "data/web.jsonl", web)
    source = {f"web/{r['id']}": r for r in web}
    base = f"""\
recipe "meco" {{ seed 12  tokenizer "{tokenizer}" }}
source web = jsonl("data/web.jsonl", text: "body", id: "id")
mix 15_000 tokens {{ web 100% }}
order {{
  phase main first 70%: shuffle
  phase cool last 30%: sort n_tokens desc
  PREFIX
}}
output "build/NAME" shard 50 rows
"""
    ok(build(tmp_path, base.replace("PREFIX", "").replace("NAME", "plain"), "--quiet", name="plain.recipe"))
    prefix = 'prefix_metadata(meta.url, until: 80%, label: "URL: ", separator: " | ")'
    ok(build(tmp_path, base.replace("PREFIX", prefix).replace("NAME", "meco"), "--quiet", name="meco.recipe"))
    plain = in_order(tmp_path / "build/plain", "doc_id, text, content_hash, n_tokens")
    meco = in_order(tmp_path / "build/meco", "doc_id, text, content_hash, n_tokens")

    # The prefix changes no choice and no position: the same documents in the same order, same hash and tokens.
    assert [r["doc_id"] for r in meco] == [r["doc_id"] for r in plain]
    assert [(r["content_hash"], r["n_tokens"]) for r in meco] == [(r["content_hash"], r["n_tokens"]) for r in plain]
    originals = [source[r["doc_id"]]["body"] for r in meco]
    assert [r["text"] for r in plain] == originals
    hashes = [h for (h,) in q("SELECT md5_number_lower(t) FROM unnest(?::VARCHAR[]) AS u(t)", [originals])]
    assert hashes == [r["content_hash"] for r in meco]
    tokens = token_counts(tokenizer, originals)
    assert tokens == [r["n_tokens"] for r in meco]

    # A row is prefixed when its start (tokens before it, over all tokens) is under 80% and its url is not empty.
    total = sum(tokens)
    before = 0
    prefixed = plain_after = 0
    for r, original, n in zip(meco, originals, tokens, strict=True):
        url = source[r["doc_id"]]["url"]
        if before / total < 0.8 and url:
            assert r["text"] == f"URL: {url} | {original}", r["doc_id"]
            prefixed += 1
        else:
            assert r["text"] == original, (r["doc_id"], before / total)
            plain_after += before / total >= 0.8
        before += n
    assert prefixed > 100 and plain_after > 20
    # the cut falls inside the second phase, where documents come longest first
    assert {r["phase"] for r in meco} == {"main", "cool"}
    cut = next(i for i, r in enumerate(meco) if sum(tokens[:i]) / total >= 0.8)
    assert meco[cut]["phase"] == "cool" and meco[cut - 1]["phase"] == "cool"


def test_prefix_metadata_in_docs_counts_rows_whatever_order_the_phases_are_written_in(tmp_path: Path) -> None:
    rows = [{"id": f"u{i:03d}", "body": f"document number {i} " * 5, "url": f"https://x.org/{i}"} for i in range(100)]
    write_jsonl(tmp_path / "data/u.jsonl", rows)
    text = """\
recipe "u" { seed 3 }
source u = jsonl("data/u.jsonl", text: "body", id: "id")
mix 100 docs { u 100% }
order {
  phase anneal last 20%: sort text desc
  phase main first 80%: shuffle
  prefix_metadata(meta.url, until: 90%, label: "URL: ")
}
output "build/u" shard 30 rows
"""
    ok(build(tmp_path, text, "--quiet"))
    out = tmp_path / "build/u"
    # training order, not the order written: main's 80 rows (shards of 30, 30, 20), then anneal's 20
    assert [(s["rows"], s["phase"]) for s in manifest(out)["shards"]] == [(30, "main"), (30, "main"), (20, "main"),
                                                                          (20, "anneal")]
    got = in_order(out, "doc_id, text")
    body = {f"u/{r['id']}": r for r in rows}
    anneal = [r["text"] for r in got[80:]]
    assert [body[r["doc_id"]]["body"] for r in got[80:]] == sorted((body[r["doc_id"]]["body"] for r in got[80:]),
                                                                  reverse=True)
    # a row starts at i/100 of the order: rows 0..89 start below 90% and carry the prefix, with the default
    # separator (a blank line); rows 90..99 are as they were
    for i, r in enumerate(got):
        original = body[r["doc_id"]]
        want = f"URL: {original['url']}\n\n{original['body']}" if i < 90 else original["body"]
        assert r["text"] == want, (i, r["text"][:80])
    assert sum(t.startswith("URL: ") for t in anneal) == 10


# ---- the checker ----------------------------------------------------------------------------------------------

CHECK_HEAD = """\
recipe "c" { seed 1 }
source long = jsonl("data/long.jsonl", text: "body", id: "id")
source short = jsonl("data/short.jsonl", text: "body", id: "id")
"""
MIX = "mix 100 docs { long 50% short 50% }\n"


@pytest.mark.parametrize("body, line, col, message, hint", [
    pytest.param(MIX + "order {\n  phase main first 70%\n  phase anneal last 20%\n}\n", 7, 16,
                 "no phase covers 70% to 80% of the training order", "tile", id="gap"),
    pytest.param(MIX + "order {\n  phase main first 50%\n  phase mid from 50% to 80%\n}\n", 7, 13,
                 "no phase covers 80% to 100% of the training order", "tile", id="gap-at-end"),
    pytest.param(MIX + "order {\n  phase main first 80%\n  phase anneal last 30%\n}\n", 7, 16,
                 "phases `main` and `anneal` overlap from 70% to 80%", "overlapping", id="overlap"),
    pytest.param("order {\n  phase main first 80%\n  phase anneal last 20%\n}\n", 5, 3,
                 "phases split the mix's budget, and there is no `mix` block", "mix", id="phases-without-mix"),
    pytest.param(MIX + "order {\n  phase main first 80%\n  phase anneal last 20%\n  shuffle\n}\n", 8, 3,
                 "an ordering step after a phase belongs to no phase", "join it to the phase", id="step-after-phase"),
    pytest.param(MIX + "order {\n  phase main first 80%: length_buckets(block: 100), shuffle\n"
                 "  phase anneal last 20%\n}\n", 6, 3,
                 "`length_buckets` orders a phase by itself; it does not combine with other steps",
                 "alone", id="length-buckets-with-shuffle"),
    pytest.param(MIX + "order {\n  phase main first 80%: prefix_metadata(meta.url)\n  phase anneal last 20%\n}\n",
                 6, 25, "`prefix_metadata` applies to the whole order, not to one phase", "top level",
                 id="prefix-in-phase"),
    pytest.param("mix 100 docs { long 50% short 50% max_epochs 2 }\norder {\n  phase main first 80%\n"
                 "  phase anneal last 20%: mix { long 50%, short 50% max_epochs 3 }\n}\n", 7, 63,
                 "`max_epochs` of `short` is already 2 (line 4)", "give it once", id="conflicting-max-epochs"),
    pytest.param("mix 100 docs { long 50% short 50% max_epochs 1.5 }\norder { shuffle }\n", 4, 46,
                 "`max_epochs` is a number of passes, at least 1", "whole number", id="fractional-max-epochs"),
    pytest.param("mix 100 docs { long 50% short 50% max_epochs 0 }\norder { shuffle }\n", 4, 46,
                 "`max_epochs` is a number of passes, at least 1", "whole number", id="zero-max-epochs"),
    pytest.param(MIX + "order { length_bucket(block: 100) }\n", 5, 9,
                 "unknown ordering step `length_bucket`", "did you mean `length_buckets`?", id="unknown-step"),
    pytest.param(MIX + 'order { length_buckets(block: 100, order: "up") }\n', 5, 43,
                 "`order` of `length_buckets` must be one of shuffle, asc, desc", "asc", id="bad-bucket-order"),
    pytest.param("mix 100 docs { long 50% short 50% on_short: ignore }\norder { shuffle }\n", 4, 45,
                 "`on_short` is one of fail, renormalize", "renormalize", id="bad-on-short"),
    pytest.param("mix 100 docs { long 50% short 50% on_shortage: fail }\norder { shuffle }\n", 4, 35,
                 "unknown mix setting `on_shortage`", "did you mean `on_short`?", id="unknown-mix-setting"),
    pytest.param(MIX + "order {\n  phase main first 80%\n  phase main last 20%\n}\n", 7, 9,
                 "phase `main` is declared twice", "own name", id="duplicate-phase"),
    pytest.param("score long { q = expr(words(text)) }\n" + MIX + "order {\n  phase main first 80%\n"
                 "  phase anneal last 20%: sort q desc\n}\n", 8, 31,
                 "`q` is a score of `long` only, and phase `anneal` also takes `short`: without `q`, those documents "
                 "would all sort after the scored ones, and the phase would not be mixed",
                 "give `short` a `q` too (e.g. `score short { q = expr(0) }`)", id="sort-by-a-score-a-source-lacks"),
    pytest.param("score long { q = expr(words(text)) }\n" + MIX + "order { sort q desc }\n", 6, 14,
                 "`q` is a score of `long` only, and the mix also takes `short`", "`shuffle`",
                 id="sort-by-a-score-a-source-lacks-without-phases"),
])
def test_check_rejects_bad_phases_and_mix_settings(tmp_path: Path, body: str, line: int, col: int, message: str,
                                                  hint: str) -> None:
    two_sources(tmp_path, 20, 10)
    (tmp_path / "c.recipe").write_text(CHECK_HEAD + body + 'output "build/c"\n', encoding="utf-8")
    result = recipe(tmp_path, "check", "c.recipe")
    assert result.returncode == 2, result.stdout + result.stderr
    printed = result.stdout + result.stderr
    assert "Traceback" not in printed
    assert f"c.recipe:{line}:{col}: error: {message}" in printed, printed
    assert hint in printed.split("hint:", 1)[1], printed
    assert printed.count(": error: ") == 1, printed


def test_check_accepts_a_sort_by_a_score_every_source_of_the_phase_has(tmp_path: Path) -> None:
    two_sources(tmp_path, 20, 10)
    body = ("score long { q = expr(words(text)) }\nmix 100 docs { long 50%, short 50% }\norder {\n"
            "  phase main first 80%: shuffle\n  phase anneal last 20%: mix { long 100% }, sort q desc\n}\n")
    (tmp_path / "c.recipe").write_text(CHECK_HEAD + body + 'output "build/c"\n', encoding="utf-8")
    result = recipe(tmp_path, "check", "c.recipe")
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_accepts_a_full_phase_layout(tmp_path: Path) -> None:
    two_sources(tmp_path, 20, 10)
    body = """\
mix 100 docs { long 50%, short 50% max_epochs 2, on_short: renormalize }
order {
  shuffle
  phase main   first 60%
  phase mid    from 60% to 90%: mix { long 40%, short 60% max_epochs 2 }, length_buckets(block: 500, order: "desc")
  phase anneal last 10%: sort words(text) desc
  prefix_metadata(meta.url, until: 90%, label: "URL: ", separator: "\\n\\n")
}
"""
    (tmp_path / "c.recipe").write_text(CHECK_HEAD + body + 'output "build/c"\n', encoding="utf-8")
    result = recipe(tmp_path, "check", "c.recipe")
    assert result.returncode == 0, result.stdout + result.stderr
