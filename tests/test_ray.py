"""`recipe run --engine ray` on a real Ray cluster on 127.0.0.1: a head and one more worker node, each its own
set of processes (ray.cluster_utils.Cluster). Every build is compared file by file with the local engine's
build of the same recipe and data: shards, manifest, ledger, quarantine, card and plots must be the same bytes.

The recipes cover every way the Ray engine runs a stage: ingest by file shards (text, JSONL, Parquet) and by id
partitions, filters split by dedup key or by input part, MinHash and mixing as whole stages, fitted, tokenizer
and plugin scores on actor pools. One test kills a worker process in the middle of a task."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import (
    corpus,
    digest_tree,
    json_events,
    manifest,
    ok,
    recipe,
    recipe_command,
    write_jsonl,
    write_lines,
    write_parquet,
)
from s3 import download, killed_at_upload, s3, s3_server

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.xdist_group("ray")  # one cluster for the module, in one test worker


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The S3 server (tests/s3.py), started before the cluster, whose workers inherit its endpoint."""
    with s3_server(tmp_path_factory.mktemp("moto") / "moto.log") as url:
        s3().mkdir("builds")  # type: ignore[attr-defined]
        yield url


@pytest.fixture(scope="module")
def cluster(endpoint: str) -> Iterator[str]:
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    from ray.cluster_utils import Cluster

    # Ray names a node by this machine's own address (traffic to it stays on this machine, as on loopback).
    node = {"num_cpus": 1, "object_store_memory": 100 * 2**20}
    c = Cluster(initialize_head=True, connect=False, head_node_args={**node, "include_dashboard": False})
    try:
        c.add_node(**node)
        c.wait_for_nodes()
        yield c.address
    finally:
        c.shutdown()


def project(tmp_path: Path, *recipes: str) -> Path:
    """A working directory with the repository's sample data and recipes."""
    work = tmp_path / "work"
    (work / "recipes").mkdir(parents=True)
    (work / "data").symlink_to(ROOT / "data")
    for name in recipes:
        shutil.copy(ROOT / "recipes" / name, work / "recipes" / name)
    return work


def both(work: Path, recipe_file: str, output: str, address: str) -> tuple[dict[str, str], Path, set[str]]:
    """Build with the local engine, then with Ray (another cache): the local build's digests, the Ray build, and
    the kinds of task each stage ran (`STAGE:STEP`, from the `tasks` events)."""
    ok(recipe(work, "run", recipe_file, "--cache", "cache-local", "-q"))
    local = work / f"{output}-local"
    (work / output).rename(local)
    run = ok(recipe(work, "run", recipe_file, "--cache", "cache-ray", "--engine", "ray", "--address", address,
                    "--partitions", "3", "--json"))
    events = json_events(run.stdout)
    steps = {f"{e['stage']}:{e['step']}" for e in events if e["event"] == "tasks"}
    # a scorer's actor pool scored texts (`task_end` of STAGE.SCORE with the texts it scored)
    steps |= {f"{e['stage']}:actors" for e in events if e["event"] == "task_end" and e.get("rows")}
    return digest_tree(local), work / output, steps


def parts(cache: Path, stage: str) -> list[Path]:
    """The data files of a stage's output: the parts of `data.parquet/`, or the file itself."""
    (data,) = cache.glob(f"{stage}/*/data.parquet")
    return sorted(data.glob("part-*.parquet")) if data.is_dir() else [data]


def test_example_recipe_is_byte_identical_and_resumable_by_the_local_engine(tmp_path: Path, cluster: str) -> None:
    work = project(tmp_path, "example.recipe")
    local, ray_build, steps = both(work, "recipes/example.recipe", "build/example", cluster)
    assert digest_tree(ray_build) == local
    cache = work / "cache-ray"
    assert len(parts(cache, "ingest_code")) == 3  # 150 Go files in 3 shards, file by file
    assert {"ingest_code:ingest_shard", "ingest_pydocs:partition_raw", "ingest_pydocs:ingest_partition",
            "filter_code:partition_rows", "filter_code:stage_part", "mix:whole_stage", "order:whole_stage",
            "mix:position_part", "mix:position_range", "order:position_part", "order:position_range",
            "output:measure_rows", "output:write_rows"} <= steps
    assert len(parts(cache, "filter_code")) > 1  # split by its dedup key
    # The mix and the order: their choices in one task, their documents in ranges of their positions.
    assert len(parts(cache, "mix")) == len(parts(cache, "order")) == 3
    # The local engine takes every stage the Ray engine finished (same fingerprints): only the output is written.
    shutil.rmtree(ray_build)
    events = json_events(ok(recipe(work, "run", "recipes/example.recipe", "--cache", "cache-ray", "--json")).stdout)
    ends = {e["stage"]: e for e in events if e["event"] == "stage_end"}
    assert all(e.get("cached") for name, e in ends.items() if name != "output"), ends
    assert digest_tree(ray_build) == local


@pytest.mark.parametrize("name", ["dsir", "quality", "plugin-example"])
def test_scored_and_deduplicated_recipes(tmp_path: Path, cluster: str, name: str) -> None:
    """dsir: a fitted scorer trained in a task, token counts and its scores from actor pools, a token budget.
    quality: MinHash dedup and rule packs in whole stages. plugin-example: a plugin's filter and function in
    split stages and its scorer on an actor pool, loaded by every worker."""
    work = project(tmp_path, f"{name}.recipe")
    local, ray_build, steps = both(work, f"recipes/{name}.recipe", f"build/{name}", cluster)
    assert digest_tree(ray_build) == local
    assert {"quality": {"filter_pydocs:whole_stage"},
            "dsir": {"fit_handbook_ref:whole_stage", "score_handbook:score_todo", "score_handbook.ref:actors",
                     "score_handbook.n_tokens:actors"},
            "plugin-example": {"filter_pydocs:stage_part", "score_pydocs.ease:actors"}}[name] <= steps, steps


def test_the_embedding_space_recipe(tmp_path: Path, cluster: str) -> None:
    """recipes/space.recipe: the k-means fit in a task (it embeds the notes), the clusters and distances from
    actor pools, SemDeDup and representative ranks in a whole stage, the knn_chains order: the same bytes."""
    work = project(tmp_path, "space.recipe")
    (work / "models").symlink_to(ROOT / "models")
    local, ray_build, steps = both(work, "recipes/space.recipe", "build/space", cluster)
    assert digest_tree(ray_build) == local
    assert {"fit_notes_topic:whole_stage", "score_notes:score_todo", "score_notes.topic:actors",
            "score_notes.dist:actors", "space_notes:whole_stage", "order:whole_stage"} <= steps, steps


def test_a_split_filter_counts_the_documents_its_transforms_changed(tmp_path: Path, cluster: str) -> None:
    work = tmp_path / "work"
    write_jsonl(work / "web.jsonl", [{"id": f"d{i:02}", "text": f"Write to user{i}@example.org today" if i % 3 == 0
                                      else f"Nothing personal in text {i}"} for i in range(60)])
    (work / "r.recipe").write_text('source web = jsonl("web.jsonl", id: "id")\n'
                                   'filter web {\n  apply redact_pii()\n  keep words(text) >= 5\n}\n'
                                   'output "build/t"\n')
    local, ray_build, steps = both(work, "r.recipe", "build/t", cluster)
    assert digest_tree(ray_build) == local and "filter_web:stage_part" in steps
    assert manifest(ray_build)["funnel"]["web"]["changed"] == [{"rule": "apply redact_pii()", "changed": 20}]


MIXED = """
recipe "mixed" { seed 5 }

source web   = jsonl("web/*.jsonl", text: "body", id: "id", on_error: "quarantine")
source notes = parquet("notes/*.parquet", text: "body", id: "id")

filter web {
  keep words(text) >= 5
  dedup exact(normalize: true)
  dedup minhash(scope: "global")
}
filter notes {
  drop text ~ "#"
  dedup minhash(scope: "global")
}

mix 900 docs {
  web   70%  max_epochs 2
  notes 30%  max_epochs 3
}

order {
  phase early first 40%: shuffle
  phase late  last 60%:  sort words(text) desc
}

output "build/mixed" as parquet shard 64KB
"""


def test_ids_repeated_across_files_dedup_and_a_mixture_with_phases(tmp_path: Path, cluster: str) -> None:
    """Ids partitioned by hash: an id repeated in another file is quarantined as locally (the first by file and
    line is kept); exact dedup of normalized text split by its key; MinHash across sources; a mixture with
    repetition caps over two phases."""
    work = tmp_path / "work"
    rows = corpus(1200, seed=3, prefix="w", dups=40, near_dups=30, short=30, symbols=10)
    for k in range(4):
        write_jsonl(work / "web" / f"part-{k}.jsonl", rows[k * 300:(k + 1) * 300] + ([rows[5]] if k == 2 else []))
    notes = corpus(400, seed=4, prefix="n", dups=20, symbols=20)
    for k in range(2):
        write_parquet(work / "notes" / f"n-{k}.parquet", notes[k * 200:(k + 1) * 200])
    (work / "mixed.recipe").write_text(MIXED)
    local, ray_build, steps = both(work, "mixed.recipe", "build/mixed", cluster)
    assert digest_tree(ray_build) == local
    quarantine = manifest(ray_build)["quarantine"]
    assert quarantine["rows"] == 1 and quarantine["by_source"] == {"web": 1}  # the copy of w01195 in part-2
    assert len(parts(work / "cache-ray", "ingest_web")) > 1
    assert {"ingest_web:partition_raw", "filter_web:partition_rows", "dedup_global:whole_stage"} <= steps


SLOW = '''
from datarecipe import Param, operator


@operator(name="slow_words", kind="function", returns="number",
          params=[Param("text", "text", "text", "the text")])
def slow_words(text):
    """Words in the text, after a second's sleep: a stand-in for an expensive rule. Each process that runs it
    leaves a file named by its pid."""
    import os
    import pathlib
    import time

    import pyarrow.compute as pc

    calls = pathlib.Path(__file__).parent / "calls"
    calls.mkdir(exist_ok=True)
    (calls / str(os.getpid())).touch()
    time.sleep(1.0)
    return pc.count_substring_regex(text, r"\\S+").cast("float64")
'''

SLOW_RECIPE = """
recipe "slow" { seed 9  plugins ["slowpoke"] }
source web = jsonl("web/*.jsonl", text: "body")
filter web { keep slow_words(text) >= 5 }
order { shuffle }
output "build/slow"
"""


def slow_project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The slow recipe over 8 files of 100 documents, built once by the local engine: the directory, and the
    build's digests (the build itself removed)."""
    work = tmp_path / "work"
    rows = corpus(800, seed=8)
    for k in range(8):
        write_jsonl(work / "web" / f"part-{k}.jsonl", rows[k * 100:(k + 1) * 100])
    (work / "slowpoke.py").write_text(SLOW)
    (work / "slow.recipe").write_text(SLOW_RECIPE)
    ok(recipe(work, "run", "slow.recipe", "--cache", "cache-local", "-q"))
    local = digest_tree(work / "build" / "slow")
    shutil.rmtree(work / "build" / "slow")
    return work, local


def test_a_killed_worker_is_retried_and_the_output_is_the_same(tmp_path: Path, cluster: str) -> None:
    work, local = slow_project(tmp_path)

    run = subprocess.Popen([*recipe_command(), "run", "slow.recipe", "--cache", "cache-ray", "--engine", "ray",
                            "--address", cluster, "--partitions", "4", "-q"], cwd=work, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and run.poll() is None and time.monotonic() < deadline:
        ps = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout
        busy = [int(line.split()[0]) for line in ps.splitlines() if "ray::filter_web.stage_part" in line
                and (work / "calls" / line.split()[0]).exists()]  # inside the filter's function
        if busy:
            killed = busy[0]
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.05)
    stdout, stderr = run.communicate(timeout=300)
    assert killed is not None, "no filter task was seen running"
    assert run.returncode == 0, stderr
    assert digest_tree(work / "build" / "slow") == local


def test_ray_options_need_the_ray_engine(tmp_path: Path) -> None:
    work = project(tmp_path, "example.recipe")
    result = recipe(work, "run", "recipes/example.recipe", "--address", "auto")
    assert result.returncode == 1
    assert "--address is an option of the Ray engine" in result.stderr and "Traceback" not in result.stderr


BOOM = '''
from datarecipe import Param, operator


@operator(name="boom", kind="function", returns="number", params=[Param("text", "text", "text", "the text")])
def boom(text):
    """The text's length; raises on a text holding `seven`."""
    import pyarrow.compute as pc

    if any("seven" in (t or "") for t in text.to_pylist()):
        raise ValueError("no sevens here")
    return pc.utf8_length(text).cast("float64")
'''


@pytest.mark.parametrize("case", ["bad line", "plugin raises"])
def test_an_error_in_a_task_reads_as_the_local_engine_s(tmp_path: Path, cluster: str, case: str) -> None:
    """A bad row (on_error fail) in a partition task, a plugin raising in a filter task: the same message, exit 1,
    no traceback."""
    write_lines(tmp_path / "web" / "a.jsonl", [b'{"id": "a", "text": "one two three four"}', b"{broken"])
    write_lines(tmp_path / "web" / "b.jsonl", [b'{"id": "c", "text": "seven eight nine ten"}'])
    (tmp_path / "boom.py").write_text(BOOM)
    rule = "keep boom(text) >= 3" if case == "plugin raises" else "keep words(text) >= 3"
    path = "web/b.jsonl" if case == "plugin raises" else "web/*.jsonl"
    (tmp_path / "r.recipe").write_text(f'recipe "r" {{ plugins ["boom"] }}\nsource web = jsonl("{path}", id: "id")\n'
                                       f'filter web {{ {rule} }}\norder {{ shuffle }}\noutput "build/r"\n')
    local = recipe(tmp_path, "run", "r.recipe", "--cache", "cache-local", "-q")
    ray_run = recipe(tmp_path, "run", "r.recipe", "--cache", "cache-ray", "--engine", "ray", "--address", cluster,
                     "-q")
    assert local.returncode == ray_run.returncode == 1
    assert ray_run.stderr == local.stderr and "Traceback" not in ray_run.stderr
    assert ("web/a.jsonl:2: not valid JSON" if case == "bad line" else "failed on document `web/c`") in local.stderr


def test_through_dvc_every_stage_runs_on_the_cluster(tmp_path: Path, cluster: str) -> None:
    """In a DVC project, `recipe run --engine ray` runs each stage DVC reproduces on the cluster: the build is
    the local engine's, and dvc.lock records it."""
    from test_dvc import env, example_project

    proj = example_project(tmp_path)
    ok(recipe(proj, "run", "recipes/example.recipe", "--no-dvc", "--cache", "cache-local", "-q"))
    local = digest_tree(proj / "build" / "example")
    shutil.rmtree(proj / "build" / "example")
    run = subprocess.run([*recipe_command(), "run", "recipes/example.recipe", "--engine", "ray", "--address", cluster,
                          "--json"], cwd=proj, env=env(tmp_path), capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert digest_tree(proj / "build" / "example") == local
    steps = {e["stage"] for e in json_events(run.stdout) if e.get("event") == "tasks"}
    assert {"ingest_code", "filter_code", "mix", "order"} <= steps  # each stage ran tasks on the cluster
    assert "build/example" in (proj / "dvc.lock").read_text()


@pytest.mark.parametrize(("rules", "partition"), [
    ("keep words(text) >= 3", ""),
    ("keep words(text) >= 3\n  dedup exact", "content_hash"),
    ("dedup exact\n  dedup exact(normalize: true)", "dr_exact_key("),
    ("apply strip_lines(words(line) < 3)\n  dedup exact(normalize: true)", None),  # dedups the rewritten text
    ("apply c4()\n  dedup exact", None),
    ("dedup minhash()", None),
])
def test_how_the_plan_lets_a_filter_be_split(tmp_path: Path, rules: str, partition: str | None) -> None:
    """A filter may be split by its dedup key only when every dedup compares the text as read."""
    from datarecipe.compiler.language.checker import check
    from datarecipe.compiler.language.parser import parse
    from datarecipe.compiler.plan import plan

    checked = check(parse(f'source web = jsonl("x.jsonl")\nfilter web {{\n  {rules}\n}}\noutput "build/x"\n'))
    stage = plan(checked, {}).stage("filter_web")
    assert stage.partition == partition or partition and stage.partition and stage.partition.startswith(partition)


def test_the_driver_killed_anywhere_resumes_and_publishes_to_s3(tmp_path: Path, cluster: str) -> None:
    """SIGKILL of the driver while a stage runs on the cluster, then while it publishes the build to S3 (after the
    shard tasks uploaded the shards): each time the same command finishes what was left, the stages finished
    before the kill are not run again, and the published build is the local engine's, byte for byte."""
    work = project(tmp_path, "example.recipe")
    ok(recipe(work, "run", "recipes/example.recipe", "--cache", "cache-local", "-q"))
    local = digest_tree(work / "build" / "example")
    command = ["run", "recipes/example.recipe", "--cache", "cache-ray", "--engine", "ray", "--address", cluster,
               "--partitions", "3", "--output", "s3://builds/ray"]
    driver = subprocess.Popen([*recipe_command(), *command, "-q"], cwd=work, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    cache = work / "cache-ray"
    deadline = time.monotonic() + 300
    while not list(cache.glob("mix/.tmp-mix-*")) and driver.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    driver.send_signal(signal.SIGKILL)
    driver.wait()

    def finished() -> set[str]:
        return {p.parent.parent.name for p in cache.glob("*/*/_SUCCESS")}

    done = finished()
    killed = killed_at_upload(1, work, *command, "-q")  # the driver's first upload: the ledger, after the shards
    assert killed.returncode == -9, killed.stderr
    left = s3().find("builds/ray")  # type: ignore[attr-defined]
    assert "builds/ray/_PUBLISHING" in left and "builds/ray/manifest.json" not in left
    assert any("/data/train-" in key for key in left)  # the shard tasks' uploads
    assert recipe(work, "verify", "s3://builds/ray").returncode == 1

    before = finished()
    assert done <= before and {"mix", "order"} <= before
    events = json_events(ok(recipe(work, *command, "--json")).stdout)
    cached = {e["stage"] for e in events if e["event"] == "stage_end" and e.get("cached")}
    assert cached == before, (cached, before)
    assert digest_tree(download("builds/ray", tmp_path / "published")) == local
    ok(recipe(work, "verify", "s3://builds/ray"))


def test_a_driver_killed_mid_stage_resumes_the_stage_s_unfinished_tasks_only(tmp_path: Path, cluster: str) -> None:
    """The driver SIGKILLed once some of a split stage's tasks finished: the same command runs the others only
    (the finished ones' outputs and results are kept under the stage's `work/`), with the same output."""
    work, local = slow_project(tmp_path)

    # 8 parts of about a second each on 2 CPUs: when the first is done, most are still to run
    command = ["run", "slow.recipe", "--cache", "cache-ray", "--engine", "ray", "--address", cluster,
               "--partitions", "8"]
    driver = subprocess.Popen([*recipe_command(), *command, "-q"], cwd=work, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    results = work / "cache-ray" / "filter_web"
    deadline = time.monotonic() + 120
    while not list(results.glob(".tmp-*/work/*.result")) and driver.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    finished = len(list(results.glob(".tmp-*/work/*.result")))
    assert finished >= 1 and not list(results.glob("*/_SUCCESS")), finished  # killed inside the stage

    events = json_events(ok(recipe(work, *command, "--json")).stdout)
    (step,) = [e for e in events if e["event"] == "tasks" and e["stage"] == "filter_web" and e["step"] == "stage_part"]
    assert step["resumed"] >= finished and step["tasks"] + step["resumed"] == len(parts(work / "cache-ray",
                                                                                     "filter_web")), step
    assert digest_tree(work / "build" / "slow") == local
    assert not list(results.glob(".tmp-*"))  # nothing of the killed run is left
