"""The data-selection side of bench/dsir_vs_reference.py. Runs inside bench/.venv-dsir (data-selection==1.0.3).

    bench/.venv-dsir/bin/python bench/_dsir_side.py RAW.jsonl TARGET.jsonl OUT.npy [--ngrams 2] [--buckets 10000]

`HashedNgramDSIR` as its README uses it, in one process (num_proc=1): `fit_importance_estimator()` (its default
num_tokens_to_fit="auto", 100,000 x buckets features, which is every feature of our corpus) reads both JSONL
files and fits the two bags of hashed n-grams; `compute_importance_weights()` reads RAW again and writes each
document's log importance weight. OUT gets the weights in RAW's order (float64); stdout gets one JSON object
with the seconds of each step.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from data_selection import HashedNgramDSIR


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("raw")
    ap.add_argument("target")
    ap.add_argument("out")
    ap.add_argument("--ngrams", type=int, default=2)
    ap.add_argument("--buckets", type=int, default=10_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="dsir-side-") as cache:
        dsir = HashedNgramDSIR([args.raw], [args.target], cache_dir=cache, num_proc=1, ngrams=args.ngrams,
                               num_buckets=args.buckets)
        start = time.perf_counter()
        dsir.fit_importance_estimator()
        fitted = time.perf_counter()
        dsir.compute_importance_weights()
        scored = time.perf_counter()
        # one process: one shard, numbered 0, in the file's order
        weights = np.load(Path(cache) / "log_importance_weights" / "0.npy")
    np.save(args.out, weights.astype("<f8"))
    print(json.dumps({"fit_seconds": round(fitted - start, 3), "score_seconds": round(scored - fitted, 3),
                      "seconds": round(scored - start, 3), "docs": int(len(weights)),
                      "nltk": importlib.metadata.version("nltk")}))


if __name__ == "__main__":
    main()
