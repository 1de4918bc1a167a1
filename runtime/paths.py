"""Where a build may write: inside the project, which is the DVC project the working directory is in, else the
working directory itself. An output elsewhere (`..`, an absolute path, a symlink that leads out) is refused
unless the person running the build allows it (`--allow-outside`); the project itself, or a directory holding
it, never is an output. Also: where an input is (remote, or in the project), and where a model or tokenizer the
recipe names but the project lacks may come from."""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath

from datarecipe.compiler.language import ast
from datarecipe.compiler.language.errors import RecipeError
from datarecipe.compiler.language.parser import parse
from datarecipe.compiler.language.spec import CheckedRecipe


def project_root(cwd: Path | None = None) -> Path:
    """The project's directory, resolved: the DVC project `cwd` is in, else `cwd`."""
    return dvc_root(cwd) or (cwd or Path.cwd()).resolve()


def dvc_root(cwd: Path | None = None) -> Path | None:
    """The DVC project `cwd` (default: the working directory) is in: the nearest directory up from it holding
    `.dvc/`; None outside one."""
    here = (cwd or Path.cwd()).resolve()
    return next((d for d in (here, *here.parents) if (d / ".dvc").is_dir()), None)


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


def output_error(recipe: CheckedRecipe, allow_outside: bool = False, dvc: bool = False) -> RecipeError | None:
    """Before anything is written: an output outside the project is a recipe error at the `output` line, unless
    the person running the command allows it with `--allow-outside` (never under DVC, which versions only what
    is inside the project)."""
    if is_remote(recipe.output.path):
        problem = ("DVC versions a build inside the project, and this output is in an object store" if dvc
                   else store_missing(recipe.output.path))
    else:
        problem = output_problem(recipe.output.path, project_root(), allow_outside=allow_outside and not dvc)
    if problem is None:
        return None
    line = next((b.path for b in parse(recipe.text).blocks if isinstance(b, ast.Output)), None)
    span = line.span if line is not None and line.value == recipe.output.path else None  # else `--output`'s
    hint = 'write the build inside the project, e.g. `output "build/NAME"`'
    if "object store" in problem:
        hint = "build without DVC (`--no-dvc`), or build in the project and `dvc push` to a remote on the store"
    elif "package" in problem:
        hint = "install it (gcsfs for gs://, adlfs for az://), or write the build elsewhere"
    elif "outside" in problem:
        hint += ("; DVC versions only paths inside the project: build elsewhere with `--no-dvc --allow-outside`"
                 if allow_outside else "; or allow it for this build: `--allow-outside`")
    return RecipeError(span, problem, hint)


def store_missing(url: str) -> str | None:
    """What is missing to write to an object store's URL: its fsspec package (s3fs ships with datarecipe)."""
    import fsspec

    scheme = url.split("://")[0]
    try:
        fsspec.get_filesystem_class(scheme)
    except (ImportError, ValueError) as exc:
        return f"cannot write to `{scheme}://`: its fsspec package is not installed ({str(exc).splitlines()[0]})"
    return None


def is_remote(path: str) -> bool:
    """Whether a source's path is a URL to read over the network (`file://` and `local://` are local)."""
    return "://" in path and not path.startswith(("file://", "local://"))


def in_project(spec: str) -> bool:
    """Whether a model or tokenizer, as the recipe names it, is a path in the project, which DVC hashes; else
    (a hub id, `package:NAME`, a path elsewhere) the params carry its fingerprint."""
    if spec.startswith("package:") or not Path(spec).exists():
        return False
    return not os.path.relpath(Path(spec).resolve()).startswith("..")


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
