"""The build's manifest (`manifest.json`): what was built from what, and the summaries it records. The funnel
(per source: read, quarantined, dropped per rule, kept, left out by the mix, selected), the mixture (what the mix
asked of each source and what was written, over the build and per phase), and per score its values' summary."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from datarecipe.compiler.lower import queries
from datarecipe.compiler.plan import Plan
from datarecipe.operators import REGISTRY
from datarecipe.runtime.artifacts.shards import MANIFEST, Shard, sha256_file
from datarecipe.runtime.session import forget, parquet_view
from datarecipe.runtime.stages.mix import shortfalls

if TYPE_CHECKING:
    import duckdb
    from datarecipe.runtime.stages.context import StageContext


def build_manifest(ctx: StageContext, params: dict[str, Any], shards: list[Shard], text_bytes: int,
                   per_phase: list[dict[str, Counter[str]]], counted: bool, ordered: list[str], ledger_rows: int,
                   quarantined: Counter[str], out: Path) -> dict[str, Any]:
    """The manifest of a build written in `out`: its recipe, settings, fingerprints and inputs, its shards and
    totals, the mixture, the funnel and the scores, and its ledger and quarantine files."""
    per_source: dict[str, Counter[str]] = {}
    for counts in per_phase:
        for source, c in counts.items():
            per_source.setdefault(source, Counter()).update(c)
    return {
        "recipe": {"name": ctx.recipe.name, "path": ctx.recipe_path, "sha256": ctx.plan.recipe_sha256,
                   "copy": "recipe.recipe"},
        "format": params["format"],
        "seed": params["seed"],
        "license": params["license"],
        "fingerprints": {s.name: s.fingerprint for s in ctx.plan.stages},
        "inputs": {name: [{"path": f.path, "size": f.size, "fingerprint": f.fingerprint} for f in files]
                   for name, files in sorted(ctx.plan.files.items())},
        "shards": [s.__dict__ for s in shards],
        "mixture": mixture(ctx, per_source, per_phase),
        "totals": {"docs": sum(s.rows for s in shards), "text_bytes": text_bytes,
                   **({"tokens": sum(c["tokens"] for c in per_source.values())} if counted else {}),
                   "shard_bytes": sum(s.bytes for s in shards), "shards": len(shards)},
        "funnel": funnel(ctx),
        "scores": score_summary(ctx.plan, ordered),
        **({"clusters": found} if (found := clusters(ctx, ordered)) else {}),
        "ledger": {"path": "ledger.parquet", "rows": ledger_rows, "sha256": sha256_file(out / "ledger.parquet")},
        "quarantine": {"path": "quarantine.parquet", "rows": quarantined.total(),
                       "sha256": sha256_file(out / "quarantine.parquet"),
                       "by_source": dict(sorted(quarantined.items()))},
    }


def write_manifest(out: Path, manifest: dict[str, Any], files: list[str]) -> None:
    """The manifest, listing `files` of the build with their checksums, and its own checksum file: `recipe verify`
    notices an edit to any of them."""
    manifest["files"] = {name: sha256_file(out / name) for name in sorted(files)}
    (out / MANIFEST).write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
    (out / f"{MANIFEST}.sha256").write_text(f"{sha256_file(out / MANIFEST)}  {MANIFEST}\n", encoding="utf-8")


def dropped_examples(ctx: StageContext, con: duckdb.DuckDBPyConnection, ledgers: list[str],
                     per_rule: int = 3) -> list[dict[str, Any]]:
    """The first documents (by doc_id) each rule of the stages' `ledgers` left out, with their text as read, for
    the dataset card."""
    try:
        parquet_view(con, "docs", [f for s in ctx.plan.stages if s.kind == "ingest" for f in ctx.data_files(s.name)])
        if not ledgers:
            return []
        parquet_view(con, "ledger", ledgers)
        result = con.sql(queries.dropped_examples("ledger", "docs", per_rule))
        return [dict(zip(("source", "rule", "doc_id", "text"), row, strict=True)) for row in result.fetchall()]
    finally:
        forget(con, ["ledger", "docs"])


def mixture(ctx: StageContext, written: dict[str, Counter[str]],
            per_phase: list[dict[str, Counter[str]]]) -> dict[str, Any]:
    """What the mix asked of each source and what was written: docs, bytes and tokens, and the share of the
    budget's unit each source got against its target share, over the build and per phase."""
    mix = ctx.recipe.mix
    unit = mix.unit if mix else "docs"
    recorded = ctx.stats["mix"]

    def shares(counts: dict[str, Counter[str]], targets: dict[str, float]) -> dict[str, Any]:
        total = sum(c[unit] for c in counts.values())
        return {source: {**dict(counts.get(source, Counter())),
                         "share": counts.get(source, Counter())[unit] / total if total else 0.0,
                         "target_share": targets.get(source)}
                for source in sorted(counts.keys() | targets.keys())}

    overall: Counter[str] = Counter()
    phases = []
    for spec, record, counts in zip(ctx.recipe.order.phases, recorded["phases"], per_phase, strict=True):
        width = spec.end - spec.start
        targets = {s.source: s.share for s in spec.shares} if mix else {}
        for source, share in targets.items():
            overall[source] += width * share
        entry = {"name": spec.name, "start": spec.start, "end": spec.end, "budget": record["budget"],
                 "by_source": shares(counts, targets)}
        if record.get("renormalized"):
            entry["renormalized"] = record["renormalized"]
        phases.append(entry)
    by_source = shares(written, {s: round(v, 12) for s, v in overall.items()})
    return {"unit": unit, "budget": mix.budget if mix else None, "on_short": recorded["on_short"],
            "by_source": by_source, "phases": phases, "supply": recorded["supply"],
            "short": shortfalls(ctx.plan.stage("mix").params, recorded, by_source)}


def clusters(ctx: StageContext, ordered: list[str], example_chars: int = 200) -> dict[str, Any]:
    """Per source and `cluster` score: each cluster's size in the fit's sample, its documents in the output and
    their share of the source's, its place on the fit's 2-D map of the centroids, and an example (the output's
    smallest doc_id in it, cut at `example_chars`). Read a batch at a time: the memory is k examples."""
    out: dict[str, Any] = {}
    for stage in ctx.plan.stages:
        if stage.kind != "score":
            continue
        source = stage.params["source"]
        for entry in (e for e in stage.params["scores"] if e["op"] == "cluster"):
            model = orjson.loads((ctx.stage_dir(ctx.plan.stage(entry["fit"])) / "model" / "cluster.json").read_bytes())
            k = model["k"]
            docs = [0] * k
            examples: dict[int, tuple[str, str]] = {}
            batches = (b for path in ordered
                       for b in pq.ParquetFile(path).iter_batches(columns=["source", "doc_id", "text", entry["name"]]))
            for batch in batches:
                batch = batch.filter(pc.and_(pc.equal(batch.column("source"), source),
                                             pc.is_valid(batch.column(entry["name"]))))
                grouped = pa.table(batch).group_by(entry["name"]).aggregate([("doc_id", "count"), ("doc_id", "min")])
                firsts = batch.filter(pc.is_in(batch.column("doc_id"), grouped.column("doc_id_min")))
                texts = dict(zip(firsts.column("doc_id").to_pylist(), firsts.column("text").to_pylist(), strict=True))
                for cluster, count, first in zip(*(grouped.column(c).to_pylist() for c in
                                                   (entry["name"], "doc_id_count", "doc_id_min")), strict=True):
                    docs[cluster] += count
                    if cluster not in examples or first < examples[cluster][0]:
                        examples[cluster] = (first, (texts[first] or "")[:example_chars])
            total = sum(docs) or 1
            out.setdefault(source, {})[entry["name"]] = {
                "k": k, "fit": {key: model[key] for key in ("vectors", "iterations", "inertia")},
                "clusters": [{"id": i, "fit_size": model["sizes"][i], "docs": docs[i], "share": docs[i] / total,
                              "x": model["map"][i][0], "y": model["map"][i][1],
                              **({"example": {"doc_id": examples[i][0], "text": examples[i][1]}}
                                 if i in examples else {})} for i in range(k)]}
    return out


def score_summary(plan: Plan, ordered: list[str]) -> dict[str, Any]:
    """Per source and score: its scorer, cache key, and the count, nulls, min, mean and max of its values
    in the output (embeddings: count and nulls)."""
    out: dict[str, Any] = {}
    for stage in plan.stages:
        if stage.kind == "score":
            entries = stage.params["scores"]
        elif stage.step == "space" and stage.params["ranks"]:  # representative ranks, after the scores
            entries = stage.params["ranks"]
        else:
            continue
        source = stage.source
        names = [e["name"] for e in entries]
        table = pq.read_table(ordered, columns=["source", *names], filters=[("source", "=", source)])
        out.setdefault(source, {})
        for entry in entries:
            column = table.column(entry["name"]).combine_chunks()  # the mean's bits do not depend on the parts
            summary: dict[str, Any] = {"op": entry["op"], "count": len(column) - column.null_count,
                                       "nulls": column.null_count}
            if "cache" in entry:
                summary["cache"] = entry["cache"]
            if entry["returns"] in ("number", "int") and summary["count"]:
                bounds = pc.min_max(column).as_py()
                summary.update(min=bounds["min"], mean=pc.mean(column).as_py(), max=bounds["max"])
            out[source][entry["name"]] = summary
    return out


def filtered(ctx: StageContext, source: str) -> dict[str, Any]:
    """A source's funnel up to the mix: docs read, quarantined, dropped per rule in recipe order (the first rule
    that drops a document owns it), kept. Steps are lists, so their order survives JSON with sorted keys."""
    ingest = ctx.stage_stats(ctx.stage_of("ingest", source).name)
    filter_stage = ctx.stage_of("filter", source)
    filt = ctx.stage_stats(filter_stage.name)
    # `dedup minhash(scope: global)` drops in stages of its own (`dedup_global...`), after the filters.
    late: Counter[str] = Counter()
    for stage in ctx.plan.stages:
        if stage.step == "dedup_global" and filter_stage.name in stage.inputs:
            late.update(ctx.stage_stats(stage.name).get("dropped", {}).get(source, {}))
    dropped = Counter(filt.get("dropped", {}).get(source, {})) + late
    rules = ctx.recipe.filter_for(source).rules
    # A rule pack drops documents under `pack:reason` labels, counted here per reason too.
    by_reason = {r.label: {k: n for k, n in sorted(dropped.items(), key=lambda kv: (-kv[1], kv[0]))
                           if k.startswith(f"{r.op}:")} for r in rules if r.kind == "apply"}
    quarantined = ingest["quarantined"].get(source, 0)
    changed = filt.get("changed", {}).get(source, {})
    steps = [{"rule": r.label, "dropped": sum(by_reason[r.label].values()) if r.kind == "apply"
              else dropped.get(r.label, 0)} for r in rules]
    # `dedup semantic` (a score block's) drops after the scores, in a stage of its own.
    semantic = ctx.recipe.space_dedup_for(source)
    if semantic is not None:
        counts = ctx.stage_stats(ctx.stage_of("space", source).name).get("dropped", {}).get(source, {})
        steps.append({"rule": semantic.label, "dropped": counts.get(semantic.label, 0)})
        late[semantic.label] += counts.get(semantic.label, 0)
    return {"read": ingest["rows"] + quarantined, "quarantined": quarantined,
            "dropped": steps, "dropped_by_reason": by_reason, "kept": filt["rows"] - sum(late.values()),
            # the documents each transform rewrote (some of which a later rule dropped), in recipe order
            "changed": [{"rule": r.label, "changed": changed.get(r.label, 0)} for r in rules
                        if r.kind == "apply" and REGISTRY[("pack", r.op)].rewrites]}


def filtered_words(ctx: StageContext, source: str) -> str:
    """A source's funnel up to the mix in words, naming the rule that removed the most: what an error that
    the source is short needs to say."""
    f = filtered(ctx, source)
    steps = [f"read {f['read']:,}", *([f"quarantined {f['quarantined']:,}"] if f["quarantined"] else []),
             *(f"`{s['rule']}` -{s['dropped']:,}" if s["dropped"] else f"`{s['rule']}` 0" for s in f["dropped"]),
             f"kept {f['kept']:,}"]
    worst = max(f["dropped"], key=lambda s: s["dropped"], default=None)
    most = f"; `{worst['rule']}` removed the most" if worst and worst["dropped"] else ""
    return f"its funnel: {', '.join(steps)}{most}"


def funnel(ctx: StageContext) -> dict[str, Any]:
    """Per source: its funnel up to the mix (`filtered`), then what the mix left out (and each phase's `where`,
    where the phases differ), the repeats it made, and what it selected."""
    out: dict[str, Any] = {}
    mix = ctx.stats.get("mix", {})
    phases = ctx.plan.stage("mix").params["phases"]
    for src in ctx.recipe.sources:
        f = filtered(ctx, src.name)
        left_out = mix.get("dropped", {}).get(src.name, {})
        selected = ctx.stats["order"]["by_source"].get(src.name, 0)
        # Where the phases that take the source ask different `where`s, what each phase's left out (documents
        # another phase may take): apart from the steps above, which count each document once.
        taking = [(p, record, share) for p, record in zip(phases, mix.get("phases", []), strict=False)
                  for share in p["shares"] if share["source"] == src.name]
        where_by_phase = [{"phase": p["name"], "rule": share["where_label"],
                           "excluded": f["kept"] - record.get("eligible", {}).get(src.name, f["kept"])}
                          for p, record, share in taking if share["where_label"]]
        out[src.name] = {
            **f,
            "left_out_by_mix": [{"rule": rule, "dropped": left_out[rule]}
                                for rule in sorted(left_out, key=lambda r: (r == "over budget", r))],
            **({"where_by_phase": where_by_phase} if len({s["where_label"] for _, _, s in taking}) > 1 else {}),
            "repeats": selected - (f["kept"] - sum(left_out.values())),
            "selected": selected,
        }
    return out
