"""`recipe compile`: write the plan and each SQL stage's SQL, to read; in a DVC project, the recipe's stages in
dvc.yaml and its params file. With `--check`, write nothing and say whether dvc.yaml is in sync."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from datarecipe.compiler.language.errors import RecipeError
from datarecipe.compiler.language.spec import CheckedRecipe
from datarecipe.compiler.plan import Plan
from datarecipe.runtime import dvc
from datarecipe.runtime.cli import contain_output, load
from datarecipe.runtime.inputs import build_plan
from rich.console import Console


def run(args: argparse.Namespace, out: Console, err: Console) -> int:
    recipe = load(args.file, err, args.json)
    root = dvc.project(args.no_dvc)
    contain_output(recipe, args.file, args, err, dvc=root is not None)
    if args.check:
        return check(recipe, args, root, out)
    target = Path(args.output)
    written = write_compiled(build_plan(recipe, args.cache, args.device), target)
    changed = [] if root is None else dvc.compile_stages(recipe, dvc.project_path(args.file, root), root, args.cache)
    if args.json:
        print(json.dumps({"dir": str(target), "files": written, "dvc": changed if root is not None else None}))
    elif not args.quiet:
        out.print(f"wrote {len(written)} files to {target}", highlight=False)
        if root is not None:
            out.print(f"updated {' and '.join(changed)}" if changed else "dvc.yaml and the params are up to date",
                      highlight=False)
    return 0


def write_compiled(the_plan: Plan, target: Path) -> list[str]:
    """plan.json, macros.sql and one .sql file per SQL stage, in plan order, into `target`; their names."""
    target.mkdir(parents=True, exist_ok=True)
    (target / "plan.json").write_text(json.dumps(the_plan.to_json(), indent=1, sort_keys=True) + "\n")
    (target / "macros.sql").write_text(the_plan.macros)
    written = ["plan.json", "macros.sql"]
    for i, stage in enumerate(the_plan.stages):
        if stage.sql:
            name = f"{i:02d}_{stage.name}.sql"
            (target / name).write_text(f"-- fingerprint {stage.fingerprint}\n{stage.sql}")
            written.append(name)
    return written


def check(recipe: CheckedRecipe, args: argparse.Namespace, root: Path | None, out: Console) -> int:
    """`--check`: exit 1 when dvc.yaml or the params file is not what the recipe compiles to."""
    if root is None:
        raise RecipeError(None, "`--check` compares dvc.yaml with the recipe, and this is not a DVC project",
                          "run it from the root of a DVC project (`dvc init` makes one)")
    rel = dvc.project_path(args.file, root)
    problems = dvc.drift(root, rel, recipe, build_plan(recipe, args.cache, dvc=True))
    if args.json:
        print(json.dumps({"file": args.file, "in_sync": not problems, "problems": problems}))
    elif problems:
        for problem in problems:
            out.print(f"{rel}: {problem}", highlight=False, markup=False)
        out.print(f"run `recipe compile {rel}` to update them", highlight=False, markup=False)
    elif not args.quiet:
        out.print(f"{rel}: dvc.yaml and {dvc.params_path(rel).as_posix()} are in sync", highlight=False)
    return 1 if problems else 0
