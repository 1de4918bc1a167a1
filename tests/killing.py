"""Kill a build with SIGKILL and resume it: the harness shared by tests/test_resume.py and bench/soak.py.

A project (a corpus with duplicates and near duplicates, a tiny classifier, a tiny tokenizer and a recipe
with filters, MinHash dedup, a model score, a token mixture and phases) is written once; every scenario
builds it in a directory of its own with a cache of its own. A build is killed when a condition on its
files holds (a stage writing its output, parts in the score cache, shards written), or after a delay, and
what was finished at that moment is recorded, so that the resumed build can be checked against it: same
bytes as a build never killed, no finished stage run again, no persisted score computed again."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from helpers import corpus, digest_tree, recipe_command, write_jsonl
from models import tiny_classifier, tiny_tokenizer_dir

RECIPE = """\
recipe "resume" {{ seed 7  tokenizer "tok/tokenizer.json" }}

source web  = jsonl("data/web/*.jsonl", text: "body", id: "id")
source wiki = jsonl("data/wiki.jsonl", text: "body", id: "id")

filter web {{
  keep words(text) >= 5
  drop symbol_ratio("#") > 0.1
  dedup minhash(ngram: 5, bands: 20, rows: 5, threshold: 0.7)
}}
filter wiki {{ dedup exact }}

{score}
mix {tokens} tokens {{
  web  70%  {where}
  wiki 30%  max_epochs 2
}}

order {{
  {order}
  phase main   first 80%
  phase anneal last 20%: mix {{ wiki 60%, web 40% }}, sort {key} desc
}}

output "build/resume" as parquet shard 64KB
"""

# Scores go to the cache in parts of this many texts, so that a kill mid-scoring finds some persisted.
SCORE_CHUNK = "150"
SCORER = "score_web.q"


def make_project(root: Path, web_docs: int = 600, wiki_docs: int = 300) -> Path:
    """The inputs every scenario shares: data/, clf/, tok/ under root."""
    rows = corpus(web_docs, seed=1, prefix="w", dups=web_docs // 20, near_dups=web_docs // 20,
                  short=web_docs // 40, symbols=web_docs // 40)
    write_jsonl(root / "data/web/a.jsonl", rows[: web_docs // 2])
    write_jsonl(root / "data/web/b.jsonl", rows[web_docs // 2:])
    write_jsonl(root / "data/wiki.jsonl", corpus(wiki_docs, seed=2, prefix="k", dups=20))
    tiny_classifier(root / "clf")
    tiny_tokenizer_dir(root / "tok")
    return root


SCORE = ('score web { q = classifier("clf", label: "good", output: "probability", max_length: 64, batch: 16) }\n'
         "score wiki { q = expr(0.5) }\n")  # every source of the anneal has the score it sorts by


def recipe_text(order: str = "shuffle", tokens: str = "50K", scored: bool = True) -> str:
    """The recipe; without `scored`, no model score (nor the mix's threshold and the anneal's sort on it)."""
    return RECIPE.format(order=order, tokens=tokens, score=SCORE if scored else "",
                         where="where q >= 0.05" if scored else "", key="q" if scored else "length(text)")


def scenario(project: Path, work: Path, text: str | None = None) -> Path:
    """A directory that builds the project's recipe with a cache of its own."""
    work.mkdir(parents=True)
    for name in ("data", "clf", "tok"):
        (work / name).symlink_to(project / name)
    (work / "r.recipe").write_text(text or recipe_text())
    return work


@dataclass
class Run:
    returncode: int
    killed: bool
    events: list[dict[str, Any]] = field(default_factory=list)
    stderr: str = ""


def start(work: Path, stderr: Any) -> subprocess.Popen[str]:
    env = {**os.environ, "DATARECIPE_SCORE_CHUNK": SCORE_CHUNK, "COLUMNS": "200"}
    env.pop("DATARECIPE_DEBUG", None)
    return subprocess.Popen([*recipe_command(), "run", "r.recipe", "--json", "--cache", "cache"], cwd=work,
                            stdout=subprocess.PIPE, stderr=stderr, text=True, env=env)


def run(work: Path, kill_when: Callable[[list[dict[str, Any]]], bool] | None = None, timeout: float = 300) -> Run:
    """Build in work; with `kill_when`, SIGKILL the build as soon as it holds. It is asked every few ms,
    with the progress events the build has printed so far; the build is stopped (SIGSTOP) the moment it
    holds, so the files are as they were then."""
    stderr = tempfile.TemporaryFile("w+")
    proc = start(work, stderr)
    events: list[dict[str, Any]] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("{"):
                events.append(json.loads(line))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    killed = False
    deadline = time.monotonic() + timeout
    while kill_when is not None and proc.poll() is None and time.monotonic() < deadline:
        if kill_when(events):
            proc.send_signal(signal.SIGSTOP)
            proc.send_signal(signal.SIGKILL)
            killed = True
            break
        time.sleep(0.002)
    try:
        proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    reader.join()
    return Run(proc.returncode, killed, events, _read(stderr))


def _read(file: Any) -> str:
    with file:
        file.seek(0)
        return str(file.read())


def started(stage: str) -> Callable[[list[dict[str, Any]]], bool]:
    """The moment the build says a stage begins."""
    return lambda events: any(e.get("event") == "stage_start" and e.get("stage") == stage for e in events)


# ---- what a build has finished -----------------------------------------------------------------------------


def finished_stages(work: Path) -> set[str]:
    """The stages whose output is complete in the scenario's cache."""
    return {p.parent.parent.name for p in (work / "cache").glob("*/*/_SUCCESS")}


def score_key(events: list[dict[str, Any]]) -> str:
    """The classifier's key in the score cache, as a finished build reports it."""
    ends = (e for e in events if e.get("event") == "stage_end" and e["stage"] == "score_web")
    return str(next(ends)["scores"]["q"]["cache"])


def score_parts(work: Path, key: str) -> list[Path]:
    return sorted((work / "cache" / "scores" / key).glob("part-*.parquet"))


def persisted_scores(work: Path, key: str) -> tuple[int, int]:
    """Rows in the classifier's score-cache parts, and distinct content hashes among them."""
    hashes = [h for part in score_parts(work, key) for h in pq.read_table(part, columns=["content_hash"])
              .column(0).to_pylist()]
    return len(hashes), len(set(hashes))


def writing(work: Path, stage: str, name: str = "data.parquet") -> bool:
    """Whether the stage is writing its output now (its temporary directory holds the file)."""
    return any((work / "cache" / stage).glob(f".tmp-{stage}-*/{name}")) and stage not in finished_stages(work)


def shards_written(work: Path, at_least: int) -> bool:
    """Whether the output stage has written at least this many shards into its temporary directory."""
    return len(list((work / "build").glob(".resume.tmp-*/data/*"))) >= at_least


def output(work: Path) -> dict[str, str]:
    return digest_tree(work / "build" / "resume")


# ---- a resumed build, checked ------------------------------------------------------------------------------


@dataclass
class Resume:
    """What a resumed build did, against what was finished when its predecessor was killed."""

    finished_before: set[str]
    persisted_before: int
    rerun_stages: list[str]  # finished before, run again: must be empty
    rerun_docs: int  # documents those stages processed
    scored: int  # texts the resumed build scored
    duplicate_scores: int  # score-cache rows for a text already there: texts scored twice


def resume(work: Path, key: str, kill_when: Callable[[list[dict[str, Any]]], bool] | None = None) -> tuple[Run, Resume]:
    """Build again (or, with `kill_when`, kill again), and count what was done a second time."""
    finished = finished_stages(work)
    _, persisted = persisted_scores(work, key)
    result = run(work, kill_when)
    ran = {e["stage"]: e for e in result.events if e.get("event") == "stage_end" and not e.get("cached")}
    rerun = sorted(s for s in finished if s in ran)
    scored = sum(e.get("rows", 0) for e in result.events if e.get("event") == "task_end" and e["stage"] == SCORER)
    rows, distinct = persisted_scores(work, key)
    return result, Resume(finished, persisted, rerun, sum(ran[s].get("rows", 0) for s in rerun), scored,
                          rows - distinct)


def kill_points(rng: random.Random, seconds: float, n: int) -> list[float]:
    """n kill times spread over a build of this length."""
    return sorted(rng.uniform(0.05, seconds) for _ in range(n))


def after(seconds: float) -> Callable[[list[dict[str, Any]]], bool]:
    start_at = time.monotonic()
    return lambda _: time.monotonic() - start_at >= seconds
