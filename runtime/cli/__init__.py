"""The `recipe` command: the argument parser, `main`, and what every command shares: loading a recipe and
rendering its errors (in one place, with their exit status). Each command is a module of this package (check,
compile, explain, run, stage, verify, diff, report, docs, operators) whose `run` composes the phases: load and
check the recipe, resolve its inputs, plan, execute, write, report."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Any, NoReturn

# Not `check` itself: importing the command module `check` sets this package's name `check` to it.
from datarecipe.compiler.language import checker
from datarecipe.compiler.language.errors import RecipeError, RecipeErrors, Span, render
from datarecipe.compiler.language.parser import parse
from datarecipe.compiler.language.spec import CheckedRecipe
from datarecipe.runtime import memory
from datarecipe.runtime.paths import is_remote, output_error
from datarecipe.runtime.plugins import debugging, load_plugins
from datarecipe.runtime.stages.mirror import local_cache
from rich.console import Console

EXIT_RECIPE, EXIT_BUILD, EXIT_INTERNAL = 2, 1, 70


class Failed(Exception):
    """Errors already rendered for the user; carries the exit status."""

    def __init__(self, status: int, errors: list[dict[str, Any]]):
        super().__init__(status)
        self.status = status
        self.errors = errors


def error_json(error: RecipeError, filename: str) -> dict[str, Any]:
    span = error.span
    return {"file": filename, "line": span.line if span else None, "col": span.col if span else None,
            "message": error.message, "hint": error.hint, "stage": error.stage, "input": error.input}


def fail(errors: list[RecipeError], path: str, text: str, err: Console, as_json: bool) -> NoReturn:
    """Print a recipe's errors against its text (with `--json`, the command prints them) and stop: exit 2."""
    if not as_json:
        for error in errors:
            err.print(render(error, path, text), markup=False, highlight=False, soft_wrap=True)
        if len(errors) > 1:
            err.print(f"{len(errors)} errors", markup=False, highlight=False)
    raise Failed(EXIT_RECIPE, [error_json(e, path) for e in errors])


@contextmanager
def recipe_errors(path: str, text: str, err: Console, as_json: bool) -> Iterator[None]:
    """RecipeErrors raised in the block are the recipe's: printed, and exit 2."""
    try:
        yield
    except RecipeErrors as exc:
        fail(exc.errors, path, text, err, as_json)


def load(path: str, err: Console, as_json: bool) -> CheckedRecipe:
    """Read, parse and check a recipe, with its plugins; on errors, print them all and raise Failed(2)."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        fail([RecipeError(None, f"cannot read the recipe: {exc.strerror or exc}")], path, "", err, as_json)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        col = len(raw[line_start:exc.start].decode("utf-8", "replace")) + 1
        error = RecipeError(Span(line, col, line, col + 1), "the recipe is not valid UTF-8",
                            "save the file as UTF-8 text")
        fail([error], path, raw.decode("utf-8", "replace"), err, as_json)
    try:
        tree = parse(text)
        load_plugins(tree, path)
        return checker.check(tree)
    except RecipeErrors as exc:
        fail(exc.errors, path, text, err, as_json)


def contain_output(recipe: CheckedRecipe, path: str, args: argparse.Namespace, err: Console,
                   dvc: bool = False) -> None:
    """Before anything is written: an output outside the project is a recipe error (runtime/paths.py)."""
    error = output_error(recipe, getattr(args, "allow_outside", False), dvc)
    if error is not None:
        fail([error], path, recipe.text, err, args.json)


def counted(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


# ---- arguments ---------------------------------------------------------------------------------------------


def _threads(value: str) -> int:
    if not value.isdigit():
        raise argparse.ArgumentTypeError("a number of threads, at least 1 (0: all cores)")
    return int(value)


def _partitions(value: str) -> int:
    if not value.isdigit():
        raise argparse.ArgumentTypeError("a number of parts, at least 1 (0: two per core of the cluster)")
    return int(value)


def _memory(value: str) -> str:
    try:
        memory.parse_size(value)
    except ValueError:
        raise argparse.ArgumentTypeError("a size with a unit, e.g. 4GB or 512MB") from None
    return value.strip()


def _setting(name: str, default: str, env: bool) -> str:
    """An option's default; for `recipe stage`, which `dvc repro` runs, the run's setting from the environment."""
    return os.environ.get(f"DATARECIPE_{name.upper()}", default) if env else default


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="recipe", description="Check, compile and build dataset recipes.")
    p.add_argument("--version", action="version", version=f"recipe (datarecipe) {version('datarecipe')}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def cache_option(sp: argparse.ArgumentParser, env: bool = False) -> None:
        """--cache and --device; with `env`, their defaults come from DATARECIPE_CACHE and DATARECIPE_DEVICE."""
        sp.add_argument("--cache", default=_setting("cache", ".datarecipe/cache", env), metavar="DIR|URL",
                        help="stage outputs by fingerprint, input file hashes, and the score cache "
                             "(default: .datarecipe/cache); `recipe run` also takes an object store's URL "
                             "(s3://BUCKET/PREFIX), kept in sync with a local copy (docs/scaling.md)")
        sp.add_argument("--device", default=_setting("device", "auto", env), metavar="DEVICE",
                        help="where model scorers run: auto (cuda when present, else cpu), cpu, cuda, cuda:N "
                             "(default: auto)")

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
        sp.add_argument("--json", action="store_true", help="machine-readable output on stdout")
        sp.add_argument("--debug", action="store_true",
                        help="print the traceback of an error a plugin raised, or of a bug (as DATARECIPE_DEBUG=1)")

    def outside_option(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--allow-outside", action="store_true",
                        help="accept an output outside the project (the DVC project, else the working directory); "
                             "not under DVC, which versions only what is inside it")

    c = sub.add_parser("check", help="check recipes and report every error (exit 2 on errors)")
    c.add_argument("files", nargs="+", metavar="FILE", help="the .recipe files")
    c.add_argument("--cache", default=".datarecipe/cache", metavar="DIR",
                   help="input file hashes, to tell whether a previous build's counts still hold (default: "
                        ".datarecipe/cache)")
    outside_option(c)
    common(c)
    def dvc_option(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--no-dvc", action="store_true",
                        help="in a DVC project, leave dvc.yaml alone and build directly (default: use DVC in the "
                             "root of a DVC project)")

    c = sub.add_parser("compile", help="write plan.json and one .sql file per SQL stage; in a DVC project, the "
                                       "recipe's stages in dvc.yaml and its params file")
    c.add_argument("file", metavar="FILE", help="the .recipe file")
    c.add_argument("-o", "--output", default="build/compiled", metavar="DIR",
                   help="where plan.json and the .sql files go (default: build/compiled)")
    c.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 when dvc.yaml or the params file differs from what the recipe "
                        "compiles to")
    cache_option(c)
    dvc_option(c)
    outside_option(c)
    common(c)
    def run_options(sp: argparse.ArgumentParser, env: bool) -> None:
        sp.add_argument("--threads", type=_threads, default=_setting("threads", "0", env), metavar="N",
                        help="DuckDB threads (default: all cores)")
        sp.add_argument("--memory", type=_memory, default=_setting("memory", "4GB", env), metavar="SIZE",
                        help="the whole process's memory budget, e.g. 4GB or 900MB: DuckDB, Arrow and Python "
                             "together; past their shares, DuckDB and the engine's sorts spill to the cache, and a "
                             "stage that goes past it stops with an error (default: 4GB; docs/scaling.md)")
        cache_option(sp, env)

    def engine_options(sp: argparse.ArgumentParser, env: bool) -> None:
        sp.add_argument("--strict", action="store_true", default=_setting("strict", "", env) not in ("", "0"),
                        help="fail (exit 1) when a source the mix names gets no documents, e.g. when `on_short: "
                             "renormalize` gave all its share to the others (default: a warning)")
        sp.add_argument("--engine", choices=("local", "ray"), default=_setting("engine", "local", env),
                        help="where the stages run: local (this process) or ray (a Ray cluster; docs/scaling.md); "
                             "the output is the same (default: local)")
        sp.add_argument("--address", default=_setting("address", "", env) or None, metavar="ADDRESS",
                        help="with --engine ray: the cluster, as HOST:PORT, `auto` (the one this machine belongs "
                             "to) or ray://HOST:PORT (Ray Client); default: RAY_ADDRESS, else a Ray instance "
                             "started for this run on this machine")
        sp.add_argument("--partitions", type=_partitions, default=_setting("partitions", "0", env),
                        metavar="N", help="with --engine ray: parts a split stage runs in (default: 0, two per "
                                          "core of the cluster); the output does not depend on it")

    def sample_size(value: str) -> int:
        if not value.isdigit() or int(value) < 1:
            raise argparse.ArgumentTypeError("a number of documents per source, at least 1")
        return int(value)

    c = sub.add_parser("explain", help="print the plan as a tree, with each stage's SQL; with --estimate, the "
                                       "size and time of a full run, estimated from a sample")
    c.add_argument("file", metavar="FILE", help="the .recipe file")
    c.add_argument("--estimate", action="store_true",
                   help="run the plan on a sample of each source, in a temporary directory (no stage output goes "
                        "to the cache, no output is written), and print each stage's documents, the output's size "
                        "and the time of a full run")
    c.add_argument("--sample", type=sample_size, default=None, metavar="N",
                   help="documents per source in the estimate's sample, chosen by a hash of each row (implies "
                        "--estimate; default: 1000)")
    run_options(c, env=False)  # --threads and --memory apply to --estimate
    outside_option(c)
    common(c)

    c = sub.add_parser("run", help="compile and build a recipe: with `dvc repro` in a DVC project, else directly")
    c.add_argument("file", metavar="FILE", help="the .recipe file")
    c.add_argument("--output", "-o", default=None, metavar="DIR|URL",
                   help="write the build here instead of the recipe's `output` path: a directory or an object "
                        "store prefix (s3://BUCKET/PREFIX); the build, manifest included, is the same bytes")
    run_options(c, env=False)
    engine_options(c, env=False)
    dvc_option(c)
    outside_option(c)
    common(c)
    c = sub.add_parser("stage", help="run one stage of a recipe's DVC pipeline (the command of its dvc.yaml "
                                     "stages; settings default to DATARECIPE_THREADS, _MEMORY, _CACHE, _DEVICE, "
                                     "_STRICT)")
    c.add_argument("file", metavar="FILE", help="the .recipe file")
    c.add_argument("name", metavar="STAGE", help="`compile`, or a stage of the plan (see `recipe explain`)")
    run_options(c, env=True)
    engine_options(c, env=True)
    common(c)
    c = sub.add_parser("verify", help="re-hash every file of a build against its manifest; exit 1 on any mismatch")
    c.add_argument("dir", metavar="DIR", help="a build's output directory")
    common(c)
    c = sub.add_parser("diff", help="what changed between two builds: recipe, documents by content hash, mixture, "
                                    "funnel and inputs (exit 0 whether or not they differ)")
    c.add_argument("a", metavar="BUILD_A", help="the first build's output directory")
    c.add_argument("b", metavar="BUILD_B", help="the second build's output directory")
    common(c)
    c = sub.add_parser("report", help="print what a build's manifest says: funnel, mixture, scores, shards")
    c.add_argument("dir", metavar="DIR", help="a build's output directory")
    common(c)
    c = sub.add_parser("docs", help="write the language reference generated from the operator library")
    c.add_argument("-o", "--output", default="docs/reference.md", metavar="FILE",
                   help="where to write it; - for standard output (default: docs/reference.md)")
    c.add_argument("--plugins", action="store_true",
                   help="add a section on the operators of the plugins installed here")
    common(c)
    c = sub.add_parser("operators", help="list every operator, built-in and from plugins, with its origin")
    c.add_argument("files", nargs="*", metavar="FILE",
                   help="recipes whose `plugins` modules to list too (installed plugins are always listed)")
    common(c)
    return p


def _fail_build(args: argparse.Namespace, err: Console, exc: RecipeError) -> int:
    label = getattr(args, "file", "recipe")
    if args.json:
        print(json.dumps({"event": "error", "errors": [error_json(exc, label)]}))
    else:
        source = ""
        if exc.span is not None and label != "recipe":
            try:
                source = Path(label).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                source = ""
        err.print(render(exc, label, source), markup=False, highlight=False, soft_wrap=True)
    return EXIT_BUILD


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if is_remote(getattr(args, "cache", "") or ""):  # a cache in an object store: its local copy is the cache here
        args.cache_store, args.cache = args.cache.rstrip("/"), local_cache(args.cache)
    if getattr(args, "debug", False):
        os.environ["DATARECIPE_DEBUG"] = "1"  # for `recipe stage`, which `dvc repro` runs, too
    # Piped output is for files and other programs: never fold or crop it.
    out = Console(highlight=False, width=None if sys.stdout.isatty() else 1000)
    err = Console(stderr=True, highlight=False)
    try:
        command = importlib.import_module(f"{__name__}.{args.command}")  # imports only what this command needs
        status: int = command.run(args, out, err)
        return status
    except Failed as exc:
        if args.json and args.command != "check":
            print(json.dumps({"event": "error", "errors": exc.errors}))
        return exc.status
    except RecipeError as exc:  # a build that stopped on bad input, or on a plugin that raised
        if debugging():
            traceback.print_exception(exc)
        return _fail_build(args, err, exc)
    except BrokenPipeError:  # `recipe run --json | head`: the reader has gone, nothing to report
        sys.stderr.close()
        return 0
    except OSError as exc:  # an output or cache path that cannot be written, and the like
        where = exc.filename or ""
        return _fail_build(args, err, RecipeError(None, f"{exc.strerror or exc}", "check the path and its permissions",
                                                  input=str(where)))
    except KeyboardInterrupt:
        if memory.STOPPED is not None:  # the memory watch's interrupt, come after the stage's own error
            return _fail_build(args, err, memory.STOPPED)
        err.print("interrupted; finished stages stay cached and the previous output is untouched")
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug in datarecipe, not a user mistake
        if type(exc).__name__ == "OutOfMemoryException":  # DuckDB's, raised before a stage began
            return _fail_build(args, err, RecipeError(None, f"DuckDB ran out of memory: {str(exc).splitlines()[0]}",
                                                      memory.HINT))
        if debugging():
            traceback.print_exc()
        if getattr(args, "json", False):
            print(json.dumps({"event": "internal_error", "error": f"{type(exc).__name__}: {exc}"}))
        err.print(f"internal error: {type(exc).__name__}: {exc}\n"
                  "this is a bug in datarecipe; rerun with --debug for the traceback",
                  markup=False, highlight=False)
        return EXIT_INTERNAL
