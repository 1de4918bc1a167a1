"""`dedup minhash(...)`: MinHash LSH near-duplicate removal. Planted near duplicates of real documents are
dropped and the smallest doc_id of each connected component is kept (also through chains of documents
that are not all similar to each other), distinct and word-less documents are left alone, `scope: global`
dedups across sources, the checker rejects bad parameters, and the output does not depend on threads.

Builds run in-process on the real engine (real DuckDB, real files); the expected drops are worked out
by brute force in plain Python, from an independent implementation of the shingles."""

from __future__ import annotations

import gzip
import json
import random
import re
from functools import cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datarecipe.compiler.language.checker import check
from datarecipe.compiler.language.errors import RecipeErrors
from datarecipe.compiler.language.parser import parse
from datarecipe.operators.dedup import minhash
from datarecipe.runtime.executors.local import LocalEngine
from datarecipe.runtime.inputs import build_plan
from helpers import digest_tree, steps, write_jsonl

ROOT = Path(__file__).resolve().parents[1]
RULE = "dedup minhash()"


def shingle_set(text: str, n: int = 5) -> set[tuple[str, ...]]:
    """Word n-grams of the lowercased runs of letters and digits; fewer words than n: one shingle."""
    words = re.findall(r"[^\W_]+", text.lower())
    if not words:
        return set()
    if len(words) < n:
        return {tuple(words)}
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def jaccard(a: str, b: str) -> float:
    sa, sb = shingle_set(a), shingle_set(b)
    return len(sa & sb) / len(sa | sb) if sa or sb else 0.0


def expected_drops(docs: dict[str, str], threshold: float = 0.8) -> set[str]:
    """Every doc_id but the smallest of each connected component of the pairs at Jaccard >= threshold."""
    ids = sorted(docs)
    sets = [shingle_set(docs[i]) for i in ids]
    parent = list(range(len(ids)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i in range(len(ids)):
        for j in range(i + 1, len(ids)):
            if sets[i] and sets[j] and len(sets[i] & sets[j]) / len(sets[i] | sets[j]) >= threshold:
                a, b = find(i), find(j)
                parent[max(a, b)] = min(a, b)
    return {ids[i] for i in range(len(ids)) if find(i) != i}


@cache
def real_docs(count: int, min_words: int = 150) -> list[str]:
    """Documents of Python's documentation from the sample, none similar to another (Jaccard < 0.3)."""
    with gzip.open(ROOT / "data/sample/pydocs.jsonl.gz", "rt") as fh:
        texts = [json.loads(line)["text"] for line in fh]
    picked: list[str] = []
    for text in texts:
        if len(text.split()) >= min_words and all(jaccard(text, p) < 0.3 for p in picked):
            picked.append(text)
            if len(picked) == count:
                return picked
    raise AssertionError("the sample has too few long documents")


def edit(text: str, rng: random.Random, changes: int, avoid: set[int] | None = None) -> tuple[str, set[int]]:
    """The text with `changes` words, spread out, replaced by new ones; and the positions changed."""
    words = text.split()
    choices = [i for i in range(len(words)) if not avoid or all(abs(i - a) > 5 for a in avoid)]
    positions: set[int] = set()
    while len(positions) < changes:
        i = rng.choice(choices)
        if all(abs(i - p) > 5 for p in positions):
            positions.add(i)
    for i in positions:
        words[i] = f"changed{rng.randrange(10**6)}"
    return " ".join(words), positions


def run(root: Path, recipe: str, *, threads: int = 2, cache: str = "cache", out: str = "build/m") -> Path:
    """Build a recipe with the local engine, in root; the output directory."""
    (root / "r.recipe").write_text(recipe)
    checked = check(parse(recipe))
    cwd = Path.cwd()
    try:
        import os

        os.chdir(root)
        LocalEngine(build_plan(checked, cache), checked, cache_dir=Path(cache), threads=threads).run()
    finally:
        os.chdir(cwd)
    return root / out


def one_source(rule: str = RULE, extra: str = "") -> str:
    return f"""recipe "m" {{ seed 3 }}
source web = jsonl("data/web.jsonl", id: "id")
filter web {{
  {extra}
  {rule}
}}
output "build/m"
"""


def ledger(out: Path) -> list[dict[str, Any]]:
    return pq.read_table(out / "ledger.parquet").to_pylist()


def kept(out: Path) -> set[str]:
    return set(pq.read_table(out / "data", columns=["doc_id"]).column("doc_id").to_pylist())


# ---- what it drops -------------------------------------------------------------------------------


def test_planted_near_duplicates_are_dropped_and_the_smallest_doc_id_kept(tmp_path: Path) -> None:
    rng = random.Random(5)
    base = real_docs(40)
    rows = [{"id": f"p{i:03d}", "text": t} for i, t in enumerate(base)]
    planted: dict[str, str] = {}
    for i in range(0, 40, 4):  # a near copy of every fourth document: a few words changed
        copy, _ = edit(base[i], rng, rng.randint(1, 3))
        # Half the copies sort before their original: the smallest doc_id is kept, whichever it is.
        doc_id = f"{'a' if i % 8 else 'q'}{i:03d}"
        rows.append({"id": doc_id, "text": copy})
        planted[f"web/{doc_id}"] = f"web/p{i:03d}"
    write_jsonl(tmp_path / "data/web.jsonl", rows)
    out = run(tmp_path, one_source())
    docs = {f"web/{r['id']}": r["text"] for r in rows}
    assert all(jaccard(docs[c], docs[o]) >= 0.8 for c, o in planted.items())
    drops = {r["doc_id"] for r in ledger(out)}
    assert drops == expected_drops(docs)
    assert drops == {max(pair) for pair in planted.items()}
    assert {r["rule"] for r in ledger(out)} == {RULE}
    assert {r["stage"] for r in ledger(out)} == {"filter_web"}
    assert kept(out) == set(docs) - drops
    funnel = json.loads((out / "manifest.json").read_text())["funnel"]["web"]
    assert steps(funnel["dropped"]) == {RULE: len(planted)} and funnel["kept"] == len(base)


def test_a_chain_of_near_duplicates_is_one_component(tmp_path: Path) -> None:
    # A ~ B and B ~ C, but A and C are not similar. Ids sort A < C < B: C's only similar partner (B) has a
    # larger id, so pairwise dedup would keep C; one component keeps only A.
    rng = random.Random(11)
    a = " ".join(real_docs(1, min_words=400)[0].split()[:400])
    b, first = edit(a, rng, 6)
    c, _ = edit(b, rng, 6, avoid=first)
    other = real_docs(6)[1:]
    docs = {"web/c1": a, "web/c3": b, "web/c2": c} | {f"web/o{i}": t for i, t in enumerate(other)}
    assert jaccard(a, b) >= 0.8 and jaccard(b, c) >= 0.8 and jaccard(a, c) < 0.8
    write_jsonl(tmp_path / "data/web.jsonl", [{"id": k.removeprefix("web/"), "text": v} for k, v in docs.items()])
    out = run(tmp_path, one_source())
    assert {r["doc_id"] for r in ledger(out)} == {"web/c2", "web/c3"} == expected_drops(docs)
    assert kept(out) == {"web/c1"} | {f"web/o{i}" for i in range(len(other))}


def test_a_long_chain_is_one_component(tmp_path: Path) -> None:
    """400 documents, each a window of 150 distinct words moved 3 words along from the previous one: only
    near neighbours are similar, so the component is a long chain (components settle by pointer jumping,
    in about log2 of its length rounds). Ids run against the chain's order in half of it."""
    words = [f"w{i}" for i in range(3 * 400 + 150)]
    docs = {f"web/{(k if k % 2 else 1000 - k):04d}": " ".join(words[3 * k: 3 * k + 150]) for k in range(400)}
    write_jsonl(tmp_path / "data/web.jsonl", [{"id": k.removeprefix("web/"), "text": v} for k, v in docs.items()])
    out = run(tmp_path, one_source())
    assert kept(out) == {min(docs)} and expected_drops(docs) == set(docs) - {min(docs)}


def test_a_lower_threshold_and_other_parameters_follow_the_brute_force_answer(tmp_path: Path) -> None:
    rng = random.Random(2)
    base = real_docs(12)
    rows = [{"id": f"b{i:02d}", "text": t} for i, t in enumerate(base)]
    for i, text in enumerate(base):  # copies at Jaccard 0.4 to 0.95: over 0.8, between 0.6 and 0.8, under 0.6
        rows.append({"id": f"n{i:02d}", "text": edit(text, rng, 2 + 2 * i)[0]})
    write_jsonl(tmp_path / "data/web.jsonl", rows)
    docs = {f"web/{r['id']}": r["text"] for r in rows}
    # 40 bands of 4 rows find pairs at 0.65 with probability 0.9996; verification keeps those >= 0.6 only.
    rule = "dedup minhash(ngram: 5, bands: 40, rows: 4, threshold: 0.6)"
    out = run(tmp_path, one_source(rule))
    expected = expected_drops(docs, 0.6)
    assert expected != expected_drops(docs, 0.8)
    assert {r["doc_id"] for r in ledger(out)} == expected


def test_documents_already_dropped_take_no_part(tmp_path: Path) -> None:
    base = real_docs(3)
    rows = [{"id": "a", "text": base[0] + " tiny"}, {"id": "b", "text": base[0]}, {"id": "c", "text": base[1]}]
    write_jsonl(tmp_path / "data/web.jsonl", rows)
    out = run(tmp_path, one_source(extra='drop text ~ "tiny$"'))
    # `a` is dropped by the first rule, so its copy `b` has no smaller partner and is kept.
    assert {(r["doc_id"], r["rule"]) for r in ledger(out)} == {("web/a", 'drop text ~ "tiny$"')}
    assert kept(out) == {"web/b", "web/c"}


def test_empty_and_one_word_texts(tmp_path: Path) -> None:
    texts = {"e1": "", "e2": "   ", "e3": "!!! ...", "w1": "hello", "w2": "Hello!", "w3": "hello", "w4": "world",
             "s1": "two words", "s2": "Two, words."}
    write_jsonl(tmp_path / "data/web.jsonl", [{"id": k, "text": v} for k, v in texts.items()])
    out = run(tmp_path, one_source())
    # No words: no shingles, no part in the dedup. One word, or fewer than ngram words: one shingle.
    assert {r["doc_id"] for r in ledger(out)} == {"web/w2", "web/w3", "web/s2"}
    assert kept(out) == {"web/e1", "web/e2", "web/e3", "web/w1", "web/w4", "web/s1"}


def test_a_huge_bucket_of_identical_documents(tmp_path: Path) -> None:
    text = " ".join(real_docs(1)[0].split()[:60])
    rows = [{"id": f"x{i:04d}", "text": text} for i in range(2000)] + [{"id": "y", "text": real_docs(2)[1]}]
    write_jsonl(tmp_path / "data/web.jsonl", rows)
    out = run(tmp_path, one_source())
    assert kept(out) == {"web/x0000", "web/y"}
    assert len(ledger(out)) == 1999


def test_global_scope_dedups_across_sources(tmp_path: Path) -> None:
    rng = random.Random(8)
    base = real_docs(10)
    write_jsonl(tmp_path / "data/web.jsonl", [{"id": f"w{i}", "text": t} for i, t in enumerate(base[:6])])
    # `books` repeats two web documents nearly, and one of its own; `code` dedups on its own.
    books = [edit(base[0], rng, 2)[0], edit(base[1], rng, 1)[0], base[6], edit(base[6], rng, 2)[0], base[7]]
    write_jsonl(tmp_path / "data/books.jsonl", [{"id": f"b{i}", "text": t} for i, t in enumerate(books)])
    write_jsonl(tmp_path / "data/code.jsonl", [{"id": "c0", "text": base[0]}, {"id": "c1", "text": base[0]}])
    recipe = """recipe "g" { seed 1 }
source web = jsonl("data/web.jsonl", id: "id")
source books = jsonl("data/books.jsonl", id: "id")
source code = jsonl("data/code.jsonl", id: "id")
filter web { keep words(text) >= 5  dedup minhash(scope: "global") }
filter books { dedup minhash(threshold: 0.8, scope: "global") }
filter code { dedup minhash() }
output "build/m"
"""
    out = run(tmp_path, recipe)
    got = {(r["doc_id"], r["stage"], r["rule"]) for r in ledger(out)}
    # `books/...` sorts before `web/...`: the web originals go, each under the web block's rule.
    assert got == {("web/w0", "dedup_global", 'dedup minhash(scope: "global")'),
                   ("web/w1", "dedup_global", 'dedup minhash(scope: "global")'),
                   ("books/b3", "dedup_global", 'dedup minhash(threshold: 0.8, scope: "global")'),
                   ("code/c1", "filter_code", "dedup minhash()")}
    funnel = json.loads((out / "manifest.json").read_text())["funnel"]
    assert funnel["books"]["dropped"] == [{"rule": 'dedup minhash(threshold: 0.8, scope: "global")', "dropped": 1}]
    assert funnel["web"]["dropped"] == [{"rule": "keep words(text) >= 5", "dropped": 0},
                                        {"rule": 'dedup minhash(scope: "global")', "dropped": 2}]
    assert [funnel[s]["kept"] for s in ("web", "books", "code")] == [4, 4, 1]
    assert [funnel[s]["selected"] for s in ("web", "books", "code")] == [4, 4, 1]


# ---- the checker ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("rule", "message", "hint"), [
    ("dedup minhash(bands: 0)", "`bands` of `minhash` is out of range: 0", "allowed: 1 to 64"),
    ("dedup minhash(rows: -2)", "`rows` of `minhash` is out of range: -2", "allowed: 1 to 32"),
    ("dedup minhash(threshold: 1.5)", "`threshold` of `minhash` is out of range: 1.5", "allowed: 0 to 1"),
    ("dedup minhash(threshold: -0.1)", "`threshold` of `minhash` is out of range: -0.1", "allowed: 0 to 1"),
    ('dedup minhash(scope: "globl")', "`scope` of `minhash` must be one of per_source, global",
     "did you mean `global`?"),
    ("dedup minhash(band: 4)", "`minhash` has no parameter `band`", "did you mean `bands`?"),
    ("dedup minhash(ngram: 2.5)", "`ngram` of `minhash` must be a whole number", "drop the fraction"),
    ("dedup minhsh()", "unknown dedup method `minhsh`", "did you mean `minhash`?"),
    ('dedup minhash(scope: "global")\n  keep words(text) > 3',
     "`dedup minhash(scope: \"global\")` must be the last rule of its block", "move it to the end"),
])
def test_checker_rejects_bad_parameters(rule: str, message: str, hint: str) -> None:
    with pytest.raises(RecipeErrors) as caught:
        check(parse(one_source(rule)))
    [error] = caught.value.errors
    assert error.message == message
    assert hint in error.hint


# ---- determinism and the kernels -----------------------------------------------------------------


def test_output_is_identical_with_one_or_two_threads(tmp_path: Path) -> None:
    rng = random.Random(4)
    base = real_docs(30)
    rows = [{"id": f"d{i:03d}", "text": t} for i, t in enumerate(base)]
    rows += [{"id": f"c{i:03d}", "text": edit(base[i % 30], rng, 1 + i % 4)[0]} for i in range(40)]
    rng.shuffle(rows)
    write_jsonl(tmp_path / "data/web.jsonl", rows)
    recipe = one_source(extra="keep words(text) >= 5").replace('output "build/m"',
                                                                'order { shuffle }\noutput "build/m" shard 10 rows')
    digests = [digest_tree(run(tmp_path, recipe, threads=t, cache=f"cache-{t}")) for t in (1, 2)]
    assert digests[0] == digests[1]
    assert len([n for n in digests[0] if n.startswith("data/")]) > 2


def test_kernels_do_not_depend_on_batch_boundaries_and_match_the_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    base = real_docs(8, min_words=50)
    rng = random.Random(1)
    texts = [*base, *(edit(t, rng, 3)[0] for t in base), "", None, "one", "Ünïcode wörds ça va 123"]
    params = pa.array([json.dumps({"ngram": 5, "bands": 14, "rows": 8})])
    whole = minhash.bands(pa.array(texts), params).to_pylist()
    halves = minhash.bands(pa.array(texts[:7]), params).to_pylist() + \
        minhash.bands(pa.array(texts[7:]), params).to_pylist()
    assert whole == halves
    with monkeypatch.context() as m:  # tiny slices: the same signatures
        m.setattr(minhash, "SLICE_BYTES", 2000)
        assert minhash.bands(pa.array(texts), params).to_pylist() == whole
    assert [not w for w in whole] == [t is None or not shingle_set(t) for t in texts]
    left = [t or "" for t in texts]
    right = left[len(base):len(base) * 2] + left[:len(base)] + left[len(base) * 2:][::-1]
    got = minhash.jaccard(pa.array(left), pa.array(right), params).to_pylist()
    assert got == pytest.approx([jaccard(a, b) for a, b in zip(left, right, strict=True)])
