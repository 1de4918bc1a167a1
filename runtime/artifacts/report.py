"""`recipe report`: what one build's manifest says, and the pieces `recipe diff` and `recipe verify` share with
it (a build's manifest read back, its funnel as a table).

It reads only what a build wrote (manifest.json), so it works on a build that `dvc pull` restored, without the
recipe's inputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from datarecipe.compiler.language.errors import RecipeError
from datarecipe.runtime.paths import is_remote
from datarecipe.runtime.stages.atomic import PUBLISHING, object_store, store_errors
from datarecipe.runtime.stages.mix import shortfall_words
from rich.console import Console
from rich.markup import escape
from rich.table import Table

SECTIONS = ("recipe", "format", "seed", "license", "totals", "funnel", "mixture", "scores", "shards", "ledger",
            "quarantine")


def load_manifest(path: str) -> dict[str, Any]:
    """A build's manifest.json, from a directory or an object store's prefix; a RecipeError when `path` is not a
    build (a prefix whose publishing was cut short has no manifest: runtime/stages/atomic.py)."""
    fs, root = object_store(path)
    remote = is_remote(path)
    path = path if remote else str(Path(path))
    if not remote and not Path(path).exists():
        raise RecipeError(None, "no such directory",
                          "give the output directory of a build, e.g. build/example; `recipe run` builds it, "
                          "`dvc pull` restores it", input=path)
    with store_errors(path, "read"):
        try:
            text = fs.cat_file(f"{root}/manifest.json")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            text = None
        stopped = text is None and remote and fs.exists(f"{root}/{PUBLISHING}")
    if stopped:
        raise RecipeError(None, "no committed build: a build was stopped while publishing here (its manifest, "
                                "written last, is not there)", "run the build again: it replaces what is there",
                          input=path)
    reason = "it has no manifest.json" if text is None else ""
    try:
        manifest = json.loads(text.decode("utf-8")) if text is not None else {}
        missing = [k for k in ("recipe", "shards", "mixture", "funnel", "totals") if k not in manifest]
        reason = reason or (f"its manifest.json has no `{missing[0]}`" if missing else "")
    except (ValueError, TypeError, AttributeError):
        reason = "its manifest.json is unreadable"
    if reason:
        raise RecipeError(None, f"{path} is not a datarecipe build: {reason}",
                          "give the output directory of a build, e.g. build/example", input=path)
    return dict(manifest)


def rule_counts(steps: list[dict[str, Any]] | dict[str, int]) -> list[tuple[str, int]]:
    """A funnel's rules with the documents each dropped, in the order they ran. Builds before the list form wrote
    an object, whose keys the manifest sorts."""
    return list(steps.items()) if isinstance(steps, dict) else [(s["rule"], s["dropped"]) for s in steps]


def figure(value: int | None) -> str:
    """A count as the tables show it; `-` for none."""
    return "-" if value is None else f"{value:,}"


def percent(value: float | None) -> str:
    """A share as the tables show it; `-` for none."""
    return "-" if value is None else f"{value:.2%}"


def funnel_table(manifest: dict[str, Any]) -> Table:
    """Per source, the documents read, dropped by each rule (and why, for a rule pack), kept, left out by the mix
    and in the output: the table `recipe run` ends with."""
    table = Table(title="funnel", show_lines=False)
    for col in ("source", "step", "docs"):
        table.add_column(col, justify="right" if col == "docs" else "left")
    for source, f in manifest["funnel"].items():
        table.add_row(escape(source), "read", f"{f['read']:,}")
        if f["quarantined"]:
            table.add_row("", "quarantined", f"-{f['quarantined']:,}")
        changed = {c["rule"]: c["changed"] for c in f.get("changed", [])}  # what each transform rewrote
        for rule, n in rule_counts(f["dropped"]):
            rewrote = f" ({changed[rule]:,} changed)" if rule in changed else ""
            table.add_row("", escape(rule), (f"-{n:,}" if n else "0") + rewrote)
            for reason, m in by_count(f.get("dropped_by_reason", {}).get(rule, {})):
                table.add_row("", escape(f"  {reason}"), f"[dim]-{m:,}[/]")
        table.add_row("", "kept after filters", f"{f['kept']:,}")
        for rule, n in rule_counts(f["left_out_by_mix"]):
            table.add_row("", escape(f"mix: {rule}"), f"-{n:,}")
        for where in f.get("where_by_phase", []):
            table.add_row("", escape(f"  phase {where['phase']}: {where['rule']}"),
                          f"[dim]{where['excluded']:,} not eligible[/]")
        if f["repeats"]:
            table.add_row("", "mix: repeats (max_epochs)", f"+{f['repeats']:,}")
        table.add_row("", "[bold]in the output[/]", f"[bold]{f['selected']:,}[/]", end_section=True)
    return table


def by_count(counts: dict[str, int]) -> list[tuple[str, int]]:
    """A rule pack's drops per reason, the most first."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


# ---- recipe report ---------------------------------------------------------------------------------------


def report(path: str) -> dict[str, Any]:
    """The sections of a build's manifest that `recipe report` shows."""
    manifest = load_manifest(path)
    return {"dir": path, **{k: manifest[k] for k in SECTIONS if k in manifest}}


def _value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def print_report(manifest: dict[str, Any], out: Console) -> None:
    recipe, totals = manifest["recipe"], manifest["totals"]
    table = Table(title=f"build {escape(manifest['dir'])}", show_header=False)
    table.add_column("what")
    table.add_column("value")
    rows = {"recipe": recipe.get("name"), "recipe file": recipe.get("path"), "sha256": recipe.get("sha256"),
            "format": manifest.get("format"), "seed": manifest.get("seed"), "license": manifest.get("license"),
            "docs": totals.get("docs"), **({"tokens": totals["tokens"]} if "tokens" in totals else {}),
            "text bytes": totals.get("text_bytes"), "shard bytes": totals.get("shard_bytes"),
            "shards": totals.get("shards")}
    for key, value in rows.items():
        table.add_row(key, escape(_value(value)))
    out.print(table)
    out.print(funnel_table(manifest))

    mixture = manifest["mixture"]
    counted = "tokens" in totals
    table = Table(title=f"mixture (budget {_value(mixture.get('budget'))} {mixture.get('unit')})")
    for col in ("phase", "source", "docs", *(["tokens"] if counted else []), "bytes", "share", "target share"):
        table.add_column(col, justify="left" if col in ("phase", "source") else "right")
    for phase in mixture.get("phases", []):
        for i, (source, s) in enumerate(phase["by_source"].items()):
            table.add_row(escape(phase["name"]) if i == 0 else "", escape(source), figure(s.get("docs")),
                          *([figure(s.get("tokens"))] if counted else []), figure(s.get("bytes")),
                          percent(s.get("share")), percent(s.get("target_share")),
                          end_section=i == len(phase["by_source"]) - 1)
    out.print(table)
    for short in mixture.get("short", []):
        out.print(f"warning: {shortfall_words(short, mixture)}", style="bold red" if not short["docs"] else "yellow",
                  markup=False, highlight=False, soft_wrap=True)

    if manifest.get("scores"):
        table = Table(title="scores in the output")
        for col in ("source", "score", "op", "count", "nulls", "min", "mean", "max"):
            table.add_column(col, justify="left" if col in ("source", "score", "op") else "right")
        for source, scores in manifest["scores"].items():
            for name, s in scores.items():
                table.add_row(escape(source), escape(name), escape(str(s.get("op"))),
                              *(_value(s.get(k)) for k in ("count", "nulls", "min", "mean", "max")))
        out.print(table)

    table = Table(title="shards")
    for col in ("path", "phase", "rows", "bytes"):
        table.add_column(col, justify="right" if col in ("rows", "bytes") else "left")
    for shard in manifest["shards"]:
        table.add_row(escape(shard["path"]), escape(shard.get("phase", "")), figure(shard["rows"]),
                      figure(shard["bytes"]))
    out.print(table)
    ledger, quarantine = manifest.get("ledger", {}), manifest.get("quarantine", {})
    out.print(f"ledger: {figure(ledger.get('rows'))} rows left out by a rule or the mix ({ledger.get('path', '-')}); "
              f"quarantine: {figure(quarantine.get('rows'))} rows ({quarantine.get('path', '-')})", markup=False)
