"""A cache in an object store (`--cache s3://bucket/cache`): the local engine works in a local copy of it
(`.datarecipe/mirror/DIGEST/`, `local_cache`), and the store is the cache that outlives the machine.

- A stage the local copy lacks is fetched from the store when the store has it whole (its `_SUCCESS`, holding the
  fingerprint, is uploaded last), as another way of building it: inside the stage's lock, into its temporary
  directory, renamed into place (runtime/stages/atomic.py).
- A stage built here is uploaded once it is whole, file by file, `_SUCCESS` last: a stage in the store without it
  is not there, and the next build uploads it again.
- The score cache's parts (content-addressed, written once) are fetched before a stage that reads scores, and
  those the store lacks uploaded after each stage.

So a build on a fresh machine with the same `--cache` URL runs only what no build finished, and a build killed
anywhere resumes from what it had uploaded.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datarecipe.compiler.plan import Stage
from datarecipe.runtime.stages.atomic import object_store, published_files, store_errors

if TYPE_CHECKING:
    from datarecipe.runtime.stages.context import StageContext

SUCCESS = "_SUCCESS"
SCORES = "scores"


def local_cache(url: str) -> str:
    """The local copy of a cache in an object store, in the project's `.datarecipe/`."""
    return f".datarecipe/mirror/{hashlib.sha256(url.rstrip('/').encode()).hexdigest()[:16]}"


def fetched_or_run(ctx: StageContext, store: str, stage: Stage, run: Callable[[Path], dict[str, Any]],
                   tmp: Path) -> dict[str, Any]:
    """The stage's output in `tmp`: downloaded from the store when it has it whole, else `run(tmp)`, after the
    score parts the store has and the local copy lacks are fetched."""
    with store_errors(store, "read the cache at"):
        fs, root = object_store(store)
        where = f"{root}/{stage.name}/{stage.fingerprint}"
        done = fs.exists(f"{where}/{SUCCESS}") and fs.cat_file(f"{where}/{SUCCESS}").decode() == stage.fingerprint
        if done:
            for name in published_files(fs, where):
                if name != SUCCESS:
                    (tmp / name).parent.mkdir(parents=True, exist_ok=True)
                    fs.get_file(f"{where}/{name}", str(tmp / name))
            ctx.reporter.emit("stage_fetch", stage=stage.name, cache=store)
            stats: dict[str, Any] = json.loads((tmp / "stats.json").read_text())
            return stats
        if stage.kind in ("score", "fit"):
            _copy_missing(fs, f"{root}/{SCORES}", ctx.cache_dir / SCORES, down=True)
    return run(tmp)


def push(ctx: StageContext, store: str, stage: Stage, done: Path) -> None:
    """Upload a finished stage the store lacks (`_SUCCESS` last), and the score parts it lacks."""
    with store_errors(store, "write the cache at"):
        fs, root = object_store(store)
        where = f"{root}/{stage.name}/{stage.fingerprint}"
        if not fs.exists(f"{where}/{SUCCESS}"):
            files = sorted(p.relative_to(done).as_posix() for p in done.rglob("*") if p.is_file())
            for name in [n for n in files if n != SUCCESS] + [SUCCESS]:
                fs.put_file(str(done / name), f"{where}/{name}")
        if (ctx.cache_dir / SCORES).is_dir():
            _copy_missing(fs, f"{root}/{SCORES}", ctx.cache_dir / SCORES, down=False)


def _copy_missing(fs: Any, remote: str, local: Path, down: bool) -> None:
    """The score parts one side has and the other lacks, copied (a part is written once: written, not changed)."""
    there = {name for name in published_files(fs, remote) if Path(name).name.startswith("part-")}
    here = {p.relative_to(local).as_posix() for p in local.rglob("part-*.parquet")} if local.is_dir() else set()
    for name in sorted(there - here if down else here - there):
        if down:
            (local / name).parent.mkdir(parents=True, exist_ok=True)
            partial = local / f"{name}.fetch"
            fs.get_file(f"{remote}/{name}", str(partial))
            partial.rename(local / name)
        else:
            fs.put_file(str(local / name), f"{remote}/{name}")
