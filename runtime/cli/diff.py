"""`recipe diff`: what changed between two builds (runtime/artifacts/diff.py); exit 0 whether or not they differ."""

from __future__ import annotations

import argparse
import json

from datarecipe.runtime.artifacts.diff import diff, print_diff
from rich.console import Console


def run(args: argparse.Namespace, out: Console, err: Console) -> int:
    changes = diff(args.a, args.b)
    if args.json:
        print(json.dumps(changes, indent=1))
    elif not args.quiet:
        print_diff(changes, out)
    return 0
