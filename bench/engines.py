"""The local engine against the Ray engine on one machine: the same recipe, the same corpus, two builds.

    .venv/bin/python bench/engines.py [--quick] [--docs 200000] [--files 16] [--partitions P]

Builds a synthetic corpus from the sample's real sentences (F JSONL files, every line with a unique "id",
about 5% exact duplicate texts), then runs `recipe run bench.recipe --json` twice, each in a work directory
and a cache of its own: with the local engine (`--threads 2`) and with `--engine ray` (a Ray instance started
for the run on this machine, with a Ray temp dir of its own so that no other Ray instance here is joined;
`--partitions P` when given). Measures the wall seconds of each build process, so Ray's start-up is in the
Ray figure, and compares the two output directories byte for byte.

Prints a summary (the seconds of each stage for both engines, docs, input MB), then as the last line of
stdout one JSON object: local_seconds, ray_seconds, overhead_ratio (ray / local), identical, docs, input_mb,
local_stage_s and ray_stage_s, and the Ray build's serial share. `--quick` is 20,000 docs. Exits non-zero where
a build fails.

The serial share is what of the Ray build's wall time went to steps that ran as one task (`tasks` events with
one task: a whole stage, or a stage's one-task step), the part that does not shrink with more nodes;
`serial_share_with_driver` adds the driver's own work inside the stages (the time of a stage outside its task
steps: assembling parts, merging ledgers, the manifest and the card). The rest is split steps and start-up.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RECIPE = """
recipe "bench" { seed 1 }
source web = jsonl("data/*.jsonl", id: "id")
filter web {
  keep words(text) >= 50
  keep mean_word_length() between 3 and 10
  drop symbol_ratio("#") > 0.1
  keep alpha_ratio() >= 0.6
  keep stopwords("en") >= 2
  dedup exact(normalize: true)
}
mix MIX docs { web 100% }
order { shuffle }
output "build/bench" shard 32MB
"""
DUPLICATES = 0.05


def corpus(directory: Path, docs: int, files: int) -> int:
    """Write `docs` lines over `files` JSONL files; about 5% of the texts repeat an earlier one exactly."""
    with gzip.open(ROOT / "data/sample/pydocs.jsonl.gz", "rt") as fh:
        text = " ".join(json.loads(line)["text"] for line in fh)
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if len(s.split()) > 3]
    rng = random.Random(0)
    directory.mkdir(parents=True)
    bodies: list[str] = []
    size = 0
    per_file, extra = divmod(docs, files)
    n = 0
    for part in range(files):
        with open(directory / f"part-{part:03d}.jsonl", "w") as out:
            for _ in range(per_file + (part < extra)):
                if bodies and rng.random() < DUPLICATES:
                    body = rng.choice(bodies)
                else:
                    body = " ".join(rng.choice(sentences) for _ in range(rng.randint(2, 40)))
                    bodies.append(body)
                line = json.dumps({"id": f"doc-{n:08d}", "text": body}) + "\n"
                size += len(line)
                out.write(line)
                n += 1
    return size


def build(name: str, work: Path, cache: Path, extra: list[str],
          env: dict[str, str]) -> tuple[float, dict[str, float], dict[str, dict[str, float]]]:
    """Run one build in `work`; return its wall seconds, the seconds of each stage, and for the Ray engine the
    tasks of each stage's steps (`tasks` events): how many, their seconds on the workers in all, the longest."""
    recipe = str(Path(sys.executable).parent / "recipe")
    command = [recipe, "run", "bench.recipe", "--json", "--cache", str(cache), *extra]
    start = time.perf_counter()
    run = subprocess.run(command, cwd=work, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if run.returncode:
        print(f"{name} build failed (exit {run.returncode}): {' '.join(command)}", file=sys.stderr)
        print(run.stdout, run.stderr, sep="\n", file=sys.stderr)
        sys.exit(run.returncode)
    events = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    stages = {e["stage"]: round(e["seconds"], 3) for e in events if e.get("event") == "stage_end"}
    tasks = {f"{e['stage']}.{e['step']}": {"tasks": e["tasks"], "task_s": e["task_seconds"], "max_s": e["max_seconds"],
                                            "wall_s": e["seconds"]} for e in events if e.get("event") == "tasks"}
    return wall, stages, tasks


def compare(a: Path, b: Path) -> list[str]:
    """The differences between two directory trees, file by file; empty where they are byte-identical."""
    files_a = sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file())
    problems = [f"only in local: {f}" for f in sorted(set(files_a) - set(files_b))]
    problems += [f"only in ray: {f}" for f in sorted(set(files_b) - set(files_a))]
    problems += [f"differs: {f}" for f in sorted(set(files_a) & set(files_b))
                 if (a / f).read_bytes() != (b / f).read_bytes()]
    if not files_a:
        problems.append("no output files")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="20,000 docs instead of 200,000")
    parser.add_argument("--docs", type=int, default=None)
    parser.add_argument("--files", type=int, default=16)
    parser.add_argument("--partitions", type=int, default=None)
    args = parser.parse_args()
    docs = args.docs or (20_000 if args.quick else 200_000)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        size = corpus(root / "data", docs, args.files)
        recipe = RECIPE.replace("MIX", str(docs // 2))
        for name in ("local", "ray"):
            (root / name).mkdir()
            (root / name / "data").symlink_to(root / "data", target_is_directory=True)
            (root / name / "bench.recipe").write_text(recipe)
        check = subprocess.run([str(Path(sys.executable).parent / "recipe"), "check", "bench.recipe"],
                               cwd=root / "local", capture_output=True, text=True)
        if check.returncode:
            sys.exit(f"recipe check failed:\n{check.stdout}{check.stderr}")
        ray_extra = ["--engine", "ray"] + (["--partitions", str(args.partitions)] if args.partitions else [])
        env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"} | {"RAY_USAGE_STATS_ENABLED": "0"}
        local_s, local_stages, _ = build("local", root / "local", root / "cache-local", ["--threads", "2"], env)
        # Ray's temp dir inside ours: `ray.init()` joins a cluster it finds in /tmp/ray, so another Ray on this
        # machine (a test run) would otherwise be joined instead of a new instance started for the build.
        (root / "r").mkdir()
        ray_env = env | {"RAY_TMPDIR": str(root / "r")}
        ray_s, ray_stages, ray_tasks = build("ray", root / "ray", root / "cache-ray", ray_extra, ray_env)
        problems = compare(root / "local/build/bench", root / "ray/build/bench")
    print(f"docs {docs}, input {size / 1e6:.1f} MB in {args.files} files")
    print(f"{'stage':<24}{'local s':>10}{'ray s':>10}")
    for stage in list(local_stages) + [s for s in ray_stages if s not in local_stages]:
        print(f"{stage:<24}{local_stages.get(stage, float('nan')):>10.2f}{ray_stages.get(stage, float('nan')):>10.2f}")
    print(f"{'wall (process)':<24}{local_s:>10.2f}{ray_s:>10.2f}")
    # What a task costs per GB of input (core-seconds: a task holds one core), the figure docs/scaling.md
    # scales to a cluster. Steps after the filter see fewer bytes; the cost is still per input GB.
    gb = size / 1e9
    print(f"{'ray step':<34}{'tasks':>6}{'core-s':>9}{'longest':>9}{'core-s/GB':>11}")
    for step, t in ray_tasks.items():
        print(f"{step:<34}{t['tasks']:>6}{t['task_s']:>9.2f}{t['max_s']:>9.2f}{t['task_s'] / gb:>11.1f}")
    one_task = sum(t["wall_s"] for t in ray_tasks.values() if t["tasks"] == 1)
    split = sum(t["wall_s"] for t in ray_tasks.values() if t["tasks"] > 1)
    driver = sum(max(0.0, seconds - sum(t["wall_s"] for step, t in ray_tasks.items() if step.split(".")[0] == stage))
                 for stage, seconds in ray_stages.items())
    serial = {"one_task_s": round(one_task, 2), "split_s": round(split, 2), "driver_s": round(driver, 2),
              "serial_share": round(one_task / ray_s, 4),
              "serial_share_with_driver": round((one_task + driver) / ray_s, 4)}
    print(f"ray wall {ray_s:.1f} s: one-task steps {one_task:.1f} s ({serial['serial_share']:.1%}), split steps "
          f"{split:.1f} s, the driver's work in stages {driver:.1f} s (serial with it: "
          f"{serial['serial_share_with_driver']:.1%}), the rest start-up")
    print("outputs byte-identical" if not problems else "outputs differ:\n  " + "\n  ".join(problems))
    print(json.dumps({"docs": docs, "input_mb": round(size / 1e6, 1), "files": args.files,
                      "partitions": args.partitions, "local_seconds": round(local_s, 2),
                      "ray_seconds": round(ray_s, 2), "overhead_ratio": round(ray_s / local_s, 2),
                      "identical": not problems, "local_stage_s": local_stages, "ray_stage_s": ray_stages,
                      "ray_tasks": ray_tasks, **serial}))
    if problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
