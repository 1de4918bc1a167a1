"""`recipe check`: every error a recipe holds, found without building it (exit 2 on errors)."""

from __future__ import annotations

import argparse
import json

from datarecipe.compiler.language.errors import RecipeErrors
from datarecipe.runtime.cli import Failed, contain_output, counted, fail, load
from datarecipe.runtime.inputs import budget_problems, problems
from rich.console import Console


def run(args: argparse.Namespace, out: Console, err: Console) -> int:
    status = 0
    results = []
    for path in args.files:
        try:
            recipe = load(path, err, args.json)
            contain_output(recipe, path, args, err)
            found = problems(recipe)  # what a build would stop on in its inputs
            if found:
                fail(RecipeErrors(found).errors, path, recipe.text, err, args.json)  # in the order of the text
            short = budget_problems(recipe, args.cache)  # a mix that a previous build's sources cannot fill
            if short:
                fail(short, path, recipe.text, err, args.json)
            results.append({"file": path, "ok": True, "errors": []})
            if not args.json and not args.quiet:
                out.print(f"{path}: ok ({counted(len(recipe.sources), 'source')})", highlight=False)
        except Failed as exc:
            status = exc.status
            results.append({"file": path, "ok": False, "errors": exc.errors})
    if args.json:
        print(json.dumps(results if len(results) > 1 else results[0], indent=1))
    return status
