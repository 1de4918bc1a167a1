"""Fitted scorers (`operators/scorers/fitted.py`): dsir, fasttext_classifier and zipfit, fitted and applied as the
engine does, on deterministic English prose and Go code.

Oracles are independent of the code under test: DSIR's features and hashes are rebuilt with `hashlib` the way
data-selection's `get_ngram_counts` builds them, its log ratio is worked out by hand, and ZIP-FIT's alignment is
recomputed with the standard library's `gzip`. Behaviour: target-like documents score higher, the classifier
separates held-out documents, a near copy of a target aligns best, two fits give the same bytes, and an empty input
is a RecipeError that names it."""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import random
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
import torch
from datarecipe.compiler.language.errors import RecipeError
from datarecipe.operators import REGISTRY
from datarecipe.operators.scorers import fitted
from helpers import ADJECTIVES, NOUNS, VERBS, digest_tree, document

KINDS = ("dsir", "fasttext_classifier", "zipfit")
SMALL_FASTTEXT = {"dim": 16, "buckets": 20_000}  # fast to fit, still far more buckets than the tests' words


def batches(texts: list[str], size: int = 7) -> Callable[[], Iterator[list[str]]]:
    """An engine input: each call a fresh pass over `texts` in batches of `size`."""
    return lambda: iter([texts[i:i + size] for i in range(0, len(texts), size)])


def go_source(rng: random.Random) -> str:
    """A small Go file, different for every draw."""
    noun, other = rng.sample(NOUNS, 2)
    name, verb, adjective = noun.capitalize(), rng.choice(VERBS), rng.choice(ADJECTIVES)
    limit = rng.randint(2, 99)
    return (f"package {noun}\n\nimport (\n\t\"fmt\"\n\t\"strings\"\n)\n\n"
            f"// {name} {verb} the {adjective} {other}.\n"
            f"func {name}({other} string, n int) (string, error) {{\n"
            f"\tif n < 0 || n > {limit} {{\n\t\treturn \"\", fmt.Errorf(\"{noun}: bad count %d\", n)\n\t}}\n"
            f"\tfor i := 0; i < n; i++ {{\n\t\t{other} = strings.TrimSpace({other}) + \"{adjective}\"\n\t}}\n"
            f"\treturn {other}, nil\n}}\n")


def prose(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [document(rng) for _ in range(n)]


def code(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [go_source(rng) for _ in range(n)]


def fit_and_load(kind: str, inputs: dict[str, list[str]], out: Path, seed: int = 3,
                 **params: Any) -> tuple[dict[str, Any], fitted.FittedScorer]:
    out.mkdir(parents=True, exist_ok=True)
    stats = fitted.fit(kind, params, {role: batches(texts) for role, texts in inputs.items()}, out, seed)
    return stats, fitted.load(kind, params, out)


def reference_buckets(text: str, n: int, buckets: int) -> list[int]:
    """data-selection's features of one text: lowercase, nltk's WordPunct split, words and n-grams by sha256."""
    words = re.findall(r"\w+|[^\w\s]+", text.lower())
    grams = words + [" ".join(words[i:i + k]) for k in range(2, n + 1) for i in range(len(words) - k + 1)]
    return [int(hashlib.sha256(g.encode()).hexdigest(), 16) % buckets for g in grams]


def test_a_fit_without_parameters_takes_the_declared_defaults(tmp_path: Path) -> None:
    fitted.fit("zipfit", {}, {"target": batches(prose(3, seed=1))}, tmp_path, 0)
    written = json.loads((tmp_path / "zipfit.json").read_text(encoding="utf-8"))
    declared = {p.name: p.default for p in REGISTRY[("scorer", "zipfit")].params if p.type != "source"}
    assert declared and {k: written[k] for k in declared} == declared


# ---------------------------------------------------------------------------------------------
# dsir


def test_dsir_features_are_data_selection_hashed_ngrams() -> None:
    texts = ["The cat, the CAT!", "Ünïcode straße x_y 3.5", "", "one"]
    found, text_of = fitted.hashed_ngrams(texts, 3, 10_000)
    for i, text in enumerate(texts):
        assert sorted(found[text_of == i].tolist()) == sorted(reference_buckets(text, 3, 10_000))
    # "the cat , the cat !" and "ünïcode straße x_y 3 . 5": 6 words, 5 bigrams, 4 trigrams; none across two texts
    assert np.bincount(text_of, minlength=4).tolist() == [15, 15, 0, 1]
    assert len(fitted.hashed_ngrams(texts, 1, 10_000)[0]) == 6 + 6 + 0 + 1


def test_dsir_log_ratio_by_hand(tmp_path: Path) -> None:
    buckets = 2**20
    assert len(set(reference_buckets("a b c", 2, buckets))) == 5  # no collisions among a, b, c, "a b", "b c"
    stats, scorer = fit_and_load("dsir", {"target": ["a b"], "raw": ["a c"]}, tmp_path, buckets=buckets)
    assert stats == {"target_docs": 1, "target_features": 3, "raw_docs": 1, "raw_features": 3}
    third, eps = math.log(1 / 3 + 1e-8), math.log(1e-8)
    # a is as likely under both; b and "a b" are target-only, c raw-only; "c a" and "b b" were never seen (equal
    # smoothing on both sides); an empty text carries no evidence
    values = scorer.score(["a b", "A", "c", "c a", "", None, "b b"]).to_pylist()
    assert values[5] is None
    expected = [2 * (third - eps), 0.0, eps - third, eps - third, 0.0, None, 2 * (third - eps)]
    assert np.allclose([v for v in values if v is not None], [v for v in expected if v is not None], atol=1e-9)
    target = np.load(tmp_path / "target_log_probs.npy")
    assert target.dtype == np.dtype("<f8") and target.shape == (buckets,)
    assert math.isclose(target[reference_buckets("b", 1, buckets)[0]], third)


def test_dsir_target_like_documents_score_higher(tmp_path: Path) -> None:
    target, raw = prose(60, seed=1), prose(40, seed=2) + code(60, seed=3)
    _, scorer = fit_and_load("dsir", {"target": target, "raw": raw}, tmp_path)
    held_out_prose = scorer.score(prose(20, seed=4)).to_numpy()
    held_out_code = scorer.score(code(20, seed=5)).to_numpy()
    assert held_out_prose.min() > held_out_code.max()


# ---------------------------------------------------------------------------------------------
# fasttext_classifier


def test_fasttext_rows_hash_words_and_word_pairs() -> None:
    buckets = 1_000_003

    def word(w: str) -> int:
        return int.from_bytes(hashlib.sha256(w.encode()).digest()[:8], "big")

    words = ["Go", "code", "</s>"]  # case kept, lines joined, fastText's end-of-line token last
    pairs = [(word(a) * 116_049_371 + word(b)) % 2**64 for a, b in zip(words, words[1:], strict=False)]
    rows, counts = fitted.fasttext_rows(["Go\n  code", "x"], 2, buckets)
    assert counts.tolist() == [5, 3]
    assert rows[:5].tolist() == [word(w) % buckets for w in words] + [p % buckets for p in pairs]


def test_fasttext_classifier_learns_prose_from_code(tmp_path: Path) -> None:
    threads = torch.get_num_threads()
    stats, scorer = fit_and_load("fasttext_classifier", {"positive": prose(150, seed=1), "negative": code(150, seed=2)},
                                 tmp_path, **SMALL_FASTTEXT)
    assert torch.get_num_threads() == threads
    assert stats["positive_docs_used"] == stats["negative_docs_used"] == 150
    assert stats["last_epoch_accuracy"] > 0.9
    prose_p = scorer.score(prose(50, seed=3)).to_numpy()
    code_p = scorer.score(code(50, seed=4)).to_numpy()
    accuracy = ((prose_p > 0.5).sum() + (code_p < 0.5).sum()) / 100
    assert accuracy > 0.9
    assert np.all((prose_p >= 0) & (prose_p <= 1))


def test_fasttext_caps_each_class_at_max_docs(tmp_path: Path) -> None:
    stats, _ = fit_and_load("fasttext_classifier", {"positive": prose(40, seed=1), "negative": code(12, seed=2)},
                            tmp_path, max_docs=25, epochs=1, **SMALL_FASTTEXT)
    assert (stats["positive_docs"], stats["positive_docs_used"]) == (40, 25)
    assert (stats["negative_docs"], stats["negative_docs_used"]) == (12, 12)


# ---------------------------------------------------------------------------------------------
# zipfit


def test_ncd_by_hand() -> None:
    assert fitted.ncd(np.array(100.0), np.array(80.0), np.array(150.0)) == pytest.approx(0.7)
    assert fitted.ncd(np.array(80.0), np.array(100.0), np.array(100.0)) == pytest.approx(0.2)


def test_zipfit_is_mean_one_minus_gzip_ncd(tmp_path: Path) -> None:
    targets = ["the river crosses the valley", "func main() { fmt.Println(42) }", "a" * 300]
    stats, scorer = fit_and_load("zipfit", {"target": targets}, tmp_path, max_target=10, max_chars=200)
    assert stats == {"target_docs": 3, "target_docs_used": 3}

    def size(text: str) -> int:
        return len(gzip.compress(text.encode(), mtime=0))

    def alignment(x: str) -> float:
        x = x[:200]
        return float(np.mean([1 - (size(x + t) - min(size(x), size(t))) / max(size(x), size(t))
                              for t in (t[:200] for t in targets)]))

    candidates = ["the river crosses the old bridge", "package main", "", "b" * 500]
    assert np.allclose(scorer.score(candidates).to_numpy(), [alignment(x) for x in candidates], atol=1e-12)


def test_zipfit_ranks_a_near_copy_of_a_target_first(tmp_path: Path) -> None:
    targets = code(8, seed=1)
    _, scorer = fit_and_load("zipfit", {"target": targets}, tmp_path)
    near_copy = targets[2].replace("strings.TrimSpace", "strings.TrimLeft")
    candidates = [*prose(5, seed=2), *code(5, seed=3), near_copy]
    values = scorer.score(candidates).to_numpy()
    assert values.argmax() == len(candidates) - 1
    assert values[5:10].min() > values[:5].max()  # other Go code aligns better than prose


def test_zipfit_sample_is_by_hash_not_by_order(tmp_path: Path) -> None:
    docs = prose(30, seed=1)
    shuffled = random.Random(0).sample(docs, len(docs))
    stats, _ = fit_and_load("zipfit", {"target": docs}, tmp_path / "a", max_target=5)
    fit_and_load("zipfit", {"target": shuffled}, tmp_path / "b", max_target=5)
    assert stats == {"target_docs": 30, "target_docs_used": 5}
    assert digest_tree(tmp_path / "a") == digest_tree(tmp_path / "b")


# ---------------------------------------------------------------------------------------------
# all kinds


def inputs_of(kind: str) -> dict[str, list[str]]:
    return {"dsir": {"target": prose(30, seed=1), "raw": prose(10, seed=2) + code(20, seed=3)},
            "fasttext_classifier": {"positive": prose(30, seed=1), "negative": code(30, seed=2)},
            "zipfit": {"target": code(30, seed=1)}}[kind]


@pytest.mark.parametrize("kind", KINDS)
def test_two_fits_write_the_same_bytes_and_score_the_same(kind: str, tmp_path: Path) -> None:
    params = SMALL_FASTTEXT if kind == "fasttext_classifier" else {}
    first_stats, first = fit_and_load(kind, inputs_of(kind), tmp_path / "a", **params)
    second_stats, second = fit_and_load(kind, inputs_of(kind), tmp_path / "b", **params)
    assert first_stats == second_stats
    assert digest_tree(tmp_path / "a") == digest_tree(tmp_path / "b")
    texts = [*prose(5, seed=9), None, *code(5, seed=9)]
    done: list[int] = []
    values = first.score(texts, progress=done.append)
    assert values.type == first.output_type == pa.float64()
    assert values.null_count == 1 and values.to_pylist()[5] is None
    assert sum(done) == len(texts) and first.forward_passes == 1
    assert values.equals(second.score(texts))
    # scored in one call or text by text, the values are the same
    assert np.allclose(values.to_numpy(zero_copy_only=False)[:5],
                       [second.score([t]).to_pylist()[0] for t in texts[:5]], rtol=0, atol=0)


def test_another_seed_draws_another_sample(tmp_path: Path) -> None:
    fit_and_load("zipfit", {"target": prose(30, seed=1)}, tmp_path / "a", seed=1, max_target=5)
    fit_and_load("zipfit", {"target": prose(30, seed=1)}, tmp_path / "b", seed=2, max_target=5)
    assert digest_tree(tmp_path / "a") != digest_tree(tmp_path / "b")


@pytest.mark.parametrize(("kind", "role"), [("dsir", "target"), ("dsir", "raw"), ("fasttext_classifier", "positive"),
                                            ("fasttext_classifier", "negative"), ("zipfit", "target")])
def test_an_input_without_documents_is_a_recipe_error(kind: str, role: str, tmp_path: Path) -> None:
    inputs: dict[str, Any] = {**inputs_of(kind), role: [None, None]}  # null texts only: no documents
    with pytest.raises(RecipeError) as error:
        fitted.fit(kind, {}, {r: batches(t) for r, t in inputs.items()}, tmp_path, 0)
    assert f"`{role}` source has no documents" in error.value.message and error.value.hint
    with pytest.raises(RecipeError, match="no documents"):
        fitted.fit(kind, {}, {**{r: batches(t) for r, t in inputs_of(kind).items()}, role: lambda: iter([])},
                   tmp_path, 0)


def test_dsir_target_without_words_is_a_recipe_error(tmp_path: Path) -> None:
    with pytest.raises(RecipeError, match=r"the 2 documents of its `target` source have no words"):
        fitted.fit("dsir", {}, {"target": batches(["", " \n "]), "raw": batches(prose(3, seed=1))}, tmp_path, 0)
