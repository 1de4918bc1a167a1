"""A build killed with SIGKILL resumes without redoing finished work and ends with the same bytes.

One build is killed three times in a row: while ingesting, while scoring (after some scores reached the
score cache) and while writing shards (over a previous good build of the same output, which must survive).
Each resumed build must run no stage that was finished and score no text whose score was persisted; the
last one must give shards, manifest and card byte-identical to a build that was never killed. The harness
is tests/killing.py; bench/soak.py kills the same build at 20 random moments."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from helpers import digest_tree, json_events, recipe, recipe_command
from killing import (
    Run,
    finished_stages,
    make_project,
    output,
    persisted_scores,
    recipe_text,
    resume,
    run,
    scenario,
    score_key,
    shards_written,
    started,
)


def completed(result: Run) -> Run:
    assert result.returncode == 0 and not result.killed, f"exit {result.returncode}\n{result.stderr}"
    return result


def leftovers(work: Path) -> list[str]:
    """Temporary files and directories a killed build left that the next one did not clean."""
    found = [*(work / "cache").glob("*/.tmp-*"), *(work / "cache").glob("scores/*/.part-*"),
             *(work / "build").glob(".resume.tmp-*"), *(work / "build").glob(".resume.old-*")]
    return sorted(p.name for p in found)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_project(tmp_path_factory.mktemp("project"))


def test_killed_three_times_resumes_to_the_same_bytes(project: Path, tmp_path: Path) -> None:
    # The reference: a previous good build (another order), then the recipe itself, never killed.
    base = scenario(project, tmp_path / "base", recipe_text(order="sort length(text) asc"))
    first = completed(run(base))
    key = score_key(first.events)
    needed = next(e["rows"] for e in first.events if e.get("event") == "task_end" and e["stage"] == "score_web.q")
    shutil.copytree(base / "build" / "resume", tmp_path / "previous")
    previous = digest_tree(tmp_path / "previous")
    (base / "r.recipe").write_text(recipe_text())
    completed(run(base))
    expected = output(base)
    assert expected != previous

    work = scenario(project, tmp_path / "work")
    shutil.copytree(tmp_path / "previous", work / "build" / "resume")

    # 1. Killed while ingesting the first source: nothing is finished.
    killed = run(work, started("ingest_web"))
    assert killed.killed
    assert finished_stages(work) == set()
    assert list((work / "cache" / "ingest_web").glob(".tmp-ingest_web-*")), "the kill landed outside ingest"
    assert output(work) == previous

    # 2. Resumed, and killed while scoring, once some scores are in the score cache.
    def mid_scoring(_: object) -> bool:
        return len(list((work / "cache" / "scores" / key).glob("part-*.parquet"))) >= 2

    killed, did = resume(work, key, mid_scoring)
    assert killed.killed and did.rerun_stages == []
    assert {"ingest_web", "filter_web"} <= finished_stages(work) and "score_web" not in finished_stages(work)
    rows, persisted = persisted_scores(work, key)
    assert 0 < persisted < needed and rows == persisted
    assert output(work) == previous

    # 3. Resumed, and killed while writing shards over the previous build. Scoring goes on from the cache.
    killed, did = resume(work, key, lambda _: shards_written(work, 2))
    assert killed.killed
    assert did.rerun_stages == [] and did.rerun_docs == 0
    assert did.scored == needed - persisted  # no persisted score computed again
    assert did.duplicate_scores == 0
    assert {"mix", "order"} <= finished_stages(work)
    assert output(work) == previous  # the previous good build is untouched until the new one is whole
    assert leftovers(work), "the kill landed after the output was in place"

    # 4. Resumed to the end: only the output stage runs, and the bytes are the uninterrupted build's.
    result, did = resume(work, key)
    completed(result)
    assert did.rerun_stages == [] and did.scored == 0 and did.duplicate_scores == 0
    ran = [e["stage"] for e in result.events if e.get("event") == "stage_end" and not e.get("cached")]
    assert ran == ["output"]
    assert output(work) == expected
    assert leftovers(work) == []
    verified = recipe(work, "verify", "build/resume")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_second_build_of_the_same_output_is_refused(project: Path, tmp_path: Path) -> None:
    """Two `recipe run` of one recipe at once: the second stops at once with a clear message, and the first
    finishes with the bytes it would have had alone."""
    work = scenario(project, tmp_path / "work", recipe_text(scored=False))
    done: list[subprocess.CompletedProcess[str]] = []

    def second(events: list[dict[str, Any]]) -> bool:
        if started("filter_web")(events) and not done:
            done.append(recipe(work, "run", "r.recipe", "--cache", "cache", "--quiet"))
        return False

    first = completed(run(work, second))
    assert done, "the first build ended before the second started"
    status, stderr = done[0].returncode, done[0].stderr
    assert status == 1
    assert "another build of build/resume is running (pid" in stderr and "`recipe run r.recipe`" in stderr
    assert "Traceback" not in stderr
    assert first.returncode == 0
    assert recipe(work, "verify", "build/resume").returncode == 0
    # Once the first is done, a build goes ahead (and finds every stage finished).
    again = completed(run(work))
    assert all(e.get("cached") for e in again.events if e.get("event") == "stage_end" and e["stage"] != "output")


def test_two_builds_that_share_stages_build_each_once(project: Path, tmp_path: Path) -> None:
    """Two recipes with different outputs and the same sources and filters, built at once with one cache:
    each shared stage is built by one of them, while the other waits for it (the stage lock) and reuses it."""
    work = scenario(project, tmp_path / "work", recipe_text(scored=False))
    (work / "s.recipe").write_text(recipe_text(order="sort length(text) asc", scored=False)
                                   .replace("build/resume", "build/sorted"))
    env = {**os.environ, "COLUMNS": "200"}
    procs = [subprocess.Popen([*recipe_command(), "run", name, "--json", "--cache", "cache"], cwd=work,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for name in ("r.recipe", "s.recipe")]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in results]
    built: dict[str, int] = {}
    for stdout, _ in results:
        for e in json_events(stdout):
            if e.get("event") == "stage_end" and not e.get("cached"):
                built[e["stage"]] = built.get(e["stage"], 0) + 1
    shared = ["ingest_web", "filter_web", "ingest_wiki", "filter_wiki", "score_web", "score_wiki", "mix"]
    assert {s: built.get(s) for s in shared} == dict.fromkeys(shared, 1)
    assert built["order"] == 2 and built["output"] == 2
    for out in ("build/resume", "build/sorted"):
        assert recipe(work, "verify", out).returncode == 0
