r"""Our `dsir` scorer against data-selection 1.0.3, the DSIR authors' package: same weights? how fast?

    .venv/bin/python bench/dsir_vs_reference.py [--quick | --limit N] [--fresh-reference]

1. The corpus: bench/data/corpus.parquet (built by bench/corpus.py if missing): real Debian documentation,
   manual pages and Go code, 21k documents. --quick takes its first 2,000 rows, --limit N its first N.
   raw = every document of that slice; target = its Python documentation (package python3.11-doc, about 19%).
2. The reference: a venv bench/.venv-dsir (made once: `python -m venv`, then `pip install data-selection==1.0.3
   nltk==3.8.1`; nltk's WordPunctTokenizer needs no data download) runs bench/_dsir_side.py on JSONL copies of raw
   and target: `HashedNgramDSIR(num_proc=1)`, `fit_importance_estimator()`, `compute_importance_weights()`.
   nltk is pinned to data-selection's own minimum because nltk 3.10.3 moved WordPunctTokenizer from `re` to the
   `regex` module, whose `\w` also takes combining marks and leaves out digits such as `₀`: with it the two
   sides split a few words differently (on the full corpus, Pearson 0.99989 instead of 1). Its weights and seconds
   are kept in bench/data/dsir/ under a key made of the corpus's sha256, the limit, the pinned requirements and
   the side script's sha256, and reused (--fresh-reference runs it again).
3. Ours: `datarecipe.operators.scorers.fitted.fit("dsir", ...)` reading the raw and target Parquet files in batches of
   4,096 rows (as the engine streams a stage's input), then `load(...).score(batch)` over raw's batches; this process,
   one thread. Both sides: ngram 2 (words and word pairs), 10,000 buckets, fit on every document.

Printed: Pearson and Spearman correlation of the per-document log importance weights, the largest absolute
difference, the overlap of the two top-10% sets, and the speed ratio (the reference's fit+score seconds over
ours, neither counting interpreter start-up or imports). The last line of stdout is one JSON object: dsir_pearson,
dsir_spearman, dsir_speedup, docs, target_docs, ours_seconds, reference_seconds, and more.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
from datarecipe.operators.scorers import fitted

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = BENCH / "data"
CORPUS = DATA / "corpus.parquet"
VENV = BENCH / ".venv-dsir"
SIDE = BENCH / "_dsir_side.py"
REQUIREMENTS = ["data-selection==1.0.3", "nltk==3.8.1"]
QUICK_DOCS = 2_000
TARGET_PACKAGE = "python3.11-doc"
PARAMS = {"ngram": 2, "buckets": 10_000}
BATCH_ROWS = 4_096

sys.path.insert(0, str(BENCH))
from corpus import sha256_file  # noqa: E402  (bench/corpus.py)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def ensure_corpus() -> None:
    if not CORPUS.exists():
        import corpus

        log("building the corpus (bench/corpus.py) ...")
        corpus.build(CORPUS)


def ensure_venv() -> Path:
    py = VENV / "bin" / "python"
    pins = {name: version for name, version in (r.split("==") for r in REQUIREMENTS)}
    probe = f"import importlib.metadata as m, data_selection\nfor n, v in {pins!r}.items(): assert m.version(n) == v"
    if py.exists() and subprocess.run([str(py), "-c", probe], capture_output=True).returncode == 0:
        return py
    log(f"creating {VENV.relative_to(ROOT)} and installing {' '.join(REQUIREMENTS)} ...")
    if VENV.exists():
        shutil.rmtree(VENV)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", *REQUIREMENTS], check=True)
    subprocess.run([str(py), "-c", probe], check=True)
    return py


def write_inputs(work: Path, limit: int | None) -> dict[str, Path]:
    """raw and target, as Parquet (ours) and JSONL (the reference's loader), in the corpus's order."""
    raw = pq.read_table(CORPUS, columns=["text", "package"])
    if limit is not None:
        raw = raw.slice(0, limit)
    target = raw.filter(pc.equal(raw["package"], TARGET_PACKAGE))
    paths = {}
    for name, table in (("raw", raw), ("target", target)):
        paths[f"{name}_parquet"] = work / f"{name}.parquet"
        pq.write_table(table.select(["text"]), paths[f"{name}_parquet"], row_group_size=BATCH_ROWS)
        paths[f"{name}_jsonl"] = work / f"{name}.jsonl"
        with open(paths[f"{name}_jsonl"], "w", encoding="utf-8") as fh:
            for text in table["text"].to_pylist():
                fh.write(json.dumps({"text": text}) + "\n")
    return paths


def run_reference(paths: dict[str, Path], limit: int | None, fresh: bool) -> tuple[np.ndarray, dict, bool]:
    """data-selection's weights of the raw documents and its seconds, from the cache when this slice ran before."""
    pins = hashlib.sha256(" ".join(REQUIREMENTS).encode()).hexdigest()[:8]
    key = f"{sha256_file(CORPUS)[:16]}-{'all' if limit is None else limit}-{pins}-{sha256_file(SIDE)[:12]}"
    cache = DATA / "dsir"
    weights, meta = cache / f"{key}.npy", cache / f"{key}.json"
    if weights.exists() and meta.exists() and not fresh:
        log(f"reference: reusing {weights.relative_to(ROOT)} (--fresh-reference runs it again)")
        return np.load(weights), json.loads(meta.read_text()), True
    py = ensure_venv()
    cache.mkdir(parents=True, exist_ok=True)
    cmd = [str(py), str(SIDE), str(paths["raw_jsonl"]), str(paths["target_jsonl"]), str(weights) + ".tmp.npy",
           "--ngrams", str(PARAMS["ngram"]), "--buckets", str(PARAMS["buckets"])]
    log("reference: " + " ".join(cmd[1:]))
    res = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
    timings = json.loads(res.stdout.strip().splitlines()[-1])
    os.replace(str(weights) + ".tmp.npy", weights)
    meta.write_text(json.dumps(timings, indent=1) + "\n")
    return np.load(weights), timings, False


def parquet_batches(path: Path) -> Callable[[], Iterator[list[str]]]:
    """An engine input: each call a fresh pass over the file's texts, 4,096 at a time."""
    def passes() -> Iterator[list[str]]:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS, columns=["text"]):
            yield batch.column(0).to_pylist()
    return passes


def run_ours(paths: dict[str, Path], work: Path) -> tuple[np.ndarray, dict]:
    out = work / "model"
    out.mkdir()
    raw = parquet_batches(paths["raw_parquet"])
    start = time.perf_counter()
    fitted.fit("dsir", PARAMS, {"target": parquet_batches(paths["target_parquet"]), "raw": raw}, out, seed=0)
    fit_done = time.perf_counter()
    scorer = fitted.load("dsir", PARAMS, out)
    weights = np.concatenate([scorer.score(batch).to_numpy() for batch in raw()])
    done = time.perf_counter()
    return weights, {"fit_seconds": round(fit_done - start, 3), "score_seconds": round(done - fit_done, 3),
                     "seconds": round(done - start, 3)}


def ranks(values: np.ndarray) -> np.ndarray:
    """Ranks from 0, ties sharing their mean rank (as Spearman's rho wants)."""
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    first = np.r_[True, sorted_values[1:] != sorted_values[:-1]]
    group = np.cumsum(first) - 1
    starts = np.flatnonzero(first)
    ends = np.r_[starts[1:], len(values)]
    out = np.empty(len(values))
    out[order] = ((starts + ends - 1) / 2)[group]
    return out


def top_overlap(a: np.ndarray, b: np.ndarray, share: float = 0.1) -> float:
    k = max(1, int(len(a) * share))
    return len(set(np.argsort(-a, kind="stable")[:k]) & set(np.argsort(-b, kind="stable")[:k])) / k


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help=f"the first {QUICK_DOCS:,} documents")
    ap.add_argument("--limit", type=int, default=None, help="the first N documents")
    ap.add_argument("--fresh-reference", action="store_true", help="run data-selection again even if cached")
    args = ap.parse_args()
    limit = args.limit if args.limit is not None else (QUICK_DOCS if args.quick else None)

    ensure_corpus()
    work = Path(tempfile.mkdtemp(prefix="dsir-bench-"))
    try:
        paths = write_inputs(work, limit)
        docs = pq.ParquetFile(paths["raw_parquet"]).metadata.num_rows
        target_docs = pq.ParquetFile(paths["target_parquet"]).metadata.num_rows
        theirs, their_time, cached = run_reference(paths, limit, args.fresh_reference)
        load = os.getloadavg()[0]
        ours, our_time = run_ours(paths, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if len(theirs) != len(ours):
        raise RuntimeError(f"the reference weighed {len(theirs)} documents, we weighed {len(ours)}")

    pearson = float(np.corrcoef(ours, theirs)[0, 1])
    spearman = float(np.corrcoef(ranks(ours), ranks(theirs))[0, 1])
    speedup = their_time["seconds"] / our_time["seconds"]
    print(f"{docs} raw documents, {target_docs} target ({TARGET_PACKAGE}); ngram {PARAMS['ngram']}, "
          f"{PARAMS['buckets']:,} buckets; load average {load:.2f} on {os.cpu_count()} cores")
    print(f"weights: Pearson {pearson:.6f}, Spearman {spearman:.6f}, largest difference "
          f"{np.abs(ours - theirs).max():.3g} (weights span {theirs.min():.0f} .. {theirs.max():.0f}), "
          f"top-10% overlap {top_overlap(ours, theirs):.4f}")
    print(f"speed: data-selection fit {their_time['fit_seconds']:.1f}s + score {their_time['score_seconds']:.1f}s"
          f"{' (cached run)' if cached else ''}; ours fit {our_time['fit_seconds']:.1f}s + score "
          f"{our_time['score_seconds']:.1f}s; x{speedup:.1f}")
    print(json.dumps({
        "dsir_pearson": round(pearson, 6), "dsir_spearman": round(spearman, 6), "dsir_speedup": round(speedup, 2),
        "docs": docs, "target_docs": target_docs, "ours_seconds": our_time["seconds"],
        "reference_seconds": their_time["seconds"], "ours_fit_seconds": our_time["fit_seconds"],
        "ours_score_seconds": our_time["score_seconds"], "reference_fit_seconds": their_time["fit_seconds"],
        "reference_score_seconds": their_time["score_seconds"],
        "max_abs_diff": float(np.abs(ours - theirs).max()), "top10_overlap": round(top_overlap(ours, theirs), 4),
        "reference_cached": cached, "load_avg": round(load, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
