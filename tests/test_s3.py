"""Object storage, on a real S3-protocol server on 127.0.0.1 (tests/s3.py: moto_server, dummy credentials):
sources read from `s3://`, a build published to `s3://bucket/prefix` byte for byte as it is written to a
directory, committed by its manifest (written last), resumed after the build is SIGKILLed while publishing, and
a DVC project whose remote is on S3."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import digest_tree, json_events, manifest, ok, recipe, recipe_command
from s3 import download, killed_at_upload, s3, s3_server

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.xdist_group("s3")  # one server for the module, in one test worker


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with s3_server(tmp_path_factory.mktemp("moto") / "moto.log") as url:
        fs = s3()
        for bucket in ("corpus", "builds"):
            fs.mkdir(bucket)  # type: ignore[attr-defined]
        for path in sorted((ROOT / "data" / "sample").rglob("*")):
            if path.is_file():
                fs.put_file(str(path), f"corpus/sample/{path.relative_to(ROOT / 'data' / 'sample').as_posix()}")  # type: ignore[attr-defined]
        yield url


def project(tmp_path: Path, shard: str = "1MB") -> Path:
    """The example recipe with its sources on the S3 server."""
    work = tmp_path / "work"
    work.mkdir()
    text = (ROOT / "recipes" / "example.recipe").read_text()
    (work / "s3.recipe").write_text(text.replace('"data/sample/', '"s3://corpus/sample/').replace("shard 1MB",
                                                                                                 f"shard {shard}"))
    return work


def test_a_build_published_to_s3_is_the_local_build_byte_for_byte(endpoint: str, tmp_path: Path) -> None:
    work = project(tmp_path)
    ok(recipe(work, "run", "s3.recipe", "--cache", "cache-a", "-q"))
    local = digest_tree(work / "build" / "example")
    inputs = manifest(work / "build" / "example")["inputs"]
    assert inputs["pydocs"][0]["path"] == "s3://corpus/sample/pydocs.jsonl.gz"
    assert inputs["pydocs"][0]["fingerprint"].startswith("etag:")
    # The cache in the store too, so every stage runs again, and the build goes to the store.
    run = ok(recipe(work, "run", "s3.recipe", "--cache", "s3://builds/cache-example", "--output",
                    "s3://builds/example"))
    assert "-> s3://builds/example" in run.stdout
    assert digest_tree(download("builds/example", tmp_path / "published")) == local  # manifest and card included
    assert not list(work.glob(".datarecipe/mirror/*/publish/*"))  # the staging copy is gone
    assert s3().exists("builds/cache-example/mix")  # type: ignore[attr-defined]

    checked = ok(recipe(work, "verify", "s3://builds/example"))
    assert "every file matches the manifest" in checked.stdout
    assert "example" in ok(recipe(work, "report", "s3://builds/example")).stdout
    # A shard changed in the store: verify names it.
    fs = s3()
    shard = manifest(work / "build" / "example")["shards"][0]["path"]
    fs.pipe_file(f"builds/example/{shard}", b"not the shard")  # type: ignore[attr-defined]
    tampered = recipe(work, "verify", "s3://builds/example")
    assert tampered.returncode == 1 and f"{shard}: 13 bytes, the manifest says" in tampered.stdout


def test_a_build_killed_while_publishing_is_no_build_and_the_next_run_replaces_it(endpoint: str,
                                                                                   tmp_path: Path) -> None:
    work = project(tmp_path, shard="300KB")
    # A previous build at the prefix, with more (and other) shards than the next one.
    cache = "s3://builds/cache-kill"  # the cache in the store too
    ok(recipe(work, "run", "s3.recipe", "--cache", cache, "-q", "--output", "s3://builds/kill"))
    before = s3().find("builds/kill")  # type: ignore[attr-defined]
    (work / "s3.recipe").write_text((work / "s3.recipe").read_text().replace("shard 300KB", "shard 1MB"))
    ok(recipe(work, "run", "s3.recipe", "--cache", "cache", "-q"))
    local = digest_tree(work / "build" / "example")

    killed = killed_at_upload(3, work, "run", "s3.recipe", "--cache", cache, "-q", "--output", "s3://builds/kill")
    assert killed.returncode == -9, killed.stderr
    left = s3().find("builds/kill")  # type: ignore[attr-defined]
    assert "builds/kill/_PUBLISHING" in left and "builds/kill/manifest.json" not in left
    assert set(left) & set(before) - {"builds/kill/manifest.json"}  # a mix of the two builds' files
    for command in ("verify", "report"):
        result = recipe(work, command, "s3://builds/kill")
        assert result.returncode == 1 and "s3://builds/kill: no committed build" in result.stderr, result.stderr

    # The same command again: the stages are cached, the build is published whole, the old shards are gone.
    events = ok(recipe(work, "run", "s3.recipe", "--cache", cache, "--json", "--output", "s3://builds/kill"))
    assert '"stage":"mix","cached":true' in events.stdout.replace(" ", "")
    assert digest_tree(download("builds/kill", tmp_path / "published")) == local
    ok(recipe(work, "verify", "s3://builds/kill"))


def test_what_cannot_be_published_is_said_before_or_without_a_traceback(endpoint: str, tmp_path: Path) -> None:
    work = project(tmp_path)
    s3().pipe_file("builds/foreign/notes.txt", b"someone else's")  # type: ignore[attr-defined]
    result = recipe(work, "run", "s3.recipe", "--cache", "cache", "--output", "s3://builds/foreign")
    assert result.returncode == 1 and "s3://builds/foreign holds objects and is not a datarecipe build" in result.stderr
    assert s3().find("builds/foreign") == ["builds/foreign/notes.txt"]  # type: ignore[attr-defined]

    result = recipe(work, "run", "s3.recipe", "--cache", "cache", "--output", "s3://no-such-bucket/x")
    assert result.returncode == 1 and "cannot publish the build to s3://no-such-bucket/x" in result.stderr
    assert "Traceback" not in result.stderr

    (work / "bad.recipe").write_text((work / "s3.recipe").read_text().replace('"build/example"', '"https://x/y"'))
    result = recipe(work, "check", "bad.recipe")
    assert result.returncode == 2 and "cannot write a build to `https://`" in result.stderr and "^" in result.stderr
    result = recipe(work, "run", "s3.recipe", "--output", "ftp://x/y")
    assert result.returncode == 2 and "cannot write a build to `ftp://` (--output)" in result.stderr
    result = recipe(work, "run", "s3.recipe", "--output", "gs://bucket/y")  # gcsfs is not installed here
    assert result.returncode == 2 and "its fsspec package is not installed" in result.stderr
    result = recipe(work, "run", "s3.recipe", "--cache", "s3://builds/c", "--engine", "ray")
    assert result.returncode == 1 and "works with the local engine" in result.stderr
    result = recipe(work, "diff", "s3://builds/a", "s3://builds/b")
    assert result.returncode == 1 and "copy the build to a directory first" in result.stderr

    # An unreachable store, read: a clear error, no traceback.
    env = {**os.environ, "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "1"}
    result = subprocess.run([*recipe_command(), "verify", "s3://builds/a"], cwd=work, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 1 and "cannot read s3://builds/a" in result.stderr, result.stderr


def test_a_failed_build_leaves_the_published_one_and_a_console_folder_is_no_obstacle(endpoint: str,
                                                                                      tmp_path: Path) -> None:
    work = project(tmp_path)
    s3().pipe_file("builds/folder/", b"")  # type: ignore[attr-defined]  # what a console's "create folder" makes
    ok(recipe(work, "run", "s3.recipe", "--cache", "cache", "-q", "--output", "s3://builds/folder"))
    ok(recipe(work, "verify", "s3://builds/folder"))
    # The output stage fails (its staging directory cannot be made): the published build stays committed.
    shutil.rmtree(work / "cache" / "publish", ignore_errors=True)
    (work / "cache" / "publish").write_text("not a directory")
    failed = recipe(work, "run", "s3.recipe", "--cache", "cache", "-q", "--output", "s3://builds/folder")
    assert failed.returncode == 1 and "Traceback" not in failed.stderr, failed.stderr
    ok(recipe(work, "verify", "s3://builds/folder"))


def test_a_dvc_project_pushes_to_and_pulls_from_an_s3_remote(endpoint: str, tmp_path: Path) -> None:
    from test_dvc import env, example_project, sh

    proj = example_project(tmp_path)
    sh(proj, tmp_path, "dvc", "remote", "add", "-f", "-d", "store", "s3://builds/dvc-remote")
    sh(proj, tmp_path, "dvc", "remote", "modify", "store", "endpointurl", endpoint)
    sh(proj, tmp_path, "recipe", "run", "recipes/example.recipe", "--quiet")
    built = digest_tree(proj / "build" / "example")
    sh(proj, tmp_path, "git", "add", "-A")
    sh(proj, tmp_path, "git", "commit", "-q", "-m", "build")
    sh(proj, tmp_path, "dvc", "push", "-q")
    assert s3().find("builds/dvc-remote")  # type: ignore[attr-defined]

    clone = tmp_path / "clone"
    sh(tmp_path, tmp_path, "git", "clone", "-q", str(proj), str(clone))
    sh(clone, tmp_path, "dvc", "pull", "-q")
    assert digest_tree(clone / "build" / "example") == built
    sh(clone, tmp_path, "recipe", "verify", "build/example")
    # Under DVC a build is versioned in the project: an output in the store is refused, with the way out.
    text = (clone / "recipes" / "example.recipe").read_text()
    (clone / "recipes" / "store.recipe").write_text(text.replace('"build/example"', '"s3://builds/x"'))
    for args in (["recipes/store.recipe"], ["recipes/example.recipe", "--output", "s3://builds/x"]):
        result = subprocess.run([*recipe_command(), "run", *args], cwd=clone, env=env(tmp_path), capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 2 and "--no-dvc" in result.stderr, result.stderr
        assert ("this output is in an object store" if len(args) == 1 else "--output writes a build outside DVC's "
                "pipeline") in result.stderr
    shutil.rmtree(clone)


def test_a_cache_in_s3_outlives_the_machine(endpoint: str, tmp_path: Path) -> None:
    """`--cache s3://...`: the stages and the score cache in the store. A fresh machine (no local copy) fetches
    every stage the store has whole; a stage the store lacks runs, with the score parts fetched, nothing scored."""
    work = tmp_path / "work"
    (work / "recipes").mkdir(parents=True)
    (work / "data").symlink_to(ROOT / "data")
    shutil.copy(ROOT / "recipes" / "dsir.recipe", work / "recipes")
    ok(recipe(work, "run", "recipes/dsir.recipe", "--cache", "cache-local", "-q"))
    local = digest_tree(work / "build" / "dsir")
    command = ["run", "recipes/dsir.recipe", "--cache", "s3://builds/cache-dsir", "--output", "s3://builds/dsir",
               "--json"]
    ok(recipe(work, *command))
    assert digest_tree(download("builds/dsir", tmp_path / "first")) == local

    shutil.rmtree(work / ".datarecipe")  # a fresh machine: no local copy of the cache
    s3().rm("builds/cache-dsir/score_handbook", recursive=True)  # type: ignore[attr-defined]  # one stage lost
    events = json_events(ok(recipe(work, *command)).stdout)
    fetched = {e["stage"] for e in events if e["event"] == "stage_fetch"}
    ends = {e["stage"]: e for e in events if e["event"] == "stage_end"}
    assert fetched == set(ends) - {"score_handbook", "output"}, fetched
    assert {name: s["scored"] for name, s in ends["score_handbook"]["scores"].items()} == {"n_tokens": 0, "ref": 0}
    assert digest_tree(download("builds/dsir", tmp_path / "second")) == local
    assert s3().exists("builds/cache-dsir/score_handbook")  # type: ignore[attr-defined]  # uploaded again
