"""`recipe report`: what a build's manifest says: header, funnel, mixture per phase, scores, shards, ledger and
quarantine (runtime/artifacts/report.py)."""

from __future__ import annotations

import argparse
import json

from datarecipe.runtime.artifacts.report import print_report, report
from rich.console import Console


def run(args: argparse.Namespace, out: Console, err: Console) -> int:
    sections = report(args.dir)
    if args.json:
        print(json.dumps(sections, indent=1))
    elif not args.quiet:
        print_report(sections, out)
    return 0
