"""The embedding space (operators/space/kernels.py): fidelity against references, then speed and memory on the CPU.

    .venv/bin/python bench/space.py [--quick] [--n N] [--k K] [--dim D] [--part fidelity|speed|both]
                                    [--step-timeout SECONDS]

Vectors. Synthetic embeddings, made with numpy from a seed: C random unit centres on the sphere, with lognormal
weights (sigma 0.5: some clusters are three times as large as others) and a spread each (0.6 to 1.2); a vector is
its centre plus Gaussian noise of that spread (N(0, spread^2 / d) per coordinate: a cosine of about 0.65 to 0.85
with its centre, 0.4 to 0.7 with its neighbours), normalised, float32. A fraction of them are planted
near-duplicates: a noisy copy (noise 0.15 to 0.5, so a cosine of 0.89 to 0.99 with its source, about half of
them at or above 0.95) of a random earlier vector.

Fidelity (this process; the kernels on the default device):
- k-means: `kernels.kmeans(x, k, seed)` (the recipe's defaults: 50 iterations) against scikit-learn's
  `KMeans(n_clusters=k, random_state=seed)` (k-means++, default n_init and max_iter) on the same float32
  vectors (20,000 x 384 from 100 centres, k = 64, seeds 0, 1 and 2). Both objectives are computed the same way:
  the float64 sum of squared distances of each vector to its nearest centroid (kernels.assign), so
  inertia_ratio = ours / scikit-learn's (target: <= 1.01); scikit-learn's own float32 `inertia_` is shown too.
  Both fits are timed (all cores).
- SemDeDup: 4,000 x 384 vectors (16 centres), a quarter of them planted near-duplicates, shuffled, so a copy comes
  before its source as often as not. Brute force: the float64 cosine of EVERY pair (the float64 matrix
  product; pairs within 1e-9 of the threshold decided again one by one, as the kernel does); a row is a
  duplicate when some earlier row has a cosine >= 0.95, and it duplicates the earliest of the most similar ones.
  (a) `semantic_duplicates` on the whole set must give exactly those rows and those `of` (precision = recall =
  1); (b) within k-means clusters (k = 16, the natural count, and 128, which cuts through the natural clusters;
  fitted on the set; each cluster's rows in their order), precision and recall of the dropped rows against the
  brute force.
- kNN order: the mean cosine of consecutive vectors (`mean_neighbour_similarity`) on 20,000 x 384 vectors (64
  centres) of (a) a random permutation, (b) `chain` over the whole set from row 0 (exact), (c) the chain within
  k-means clusters (k = n / 1000, as at full size), done as runtime/stages/space.py does: the clusters toured
  by `chain` over their float64 mean vectors from the cluster of row 0 (`chain_sets_N`), each cluster chained
  from its row most similar to the previous cluster's last vector, the first from its first row (`_chained`).

Speed and memory (the CPU, torch's default threads; each step a process of its own, whose peak RSS is its
VmHWM at the end, /proc/self/status; "loaded": its VmHWM once the inputs are read; data passed as .npy files under
bench/data/space/): N vectors (default 1,000,000 x 384
from K centres, 4% planted copies; made once and cached there), K = 1024 clusters.
- fit: `kmeans` on the sample a build fits on: at most 256 K vectors (the first of a seeded permutation);
- assign: every vector to the fitted centroids (one `assign` call);
- semdedup: `semantic_duplicates` (threshold 0.95) within each cluster (its rows in their order); the rows dropped;
- knn: the chain within clusters, toured as above; the mean neighbour similarity of the result and of a random
  order (computed after the timing).
A step gets --step-timeout seconds (default 900); one that runs longer is stopped, the table says so, and it is
measured again on a quarter of the rows (the steps after it use what it produced).

Prints the fidelity figures, then a table of the steps (seconds, peak RSS, RSS once the inputs are loaded), a note
on the GPU (unmeasured when torch sees none), and as the last line one JSON object of every number.
--quick: 100,000 vectors, K = 128, and smaller fidelity sets (5,000 for k-means with k = 32 and seeds 0 and 1,
2,000 for SemDeDup with k = 8 and 64, 4,000 for the kNN order).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from datarecipe.operators.space import kernels

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data" / "space"
THRESHOLD = 0.95
SAMPLE = 256  # vectors per cluster in the fit's sample (the `cluster` scorer's default `sample`)
CHUNK = 65_536  # vectors generated at a time
COPIES = 0.04  # the share of planted near-duplicates in the speed set
STEPS = ("fit", "assign", "semdedup", "knn")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def peak_mb() -> float:
    """This process's peak resident memory: VmHWM, which starts afresh at exec (a child's ru_maxrss does not: it
    starts from the RSS of the process it was forked from)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---- vectors ----------------------------------------------------------------------------------------


def normalised(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def plant(rng: np.random.Generator, block: np.ndarray, share: float) -> None:
    """Replace a `share` of the rows of block (not its first) by noisy copies of a random earlier row."""
    rows = np.flatnonzero(rng.random(len(block)) < share)
    rows = rows[rows > 0]
    sources = (rng.random(len(rows)) * rows).astype(np.int64)
    noise = rng.uniform(0.15, 0.5, len(rows))[:, None] * rng.standard_normal((len(rows), block.shape[1]))
    block[rows] = normalised(block[sources]) + noise / math.sqrt(block.shape[1])


def clustered(n: int, d: int, centres: int, seed: int, copies: float = 0.0, out: np.ndarray | None = None,
              ) -> np.ndarray:
    """n unit vectors around `centres` centres (module docstring), float32, CHUNK rows at a time (copies are of
    rows of the same chunk); into `out` when given."""
    rng = np.random.default_rng(seed)
    centre = normalised(rng.standard_normal((centres, d)))
    weight = rng.lognormal(0.0, 0.5, centres)
    weight /= weight.sum()
    spread = rng.uniform(0.6, 1.2, centres)
    x = np.empty((n, d), dtype=np.float32) if out is None else out
    for start in range(0, n, CHUNK):
        size = min(CHUNK, n - start)
        label = rng.choice(centres, size, p=weight)
        block = centre[label] + spread[label, None] * rng.standard_normal((size, d)) / math.sqrt(d)
        if copies:
            plant(rng, block, copies)
        x[start:start + size] = normalised(block)
    return x


def cached_vectors(n: int, d: int, centres: int, seed: int) -> Path:
    """bench/data/space/vectors-...npy: the speed set, made once (written a chunk at a time), then reused."""
    path = DATA / f"vectors-{n}x{d}-c{centres}-s{seed}.npy"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        began = time.perf_counter()
        tmp = path.with_suffix(".tmp.npy")
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, d))
        clustered(n, d, centres, seed, COPIES, out)
        out.flush()
        del out
        tmp.rename(path)
        log(f"made {path.name} in {time.perf_counter() - began:.1f}s")
    return path


def load_rows(path: Path, rows: int | None = None) -> np.ndarray:
    """The first `rows` rows of a 2-D .npy file, read (not mapped: only what is read counts in the RSS)."""
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(f)
        rows = shape[0] if rows is None else min(rows, shape[0])
        width = int(np.prod(shape[1:]))
        return np.fromfile(f, dtype=dtype, count=rows * width).reshape(rows, *shape[1:])


# ---- the build's work within clusters ----------------------------------------------------------------


def sets_of(clusters: np.ndarray) -> list[np.ndarray]:
    """The rows of each cluster present, by cluster id, each in row order."""
    order = np.argsort(clusters, kind="stable")
    cuts = np.flatnonzero(np.diff(clusters[order])) + 1
    return np.split(order, cuts)


def dedup_within(x: np.ndarray, clusters: np.ndarray, device: Any) -> tuple[np.ndarray, int]:
    """`dedup semantic` within clusters: the rows dropped (ascending), and the largest set."""
    dropped, largest = [], 0
    for rows in sets_of(clusters):
        largest = max(largest, len(rows))
        dropped.append(rows[kernels.semantic_duplicates(x[rows], THRESHOLD, device).rows])
    return np.sort(np.concatenate(dropped)), largest


def chain_within(x: np.ndarray, clusters: np.ndarray, device: Any) -> np.ndarray:
    """`knn_chains` within clusters, as runtime/stages/space.py runs it: the clusters toured by `chain` over their
    float64 means from the cluster of row 0, each chained from its row most similar to the last vector so far."""
    sets = sets_of(clusters)
    means = np.array([x[rows].astype(np.float64).sum(axis=0) / len(rows) for rows in sets])
    first = next(i for i, rows in enumerate(sets) if rows[0] == 0)
    tour = kernels.chain(means, first, device)
    parts: list[np.ndarray] = []
    last: np.ndarray | None = None
    for i in tour:
        members = x[sets[i]]
        start = 0 if last is None else kernels.most_similar(last, members, device)
        order = kernels.chain(members, start, device)
        last = members[order[-1]]
        parts.append(sets[i][order])
    return np.concatenate(parts)


def neighbour_similarity(x: np.ndarray, order: np.ndarray) -> float:
    """kernels.mean_neighbour_similarity, kernels.ROWS pairs at a time (bounded memory)."""
    total = 0.0
    for a in range(0, len(order) - 1, kernels.ROWS):
        b = min(len(order) - 1, a + kernels.ROWS)
        left, _ = kernels.unit(x[order[a:b]])
        right, _ = kernels.unit(x[order[a + 1:b + 1]])
        total += float(kernels.exact_dots(left, right).sum())
    return total / max(1, len(order) - 1)


# ---- fidelity ---------------------------------------------------------------------------------------


def fidelity_kmeans(n: int, k: int, seeds: list[int], device: Any) -> dict[str, Any]:
    from sklearn.cluster import KMeans

    x = clustered(n, 384, 100, seed=7)
    runs = []
    for seed in seeds:
        began = time.perf_counter()
        ours = kernels.kmeans(x, k, seed, device=device)
        ours_s = time.perf_counter() - began
        began = time.perf_counter()
        ref = KMeans(n_clusters=k, random_state=seed).fit(x)
        ref_s = time.perf_counter() - began
        ref_inertia = float(np.sum(kernels.assign(x, ref.cluster_centers_, device).distance ** 2))
        runs.append({"seed": seed, "inertia": ours.inertia, "iterations": ours.iterations, "seconds": ours_s,
                     "sklearn_inertia": ref_inertia, "sklearn_own_inertia": float(ref.inertia_),
                     "sklearn_iterations": int(ref.n_iter_), "sklearn_seconds": ref_s,
                     "ratio": ours.inertia / ref_inertia})
        log(f"k-means n={n} k={k} seed={seed}: ours {ours.inertia:.2f} ({ours.iterations} it, {ours_s:.2f}s), "
            f"sklearn {ref_inertia:.2f} (own {ref.inertia_:.2f}, {ref.n_iter_} it, {ref_s:.2f}s), "
            f"ratio {runs[-1]['ratio']:.5f}")
    return {"n": n, "k": k, "runs": runs, "ratio_max": max(r["ratio"] for r in runs),
            "ratio_mean": sum(r["ratio"] for r in runs) / len(runs)}


def brute_duplicates(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every pair's float64 cosine: the rows with an earlier row at or above THRESHOLD, and for each the earliest
    of its most similar earlier rows."""
    u64, _ = kernels.unit(x)
    sim = u64 @ u64.T
    close = np.argwhere(np.abs(sim - THRESHOLD) < 1e-9)  # decided again pair by pair, as the kernel does
    if len(close):
        sim[close[:, 0], close[:, 1]] = np.einsum("ij,ij->i", u64[close[:, 0]], u64[close[:, 1]])
    earlier = np.where(np.tri(len(x), k=-1, dtype=bool), sim, -np.inf)  # [j, i]: row j with row i < j
    best = earlier.max(axis=1)
    rows = np.flatnonzero(best >= THRESHOLD)
    of = earlier[rows].argmax(axis=1)  # the first of the largest
    return rows, of


def fidelity_semdedup(n: int, ks: list[int], device: Any) -> dict[str, Any]:
    x = clustered(n, 384, 16, seed=11, copies=0.25)
    x = x[np.random.default_rng(12).permutation(n)]
    truth, truth_of = brute_duplicates(x)
    whole = kernels.semantic_duplicates(x, THRESHOLD, device)
    identical = bool(np.array_equal(whole.rows, truth) and np.array_equal(whole.of, truth_of))
    log(f"SemDeDup n={n}: brute force {len(truth)} duplicates; whole set {len(whole.rows)} (identical: {identical})")
    within = []
    for k in ks:
        clusters = kernels.assign(x, kernels.kmeans(x, k, 0, device=device).centroids, device).cluster
        dropped, largest = dedup_within(x, clusters, device)
        hit = len(np.intersect1d(dropped, truth))
        within.append({"k": k, "dropped": len(dropped), "largest": largest,
                       "precision": hit / max(1, len(dropped)), "recall": hit / max(1, len(truth))})
        log(f"SemDeDup n={n} within {k} clusters: {len(dropped)} dropped, precision {within[-1]['precision']:.4f}, "
            f"recall {within[-1]['recall']:.4f}")
    return {"n": n, "brute_duplicates": len(truth), "whole_dropped": len(whole.rows), "whole_identical": identical,
            "clusters_precision": within[0]["precision"], "clusters_recall": within[0]["recall"],
            "clusters": within}


def fidelity_knn(n: int, device: Any) -> dict[str, Any]:
    x = clustered(n, 384, 64, seed=13)
    k = max(2, n // 1000)
    clusters = kernels.assign(x, kernels.kmeans(x, k, 0, device=device).centroids, device).cluster
    began = time.perf_counter()
    whole = kernels.chain(x, 0, device)
    whole_s = time.perf_counter() - began
    began = time.perf_counter()
    within = chain_within(x, clusters, device)
    within_s = time.perf_counter() - began
    assert np.array_equal(np.sort(within), np.arange(n)), "the chain within clusters is not a permutation"
    out = {"n": n, "k": k,
           "random": kernels.mean_neighbour_similarity(x, np.random.default_rng(14).permutation(n)),
           "whole": kernels.mean_neighbour_similarity(x, whole), "whole_seconds": whole_s,
           "clusters": kernels.mean_neighbour_similarity(x, within), "clusters_seconds": within_s}
    log(f"kNN order n={n}: mean neighbour cosine random {out['random']:.4f}, whole chain {out['whole']:.4f} "
        f"({whole_s:.1f}s), within {k} clusters {out['clusters']:.4f} ({within_s:.1f}s)")
    return out


# ---- speed: one step per process ----------------------------------------------------------------------


def step(name: str, work: Path, k: int, seed: int, rows: int) -> dict[str, Any]:
    """One step of the speed run, in this (child) process: reads its inputs from `work`, writes its outputs there."""
    device = kernels.device_of("auto")
    vectors = work / "vectors.npy"
    if name == "fit":
        x = load_rows(work / "sample.npy", rows)
        loaded = peak_mb()
        began = time.perf_counter()
        done = 0

        def progress(steps: int) -> None:
            nonlocal done
            done += steps
            log(f"  fit: iteration {done} at {time.perf_counter() - began:.1f}s")

        fitted = kernels.kmeans(x, k, seed, device=device, progress=progress)
        seconds = time.perf_counter() - began
        np.save(work / "centroids.npy", fitted.centroids)
        return {"rows": len(x), "seconds": seconds, "peak_rss_mb": peak_mb(), "rss_loaded_mb": loaded,
                "iterations": fitted.iterations,
                "inertia": fitted.inertia, "largest": int(fitted.sizes.max()), "smallest": int(fitted.sizes.min())}
    if name == "assign":
        x = load_rows(vectors, rows)
        centroids = np.load(work / "centroids.npy")
        loaded = peak_mb()
        began = time.perf_counter()
        got = kernels.assign(x, centroids, device)
        seconds = time.perf_counter() - began
        np.save(work / "clusters.npy", got.cluster)
        sizes = np.bincount(got.cluster, minlength=k)
        return {"rows": len(x), "seconds": seconds, "peak_rss_mb": peak_mb(), "rss_loaded_mb": loaded,
                "largest": int(sizes.max()),
                "smallest": int(sizes.min())}
    clusters = np.load(work / "clusters.npy")[:rows]
    x = load_rows(vectors, len(clusters))
    loaded = peak_mb()
    began = time.perf_counter()
    if name == "semdedup":
        dropped, largest = dedup_within(x, clusters, device)
        return {"rows": len(x), "seconds": time.perf_counter() - began, "peak_rss_mb": peak_mb(),
                "rss_loaded_mb": loaded, "dropped": len(dropped), "largest": largest}
    order = chain_within(x, clusters, device)
    seconds = time.perf_counter() - began
    peak = peak_mb()  # before the similarities below
    assert np.array_equal(np.sort(order), np.arange(len(x))), "the chain within clusters is not a permutation"
    return {"rows": len(x), "seconds": seconds, "peak_rss_mb": peak, "rss_loaded_mb": loaded,
            "similarity": neighbour_similarity(x, order),
            "similarity_random": neighbour_similarity(x, np.random.default_rng(seed).permutation(len(x)))}


def child(name: str, work: Path, k: int, seed: int, rows: int, timeout: float) -> dict[str, Any] | None:
    """Run a step in a process of its own: its result with wall seconds and peak RSS, or None past `timeout`."""
    out = work / f"{name}.json"
    out.unlink(missing_ok=True)
    cmd = [sys.executable, __file__, "--step", name, "--work", str(work), "--k", str(k), "--seed", str(seed),
           "--rows", str(rows)]
    began = time.perf_counter()
    proc = subprocess.Popen(cmd)
    while True:
        pid, status, _ = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() - began > timeout:
            proc.kill()
            os.wait4(proc.pid, 0)
            proc.returncode = -9
            return None
        time.sleep(0.2)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"step {name} failed ({proc.returncode})")
    return json.loads(out.read_text()) | {"wall_s": time.perf_counter() - began}


def speed(n: int, d: int, k: int, seed: int, timeout: float) -> dict[str, dict[str, Any]]:
    source = cached_vectors(n, d, k, seed)
    work = DATA / f"run-{n}x{d}-k{k}"
    work.mkdir(parents=True, exist_ok=True)
    (work / "vectors.npy").unlink(missing_ok=True)
    (work / "vectors.npy").symlink_to(source)
    sample = min(n, SAMPLE * k)
    permutation = np.random.default_rng(seed).permutation(n)[:sample]
    np.save(work / "sample.npy", np.load(source, mmap_mode="r")[permutation])
    del permutation
    results: dict[str, dict[str, Any]] = {}
    for name in STEPS:
        rows = sample if name == "fit" else n
        log(f"{name}: {rows:,} rows ...")
        result = child(name, work, k, seed, rows, timeout)
        if result is None:
            log(f"{name}: stopped after {timeout:.0f}s at {rows:,} rows; measuring on {rows // 4:,} rows")
            result = child(name, work, k, seed, rows // 4, timeout)
            if result is None:
                raise SystemExit(f"step {name} ran past {timeout:.0f}s on {rows // 4:,} rows too")
            result["note"] = f"stopped after {timeout:.0f}s at {rows:,} rows: measured on {result['rows']:,}"
        elif result["rows"] < rows:
            result["note"] = f"on the {result['rows']:,} rows an earlier step left"
        log(f"{name}: {result['seconds']:.1f}s, peak RSS {result['peak_rss_mb']:.0f} MB")
        results[name] = result
    return results


# ---- main -------------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="100,000 vectors, k = 128, smaller fidelity sets")
    ap.add_argument("--n", type=int, help="vectors in the speed run (default 1,000,000; --quick 100,000)")
    ap.add_argument("--k", type=int, help="clusters in the speed run (default 1024; --quick 128)")
    ap.add_argument("--dim", type=int, default=384, help="the vectors' size in the speed run (default 384)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--part", choices=("fidelity", "speed", "both"), default="both")
    ap.add_argument("--step-timeout", type=float, default=900.0,
                    help="seconds a speed step may run before it is stopped and measured on a quarter of the rows")
    ap.add_argument("--step", choices=STEPS, help=argparse.SUPPRESS)
    ap.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--rows", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.step:  # a child of the speed run
        result = step(args.step, args.work, args.k, args.seed, args.rows)
        (args.work / f"{args.step}.json").write_text(json.dumps(result))
        return

    import torch

    n = args.n or (100_000 if args.quick else 1_000_000)
    k = args.k or (128 if args.quick else 1024)
    device = kernels.device_of("auto")
    out: dict[str, Any] = {"device": str(device), "torch_threads": torch.get_num_threads(), "cpus": os.cpu_count()}
    if args.part in ("fidelity", "both"):
        quick = args.quick
        km = fidelity_kmeans(5_000 if quick else 20_000, 32 if quick else 64, [0, 1] if quick else [0, 1, 2], device)
        sd = fidelity_semdedup(2_000 if quick else 4_000, [8, 64] if quick else [16, 128], device)
        knn = fidelity_knn(4_000 if quick else 20_000, device)
        print(f"k-means (n={km['n']}, k={km['k']}): inertia ours / scikit-learn: "
              + ", ".join(f"seed {r['seed']} {r['ratio']:.5f} ({r['seconds']:.2f}s vs {r['sklearn_seconds']:.2f}s, "
                          f"{r['iterations']} vs {r['sklearn_iterations']} iterations)" for r in km["runs"]))
        print(f"SemDeDup (n={sd['n']}): brute force {sd['brute_duplicates']} duplicates; whole set identical: "
              f"{sd['whole_identical']}; " + ", ".join(f"within {c['k']} clusters: precision {c['precision']:.4f}, "
                                                       f"recall {c['recall']:.4f}" for c in sd["clusters"]))
        print(f"kNN order (n={knn['n']}): mean neighbour cosine random {knn['random']:.4f}, whole chain "
              f"{knn['whole']:.4f}, within {knn['k']} clusters {knn['clusters']:.4f}")
        out |= {"kmeans_n": km["n"], "kmeans_k": km["k"], "kmeans_inertia_ratio_max": round(km["ratio_max"], 6),
                "kmeans_inertia_ratio_mean": round(km["ratio_mean"], 6),
                "kmeans_runs": [{key: round(v, 6) if isinstance(v, float) else v for key, v in r.items()}
                                for r in km["runs"]],
                **{f"semdedup_{key}": round(v, 6) if isinstance(v, float) else v for key, v in sd.items()},
                "semdedup_clusters": [{key: round(v, 6) if isinstance(v, float) else v for key, v in c.items()}
                                      for c in sd["clusters"]],
                **{f"knn_{key}": round(v, 6) if isinstance(v, float) else v for key, v in knn.items()}}
    if args.part in ("speed", "both"):
        steps = speed(n, args.dim, k, args.seed, args.step_timeout)
        print(f"\nspeed on the CPU: {n:,} x {args.dim} float32 vectors, k = {k}, {torch.get_num_threads()} torch "
              "threads")
        print(f"{'step':<10}{'rows':>12}{'seconds':>10}{'peak RSS MB':>14}{'loaded MB':>12}  detail")
        for name, r in steps.items():
            detail = {"fit": lambda r: f"{r['iterations']} iterations, clusters {r['smallest']}..{r['largest']}",
                      "assign": lambda r: f"clusters {r['smallest']}..{r['largest']}",
                      "semdedup": lambda r: f"{r['dropped']:,} dropped, largest set {r['largest']:,}",
                      "knn": lambda r: f"mean neighbour cosine {r['similarity']:.4f} "
                                       f"(random order {r['similarity_random']:.4f})"}[name](r)
            if "note" in r:
                detail += f"; {r['note']}"
            print(f"{name:<10}{r['rows']:>12,}{r['seconds']:>10.1f}{r['peak_rss_mb']:>14.0f}"
                  f"{r['rss_loaded_mb']:>12.0f}  {detail}")
        out |= {"n": n, "dim": args.dim, "k": k}
        for name, r in steps.items():
            out |= {f"{name}_{key}": round(v, 3) if isinstance(v, float) else v for key, v in r.items()}
    if not torch.cuda.is_available():
        print("GPU: torch sees none here; the GPU figures are unmeasured.")
        out["gpu"] = "unmeasured"
    print(json.dumps(out))


if __name__ == "__main__":
    main()
