"""The rule packs against datatrove 0.10.1: agreement per filter, and speed (issue 3).

    .venv/bin/python bench/filters_vs_datatrove.py [--quick | --limit N] [--fresh-datatrove]

1. The corpus: bench/data/corpus.parquet (built by bench/corpus.py if missing): real Debian documentation,
   manual pages and Go code, 21k documents. --quick takes its first 2,000 rows, --limit N its first N.
2. datatrove: a venv bench/.venv-datatrove (made once: `python -m venv`, then
   `pip install "datatrove[processing]==0.10.1" spacy pyarrow`) runs bench/_datatrove_side.py: each of
   GopherQualityFilter, GopherRepetitionFilter, C4QualityFilter, FineWebQualityFilter on every document, and
   the four as one timed pipeline. Its results are kept in bench/data/datatrove/ under a key made of the
   corpus's sha256, the limit and the script's sha256, and reused (--fresh-datatrove runs it again).
3. ours: one recipe with one source per pack over the same file (`filter c4 { apply c4() }`, ...), built with
   `recipe run` (all cores); a document is dropped by a pack when the drop ledger names it under that source
   (doc_id `<source>/<id>`) with a `<pack>:<reason>` rule. Agreement = the share of
   documents on which our keep/drop equals datatrove's; for c4 also the share of documents both keep whose
   rewritten text is identical.
4. Speed, one thread, a fresh cache each: a recipe with no filter (the floor: ingest, mix, order, output), each pack
   alone on every document (against datatrove's time for that filter alone on every document, from step 2), and
   the four packs in datatrove's order in one recipe, on one and on two threads (against datatrove's pipeline
   time, and against DuckDB (1 thread) reading the corpus: `SELECT sum(length(text)) FROM read_parquet(...)`).
   Ours is given twice: the filter stage (it reads its input from the cache, runs the pack and writes its
   output: more than datatrove's figure, which is the filter call alone) and the whole `recipe run` process.
5. Disagreements: the top (our reason, datatrove's reason) pairs per filter, and up to 20 examples each in
   bench/data/disagreements_<filter>.jsonl.

The last line of stdout is one JSON object: agreement_<filter> for the four filters, speedup_<pack> (stage) and
speedup_<pack>_process, speedup_sum_alone(_process), mb_per_s_four_packs_process and _stage,
threads2_over_threads1(_stage), speedup_vs_datatrove, ratio_to_scan, and more; bench/minhash.py's run(quick)
result is merged in when that file exists.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from corpus import sha256_file  # bench/corpus.py

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = BENCH / "data"
CORPUS = DATA / "corpus.parquet"
VENV = BENCH / ".venv-datatrove"
DT_SIDE = BENCH / "_datatrove_side.py"
RECIPE_BIN = ROOT / ".venv" / "bin" / "recipe"
PACKS = ["gopher_quality", "gopher_repetition", "c4", "fineweb"]
DT_REQUIREMENTS = ["datatrove[processing]==0.10.1", "spacy", "pyarrow"]
QUICK_DOCS = 2_000
EXAMPLES = 20

sys.path.insert(0, str(BENCH))


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# inputs


def ensure_corpus() -> Path:
    if not CORPUS.exists():
        import corpus

        log("building the corpus (bench/corpus.py) ...")
        corpus.build(CORPUS)
    return CORPUS


def corpus_slice(work: Path, limit: int | None) -> tuple[Path, int]:
    """The file the recipes and the scan read: the corpus itself, or its first `limit` rows."""
    n = pq.ParquetFile(CORPUS).metadata.num_rows
    if limit is None or limit >= n:
        return CORPUS, n
    table = pq.read_table(CORPUS).slice(0, limit)
    path = work / f"corpus_{limit}.parquet"
    pq.write_table(table, path, compression="zstd", row_group_size=4096)
    return path, table.num_rows


def venv_python() -> Path:
    return VENV / "bin" / "python"


def ensure_datatrove_venv() -> Path:
    py = venv_python()
    probe = "import datatrove.pipeline.filters, spacy, pyarrow"
    if py.exists() and subprocess.run([str(py), "-c", probe], capture_output=True).returncode == 0:
        return py
    log(f"creating {VENV.relative_to(ROOT)} and installing {' '.join(DT_REQUIREMENTS)} ...")
    if VENV.exists():
        shutil.rmtree(VENV)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", *DT_REQUIREMENTS], check=True)
    subprocess.run([str(py), "-c", probe], check=True)
    return py


def run_datatrove(path: Path, limit: int | None, fresh: bool, pipeline: bool) -> tuple[dict, pa.Table, bool]:
    """datatrove's per-document results and timings, from the cache when the same slice was run before."""
    key = (f"{sha256_file(path)[:16]}-{'all' if limit is None else limit}-{sha256_file(DT_SIDE)[:12]}"
           + ("" if pipeline else "-nopipeline"))
    cache = DATA / "datatrove"
    out, meta = cache / f"{key}.parquet", cache / f"{key}.json"
    if out.exists() and meta.exists() and not fresh:
        log(f"datatrove: reusing {out.relative_to(ROOT)} (--fresh-datatrove runs it again)")
        return json.loads(meta.read_text()), pq.read_table(out), True
    py = ensure_datatrove_venv()
    cache.mkdir(parents=True, exist_ok=True)
    cmd = [str(py), str(DT_SIDE), str(path), str(out) + ".tmp"]
    if limit is not None:
        cmd += ["--limit", str(limit)]
    if not pipeline:
        cmd += ["--no-pipeline"]
    log("datatrove: " + " ".join(cmd[1:]))
    res = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
    timings = json.loads(res.stdout.strip().splitlines()[-1])
    os.replace(str(out) + ".tmp", out)
    meta.write_text(json.dumps(timings, indent=1) + "\n")
    return timings, pq.read_table(out), False


# ---------------------------------------------------------------------------------------------
# ours


def write_recipe(work: Path, name: str, corpus: Path, sources: dict[str, list[str]]) -> tuple[Path, Path]:
    """A recipe with one source per key of `sources` (all reading `corpus`), filtered by its list of packs."""
    out = work / f"out_{name}"
    lines = [f'recipe "bench_{name}" {{ seed 1 }}']
    lines += [f'source {src} = parquet("{corpus}", id: "id")' for src in sources]
    for src, packs in sources.items():
        if packs:
            lines += [f"filter {src} {{", *(f"  apply {p}()" for p in packs), "}"]
    lines.append(f'output "{out}" as parquet')
    recipe = work / f"{name}.recipe"
    recipe.write_text("\n".join(lines) + "\n")
    return recipe, out


def run_recipe(recipe: Path, cache: Path, threads: int | None = 1) -> dict:
    """`recipe run --json` (a fresh cache; `threads` DuckDB threads, None: all cores): the process's wall seconds
    ("wall") and each stage's ("stages": name -> seconds); raises on failure."""
    if cache.exists():
        shutil.rmtree(cache)
    cmd = [str(RECIPE_BIN), "run", str(recipe), "--json", "--cache", str(cache), "--no-dvc", "--allow-outside"]
    if threads is not None:
        cmd += ["--threads", str(threads)]
    t = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {res.returncode}:\n{res.stdout}{res.stderr}")
    stages = {}
    for line in res.stdout.splitlines():
        event = json.loads(line) if line.startswith("{") else {}
        if event.get("event") == "stage_end":
            stages[event["stage"]] = event["seconds"]
    return {"wall": wall, "stages": stages}


def filter_seconds(run: dict) -> float:
    """The seconds of a run's filter stages (those that run the packs)."""
    return sum(v for k, v in run["stages"].items() if k.startswith("filter_"))


def doc_id_to_id(doc_id: str, source: str = "corpus") -> str:
    prefix = source + "/"
    return doc_id[len(prefix):] if doc_id.startswith(prefix) else doc_id


def read_build(out: Path) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    """Per source: id -> the ledger's rule (`<pack>:<reason>`) of every dropped document, and id -> output text."""
    drops: dict[str, dict[str, str]] = defaultdict(dict)
    for row in pq.read_table(out / "ledger.parquet").to_pylist():
        drops[row["source"]][doc_id_to_id(row["doc_id"], row["source"])] = row["rule"]
    texts: dict[str, dict[str, str]] = defaultdict(dict)
    for shard in sorted((out / "data").glob("*.parquet")):
        t = pq.read_table(shard, columns=["doc_id", "source", "text"])
        for doc_id, source, text in zip(*(t.column(c).to_pylist() for c in ("doc_id", "source", "text")), strict=True):
            texts[source][doc_id_to_id(doc_id, source)] = text
    return drops, texts


def scan_seconds(path: Path, repeat: int = 3) -> float:
    """The physical floor: DuckDB, 1 thread, reading every text once (best of `repeat`)."""
    best = float("inf")
    for _ in range(repeat):
        con = duckdb.connect()
        con.execute("SET threads = 1")
        t = time.perf_counter()
        con.execute("SELECT sum(length(text)) FROM read_parquet(?)", [str(path)]).fetchall()
        best = min(best, time.perf_counter() - t)
        con.close()
    return best


# ---------------------------------------------------------------------------------------------
# comparison


def compare(name: str, ids: list[str], dt: dict[str, tuple[bool, str | None]], drops: dict[str, str],
            meta: dict[str, dict]) -> tuple[float, dict]:
    """Agreement on keep/drop, the disagreement categories, and example rows."""
    agree, both_drop, same_reason = 0, 0, 0
    cats: Counter = Counter()
    names: Counter = Counter()  # both drop, under reasons whose names differ
    bad: dict[tuple[str, str], list[str]] = defaultdict(list)
    for i in ids:
        dt_keep, dt_reason = dt[i]
        ours = drops.get(i)
        our_keep = ours is None
        our_reason = "keep" if our_keep else ours.split(":", 1)[1]
        if our_keep == bool(dt_keep):
            agree += 1
            if not our_keep:
                both_drop += 1
                if norm_reason(dt_reason) == norm_reason(our_reason):
                    same_reason += 1
                else:
                    names[(our_reason, str(dt_reason))] += 1
            continue
        cat = (our_reason, "keep" if dt_keep else str(dt_reason))
        cats[cat] += 1
        bad[cat].append(i)
    # examples: round-robin over the categories, most frequent first, ids in corpus order
    examples: list[dict] = []
    queues = [bad[c] for c, _ in cats.most_common()]
    k = 0
    while len(examples) < EXAMPLES and any(k < len(q) for q in queues):
        for q, (cat, _) in zip(queues, cats.most_common(), strict=True):
            if k < len(q) and len(examples) < EXAMPLES:
                i = q[k]
                examples.append({"id": i, "ours": cat[0], "datatrove": cat[1], "package": meta[i]["package"],
                                 "kind": meta[i]["kind"], "lang": meta[i]["lang"], "chars": len(meta[i]["text"]),
                                 "text": meta[i]["text"][:300]})
        k += 1
    with open(DATA / f"disagreements_{name}.jsonl", "w", encoding="utf-8") as fh:
        for ex in examples:
            fh.write(json.dumps(ex, ensure_ascii=False) + "\n")
    info = {"disagree": len(ids) - agree, "categories": cats.most_common(8),
            "reason_agreement": round(same_reason / both_drop, 4) if both_drop else None,
            "reason_pairs": names.most_common(5)}
    return agree / len(ids), info


def norm_reason(reason: str | None) -> str:
    """datatrove's reason without the `gopher_` prefix its Gopher filter adds (ours has the pack name instead)."""
    r = (reason or "").split(":")[-1]
    return r.removeprefix("gopher_")


def print_table(name: str, agreement: float, info: dict) -> None:
    print(f"\n{name}: agreement {agreement:.4f}, {info['disagree']} documents disagree"
          + (f"; same reason on {info['reason_agreement']:.2%} of the docs both drop" if info["reason_agreement"]
             is not None else ""))
    if info["reason_pairs"]:
        print("  both drop, reason names differ (ours = datatrove): "
              + ", ".join(f"{ours} = {theirs} ({n})" for (ours, theirs), n in info["reason_pairs"]))
    if info["categories"]:
        w1 = max(len("ours"), *(len(o) for (o, _), _ in info["categories"])) + 2
        w2 = max(len("datatrove"), *(len(t) for (_, t), _ in info["categories"])) + 2
        print(f"  {'ours':<{w1}}{'datatrove':<{w2}}{'docs':>6}")
        for (ours, theirs), n in info["categories"]:
            print(f"  {ours:<{w1}}{theirs:<{w2}}{n:>6}")


def merge_minhash(quick: bool) -> dict:
    path = BENCH / "minhash.py"
    if not path.exists():
        return {}
    spec = importlib.util.spec_from_file_location("bench_minhash", path)
    if spec is None or spec.loader is None:
        return {}
    mod = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(mod)
        if not callable(getattr(mod, "run", None)):
            return {}
        return dict(mod.run(quick=quick))
    except Exception as e:  # noqa: BLE001  (the filter results still count)
        log(f"bench/minhash.py failed: {type(e).__name__}: {e}")
        return {"minhash_error": f"{type(e).__name__}: {e}"}


# ---------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help=f"the first {QUICK_DOCS:,} documents")
    ap.add_argument("--limit", type=int, default=None, help="the first N documents")
    ap.add_argument("--fresh-datatrove", action="store_true", help="run datatrove again even if cached")
    ap.add_argument("--datatrove-pipeline", action="store_true",
                    help="also time datatrove's four filters as one pipeline (13 more minutes on the corpus)")
    ap.add_argument("--keep-work", action="store_true", help="keep the temporary recipes and builds")
    args = ap.parse_args()
    limit = args.limit if args.limit is not None else (QUICK_DOCS if args.quick else None)

    ensure_corpus()
    work = Path(tempfile.mkdtemp(prefix="filters-bench-"))
    result: dict = {}
    failed = False
    try:
        path, n_docs = corpus_slice(work, limit)
        table = pq.read_table(path, columns=["id", "text", "kind", "lang", "package"])
        ids = table.column("id").to_pylist()
        meta = {r["id"]: r for r in table.to_pylist()}
        del table

        dt_timing, dt_table, dt_cached = run_datatrove(CORPUS, limit, args.fresh_datatrove, args.datatrove_pipeline)
        dt: dict[str, dict[str, tuple[bool, str | None]]] = defaultdict(dict)
        dt_c4_text: dict[str, str] = {}
        for r in dt_table.to_pylist():
            dt[r["filter"]][r["id"]] = (r["keep"], r["reason"])
            if r["filter"] == "c4" and r["keep"]:
                dt_c4_text[r["id"]] = r["text"]
        del dt_table
        missing = [i for i in ids if i not in dt["gopher_quality"]]
        if missing:
            raise RuntimeError(f"datatrove results lack {len(missing)} ids, e.g. {missing[:3]}")

        load = os.getloadavg()[0]
        print(f"{n_docs} docs ({sum(len(m['text']) for m in meta.values()) / 1e6:.1f} M chars), "
              f"load average {load:.2f} on {os.cpu_count()} cores")
        result["docs"] = n_docs
        # agreement: one build, one source per pack (all cores; the timed build below uses one thread)
        try:
            recipe, out = write_recipe(work, "agreement", path, {pack: [pack] for pack in PACKS})
            agree_s = run_recipe(recipe, work / "cache_agreement", threads=None)["wall"]
            drops, texts = read_build(out)
            log(f"ours: agreement build in {agree_s:.1f}s")
            for pack in PACKS:
                agreement, info = compare(pack, ids, dt[pack], drops[pack], meta)
                result[f"agreement_{pack}"] = round(agreement, 4)
                print_table(pack, agreement, info)
                if pack == "c4":
                    both = [i for i in ids if i in texts[pack] and i in dt_c4_text]
                    same = sum(1 for i in both if texts[pack][i] == dt_c4_text[i])
                    result["c4_text_identical"] = round(same / len(both), 4) if both else None
                    print(f"  c4 rewritten text identical on {same}/{len(both)} documents both keep")
        except Exception as e:  # noqa: BLE001  (the speed still counts)
            failed = True
            result.update({f"agreement_{pack}": None for pack in PACKS})
            log(f"agreement build: {e}")

        # speed, one thread, a fresh cache each: the pipeline with no filter (the floor every recipe pays: ingest,
        # mix, order, output), each pack alone on every document, the four in datatrove's order, and that again
        # on two threads
        chars = sum(len(m["text"]) for m in meta.values())
        mb = sum(len(m["text"].encode()) for m in meta.values()) / 1e6
        floor = run_recipe(write_recipe(work, "none", path, {"corpus": []})[0], work / "cache_none")
        alone: dict[str, dict] = {}
        for pack in PACKS:
            alone[pack] = run_recipe(write_recipe(work, f"alone_{pack}", path, {"corpus": [pack]})[0],
                                     work / f"cache_{pack}")
        try:
            recipe, out = write_recipe(work, "all", path, {"corpus": PACKS})
            all1 = run_recipe(recipe, work / "cache_all", threads=1)
            all2 = run_recipe(recipe, work / "cache_all2", threads=2)
            ours_s = all1["wall"]
            agreement, info = compare("pipeline", ids, dt["pipeline"], read_build(out)[0]["corpus"], meta)
            result["agreement_pipeline"] = round(agreement, 4)
            print_table("all four in sequence", agreement, info)
        except Exception as e:  # noqa: BLE001
            failed = True
            ours_s, all1, all2 = None, None, None
            log(f"all four packs: {e}")
        scan_s = scan_seconds(path)
        dt_s = dt_timing["pipeline_seconds"]
        dt_each = dt_timing["per_filter_seconds"]
        print(f"\nspeed, one thread, {n_docs} docs, {mb:.1f} MB (datatrove: each filter's time on every document;"
              f" ours: the `recipe run` process and its filter stage, which reads its input, runs the pack and writes"
              f" its output)")
        print(f"  {'pack':<18}{'datatrove':>10}{'ours stage':>12}{'x':>7}{'ours process':>14}{'x':>7}")
        for pack in PACKS:
            stage = filter_seconds(alone[pack])
            print(f"  {pack:<18}{dt_each[pack]:>9.1f}s{stage:>11.2f}s{dt_each[pack] / stage:>7.1f}"
                  f"{alone[pack]['wall']:>13.2f}s{dt_each[pack] / alone[pack]['wall']:>7.1f}")
            result[f"speedup_{pack}"] = round(dt_each[pack] / stage, 1)
            result[f"speedup_{pack}_process"] = round(dt_each[pack] / alone[pack]["wall"], 1)
            result[f"ours_{pack}_stage_seconds"] = round(stage, 3)
            result[f"ours_{pack}_process_seconds"] = round(alone[pack]["wall"], 3)
        dt_sum = sum(dt_each[p] for p in PACKS)
        stage_sum = sum(filter_seconds(alone[p]) for p in PACKS)
        process_sum = sum(alone[p]["wall"] for p in PACKS)
        print(f"  {'sum':<18}{dt_sum:>9.1f}s{stage_sum:>11.2f}s{dt_sum / stage_sum:>7.1f}"
              f"{process_sum:>13.2f}s{dt_sum / process_sum:>7.1f}")
        print(f"  no filter (the floor)   {filter_seconds(floor):>11.2f}s{'':>7}{floor['wall']:>13.2f}s")
        result.update({
            "speedup_sum_alone": round(dt_sum / stage_sum, 1),
            "speedup_sum_alone_process": round(dt_sum / process_sum, 1),
            "floor_process_seconds": round(floor["wall"], 3),
            "floor_filter_stage_seconds": round(filter_seconds(floor), 3),
            "floor_stages": floor["stages"],
            "speedup_vs_datatrove": round(dt_s / ours_s, 2) if ours_s and dt_s else None,
            "ratio_to_scan": round(ours_s / scan_s, 2) if ours_s else None,
            "datatrove_seconds": dt_s,
            "ours_seconds": round(ours_s, 3) if ours_s else None,
            "mb_per_s_four_packs_process": round(mb / ours_s, 2) if ours_s else None,
            "mb_per_s_four_packs_stage": round(mb / filter_seconds(all1), 2) if all1 else None,
            "threads2_over_threads1": round(all1["wall"] / all2["wall"], 2) if all1 and all2 else None,
            "threads2_over_threads1_stage": round(filter_seconds(all1) / filter_seconds(all2), 2)
            if all1 and all2 else None,
            "ours_stages_1_thread": all1["stages"] if all1 else None,
            "mb": round(mb, 1),
            "chars": chars,
            "datatrove_docs_per_s": round(n_docs / dt_s, 1) if dt_s else None,
            "ours_docs_per_s": round(n_docs / ours_s, 1) if ours_s else None,
            "scan_seconds": round(scan_s, 4),
            "datatrove_cached": dt_cached,
            "load_avg": round(load, 2),
        })
        theirs = f"datatrove pipeline {dt_s:.1f}s{' (cached run)' if dt_cached else ''}" if dt_s else \
            "datatrove pipeline not timed (--datatrove-pipeline)"
        print(f"\nthe four packs in one recipe ({n_docs} docs, 1 thread): {theirs}, ours "
              + (f"{ours_s:.2f}s" + (f" (x{dt_s / ours_s:.1f})" if dt_s else "")
                 + f", {mb / ours_s:.1f} MB/s whole process, "
                 f"{mb / filter_seconds(all1):.1f} MB/s in the filter stage; 2 threads: "
                 f"x{all1['wall'] / all2['wall']:.2f} (stage x{filter_seconds(all1) / filter_seconds(all2):.2f})"
                 if ours_s and all1 and all2 else "failed")
              + f"; DuckDB scan {scan_s:.3f}s (ours / scan: {ours_s / scan_s if ours_s else float('nan'):.0f})")
        print(f"disagreement examples: {DATA.relative_to(ROOT)}/disagreements_<filter>.jsonl")
    finally:
        if args.keep_work:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    for key, value in merge_minhash(args.quick).items():
        result[key if key not in result else f"minhash_{key}"] = value
    print(json.dumps(result))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
