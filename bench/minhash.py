"""Quality, speed and memory of `dedup minhash()` on real text with planted near duplicates.

    .venv/bin/python bench/minhash.py [--quick]

datasketch runs in a side venv, bench/.venv-minhash, which the benchmark makes on first use (`python -m venv`, then
`pip install datasketch==2.0.0`; PyPI must be reachable that once) and reuses after: nothing to install by hand.

Corpus. Real text cut into pieces at line boundaries (pieces of 30 to CHUNK words): Python's documentation,
the Debian handbook and Go sources from data/sample/, plus bench/data/corpus.parquet (bench/corpus.py) when it
exists and the run is not `--quick`. Into it go planted near duplicates: a copy of a random piece with k of its
words replaced by words from elsewhere in the corpus, k chosen for a target Jaccard similarity drawn uniformly
from [0.8, 1) for half of them and from [0.5, 0.8) for the other half. Ids are hashes, so a copy sorts before
its original as often as after it. The sample's own duplicates stay in: they are real.

Ground truth. The shingles are the rule's own (word 5-grams of the lowercased runs of letters and digits,
hashed: datarecipe.operators.dedup.minhash.shingles). The exact Jaccard similarity of EVERY pair of documents is
computed by brute force (a sparse matrix product, documents x shingles, in blocks of rows). A document is a
true duplicate when it is not the smallest doc_id of its connected component in the graph of pairs with
Jaccard >= 0.8: exactly what an ideal `dedup minhash(threshold: 0.8)` drops. Precision and recall compare
that set with the documents the build's ledger drops under the minhash rule.

Speed. docs/s of the whole `recipe run` (a fresh process and cache; ingest, the filter with only
`dedup minhash()`, and the output writing included) against datasketch: shingles built in Python (the same
word 5-grams, as UTF-8 bytes), `MinHash(num_perm=112).update_batch`, then per document, in doc_id order,
`MinHashLSH(threshold=0.8, num_perm=112).query` then `insert`; a document is a duplicate when the query
returns anything. Single-threaded, as datasketch is; our build too (`--threads 1`, the issue's one thread each;
`--threads N` to give it more).

Memory. Peak RSS of the `recipe run` process (os.wait4) on the corpus (x1) and on four times as many distinct
documents (x4): the corpus plus three lowercased copies in which every letter and digit is replaced by the
one 1, 2 and 3 places later in the corpus's sorted alphabet, so no word is shared with the original while
lengths, word boundaries and the duplicate structure stay the same (x4 drops about 4 times as many).

Prints a few lines of detail, and as the last line one JSON object: minhash_precision, minhash_recall,
minhash_speedup_vs_datasketch, docs, peak_rss_mb_1x, peak_rss_mb_4x (and more detail keys).
"""

from __future__ import annotations

import argparse
import glob
import gzip
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from datarecipe.operators.dedup import minhash

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "bench/data/corpus.parquet"
NGRAM, BANDS, ROWS, THRESHOLD = 5, 14, 8, 0.8
RULE = "dedup minhash()"
RECIPE = f"""recipe "minhash-bench" {{ seed 1 }}
source web = jsonl("docs.jsonl", id: "id")
filter web {{ {RULE} }}
output "build/out"
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---- corpus -----------------------------------------------------------------------------------------


def pieces(text: str, most: int) -> list[str]:
    """The text cut at line boundaries into pieces of at most `most` words (a longer line is one piece)."""
    out, lines, words = [], [], 0
    for line in text.split("\n"):
        n = len(line.split())
        if words and words + n > most:
            out.append("\n".join(lines))
            lines, words = [], 0
        lines.append(line)
        words += n
    out.append("\n".join(lines))
    return [p for p in out if len(p.split()) >= 30]


def real_texts(quick: bool) -> tuple[list[str], int]:
    with gzip.open(ROOT / "data/sample/pydocs.jsonl.gz", "rt") as fh:
        texts = [json.loads(line)["text"] for line in fh]
    texts += pq.read_table(sorted(glob.glob(str(ROOT / "data/sample/handbook/*.parquet")))).column("body").to_pylist()
    texts += [Path(p).read_text() for p in sorted(glob.glob(str(ROOT / "data/sample/code/*.go")))]
    chunk = 120
    if not quick and CORPUS.exists():
        texts += pq.read_table(CORPUS, columns=["text"]).column("text").to_pylist()
        chunk = 300
    return [p for t in texts for p in pieces(t, chunk)], chunk


def planted_copy(text: str, target: float, vocab: list[str], rng: random.Random) -> str:
    """The text with k words replaced, k such that about 5k of its S shingles change: J ~ (S-5k)/(S+5k)."""
    words = text.split()
    shingles = max(len(words) - NGRAM + 1, 1)
    k = max(1, round(shingles * (1 - target) / (NGRAM * (1 + target))))
    for i in rng.sample(range(len(words)), min(k, len(words))):
        words[i] = rng.choice(vocab)
    return " ".join(words)


def build_corpus(quick: bool, docs: int) -> tuple[list[str], list[str], dict[str, Any]]:
    """(doc ids, texts) sorted by doc_id as the build names them (`web/<id>`), and a description."""
    rng = random.Random(20240)
    real, chunk = real_texts(quick)
    rng.shuffle(real)
    planted = docs // 5
    base = real[:docs - planted]
    if len(base) < docs - planted:
        raise SystemExit(f"only {len(real)} real pieces; asked for {docs - planted}")
    vocab = [w for t in rng.sample(base, min(len(base), 500)) for w in t.split()]
    texts = list(base)
    targets = []
    for i in range(planted):
        target = rng.uniform(0.8, 1.0) if i % 2 == 0 else rng.uniform(0.5, 0.8)
        source = rng.choice([t for t in rng.sample(base, 20) if len(t.split()) >= 60] or base[:1])
        texts.append(planted_copy(source, target, vocab, rng))
        targets.append(target)
    ids = [hashlib.sha256(f"doc-{i}".encode()).hexdigest()[:16] for i in range(len(texts))]
    order = sorted(range(len(texts)), key=lambda i: ids[i])
    info = {"real_pieces": len(base), "planted": planted, "piece_words": chunk,
            "corpus_parquet": bool(not quick and CORPUS.exists())}
    return [ids[i] for i in order], [texts[i] for i in order], info


# ---- ground truth -------------------------------------------------------------------------------------


def ground_truth(texts: list[str]) -> tuple[set[int], dict[str, int]]:
    """Indexes (in doc_id order) of the true duplicates at THRESHOLD, by brute force over all pairs."""
    from scipy import sparse
    from scipy.sparse.csgraph import connected_components

    rows_, cols_ = [], []
    step = 2000
    for lo in range(0, len(texts), step):
        row, hashes = minhash.shingles(pa.array(texts[lo:lo + step]), NGRAM)
        rows_.append(row + lo)
        cols_.append(hashes)
    row = np.concatenate(rows_)
    uniq, col = np.unique(np.concatenate(cols_), return_inverse=True)
    pairs = np.unique(np.stack([row, col]), axis=1)
    n = len(texts)
    x = sparse.csr_matrix((np.ones(pairs.shape[1], dtype=np.int32), (pairs[0], pairs[1])), shape=(n, len(uniq)))
    sizes = np.asarray(x.sum(axis=1)).ravel()
    xt = x.T.tocsc()
    edges_a, edges_b, counts = [], [], {"pairs_ge_0.8": 0, "pairs_0.5_to_0.8": 0}
    block = 500
    for lo in range(0, n, block):
        inter = (x[lo:lo + block] @ xt).tocoo()
        a, b, i = inter.row + lo, inter.col, inter.data
        keep = a < b
        a, b, i = a[keep], b[keep], i[keep]
        jac = i / (sizes[a] + sizes[b] - i)
        hit = jac >= THRESHOLD
        counts["pairs_ge_0.8"] += int(hit.sum())
        counts["pairs_0.5_to_0.8"] += int(((jac >= 0.5) & ~hit).sum())
        edges_a.append(a[hit])
        edges_b.append(b[hit])
    ea, eb = np.concatenate(edges_a), np.concatenate(edges_b)
    graph = sparse.coo_matrix((np.ones(len(ea)), (ea, eb)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    smallest = np.full(labels.max() + 1, n)
    np.minimum.at(smallest, labels, np.arange(n))
    dups = {int(i) for i in np.flatnonzero(smallest[labels] != np.arange(n))}
    return dups, counts


def scores(ours: set[int], truth: set[int]) -> tuple[float, float]:
    hit = len(ours & truth)
    return (hit / len(ours) if ours else 1.0), (hit / len(truth) if truth else 1.0)


# ---- our build --------------------------------------------------------------------------------------


def write_docs(path: Path, ids: list[str], texts: list[str]) -> None:
    with open(path, "w") as out:
        for doc_id, text in zip(ids, texts, strict=True):
            out.write(json.dumps({"id": doc_id, "text": text}) + "\n")


THREADS = 1


def recipe_run(work: Path) -> tuple[float, float, dict[str, float]]:
    """Run `recipe run` in work: (wall seconds, peak RSS in MB of that process, seconds per stage)."""
    (work / "r.recipe").write_text(RECIPE)
    start = time.perf_counter()
    with open(work / "events.jsonl", "w") as events:
        proc = subprocess.Popen([str(Path(sys.executable).parent / "recipe"), "run", "r.recipe", "--json",
                                 "--threads", str(THREADS), "--cache", "cache"], cwd=work, stdout=events,
                                stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"recipe run failed ({proc.returncode}): {proc.stderr.read().decode() if proc.stderr else ''}")
    stages = {}
    for line in (work / "events.jsonl").read_text().splitlines():
        event = json.loads(line)
        if event.get("event") == "stage_end":
            stages[event["stage"]] = event["seconds"]
    return wall, usage.ru_maxrss / 1024, stages


def rotated(texts: list[str], shift: int) -> list[str]:
    """The lowercased texts with every letter and digit replaced by the one `shift` places later in the
    sorted alphabet of the corpus: no word is left as it was, lengths and word boundaries stay."""
    lowered = [t.lower() for t in texts]
    alphabet = sorted({c for t in lowered for c in t if c.isalnum()})
    table = {ord(c): alphabet[(i + shift) % len(alphabet)] for i, c in enumerate(alphabet)}
    return [t.translate(table) for t in lowered]


# ---- datasketch --------------------------------------------------------------------------------------


DATASKETCH_VENV = ROOT / "bench/.venv-minhash"
DATASKETCH_REQUIREMENTS = ["datasketch==2.0.0"]
# The datasketch side, run in its venv: reads the texts (JSONL), prints one JSON line (seconds, duplicates, b and r).
DATASKETCH_SIDE = r"""
import json, re, sys, time
from datasketch import MinHash, MinHashLSH
NGRAM, NUM_PERM, THRESHOLD = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
with open(sys.argv[1], encoding="utf-8") as fh:
    texts = [json.loads(line) for line in fh]
start = time.perf_counter()
lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
dups = []
for i, text in enumerate(texts):
    words = re.findall(r"[^\W_]+", text.lower())
    grams = ({" ".join(words[j:j + NGRAM]) for j in range(len(words) - NGRAM + 1)} if len(words) >= NGRAM
             else {" ".join(words)} if words else set())
    m = MinHash(num_perm=NUM_PERM)
    m.update_batch([g.encode() for g in grams])
    if grams and lsh.query(m):
        dups.append(i)
    lsh.insert(str(i), m)
print(json.dumps({"seconds": time.perf_counter() - start, "dups": dups, "b": lsh.b, "r": lsh.r}))
"""


def datasketch_python() -> Path:
    """The side venv's python, made (and datasketch installed) on first use."""
    py = DATASKETCH_VENV / "bin" / "python"
    probe = "import importlib.metadata as m, datasketch; assert m.version('datasketch') == '2.0.0'"
    if py.exists() and subprocess.run([str(py), "-c", probe], capture_output=True).returncode == 0:
        return py
    log(f"creating {DATASKETCH_VENV.relative_to(ROOT)} and installing {' '.join(DATASKETCH_REQUIREMENTS)} ...")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(DATASKETCH_VENV)], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", *DATASKETCH_REQUIREMENTS], check=True)
    subprocess.run([str(py), "-c", probe], check=True)
    return py


def datasketch_run(texts: list[str], work: Path) -> tuple[float, set[int], dict[str, int]]:
    """datasketch's seconds (its loop only, as it runs in-process: shingles, MinHash, LSH query and insert),
    duplicates and LSH parameters, in the side venv."""
    py = datasketch_python()
    path = work / "datasketch.jsonl"
    with open(path, "w", encoding="utf-8") as out:
        for text in texts:
            out.write(json.dumps(text) + "\n")
    res = subprocess.run([str(py), "-c", DATASKETCH_SIDE, str(path), str(NGRAM), str(BANDS * ROWS), str(THRESHOLD)],
                         stdout=subprocess.PIPE, text=True, check=True)
    result = json.loads(res.stdout.strip().splitlines()[-1])
    return result["seconds"], set(result["dups"]), {"b": result["b"], "r": result["r"]}


# ---- the benchmark -------------------------------------------------------------------------------------


def run(quick: bool) -> dict[str, Any]:
    """The benchmark: 5,000 docs from data/sample with `quick`, else 20,000 (with bench/data/corpus.parquet
    when it exists). Returns the dict whose JSON is the last line `main` prints."""
    datasketch_python()
    docs = 5000 if quick else 20000
    ids, texts, info = build_corpus(quick, docs)
    log(f"corpus: {len(texts):,} docs ({info})")
    t = time.perf_counter()
    truth, pairs = ground_truth(texts)
    log(f"ground truth: {len(truth):,} true duplicates, {pairs} ({time.perf_counter() - t:.1f}s)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "x1"
        work.mkdir()
        write_docs(work / "docs.jsonl", ids, texts)
        wall, rss_1x, stages = recipe_run(work)
        ledger = pq.read_table(work / "build/out/ledger.parquet").to_pylist()
        position = {f"web/{d}": i for i, d in enumerate(ids)}
        ours = {position[r["doc_id"]] for r in ledger if r["rule"] == RULE}
        precision, recall = scores(ours, truth)
        log(f"recipe run: {wall:.1f}s ({len(texts) / wall:,.0f} docs/s), stages {stages}, peak RSS {rss_1x:.0f} MB")
        log(f"  dropped {len(ours):,}: precision {precision:.4f}, recall {recall:.4f}")
        ds_wall, ds_dups, ds_params = datasketch_run(texts, Path(tmp))
        ds_precision, ds_recall = scores(ds_dups, truth)
        log(f"datasketch: {ds_wall:.1f}s ({len(texts) / ds_wall:,.0f} docs/s), bands x rows {ds_params}, "
            f"precision {ds_precision:.4f}, recall {ds_recall:.4f}")
        work4 = Path(tmp) / "x4"
        work4.mkdir()
        ids4 = ids + [f"{d}-{k}" for k in (1, 2, 3) for d in ids]
        texts4 = texts + [t for k in (1, 2, 3) for t in rotated(texts, k)]
        write_docs(work4 / "docs.jsonl", ids4, texts4)
        wall4, rss_4x, stages4 = recipe_run(work4)
        dropped4 = sum(1 for r in pq.read_table(work4 / "build/out/ledger.parquet").to_pylist() if r["rule"] == RULE)
        log(f"x4: {len(texts4):,} docs in {wall4:.1f}s, stages {stages4}, peak RSS {rss_4x:.0f} MB "
            f"(x1: {rss_1x:.0f} MB), dropped {dropped4:,} (x1 dropped {len(ours):,})")
    return {
        "minhash_precision": round(precision, 4),
        "minhash_recall": round(recall, 4),
        "minhash_speedup_vs_datasketch": round((len(texts) / wall) / (len(texts) / ds_wall), 2),
        "docs": len(texts),
        "peak_rss_mb_1x": round(rss_1x),
        "peak_rss_mb_4x": round(rss_4x),
        "true_duplicates": len(truth),
        "dropped": len(ours),
        "recipe_docs_per_s": round(len(texts) / wall),
        "recipe_filter_stage_s": stages.get("filter_web"),
        "datasketch_docs_per_s": round(len(texts) / ds_wall),
        "datasketch_precision": round(ds_precision, 4),
        "datasketch_recall": round(ds_recall, 4),
        "docs_4x": len(texts4),
        "x4_dropped": dropped4,
        **pairs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5,000 docs from data/sample only (under a minute)")
    parser.add_argument("--threads", type=int, default=1, help="threads of our `recipe run` (default 1)")
    args = parser.parse_args()
    global THREADS
    THREADS = args.threads
    print(json.dumps({**run(args.quick), "threads": THREADS}))


if __name__ == "__main__":
    main()
