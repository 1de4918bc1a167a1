"""Score blocks end to end: the checker's rules, the plan's fit and score stages, score columns in the
output, and the score cache (a threshold change re-scores nothing; new documents alone are scored)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from datarecipe.compiler.language.checker import check
from datarecipe.compiler.language.errors import RecipeErrors
from datarecipe.compiler.language.parser import parse
from datarecipe.compiler.plan import InputFile, plan
from helpers import build, corpus, digest_tree, json_events, ok, recipe, write_jsonl
from models import tiny_classifier

HEAD = '''recipe "scored" { seed 3 }
source web  = jsonl("data/web/*.jsonl", text: "body", id: "id")
source wiki = jsonl("data/wiki/*.jsonl", text: "body", id: "id")
'''
TAIL = '''order { shuffle }
output "build/scored"
'''


def errors(text: str) -> list[str]:
    with pytest.raises(RecipeErrors) as info:
        check(parse(HEAD + text + TAIL))
    return [f"{e.span.line}:{e.span.col}: {e.message}" if e.span else e.message for e in info.value.errors]


def checked(text: str) -> Any:
    return check(parse(HEAD + text + TAIL))


def shard_rows(out: Path) -> list[dict[str, Any]]:
    return duckdb.sql(f"SELECT * FROM '{out}/data/*.parquet' ORDER BY doc_id").arrow().read_all().to_pylist()


def score_events(stdout: str) -> dict[str, dict[str, Any]]:
    """Per score, what the run did: `scored` texts and `forward_passes`; absent when its stage was cached."""
    out = {}
    for e in json_events(stdout):
        if e["event"] == "stage_end" and e["stage"].startswith("score_") and not e["cached"]:
            out.update(e["scores"])
    return out


def stages_run(stdout: str) -> set[str]:
    return {e["stage"] for e in json_events(stdout) if e["event"] == "stage_end" and not e["cached"]}


# ---- the checker ---------------------------------------------------------------------------------------


def test_scores_are_columns_for_the_mix_and_the_order_not_for_filters() -> None:
    found = errors('''filter web { keep edu > 1 }
score web { edu = expr(words(text)) }
mix 10 docs { web 50% where edu > 3  wiki 50% where edu > 3 }
''')
    assert found == [
        "4:19: `edu` is a score of source `web`, not available here",
        "6:53: `edu` is a score of source `web`, not available here",
    ]
    recipe = checked('''score web { edu = expr(words(text)) }
mix 10 docs { web 50% where edu > 3  wiki 50% }
''')
    assert [(s.source, s.name, s.op, s.kind) for s in recipe.scores] == [("web", "edu", "expr", "sql")]


def test_scorer_calls_are_checked_like_every_operator() -> None:
    found = errors('''score web {
  text = expr(1)
  a = classifer("models/x")
  b = classifier("models/x", stride: 2)
  c = perplexity("models/lm", max_length: 256, stride: 512)
  d = dsir(target: wikki)
  e = dsir(target: "wiki")
  f = fasttext_classifier(positive: wiki, negative: wiki)
  g = words(text)
  h = expr(text)
  i = embedding("models/m")
  i = expr(2)
}
score wiki { i = expr(1) }
mix 10 docs { web 100% where i > 1 }
''')
    assert found == [
        "5:3: `text` cannot name a score",
        "6:7: unknown scorer `classifer`",
        "7:30: `classifier` has no parameter `stride`",
        "8:7: `stride` (512) is longer than `max_length` (256)",
        "9:20: unknown source `wikki`",
        "10:20: `target` of `dsir` must name a source",
        "11:7: `positive` and `negative` are the same source",
        "12:7: unknown scorer `words`",
        "13:12: expected a number, got a string",
        "15:3: score `i` is defined twice in this block",
        "17:14: score `i` is a number here but a vector for source `web`",
        "18:32: an embedding is a vector of floats: it cannot be compared",
    ]
    with pytest.raises(RecipeErrors) as info:
        check(parse(HEAD + 'score web { e = embedding("m") }\norder { sort e }\noutput "b"\n'))
    assert [e.message for e in info.value.errors] == ["cannot sort by an embedding"]


def test_an_expr_score_may_use_the_scores_before_it() -> None:
    recipe = checked('''score web {
  n = expr(words(text))
  per_line = expr(n / (lines() + 1))
}
''')
    assert [s.name for s in recipe.scores] == ["n", "per_line"]
    assert errors('score web { a = expr(b + 1)  b = expr(1) }\n') == [
        "4:22: `b` is a score of source `web`, not available here"]


# ---- the plan ------------------------------------------------------------------------------------------


def _plan(text: str, weights: str = "sha256:aa", precision: str = "float32") -> Any:
    recipe = checked(text)
    files = {"web": (), "wiki": (), "model:models/edu": (InputFile("/m/edu", 10, weights),)}
    return plan(recipe, files, precision)


SCORED = '''score web {
  edu = classifier("models/edu", label: "good", batch: 8)
  ref = dsir(target: wiki)
  q   = expr(edu * 2)
}
mix 10 docs { web 50% where edu > 0.5  wiki 50% }
'''


def test_fitted_scores_train_in_a_stage_of_their_own_before_the_score_stage() -> None:
    p = _plan(SCORED)
    names = [s.name for s in p.stages]
    assert names == ["ingest_web", "filter_web", "ingest_wiki", "filter_wiki", "fit_web_ref", "score_web", "mix",
                     "order", "output"]
    fit = p.stage("fit_web_ref")
    assert fit.kind == "fit" and fit.inputs == ("filter_wiki", "filter_web")
    assert fit.params["inputs"] == {"target": "wiki", "raw": "web"}  # `raw` defaults to the scored source
    score = p.stage("score_web")
    assert score.kind == "score" and score.inputs == ("filter_web", "fit_web_ref")
    assert p.stage("mix").inputs == ("score_web", "filter_wiki")
    assert p.stage("output").params["scores"] == ["edu", "ref", "q"]


def test_the_cache_key_covers_weights_params_and_precision_but_not_batch_on_a_cpu() -> None:
    def key(text: str = SCORED, **kw: str) -> str:
        return str(_plan(text, **kw).stage("score_web").params["scores"][0]["cache"])

    base = key()
    assert key(SCORED.replace("batch: 8", "batch: 64")) == base
    # On a GPU (bfloat16), `batch` is the rows of every forward pass, which decide a value's last bits.
    assert key(SCORED.replace("batch: 8", "batch: 64"), precision="bfloat16") != key(precision="bfloat16")
    assert key(weights="sha256:bb") != base
    assert key(precision="bfloat16") != base
    assert key(SCORED.replace('label: "good"', 'label: "bad"')) != base
    # a threshold is a predicate of the mix: the score stage and its cache stay as they are
    a, b = _plan(SCORED), _plan(SCORED.replace("edu > 0.5", "edu > 0.9"))
    assert a.stage("score_web").fingerprint == b.stage("score_web").fingerprint
    assert a.stage("mix").fingerprint != b.stage("mix").fingerprint


# ---- builds --------------------------------------------------------------------------------------------


def sources(root: Path, web: int = 60, wiki: int = 30) -> None:
    write_jsonl(root / "data/web/a.jsonl", corpus(web, seed=1, prefix="w", descending_ids=False))
    write_jsonl(root / "data/wiki/a.jsonl", corpus(wiki, seed=2, prefix="k", descending_ids=False))


def test_expr_scores_are_output_columns_that_select_and_sort(tmp_path: Path) -> None:
    sources(tmp_path)
    ok(build(tmp_path, HEAD + '''score web {
  n = expr(words(text))
  half = expr(n / 2)
}
score wiki { half = expr(10) }
mix 40 docs { web 50% where n >= 40  wiki 50% }
order { sort half desc }
output "build/scored"
'''))
    rows = shard_rows(tmp_path / "build/scored")
    web = [r for r in rows if r["source"] == "web"]
    assert len(web) == 20 and all(r["n"] >= 40 and r["half"] == r["n"] / 2 for r in web)
    assert all(r["n"] is None for r in rows if r["source"] == "wiki")
    ordered = pq.read_table(tmp_path / "build/scored/data/train-00000-of-00001.parquet").column("half").to_pylist()
    assert ordered[:20] == sorted(ordered[:20], reverse=True)


@pytest.fixture(scope="module")
def classifier_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_classifier(tmp_path_factory.mktemp("models") / "edu", labels=("bad", "good"))


def model_recipe(model: Path, threshold: str = "0.0", budget: int = 30) -> str:
    return HEAD + f'''score web {{
  edu = classifier("{model}", label: "good", output: "probability", max_length: 128, batch: 4)
}}
mix {budget} docs {{ web 50% where edu > {threshold}  wiki 50% }}
''' + TAIL


def test_model_scores_are_cached_by_content_hash(tmp_path: Path, classifier_dir: Path) -> None:
    sources(tmp_path, web=60)
    args = ("--json", "--cache", "cache", "--device", "cpu")
    first = ok(build(tmp_path, model_recipe(classifier_dir), *args)).stdout
    assert score_events(first)["edu"]["scored"] == 60
    # on a CPU a text runs alone, or with others cut at max_length (operators/scorers/models.py); `batch` is for GPUs
    assert 0 < score_events(first)["edu"]["forward_passes"] <= 60
    scores = {r["doc_id"]: r["edu"] for r in shard_rows(tmp_path / "build/scored") if r["source"] == "web"}
    assert scores and all(0 < v < 1 for v in scores.values())

    # a threshold and a budget are the mix's: nothing is scored again, the score stage is not even re-run
    second = ok(build(tmp_path, model_recipe(classifier_dir, "0.2", budget=20), *args)).stdout
    assert score_events(second) == {} and "score_web" not in stages_run(second)
    assert {"mix", "order", "output"} <= stages_run(second)

    # a batch size is not part of what a score means: the stage re-runs, every score comes from the cache
    third = ok(build(tmp_path, model_recipe(classifier_dir).replace("batch: 4", "batch: 8"), *args)).stdout
    assert score_events(third)["edu"] == {**score_events(third)["edu"], "scored": 0, "forward_passes": 0}

    # ten new documents: only they are scored, and the old documents keep their scores
    write_jsonl(tmp_path / "data/web/a.jsonl", corpus(70, seed=1, prefix="w", descending_ids=False))
    fourth = ok(build(tmp_path, model_recipe(classifier_dir, budget=40), *args)).stdout
    assert score_events(fourth)["edu"]["scored"] == 10 and 0 < score_events(fourth)["edu"]["forward_passes"] <= 10
    again = {r["doc_id"]: r["edu"] for r in shard_rows(tmp_path / "build/scored") if r["source"] == "web"}
    assert all(again[d] == scores[d] for d in again.keys() & scores.keys())


def test_a_build_with_model_scores_is_byte_identical_from_a_fresh_cache(tmp_path: Path, classifier_dir: Path) -> None:
    sources(tmp_path)
    text = model_recipe(classifier_dir)
    ok(build(tmp_path, text, "--quiet", "--cache", "c1", "--device", "cpu"))
    first = digest_tree(tmp_path / "build/scored")
    ok(build(tmp_path, text, "--quiet", "--cache", "c2", "--device", "cpu", "--threads", "1"))
    assert digest_tree(tmp_path / "build/scored") == first
    manifest = json.loads((tmp_path / "build/scored/manifest.json").read_text())
    assert "edu" in manifest["scores"]["web"]


def test_a_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    sources(tmp_path)
    result = build(tmp_path, model_recipe(tmp_path / "models/nope"), "--cache", "cache")
    assert result.returncode == 1
    assert "cannot find model" in result.stderr and "Traceback" not in result.stderr


def test_fitted_scores_train_once_and_follow_their_inputs(tmp_path: Path) -> None:
    sources(tmp_path)
    text = HEAD + '''score web { ref = dsir(target: wiki, buckets: 1_000) }
mix 30 docs { web 50% where ref > THRESHOLD  wiki 50% }
''' + TAIL
    args = ("--json", "--cache", "cache")
    first = ok(build(tmp_path, text.replace("THRESHOLD", "-1000"), *args)).stdout
    assert {"fit_web_ref", "score_web"} <= stages_run(first)
    assert score_events(first)["ref"]["scored"] == 60
    second = ok(build(tmp_path, text.replace("THRESHOLD", "-500"), *args)).stdout
    assert not {"fit_web_ref", "score_web"} & stages_run(second)
    # a new target document changes the fitted model: it is trained again and every document re-scored
    write_jsonl(tmp_path / "data/wiki/a.jsonl", corpus(31, seed=2, prefix="k", descending_ids=False))
    third = ok(build(tmp_path, text.replace("THRESHOLD", "-500"), *args)).stdout
    assert {"fit_web_ref", "score_web"} <= stages_run(third)
    assert score_events(third)["ref"]["scored"] == 60


def test_explain_shows_the_score_stage_sql(tmp_path: Path) -> None:
    sources(tmp_path)
    (tmp_path / "r.recipe").write_text(HEAD + "score web { n = expr(words(text)) }\n" + TAIL)
    result = ok(recipe(tmp_path, "explain", "r.recipe"))
    assert "score_web" in result.stdout and 'AS "n"' in result.stdout


# ---- selection by score in the mix -----------------------------------------------------------------------


def test_top_takes_the_highest_scores_first(tmp_path: Path) -> None:
    sources(tmp_path)
    ok(build(tmp_path, HEAD + '''score web { n = expr(length(text)) }
mix 20 docs { web 50% top n  wiki 50% }
''' + TAIL))
    taken = sorted(r["n"] for r in shard_rows(tmp_path / "build/scored") if r["source"] == "web")
    every = sorted((len(r["body"]) for r in corpus(60, seed=1, prefix="w")), reverse=True)
    assert taken == sorted(every[:10])


def test_sample_by_is_gumbel_top_k_with_probability_proportional_to_exp_score_over_t() -> None:
    from datarecipe.compiler.language.spec import MixShare
    from datarecipe.compiler.lower import selection_key

    # three documents per trial scoring 0, ln 2 and ln 4 at temperature 1: each is taken first with
    # probability 1/7, 2/7 and 4/7; at temperature 2, with probability 1 : sqrt 2 : 2
    for temperature, weights in ((1.0, (1, 2, 4)), (2.0, (1, 2**0.5, 2))):
        rank = check(parse(HEAD + 'score web { s = expr(1) }\nmix 1 docs { web 100% sample_by s temperature 1 }\n'
                           + TAIL)).mix.shares[0].rank
        share = MixShare("web", 1.0, None, "", "sample_by", rank, temperature)
        key = selection_key(share, seed=5)
        trials = 6000
        firsts = duckdb.sql(f"""
            WITH docs AS (SELECT t, i, CAST(t * 3 + i AS UBIGINT) AS content_hash, ln([1, 2, 4][i + 1]) AS s
                          FROM range({trials}) a(t), range(3) b(i))
            SELECT i, count(*) / {trials} FROM (SELECT t, arg_min(i, {key}) AS i FROM docs GROUP BY t)
            GROUP BY i ORDER BY i""").fetchall()
        for (_, share_taken), w in zip(firsts, weights, strict=True):
            assert share_taken == pytest.approx(w / sum(weights), abs=0.02)


def test_every_recipe_in_recipes_checks() -> None:
    from datarecipe.runtime.plugins import load_entry_points

    load_entry_points()  # plugin-example.recipe uses the example plugin, as `recipe check` would load it
    root = Path(__file__).resolve().parent.parent
    for path in sorted((root / "recipes").glob("*.recipe")):
        check(parse(path.read_text(encoding="utf-8")))
