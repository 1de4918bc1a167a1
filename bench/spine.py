"""Throughput of the local engine on a synthetic corpus built from the sample's real sentences.

    .venv/bin/python bench/spine.py [--docs 200000] [--threads 2]

Prints one JSON object: docs, input bytes, wall seconds, docs/s, peak RSS of the build process, and the
seconds of each stage. A baseline from another tool arrives with the filter issue (bench/filters.py).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RECIPE = """
recipe "bench" { seed 1 }
source web = jsonl("data/*.jsonl")
filter web {
  keep words(text) >= 50
  keep mean_word_length() between 3 and 10
  drop symbol_ratio("#") > 0.1
  drop bullet_line_ratio() > 0.9
  keep alpha_ratio() >= 0.6
  keep stopwords("en") >= 2
  dedup exact(normalize: true)
}
mix 50% docs { web 100% }
order { shuffle }
output "build/bench"
"""


def corpus(directory: Path, docs: int) -> int:
    with gzip.open(ROOT / "data/sample/pydocs.jsonl.gz", "rt") as fh:
        text = " ".join(json.loads(line)["text"] for line in fh)
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if len(s.split()) > 3]
    rng = random.Random(0)
    directory.mkdir(parents=True)
    size = 0
    for part in range(4):
        with open(directory / f"part-{part}.jsonl", "w") as out:
            for i in range(docs // 4):
                body = " ".join(rng.choice(sentences) for _ in range(rng.randint(2, 40)))
                line = json.dumps({"text": body, "n": i}) + "\n"
                size += len(line)
                out.write(line)
    return size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=200_000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        size = corpus(work / "data", args.docs)
        (work / "bench.recipe").write_text(RECIPE.replace("mix 50% docs", f"mix {args.docs // 2} docs"))
        start = time.perf_counter()
        run = subprocess.run([str(Path(sys.executable).parent / "recipe"), "run", "bench.recipe", "--json",
                              "--threads", str(args.threads)], cwd=work, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if run.returncode:
            sys.exit(run.stderr)
        events = [json.loads(line) for line in run.stdout.splitlines()]
        stages = {e["stage"]: e["seconds"] for e in events if e["event"] == "stage_end"}
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(json.dumps({"docs": args.docs, "input_mb": round(size / 1e6, 1), "threads": args.threads,
                          "wall_s": round(wall, 2), "docs_per_s": round(args.docs / wall),
                          "peak_rss_mb": round(peak_mb), "stage_s": stages}, indent=1))


if __name__ == "__main__":
    main()
