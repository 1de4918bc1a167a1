"""The embedding space (operators/space): the kernels against brute force and scikit-learn, the checker's errors,
and the worked recipe recipes/space.recipe built on the sample notes (data/make_notes.py) with all-MiniLM-L6-v2:
MinHash removes the copies, SemDeDup the paraphrases MinHash misses, the clusters are the six topics, the mix
takes as many notes from each, and the order chains nearest neighbours."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
from datarecipe.compiler.language.checker import check
from datarecipe.compiler.language.errors import RecipeErrors
from datarecipe.compiler.language.parser import parse
from datarecipe.operators.space import kernels
from helpers import json_events, manifest, ok, recipe

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.xdist_group("space")  # the worked recipe is built once, in one test worker


def blobs(n: int, d: int, centres: int, spread: float, seed: int) -> np.ndarray:
    """Unit vectors around `centres` random directions: the shape sentence embeddings have."""
    rng = np.random.default_rng(seed)
    middle = rng.normal(size=(centres, d))
    x = middle[rng.integers(centres, size=n)] + spread * rng.normal(size=(n, d))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


# ---- kernels ------------------------------------------------------------------------------------------------


def test_assign_is_the_exact_nearest_centroid_whatever_the_rows_assigned_with_it() -> None:
    x = blobs(3000, 48, 12, 0.8, seed=1)
    c = x[:40].copy()
    c[7] = c[3]  # two equal centroids: the smaller id wins every tie
    x[100] = c[3]
    got = kernels.assign(x, c)
    exact = ((x[:, None, :].astype(np.float64) - c[None].astype(np.float64)) ** 2).sum(-1)
    assert np.array_equal(got.cluster, exact.argmin(axis=1))  # argmin: the first of equal minima
    assert got.cluster[100] == 3 and 7 not in set(got.cluster.tolist())
    assert np.allclose(got.distance, np.sqrt(exact.min(axis=1)), rtol=1e-12, atol=1e-12)
    alone = [kernels.assign(x[i:i + 1], c) for i in range(0, 3000, 97)]
    assert [a.cluster[0] for a in alone] == got.cluster[::97].tolist()
    assert [a.distance[0] for a in alone] == got.distance[::97].tolist()  # the same bits, alone or in a batch


def test_kmeans_objective_is_within_one_percent_of_scikit_learn() -> None:
    """Over several seeds: one run of either lands in one of many local optima (scikit-learn against itself with
    another seed differs by up to 2-3% on these vectors), so the fidelity is of the sums."""
    from sklearn.cluster import KMeans

    ours, theirs = 0.0, 0.0
    for seed in range(6):
        x = blobs(4000, 32, 24, 0.9, seed=seed)
        fitted = kernels.kmeans(x, 16, seed)
        assert fitted.sizes.sum() == len(x) and (fitted.sizes > 0).all()
        ours += fitted.inertia
        theirs += KMeans(n_clusters=16, random_state=seed).fit(x).inertia_
    assert ours <= 1.01 * theirs


def test_kmeans_gives_the_same_bits_on_one_and_two_threads() -> None:
    x = blobs(3000, 32, 10, 0.7, seed=5)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = kernels.kmeans(x, 8, seed=3)
        torch.set_num_threads(2)
        two = kernels.kmeans(x, 8, seed=3)
    finally:
        torch.set_num_threads(before)
    assert one.centroids.tobytes() == two.centroids.tobytes() and one.inertia == two.inertia


def test_kmeans_needs_as_many_vectors_as_clusters() -> None:
    with pytest.raises(ValueError, match="k = 5 needs between 1 and 3 vectors"):
        kernels.kmeans(blobs(3, 8, 1, 0.1, seed=0), 5, seed=0)


def brute_duplicates(x: np.ndarray, threshold: float) -> dict[int, int]:
    """Row -> the earlier row it duplicates most (ties: the first), over every pair, in float64."""
    u = x.astype(np.float64) / np.linalg.norm(x.astype(np.float64), axis=1, keepdims=True)
    sims = u @ u.T
    out = {}
    for j in range(len(x)):
        earlier = sims[j, :j]
        if len(earlier) and earlier.max() >= threshold:
            out[j] = int(np.flatnonzero(earlier == earlier.max())[0])
    return out


@pytest.mark.parametrize("threshold", [0.9, 0.97])
@pytest.mark.parametrize("block_values", [kernels.BLOCK_VALUES, 50_000])  # one block; blocks of 64 rows
def test_semantic_duplicates_are_those_of_every_pair(threshold: float, block_values: int,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kernels, "BLOCK_VALUES", block_values)
    rng = np.random.default_rng(7)
    x = blobs(1500, 64, 30, 1.5, seed=7)
    scales = np.linspace(0.01, 0.08, 300)[:, None]  # copies from about 0.99 similar down to 0.7
    near = x[rng.integers(1500, size=300)] + (scales * rng.normal(size=(300, 64))).astype(np.float32)
    x = np.concatenate([x, near, x[:5]]).astype(np.float32)  # planted near copies, and exact ones
    found = kernels.semantic_duplicates(x, threshold)
    brute = brute_duplicates(x, threshold)
    assert dict(zip(found.rows.tolist(), found.of.tolist(), strict=True)) == brute
    assert len(brute) > 50
    # the planted copies' similarities straddle the threshold: decisions within float32's error of it are tested
    u = x.astype(np.float64) / np.linalg.norm(x.astype(np.float64), axis=1, keepdims=True)
    closest = np.array([(u[:j] @ u[j]).max() for j in range(1500, 1800)])
    assert ((closest >= threshold) & (closest < threshold + 0.005)).sum() >= 3
    assert ((closest < threshold) & (closest > threshold - 0.005)).sum() >= 3


def test_facility_location_is_the_greedy_order_and_covers_better_than_chance() -> None:
    x = blobs(240, 32, 6, 1.2, seed=3)
    order = kernels.facility_location(x)
    u, _ = kernels.unit(x)
    q = np.rint(u * kernels.QUANTUM)
    sims = np.maximum(q @ q.T, 0.0)
    covered, left = np.zeros(240), set(range(240))
    for pick in order[:60]:  # every pick is the largest gain, the smallest row among equal ones
        gains = {j: np.maximum(sims[:, j] - covered, 0).sum() for j in left}
        best = max(gains.values())
        assert pick == min(j for j, g in gains.items() if g == best)
        left.remove(pick)
        covered = np.maximum(covered, sims[:, pick])
    rng = np.random.default_rng(1)

    def coverage(rows: np.ndarray) -> float:
        return float(sims[:, rows].max(axis=1).sum())

    assert coverage(order[:12]) > max(coverage(rng.choice(240, 12, replace=False)) for _ in range(50))


def test_a_large_set_chains_from_neighbour_lists_to_the_same_order(monkeypatch: pytest.MonkeyPatch) -> None:
    x = blobs(1500, 64, 10, 0.9, seed=2)
    whole = kernels.chain(x, start=3)
    monkeypatch.setattr(kernels, "CHAIN_ROWS", 100)  # the lists, and the products with the rows left
    monkeypatch.setattr(kernels, "NEIGHBOURS", 8)
    assert kernels.chain(x, start=3).tolist() == whole.tolist()


def test_the_chain_visits_every_row_once_always_to_the_nearest_left() -> None:
    x = blobs(600, 24, 8, 0.9, seed=11)
    order = kernels.chain(x, start=4)
    assert sorted(order.tolist()) == list(range(600)) and order[0] == 4
    u = x.astype(np.float64) / np.linalg.norm(x.astype(np.float64), axis=1, keepdims=True)
    left = np.ones(600, dtype=bool)
    at = 4
    for step in range(599):  # greedy nearest neighbour, in float64
        left[at] = False
        sims = np.where(left, u @ u[at], -np.inf)
        at = int(np.flatnonzero(sims == sims.max())[0])
        assert order[step + 1] == at
    shuffled = np.random.default_rng(0).permutation(600)
    assert kernels.mean_neighbour_similarity(x, order) > kernels.mean_neighbour_similarity(x, shuffled) + 0.3


# ---- the checker --------------------------------------------------------------------------------------------

HEAD = ('recipe "t" { seed 1 }\nsource web = jsonl("web.jsonl")\nsource wiki = jsonl("wiki.jsonl")\n')
EMB = 'score web {\n  emb = embedding("m")\n  topic = cluster(emb, k: 4)\n}\n'


def errors(text: str) -> list[str]:
    with pytest.raises(RecipeErrors) as info:
        check(parse(HEAD + text + 'output "b"\n'))
    return [e.message for e in info.value.errors]


def test_the_checker_says_what_a_space_operator_needs() -> None:
    assert errors('score web {\n  n = expr(words(text))\n  c = cluster(n, k: 4)\n  d = cluster(e2, k: 2)\n}\n') == [
        "`vectors` of `cluster`: `n` is a number, not an embedding (a score of `embedding(...)`)",
        "`vectors` of `cluster`: `e2` is not a score available here"]
    assert errors('filter web { dedup semantic(emb) }\n') == [
        "`dedup semantic` compares embeddings, which are computed after the filters"]
    assert errors(EMB.replace("}\n", "  dedup semantic(emb, clusters: emb)\n  dedup minhash()\n}\n", 1)) == [
        "`clusters` of `semantic`: `emb` is an embedding, not a number score",
        "a score block dedups by its embeddings: `dedup semantic`, not `minhash`"]
    assert errors(EMB + "mix 10 docs { web 100% balance topic weights [1, 2, 0] }\n") == [
        "`topic` has 4 clusters, and 3 weights are given"]
    assert errors(EMB + "mix 10 docs { web 100% balance topic weights [0, 0, 0, 0] }\n") == [
        "the weights are all 0"]
    assert errors(EMB + "order { knn_chains() }\n") == ["`knn_chains` needs the argument `vectors`"]
    assert errors(EMB.replace("}\n", "  n = expr(1)\n  r = representative(emb, clusters: n)\n}\n", 1)) == [
        "`clusters` of `representative`: `n` is not a `cluster(...)` score"]
    assert errors(EMB + 'score wiki { emb = embedding("m", pooling: "cls") }\nmix 10 docs { web 50%, wiki 50% }\n'
                  "order { knn_chains(emb) }\n") == [
        "`knn_chains` compares `emb` across sources, and it is not the same embedding in each"]
    assert errors(EMB + "mix 10 docs { web 50%, wiki 50% }\norder { knn_chains(emb, clusters: topic), shuffle }\n") \
        == ["`knn_chains` orders a phase by itself; it does not combine with other steps",
            "`knn_chains` reads `emb`, a score of `web` only, and the mix also takes `wiki`",
            "`knn_chains` reads `topic`, a score of `web` only, and the mix also takes `wiki`"]
    checked = check(parse(HEAD + EMB.replace("}\n", "  dedup semantic(emb, threshold: 0.93)\n}\n", 1)
                          + "mix 10 docs { web 100% balance topic weights [1, 0, 2, 1] }\norder { knn_chains(emb) }\n"
                          + 'output "b"\n'))
    assert checked.space_dedups[0].args == (("clusters", ""), ("threshold", 0.93), ("vectors", "emb"))
    assert checked.mix is not None and checked.mix.shares[0].weights == (1.0, 0.0, 2.0, 1.0)


# ---- the worked recipe --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("space")
    (root / "data").symlink_to(ROOT / "data")
    (root / "models").symlink_to(ROOT / "models")
    (root / "space.recipe").write_text((ROOT / "recipes/space.recipe").read_text(encoding="utf-8"))
    return root


@pytest.fixture(scope="module")
def built(project: Path) -> Path:
    ok(recipe(project, "run", "space.recipe", "--quiet", "--cache", "cache", "--threads", "2"))
    return project / "build" / "space"


def rows(out: Path) -> list[dict[str, Any]]:
    return pq.read_table(out / "data").to_pylist()


def notes() -> dict[str, dict[str, Any]]:
    return {f"notes/{r['id']}": r for r in map(json.loads, (ROOT / "data/sample/notes.jsonl").open())}


def test_semantic_dedup_removes_the_paraphrases_that_minhash_misses(built: Path) -> None:
    ledger = pq.read_table(built / "ledger.parquet").to_pylist()
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for row in ledger:
        by_rule.setdefault(row["rule"], []).append(row)
    planted = notes()
    copies = {d for d, r in planted.items() if r["kind"].startswith("copy of")}
    paraphrases = {d for d, r in planted.items() if r["kind"].startswith("paraphrase of")}
    assert len(copies) == 12 and len(paraphrases) == 30
    assert {r["doc_id"] for r in by_rule["dedup minhash(threshold: 0.8)"]} == copies
    semantic = by_rule["dedup semantic(emb, threshold: 0.9, clusters: topic)"]
    assert {r["doc_id"] for r in semantic} == paraphrases
    for row in semantic:  # each names the note it rewords
        assert row["duplicate_of"] == row["doc_id"].removesuffix("-paraphrase")
    assert all(r["duplicate_of"] is None for rule, rs in by_rule.items() if "semantic" not in rule for r in rs)
    funnel = manifest(built)["funnel"]["notes"]
    assert [s["dropped"] for s in funnel["dropped"]] == [12, 30] and funnel["kept"] == 180


def test_the_clusters_are_the_topics_and_the_mix_takes_twenty_of_each(built: Path) -> None:
    got = rows(built)
    planted = notes()
    pairs = Counter((r["topic"], planted[r["doc_id"]]["topic"]) for r in got)
    assert len(pairs) == 6 and set(pairs.values()) == {20}  # one topic per cluster, 20 notes each
    assert sorted(r["rep"] for r in got) == sorted(list(range(1, 21)) * 6)  # the 20 most representative of each
    (fitted,) = (built.parent.parent / "cache" / "fit_notes_topic").glob("*/model/centroids.npy")
    centroids = np.load(fitted).astype(np.float64)
    for r in got:  # each note's distance is to the centroid of its own cluster, the nearest one
        distances = np.linalg.norm(centroids - np.array(r["emb"], dtype=np.float32).astype(np.float64), axis=1)
        assert r["topic"] == int(distances.argmin()) and r["dist"] == pytest.approx(distances.min(), rel=1e-12)
    clusters = manifest(built)["clusters"]["notes"]["topic"]
    assert clusters["k"] == 6 and [c["docs"] for c in clusters["clusters"]] == [20] * 6
    assert sorted(c["fit_size"] for c in clusters["clusters"]) == [35] * 6  # 210 distinct notes, before SemDeDup
    assert (built / "clusters_notes_topic.png").stat().st_size > 10_000
    card = (built / "README.md").read_text(encoding="utf-8")
    assert "## Clusters: notes, `topic`" in card and "![notes: topic clusters](clusters_notes_topic.png)" in card


def test_the_order_chains_nearest_neighbours_cluster_after_cluster(built: Path) -> None:
    got = rows(built)
    x = np.array([r["emb"] for r in got], dtype=np.float32)
    topics = [r["topic"] for r in got]
    runs = [t for i, t in enumerate(topics) if i == 0 or topics[i - 1] != t]
    assert len(runs) == 6  # each cluster in one stretch
    chained = kernels.mean_neighbour_similarity(x, np.arange(len(x)))
    rng = np.random.default_rng(0)
    shuffled = np.mean([kernels.mean_neighbour_similarity(x, rng.permutation(len(x))) for _ in range(20)])
    assert chained > shuffled + 0.2
    first = [i for i, t in enumerate(topics) if t == topics[0]]
    assert got[0]["doc_id"] == min(got[i]["doc_id"] for i in first)  # the chain starts at the smallest doc_id


def test_a_new_mix_weight_reclusters_nothing_and_threads_do_not_change_the_bytes(project: Path, built: Path) -> None:
    shards = {p.name: p.read_bytes() for p in (built / "data").iterdir()}
    other = project / "other"
    other.mkdir()
    for name in ("data", "models"):
        (other / name).symlink_to(project / name)
    (other / "space.recipe").write_text((project / "space.recipe").read_text(encoding="utf-8"))
    ok(recipe(other, "run", "space.recipe", "--quiet", "--cache", "cache", "--threads", "1"))
    assert {p.name: p.read_bytes() for p in (other / "build/space/data").iterdir()} == shards
    weighted = (project / "space.recipe").read_text(encoding="utf-8").replace(
        "balance topic ", "balance topic weights [2, 2, 1, 1, 1, 1] ")
    (project / "weighted.recipe").write_text(weighted.replace('"build/space"', '"build/weighted"'))
    events = json_events(ok(recipe(project, "run", "weighted.recipe", "--json", "--cache", "cache")).stdout)
    ran = {e["stage"] for e in events if e.get("event") == "stage_end" and not e.get("cached")}
    assert ran == {"mix", "order", "output"}, ran
    got = pq.read_table(project / "build/weighted/data").column("topic").to_pylist()
    assert [Counter(got)[c] for c in range(6)] == [30, 30, 15, 15, 15, 15]


def test_weights_from_a_file_are_a_dependency_of_the_mix(project: Path, built: Path) -> None:
    """A CLIMB-style search's output: weights per cluster in a JSON file, which the mix reads, and whose edit
    re-runs the mix (and nothing before it)."""
    text = (project / "space.recipe").read_text(encoding="utf-8").replace('"build/space"', '"build/climb"')
    (project / "climb.recipe").write_text(text.replace("balance topic ", 'balance topic weights "climb.json" '))
    (project / "climb.json").write_text('{"0": 2, "1": 2, "2": 1, "3": 1, "4": 1, "5": 1}')
    ok(recipe(project, "run", "climb.recipe", "--quiet", "--cache", "cache"))
    got = Counter(pq.read_table(project / "build/climb/data").column("topic").to_pylist())
    assert [got[c] for c in range(6)] == [30, 30, 15, 15, 15, 15]
    (project / "climb.json").write_text("[1, 1, 1, 1, 1, 0]")  # cluster 5 left out
    events = json_events(ok(recipe(project, "run", "climb.recipe", "--json", "--cache", "cache")).stdout)
    assert {e["stage"] for e in events if e.get("event") == "stage_end" and not e.get("cached")} == \
        {"mix", "order", "output"}
    got = Counter(pq.read_table(project / "build/climb/data").column("topic").to_pylist())
    assert [got[c] for c in range(6)] == [24, 24, 24, 24, 24, 0]
    ledger = pq.read_table(project / "build/climb/ledger.parquet").to_pylist()
    assert sum(r["rule"] == "weight 0 in `balance topic`" for r in ledger) == 30
    (project / "climb.json").write_text("[1, 2]")
    result = recipe(project, "run", "climb.recipe", "--quiet", "--cache", "cache")
    assert result.returncode == 1 and "it gives 2 weights, and the clusters are 6" in " ".join(result.stderr.split())
    (project / "climb.json").unlink()
    result = recipe(project, "check", "climb.recipe")
    assert result.returncode == 2 and "`weights`: the file does not exist" in result.stderr


def test_the_estimate_fits_fewer_clusters_on_a_sample_smaller_than_k(project: Path, built: Path) -> None:
    """k = 200 fits the 210 distinct notes; a sample of 100 of them cannot give 200 clusters, and the estimate
    (not the build) fits as many as it has."""
    text = (project / "space.recipe").read_text(encoding="utf-8").replace("k: 6", "k: 200")
    (project / "many.recipe").write_text(text.replace("balance topic top -rep", "top -rep"))
    shown = ok(recipe(project, "explain", "many.recipe", "--estimate", "--sample", "100", "--cache", "cache")).stdout
    assert "sample: notes 100 of 222" in shown


def variant(project: Path, name: str, *edits: str) -> Path:
    """The worked recipe with each `old` of the (old, new) pairs in `edits` replaced, built into build/NAME with
    the shared cache."""
    text = (project / "space.recipe").read_text(encoding="utf-8").replace('"build/space"', f'"build/{name}"')
    for old, new in zip(edits[::2], edits[1::2], strict=True):
        assert old in text
        text = text.replace(old, new)
    (project / f"{name}.recipe").write_text(text)
    ok(recipe(project, "run", f"{name}.recipe", "--quiet", "--cache", "cache"))
    return project / "build" / name


def test_balance_in_a_later_phase_and_in_a_phase_that_inherits_it(project: Path, built: Path) -> None:
    out = variant(project, "phased", "order { knn_chains(emb, clusters: topic) }",
                  "order {\n  phase plain first 50%: mix { notes 100% }, shuffle\n"
                  "  phase tilted last 50%: mix { notes 100% balance topic weights [3, 1, 1, 1, 1, 1] }, shuffle\n}")
    rows = pq.read_table(out / "data").to_pylist()
    plain, tilted = Counter(r["topic"] for r in rows[:60]), Counter(r["topic"] for r in rows[60:])
    assert sorted(plain.values()) == [10] * 6  # the main mix's `balance topic`, inherited
    assert [tilted[c] for c in range(6)] == [20, 8, 8, 8, 8, 8]  # cluster 0 has 20 left: the others share the rest
    out = variant(project, "later", "notes 100%  balance topic top -rep", "notes 100%  top -rep",
                  "order { knn_chains(emb, clusters: topic) }",
                  "order {\n  phase a first 50%: shuffle\n  phase b last 50%: mix { notes 100% balance topic }, "
                  "shuffle\n}")
    assert Counter(pq.read_table(out / "data").slice(60).column("topic").to_pylist()) == Counter(
        {c: 10 for c in range(6)})


def test_representative_without_semantic_dedup_and_repeats_apart_in_the_chain(project: Path, built: Path) -> None:
    out = variant(project, "ranked", "  dedup semantic(emb, threshold: 0.9, clusters: topic)\n", "")
    assert sorted(pq.read_table(out / "data").column("rep").to_pylist()) == sorted(list(range(1, 21)) * 6)
    out = variant(project, "repeats", "notes 100%  balance topic top -rep", "notes 100% max_epochs 3")
    text = (project / "repeats.recipe").read_text(encoding="utf-8").replace("mix 120 docs", "mix 400 docs")
    (project / "repeats.recipe").write_text(text)
    ok(recipe(project, "run", "repeats.recipe", "--quiet", "--cache", "cache"))
    ids = pq.read_table(out / "data").column("doc_id").to_pylist()
    assert len(ids) == 400 and len(set(ids)) == 180
    assert not any(a == b for a, b in zip(ids, ids[1:], strict=False))  # a repeat comes in a later pass
    assert ids[180:360] == ids[:180]  # the second pass is the chain again


def test_read_weights_refuses_what_is_not_a_weight_per_cluster(tmp_path: Path) -> None:
    import hashlib

    from datarecipe.compiler.language.errors import RecipeError
    from datarecipe.runtime.stages.mix import read_weights

    def read(text: str, k: int = 4) -> Any:
        path = tmp_path / "w.json"
        path.write_text(text)
        table = {"path": str(path), "k": k, "fingerprint": f"sha256:{hashlib.sha256(text.encode()).hexdigest()}"}
        return read_weights(table, "mix").column("weights").to_pylist()[0]

    assert read('{"0": 2, "3": 1}') == [2.0, 0.0, 0.0, 1.0]
    assert read("[1, 0, 0.5, 2]") == [1.0, 0.0, 0.5, 2.0]
    for bad, said in [('{"99999999999": 1}', "below 4"), ('{"00": 1}', "no leading zeros"), ("[1, 2]", "gives 2"),
                      ("[1, Infinity, 1, 1]", "finite"), ("[0, 0, 0, 0]", "every weight is 0"),
                      ("[1, -1, 1, 1]", "at least 0"), ("{", "not JSON")]:
        with pytest.raises(RecipeError, match=said):
            read(bad)


def test_a_vector_with_a_nan_is_an_error_of_its_stage() -> None:
    import pyarrow as pa
    from datarecipe.compiler.language.errors import RecipeError

    with pytest.raises(RecipeError, match="NaN or an infinity") as info:
        kernels.matrix(pa.array([[0.5, 1.0], [float("nan"), 1.0]], pa.list_(pa.float32())), "space_web")
    assert info.value.stage == "space_web"


def test_k_larger_than_the_source_is_an_error_of_the_fit(tmp_path: Path) -> None:
    (tmp_path / "models").symlink_to(ROOT / "models")
    (tmp_path / "few.jsonl").write_text("".join(json.dumps({"text": f"note number {i} about cats"}) + "\n"
                                                for i in range(3)))
    (tmp_path / "r.recipe").write_text('recipe "r" { seed 1 }\nsource few = jsonl("few.jsonl")\n'
                                       'score few {\n  emb = embedding("models/all-MiniLM-L6-v2")\n'
                                       '  topic = cluster(emb, k: 5)\n}\noutput "build/r"\n')
    result = recipe(tmp_path, "run", "r.recipe", "--quiet", "--cache", "cache")
    assert result.returncode == 1, result.stderr  # a runtime error, as a source short in the mix
    said = " ".join(result.stderr.split())
    assert "stage fit_few_topic: cluster: k is 5, but source `few` has only 3 distinct documents with an " \
           "embedding" in said and "Traceback" not in said
    assert not (tmp_path / "build" / "r").exists()  # no output, not even a part of one


def test_the_reference_documents_the_space_operators() -> None:
    text = (ROOT / "docs/reference.md").read_text(encoding="utf-8")
    for name in ("cluster", "semantic", "knn_chains"):
        assert re.search(rf"`{name}\b", text), name
