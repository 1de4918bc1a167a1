"""The `recipe` command: check, compile, explain and run recipes."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import traceback
from contextlib import ExitStack
from importlib.metadata import version
from pathlib import Path
from typing import Any

from datarecipe.compiler.language import ast
from datarecipe.compiler.language.checker import check
from datarecipe.compiler.language.errors import RecipeError, RecipeErrors, Span, render
from datarecipe.compiler.language.parser import parse
from datarecipe.compiler.language.spec import CheckedRecipe
from datarecipe.compiler.plan import InputFile, Plan, plan
from datarecipe.operators.reference import reference
from datarecipe.runtime.lock import build_lock
from rich.console import Console
from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table
from rich.tree import Tree

EXIT_RECIPE, EXIT_BUILD, EXIT_INTERNAL = 2, 1, 70


class Failed(Exception):
    """Errors already rendered for the user; carries the exit status."""

    def __init__(self, status: int, errors: list[dict[str, Any]]):
        super().__init__(status)
        self.status = status
        self.errors = errors


def _error_json(error: RecipeError, filename: str) -> dict[str, Any]:
    span = error.span
    return {"file": filename, "line": span.line if span else None, "col": span.col if span else None,
            "message": error.message, "hint": error.hint, "stage": error.stage, "input": error.input}


def load(path: str, err: Console, as_json: bool) -> CheckedRecipe:
    """Read, parse and check a recipe; on errors, print them all and raise Failed(2)."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        error = RecipeError(None, f"cannot read the recipe: {exc.strerror or exc}")
        _report([error], path, "", err, as_json)
        raise Failed(EXIT_RECIPE, [_error_json(error, path)]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        col = len(raw[line_start:exc.start].decode("utf-8", "replace")) + 1
        error = RecipeError(Span(line, col, line, col + 1), "the recipe is not valid UTF-8",
                            "save the file as UTF-8 text")
        text = raw.decode("utf-8", "replace")
        _report([error], path, text, err, as_json)
        raise Failed(EXIT_RECIPE, [_error_json(error, path)]) from None
    try:
        tree = parse(text)
        load_plugins(tree, path)
        return check(tree)
    except RecipeErrors as exc:
        _report(exc.errors, path, text, err, as_json)
        raise Failed(EXIT_RECIPE, [_error_json(e, path) for e in exc.errors]) from None


def load_plugins(tree: ast.Recipe | None, path: str) -> None:
    """Import the installed plugins, and the modules the recipe's header names, so that their operators are
    in the library the checker reads; raises RecipeErrors (located at the module's name, where it can be)."""
    from datarecipe.runtime import plugins

    try:
        plugins.load_entry_points()
    except RecipeError as exc:
        if debug():
            traceback.print_exception(exc)
        raise RecipeErrors([exc]) from None
    errors = plugins.load_modules(tree, Path(path).resolve().parent, debug()) if tree is not None else []
    if errors:
        raise RecipeErrors(errors)


def installed_plugins(err: Console, as_json: bool) -> None:
    """Import the installed plugins; a broken one is reported like a recipe error (exit 2)."""
    try:
        load_plugins(None, "recipe")
    except RecipeErrors as exc:
        _report(exc.errors, "recipe", "", err, as_json)
        raise Failed(EXIT_RECIPE, [_error_json(e, "recipe") for e in exc.errors]) from None


def debug() -> bool:
    """`--debug` (or DATARECIPE_DEBUG=1, which `recipe stage` inherits from `recipe run --debug`)."""
    return bool(os.environ.get("DATARECIPE_DEBUG"))


def _report(errors: list[RecipeError], path: str, text: str, err: Console, as_json: bool) -> None:
    if as_json:
        return
    for error in errors:
        err.print(render(error, path, text), markup=False, highlight=False, soft_wrap=True)
    if len(errors) > 1:
        err.print(f"{len(errors)} errors", markup=False, highlight=False)


def file_hashes(cache_dir: str) -> dict[str, str]:
    """The sha256 of local input files already hashed, by (path, size, mtime)."""
    try:
        known: dict[str, str] = json.loads((Path(cache_dir) / "file-hashes.json").read_text())
        return known
    except (OSError, ValueError):
        return {}


def save_hashes(cache_dir: str, known: dict[str, str]) -> None:
    hashes_file = Path(cache_dir) / "file-hashes.json"
    hashes_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = hashes_file.with_suffix(f".tmp-{os.getpid()}")
    tmp.write_text(json.dumps(known, sort_keys=True))
    tmp.replace(hashes_file)


def build_plan(recipe: CheckedRecipe, cache_dir: str, device: str = "auto") -> Plan:
    """Resolve the sources and models (the I/O the compiler does not do) and plan the recipe."""
    from datarecipe.runtime.stages.ingest import resolve, rule_files  # fsspec; `recipe check` does not need it

    known = file_hashes(cache_dir)
    before = len(known)
    files: dict[str, tuple[InputFile, ...]] = {s.name: resolve(s, known) for s in recipe.sources}
    files.update(rule_files(recipe, known))
    if recipe.tokenizer:
        from datarecipe.runtime import tokens  # the tokenizers library, without torch

        local = tokens.resolve_tokenizer(recipe.tokenizer)
        files["tokenizer"] = (InputFile(str(local), local.stat().st_size, tokens.tokenizer_fingerprint(local, known)),)
    precision = "float32"
    models = sorted({dict(s.args)["path"] for s in recipe.scores if s.kind == "model"})
    if models:
        from datarecipe.runtime import weights  # torch only where a GPU driver is: it reads the model's files

        for path in models:
            local = weights.resolve_model(path)
            size = sum(f.stat().st_size for f in local.rglob("*") if f.is_file())
            files[f"model:{path}"] = (InputFile(str(local), size, weights.model_fingerprint(local, known)),)
        precision = weights.precision(weights.pick_device(device))
    if len(known) != before:
        save_hashes(cache_dir, known)
    return plan(recipe, files, precision)


def dvc_project(args: argparse.Namespace) -> Path | None:
    """The DVC project a command works in: the working directory, when it is a DVC project's root and the
    command was not given `--no-dvc`."""
    from datarecipe.runtime import dvc

    if getattr(args, "no_dvc", False):
        return None
    root = dvc.project_root()
    if root is not None and root != Path.cwd().resolve():
        raise RecipeError(None, f"this is inside the DVC project {root}, whose dvc.yaml paths are relative to it",
                          f"run `recipe` from {root}, or build without DVC: `--no-dvc`")
    return root


def project_path(recipe_path: str, root: Path) -> str:
    """The recipe's path as dvc.yaml names it: relative to the project root, with forward slashes."""
    rel = os.path.relpath(Path(recipe_path).resolve(), root)
    if rel.startswith(".."):
        raise RecipeError(None, f"{recipe_path} is outside the DVC project {root}",
                          "keep recipes inside the project, e.g. in recipes/")
    return Path(rel).as_posix()


def contain_output(recipe: CheckedRecipe, path: str, args: argparse.Namespace, err: Console, dvc: bool = False) -> None:
    """Before anything is written: an output outside the project (runtime/paths.py) is a recipe error at the
    `output` line, unless the person running the command allows it with `--allow-outside` (never under DVC,
    which versions only what is inside the project)."""
    from datarecipe.runtime.paths import output_problem, project_root

    allow = getattr(args, "allow_outside", False) and not dvc
    problem = output_problem(recipe.output.path, project_root(), allow_outside=allow)
    if problem is None:
        return
    span = next((b.path.span for b in parse(recipe.text).blocks if isinstance(b, ast.Output)), None)
    hint = 'write the build inside the project, e.g. `output "build/NAME"`'
    if "outside" in problem:
        hint += ("; DVC versions only paths inside the project: build elsewhere with `--no-dvc --allow-outside`"
                 if getattr(args, "allow_outside", False) else "; or allow it for this build: `--allow-outside`")
    error = RecipeError(span, problem, hint)
    _report([error], path, recipe.text, err, args.json)
    raise Failed(EXIT_RECIPE, [_error_json(error, path)])


def light_plan(recipe: CheckedRecipe, cache_dir: str) -> Plan:
    """The plan as dvc.yaml and the params file need it (runtime/dvc.py), with the file-hash cache."""
    from datarecipe.runtime import dvc

    known = file_hashes(cache_dir)
    before = len(known)
    the_plan = dvc.light_plan(recipe, known)
    if len(known) != before:
        save_hashes(cache_dir, known)
    return the_plan


def compile_dvc(recipe: CheckedRecipe, recipe_path: str, root: Path, cache_dir: str) -> list[str]:
    """Write the recipe's stages into dvc.yaml and its params file; returns the files that changed."""
    from datarecipe.runtime import dvc

    dvc.keep_out_of_git(root, recipe.output.path)
    light = light_plan(recipe, cache_dir)
    changed = []
    text = dvc.updated_dvc_yaml(root / "dvc.yaml", recipe_path, dvc.dvc_stages(recipe_path, recipe, light))
    if dvc.write_if_changed(root / "dvc.yaml", text):
        changed.append("dvc.yaml")
    if dvc.write_if_changed(root / dvc.params_path(recipe_path), dvc.params_text(light)):
        changed.append(dvc.params_path(recipe_path).as_posix())
    return changed


# ---- subcommands -------------------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace, out: Console, err: Console) -> int:
    status = 0
    results = []
    for path in args.files:
        try:
            recipe = load(path, err, args.json)
            contain_output(recipe, path, args, err)
            inputs_found(recipe, path, err, args.json)
            known_budget(recipe, path, args.cache, err, args.json)
            results.append({"file": path, "ok": True, "errors": []})
            if not args.json and not args.quiet:
                out.print(f"{path}: ok ({_count(len(recipe.sources), 'source')})", highlight=False)
        except Failed as exc:
            status = exc.status
            results.append({"file": path, "ok": False, "errors": exc.errors})
    if args.json:
        print(json.dumps(results if len(results) > 1 else results[0], indent=1))
    return status


def inputs_found(recipe: CheckedRecipe, path: str, err: Console, as_json: bool) -> None:
    """What a build would stop on in the recipe's inputs, found without reading data (runtime/inputs.py): a
    missing file or model, an unknown label, `sql` that does not bind. Every such error at once."""
    from datarecipe.runtime.inputs import problems

    errors = problems(recipe)
    if errors:
        errors = RecipeErrors(errors).errors  # in the order of the text
        _report(errors, path, recipe.text, err, as_json)
        raise Failed(EXIT_RECIPE, [_error_json(e, path) for e in errors])


def known_budget(recipe: CheckedRecipe, path: str, cache: str, err: Console, as_json: bool) -> None:
    """Where the recipe's output holds a previous build whose sources are unchanged, check the mix against what
    they had then: a share they cannot fill is an error now, not after the scoring. Silent when nothing is known."""
    if recipe.mix is None or not (Path(recipe.output.path) / "manifest.json").is_file():
        return
    from datarecipe.runtime.stages.mix import Mixer

    try:
        previous = json.loads((Path(recipe.output.path) / "manifest.json").read_text())
        mixture = previous["mixture"]
        if mixture["unit"] != recipe.mix.unit:
            return
        the_plan = build_plan(recipe, cache)
    except (RecipeError, OSError, ValueError, KeyError, TypeError):
        return  # no usable previous build: `recipe run` checks the budget when it gets there
    stage = the_plan.stage("mix")
    supply = mixture.get("supply", {})
    feeds = {s: feed for s, feed in stage.params["feeds"].items() if s in stage.params["caps"]}
    if any(supply.get(s, {}).get("input") != the_plan.stage(feed).fingerprint for s, feed in feeds.items()):
        return
    found = Mixer(stage.name, stage.params).known_shortfalls(supply)
    if not found:
        return
    text = recipe.text
    spans = {}
    for block in parse(text).blocks:
        if isinstance(block, ast.Mix):
            spans = {e.source: e.span for e in block.entries} | {"": block.span}
    errors = [RecipeError(spans.get(source, spans.get("")), f"{message} ({recipe.output.path}/manifest.json)", hint)
              for source, message, hint in found]
    _report(errors, path, text, err, as_json)
    raise Failed(EXIT_RECIPE, [_error_json(e, path) for e in errors])


def cmd_compile(args: argparse.Namespace, out: Console, err: Console) -> int:
    recipe = load(args.file, err, args.json)
    root = dvc_project(args)
    contain_output(recipe, args.file, args, err, dvc=root is not None)
    if args.check:
        return check_dvc(recipe, args, root, out)
    the_plan = build_plan(recipe, args.cache, args.device)
    target = Path(args.output)
    target.mkdir(parents=True, exist_ok=True)
    (target / "plan.json").write_text(json.dumps(the_plan.to_json(), indent=1, sort_keys=True) + "\n")
    (target / "macros.sql").write_text(the_plan.macros)
    written = ["plan.json", "macros.sql"]
    for i, stage in enumerate(the_plan.stages):
        if stage.sql:
            name = f"{i:02d}_{stage.name}.sql"
            (target / name).write_text(f"-- fingerprint {stage.fingerprint}\n{stage.sql}")
            written.append(name)
    changed = compile_dvc(recipe, project_path(args.file, root), root, args.cache) if root is not None else []
    if args.json:
        print(json.dumps({"dir": str(target), "files": written, "dvc": changed if root is not None else None}))
    elif not args.quiet:
        out.print(f"wrote {len(written)} files to {target}", highlight=False)
        if root is not None:
            out.print(f"updated {' and '.join(changed)}" if changed else "dvc.yaml and the params are up to date",
                      highlight=False)
    return 0


def check_dvc(recipe: CheckedRecipe, args: argparse.Namespace, root: Path | None, out: Console) -> int:
    """`recipe compile --check`: exit 1 when dvc.yaml or the params file is not what the recipe compiles to."""
    from datarecipe.runtime import dvc

    if root is None:
        raise RecipeError(None, "`--check` compares dvc.yaml with the recipe, and this is not a DVC project",
                          "run it from the root of a DVC project (`dvc init` makes one)")
    rel = project_path(args.file, root)
    problems = dvc.drift(root, rel, recipe, light_plan(recipe, args.cache))
    if args.json:
        print(json.dumps({"file": args.file, "in_sync": not problems, "problems": problems}))
    elif problems:
        for problem in problems:
            out.print(f"{rel}: {problem}", highlight=False, markup=False)
        out.print(f"run `recipe compile {rel}` to update them", highlight=False, markup=False)
    elif not args.quiet:
        out.print(f"{rel}: dvc.yaml and {dvc.params_path(rel).as_posix()} are in sync", highlight=False)
    return 1 if problems else 0


def cmd_explain(args: argparse.Namespace, out: Console, err: Console) -> int:
    recipe = load(args.file, err, args.json)
    contain_output(recipe, args.file, args, err)
    started = time.perf_counter()
    the_plan = build_plan(recipe, args.cache, args.device)
    if args.estimate or args.sample is not None:
        from datarecipe.runtime.executors.sample import estimate, render

        result = estimate(recipe, the_plan, args.sample or 1000, plan_seconds=time.perf_counter() - started,
                          threads=args.threads, memory_limit=args.memory, device=args.device)
        if args.json:
            print(json.dumps(result, indent=1))
        else:
            out.print(render(result, recipe.name or args.file))
        return 0
    if args.json:
        print(json.dumps(the_plan.to_json(), indent=1, sort_keys=True))
        return 0
    tree = Tree(f"[bold]{recipe.name or args.file}[/] plan ({len(the_plan.stages)} stages)")
    for stage in the_plan.stages:
        inputs = f" <- {', '.join(stage.inputs)}" if stage.inputs else ""
        node = tree.add(f"[bold cyan]{stage.name}[/] [dim]{stage.kind} {stage.fingerprint}{inputs}[/]")
        if stage.kind == "ingest":
            files = stage.params["files"]
            node.add(f"{stage.params['format']} {stage.params['path']}: {len(files)} file(s), "
                     f"{sum(f['size'] for f in files):,} bytes")
        elif stage.kind == "write":
            node.add(f"{stage.params['format']} shards of at most {stage.params['shard_bytes']:,} bytes"
                     + (f", {stage.params['shard_rows']:,} rows" if stage.params["shard_rows"] else "")
                     + f" -> {stage.params['path']}")
        if stage.sql:
            node.add(Syntax(stage.sql.strip(), "sql", word_wrap=False, theme="ansi_dark"))
    out.print(tree, soft_wrap=True)  # never fold SQL: it must survive copy and paste
    return 0


def cmd_run(args: argparse.Namespace, out: Console, err: Console) -> int:
    started = time.perf_counter()
    recipe = load(args.file, err, args.json)
    mode = "json" if args.json else "quiet" if args.quiet else "human"
    root = dvc_project(args)
    contain_output(recipe, args.file, args, err, dvc=root is not None)
    rebuilt = True
    with build_lock(recipe.output.path, f"recipe run {args.file}"):
        if root is not None:
            before = _manifest_stamp(recipe.output.path)
            manifest = run_dvc(recipe, args, root, mode, err)
            rebuilt = before is None or _manifest_stamp(recipe.output.path) != before  # DVC may skip every stage
        else:
            the_plan = build_plan(recipe, args.cache, args.device)
            from datarecipe.runtime.progress import Reporter

            with Reporter(mode, err) as reporter:
                manifest = make_engine(args, the_plan, recipe, reporter, args.file).run()
    seconds = time.perf_counter() - started
    if mode == "human":
        out.print(funnel_table(manifest))
        t = manifest["totals"]
        built = f"{_count(t['docs'], 'doc')} in {_count(t['shards'], 'shard')}, {t['shard_bytes']:,} bytes"
        if rebuilt:
            out.print(f"built {built} -> {recipe.output.path} in {seconds:.1f}s", highlight=False)
        else:
            out.print(f"{recipe.output.path} is up to date, nothing rebuilt ({built}); checked in {seconds:.1f}s",
                      highlight=False)
        if manifest["quarantine"]["rows"]:
            out.print(f"quarantined {manifest['quarantine']['rows']:,} bad rows: "
                      f"{recipe.output.path}/quarantine.parquet", highlight=False)
    shortfalls(manifest, mode, err, args.strict)
    if mode == "json":
        print(json.dumps({"event": "done", "output": recipe.output.path, "seconds": round(seconds, 3),
                          "rebuilt": rebuilt, "totals": manifest["totals"], "funnel": manifest["funnel"],
                          "quarantine": manifest["quarantine"]}, separators=(",", ":")))
    return 0


def shortfalls(manifest: dict[str, Any], mode: str, err: Console, strict: bool) -> None:
    """Say which sources got less than the mix asked (`on_short: renormalize`) or nothing: a `warning` event each in
    JSON; in the terminal a warning, and one no `--quiet` hides for a source that got no documents. With `--strict`,
    such a source is an error: the engine stops before writing, and this says it of a build DVC had nothing to re-run
    for."""
    from datarecipe.runtime.stages.mix import empty_error, shortfall_words

    short = manifest["mixture"].get("short", [])
    empty = [s["source"] for s in short if not s["docs"]]
    if strict and empty:
        raise empty_error(empty)
    for entry in short:
        words = shortfall_words(entry, manifest["mixture"])
        if mode == "json":
            print(json.dumps({"event": "warning", "kind": "short_source", **entry, "message": words}))
        elif mode == "human" or not entry["docs"]:
            err.print(f"warning: {words}", style="bold red" if not entry["docs"] else "yellow", markup=False,
                      highlight=False, soft_wrap=True)


def _manifest_stamp(output: str) -> tuple[int, int] | None:
    """Which manifest file the output holds (inode and modification time): a build writes a new one."""
    try:
        stat = (Path(output) / "manifest.json").stat()
    except OSError:
        return None
    return stat.st_ino, stat.st_mtime_ns


def run_dvc(recipe: CheckedRecipe, args: argparse.Namespace, root: Path, mode: str, err: Console) -> dict[str, Any]:
    """`recipe run` in a DVC project: update the recipe's stages in dvc.yaml, then `dvc repro` them, so the
    build and dvc.lock agree. DVC decides what runs and records it; the recipe's stages run in this process
    (runtime/dvc.py), with this run's settings."""
    from datarecipe.runtime import dvc
    from datarecipe.runtime.progress import Reporter

    rel = project_path(args.file, root)
    compile_dvc(recipe, rel, root, args.cache)
    params = root / dvc.params_path(rel)
    compiled = params.read_text(encoding="utf-8")
    engine = None
    with Reporter(mode, err) as reporter, ExitStack() as stack:
        def run_stage(name: str) -> None:
            nonlocal engine
            if name == "compile":  # what compile_dvc has just written, and DVC removed before the stage runs
                dvc.write_if_changed(params, compiled)
                return
            if engine is None:  # planned once, and only when a stage runs: nothing to plan when none changed
                the_plan = build_plan(recipe, args.cache, args.device)
                engine = make_engine(args, the_plan, recipe, reporter, rel, root / dvc.stage_root(rel))
                stack.enter_context(engine.connected())
            engine.run(only=name)

        dvc.reproduce(root, rel, f"{dvc.stem(rel)}-output", run_stage)
    manifest: dict[str, Any] = json.loads((Path(recipe.output.path) / "manifest.json").read_text())
    return manifest


def cmd_stage(args: argparse.Namespace, out: Console, err: Console) -> int:
    """One stage of a recipe's DVC pipeline: `compile` writes the params file; any other name runs that stage
    of the plan, from the outputs of the stages before it."""
    from datarecipe.runtime import dvc
    from datarecipe.runtime.progress import Reporter

    recipe = load(args.file, err, args.json)
    root = dvc_project(args)
    if root is None:
        raise RecipeError(None, "`recipe stage` runs a stage of dvc.yaml, and this is not a DVC project",
                          f"build with `recipe run {args.file}`")
    contain_output(recipe, args.file, args, err, dvc=True)
    rel = project_path(args.file, root)
    dvc.keep_out_of_git(root, recipe.output.path)  # `dvc repro` on a fresh clone: before DVC ignores the outputs
    if args.name == "compile":
        light = light_plan(recipe, args.cache)
        stale = dvc.drift(root, rel, recipe, light, params=False)
        if stale:
            raise RecipeError(None, f"dvc.yaml is out of date with {rel}: {stale[0]}",
                              f"run `recipe compile {rel}` (or `recipe run {rel}`), then `dvc repro`",
                              stage="compile", input="dvc.yaml")
        dvc.write_if_changed(root / dvc.params_path(rel), dvc.params_text(light))
        return 0
    the_plan = build_plan(recipe, args.cache, args.device)
    names = [s.name for s in the_plan.stages]
    if args.name not in names:
        raise RecipeError(None, f"{rel} has no stage `{args.name}`", f"its stages: compile, {', '.join(names)}",
                          stage=args.name, input=rel)
    stage = the_plan.stage(args.name)
    written = dvc.read_params(root / dvc.params_path(rel)).get(args.name)
    if written != dvc.params_slice(the_plan, stage):
        raise RecipeError(None, f"{dvc.params_path(rel).as_posix()} is out of date for stage `{args.name}`",
                          "run `dvc repro`, whose compile stage updates it, or `recipe compile "
                          f"{rel}`", stage=args.name, input=dvc.params_path(rel).as_posix())
    mode = "json" if args.json else "quiet" if args.quiet else os.environ.get("DATARECIPE_PROGRESS", "human")
    with build_lock(recipe.output.path, f"recipe stage {rel} {args.name}"), Reporter(mode, err) as reporter:
        make_engine(args, the_plan, recipe, reporter, rel, root / dvc.stage_root(rel)).run(only=args.name)
    return 0


def make_engine(args: argparse.Namespace, the_plan: Plan, recipe: CheckedRecipe, reporter: Any, recipe_path: str,
                stage_root: Path | None = None) -> Any:
    """The engine `--engine` names, with the run's settings: local (this process) or ray (a Ray cluster)."""
    settings = {"cache_dir": Path(args.cache), "threads": args.threads, "memory_limit": args.memory,
                "reporter": reporter, "recipe_path": recipe_path, "device": args.device, "stage_root": stage_root,
                "strict": args.strict}
    if args.engine == "local" and (args.address or args.partitions):
        option = "--address" if args.address else "--partitions"
        raise RecipeError(None, f"{option} is an option of the Ray engine, and this run is local",
                          f"add `--engine ray`, or leave out {option}")
    if args.engine == "ray":
        from datarecipe.runtime.executors.cluster import RayEngine

        return RayEngine(the_plan, recipe, address=args.address or None, partitions=args.partitions, **settings)
    from datarecipe.runtime.executors.local import LocalEngine

    return LocalEngine(the_plan, recipe, **settings)


def cmd_verify(args: argparse.Namespace, out: Console, err: Console) -> int:
    """Re-hash every file of a build against its manifest, and the manifest against its checksum file; exit 1 on
    any difference."""
    from datarecipe.runtime.artifacts.report import load_manifest
    from datarecipe.runtime.artifacts.shards import MANIFEST, sha256_file

    directory = Path(args.dir)
    manifest = load_manifest(args.dir)
    checksum = directory / f"{MANIFEST}.sha256"
    # the checksum file is in `sha256sum` format ("HASH  manifest.json"), so `sha256sum -c` reads it too
    recorded = checksum.read_text(encoding="utf-8", errors="replace").split() if checksum.is_file() else None
    # A build from before whole-build checksums (output layout 3 and older) lists its shards, ledger and
    # quarantine only: those are checked, and it is said.
    whole = recorded is not None or "files" in manifest
    problems = [] if recorded is not None or not whole else [f"{checksum.name}: missing"]
    files: list[tuple[str, int | None, str | None]] = [(MANIFEST, None, (recorded or [""])[0] if whole else None)]
    try:
        shards = [(str(s["path"]), int(s["bytes"]), str(s["sha256"])) for s in manifest["shards"]]
        files += shards
        files += [(str(manifest[k]["path"]), None, manifest[k].get("sha256")) for k in ("ledger", "quarantine")]
        files += [(str(name), None, str(digest)) for name, digest in dict(manifest.get("files", {})).items()]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        shards = []
        problems.append(f"{MANIFEST}: malformed ({type(exc).__name__}: {exc}); its files cannot be checked")
    for name, size, digest in files:
        path = directory / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif size is not None and path.stat().st_size != size:
            problems.append(f"{name}: {path.stat().st_size:,} bytes, the manifest says {size:,}")
        elif digest is not None and sha256_file(path) != digest:
            problems.append(f"{name}: sha256 differs from the " + ("checksum file's" if name == MANIFEST else
                                                                    "manifest's"))
    listed = {name for name, _, _ in files} | {checksum.name}
    for path in sorted(p for p in directory.rglob("*") if p.is_file()) if whole else ():
        if path.relative_to(directory).as_posix() not in listed:
            problems.append(f"{path.relative_to(directory).as_posix()}: not in the manifest")
    if not whole and not args.json:
        out.print(f"{directory}: built before whole-build checksums; its shards, ledger and quarantine are checked, "
                  "not its card (rebuild it to cover every file)", highlight=False, markup=False)
    if args.json:
        print(json.dumps({"dir": str(directory), "ok": not problems, "files": len(files), "shards": len(shards),
                          "whole_build": whole, "problems": problems}))
    else:
        for problem in problems:
            out.print(f"{directory}/{problem}", highlight=False, markup=False)
        if not args.quiet or problems:
            verdict = f"{len(problems)} problem(s)" if problems else "every file matches the manifest"
            out.print(f"{directory}: {_count(len(files), 'file')} checked ({_count(len(shards), 'shard')}), {verdict}",
                      highlight=False)
    return 1 if problems else 0


def cmd_diff(args: argparse.Namespace, out: Console, err: Console) -> int:
    """What changed between two builds: the recipe, the documents per source and by content hash, the mixture,
    the funnel and the input files. Exit 0 whether or not they differ."""
    from datarecipe.runtime.artifacts import report

    changes = report.diff(args.a, args.b)
    if args.json:
        print(json.dumps(changes, indent=1))
    elif not args.quiet:
        report.print_diff(changes, out)
    return 0


def cmd_report(args: argparse.Namespace, out: Console, err: Console) -> int:
    """What a build's manifest says: header, funnel, mixture per phase, scores, shards, ledger and quarantine."""
    from datarecipe.runtime.artifacts import report

    sections = report.report(args.dir)
    if args.json:
        print(json.dumps(sections, indent=1))
    elif not args.quiet:
        report.print_report(sections, out)
    return 0


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def funnel_table(manifest: dict[str, Any]) -> Table:
    from datarecipe.runtime.artifacts.report import rule_counts

    table = Table(title="funnel", show_lines=False)
    for col in ("source", "step", "docs"):
        table.add_column(col, justify="right" if col == "docs" else "left")
    for source, f in manifest["funnel"].items():
        table.add_row(escape(source), "read", f"{f['read']:,}")
        if f["quarantined"]:
            table.add_row("", "quarantined", f"-{f['quarantined']:,}")
        changed = {c["rule"]: c["changed"] for c in f.get("changed", [])}  # what each transform rewrote
        for rule, n in rule_counts(f["dropped"]):
            rewrote = f" ({changed[rule]:,} changed)" if rule in changed else ""
            table.add_row("", escape(rule), (f"-{n:,}" if n else "0") + rewrote)
            for reason, m in by_count(f.get("dropped_by_reason", {}).get(rule, {})):
                table.add_row("", escape(f"  {reason}"), f"[dim]-{m:,}[/]")
        table.add_row("", "kept after filters", f"{f['kept']:,}")
        for rule, n in rule_counts(f["left_out_by_mix"]):
            table.add_row("", escape(f"mix: {rule}"), f"-{n:,}")
        for where in f.get("where_by_phase", []):
            table.add_row("", escape(f"  phase {where['phase']}: {where['rule']}"),
                          f"[dim]{where['excluded']:,} not eligible[/]")
        if f["repeats"]:
            table.add_row("", "mix: repeats (max_epochs)", f"+{f['repeats']:,}")
        table.add_row("", "[bold]in the output[/]", f"[bold]{f['selected']:,}[/]", end_section=True)
    return table


def by_count(counts: dict[str, int]) -> list[tuple[str, int]]:
    """A rule pack's drops per reason, the most first."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def cmd_docs(args: argparse.Namespace, out: Console, err: Console) -> int:
    if args.plugins:
        installed_plugins(err, args.json)
    text = reference(plugins=args.plugins)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text)
        if not args.quiet:
            out.print(f"wrote {args.output}", highlight=False)
    return 0


def cmd_operators(args: argparse.Namespace, out: Console, err: Console) -> int:
    """Every operator of the library, built-in and from plugins (installed, or named by the recipes given)."""
    from datarecipe.operators import REGISTRY

    installed_plugins(err, args.json)
    for path in args.files:
        load(path, err, args.json)
    order = ("function", "filter", "transform", "dedup", "scorer", "step", "mix_setting", "source", "setting")
    ops = sorted(REGISTRY.values(), key=lambda op: (order.index(op.category), op.name))
    if args.json:
        print(json.dumps([{"name": op.name, "kind": op.category, "origin": op.origin, "module": op.module,
                           "fingerprint": op.fingerprint, "returns": op.returns, "doc": op.doc,
                           "params": [{"name": p.name, "type": p.type, "required": p.required,
                                       "default": None if p.required else p.default, "min": p.min, "max": p.max,
                                       "choices": list(p.choices), "doc": p.doc} for p in op.params]}
                          for op in ops], indent=1, default=list))
    elif not args.quiet:
        table = Table(title=f"{len(ops)} operators")
        for col in ("kind", "operator", "origin"):
            table.add_column(col)
        for op in ops:
            table.add_row(op.category, escape(_usage(op)), escape(op.origin))
        out.print(table)
    return 0


def _usage(op: Any) -> str:
    """How an operator is written in a recipe, in short."""
    if op.kind in ("setting", "mix_setting"):
        return op.name
    args = ", ".join(p.name for p in op.params)
    call = f"{op.name}({args if len(args) <= 40 else '...'})"
    return f"apply {call}" if op.kind == "pack" else f"dedup {call}" if op.kind == "dedup" else call


def _threads(value: str) -> int:
    if not value.isdigit():
        raise argparse.ArgumentTypeError("a number of threads, at least 1 (0: all cores)")
    return int(value)


def _partitions(value: str) -> int:
    if not value.isdigit():
        raise argparse.ArgumentTypeError("a number of parts, at least 1 (0: two per core of the cluster)")
    return int(value)


def _memory(value: str) -> str:
    if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", value.strip()):
        raise argparse.ArgumentTypeError("a size with a unit, e.g. 4GB or 512MB")
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
        sp.add_argument("--cache", default=_setting("cache", ".datarecipe/cache", env), metavar="DIR",
                        help="stage outputs by fingerprint, input file hashes, and the score cache "
                             "(default: .datarecipe/cache)")
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
                        help="DuckDB memory limit, e.g. 4GB or 512MB; past it, DuckDB spills to the cache "
                             "(default: 4GB)")
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
        print(json.dumps({"event": "error", "errors": [_error_json(exc, label)]}))
    else:
        source = ""
        if exc.span is not None and label != "recipe":
            try:
                source = Path(label).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                source = ""
        err.print(render(exc, label, source), markup=False, highlight=False, soft_wrap=True)
    return EXIT_BUILD


COMMANDS = {"check": cmd_check, "compile": cmd_compile, "explain": cmd_explain, "run": cmd_run, "stage": cmd_stage,
            "verify": cmd_verify, "diff": cmd_diff, "report": cmd_report, "docs": cmd_docs,
            "operators": cmd_operators}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if getattr(args, "debug", False):
        os.environ["DATARECIPE_DEBUG"] = "1"  # for `recipe stage`, which `dvc repro` runs, too
    # Piped output is for files and other programs: never fold or crop it.
    out = Console(highlight=False, width=None if sys.stdout.isatty() else 1000)
    err = Console(stderr=True, highlight=False)
    try:
        return COMMANDS[args.command](args, out, err)
    except Failed as exc:
        if args.json and args.command != "check":
            print(json.dumps({"event": "error", "errors": exc.errors}))
        return exc.status
    except RecipeError as exc:  # a build that stopped on bad input, or on a plugin that raised
        if debug():
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
        err.print("interrupted; finished stages stay cached and the previous output is untouched")
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug in datarecipe, not a user mistake
        if type(exc).__name__ == "OutOfMemoryException":  # DuckDB's, raised before a stage began
            return _fail_build(args, err, RecipeError(None, f"DuckDB ran out of memory: {str(exc).splitlines()[0]}",
                                                      "raise `--memory`, or lower `--threads`"))
        if debug():
            traceback.print_exc()
        if getattr(args, "json", False):
            print(json.dumps({"event": "internal_error", "error": f"{type(exc).__name__}: {exc}"}))
        err.print(f"internal error: {type(exc).__name__}: {exc}\n"
                  "this is a bug in datarecipe; rerun with --debug for the traceback",
                  markup=False, highlight=False)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
