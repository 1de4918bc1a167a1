"""`recipe diff` and `recipe report` on two builds of recipes/example.recipe: as it is, and with the pydocs and
handbook weights moved by five points. The expected numbers come from the shards, read here with DuckDB."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
from datarecipe.compiler.language.checker import check
from datarecipe.compiler.language.parser import parse
from helpers import manifest, ok, recipe, steps

ROOT = Path(__file__).resolve().parent.parent
CHANGES = {"  pydocs   50%": "  pydocs   55%", "handbook 35%": "handbook 30%",
           'output "build/example"': 'output "build/example2"'}


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """The project directory, the example build, and the build with the changed weights (sharing a cache)."""
    root = tmp_path_factory.mktemp("report")
    (root / "data").symlink_to(ROOT / "data")
    text = (ROOT / "recipes/example.recipe").read_text(encoding="utf-8")
    changed = text
    for old, new in CHANGES.items():
        assert changed.count(old) == 1
        changed = changed.replace(old, new)
    (root / "a.recipe").write_text(text, encoding="utf-8")
    (root / "b.recipe").write_text(changed, encoding="utf-8")
    for name in ("a.recipe", "b.recipe"):
        ok(recipe(root, "run", name, "--quiet", "--cache", "cache"))
    return root, root / "build/example", root / "build/example2"


def hashes(build: Path) -> dict[str, dict[int, set[str]]]:
    """Per source, each content hash in the build's shards with the doc_ids that carry it."""
    out: dict[str, dict[int, set[str]]] = {}
    rows = duckdb.execute(f"SELECT source, content_hash, doc_id FROM '{build}/data/*.parquet'").fetchall()
    for source, content_hash, doc_id in rows:
        out.setdefault(source, {}).setdefault(content_hash, set()).add(doc_id)
    return out


def only_in(new: dict[str, dict[int, set[str]]], old: dict[str, dict[int, set[str]]]) -> dict[str, Any]:
    old_all = {h for by_hash in old.values() for h in by_hash}
    by_source = {source: {h: ids for h, ids in by_hash.items() if h not in old_all} for source, by_hash in new.items()}
    every = {h: ids for by_hash in by_source.values() for h, ids in by_hash.items()}
    return {"total": len(every), "examples": sorted(set().union(*every.values()))[:5],
            "by_source": {source: {"count": len(by_hash), "examples": sorted(set().union(*by_hash.values()))[:5]}
                          for source, by_hash in by_source.items() if by_hash}}


def run_json(cwd: Path, *args: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(ok(recipe(cwd, *args, "--json")).stdout)
    return result


def test_diff_counts_documents_added_and_removed_by_content_hash(builds: tuple[Path, Path, Path]) -> None:
    root, a, b = builds
    changes = run_json(root, "diff", "build/example", "build/example2")
    ha, hb = hashes(a), hashes(b)
    for side, expected in (("added", only_in(hb, ha)), ("removed", only_in(ha, hb))):
        got = changes["documents"][side]
        assert got == expected
    assert changes["documents"]["added"]["by_source"]["pydocs"]["count"] > 0  # more pydocs...
    assert changes["documents"]["removed"]["by_source"]["handbook"]["count"] > 0  # ...fewer handbook pages
    docs = [dict(duckdb.execute(f"SELECT source, count(*) FROM '{build}/data/*.parquet' GROUP BY ALL").fetchall())
            for build in (a, b)]
    assert {source: counts["docs"] for source, counts in changes["sources"].items()} == \
        {source: {"a": docs[0][source], "b": docs[1][source], "change": docs[1][source] - docs[0][source]}
         for source in docs[0]}
    assert {(r["source"], r["step"]) for r in changes["funnel"]} >= {("pydocs", "selected"), ("handbook", "selected")}
    assert all(not r["step"].startswith(("keep", "drop", "dedup")) for r in changes["funnel"])  # same filters
    assert changes["inputs"] == []


def test_diff_shows_exactly_the_changed_recipe_lines(builds: tuple[Path, Path, Path]) -> None:
    root, _, _ = builds
    lines = run_json(root, "diff", "build/example", "build/example2")["recipe"]["diff"]
    text = (ROOT / "recipes/example.recipe").read_text(encoding="utf-8").splitlines()
    removed = [line for line in text if any(old in line for old in CHANGES)]
    added = [line.replace(old, new) for line in removed for old, new in CHANGES.items() if old in line]
    assert [line[1:] for line in lines if line.startswith("-") and not line.startswith("---")] == removed
    assert [line[1:] for line in lines if line.startswith("+") and not line.startswith("+++")] == added
    human = ok(recipe(root, "diff", "build/example", "build/example2")).stdout
    for line in [*(f"-{r}" for r in removed), *(f"+{a}" for a in added)]:
        assert line in human.splitlines()
    pydocs = next(line for line in human.splitlines() if re.match(r"\W*pydocs\W+500\W", line))
    assert re.search(r"500 │\s+550 │\s+\+50 │", pydocs)


def test_diff_of_a_build_with_itself_finds_nothing(builds: tuple[Path, Path, Path]) -> None:
    root, a, _ = builds
    changes = run_json(root, "diff", "build/example", "build/example")
    assert changes["recipe"] == {"compared": "text", "missing_copy": [], "same": True, "diff": []}
    assert changes["documents"]["added"] == {"total": 0, "examples": [], "by_source": {}}
    assert changes["documents"]["removed"] == {"total": 0, "examples": [], "by_source": {}}
    assert changes["funnel"] == [] and changes["inputs"] == []
    human = ok(recipe(root, "diff", "build/example", "build/example")).stdout
    assert "recipe: unchanged" in human and "funnel: unchanged" in human


def test_diff_without_a_recipe_copy_compares_the_hashes(builds: tuple[Path, Path, Path]) -> None:
    root, a, _ = builds
    shutil.copytree(a, root / "build/bare", dirs_exist_ok=True)
    (root / "build/bare/recipe.recipe").unlink()
    changes = run_json(root, "diff", "build/bare", "build/example2")
    assert changes["recipe"] == {"compared": "sha256", "missing_copy": ["build/bare"], "same": False, "diff": []}
    human = ok(recipe(root, "diff", "build/bare", "build/example")).stdout
    assert "no copy of the recipe in build/bare: the recipes' sha256 match" in human


def test_report_prints_the_funnel_and_the_mixture(builds: tuple[Path, Path, Path]) -> None:
    root, _, b = builds
    m = manifest(b)
    human = ok(recipe(root, "report", "build/example2")).stdout
    assert m["recipe"]["sha256"] in human and f"{m['totals']['shard_bytes']:,}" in human
    for source, f in m["funnel"].items():
        row = next(line for line in human.splitlines() if re.search(rf"\b{source}\b.*\bread\b", line))
        assert f"{f['read']:,}" in row
        for rule, n in steps(f["left_out_by_mix"]).items():
            assert re.search(rf"mix: {re.escape(rule)}\s+│\s+-{n:,} │", human)
        s = m["mixture"]["by_source"][source]
        assert re.search(rf"│ {source}\s+│\s+{s['docs']:,} │\s+{s['bytes']:,} │\s+{s['share']:.2%} │\s+"
                         rf"{s['target_share']:.2%} │", human)
    assert "55.00%" in human and "30.00%" in human
    for shard in m["shards"]:
        assert re.search(rf"{shard['path']}\s+│ all\s+│\s+{shard['rows']:,} │\s+{shard['bytes']:,} │", human)
    assert f"ledger: {m['ledger']['rows']:,} rows" in human
    sections = run_json(root, "report", "build/example2")
    assert {k: sections[k] for k in ("funnel", "mixture", "totals", "shards")} == \
        {k: m[k] for k in ("funnel", "mixture", "totals", "shards")}


def test_the_funnel_keeps_the_rules_in_recipe_order(builds: tuple[Path, Path, Path]) -> None:
    # A rule owns the documents it drops first: the funnel reads in the order the rules run, in the manifest
    # (written with sorted keys), the card, its plot's numbers and `recipe report`.
    root, a, _ = builds
    checked = check(parse((root / "a.recipe").read_text(encoding="utf-8")))
    m = manifest(a)
    card = (a / "README.md").read_text(encoding="utf-8")
    human = ok(recipe(root, "report", "build/example")).stdout
    plotted = json.loads((a / "funnel.json").read_text())["steps"]
    for source in ("pydocs", "handbook", "code"):
        rules = [r.label for r in checked.filter_for(source).rules]
        assert rules != sorted(rules)
        assert [s["rule"] for s in m["funnel"][source]["dropped"]] == rules
        assert [step for step, _ in plotted[source] if step in rules] == rules
        section = card.split(f"**{source}**")[1].split("**in the output**")[0]
        assert sorted(rules, key=lambda rule: section.index(f"| {rule} |")) == rules
        table = human.split("funnel")[1].split(f" {source} ")[1].split("in the output")[0]
        assert sorted(rules, key=lambda rule: table.index(f" {rule} ")) == rules


@pytest.mark.parametrize(("command", "message"), [
    (("report", "data"), "data: data is not a datarecipe build: it has no manifest.json"),
    (("diff", "build/example", "nowhere"), "nowhere: no such directory"),
    (("report", "build/nowhere"), "build/nowhere: no such directory")])
def test_a_directory_that_is_not_a_build_is_a_clean_error(builds: tuple[Path, Path, Path],
                                                          command: tuple[str, ...], message: str) -> None:
    root, _, _ = builds
    result = recipe(root, *command)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    as_json = recipe(root, *command, "--json")
    assert as_json.returncode == 1 and "Traceback" not in as_json.stderr
    assert json.loads(as_json.stdout)["event"] == "error"
