"""What building through DVC costs (issue 19, item 14): `recipe run` of recipes/example.recipe in a DVC project
against `recipe run --no-dvc`, on the same machine in the same run.

    .venv/bin/python bench/dvc_overhead.py [--quick]

Two copies of a project (the sample data and the example recipe) are made in a temporary directory, each with
its own git repository; one is a DVC project (`dvc init`, DVC's site cache inside the temporary directory),
the other is built with `--no-dvc`. Each is timed as a user runs it (the `recipe` process, imports included):

1. cold: an empty `.datarecipe/` (and an empty DVC cache and dvc.lock);
2. weight change: the mixture's weights change (pydocs 50% -> 55%, handbook 35% -> 30%), so the mix, the
   order and the output run again;
3. no-op: the same command again.

Each case alternates the two builds, `--rounds` times (3; `--quick`: 1), and keeps the median. The last line
of stdout is one JSON object: cold_ratio, weight_ratio and noop_ratio (DVC wall seconds / direct wall
seconds), the same ratios of CPU seconds (`*_cpu_ratio`: steadier where other work shares the machine), the
wall seconds of each, and whether dvc.lock is byte-identical to the one a plain `dvc repro` writes in a third
copy.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
WEIGHTS = (("pydocs   50%", "pydocs   55%"), ("handbook 35%", "handbook 30%"))


def environment(tmp: Path) -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1",
            "DVC_SITE_CACHE_DIR": str(tmp / "dvc-site"), "GIT_CONFIG_GLOBAL": os.devnull, "HOME": str(tmp)}


def sh(cwd: Path, env: dict[str, str], *command: str) -> tuple[float, float]:
    """Run a command; its wall seconds, and its CPU seconds (user and system, its children's included), which
    other work on a shared machine disturbs less."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode:
        sys.exit(f"{' '.join(command)} failed in {cwd}:\n{result.stdout}\n{result.stderr}")
    return seconds, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def project(path: Path, env: dict[str, str], dvc: bool) -> Path:
    (path / "recipes").mkdir(parents=True)
    shutil.copytree(ROOT / "data" / "sample", path / "data" / "sample")
    shutil.copy(ROOT / "recipes" / "example.recipe", path / "recipes")
    sh(path, env, "git", "init", "-q")
    if dvc:
        sh(path, env, "dvc", "init", "-q")
    return path


def edit_weights(path: Path, forward: bool) -> None:
    recipe = path / "recipes" / "example.recipe"
    text = recipe.read_text()
    for old, new in WEIGHTS:
        text = text.replace(old, new) if forward else text.replace(new, old)
    recipe.write_text(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="one round of each case instead of three")
    ap.add_argument("--rounds", type=int, default=None, help="rounds per case (default: 3; --quick: 1)")
    args = ap.parse_args()
    rounds = args.rounds or (1 if args.quick else 3)
    run = ("recipe", "run", "recipes/example.recipe", "-q")
    times: dict[str, dict[str, list[tuple[float, float]]]] = {case: {"dvc": [], "direct": []}
                                                              for case in ("cold", "weight", "noop")}
    with tempfile.TemporaryDirectory(prefix="dvc-overhead-") as tmp:
        work = Path(tmp)
        env = environment(work)
        builds = {"dvc": project(work / "dvc", env, dvc=True), "direct": project(work / "direct", env, dvc=False)}
        commands = {"dvc": run, "direct": (*run, "--no-dvc")}
        for i in range(rounds):
            for how, path in builds.items():  # cold: nothing built, nothing cached, no dvc.lock
                for stale in (".datarecipe", "build", ".dvc/cache", "dvc.lock"):
                    target = path / stale
                    shutil.rmtree(target, ignore_errors=True) if target.is_dir() else target.unlink(missing_ok=True)
                times["cold"][how].append(sh(path, env, *commands[how]))
            for how, path in builds.items():
                edit_weights(path, forward=i % 2 == 0)
                times["weight"][how].append(sh(path, env, *commands[how]))
            for how, path in builds.items():
                times["noop"][how].append(sh(path, env, *commands[how]))
        lock = (builds["dvc"] / "dvc.lock").read_bytes()
        plain = project(work / "plain", env, dvc=True)  # the same recipe, built by `dvc repro` alone
        shutil.copy(builds["dvc"] / "recipes" / "example.recipe", plain / "recipes")
        sh(plain, env, "recipe", "compile", "recipes/example.recipe", "-q")
        sh(plain, env, "dvc", "repro", "-q", "example-output")
        same_lock = (plain / "dvc.lock").read_bytes() == lock
    wall = {case: {how: statistics.median(t[0] for t in ts) for how, ts in hows.items()}
            for case, hows in times.items()}
    cpu = {case: {how: statistics.median(t[1] for t in ts) for how, ts in hows.items()} for case, hows in times.items()}
    for case, m in wall.items():
        print(f"{case}: through DVC {m['dvc']:.2f}s ({cpu[case]['dvc']:.2f}s CPU), --no-dvc {m['direct']:.2f}s "
              f"({cpu[case]['direct']:.2f}s CPU)", file=sys.stderr)
    result: dict[str, object] = {f"{case}_ratio": round(m["dvc"] / m["direct"], 3) for case, m in wall.items()}
    result.update({f"{case}_cpu_ratio": round(m["dvc"] / m["direct"], 3) for case, m in cpu.items()})
    result.update({f"{case}_seconds": {how: round(s, 2) for how, s in m.items()} for case, m in wall.items()})
    result.update({"lock_identical_to_dvc_repro": same_lock, "rounds": rounds, "quick": args.quick})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
