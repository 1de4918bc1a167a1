"""Locks between processes, with `flock`: the kernel releases them when their holder exits, however it
dies (SIGKILL included), so a killed build never leaves a lock behind that a person must delete.

- The build lock (one per output path): a second `recipe run` of the same output fails at once, naming
  the process that holds it.
- A stage lock (one per stage output in the cache): two builds that need the same stage (the same
  fingerprint, e.g. two recipes that share their sources and filters) build it once; the second waits.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from datarecipe.compiler.language.errors import RecipeError
from datarecipe.runtime.paths import is_remote


def _holder(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return {}


def _open(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)


def _try_lock(fd: int) -> bool:
    """Take the lock of an open lock file if no other process holds it."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def build_lock_path(output: str) -> Path:
    """The build lock's file: beside the output, so that every build of that path finds it, from any cache; for
    an object store's prefix, which holds no locks, in this machine's temporary directory (it guards the builds
    of this machine only: docs/scaling.md)."""
    if is_remote(output):
        digest = hashlib.sha256(output.rstrip("/").encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"datarecipe-locks-{os.getuid()}" / f"{digest}.lock"
    final = Path(output).absolute()
    return final.parent / f".{final.name}.lock"


@contextmanager
def build_lock(output: str, command: str) -> Iterator[None]:
    """Hold the lock of an output path while building it; a second holder is refused with a clear message."""
    path = build_lock_path(output)
    fd = _open(path)
    try:
        if not _try_lock(fd):
            who = _holder(path)
            since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(who["since"])) if "since" in who else "?"
            raise RecipeError(None, f"another build of {output} is running (pid {who.get('pid', '?')} on "
                                    f"{who.get('host', '?')}, since {since}: `{who.get('command', '?')}`)",
                              "wait for it to finish, or stop it; a stopped build resumes where it was",
                              stage="lock", input=str(path))
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": int(time.time()),
                                 "command": command}).encode())
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@contextmanager
def stage_lock(path: Path, on_wait: Any = None) -> Iterator[None]:
    """Hold a stage's lock while building it; wait (calling `on_wait` once) while another process holds it."""
    fd = _open(path)
    try:
        if not _try_lock(fd):
            if on_wait is not None:
                on_wait()
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def alive(pid: int) -> bool:
    """Whether a process of this pid exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
