"""The datatrove side of bench/filters_vs_datatrove.py. Runs inside the datatrove venv (datatrove, spacy, pyarrow).

    bench/.venv-datatrove/bin/python bench/_datatrove_side.py CORPUS.parquet OUT.parquet [--limit N]

1. Each of GopherQualityFilter, GopherRepetitionFilter, C4QualityFilter and FineWebQualityFilter (datatrove's
   defaults: English) runs `.filter(Document(text, id))` on every document on its own (untimed, split over
   --jobs processes; datatrove's lru_cache on split_into_words is left as it is). OUT gets one row per
   (document, filter): id, filter (gopher_quality, gopher_repetition, c4, fineweb), keep, reason (datatrove's
   reason string, null when kept), text and text_sha256 (c4 only: the text C4QualityFilter leaves in doc.text
   of a kept document), plus one row per document with filter "pipeline": the outcome of the four in sequence
   (reason "<filter>:<reason>" of the first that drops it; FineWeb sees C4's rewritten text).
2. Timing: the four filters chained as a datatrove pipeline (each step's `run` generator feeding the next, as
   the executors chain them; a dropped document skips the later steps, C4's rewritten text goes on to FineWeb),
   single process, over all documents, after a warm-up that loads spaCy (not counted). The documents are built
   from the Parquet file before the clock starts. Prints one JSON object with the timings on stdout.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import multiprocessing as mp
import os
import sys
import time

import pyarrow as pa
import pyarrow.parquet as pq

FILTERS = ["gopher_quality", "gopher_repetition", "c4", "fineweb"]


def make_filters() -> dict:
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )

    return {
        "gopher_quality": GopherQualityFilter(),
        "gopher_repetition": GopherRepetitionFilter(),
        "c4": C4QualityFilter(),
        "fineweb": FineWebQualityFilter(),
    }


def outcome(res) -> tuple[bool, str | None]:
    from datatrove.pipeline.filters.base_filter import get_filter_result

    keep, reason = get_filter_result(res)
    return bool(keep), (None if keep else reason)

_SHARED: dict = {}


def _judge(bounds: tuple[int, int]) -> tuple[list[dict], dict[str, float], dict[str, int]]:
    """Every filter on its own on documents [lo, hi), and the four in sequence (FineWeb on C4's text)."""
    from datatrove.data import Document

    ids, texts = _SHARED["ids"], _SHARED["texts"]
    filters = make_filters()
    secs = dict.fromkeys(FILTERS, 0.0)
    errors: dict[str, int] = {}
    rows = []

    def run(name: str, doc) -> tuple[bool | None, str | None]:
        t = time.perf_counter()
        try:
            res = outcome(filters[name].filter(doc))
        except Exception as e:  # noqa: BLE001  (datatrove would stop the pipeline; we count it)
            errors[name] = errors.get(name, 0) + 1
            res = None, f"exception:{type(e).__name__}"
        secs[name] += time.perf_counter() - t
        return res

    for i in range(*bounds):
        row: dict = {}
        for name in FILTERS:
            doc = Document(text=texts[i], id=ids[i])
            row[name] = run(name, doc)
            if name == "c4":
                row["c4_text"] = doc.text if row[name][0] else None
        row["pipeline"] = (True, None)
        for name in FILTERS[:3]:
            keep, reason = row[name]
            if not keep:
                row["pipeline"] = (keep, f"{name}:{reason}")
                break
        else:
            keep, reason = run("fineweb", Document(text=row["c4_text"], id=ids[i])) if row["c4_text"] != texts[i] \
                else row["fineweb"]
            if not keep:
                row["pipeline"] = (keep, f"fineweb:{reason}")
        rows.append(row)
    return rows, secs, errors


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("out")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--no-pipeline", action="store_true", help="skip the timed pipeline (step 2)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes for the untimed part")
    args = ap.parse_args()

    t = time.perf_counter()
    table = pq.read_table(args.corpus, columns=["id", "text"])
    if args.limit is not None:
        table = table.slice(0, args.limit)
    ids = table.column("id").to_pylist()
    texts = table.column("text").to_pylist()
    read_s = time.perf_counter() - t

    from importlib.metadata import version

    from datatrove.data import Document
    from datatrove.utils.text import split_into_sentences, split_into_words

    # warm-up: loads spaCy's blank English pipeline (with the sentencizer) that all four filters share
    t = time.perf_counter()
    split_into_words("Warm up the tokenizer. It loads spaCy once.")
    split_into_sentences("Warm up the sentencizer. It loads spaCy once.")
    warmup_s = time.perf_counter() - t
    log(f"datatrove {version('datatrove')}: {len(ids)} docs read in {read_s:.1f}s, spaCy loaded in {warmup_s:.1f}s")

    # 1. every filter on its own, on every document (untimed; split over --jobs processes)
    t = time.perf_counter()
    n = len(ids)
    jobs = max(1, min(args.jobs, n // 200 or 1))
    bounds = [(n * j // jobs, n * (j + 1) // jobs) for j in range(jobs)]
    _SHARED.update(ids=ids, texts=texts)
    if jobs == 1:
        parts = [_judge(bounds[0])]
    else:
        with mp.get_context("fork").Pool(jobs) as pool:
            parts = pool.map(_judge, bounds)
    rows = [r for part, _, _ in parts for r in part]
    per_filter_s = {name: round(sum(p[1][name] for p in parts), 3) for name in FILTERS}
    errors: dict[str, int] = {}
    for _, _, errs in parts:
        for k, v in errs.items():
            errors[k] = errors.get(k, 0) + v
    results = {name: [r[name] for r in rows] for name in [*FILTERS, "pipeline"]}
    c4_texts = [r["c4_text"] for r in rows]
    results_s = time.perf_counter() - t
    for name in FILTERS:
        log(f"  {name}: kept {sum(1 for k, _ in results[name] if k)}/{n}")
    log(f"  per-document results in {results_s:.1f}s ({jobs} processes)")
    # 2. the timed pipeline, fresh filter instances, fresh documents
    pipeline_s = kept = mismatch = None
    if not args.no_pipeline:
        docs = [Document(text=text, id=doc_id) for doc_id, text in zip(ids, texts, strict=True)]
        steps = make_filters()
        gc.collect()
        t = time.perf_counter()
        stream = iter(docs)
        for name in FILTERS:
            stream = steps[name].run(stream)
        kept_docs = list(stream)
        pipeline_s = time.perf_counter() - t
        kept = len(kept_docs)
        kept_ids = {d.id for d in kept_docs}
        mismatch = sum(1 for doc_id, (keep, _) in zip(ids, results["pipeline"], strict=True)
                       if bool(keep) != (doc_id in kept_ids))
        log(f"  pipeline: kept {kept}/{len(docs)} in {pipeline_s:.1f}s ({len(docs) / pipeline_s:.0f} docs/s)")

    # write the per-document results
    cols: dict[str, list] = {"id": [], "filter": [], "keep": [], "reason": [], "text": [], "text_sha256": []}
    for name in [*FILTERS, "pipeline"]:
        for i, (keep, reason) in enumerate(results[name]):
            text = c4_texts[i] if name == "c4" else None
            cols["id"].append(ids[i])
            cols["filter"].append(name)
            cols["keep"].append(keep)
            cols["reason"].append(reason)
            cols["text"].append(text)
            cols["text_sha256"].append(hashlib.sha256(text.encode()).hexdigest() if text is not None else None)
    schema = pa.schema([("id", pa.string()), ("filter", pa.string()), ("keep", pa.bool_()),
                        ("reason", pa.string()), ("text", pa.string()), ("text_sha256", pa.string())])
    pq.write_table(pa.Table.from_pydict(cols, schema), args.out, compression="zstd")

    chars = sum(len(x) for x in texts)
    print(json.dumps({
        "datatrove_version": version("datatrove"),
        "docs": len(ids),
        "chars": chars,
        "read_seconds": round(read_s, 3),
        "spacy_warmup_seconds": round(warmup_s, 3),
        "pipeline_seconds": round(pipeline_s, 3) if pipeline_s else None,
        "pipeline_docs_per_s": round(len(ids) / pipeline_s, 1) if pipeline_s else None,
        "pipeline_mb_per_s": round(chars / 1e6 / pipeline_s, 3) if pipeline_s else None,
        "pipeline_kept": kept,
        "pipeline_vs_untimed_mismatch": mismatch,
        "results_seconds": round(results_s, 3),
        "per_filter_seconds": per_filter_s,
        "keep_rate": {name: round(sum(1 for k, _ in results[name] if k) / max(1, len(ids)), 4) for name in FILTERS},
        "errors": errors,
    }))


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
