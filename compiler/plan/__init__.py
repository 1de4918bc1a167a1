"""The plan: an engine-neutral DAG of stages, each with its inputs, parameters, SQL and a
fingerprint of everything that decides its output."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, replace
from fractions import Fraction
from typing import Any

from datarecipe.compiler.language.spec import CheckedRecipe, MixShare, RuleSpec, ScoreSpec, SourceSpec
from datarecipe.compiler.lower import (
    expr_sql,
    literal,
    macros_sql,
    render,
    selection_key,
    shuffle_key,
    size_sql,
)
from datarecipe.compiler.plan.stages import (
    OUTPUT_VERSION,
    PLAN_VERSION,
    SCORERS_VERSION,
    SPACE_VERSION,
    InputFile,
    Plan,
    Stage,
    code_digest,
    fingerprint,
)
from datarecipe.operators import REGISTRY, FilterStep
from datarecipe.operators.dedup import minhash

__all__ = ["OUTPUT_VERSION", "PLAN_VERSION", "SCORERS_VERSION", "InputFile", "Plan", "Stage", "apportion",
           "code_digest", "fingerprint", "plan"]

# Parameters that change how fast a scorer runs, not what it computes: left out of its cache key. On a GPU (a
# precision other than float32), `batch` is the rows of every forward pass, which decide a value's last bits, so
# it is part of the key there; on a CPU every text runs alone (operators/scorers/models.py).
_SPEED_PARAMS = ("batch",)


# A model or tokenizer the caller did not resolve (a plan made without I/O, as tests do).
_UNRESOLVED = InputFile("", 0, "unresolved")


def _ingest(src: SourceSpec, files: tuple[InputFile, ...]) -> Stage:
    sql = render("ingest.sql.j2", stage=f"ingest_{src.name}", source=src.name, format=src.format, path=src.path,
                 id_column=src.id_column)
    params = {"format": src.format, "path": src.path, "text": src.text_column, "id": src.id_column,
              "on_error": src.on_error, "files": [asdict(f) for f in files],
              # rows with ids are deduplicated by a join, after which the engine restores the order they were read in
              **({"sorted_by": "_row"} if src.id_column else {})}
    return Stage(f"ingest_{src.name}", "ingest", (), params, sql, step="ingest", source=src.name)


def _filter(src: SourceSpec, rules: tuple[RuleSpec, ...], files: dict[str, tuple[InputFile, ...]]) -> Stage:
    # Consecutive row rules share one CASE; each dedup is a window step of its own.
    name = f"filter_{src.name}"
    steps: list[dict[str, Any]] = []
    rewritten = False
    for rule in rules:
        if rule.kind in ("apply", "dedup"):
            op = REGISTRY[("pack" if rule.kind == "apply" else "dedup", rule.op)]
            rewritten = rewritten or op.rewrites
            if op.lower is not None:  # lowered to SQL: strip_lines, url_blocklist, the dedups
                step = op.lower(FilterStep(rule.label, dict(rule.args), name, len(steps) + 1, rewritten,
                                           files.get(f"{src.name}:{rule.op}", ()), expr_sql))
                if step is not None:  # None: it runs in a stage of its own (a global minhash)
                    steps.append(step)
                continue
            # a kernel; a plugin's is told the doc_id it may fail on
            steps.append({"kind": "apply", "op": rule.op, "params": json.dumps(dict(rule.args), sort_keys=True),
                          "prefix": f"{rule.op}:", "located": bool(op.fingerprint),
                          "changes": rule.label if op.rewrites else ""})
            continue
        assert rule.expr is not None
        entry = {"kind": rule.kind, "label": rule.label, "sql": expr_sql(rule.expr, "bool")}
        if not steps or steps[-1]["kind"] != "rows":
            steps.append({"kind": "rows", "rules": []})
        steps[-1]["rules"].append(entry)
    sql = render("filter.sql.j2", stage=name, source=src.name, input=f"ingest_{src.name}", steps=steps,
                 rewrites=rewritten)
    tables = [s["table"] for s in steps if "table" in s]  # files the stage reads (url_blocklist), by sha256
    return Stage(name, "sql", (f"ingest_{src.name}",),
                 {"rules": [r.label for r in rules], **({"tables": tables} if tables else {}), "sorted_by": "doc_id"},
                 sql,
                 partition=_filter_partition(steps), step="filter", source=src.name)


def _filter_partition(steps: list[dict[str, Any]]) -> str | None:
    """How a filter stage may be split: by any rows when it has no dedup; by the key of its exact dedups when
    they all dedup the text as read (a normalized key groups whatever the plain content hash groups); not at all
    with MinHash, or a dedup after a rewrite (its key is not a column of the input)."""
    keys = {s["key"] for s in steps if s["kind"] == "dedup"}
    if any(s["kind"] == "minhash" or s["kind"] == "dedup" and s["rewritten"] for s in steps):
        return None
    if len(keys) == 2 and "content_hash" in keys:
        keys.discard("content_hash")
    return keys.pop() if len(keys) == 1 else "" if not keys else None


def apportion(budget: int, shares: list[float]) -> list[int]:
    """Whole targets that sum to the budget exactly (largest remainder; ties go to the first source). Shares are
    taken as the decimals they were written as, so 45 x 70% is 31.5, not 31.4999..."""
    exact = [budget * Fraction(s).limit_denominator(10**12) for s in shares]
    targets = [int(x) for x in exact]
    by_remainder = sorted(range(len(shares)), key=lambda i: (-(exact[i] - targets[i]), i))
    for i in by_remainder[: budget - sum(targets)]:
        targets[i] += 1
    return targets


def _global_minhash(recipe: CheckedRecipe) -> dict[str, tuple[str, RuleSpec]]:
    """Per source whose block ends with `dedup minhash(scope: global)`: the stage that dedups it with the
    other sources of the same parameters (`dedup_global`, then `dedup_global_2`, ...), and the rule."""
    groups: dict[tuple[Any, ...], str] = {}
    out: dict[str, tuple[str, RuleSpec]] = {}
    for src in recipe.sources:
        rules = recipe.filter_for(src.name).rules
        if rules and rules[-1].op == "minhash" and dict(rules[-1].args)["scope"] == "global":
            key = minhash.global_key(dict(rules[-1].args))
            groups.setdefault(key, "dedup_global" + (f"_{len(groups) + 1}" if groups else ""))
            out[src.name] = (groups[key], rules[-1])
    return out


def _dedup_global(recipe: CheckedRecipe) -> list[Stage]:
    """MinHash dedup across sources: one stage per group, over the group's filter outputs."""
    members = _global_minhash(recipe)
    stages = []
    for name in dict.fromkeys(stage for stage, _ in members.values()):
        group = [(source, rule) for source, (stage, rule) in members.items() if stage == name]
        inputs = tuple(f"filter_{source}" for source, _ in group)
        step = minhash.step(group[0][1].label, dict(group[0][1].args), name, 1)
        labels = [{"source": source, "label": rule.label} for source, rule in group]
        sql = render("minhash_global.sql.j2", stage=name, inputs=inputs, step=step, labels=labels)
        stages.append(Stage(name, "sql", inputs, {"rules": labels, "sorted_by": "doc_id"}, sql,
                            step="dedup_global"))
    return stages


def _feeds(recipe: CheckedRecipe) -> dict[str, str]:
    """Per source, the stage holding its filtered (and deduplicated) documents."""
    late = {source: stage for source, (stage, _) in _global_minhash(recipe).items()}
    return {s.name: late.get(s.name, f"filter_{s.name}") for s in recipe.sources}


def _fit_name(score: ScoreSpec) -> str:
    return f"fit_{score.source}_{score.name}"


def _fit(recipe: CheckedRecipe, score: ScoreSpec, feeds: dict[str, str]) -> Stage:
    """Training a fitted scorer: the documents of each input source, in doc_id order."""
    name = _fit_name(score)
    roles = [{"role": role, "source": source, "stage": feeds[source]} for role, source in score.inputs]
    sql = render("fit.sql.j2", stage=name, op=score.op, roles=roles)
    params = {"op": score.op, "args": dict(score.args), "inputs": dict(score.inputs), "seed": recipe.seed}
    return Stage(name, "fit", tuple(dict.fromkeys(r["stage"] for r in roles)), params, sql, step="fit",
                 source=score.source)


def _cluster_fit(recipe: CheckedRecipe, score: ScoreSpec, feeds: dict[str, str], vectors: dict[str, Any]) -> Stage:
    """Fitting a `cluster` score's centroids on a seeded sample of the source's distinct vectors, which it reads
    from the embedding's score cache after scoring the texts the cache lacks (as the score stage would)."""
    name = _fit_name(score)
    args = dict(score.args)
    sql = render("cluster_fit.sql.j2", stage=name, source=score.source, input=feeds[score.source], vectors=vectors,
                 limit=args["k"] * args["sample"], seed=str(recipe.seed))
    params = {"op": score.op, "args": args, "vectors": vectors, "seed": recipe.seed, "kernels": SPACE_VERSION}
    return Stage(name, "fit", (feeds[score.source],), params, sql, step="fit", source=score.source)


def _cache_key(score: ScoreSpec, precision: str, weights: str, fit: str, code: str = "") -> str:
    """What a cached score value depends on: the scorer's code, parameters and model, or fitted model; for a
    plugin's scorer, its fingerprint (package, version, source)."""
    args = {k: v for k, v in score.args if k not in _SPEED_PARAMS or score.kind == "model" and precision != "float32"}
    doc = {"v": SCORERS_VERSION, "op": score.op, "args": args, "precision": precision if score.kind == "model"
           else "", "weights": weights, "fit": fit, **({"code": code} if code else {})}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


def _score(recipe: CheckedRecipe, source: str, feeds: dict[str, str], fitted: dict[str, str],
           files: dict[str, tuple[InputFile, ...]], precision: str) -> Stage:
    """A source's score columns. `fitted` maps fit stage names to their fingerprints."""
    scores: list[dict[str, Any]] = []
    if recipe.tokenizer:  # token counts are a cached score of every source
        tok = files.get("tokenizer", (_UNRESOLVED,))[0]
        key = hashlib.sha256(json.dumps({"v": SCORERS_VERSION, "op": "tokens", "tokenizer": tok.fingerprint},
                                        sort_keys=True).encode()).hexdigest()[:16]
        scores.append({"name": "n_tokens", "op": "tokens", "kind": "tokens", "returns": "int",
                       "args": {"tokenizer": recipe.tokenizer}, "cache": key})
    for sc in recipe.scores_for(source):
        if sc.kind != "set":  # a set-level score is the space stage's, after this one
            scores.append(_entry(sc, files, precision, fitted, recipe.scores))
    name = f"score_{source}"
    sql = render("score.sql.j2", stage=name, source=source, input=feeds[source], scores=scores)
    inputs = (feeds[source],) + tuple(s["fit"] for s in scores if "fit" in s)
    # Equal texts in one part: each is scored once, and looked up where it is.
    return Stage(name, "score", inputs, {"source": source, "scores": scores, "sorted_by": "doc_id"}, sql,
                 partition="content_hash",
                 step="score", source=source)


def _entry(sc: ScoreSpec, files: dict[str, tuple[InputFile, ...]], precision: str, fitted: dict[str, str],
           recipe_scores: tuple[ScoreSpec, ...] = ()) -> dict[str, Any]:
    """One score of a score stage: how it is computed and, when cached, its cache key (`recipe_scores`: the
    recipe's, where a score names another)."""
    entry: dict[str, Any] = {"name": sc.name, "op": sc.op, "kind": sc.kind, "returns": sc.returns,
                             "args": dict(sc.args)}
    if sc.kind == "sql":
        assert sc.value is not None
        entry["sql"] = expr_sql(sc.value, "number")
    elif sc.kind == "model":
        model = files.get(f"model:{entry['args']['path']}", (_UNRESOLVED,))[0]
        entry.update(precision=precision, cache=_cache_key(sc, precision, model.fingerprint, ""))
    elif sc.kind == "python":
        entry.update(cache=_cache_key(sc, "", "", "", REGISTRY[("scorer", sc.op)].fingerprint))
    else:  # fitted, or a cluster (`space`): keyed by its fit, whose fingerprint holds its inputs
        fit = _fit_name(sc) if sc.op != "centroid_distance" else f"fit_{sc.source}_{entry['args']['clusters']}"
        entry.update(fit=fit, cache=_cache_key(sc, "", "", fitted[fit]))
        if sc.op == "cluster":
            entry.update(returns="int", vectors=entry["args"]["vectors"])
        elif sc.op == "centroid_distance":
            entry.update(vectors=_cluster_of(recipe_scores, sc)["vectors"])
    return entry


def _cluster_of(scores: tuple[ScoreSpec, ...], sc: ScoreSpec) -> dict[str, Any]:
    """The arguments of the `cluster` score a `centroid_distance` names."""
    return dict(next(s for s in scores if s.source == sc.source and s.name == dict(sc.args)["clusters"]).args)


def _vectors_entry(recipe: CheckedRecipe, sc: ScoreSpec, files: dict[str, tuple[InputFile, ...]],
                   precision: str) -> dict[str, Any]:
    """The entry of the embedding a `cluster` score reads."""
    vectors = next(v for v in recipe.scores_for(sc.source) if v.name == dict(sc.args)["vectors"])
    return _entry(vectors, files, precision, {})


def _space(recipe: CheckedRecipe, source: str, provider: str) -> Stage | None:
    """The set-level work of a source's embedding space, on its scored documents (operators/space): `dedup
    semantic(...)` (SemDeDup), then each `representative(...)` score. None when the source has neither."""
    spec = recipe.space_dedup_for(source)
    ranks = [{"name": s.name, "op": s.op, "returns": "int", **dict(s.args)} for s in recipe.scores_for(source)
             if s.kind == "set"]
    if spec is None and not ranks:
        return None
    name = f"space_{source}"
    dedup = {"label": spec.label, **dict(spec.args)} if spec is not None else None
    sql = render("space.sql.j2", stage=name, source=source, input=provider, dedup=dedup, ranks=ranks)
    params = {"dedup": dedup, "ranks": ranks, "sorted_by": "doc_id", "kernels": SPACE_VERSION}
    return Stage(name, "sql", (provider,), params, sql, step="space", source=source)


def _pct(x: float) -> str:
    return f"{x * 100:.4g}%"


def _balance(share: MixShare, phase: int, files: dict[str, tuple[InputFile, ...]]) -> dict[str, Any]:
    """A share's `balance X [weights ...]` for mix.sql.j2: the group of each document (`group_sql`), the weight
    of its group (`weight_sql`, over the pool's `_group_N`), and its `where` narrowed to groups of weight above 0,
    with the ledger's label saying so. Weights from a file are a table the engine registers (`table`: read by
    runtime/stages/mix.py, fingerprinted, so an edit re-runs the mix)."""
    if share.balance is None:
        return {"group_sql": "", "weight_sql": "", "weights": []}
    group = expr_sql(share.balance)
    if not share.weights and not share.weights_file:
        return {"group_sql": group, "weight_sql": "1.0", "weights": []}
    weights: Any = [float(w) for w in share.weights]
    table: dict[str, Any] = {}
    if share.weights_file:
        file = files.get(f"weights:{share.weights_file}", (_UNRESOLVED,))[0]
        table = {"name": f"mix__weights_{phase}_{share.source}", "kind": "weights", "path": share.weights_file,
                 "size": file.size, "fingerprint": file.fingerprint, "k": share.k}
        weights = share.weights_file

    def weight_of(value: str) -> str:  # the weight of group id `value`: null for one that is not 0, 1, 2, ...
        listed = f"(SELECT weights FROM {table['name']})" if table else literal(weights)
        number = f"TRY_CAST({value} AS DOUBLE)"
        return (f"CASE WHEN {number} >= 0 AND {number} = floor({number}) "
                f"THEN list_extract({listed}, CAST({number} AS BIGINT) + 1) END")

    where = expr_sql(share.where, "bool") if share.where else "true"
    label = f"weight 0 in `balance {share.balance_label}`"
    return {"group_sql": group, "weight_sql": weight_of(f"substr(_group_{phase}, 2)"), "weights": weights,
            "where_sql": f"({where}) AND coalesce({weight_of(group)} > 0, false)",
            "where_label": f"{share.where_label} or {label}" if share.where_label else label,
            **({"table": table} if table else {})}


def _mix(recipe: CheckedRecipe, providers: dict[str, str], files: dict[str, tuple[InputFile, ...]]) -> Stage:
    """The documents each phase takes from each source. The engine sets each phase's targets from what the
    sources have left (runtime/stages/mix.py), so `max_epochs` holds over the whole build."""
    # Per input stage, the sources the mix takes from it (a `dedup_global` stage holds several).
    taken: dict[str, list[str]] = {}
    for src in recipe.sources:
        taken.setdefault(providers[src.name], []).append(src.name)
    mix = recipe.mix
    budget = mix.budget if mix else 0
    phases = recipe.order.phases
    budgets = apportion(budget, [p.end - p.start for p in phases]) if mix else [0] * len(phases)
    rendered: list[dict[str, Any]] = []
    wheres: dict[str, dict[str, str]] = {}  # per source, the `where` of each phase that takes it
    for phase, phase_budget in zip(phases, budgets, strict=True):
        shares: list[dict[str, Any]] = [
            {"source": s.source, "share": s.share, "where_sql": expr_sql(s.where, "bool") if s.where else "true",
             "where_label": s.where_label, "select": s.select, "key_sql": selection_key(s, recipe.seed),
             **_balance(s, len(rendered), files)}
            for s in phase.shares]
        if not mix:  # every document of every source, once
            shares = [{"source": s.name, "share": None, "where_sql": "true", "where_label": "", "select": "",
                       "key_sql": "0", "group_sql": ""} for s in recipe.sources]
        for s in shares:
            wheres.setdefault(s["source"], {})[phase.name] = s["where_label"]
        label = f"{_pct(phase.start)} to {_pct(phase.end)} of the order"
        rendered.append({"name": phase.name, "start": phase.start, "end": phase.end, "budget": phase_budget,
                         "label": label, "shares": shares})
    # The ledger's rule for a document no phase may take: the `where` that left it out, with each phase's name
    # where the phases ask different ones.
    labels: dict[str, str] = {}
    for source, by_phase in wheres.items():
        if all(by_phase.values()):  # else some phase may take any of its documents
            distinct = set(by_phase.values())
            labels[source] = distinct.pop() if len(distinct) == 1 else \
                ", ".join(f"{label} (phase {name})" for name, label in by_phase.items())
    caps = [(source, float(cap)) for source, cap in mix.caps] if mix else [(s.name, 1.0) for s in recipe.sources]
    size = size_sql(mix.unit if mix else "")
    sql = render("mix.sql.j2", stage="mix", inputs=taken, phases=rendered, caps=caps, labels=sorted(labels.items()),
                 seed=str(recipe.seed), budget=budget, unit=mix.unit if mix else "", size=size)
    params = {"unit": mix.unit if mix else "", "budget": budget, "on_short": mix.on_short if mix else "fail",
              "sorted_by": "_mixpos",
              "caps": dict(caps), "feeds": {s.name: providers[s.name] for s in recipe.sources},
              "phases": [{**{k: v for k, v in p.items() if k not in ("shares", "label")},
                          "shares": [{k: v for k, v in s.items() if k not in ("where_sql", "key_sql", "group_sql",
                                                                               "weight_sql", "table")
                                      and (k != "weights" or s["group_sql"])}
                                     for s in p["shares"]]} for p in rendered]}
    tables = [s["table"] for p in rendered for s in p["shares"] if "table" in s]  # files of weights
    if tables:
        params["tables"] = tables
    return Stage("mix", "mix", tuple(taken), params, sql, step="mix")


def _order(recipe: CheckedRecipe) -> Stage:
    phases = []
    for phase in recipe.order.phases:
        keys, buckets, chains = [], None, None
        for step in phase.steps:
            if step.kind == "knn_chains":
                chains = dict(step.args)
            elif step.kind == "shuffle":
                keys.append({"sql": shuffle_key(recipe.seed), "desc": False})
            elif step.kind == "sort":
                assert step.key is not None
                keys.append({"sql": expr_sql(step.key), "desc": step.descending})
            else:
                buckets = dict(step.args)
        phases.append({"name": phase.name, "sort_keys": keys or [{"sql": "source", "desc": False}],
                       "buckets": buckets, "chains": chains})
    prefix = recipe.order.prefix
    rendered_prefix = None
    if prefix is not None:
        rendered_prefix = {"value_sql": expr_sql(prefix.value, "string"), "until": literal(prefix.until),
                           "label": prefix.label, "separator": prefix.separator}
    length = size_sql("tokens" if recipe.tokenizer else "bytes")
    sql = render("order.sql.j2", stage="order", input="mix", phases=phases, prefix=rendered_prefix,
                 seed=str(recipe.seed), length=length)
    params = {"phases": [{"name": p["name"], "steps": [s.kind for s in ph.steps]}
                         for p, ph in zip(phases, recipe.order.phases, strict=True)],
              "prefix": {"until": prefix.until, "label": prefix.label} if prefix else None, "sorted_by": "_opos",
              **({"kernels": SPACE_VERSION} if any(p["chains"] for p in phases) else {})}
    return Stage("order", "sql", ("mix",), params, sql, step="order")


def _plugins(stage: Stage) -> dict[str, str]:
    """The fingerprints of the plugin operators a stage runs, by name: they enter its parameters, so a change to
    a plugin re-runs the stages that use it (and, through their fingerprints, what follows), and no other.
    Read from its SQL (every kernel is called as `dr_NAME(`) and its scorers."""
    names = set(re.findall(r"\bdr_(\w+)\(", stage.sql))
    if stage.kind == "score":
        names.update(entry["op"] for entry in stage.params["scores"])
    plugins = {op.name: op.fingerprint for op in REGISTRY.values() if op.fingerprint}
    return {name: plugins[name] for name in sorted(names) if name in plugins}


def plan(recipe: CheckedRecipe, files: dict[str, tuple[InputFile, ...]], precision: str = "float32") -> Plan:
    """The stages of a checked recipe, given the files each source (and model) resolved to, and the
    numeric precision model scorers run at (float32 on CPU)."""
    macros = macros_sql()
    stages: list[Stage] = []
    done: dict[str, str] = {}

    def add(st: Stage) -> None:
        plugins = _plugins(st)
        if plugins:
            st = replace(st, params={**st.params, "plugins": plugins})
        fp = fingerprint(st, done, macros)
        done[st.name] = fp
        stages.append(replace(st, fingerprint=fp))

    for src in recipe.sources:
        add(_ingest(src, files.get(src.name, ())))
        add(_filter(src, recipe.filter_for(src.name).rules, files))
    for st in _dedup_global(recipe):
        add(st)
    feeds = _feeds(recipe)
    providers = dict(feeds)
    for src in recipe.sources:
        scores = recipe.scores_for(src.name)
        if not scores and not recipe.tokenizer:
            continue
        for sc in scores:
            if sc.kind == "fitted":
                add(_fit(recipe, sc, feeds))
            elif sc.op == "cluster":
                add(_cluster_fit(recipe, sc, feeds, _vectors_entry(recipe, sc, files, precision)))
        scored = _score(recipe, src.name, feeds, done, files, precision)
        add(scored)
        providers[src.name] = scored.name
        space = _space(recipe, src.name, scored.name)
        if space is not None:
            add(space)
            providers[src.name] = space.name
    add(_mix(recipe, providers, files))
    add(_order(recipe))
    out = recipe.output
    inputs = ("order",) + tuple(s.name for s in stages if s.name != "order")
    add(Stage("output", "write", inputs,
              {"version": OUTPUT_VERSION, "path": out.path, "format": out.format, "shard_bytes": out.shard_bytes,
               "shard_rows": out.shard_rows, "recipe": recipe.name, "license": recipe.license,
               "seed": recipe.seed, "scores": list(recipe.score_columns()),
               "phases": [p.name for p in recipe.order.phases]}, "", step="output"))
    sha = hashlib.sha256(recipe.text.encode()).hexdigest()
    return Plan(recipe.name, sha, macros, tuple(stages), files)
