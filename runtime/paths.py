"""Where a build may write: inside the project, which is the DVC project the working directory is in, else the
working directory itself. An output elsewhere (`..`, an absolute path, a symlink that leads out) is refused
unless the person running the build allows it (`--allow-outside`); the project itself, or a directory holding
it, never is an output. Also: where a model or tokenizer the recipe names but the project lacks may come from."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath


def project_root(cwd: Path | None = None) -> Path:
    """The project's directory, resolved: the nearest directory up from `cwd` holding `.dvc/` (as runtime/dvc.py's
    `project_root` finds it, without importing DVC's glue into `recipe check`), else `cwd`."""
    here = (cwd or Path.cwd()).resolve()
    return next((d for d in (here, *here.parents) if (d / ".dvc").is_dir()), here)


def output_problem(output: str, root: Path, cwd: Path | None = None, allow_outside: bool = False) -> str | None:
    """What is wrong with writing a build at `output` (relative to `cwd`) in the project at `root`, or None.
    Symlinks are followed, so a link inside the project that leads out of it counts as outside."""
    target = ((cwd or Path.cwd()) / output).resolve()
    root = root.resolve()
    if target == root or target in root.parents:
        where = "is the project directory" if target == root else "holds the project directory"
        return f"the output {target} {where}: a build would replace it"
    if not allow_outside and not target.is_relative_to(root):
        return f"the output {target} is outside the project {root}"
    return None


def local_only(path: str) -> bool:
    """Whether a model or tokenizer path the recipe names can only be a local path, not a hub id (`name` or
    `org/name`): it starts with `.`, `/` or `~`, names a `.json` file, has more than one `/`, or its first
    directory exists here."""
    parts = PurePosixPath(path).parts
    return (path.startswith((".", "/", "~")) or path.endswith(".json") or "\\" in path or len(parts) > 2
            or len(parts) == 2 and Path(parts[0]).is_dir())


def make_target(path: str, root: Path | None = None) -> str:
    """The target of the project's Makefile that makes a missing input `path`, or "" when there is none: a Makefile
    that names the path, with a target named after the path's top directory (`make models`) or after the path."""
    try:
        makefile = ((root or project_root()) / "Makefile").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    parts = PurePosixPath(path).parts
    for target in (parts[0], path) if parts and path in makefile else ():
        if re.search(rf"^{re.escape(target)}[ \t]*:(?!=)", makefile, re.M):  # a rule, not `NAME := value`
            return target
    return ""
