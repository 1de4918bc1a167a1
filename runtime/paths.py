"""Where a build may write: inside the project, which is the DVC project the working directory is in, else the
working directory itself. An output elsewhere (`..`, an absolute path, a symlink that leads out) is refused
unless the person running the build allows it (`--allow-outside`); the project itself, or a directory holding
it, never is an output."""

from __future__ import annotations

from pathlib import Path


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
