"""Byte-identity of every build: compile and build each recipe in recipes/ and print the sha256 of every file.

Run it before and after a change that must not change behaviour (a refactor, a move of modules), and compare:

    python bench/identity.py > /tmp/before.json      # on the old commit
    python bench/identity.py --compare /tmp/before.json

Each recipe is compiled (`recipe compile -o`: plan.json and the SQL files) and built with `recipe run --no-dvc`,
in a copy of the repository's recipes, data and models with a cache of its own, so nothing of the checkout is touched
and no earlier cache is reused. The last line is JSON: per recipe, per file, its sha256; with --compare, the files
that differ, are missing or are new.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RECIPE = shutil.which("recipe", path=str(ROOT / ".venv" / "bin")) or "recipe"


def hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def build_all(only: list[str]) -> dict[str, dict[str, str]]:
    result: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="identity-") as tmp:
        work = Path(tmp)
        for name in ("recipes", "data", "models"):
            if (ROOT / name).exists():
                shutil.copytree(ROOT / name, work / name, symlinks=True)
        env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
        for recipe in sorted((work / "recipes").glob("*.recipe")):
            if only and recipe.stem not in only:
                continue
            rel = f"recipes/{recipe.name}"
            compiled = work / "compiled" / recipe.stem
            common = ["--no-dvc", "--quiet", "--cache", str(work / "cache" / recipe.stem)]
            for args in (["compile", rel, "-o", str(compiled)], ["run", rel, "--threads", "2"]):
                done = subprocess.run([RECIPE, *args, *common], cwd=work, env=env, capture_output=True, text=True)
                if done.returncode:
                    sys.exit(f"{rel}: recipe {args[0]} exited {done.returncode}\n{done.stderr[-3000:]}")
            files = {f"compiled/{k}": v for k, v in hashes(compiled).items()}
            # each recipe's output goes under build/; move it aside so the next recipe's is told apart
            for out in sorted((work / "build").iterdir()) if (work / "build").exists() else []:
                files.update({f"{out.name}/{k}": v for k, v in hashes(out).items()})
                shutil.move(str(out), work / f"done-{recipe.stem}-{out.name}")
            result[recipe.stem] = files
            print(f"{recipe.stem}: {len(files)} files", file=sys.stderr)
    return result


def compare(old: dict[str, dict[str, str]], new: dict[str, dict[str, str]]) -> dict[str, list[str]]:
    diff: dict[str, list[str]] = {"differ": [], "missing": [], "new": []}
    for recipe in sorted(set(old) | set(new)):
        a, b = old.get(recipe, {}), new.get(recipe, {})
        diff["differ"] += [f"{recipe}: {f}" for f in sorted(set(a) & set(b)) if a[f] != b[f]]
        diff["missing"] += [f"{recipe}: {f}" for f in sorted(set(a) - set(b))]
        diff["new"] += [f"{recipe}: {f}" for f in sorted(set(b) - set(a))]
    return diff


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--compare", type=Path, help="a JSON file this script wrote before; print what differs")
    ap.add_argument("recipes", nargs="*", help="recipe names (default: every recipe in recipes/)")
    args = ap.parse_args()
    new = build_all(args.recipes)
    if args.compare:
        diff = compare(json.loads(args.compare.read_text()), new)
        print(json.dumps({"identical": not any(diff.values()), **diff}, indent=1))
        sys.exit(1 if any(diff.values()) else 0)
    print(json.dumps(new, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
