"""`recipe docs`: write the language reference generated from the operator library (operators/reference.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from datarecipe.operators.reference import reference
from datarecipe.runtime.cli import recipe_errors
from datarecipe.runtime.plugins import load_plugins
from rich.console import Console


def run(args: argparse.Namespace, out: Console, err: Console) -> int:
    if args.plugins:
        with recipe_errors("recipe", "", err, args.json):  # a broken plugin, as a recipe error (exit 2)
            load_plugins()
    text = reference(plugins=args.plugins)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text)
        if not args.quiet:
            out.print(f"wrote {args.output}", highlight=False)
    return 0
