"""`recipe run`: build a recipe, with `dvc repro` in a DVC project (runtime/dvc.py), else directly; then the
funnel, what was built, and the sources the mix found short."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from datarecipe.compiler.language.checker import WRITABLE_HINT, unwritable
from datarecipe.compiler.language.errors import RecipeError
from datarecipe.compiler.language.spec import CheckedRecipe
from datarecipe.compiler.plan import Plan
from datarecipe.runtime import dvc
from datarecipe.runtime.artifacts.report import funnel_table
from datarecipe.runtime.cli import contain_output, counted, fail, load
from datarecipe.runtime.inputs import build_plan
from datarecipe.runtime.lock import build_lock
from datarecipe.runtime.progress import Reporter
from datarecipe.runtime.stages.mix import empty_error, shortfall_words
from rich.console import Console


def run(args: argparse.Namespace, out: Console, err: Console) -> int:
    started = time.perf_counter()
    recipe = load(args.file, err, args.json)
    if args.output:
        recipe = relocated(recipe, args.output, args.file, args, err)
    mode = "json" if args.json else "quiet" if args.quiet else "human"
    root = dvc.project(args.no_dvc)
    if args.output and root is not None:  # DVC's pipeline writes and versions the recipe's own output path
        fail([RecipeError(None, "--output writes a build outside DVC's pipeline, and this is a DVC project",
                          "add `--no-dvc`, or change the recipe's `output`")], args.file, recipe.text, err, args.json)
    contain_output(recipe, args.file, args, err, dvc=root is not None)
    output = recipe.output.path
    rebuilt = True
    with build_lock(output, f"recipe run {args.file}"):
        if root is None:
            the_plan = build_plan(recipe, args.cache, args.device)
            with Reporter(mode, err) as reporter:
                manifest = make_engine(args, the_plan, recipe, reporter, args.file).run()
        else:  # DVC decides what runs, and records it in dvc.lock; the stages run in this process
            before = _manifest_stamp(output)
            rel = dvc.project_path(args.file, root)
            dvc.compile_stages(recipe, rel, root, args.cache)
            with Reporter(mode, err) as reporter:
                dvc.repro(root, rel, lambda stage_root: make_engine(args, build_plan(recipe, args.cache, args.device),
                                                                    recipe, reporter, rel, stage_root))
            manifest = json.loads((Path(output) / "manifest.json").read_text())
            rebuilt = before is None or _manifest_stamp(output) != before  # DVC may skip every stage
    seconds = time.perf_counter() - started
    if mode == "human":
        out.print(funnel_table(manifest))
        t = manifest["totals"]
        built = f"{counted(t['docs'], 'doc')} in {counted(t['shards'], 'shard')}, {t['shard_bytes']:,} bytes"
        if rebuilt:
            out.print(f"built {built} -> {output} in {seconds:.1f}s", highlight=False)
        else:
            out.print(f"{output} is up to date, nothing rebuilt ({built}); checked in {seconds:.1f}s", highlight=False)
        if manifest["quarantine"]["rows"]:
            out.print(f"quarantined {manifest['quarantine']['rows']:,} bad rows: {output}/quarantine.parquet",
                      highlight=False)
    shortfalls(manifest, mode, err, args.strict)
    if mode == "json":
        print(json.dumps({"event": "done", "output": output, "seconds": round(seconds, 3), "rebuilt": rebuilt,
                          "totals": manifest["totals"], "funnel": manifest["funnel"],
                          "quarantine": manifest["quarantine"]}, separators=(",", ":")))
    return 0


def relocated(recipe: CheckedRecipe, output: str, path: str, args: argparse.Namespace, err: Console
              ) -> CheckedRecipe:
    """The recipe with its build written at `output` (`--output`): where a build is written is not part of it."""
    if problem := unwritable(output):
        fail([RecipeError(None, f"{problem} (--output)", WRITABLE_HINT)], path, recipe.text, err, args.json)
    return replace(recipe, output=replace(recipe.output, path=output))


def make_engine(args: argparse.Namespace, the_plan: Plan, recipe: CheckedRecipe, reporter: Reporter, recipe_path: str,
                stage_root: Path | None = None) -> Any:
    """The engine `--engine` names, with the run's settings: local (this process) or ray (a Ray cluster)."""
    settings = {"cache_dir": Path(args.cache), "threads": args.threads, "memory_limit": args.memory,
                "reporter": reporter, "recipe_path": recipe_path, "device": args.device, "stage_root": stage_root,
                "strict": args.strict}
    store = getattr(args, "cache_store", None)
    if store and (args.engine != "local" or stage_root is not None):
        raise RecipeError(None, f"a cache in an object store ({store}) works with the local engine, outside DVC",
                          "on Ray, give a cache on a filesystem every node mounts (docs/scaling.md); under DVC, "
                          "DVC versions the stages (`dvc push` to an S3 remote)" if args.engine != "local" else
                          "add `--no-dvc`, or let DVC version the stages and `dvc push` them to an S3 remote")
    if store:
        settings["cache_store"] = store
    if args.engine == "local" and (args.address or args.partitions):
        option = "--address" if args.address else "--partitions"
        raise RecipeError(None, f"{option} is an option of the Ray engine, and this run is local",
                          f"add `--engine ray`, or leave out {option}")
    if args.engine == "ray":
        from datarecipe.runtime.executors.cluster import RayEngine  # Ray, only for a run that uses it

        return RayEngine(the_plan, recipe, address=args.address or None, partitions=args.partitions, **settings)
    from datarecipe.runtime.executors.local import LocalEngine

    return LocalEngine(the_plan, recipe, **settings)


def shortfalls(manifest: dict[str, Any], mode: str, err: Console, strict: bool) -> None:
    """Say which sources got less than the mix asked (`on_short: renormalize`) or nothing: a `warning` event each in
    JSON; in the terminal a warning, and one no `--quiet` hides for a source that got no documents. With `--strict`,
    such a source is an error: the engine stops before writing, and this says it of a build DVC had nothing to re-run
    for."""
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
