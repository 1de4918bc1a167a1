"""Token budgets: `n_tokens` counted with the recipe's tokenizer (cached like a score), mixes in tokens met
within one document per source, and the achieved mixture in the manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest
from helpers import build, corpus, json_events, manifest, ok, write_jsonl
from models import tiny_tokenizer_dir
from tokenizers import Tokenizer


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_tokenizer_dir(tmp_path_factory.mktemp("tok")) / "tokenizer.json"


def recipe_text(tokenizer: Path, mix: str, extra: str = "") -> str:
    return f'''recipe "tokens" {{ seed 9  tokenizer "{tokenizer}" }}
source web  = jsonl("data/web/*.jsonl", text: "body", id: "id")
source wiki = jsonl("data/wiki/*.jsonl", text: "body", id: "id")
{extra}
{mix}
order {{ shuffle }}
output "build/tokens"
'''


def sources(root: Path) -> None:
    write_jsonl(root / "data/web/a.jsonl", corpus(300, seed=1, prefix="w", descending_ids=False))
    write_jsonl(root / "data/wiki/a.jsonl", corpus(100, seed=2, prefix="k", descending_ids=False))


def rows(root: Path) -> list[dict[str, Any]]:
    return duckdb.sql(f"SELECT * FROM '{root}/build/tokens/data/*.parquet'").arrow().read_all().to_pylist()


def test_n_tokens_is_the_tokenizers_count_and_a_token_budget_is_met_within_a_document(tmp_path: Path,
                                                                                     tokenizer: Path) -> None:
    sources(tmp_path)
    ok(build(tmp_path, recipe_text(tokenizer, "mix 10_000 tokens { web 70% wiki 30% max_epochs 2 }")))
    out = rows(tmp_path)
    plain = Tokenizer.from_file(str(tokenizer))
    assert all(r["n_tokens"] == len(plain.encode(r["text"], add_special_tokens=False).ids) for r in out)
    for source, share in (("web", 0.7), ("wiki", 0.3)):
        docs = [r for r in out if r["source"] == source]
        got = sum(r["n_tokens"] for r in docs)
        # whole documents: the last one taken may pass the target by less than its own length
        assert 10_000 * share <= got < 10_000 * share + max(r["n_tokens"] for r in docs)
    mixture = manifest(tmp_path / "build/tokens")["mixture"]
    assert mixture["unit"] == "tokens" and mixture["budget"] == 10_000
    assert abs(mixture["by_source"]["web"]["share"] - 0.7) < 0.01
    assert manifest(tmp_path / "build/tokens")["totals"]["tokens"] == sum(r["n_tokens"] for r in out)


def test_token_counts_are_cached_and_shares_hold_to_a_tenth_of_a_percent(tmp_path: Path, tokenizer: Path) -> None:
    write_jsonl(tmp_path / "data/web/a.jsonl", corpus(3000, seed=1, prefix="w", descending_ids=False))
    write_jsonl(tmp_path / "data/wiki/a.jsonl", corpus(1000, seed=2, prefix="k", descending_ids=False))
    text = recipe_text(tokenizer, "mix 100_000 tokens { web 60% wiki 40% max_epochs 2 }")
    first = json_events(ok(build(tmp_path, text, "--json", "--cache", "cache")).stdout)
    counted = {e["stage"]: e["scores"]["n_tokens"]["scored"] for e in first
               if e["event"] == "stage_end" and e["stage"].startswith("score_")}
    assert counted == {"score_web": 3000, "score_wiki": 1000}
    mixture = manifest(tmp_path / "build/tokens")["mixture"]["by_source"]
    assert abs(mixture["web"]["share"] - 0.6) < 0.001 and abs(mixture["wiki"]["share"] - 0.4) < 0.001
    # another budget: the counts come from the cache, the mix alone changes
    again = json_events(ok(build(tmp_path, text.replace("100_000", "50_000"), "--json", "--cache", "cache")).stdout)
    assert all(e["cached"] for e in again if e["event"] == "stage_end" and e["stage"].startswith("score_"))


def test_a_token_budget_a_source_cannot_fill_names_it(tmp_path: Path, tokenizer: Path) -> None:
    sources(tmp_path)
    result = build(tmp_path, recipe_text(tokenizer, "mix 100_000 tokens { web 50% wiki 50% }"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "source `wiki` is short" in result.stderr and "tokens" in result.stderr


def test_n_tokens_selects_and_sorts_in_the_mix(tmp_path: Path, tokenizer: Path) -> None:
    sources(tmp_path)
    ok(build(tmp_path, recipe_text(tokenizer, "mix 40 docs { web 50% where n_tokens >= 40  wiki 50% top n_tokens }")))
    out = rows(tmp_path)
    assert all(r["n_tokens"] >= 40 for r in out if r["source"] == "web")
    wiki = sorted((r["n_tokens"] for r in out if r["source"] == "wiki"), reverse=True)
    plain = Tokenizer.from_file(str(tokenizer))
    every = sorted((len(plain.encode(r["body"], add_special_tokens=False).ids)
                    for r in corpus(100, seed=2, prefix="k")), reverse=True)
    assert wiki == every[:20]


def test_a_missing_tokenizer_is_a_clear_error(tmp_path: Path) -> None:
    sources(tmp_path)
    result = build(tmp_path, recipe_text(tmp_path / "nope.json", "mix 1_000 tokens { web 100% }"))
    assert result.returncode == 1 and "cannot find tokenizer" in result.stderr and "Traceback" not in result.stderr
