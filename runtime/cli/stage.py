"""`recipe stage`: one stage of a recipe's DVC pipeline, the command of its stages in dvc.yaml. `compile` writes
the params file; any other name runs that stage of the plan, from the outputs of the stages before it."""

from __future__ import annotations

import argparse
import os

from datarecipe.compiler.language.errors import RecipeError
from datarecipe.runtime import dvc
from datarecipe.runtime.cli import contain_output, load
from datarecipe.runtime.cli.run import make_engine
from datarecipe.runtime.inputs import build_plan
from datarecipe.runtime.lock import build_lock
from datarecipe.runtime.progress import Reporter
from rich.console import Console


def run(args: argparse.Namespace, out: Console, err: Console) -> int:
    recipe = load(args.file, err, args.json)
    root = dvc.project()
    if root is None:
        raise RecipeError(None, "`recipe stage` runs a stage of dvc.yaml, and this is not a DVC project",
                          f"build with `recipe run {args.file}`")
    contain_output(recipe, args.file, args, err, dvc=True)
    rel = dvc.project_path(args.file, root)
    dvc.keep_out_of_git(root, recipe.output.path)  # `dvc repro` on a fresh clone: before DVC ignores the outputs
    if args.name == "compile":
        dvc.compile_params(recipe, rel, root, args.cache)
        return 0
    the_plan = build_plan(recipe, args.cache, args.device)
    dvc.check_params(root, rel, the_plan, args.name)
    mode = "json" if args.json else "quiet" if args.quiet else os.environ.get("DATARECIPE_PROGRESS", "human")
    with build_lock(recipe.output.path, f"recipe stage {rel} {args.name}"), Reporter(mode, err) as reporter:
        make_engine(args, the_plan, recipe, reporter, rel, root / dvc.stage_root(rel)).run(only=args.name)
    return 0
