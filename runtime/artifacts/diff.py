"""`recipe diff`: what changed between two builds: recipe, documents by content hash, mixture, funnel and inputs.

It reads only what the builds wrote (manifest.json, recipe.recipe, and the shards' `source`, `doc_id` and
`content_hash`), so it works on builds that `dvc pull` restored, without the recipe's inputs."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import duckdb
from datarecipe.compiler.language.errors import RecipeError
from datarecipe.compiler.lower.queries import only_in_new, shard_scan
from datarecipe.runtime.artifacts.report import figure, load_manifest, percent, rule_counts
from datarecipe.runtime.paths import is_remote
from rich.console import Console
from rich.markup import escape
from rich.table import Table

EXAMPLES = 5  # example doc_ids shown per source for the documents added and removed


def diff(path_a: str, path_b: str) -> dict[str, Any]:
    """Everything that differs between build A and build B, as one JSON-ready object."""
    for path in (path_a, path_b):
        if is_remote(path):
            raise RecipeError(None, "recipe diff compares builds in directories, and this is an object store's URL",
                              "copy the build to a directory first (e.g. `aws s3 sync URL DIR`); `recipe report` "
                              "and `recipe verify` read it in place", input=path)
    a, b = load_manifest(path_a), load_manifest(path_b)
    return {"a": _identity(path_a, a), "b": _identity(path_b, b),
            "recipe": recipe_diff(path_a, a, path_b, b),
            "sources": source_counts(a, b),
            "documents": {"added": only_in(path_b, b, path_a, a), "removed": only_in(path_a, a, path_b, b)},
            "mixture": mixture_shares(a, b),
            "funnel": funnel_changes(a, b),
            "inputs": input_changes(a, b)}


def _identity(path: str, manifest: dict[str, Any]) -> dict[str, Any]:
    return {"dir": path, "recipe": manifest["recipe"].get("name"), "sha256": manifest["recipe"].get("sha256")}


def recipe_diff(path_a: str, a: dict[str, Any], path_b: str, b: dict[str, Any]) -> dict[str, Any]:
    """A unified diff of the two builds' copies of their recipe; without a copy, whether the hashes match."""
    texts = {path: _recipe_copy(path, m) for path, m in ((path_a, a), (path_b, b))}
    missing = [path for path, text in texts.items() if text is None]
    if missing:
        same = a["recipe"].get("sha256") == b["recipe"].get("sha256")
        return {"compared": "sha256", "missing_copy": missing, "same": same, "diff": []}
    lines = list(difflib.unified_diff((texts[path_a] or "").splitlines(), (texts[path_b] or "").splitlines(),
                                      f"{path_a}/recipe.recipe", f"{path_b}/recipe.recipe", lineterm=""))
    return {"compared": "text", "missing_copy": [], "same": not lines, "diff": lines}


def _recipe_copy(path: str, manifest: dict[str, Any]) -> str | None:
    copy = manifest["recipe"].get("copy")
    try:
        return (Path(path) / copy).read_text(encoding="utf-8") if copy else None
    except (OSError, UnicodeDecodeError):
        return None


def _counts(a: int | None, b: int | None) -> dict[str, Any]:
    return {"a": a, "b": b, "change": (b or 0) - (a or 0)}


def source_counts(a: dict[str, Any], b: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per source, the docs, bytes and (when both builds counted them) tokens written by A and by B."""
    units = ["docs", "bytes", *(["tokens"] if "tokens" in a["totals"] and "tokens" in b["totals"] else [])]
    sa, sb = a["mixture"]["by_source"], b["mixture"]["by_source"]
    return {source: {unit: _counts(sa.get(source, {}).get(unit, 0), sb.get(source, {}).get(unit, 0))
                     for unit in units} for source in sorted(sa.keys() | sb.keys())}


def shard_files(path: str, manifest: dict[str, Any]) -> list[str]:
    """The build's shards, as its manifest lists them; a RecipeError when some are not there."""
    files = [Path(path) / s["path"] for s in manifest["shards"]]
    absent = [f for f in files if not f.is_file()]
    if absent:
        raise RecipeError(None, f"{len(absent)} of the {len(files)} shards in its manifest are missing, e.g. "
                          f"{absent[0]}", "restore the build (`dvc pull`), then `recipe verify` it", input=path)
    return [str(f) for f in files]


def only_in(path_new: str, new: dict[str, Any], path_old: str, old: dict[str, Any]) -> dict[str, Any]:
    """The distinct content hashes that `new` has and `old` has not: how many, in total and per source, and the
    smallest doc_ids that carry them."""
    files = {"new": shard_files(path_new, new), "old": shard_files(path_old, old)}
    sql = only_in_new(shard_scan(new.get("format", ""), "new", not files["new"]),
                      shard_scan(old.get("format", ""), "old", not files["old"]), EXAMPLES)
    with duckdb.connect() as con:
        rows = con.execute(sql, {side: f for side, f in files.items() if f}).fetchall()
    _, total, examples = next(row for row in rows if row[0] is None)  # the grand total, there even when empty
    return {"total": total, "examples": examples or [],
            "by_source": {source: {"count": n, "examples": ex} for source, n, ex in rows if source is not None}}


def mixture_shares(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Per phase and source, the share of the budget's unit each build wrote, and its target share."""
    phases_a = {p["name"]: p for p in a["mixture"].get("phases", [])}
    phases_b = {p["name"]: p for p in b["mixture"].get("phases", [])}
    names = [*phases_a, *(n for n in phases_b if n not in phases_a)]
    out = []
    for name in names:
        by_a = phases_a.get(name, {}).get("by_source", {})
        by_b = phases_b.get(name, {}).get("by_source", {})
        out.append({"name": name, "by_source": {
            source: {side: {k: by[source].get(k) for k in ("share", "target_share")} if source in by else None
                     for side, by in (("a", by_a), ("b", by_b))}
            for source in sorted(by_a.keys() | by_b.keys())}})
    return {"unit": {"a": a["mixture"].get("unit"), "b": b["mixture"].get("unit")}, "phases": out}


def _funnel_steps(f: dict[str, Any]) -> dict[str, int]:
    """A source's funnel as steps in order: read, quarantined, each rule, kept, left out by the mix, selected."""
    return {"read": f["read"], "quarantined": f["quarantined"], **dict(rule_counts(f["dropped"])), "kept": f["kept"],
            **{f"mix: {rule}": n for rule, n in rule_counts(f["left_out_by_mix"])},
            **{f"phase {w['phase']}: {w['rule']} (not eligible)": w["excluded"] for w in f.get("where_by_phase", [])},
            "repeats": f["repeats"], "selected": f["selected"]}


def funnel_changes(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    """The funnel steps (documents read, dropped per rule, left out by the mix, ...) whose counts differ."""
    out = []
    for source in sorted(a["funnel"].keys() | b["funnel"].keys()):
        steps_a = _funnel_steps(a["funnel"][source]) if source in a["funnel"] else {}
        steps_b = _funnel_steps(b["funnel"][source]) if source in b["funnel"] else {}
        for step in [*steps_a, *(s for s in steps_b if s not in steps_a)]:
            if steps_a.get(step) != steps_b.get(step):
                out.append({"source": source, "step": step, **_counts(steps_a.get(step), steps_b.get(step))})
    return out


def input_changes(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    """Input files added, removed or changed (by fingerprint), per input of the plan."""
    out = []
    inputs_a, inputs_b = a.get("inputs", {}), b.get("inputs", {})
    for name in sorted(inputs_a.keys() | inputs_b.keys()):
        fa = {f["path"]: f["fingerprint"] for f in inputs_a.get(name, [])}
        fb = {f["path"]: f["fingerprint"] for f in inputs_b.get(name, [])}
        for path in sorted(fa.keys() | fb.keys()):
            if fa.get(path) != fb.get(path):
                change = "added" if path not in fa else "removed" if path not in fb else "changed"
                out.append({"input": name, "path": path, "a": fa.get(path), "b": fb.get(path), "change": change})
    return out


def _delta(value: int) -> str:
    return f"{value:+,}" if value else "0"


def print_diff(changes: dict[str, Any], out: Console) -> None:
    a, b = changes["a"], changes["b"]
    out.print(f"A: {a['dir']} ({a['recipe']}, recipe sha256 {str(a['sha256'])[:12]})", markup=False)
    out.print(f"B: {b['dir']} ({b['recipe']}, recipe sha256 {str(b['sha256'])[:12]})", markup=False)
    recipe = changes["recipe"]
    if recipe["missing_copy"]:
        out.print(f"no copy of the recipe in {' and '.join(recipe['missing_copy'])}: the recipes' sha256 "
                  f"{'match' if recipe['same'] else 'differ'}", markup=False)
    elif recipe["same"]:
        out.print("recipe: unchanged", markup=False)
    else:
        out.print("recipe:", markup=False)
        for line in recipe["diff"]:
            style = "green" if line.startswith("+") else "red" if line.startswith("-") else None
            out.print(line, style=style, markup=False, highlight=False, soft_wrap=True)

    sources = changes["sources"]
    units = next(iter(sources.values())).keys() if sources else []
    table = Table(title="documents written, per source")
    table.add_column("source")
    for unit in units:
        for side in ("A", "B", "change"):
            table.add_column(f"{unit} {side}", justify="right")
    for source, counts in sources.items():
        table.add_row(escape(source), *(cell for unit in units for cell in (
            figure(counts[unit]["a"]), figure(counts[unit]["b"]), _delta(counts[unit]["change"]))))
    out.print(table)

    added, removed = changes["documents"]["added"], changes["documents"]["removed"]
    table = Table(title="documents by content hash: added in B, removed from A")
    for col in ("source", "added", "removed"):
        table.add_column(col, justify="left" if col == "source" else "right")
    table.add_column(f"added (first {EXAMPLES} doc_ids)")
    table.add_column(f"removed (first {EXAMPLES} doc_ids)")
    empty: dict[str, Any] = {"count": 0, "examples": []}
    for source in sorted(added["by_source"].keys() | removed["by_source"].keys() | sources.keys()):
        plus, minus = added["by_source"].get(source, empty), removed["by_source"].get(source, empty)
        table.add_row(escape(source), f"{plus['count']:,}", f"{minus['count']:,}",
                      escape("\n".join(plus["examples"])), escape("\n".join(minus["examples"])))
    table.add_section()
    table.add_row("[bold]total[/]", f"[bold]{added['total']:,}[/]", f"[bold]{removed['total']:,}[/]", "", "")
    out.print(table)

    mixture = changes["mixture"]
    unit_a, unit_b = mixture["unit"]["a"], mixture["unit"]["b"]
    table = Table(title=f"mixture shares of {unit_a}" + (f" (A), of {unit_b} (B)" if unit_a != unit_b else ""))
    for col in ("phase", "source", "share A", "target A", "share B", "target B"):
        table.add_column(col, justify="right" if col.startswith(("share", "target")) else "left")
    for phase in mixture["phases"]:
        for source, sides in phase["by_source"].items():
            cells = [percent((sides[side] or {}).get(k)) for side in ("a", "b") for k in ("share", "target_share")]
            table.add_row(escape(phase["name"]), escape(source), *cells)
    out.print(table)

    if changes["funnel"]:
        table = Table(title="funnel steps that differ")
        for col in ("source", "step", "A", "B", "change"):
            table.add_column(col, justify="left" if col in ("source", "step") else "right")
        for row in changes["funnel"]:
            table.add_row(escape(row["source"]), escape(row["step"]), figure(row["a"]), figure(row["b"]),
                          _delta(row["change"]))
        out.print(table)
    else:
        out.print("funnel: unchanged", markup=False)

    if changes["inputs"]:
        table = Table(title="input files that differ")
        for col in ("input", "path", "change", "A fingerprint", "B fingerprint"):
            table.add_column(col)
        for row in changes["inputs"]:
            table.add_row(*(escape(str(row[k] or "-")) for k in ("input", "path", "change", "a", "b")))
        out.print(table)
    else:
        out.print("inputs: unchanged", markup=False)
