"""The dataset card of a build: `README.md` in the Hugging Face dataset-card format (YAML front matter whose
`configs` let `datasets.load_dataset(DIR)` load the shards), rendered from templates/card.md.j2, with PNG plots
beside it. Each plot's numbers are written next to it as JSON, so a test (or a reader) can check the picture
against the shards without looking at it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow.parquet as pq
from datarecipe.compiler.language import ast
from datarecipe.compiler.language.spec import CheckedRecipe
from datarecipe.runtime.artifacts.shards import DATA
from datarecipe.runtime.stages.mix import shortfall_words
from jinja2 import Environment, PackageLoader, StrictUndefined

BINS = 30
EXAMPLE_CHARS = 300
_COMPARISONS = ("<", "<=", ">", ">=", "==", "!=")


def write_card(out: Path, manifest: dict[str, Any], recipe: CheckedRecipe, examples: list[dict[str, Any]],
               rows: list[str]) -> list[str]:
    """Write README.md and its plots into the build directory `out`; returns the files written. `rows` is the
    output's rows as Parquet (the ordered stage's files), whatever the shards' format."""
    plots = [funnel_plot(out, manifest), mixture_plot(out, manifest)]
    thresholds = score_thresholds(recipe)
    histograms = []
    for source, scores in manifest["scores"].items():
        for name, summary in scores.items():
            if summary.get("mean") is not None:
                histograms.append(histogram(out, rows, source, name, thresholds.get((source, name), [])))
    maps = [cluster_map(out, source, name, found) for source, scores in manifest.get("clusters", {}).items()
            for name, found in scores.items()]
    env = Environment(loader=PackageLoader(__package__, "templates"), undefined=StrictUndefined,
                      keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = _num
    env.filters["pct"] = lambda x: "" if x is None else f"{x * 100:.2f}%"
    text = env.get_template("card.md.j2").render(
        m=manifest, front=front_matter(manifest, recipe), plots=plots, histograms=histograms, maps=maps,
        examples=_by_rule(examples), unit=manifest["mixture"]["unit"], counted="tokens" in manifest["totals"],
        shortfalls=[shortfall_words(s, manifest["mixture"]) for s in manifest["mixture"]["short"]])
    (out / "README.md").write_text(text, encoding="utf-8")
    drawn = [*plots, *histograms, *maps]
    return ["README.md", *(p["png"] for p in drawn), *(p["data"] for p in drawn)]


def front_matter(manifest: dict[str, Any], recipe: CheckedRecipe) -> str:
    """The card's YAML header: license and languages from the recipe, and one config per phase (its shards) besides
    the default (every shard, in training order, as the `train` split)."""
    fmt = manifest["format"]
    lines = []
    license_ = recipe.license.strip()
    if re.fullmatch(r"[A-Za-z0-9.+-]+", license_):
        lines.append(f"license: {license_.lower()}")
    elif license_:
        lines += ["license: other", f"license_name: {_yaml_str(license_)}"]
    if recipe.language:
        lines.append("language:")
        lines += [f"- {code}" for code in recipe.language]
    lines += [f"pretty_name: {_yaml_str(recipe.name or 'dataset')}", "tags:", "- datarecipe", "configs:",
              "- config_name: default", "  default: true", "  data_files:", "  - split: train",
              f"    path: \"{DATA}/train-*.{fmt}\""]
    phases = [p["name"] for p in manifest["mixture"]["phases"]]
    if len(phases) > 1:
        for phase in phases:
            files = [s["path"] for s in manifest["shards"] if s["phase"] == phase]
            if files:
                lines += [f"- config_name: {_yaml_str('phase_' + phase)}", "  data_files:", "  - split: train",
                          "    path:"]
                lines += [f"    - {name}" for name in files]
    return "\n".join(lines)


def _yaml_str(value: str) -> str:
    return orjson.dumps(value).decode()  # a JSON string is a YAML string


def _num(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    return f"{value:,}"


def _by_rule(examples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Examples grouped by (source, rule), texts cut short and safe inside a fenced block."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in examples:
        text = row["text"] or ""
        cut = text[:EXAMPLE_CHARS].replace("```", "'''")
        groups.setdefault((row["source"], row["rule"]), []).append(
            {"doc_id": row["doc_id"], "text": cut + (" [...]" if len(text) > EXAMPLE_CHARS else "")})
    return [{"source": s, "rule": r, "docs": docs} for (s, r), docs in groups.items()]


# ---- plots ------------------------------------------------------------------------------------------------


def _figure(width: float, height: float) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _save(fig: Any, out: Path, name: str, data: dict[str, Any], title: str) -> dict[str, Any]:
    fig.savefig(out / f"{name}.png", metadata={"Software": None})  # no version stamp: the same bytes each build
    (out / f"{name}.json").write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    return {"png": f"{name}.png", "data": f"{name}.json", "title": title, **data}


def funnel_plot(out: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """Per source, documents read, after quarantine, after each rule in order, after the mix, in the output."""
    steps: dict[str, list[list[Any]]] = {}
    for source, f in manifest["funnel"].items():
        left = f["read"] - f["quarantined"]
        rows: list[list[Any]] = [["read", f["read"]], ["readable", left]]
        for step in f["dropped"]:
            left -= step["dropped"]
            rows.append([step["rule"], left])
        # the mix leaves documents out, then may repeat some (`max_epochs`): the output can hold more than it kept
        rows.append(["selected by the mix", f["selected"] - f["repeats"]])
        rows.append([f"in the output (with {f['repeats']:,} repeats)" if f["repeats"] else "in the output",
                     f["selected"]])
        steps[source] = rows
    fig = _figure(8, 0.5 + 0.32 * sum(len(r) for r in steps.values()))
    ax = fig.subplots()
    labels, values, colors = [], [], []
    for i, (source, rows) in enumerate(steps.items()):
        for step, n in rows:
            labels.append(f"{source}: {step}"[:70])
            values.append(n)
            colors.append(f"C{i % 10}")
    bars = ax.barh(range(len(values)), values, color=colors)
    ax.bar_label(bars, [f"{n:,}" for n in values], fontsize=7, padding=2)
    ax.margins(x=0.12)  # room for the last bar's number
    ax.set_yticks(range(len(values)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("documents")
    ax.set_title("documents left after each step")
    return _save(fig, out, "funnel", {"steps": steps}, "Funnel")


def mixture_plot(out: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """The share of the mix's unit each source has in each phase, as stacked bars, against its target."""
    mixture = manifest["mixture"]
    unit = mixture["unit"]
    phases = [p["name"] for p in mixture["phases"]]
    sources = sorted({s for p in mixture["phases"] for s in p["by_source"]})
    shares = {s: [p["by_source"].get(s, {}).get("share", 0.0) for p in mixture["phases"]] for s in sources}
    targets = {s: [p["by_source"].get(s, {}).get("target_share") for p in mixture["phases"]] for s in sources}
    # wide enough for the title and the legend whatever the number of phases
    fig = _figure(4 + 1.2 * len(phases), 4)
    ax = fig.subplots()
    x = np.arange(len(phases))
    bottom, target_top = np.zeros(len(phases)), np.zeros(len(phases))
    for i, source in enumerate(sources):
        bars = ax.bar(x, shares[source], bottom=bottom, width=0.6, label=source, color=f"C{i % 10}")
        ax.bar_label(bars, [(f"{v:.1%}" + ("" if t is None else f"\n(target {t:.1%})")) if v >= 0.06 else ""
                            for v, t in zip(shares[source], targets[source], strict=True)],
                     label_type="center", fontsize=7)
        bottom += np.array(shares[source])
        # where the stack's edges would be on target
        target_top += np.array([t or 0.0 for t in targets[source]])
        ax.hlines(target_top, x - 0.3, x + 0.3, color="black", linestyles="dashed", linewidth=1,
                  label="target" if i == 0 else None)
    ax.set_xticks(x, phases)
    ax.set_xlim(-0.6, len(phases) - 0.4)
    ax.set_ylabel(f"share of {unit}")
    ax.set_ylim(0, 1)
    fig.suptitle(f"share of {unit} per source, per phase")  # over the legend too: not clipped by a narrow plot
    handles, names = ax.get_legend_handles_labels()
    # top to bottom as the stack reads
    ax.legend(handles[::-1], names[::-1], fontsize=7, loc="upper left", bbox_to_anchor=(1, 1))
    return _save(fig, out, "mixture", {"unit": unit, "phases": phases, "shares": shares, "targets": targets},
                 "Mixture")


def histogram(out: Path, rows: list[str], source: str, name: str, thresholds: list[float]) -> dict[str, Any]:
    """The distribution of one score over the source's documents in the output, with the mix's thresholds."""
    values = (pq.read_table(rows, columns=["source", name], filters=[("source", "=", source)])
              .column(name).drop_null().to_numpy().astype(np.float64))
    values = values[np.isfinite(values)]
    low, high = (float(values.min()), float(values.max())) if len(values) else (0.0, 1.0)
    if low == high:
        low, high = low - 0.5, high + 0.5
    counts, edges = np.histogram(values, bins=BINS, range=(low, high))
    fig = _figure(6, 3)
    ax = fig.subplots()
    ax.stairs(counts, edges, fill=True, color="C0")
    for t in thresholds:
        ax.axvline(t, color="C3", linestyle="--", linewidth=1.5)
    ax.set_xlabel(name)
    ax.set_ylabel("documents")
    ax.set_title(f"{source}: {name}" + (f" (threshold {', '.join(_num(t) for t in thresholds)})" if thresholds
                                         else ""))
    data = {"source": source, "score": name, "docs": int(len(values)), "edges": [float(e) for e in edges],
            "counts": [int(c) for c in counts], "thresholds": thresholds}
    return _save(fig, out, f"score_{source}_{name}", data, f"{source}: {name}")


def cluster_map(out: Path, source: str, name: str, found: dict[str, Any]) -> dict[str, Any]:
    """The clusters of a `cluster` score on the fit's 2-D map of their centroids (the first two principal
    components): a disc per cluster, its area the cluster's documents in the output, labelled with its id."""
    rows = found["clusters"]
    fig = _figure(6, 5)
    ax = fig.subplots()
    xs, ys = [c["x"] for c in rows], [c["y"] for c in rows]
    biggest = max((c["docs"] for c in rows), default=0) or 1
    sizes = [20 + 1500 * c["docs"] / biggest for c in rows]
    ax.scatter(xs, ys, s=sizes, c=[f"C{c['id'] % 10}" for c in rows], alpha=0.6, edgecolors="black", linewidths=0.5)
    for c in rows if len(rows) <= 64 else ():
        ax.annotate(str(c["id"]), (c["x"], c["y"]), ha="center", va="center", fontsize=7)
    ax.set_xlabel("centroids' first principal component")
    ax.set_ylabel("second principal component")
    ax.set_title(f"{source}: {name}, {found['k']} clusters (area: documents in the output)")
    data = {"source": source, "score": name, "k": found["k"],
            "clusters": [{k: c[k] for k in ("id", "x", "y", "docs")} for c in rows]}
    return _save(fig, out, f"clusters_{source}_{name}", data, f"{source}: {name} clusters")


def score_thresholds(recipe: CheckedRecipe) -> dict[tuple[str, str], list[float]]:
    """The numbers the mix compares each score with in `where` (`edu >= 3`, `ppl between 10 and 100`)."""
    scores = {(s.source, s.name) for s in recipe.scores}
    found: dict[tuple[str, str], list[float]] = {}
    shares = [share for phase in recipe.order.phases for share in phase.shares]
    if recipe.mix is not None:
        shares += list(recipe.mix.shares)
    for share in shares:
        for name, value in _comparisons(share.where):
            if (share.source, name) in scores and value not in found.setdefault((share.source, name), []):
                found[(share.source, name)].append(value)
    return {k: sorted(v) for k, v in found.items()}


def _comparisons(expr: ast.Expr | None) -> list[tuple[str, float]]:
    """(column, number) for each comparison of a bare column with a number in an expression."""
    if isinstance(expr, ast.Binary):
        if expr.op in _COMPARISONS:
            for ref, num in ((expr.left, expr.right), (expr.right, expr.left)):
                if isinstance(ref, ast.Ref) and len(ref.parts) == 1 and isinstance(num, ast.Num):
                    return [(ref.parts[0], float(num.scaled))]
            return []
        return _comparisons(expr.left) + _comparisons(expr.right)
    if isinstance(expr, ast.Between) and isinstance(expr.value, ast.Ref) and len(expr.value.parts) == 1:
        return [(expr.value.parts[0], float(b.scaled)) for b in (expr.low, expr.high) if isinstance(b, ast.Num)]
    if isinstance(expr, ast.Unary):
        return _comparisons(expr.operand)
    return []
