"""Stage atomicity: a stage's output appears whole, under its fingerprint, or not at all.

A stage is built in a temporary directory beside its final one (`.tmp-STAGE-FINGERPRINT-PID`), which gets its
`stats.json` and a `_SUCCESS` marker holding the fingerprint, then is renamed into place; a stage lock makes two
builds that need the same stage build it once. What a killed run left behind is removed by the next. The output
of a build is replaced the same way (`.NAME.tmp-PID`, the previous one moved aside to `.NAME.old-PID`).

An object store has no rename: a build published to a URL (`s3://bucket/prefix`) is committed by its manifest,
written last (`publish_output`). Readers and `recipe verify` take a prefix without `manifest.json` for no build.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import fsspec
from datarecipe.compiler.language.errors import RecipeError
from datarecipe.compiler.plan import Stage
from datarecipe.runtime.lock import alive, stage_lock
from datarecipe.runtime.progress import Reporter

T = TypeVar("T")


def stage_dir(stage: Stage, cache_dir: Path, stage_root: Path | None) -> Path:
    """Where a stage's output is: one directory per fingerprint in the cache, or, under DVC (`stage_root`), one
    fixed directory per stage, which DVC versions."""
    if stage_root is not None:
        return stage_root / stage.name
    return cache_dir / stage.name / stage.fingerprint


def is_done(directory: Path, fingerprint: str) -> bool:
    """Whether a stage's output is there, complete, and of this fingerprint."""
    marker = directory / "_SUCCESS"
    return marker.exists() and marker.read_text() == fingerprint


def read_stats(directory: Path) -> dict[str, Any]:
    """A finished stage's counts, as it recorded them."""
    return dict(json.loads((directory / "stats.json").read_text()))


def build_stage(stage: Stage, done: Path, reporter: Reporter, run: Callable[[Path], dict[str, Any]],
                measured: Callable[[], dict[str, Any]] | None = None) -> tuple[dict[str, Any], bool]:
    """The stage's output in `done`: there already (another build may be making it: this waits for it), or
    `run(tmp)` writes it in a temporary directory that is renamed into place once whole. Returns its counts, and
    whether it was there. `measured()` is what the run used (peak memory, spill), reported with its end."""
    def waiting() -> None:  # another build that needs this very stage (same fingerprint) is building it
        reporter.emit("stage_wait", stage=stage.name, lock=str(done))
        if reporter.mode == "human":
            reporter.console.print(f"{stage.name}: another build is building this stage; waiting for it")

    with stage_lock(done.parent / f".{done.name}.lock", waiting):
        if is_done(done, stage.fingerprint):
            stats = read_stats(done)
            reporter.start(stage.name)
            reporter.finish(stage.name, cached=True, rows=stats.get("rows", 0))
            return stats, True
        prefix = f".tmp-{stage.name}-"
        tmp = done.parent / f"{prefix}{stage.fingerprint}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        adopt_finished_tasks(done.parent, f"{prefix}{stage.fingerprint}-", tmp)  # what a killed run finished
        remove_stale(done.parent, prefix, mine=f"{prefix}{stage.fingerprint}-", keep=tmp)  # and the rest it left
        tmp.mkdir(parents=True, exist_ok=True)
        reporter.start(stage.name)
        try:
            stats = run(tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        # What this run did (texts scored, model passes) is reported, not kept: a stage's output is the same
        # bytes however much of the score cache was warm.
        shutil.rmtree(tmp / WORK, ignore_errors=True)  # tasks' outputs a runner did not gather (a killed run's)
        kept = {k: v for k, v in stats.items() if k != "scores"}
        (tmp / "stats.json").write_text(json.dumps(kept, sort_keys=True, indent=1))
        (tmp / "_SUCCESS").write_text(stage.fingerprint)
        shutil.rmtree(done, ignore_errors=True)
        tmp.rename(done)
        reporter.finish(stage.name, **_summary(stats), **(measured() if measured else {}))
        return stats, False


def _summary(stats: dict[str, Any]) -> dict[str, Any]:
    """What the reporter is told of a finished stage: its rows, and what its scorers did."""
    out: dict[str, Any] = {"rows": stats.get("rows", 0)}
    if "scores" in stats:
        out["scores"] = stats["scores"]
    return out


# A stage's tasks' outputs (the Ray engine's, runtime/executors/cluster.py) are under `work/` of its temporary
# directory, each with a `.result` file once whole; the driver writes ASSEMBLING there before it moves or removes
# any of them.
WORK = "work"
ASSEMBLING = "ASSEMBLING"


def adopt_finished_tasks(parent: Path, mine: str, tmp: Path) -> None:
    """The tasks a killed build of this stage (same fingerprint) finished, kept for this run (the caller holds
    the stage's lock): its `work/` moved under `tmp`, unless the killed build had begun to gather it."""
    for path in sorted(parent.glob(f"{mine}*")) if parent.is_dir() else ():
        work = path / WORK
        if not tmp.exists() and work.is_dir() and not (work / ASSEMBLING).exists():
            tmp.mkdir(parents=True)
            work.rename(tmp / WORK)
        shutil.rmtree(path, ignore_errors=True)


def remove_stale(parent: Path, prefix: str, mine: str, keep: Path | None = None) -> None:
    """Remove the temporary directories of a killed run: those of this stage and fingerprint (the caller
    holds its lock, so no live process writes them) but `keep`, and those of other fingerprints whose process is
    gone."""
    if not parent.is_dir():
        return
    for path in parent.glob(f"{prefix}*"):
        pid = path.name.rsplit("-", 1)[-1]
        if path == keep:
            continue
        if path.name.startswith(mine) or pid.isdigit() and not alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def replace_output(final: Path, write: Callable[[Path], T]) -> T:
    """`write(tmp)` writes a build's output in a temporary directory beside `final`, which then replaces it (the
    caller holds the build lock). What a build killed while replacing its output left behind is undone first."""
    final.parent.mkdir(parents=True, exist_ok=True)
    _recover_output(final)
    tmp = final.parent / f".{final.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        result = write(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if final.exists():
        old = final.parent / f".{final.name}.old-{os.getpid()}"
        final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old)
    else:
        tmp.rename(final)
    return result


def _recover_output(final: Path) -> None:
    """Undo what a build killed while replacing its output left behind: the previous output, moved aside, goes
    back if the new one is not in place; temporary copies go."""
    for old in sorted(final.parent.glob(f".{final.name}.old-*")):
        if final.exists():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.rename(final)
    for tmp in final.parent.glob(f".{final.name}.tmp-*"):
        shutil.rmtree(tmp, ignore_errors=True)


# A prefix holding this object is being published: its previous build is uncommitted (no manifest) and its files
# may be a mix of the two builds. A build may replace a prefix that holds a manifest or this marker, and nothing else.
PUBLISHING = "_PUBLISHING"
COMMIT = ("manifest.json.sha256", "manifest.json")  # written last, in this order: the manifest is the commit point


def object_store(url: str) -> tuple[Any, str]:
    """The fsspec file system of a URL and the URL's path in it, without a trailing slash."""
    with store_errors(url, "reach"):
        fs, root = fsspec.core.url_to_fs(url)
    return fs, root.rstrip("/")


def published_files(fs: Any, root: str) -> list[str]:
    """The objects under a prefix, as paths relative to it, sorted (a console's empty "folder" objects left out)."""
    try:
        found = fs.find(root)
    except FileNotFoundError:
        return []
    return sorted(p[len(root) + 1:] for p in found if p.startswith(root + "/") and not p.endswith("/"))


def uncommit(url: str) -> None:
    """Before the first object of a new build is written under `url`: the marker, then the previous build's
    manifest removed (from here the prefix holds no build). A prefix that holds other objects is refused."""
    with store_errors(url):
        fs, root = object_store(url)
        before = published_files(fs, root)
        if before and COMMIT[1] not in before and PUBLISHING not in before:
            raise RecipeError(None, f"{url} holds objects and is not a datarecipe build",
                              "choose another output prefix, or remove the objects", stage="output", input=url)
        if PUBLISHING not in before:
            fs.pipe_file(f"{root}/{PUBLISHING}", b"")
        for name in reversed(COMMIT):
            if name in before:
                fs.rm_file(f"{root}/{name}")


def publish_output(url: str, staging: Path, write: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    """`write(staging)` writes a build in a local directory; its files are then uploaded under `url`, the objects
    of the previous build that are not in the new one removed, and the manifest uploaded last. The previous
    build's manifest is removed (`uncommit`) before the first object of the new one is written: here after
    `write`, so a build that fails leaves the previous one whole, unless `write` uploads some itself (the Ray
    engine's shard tasks do, after `uncommit`). So no reader ever sees a manifest with another build's files. A
    build killed midway leaves `_PUBLISHING` and no manifest; the next run replaces it."""
    remove_stale(staging.parent, "", mine=staging.name, keep=staging)  # a killed publish's local copy
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        manifest = write(staging)
        uncommit(url)
        with store_errors(url):
            fs, root = object_store(url)
            before = published_files(fs, root)
            local = sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file())
            for name in local:
                if name not in COMMIT:
                    fs.put_file(str(staging / name), f"{root}/{name}")
            keep = {*local, *(s["path"] for s in manifest["shards"])}
            stale = [f"{root}/{name}" for name in before if name not in keep and name != PUBLISHING]
            if stale:
                fs.rm(stale)
            for name in COMMIT:
                fs.put_file(str(staging / name), f"{root}/{name}")
            fs.rm_file(f"{root}/{PUBLISHING}")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


@contextmanager
def store_errors(url: str, action: str = "publish the build to") -> Iterator[None]:
    """An object store's failure (no such bucket, no permission, the endpoint unreachable, its fsspec package
    missing) as an error naming the URL, not a traceback."""
    try:
        yield
    except RecipeError:
        raise
    except ImportError as exc:
        raise RecipeError(None, f"cannot {action} {url}: {exc}",
                          "install the store's fsspec package (gcsfs for gs://, adlfs for az://)", input=url) from None
    except Exception as exc:  # noqa: BLE001 - fsspec's stores raise their own kinds
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")
        raise RecipeError(None, f"cannot {action} {url}: {reason}",
                          "check the URL, that the bucket exists, the credentials (e.g. AWS_ACCESS_KEY_ID) and the "
                          "endpoint (AWS_ENDPOINT_URL)", input=url) from None
