"""`recipe verify`: re-hash every file of a build against its manifest (runtime/artifacts/verify.py); exit 1 on
any difference."""

from __future__ import annotations

import argparse
import json

from datarecipe.runtime.artifacts.verify import verify
from datarecipe.runtime.cli import counted
from rich.console import Console


def run(args: argparse.Namespace, out: Console, err: Console) -> int:
    found = verify(args.dir)
    directory, problems = found["dir"], found["problems"]
    if args.json:
        print(json.dumps(found))
        return 1 if problems else 0
    if not found["whole_build"]:
        out.print(f"{directory}: built before whole-build checksums; its shards, ledger and quarantine are checked, "
                  "not its card (rebuild it to cover every file)", highlight=False, markup=False)
    for problem in problems:
        out.print(f"{directory}/{problem}", highlight=False, markup=False)
    if not args.quiet or problems:
        verdict = f"{len(problems)} problem(s)" if problems else "every file matches the manifest"
        out.print(f"{directory}: {counted(found['files'], 'file')} checked ({counted(found['shards'], 'shard')}), "
                  f"{verdict}", highlight=False)
    return 1 if problems else 0
