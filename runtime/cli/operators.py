"""`recipe operators`: every operator of the library, built-in and from plugins (installed, or named by the
recipes given), with its origin."""

from __future__ import annotations

import argparse
import json
from typing import Any

from datarecipe.operators import REGISTRY
from datarecipe.runtime.cli import load, recipe_errors
from datarecipe.runtime.plugins import load_plugins
from rich.console import Console
from rich.markup import escape
from rich.table import Table


def run(args: argparse.Namespace, out: Console, err: Console) -> int:
    """Every operator of the library, built-in and from plugins (installed, or named by the recipes given)."""
    with recipe_errors("recipe", "", err, args.json):  # a broken plugin, as a recipe error (exit 2)
        load_plugins()
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
