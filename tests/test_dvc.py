"""Versioning with DVC: a recipe compiles into stages of the project's dvc.yaml, `recipe run` builds through
`dvc repro`, `dvc push` and `dvc pull` move the build between clones byte for byte, and `dvc repro` after an
edit re-runs the stages the edit reaches and no others. Real git, real DVC, a local-directory remote."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import digest_tree, manifest, ok, recipe, sha256_file

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def env(tmp: Path) -> dict[str, str]:
    """DVC and git kept inside the test's directory: no analytics, no site cache or config outside it."""
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1",
            "DVC_SITE_CACHE_DIR": str(tmp / "dvc-site"), "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
            "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org", "GIT_CONFIG_GLOBAL": os.devnull,
            "HOME": str(tmp), "COLUMNS": "200"}


def sh(cwd: Path, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(BIN / args[0]) if (BIN / args[0]).exists() else args[0], *args[1:]]
    return ok(subprocess.run(command, cwd=cwd, env=env(tmp), capture_output=True, text=True, timeout=600))


def repro(cwd: Path, tmp: Path) -> set[str]:
    """`dvc repro`, and the stages it ran."""
    result = sh(cwd, tmp, "dvc", "repro")
    return set(re.findall(r"Running stage '([^']+)'", result.stdout))


def shard_hashes(out: Path) -> dict[str, str]:
    return {s["path"]: s["sha256"] for s in manifest(out)["shards"]}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return example_project(tmp_path)


def example_project(tmp_path: Path) -> Path:
    """A git + DVC project with the sample data, the example recipe and a local-directory remote."""
    proj = tmp_path / "proj"
    (proj / "recipes").mkdir(parents=True)
    shutil.copytree(ROOT / "data" / "sample", proj / "data" / "sample")
    shutil.copy(ROOT / "recipes" / "example.recipe", proj / "recipes")
    sh(proj, tmp_path, "git", "init", "-q", "-b", "main")
    sh(proj, tmp_path, "dvc", "init", "-q")
    sh(proj, tmp_path, "dvc", "config", "core.analytics", "false")
    sh(proj, tmp_path, "dvc", "remote", "add", "-d", "store", str(tmp_path / "remote"))
    return proj


def test_run_push_pull_and_repro_only_what_an_edit_reaches(project: Path, tmp_path: Path) -> None:
    sh(project, tmp_path, "recipe", "run", "recipes/example.recipe", "--quiet")
    stages = yaml.safe_load((project / "dvc.yaml").read_text())["stages"]
    assert list(stages) == ["example-compile", "example-ingest_pydocs", "example-filter_pydocs",
                            "example-ingest_handbook", "example-filter_handbook", "example-ingest_code",
                            "example-filter_code", "example-mix", "example-order", "example-output"]
    assert stages["example-mix"]["cmd"] == "recipe stage recipes/example.recipe mix"
    assert stages["example-ingest_handbook"]["deps"] == ["data/sample/handbook"]
    assert stages["example-output"]["outs"] == [{"build/example": {"persist": True}}]
    assert "Data and pipelines are up to date" in sh(project, tmp_path, "dvc", "status").stdout
    built = shard_hashes(project / "build" / "example")
    assert len(built) >= 2
    sh(project, tmp_path, "recipe", "verify", "build/example")
    # Again: DVC skips every stage, and the command says so rather than "built".
    again = sh(project, tmp_path, "recipe", "run", "recipes/example.recipe").stdout
    assert "build/example is up to date, nothing rebuilt (" in again and not re.search(r"^built ", again, re.M)

    # The same recipe built directly gives the same bytes, so the artifact and dvc.lock agree either way.
    shutil.rmtree(project / "build" / "example")
    sh(project, tmp_path, "recipe", "run", "recipes/example.recipe", "--no-dvc", "--quiet")
    assert shard_hashes(project / "build" / "example") == built
    assert "Data and pipelines are up to date" in sh(project, tmp_path, "dvc", "status").stdout

    sh(project, tmp_path, "git", "add", "-A")
    sh(project, tmp_path, "git", "commit", "-q", "-m", "build the example")
    sh(project, tmp_path, "dvc", "push", "-q")

    clone = tmp_path / "clone"
    sh(tmp_path, tmp_path, "git", "clone", "-q", str(project), str(clone))
    assert not (clone / "build" / "example").exists()
    sh(clone, tmp_path, "dvc", "pull", "-q")
    assert digest_tree(clone / "build" / "example") == digest_tree(project / "build" / "example")
    assert {p: h for p, h in digest_tree(clone / "build" / "example").items() if p.startswith("data/")} == built
    sh(clone, tmp_path, "recipe", "verify", "build/example")
    assert "Data and pipelines are up to date" in sh(clone, tmp_path, "dvc", "status").stdout

    # One mixture weight: the compile stage rewrites the params, and only the mix and what follows it re-run.
    path = clone / "recipes" / "example.recipe"
    text = path.read_text()
    path.write_text(text.replace("pydocs   50%", "pydocs   55%").replace("handbook 35%", "handbook 30%"))
    assert repro(clone, tmp_path) == {"example-compile", "example-mix", "example-order", "example-output"}
    assert shard_hashes(clone / "build" / "example") != built
    assert "Data and pipelines are up to date" in sh(clone, tmp_path, "dvc", "status").stdout

    # A filter rule: that source's filter, then the mix onward.
    text = path.read_text()
    path.write_text(text.replace("keep lines() between 10 and 2_000", "keep lines() between 12 and 2_000"))
    assert repro(clone, tmp_path) == {"example-compile", "example-filter_code", "example-mix", "example-order",
                                      "example-output"}

    # A source file: DVC sees it changed; the recipe did not, so the compile stage does not run.
    go = sorted((clone / "data" / "sample" / "code").glob("*.go"))[0]
    go.write_text(go.read_text() + "\n// one more line\n")
    assert repro(clone, tmp_path) == {"example-ingest_code", "example-filter_code", "example-mix",
                                      "example-order", "example-output"}
    assert repro(clone, tmp_path) == set()  # nothing left to do
    # A comment: the params are the same; the manifest records the recipe's hash, the shards stay the same.
    before = shard_hashes(clone / "build" / "example")
    path.write_text("# a comment\n" + path.read_text())
    assert repro(clone, tmp_path) == {"example-compile", "example-output"}
    assert shard_hashes(clone / "build" / "example") == before
    sh(clone, tmp_path, "recipe", "verify", "build/example")


def test_recipe_run_writes_the_lock_dvc_repro_writes_and_reports_a_stage_error_once(project: Path,
                                                                                   tmp_path: Path) -> None:
    """`recipe run` runs the recipe's stages in its own process, and DVC records them: dvc.lock is byte for byte
    what a plain `dvc repro` writes, built cold and after a weight change, and a stage that fails is reported
    once, as the stage's error (not as a `dvc repro` process that exited 1)."""
    plain = tmp_path / "plain"
    shutil.copytree(project, plain)
    sh(project, tmp_path, "recipe", "run", "recipes/example.recipe", "--quiet")
    sh(plain, tmp_path, "recipe", "compile", "recipes/example.recipe", "--quiet")
    sh(plain, tmp_path, "dvc", "repro", "--quiet", "example-output")
    assert (project / "dvc.lock").read_bytes() == (plain / "dvc.lock").read_bytes()
    for path in (project / "recipes" / "example.recipe", plain / "recipes" / "example.recipe"):
        text = path.read_text().replace("pydocs   50%", "pydocs   55%")
        path.write_text(text.replace("handbook 35%", "handbook 30%"))
    sh(project, tmp_path, "recipe", "run", "recipes/example.recipe", "--quiet")
    assert repro(plain, tmp_path) == {"example-compile", "example-mix", "example-order", "example-output"}
    assert (project / "dvc.lock").read_bytes() == (plain / "dvc.lock").read_bytes()
    assert "Data and pipelines are up to date" in sh(project, tmp_path, "dvc", "status").stdout

    broken = project / "data" / "sample" / "bad.jsonl"
    broken.write_text('{"id": "a", "text": "fine"}\n{"id": "b", "text": \n')
    path = project / "recipes" / "example.recipe"
    path.write_text(path.read_text().replace('jsonl("data/sample/pydocs.jsonl.gz"', 'jsonl("data/sample/bad.jsonl"'))
    result = subprocess.run([str(BIN / "recipe"), "run", "recipes/example.recipe"], cwd=project, env=env(tmp_path),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 1
    assert "bad.jsonl:2: not valid JSON" in result.stderr and "ingest_pydocs" in result.stderr
    assert "dvc repro" not in result.stderr and "failed to reproduce" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_a_new_dvc_project_is_clean_in_git_after_a_build(project: Path, tmp_path: Path) -> None:
    """docs/versioning.md's set-up: after a build, committing what it says leaves nothing untracked (the stage
    outputs, caches and lock files are git-ignored), and so does the next build, through DVC or not."""
    sh(project, tmp_path, "git", "commit", "-q", "-m", "dvc init")
    sh(project, tmp_path, "recipe", "run", "recipes/example.recipe", "--quiet")
    sh(project, tmp_path, "git", "add", "data/")  # the sources: in git here (or `dvc add`)
    sh(project, tmp_path, "git", "add", "dvc.yaml", "dvc.lock", "recipes/", "build/.gitignore", ".dvc/config")  # docs
    sh(project, tmp_path, "git", "commit", "-q", "-m", "example: first build")
    assert sh(project, tmp_path, "git", "status", "--porcelain", "--untracked-files=all").stdout == ""
    sh(project, tmp_path, "recipe", "run", "recipes/example.recipe", "--no-dvc", "--quiet")
    assert sh(project, tmp_path, "git", "status", "--porcelain", "--untracked-files=all").stdout == ""
    assert "Data and pipelines are up to date" in sh(project, tmp_path, "dvc", "status").stdout


def test_a_clone_of_this_repository_reproduces_with_dvc_alone(tmp_path: Path) -> None:
    """This repository's own pipeline, from a clone: `dvc repro` makes every input a recipe reads (the model
    recipes/scored.recipe embeds with comes from a stage of dvc.yaml), with nothing run before it."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split("\0")
    clone = tmp_path / "clone"
    for name in filter(None, files):  # HEAD and this working tree's changes, as a commit would hold them
        if (ROOT / name).is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, clone / name)
    assert not (clone / "models").exists()
    sh(clone, tmp_path, "git", "init", "-q", "-b", "main")
    sh(clone, tmp_path, "git", "add", "-A")
    sh(clone, tmp_path, "git", "commit", "-q", "-m", "clone")
    # The stage that failed on a fresh clone: it plans the recipe, which reads the model (the score stages, which
    # embed with it, take minutes on a CPU).
    result = sh(clone, tmp_path, "dvc", "repro", "scored-ingest_pydocs")
    assert {"model-all-MiniLM-L6-v2", "scored-ingest_pydocs"} <= set(re.findall(r"Running stage '([^']+)'",
                                                                               result.stdout))
    assert (clone / "models" / "all-MiniLM-L6-v2" / "config.json").is_file()
    assert "Data and pipelines are up to date" in sh(clone, tmp_path, "dvc", "status", "scored-ingest_pydocs").stdout


def test_compile_keeps_hand_written_stages_and_reports_drift(project: Path, tmp_path: Path) -> None:
    (project / "dvc.yaml").write_text("# our own stages\nstages:\n  prepare:  # downloads nothing\n"
                                      "    cmd: echo hi\n")
    ok(recipe(project, "compile", "recipes/example.recipe", "--quiet"))
    text = (project / "dvc.yaml").read_text()
    assert text.startswith("# our own stages\nstages:\n  prepare:  # downloads nothing\n    cmd: echo hi\n")
    assert list(yaml.safe_load(text)["stages"])[:2] == ["prepare", "example-compile"]
    assert ok(recipe(project, "compile", "recipes/example.recipe", "--check")).stdout.strip().endswith("in sync")
    ok(recipe(project, "compile", "recipes/example.recipe", "--quiet"))
    assert (project / "dvc.yaml").read_text() == text  # compiling again changes nothing

    # The recipe gains a mix option that changes the params only: --check sees the params file drift.
    path = project / "recipes" / "example.recipe"
    path.write_text(path.read_text().replace("pydocs   50%", "pydocs   55%").replace("handbook 35%", "handbook 30%"))
    drift = recipe(project, "compile", "recipes/example.recipe", "--check")
    assert drift.returncode == 1 and "example.params.yaml is not what the recipe compiles to" in drift.stdout
    # A stage the recipe no longer has, and one it gained: the compile stage refuses to run on a stale dvc.yaml.
    path.write_text(path.read_text().replace("  dedup exact\n}\n\nfilter code", "  dedup exact\n}\n\n"
                                                                              "score code { n = expr(lines()) }"
                                                                              "\n\nfilter code"))
    drift = recipe(project, "compile", "recipes/example.recipe", "--check")
    assert drift.returncode == 1 and "dvc.yaml lacks stage `example-score_code`" in drift.stdout
    stale = recipe(project, "stage", "recipes/example.recipe", "compile")
    assert stale.returncode == 1 and "dvc.yaml is out of date with recipes/example.recipe" in stale.stderr
    assert "run `recipe compile recipes/example.recipe`" in stale.stderr and "Traceback" not in stale.stderr

    (project / "dvc.yaml").write_text("stages:\n  example-mix:\n    cmd: echo mine\n")
    clash = recipe(project, "compile", "recipes/example.recipe")
    assert clash.returncode == 1 and "already has a stage `example-mix` that `recipe compile` did not write" \
        in clash.stderr


def test_a_stage_refuses_params_that_do_not_match_the_recipe(project: Path, tmp_path: Path) -> None:
    ok(recipe(project, "compile", "recipes/example.recipe", "--quiet"))
    path = project / "recipes" / "example.recipe"
    path.write_text(path.read_text().replace("pydocs   50%", "pydocs   55%").replace("handbook 35%", "handbook 30%"))
    result = recipe(project, "stage", "recipes/example.recipe", "mix")
    assert result.returncode == 1 and "example.params.yaml is out of date for stage `mix`" in result.stderr
    result = recipe(project, "stage", "recipes/example.recipe", "ingest_nothing")
    assert result.returncode == 1 and "has no stage `ingest_nothing`" in result.stderr
    ok(recipe(project, "stage", "recipes/example.recipe", "compile"))
    result = recipe(project, "stage", "recipes/example.recipe", "mix")  # its inputs have not run
    assert result.returncode == 1 and "an input of `mix`, has not run" in result.stderr


def test_verify_notices_an_edit_to_any_file_of_a_build(tmp_path: Path) -> None:
    (tmp_path / "data").symlink_to(ROOT / "data")
    shutil.copy(ROOT / "recipes" / "example.recipe", tmp_path)
    ok(recipe(tmp_path, "run", "example.recipe", "--quiet", "--cache", "cache"))
    built = tmp_path / "build" / "example"
    assert ok(recipe(tmp_path, "verify", str(built), "--json")).stdout.strip().endswith('"problems": []}')
    files = sorted(digest_tree(built))
    assert {"recipe.recipe", "README.md", "funnel.png", "mixture.json", "manifest.json", "manifest.json.sha256",
            "ledger.parquet", "quarantine.parquet"} <= set(files) and sum(f.startswith("data/") for f in files) >= 2

    # One byte of every file but the manifest and its checksum changed, one shard gone, one file more.
    edited = tmp_path / "edited"
    shutil.copytree(built, edited)
    changed = [f for f in files if not f.startswith("manifest.json")]
    for name in changed[1:]:
        data = bytearray((edited / name).read_bytes())
        data[len(data) // 2] ^= 1
        (edited / name).write_bytes(bytes(data))
    (edited / changed[0]).unlink()
    (edited / "data" / "train-00099-of-00099.parquet").write_bytes(b"stray")
    result = recipe(tmp_path, "verify", str(edited))
    assert result.returncode == 1
    assert f"{changed[0]}: missing" in result.stdout
    for name in changed[1:]:
        assert f"{name}: sha256 differs from the manifest's" in result.stdout
    assert "data/train-00099-of-00099.parquet: not in the manifest" in result.stdout

    # A manifest edited to agree with an edited shard: its checksum file tells.
    shard = manifest(built)["shards"][0]
    tampered = tmp_path / "tampered"
    shutil.copytree(built, tampered)
    (tampered / shard["path"]).write_bytes(b"other rows")
    text = (tampered / "manifest.json").read_text()
    (tampered / "manifest.json").write_text(text.replace(shard["sha256"], sha256_file(tampered / shard["path"]))
                                            .replace(f'"bytes": {shard["bytes"]},', '"bytes": 10,'))
    result = recipe(tmp_path, "verify", str(tampered))
    assert result.returncode == 1 and result.stdout.count("problem") == 1
    assert "manifest.json: sha256 differs from the checksum file's" in result.stdout
    (tampered / "manifest.json.sha256").unlink()
    assert "manifest.json.sha256: missing" in recipe(tmp_path, "verify", str(tampered)).stdout

    # A manifest edited into another shape is a problem to report, not a crash.
    broken = tmp_path / "broken"
    shutil.copytree(built, broken)
    shape = manifest(built)
    del shape["ledger"]
    (broken / "manifest.json").write_text(json.dumps(shape))
    result = recipe(tmp_path, "verify", str(broken))
    assert result.returncode == 1 and "manifest.json: malformed (KeyError: 'ledger')" in result.stdout
    assert "internal error" not in result.stderr

    # A build from before whole-build checksums (no `files`, no checksum file): what it lists is checked, and said.
    older = tmp_path / "older"
    shutil.copytree(built, older)
    shape = manifest(built)
    del shape["files"]
    (older / "manifest.json").write_text(json.dumps(shape))
    (older / "manifest.json.sha256").unlink()
    result = ok(recipe(tmp_path, "verify", str(older)))
    assert "built before whole-build checksums" in result.stdout and "every file matches" in result.stdout
    (older / shard["path"]).write_bytes(b"other rows")
    assert recipe(tmp_path, "verify", str(older)).returncode == 1

    missing = recipe(tmp_path, "verify", str(tmp_path))
    assert missing.returncode == 1 and "is not a datarecipe build: it has no manifest.json" in missing.stderr
    missing = recipe(tmp_path, "verify", "build/nothing")
    assert missing.returncode == 1 and "build/nothing: no such directory" in missing.stderr


@pytest.mark.parametrize("path", sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "recipes").glob("*.recipe")))
def test_the_repository_dvc_yaml_is_what_the_recipes_compile_to(path: str, tmp_path: Path) -> None:
    result = recipe(ROOT, "compile", path, "--check", "--cache", str(tmp_path / "cache"))
    assert result.returncode == 0, result.stdout + result.stderr
