"""Soak: kill a build at random moments, fuzz `recipe check`, and feed the build hostile inputs.

    .venv/bin/python bench/soak.py [--quick] [--kills N] [--fuzz N] [--seed S]

Kills. The project of tests/killing.py (two JSONL sources, filters, MinHash dedup, a tiny classifier score,
a token mixture with two phases, 64KB shards) is built once without interruption: the reference bytes and
the build's length T. Then, for each kill, a fresh cache: a build is SIGKILLed at a moment drawn uniformly
from [0, T] (imports and planning included, so some kills land before the first stage), and resumed to the
end. `identical` counts resumed builds whose every file (shards, manifest, card, plots) equals the
reference's. `recomputed_docs` counts work done twice: documents of stages that had finished before the
kill and ran again, scores computed for texts whose score had reached the score cache, and score-cache rows
for a text already there. Where each kill landed (the stage running then) is printed.

Fuzz. The mutated recipes of tests/test_fuzz.py (tokens deleted, duplicated and moved, lines swapped, odd
unicode, huge numbers, deep nesting, truncation, binary garbage), drawn by hypothesis without shrinking,
through parse + check (+ plan when they check), each bounded to a second. `fuzz_tracebacks` counts cases
that raised anything but located recipe errors; one case in 100 also goes through the `recipe check`
command, which must exit 0 or 2 and print no traceback.

Hostile inputs. Every case of tests/test_hostile.py (truncated and mis-typed Parquet, invalid UTF-8, NUL
bytes, a 50 MB document, broken JSONL lines, empty globs, missing paths, a refused connection...).

--quick: 3 kills of the same build without its model score (the classifier's imports alone take longer than
the rest of the build), 300 fuzz cases and 4 hostile cases, in under a minute.

Prints one line per kill, then as its last line one JSON object: kills, identical, recomputed_docs,
fuzz_cases, fuzz_tracebacks, hostile_cases, hostile_failures (and more detail keys).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import killing  # noqa: E402
from helpers import recipe_command  # noqa: E402


def landed(events: list[dict[str, Any]]) -> str:
    """The stage (or scoring task) that was running when the build was killed."""
    running: list[str] = []
    last = ""
    for e in events:
        edge = e.get("event", "").rpartition("_")[2]
        if edge == "start":
            running.append(e["stage"])
        elif edge == "end" and e.get("stage") in running:
            running.remove(e["stage"])
            last = e["stage"]
    if running:
        return running[-1]
    return f"after {last}" if last else "before the first stage"


def soak_kills(n: int, rng: random.Random, quick: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        return _kills(Path(tmp), n, rng, quick)


def _kills(root: Path, n: int, rng: random.Random, quick: bool) -> dict[str, Any]:
    project = killing.make_project(root / "project", *((600, 300) if quick else (1200, 500)))
    # --quick leaves the model score out: a build then takes a few seconds, most of them imports.
    text = killing.recipe_text(tokens="50K" if quick else "100K", scored=not quick)
    base = killing.scenario(project, root / "base", text)
    started = time.perf_counter()
    reference = killing.run(base)
    seconds = time.perf_counter() - started
    assert reference.returncode == 0, reference.stderr
    key = killing.score_key(reference.events) if not quick else "none"
    expected = killing.output(base)
    print(f"reference build: {seconds:.1f}s, {len(expected)} files", file=sys.stderr)
    identical = recomputed = kills = attempts = 0
    where: dict[str, int] = {}
    while kills < n and attempts < 3 * n:  # a build can end before its kill: that one does not count
        attempts += 1
        work = killing.scenario(project, root / f"kill-{attempts}", text)
        at = rng.uniform(0, seconds)
        killed = killing.run(work, killing.after(at))
        if not killed.killed:
            print(f"attempt {attempts}: the build ended before {at:.2f}s; not a kill", file=sys.stderr)
            continue
        kills += 1
        stage = landed(killed.events)
        where[stage] = where.get(stage, 0) + 1
        result, did = killing.resume(work, key)
        needed = next((e["rows"] for e in reference.events
                       if e.get("event") == "task_end" and e["stage"] == killing.SCORER), 0)
        rescored = max(0, did.persisted_before + did.scored - needed)
        same = result.returncode == 0 and killing.output(work) == expected
        identical += same
        recomputed += did.rerun_docs + rescored + did.duplicate_scores
        print(f"kill {kills}/{n} at {at:5.2f}s in {stage:<16} finished before: {len(did.finished_before)} stages, "
              f"{did.persisted_before} scores; resumed: rerun {did.rerun_stages or 'none'}, scored {did.scored}, "
              f"{'identical' if same else 'DIFFERENT: ' + result.stderr[-300:]}", file=sys.stderr)
    return {"kills": kills, "identical": identical, "recomputed_docs": recomputed, "kill_stages": where,
            "build_seconds": round(seconds, 2)}


def soak_fuzz(n: int, seed: int) -> dict[str, Any]:
    import test_fuzz
    from datarecipe.compiler.language.errors import RecipeErrors
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as fix_seed

    counts = {"cases": 0, "tracebacks": 0, "unlocated_or_slow": 0, "cli_cases": 0, "cli_failures": 0}
    examples: list[str] = []
    tmp = Path(tempfile.mkdtemp(prefix="soak-fuzz-"))  # one recipe file, rewritten for each CLI case

    @fix_seed(seed)
    @settings(max_examples=n, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(test_fuzz.recipe_texts)
    def case(text: str) -> None:
        counts["cases"] += 1
        try:
            test_fuzz.assert_checks_or_reports(text)
        except AssertionError as exc:
            counts["unlocated_or_slow"] += 1
            examples.append(f"{exc}"[:300])
        except RecipeErrors:
            pass
        except Exception as exc:  # noqa: BLE001 - what this counts
            counts["tracebacks"] += 1
            examples.append(f"{type(exc).__name__}: {exc} on {text[:200]!r}")
        if counts["cases"] % 100 == 1:
            counts["cli_cases"] += 1
            (tmp / "f.recipe").write_text(text, encoding="utf-8", errors="surrogatepass")
            result = subprocess.run([*recipe_command(), "check", "f.recipe"], cwd=tmp, capture_output=True,
                                    text=True, timeout=60)
            if result.returncode not in (0, 2) or "Traceback" in result.stderr:
                counts["cli_failures"] += 1
                examples.append(f"recipe check exit {result.returncode}: {result.stderr[-300:]}")

    test_fuzz.plan(test_fuzz.check(test_fuzz.parse(test_fuzz.HAND_WRITTEN[0])), {})  # warm: lark, macros
    case()
    for example in examples[:10]:
        print("fuzz:", example, file=sys.stderr)
    return {"fuzz_cases": counts["cases"], "fuzz_tracebacks": counts["tracebacks"] + counts["cli_failures"],
            "fuzz_unlocated_or_slow": counts["unlocated_or_slow"], "fuzz_cli_cases": counts["cli_cases"]}


def soak_hostile(quick: bool) -> dict[str, Any]:
    import test_hostile

    names = list(test_hostile.CASES)
    if quick:
        names = names[:4]
    failures = 0
    for name in names:
        with tempfile.TemporaryDirectory(prefix="soak-hostile-") as tmp:
            problem = test_hostile.run_case(name, Path(tmp))
        failures += problem is not None
        print(f"hostile {name}: {problem or 'ok'}", file=sys.stderr)
    return {"hostile_cases": len(names), "hostile_failures": failures}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="3 kills of a build without its model score, 300 fuzz "
                                                             "cases, 4 hostile cases")
    ap.add_argument("--kills", type=int, default=None)
    ap.add_argument("--fuzz", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    kills = args.kills if args.kills is not None else 3 if args.quick else 20
    fuzz = args.fuzz if args.fuzz is not None else 300 if args.quick else 10_000
    started = time.perf_counter()
    out = soak_kills(kills, random.Random(args.seed), args.quick)
    out |= soak_fuzz(fuzz, args.seed)
    out |= soak_hostile(args.quick)
    out["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
