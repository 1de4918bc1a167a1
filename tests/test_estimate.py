"""`recipe explain --estimate`: a sample of each source, run through the real plan and scaled to the full inputs,
predicts the example recipe's funnel and output within 10%, the same way every time, and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from datarecipe.compiler.language.spec import SourceSpec
from datarecipe.runtime.executors.sample import sample_source
from datarecipe.runtime.stages.ingest import resolve
from helpers import corpus, manifest, ok, recipe, write_jsonl

ROOT = Path(__file__).resolve().parent.parent


def within(estimate: float, actual: float, tolerance: float = 0.10) -> bool:
    return abs(estimate - actual) <= tolerance * actual


def without_seconds(result: dict[str, Any]) -> dict[str, Any]:
    return {**{k: v for k, v in result.items() if k != "seconds"},
            "stages": [{k: v for k, v in s.items() if k != "seconds"} for s in result["stages"]]}


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """The example recipe in a fresh directory, estimated twice (300 docs per source: pydocs has 1,200, the
    handbook 610, code 150) before anything is built."""
    cwd = tmp_path_factory.mktemp("estimate")
    (cwd / "data").symlink_to(ROOT / "data")
    (cwd / "example.recipe").write_text((ROOT / "recipes" / "example.recipe").read_text())
    runs = [json.loads(ok(recipe(cwd, "explain", "example.recipe", "--estimate", "--sample", "300", "--json")).stdout)
            for _ in range(2)]
    return cwd, runs


def test_the_estimate_writes_nothing(example: tuple[Path, list[dict[str, Any]]]) -> None:
    cwd, _ = example
    assert not (cwd / "build").exists()
    cache = cwd / ".datarecipe" / "cache"  # the input file hashes, as `recipe explain` keeps them; no stage output
    assert [p.name for p in cache.iterdir()] == ["file-hashes.json"]


def test_the_estimate_is_deterministic(example: tuple[Path, list[dict[str, Any]]]) -> None:
    _, (first, second) = example
    assert without_seconds(first) == without_seconds(second)
    assert first["sample"] == {"pydocs": {"sampled": 300, "total": 1200, "counted": "lines counted"},
                               "handbook": {"sampled": 300, "total": 610, "counted": "rows from the Parquet metadata"},
                               "code": {"sampled": 150, "total": 150, "counted": "files listed"}}
    assert first["seconds"] > 0 and all(s["seconds"] >= 0 for s in first["stages"])


def test_the_estimate_is_within_10_percent_of_the_run(example: tuple[Path, list[dict[str, Any]]]) -> None:
    cwd, (estimate, _) = example
    ok(recipe(cwd, "run", "example.recipe", "--json"))
    built = manifest(cwd / "build" / "example")
    stages = {s["name"]: s for s in estimate["stages"]}
    for source, funnel in built["funnel"].items():
        assert stages[f"ingest_{source}"]["docs_out"] == funnel["read"]
        kept = stages[f"filter_{source}"]["docs_out"]
        assert within(kept, funnel["kept"]), (source, kept, funnel["kept"])
    assert stages["filter_code"]["docs_out"] == built["funnel"]["code"]["kept"]  # sampled whole: exact
    totals = built["totals"]
    assert estimate["output"]["docs"] == totals["docs"] == 1000  # the budget, which the supply fills
    assert within(estimate["output"]["text_bytes"], totals["text_bytes"])
    assert within(estimate["output"]["shard_bytes"], totals["shard_bytes"])
    assert "shortfall" not in estimate


def test_a_budget_the_inputs_cannot_fill_is_a_shortfall(tmp_path: Path) -> None:
    (tmp_path / "data").symlink_to(ROOT / "data")
    text = (ROOT / "recipes" / "example.recipe").read_text().replace("mix 1_000 docs", "mix 5_000 docs")
    (tmp_path / "big.recipe").write_text(text)
    result = json.loads(ok(recipe(tmp_path, "explain", "big.recipe", "--sample", "150", "--json")).stdout)
    short = result["shortfall"]
    assert short["unit"] == "docs" and set(short["by_source"]) == {"pydocs", "handbook", "code"}
    assert short["by_source"]["code"] == 750 - 2 * 92  # 15% of 5,000; 92 files kept (all 150 sampled) x 2 epochs
    assert "short" in short["messages"][0]
    human = ok(recipe(tmp_path, "explain", "big.recipe", "--sample", "150"))
    assert "estimated shortfall" in human.stdout and "source `code` is short" in human.stdout


def test_user_mistakes_are_clean_errors(tmp_path: Path) -> None:
    (tmp_path / "data").symlink_to(ROOT / "data")
    text = (ROOT / "recipes" / "example.recipe").read_text()
    (tmp_path / "r.recipe").write_text(text.replace("pydocs.jsonl.gz", "missing.jsonl.gz"))
    for args, status in ((("--sample", "0"), 2), (("--sample", "many"), 2), (("--estimate",), 1)):
        result = recipe(tmp_path, "explain", "r.recipe", *args)
        assert result.returncode == status and "Traceback" not in result.stderr, result.stderr
    assert "the file does not exist" in result.stderr
    (tmp_path / "r.recipe").write_text(text.replace("data/sample/pydocs.jsonl.gz", "broken.jsonl.gz"))
    (tmp_path / "broken.jsonl.gz").write_bytes(b"not gzip")
    result = recipe(tmp_path, "explain", "r.recipe", "--estimate", "--json")
    assert result.returncode == 1 and json.loads(result.stdout)["event"] == "error"


def test_the_sample_is_the_rows_of_smallest_hash(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "docs.jsonl", corpus(500))
    path.write_bytes(path.read_bytes().replace(b"\n", b"\n\n", 10))  # blank lines are not rows
    src = SourceSpec("docs", "jsonl", str(path), "body", "id", "fail")
    files = resolve(src)
    sample = sample_source(src, files, 50, seed=7)
    assert sample.total == 500 and sample.sampled == 50
    assert sample_source(src, files, 50, seed=7) == sample  # the same rows every time
    assert sample_source(src, files, 20, seed=7).picked == sample.first(20).picked  # a smaller sample is a part
    assert sample_source(src, files, 50, seed=8).picked != sample.picked  # the seed chooses
    whole = sample_source(src, files, 1000, seed=7)
    assert whole.sampled == whole.total == 500 and whole.scale == 1.0
    lines = path.read_bytes().split(b"\n")
    assert all(lines[n - 1].strip() for _, n in whole.picked)
