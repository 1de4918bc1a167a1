"""`recipe explain`: the plan as a tree, with each stage's SQL; with `--estimate`, the size and time of a full run,
estimated from a sample."""

from __future__ import annotations

import argparse
import json
import time

from datarecipe.compiler.plan import Plan
from datarecipe.runtime.cli import contain_output, load
from datarecipe.runtime.inputs import build_plan
from rich.console import Console
from rich.syntax import Syntax
from rich.tree import Tree


def run(args: argparse.Namespace, out: Console, err: Console) -> int:
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
    elif args.json:
        print(json.dumps(the_plan.to_json(), indent=1, sort_keys=True))
    else:
        out.print(plan_tree(the_plan, recipe.name or args.file), soft_wrap=True)  # never fold SQL: it is copied
    return 0


def plan_tree(the_plan: Plan, title: str) -> Tree:
    """The plan's stages in order, each with its kind, fingerprint and inputs, what it reads or writes, and its SQL."""
    tree = Tree(f"[bold]{title}[/] plan ({len(the_plan.stages)} stages)")
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
    return tree
