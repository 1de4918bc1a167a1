"""`--memory` is the whole process's budget (runtime/memory.py): a build under a tight budget, on a corpus several
times what the budget leaves DuckDB and the engine's sorts, spills and finishes with the same bytes as a build with
memory to spare; a budget smaller than the process's fixed overhead is an error before any stage; a stage that
takes the process past the budget is stopped with an error naming it and the setting; `--json` says what each stage
held and spilled."""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datarecipe.compiler.language.checker import check
from datarecipe.compiler.language.errors import RecipeError
from datarecipe.compiler.language.parser import parse
from datarecipe.runtime import memory
from datarecipe.runtime.executors.local import LocalEngine
from datarecipe.runtime.inputs import build_plan
from helpers import ADJECTIVES, NOUNS, PLACES, TAILS, VERBS, build, digest_tree, json_events, ok

RECIPE = """\
recipe "tight" { seed 5 }

source web  = parquet("web/*.parquet", id: "id")
source news = parquet("news/*.parquet")

filter web {
  keep words(text) >= 40
  dedup exact(normalize: true)
  dedup minhash(scope: "global")
}

filter news {
  dedup exact
  dedup minhash(scope: "global")
}

mix 40_000 docs {
  web  60%
  news 40%  max_epochs 2
}

order {
  shuffle
  phase main   first 75%
  phase anneal last 25%: sort words(text) desc
}

output "build/out" shard 8MB
"""


def write_corpus(root: Path, docs: int, seed: int) -> int:
    """Two sources of made-up prose with exact and near copies planted; returns the bytes of text."""
    rng = random.Random(seed)
    words = [*ADJECTIVES, *NOUNS, *VERBS, *(p.split()[-1] for p in PLACES), *(t.split()[-1] for t in TAILS)]
    size = 0
    for name, share in (("web", 0.7), ("news", 0.3)):
        (root / name).mkdir()
        n = int(docs * share)
        texts: list[str] = []
        for i in range(n):
            if i > 10 and i % 50 == 0:  # an exact copy of an earlier document
                texts.append(texts[rng.randrange(i)])
            elif i > 10 and i % 50 == 1:  # a near copy: one word changed
                words_of = texts[rng.randrange(i)].split()
                words_of[rng.randrange(len(words_of))] = "changed"
                texts.append(" ".join(words_of))
            else:
                texts.append(" ".join(rng.choice(words) for _ in range(rng.randint(30, 260))))
        size += sum(len(t) for t in texts)
        for part in range(4):
            rows = range(part, n, 4)
            table = pa.table({"id": [f"{name}-{i:06d}" for i in rows], "text": [texts[i] for i in rows]})
            pq.write_table(table, root / name / f"part-{part}.parquet", row_group_size=2048)
    return size


def test_a_tight_budget_spills_and_builds_the_same_bytes(tmp_path: Path) -> None:
    """--memory 1.1GB with one thread leaves DuckDB about 90 MB and a sort run about 20 MB (the rest is the
    interpreter, the libraries' reserve and the native caches); the corpus holds about 110 MB of text, so DuckDB
    spills and every stage's sort goes through run files. The same build with 8 GB writes the same bytes."""
    text_bytes = write_corpus(tmp_path, 160_000, seed=3)
    assert text_bytes > 100e6
    roomy = ok(build(tmp_path, RECIPE, "--no-dvc", "--json", "--cache", "roomy", "--memory", "8GB", "--threads", "1"))
    expected = digest_tree(tmp_path / "build" / "out")
    (tmp_path / "build" / "out").rename(tmp_path / "roomy-out")
    tight = ok(build(tmp_path, RECIPE, "--no-dvc", "--json", "--cache", "tight", "--memory", "1.1GB",
                     "--threads", "1"))
    assert digest_tree(tmp_path / "build" / "out") == expected
    ends = {e["stage"]: e for e in json_events(tight.stdout) if e["event"] == "stage_end"}
    # what each stage held and spilled is reported with its end
    assert all(e["peak_rss_bytes"] < 1.1e9 for e in ends.values())
    spilled = {name: e["spilled_bytes"] for name, e in ends.items() if e["spilled_bytes"]}
    assert {"ingest_web", "filter_web"} <= spilled.keys(), spilled  # the stages of the largest source spilled
    roomy_ends = {e["stage"]: e for e in json_events(roomy.stdout) if e["event"] == "stage_end"}
    assert not roomy_ends["filter_web"]["spilled_bytes"]  # with room, the same stage did not
    assert not list((tmp_path / "tight" / "duckdb-tmp").iterdir())  # nothing left in the spill directory


def test_a_budget_below_the_fixed_overhead_is_an_error_before_any_stage(tmp_path: Path) -> None:
    write_corpus(tmp_path, 200, seed=1)
    result = build(tmp_path, RECIPE, "--no-dvc", "--cache", "cache", "--memory", "300MB", "--threads", "2")
    assert result.returncode == 1, result.stderr  # the build fails, before its first stage
    assert "`--memory 300MB` is the whole process's budget" in result.stderr
    assert "give at least `--memory" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "cache" / "ingest_web").exists() and not (tmp_path / "build" / "out").exists()


def test_a_stage_past_the_budget_is_stopped_naming_the_stage_and_the_setting(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    write_corpus(tmp_path, 2_000, seed=2)
    monkeypatch.chdir(tmp_path)
    checked = check(parse(RECIPE))
    engine = LocalEngine(build_plan(checked, "cache"), checked, cache_dir=Path("cache"), threads=1,
                         memory_limit="8GB")
    with engine.connected():
        assert engine.budget is not None
        engine.budget.total = memory.resident() // 2  # as if the process were already past its budget
        with pytest.raises(RecipeError) as caught:
            engine.run()
    error = caught.value
    assert error.stage == "ingest_web"
    assert "over `--memory 8GB`" in error.message and "--memory" in error.hint
    assert not list(Path("cache").glob("ingest_web/*/_SUCCESS"))  # the stage left nothing half-written
    assert not Path("build").exists()
    memory.STOPPED = None



def test_a_full_disk_is_a_clear_error_that_leaves_no_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk filling up while a stage spills (here the engine's sort runs) stops the build with an error that
    says so, names the stage and the way out; the stage leaves nothing, and no output is written."""
    import errno

    from datarecipe.runtime import spill

    write_corpus(tmp_path, 3_000, seed=4)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(spill, "RUN_MIN", 1)
    monkeypatch.setattr(memory, "SORT_SHARE", 0.0)  # every stage's rows go through run files

    def full(*args: object) -> Path:
        raise OSError(errno.ENOSPC, "No space left on device", "cache/duckdb-tmp/sort-1.parquet")

    monkeypatch.setattr(spill, "_write_run", full)
    checked = check(parse(RECIPE))
    engine = LocalEngine(build_plan(checked, "cache"), checked, cache_dir=Path("cache"), threads=1,
                         memory_limit="8GB")
    with engine.connected():
        with pytest.raises(RecipeError) as caught:
            engine.run()
    assert caught.value.stage == "ingest_web"
    assert caught.value.message.startswith("the disk is full") and "--cache" in caught.value.hint
    assert not [p for p in Path("cache").glob("ingest_web/*") if not p.name.endswith(".lock")]  # the lock alone
    assert not Path("build/out").exists()


def test_duckdb_out_of_memory_in_a_streamed_result_is_the_stages_error() -> None:
    # DuckDB's error in a result the engine streams comes through Arrow as an OSError without an errno.
    from datarecipe.runtime.session import stage_errors

    with pytest.raises(RecipeError) as caught, \
            stage_errors("dedup_global", hint="see the SQL", memory_hint=memory.HINT):
        raise OSError("Out of Memory Error: failed to allocate data of size 1.0 MiB (375.4 MiB/376.0 MiB used)")
    assert caught.value.stage == "dedup_global"
    assert "--memory" in caught.value.hint
    assert "Out of Memory Error" in caught.value.message
    with pytest.raises(FileNotFoundError), stage_errors("dedup_global", hint="see the SQL"):
        raise FileNotFoundError(2, "No such file or directory")  # not DuckDB's: left as it is
