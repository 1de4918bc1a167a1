"""The mix's arithmetic, between the statements of its SQL: how much each phase takes from each source.

The mix stage's SQL reports what the sources have (`@supply`), then for each phase what they have left after
earlier phases (`@remaining_N`); this module turns that into the phase's targets, which the engine writes into
`mix__targets` before the phase's selection runs, and reads back what the phase took (`@taken_N`).

A phase's targets are its budget apportioned by its weights (largest remainder, so they sum to the budget
exactly), less what earlier phases took beyond their own: each source's running total stays within one
document of its running target. A source that cannot meet its target stops the build with the numbers (the
default) or, with `on_short: renormalize`, gives up what it lacks to the other sources of the phase in
proportion to their weights; the manifest records each such change.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from typing import Any

from datarecipe.compiler.language.errors import RecipeError
from datarecipe.compiler.lower.queries import clear_mix_targets, insert_mix_targets
from datarecipe.compiler.plan import apportion


class Mixer:
    def __init__(self, stage: str, params: dict[str, Any], funnel: Callable[[str], str] | None = None):
        self.stage = stage
        self.params = params
        self.funnel = funnel  # a source's funnel up to the mix, in words: where a short source's documents went
        self.unit = params["unit"] or "docs"
        self.caps: dict[str, float] = params["caps"]
        self.supply: dict[str, dict[str, Any]] = {}
        self.asked: Counter[str] = Counter()  # the running target per source: what the phases so far asked
        self.taken: Counter[str] = Counter()  # what the phases took so far, per source
        self.phases: list[dict[str, Any]] = []

    def statement(self, con: Any, target: str, sql: str) -> bool:
        """Run one of the mix's own statements on a DuckDB connection (`@supply`, `@remaining_N`, which fills
        `mix__targets`, and `@taken_N`); False for any other."""
        kind, _, index = target.partition("_")
        if kind not in ("supply", "remaining", "taken"):
            return False
        result = con.execute(sql)
        names = [d[0] for d in result.description]
        rows = [dict(zip(names, row, strict=True)) for row in result.fetchall()]
        if kind == "supply":
            self.on_supply(rows)
        elif kind == "remaining":
            con.execute(clear_mix_targets(self.stage))
            con.executemany(insert_mix_targets(self.stage), self.targets(int(index), rows))
        else:
            self.on_taken(int(index), rows)
        return True

    def on_supply(self, rows: list[dict[str, Any]]) -> None:
        self.supply = {row["source"]: row for row in rows}

    def targets(self, i: int, rows: list[dict[str, Any]]) -> list[tuple[int, str, float, int]]:
        """Rows of `mix__targets` for phase i: (phase, source, target, upto), given what each source has left."""
        phase = self.params["phases"][i]
        left = {row["source"]: int(row["remaining"] + 1e-6) for row in rows}
        max_used = {row["source"]: int(row["max_used"]) for row in rows}
        sources = [s["source"] for s in phase["shares"]]
        # the documents of each source the phase's `where` lets it take (the funnel shows what it left out)
        record: dict[str, Any] = {"name": phase["name"], "start": phase["start"], "end": phase["end"],
                                  "budget": phase["budget"],
                                  "eligible": {s: int(self.supply[s][f"docs_{i}"]) for s in sources}}
        self.phases.append(record)
        if not self.params["budget"]:  # no mix block: every document once
            record["targets"] = {}
            return [(i, s, math.inf, 1) for s in sources]
        base = apportion(phase["budget"], [s["share"] for s in phase["shares"]])
        base_of = dict(zip(sources, base, strict=True))
        # what keeps the source's running total on its running target
        want = {s: max(0, self.asked[s] + base_of[s] - self.taken[s]) for s in sources}
        short = [s for s in sources if left.get(s, 0) < want[s]]
        if short and self.params["on_short"] == "renormalize":
            fixed = self.renormalize(i, want, left)
            record["renormalized"] = {s: {"asked": want[s], "got": fixed[s]} for s in sources if fixed[s] != want[s]}
            for s in sources:  # the running target now follows what was asked after renormalizing
                self.asked[s] = self.taken[s] + fixed[s] - base_of[s]
            want = fixed
        elif short:
            raise self.short_error(i, short, want, left)
        record["targets"] = want
        out = []
        for s in sources:
            self.asked[s] += base_of[s]
            once = self.supply[s][f"once_{i}"]
            passes = math.ceil(want[s] / once) + 1 if once else 0
            out.append((i, s, float(want[s]), int(min(self.caps[s], max_used.get(s, 0) + passes))))
        return out

    def renormalize(self, i: int, want: dict[str, int], left: dict[str, int]) -> dict[str, int]:
        """Water-filling: a source short of its target gives all it has; the rest of the phase's total goes to
        the others by their weights, and again while one of them runs short."""
        weights = {s["source"]: s["share"] for s in self.params["phases"][i]["shares"]}
        total = sum(want.values())
        fixed: dict[str, int] = {}
        while True:
            active = [s for s in weights if s not in fixed]
            rest = total - sum(fixed.values())
            if not active:
                has = sum(fixed.values())
                raise RecipeError(None, f"even renormalized, the sources of the mix{self._phase_words(i)} have "
                                  f"{has:,} {self.unit} between them and it asks for {total:,}",
                                  f"the largest budget they can fill is {self.best_budget():,} {self.unit}; lower "
                                  "the budget or raise `max_epochs`", stage=self.stage)
            weight = sum(weights[s] for s in active)
            alloc = dict(zip(active, apportion(rest, [weights[s] / weight for s in active]), strict=True))
            over = [s for s in active if alloc[s] > left.get(s, 0)]
            if not over:
                return {s: fixed.get(s, alloc.get(s, 0)) for s in weights}
            for s in over:
                fixed[s] = left.get(s, 0)

    def on_taken(self, i: int, rows: list[dict[str, Any]]) -> None:
        got = {row["source"]: {"size": int(row["size"] or 0), "docs": int(row["docs"])} for row in rows}
        for source, counts in got.items():
            self.taken[source] += counts["size"]
        self.phases[i]["taken"] = got

    def stats(self) -> dict[str, Any]:
        """What the phases asked and took, and what each source offered: one pass over its documents, per
        `where` (by its text), so `recipe check` can tell a budget that cannot be met before a build."""
        supply: dict[str, dict[str, Any]] = {s: {"once": row["once_any"], "by_where": {}}
                                             for s, row in self.supply.items()}
        for i, phase in enumerate(self.params["phases"]):
            for share in phase["shares"]:
                supply[share["source"]]["by_where"][share["where_label"]] = self.supply[share["source"]][f"once_{i}"]
        return {"phases": self.phases, "on_short": self.params["on_short"], "supply": supply}

    def known_shortfalls(self, supply: dict[str, dict[str, Any]]) -> list[tuple[str, str, str]] | None:
        """Before a build: (source, message, hint) for each share a previous build's supply proves cannot be
        met, or None when that supply does not cover this mix (a `where` it did not measure)."""
        if self.params["on_short"] == "renormalize":
            return []
        rows: dict[str, dict[str, Any]] = {}
        for i, phase in enumerate(self.params["phases"]):
            for share in phase["shares"]:
                known = supply.get(share["source"], {}).get("by_where", {})
                if share["where_label"] not in known:
                    return None
                row = rows.setdefault(share["source"], {"source": share["source"], "cap": self.caps[share["source"]]})
                row[f"once_{i}"] = known[share["where_label"]]
        for source, row in rows.items():  # the documents any phase may take: known when all ask the same
            wheres = {s["where_label"] for p in self.params["phases"] for s in p["shares"] if s["source"] == source}
            row["once_any"] = supply[source]["by_where"][wheres.pop()] if len(wheres) == 1 else math.inf
        self.supply = rows
        asked: Counter[str] = Counter()
        out = []
        for i, phase in enumerate(self.params["phases"]):
            for share, target in zip(phase["shares"], apportion(phase["budget"], [s["share"] for s in phase["shares"]]),
                                     strict=True):
                source = share["source"]
                asked[source] += target
                have = rows[source][f"once_{i}"] * self.caps[source]
                if target > have:
                    out.append((source, self._short(source, rows[source][f"once_{i}"], target, i), ""))
        for source, total in asked.items():
            once = rows[source]["once_any"]
            if total > once * self.caps[source] and not any(s == source for s, _, _ in out):
                out.append((source, self._short(source, once, total, None), ""))
        hint = (f"the largest budget these sources can fill is {self.best_budget():,} {self.unit}; lower the budget, "
                "raise `max_epochs`, change the weights, or set `on_short: renormalize` in the mix")
        return [(s, message, hint) for s, message, _ in out]

    def _short(self, source: str, once: float, asked: int, i: int | None) -> str:
        cap = self.caps[source]
        epochs = f" (x {cap:g} epochs = {once * cap:,.0f})" if cap != 1 else ""
        phases = self.params["phases"]
        whose = "the mix" if i is None or len(phases) == 1 else f"phase `{phases[i]['name']}`"
        return (f"source `{source}` is short: the last build had {once:,.0f} {self.unit} of it after filters{epochs}, "
                f"and {whose} asks for {asked:,} {self.unit}, short by {asked - once * cap:,.0f}")

    # ---- when a source runs short ----------------------------------------------------------------

    def best_budget(self) -> int:
        """The largest budget the sources can fill with these weights and caps: per source, what any phase may
        take over what all phases ask of it per unit of budget, and per phase, what that phase may take; then
        lowered until the whole targets, as rounded, fit too."""
        budget = self.params["budget"]
        asks: Counter[str] = Counter()
        bounds = []
        for i, phase in enumerate(self.params["phases"]):
            width = phase["budget"] / budget if budget else 0
            for s in phase["shares"]:
                ask = width * s["share"]
                asks[s["source"]] += ask
                if ask:
                    bounds.append(self.supply[s["source"]][f"once_{i}"] * self.caps[s["source"]] / ask)
        bounds += [self.supply[s]["once_any"] * self.caps[s] / ask for s, ask in asks.items() if ask]
        best = int(min(bounds, default=0))
        for _ in range(10_000):  # rounding moves a target by one unit per phase: a few steps at most
            if best <= 0 or not self._short_at(best):
                break
            best -= 1
        return max(best, 0)

    def _short_at(self, budget: int) -> bool:
        """Whether the whole targets of this budget ask a source for more than it has (per phase, or in all)."""
        phases = self.params["phases"]
        asked: Counter[str] = Counter()
        for i, (phase, phase_budget) in enumerate(zip(phases, apportion(budget, [p["end"] - p["start"]
                                                                                  for p in phases]), strict=True)):
            targets = apportion(phase_budget, [s["share"] for s in phase["shares"]])
            for share, target in zip(phase["shares"], targets, strict=True):
                source = share["source"]
                asked[source] += target
                if target > self.supply[source][f"once_{i}"] * self.caps[source]:
                    return True
        return any(total > self.supply[s]["once_any"] * self.caps[s] for s, total in asked.items())

    def _phase_words(self, i: int) -> str:
        phases = self.params["phases"]
        return "" if len(phases) == 1 else f" in phase `{phases[i]['name']}`"

    def short_error(self, i: int, short: list[str], want: dict[str, int], left: dict[str, int]) -> RecipeError:
        phase = self.params["phases"][i]
        shares = {s["source"]: s["share"] for s in phase["shares"]}
        unit = self.unit
        lines = []
        for s in short:
            once, cap = self.supply[s][f"once_{i}"], self.caps[s]
            have = f"{once:,.0f} {unit} after filters"
            if cap != 1:
                have += f" x {cap:g} epochs = {once * cap:,.0f}"
            if left.get(s, 0) < once * cap:
                have += f", {left.get(s, 0):,} left after earlier phases"
            whose = "the mix" if len(self.params["phases"]) == 1 else f"phase `{phase['name']}`"
            lines.append(f"source `{s}` is short{self._phase_words(i)}: it has {have}, {whose} asks for "
                         f"{want[s]:,} ({shares[s] * 100:g}% of {phase['budget']:,} {unit}), short by "
                         f"{want[s] - left.get(s, 0):,}" + (f" ({self.funnel(s)})" if self.funnel else ""))
        best = self.best_budget()
        empty = [s for s in short if not self.supply[s][f"once_{i}"]]
        hint = (f"no budget fits: {', '.join(f'`{s}`' for s in empty)} {'has' if len(empty) == 1 else 'have'} "
                "nothing left for the mix; loosen the "
                "rule that removed the most (or the mix's `where`), or take the source out of the mix"
                if empty and not best else
                f"the largest budget these sources can fill is {best:,} {unit}; lower the budget, raise `max_epochs`, "
                "change the weights, or set `on_short: renormalize` in the mix")
        return RecipeError(None, "; ".join(lines), hint, stage=self.stage)


# ---- what a build must tell: sources that got less than the mix asked --------------------------------------


def empty_sources(params: dict[str, Any], stats: dict[str, Any]) -> list[str]:
    """The sources the mix names (every source, without a mix block) of which no phase took a document."""
    taken = {s for phase in stats["phases"] for s, got in phase.get("taken", {}).items() if got["docs"]}
    return [s for s in params["caps"] if s not in taken]


def shortfalls(params: dict[str, Any], stats: dict[str, Any], by_source: dict[str, Any]) -> list[dict[str, Any]]:
    """For the manifest: each source the mix names that got no document, or less than a phase asked of it
    (`on_short: renormalize` gave the rest to the others), with the share of the budget's unit it got over the
    build (`by_source`, the manifest's) against its target."""
    out = []
    for source in params["caps"]:
        lowered = [p["name"] for p in stats["phases"]
                   if (r := p.get("renormalized", {}).get(source)) and r["got"] < r["asked"]]
        got = by_source.get(source, {})
        if lowered or not got.get("docs"):
            out.append({"source": source, "docs": got.get("docs", 0), "share": got.get("share", 0.0),
                        "target_share": got.get("target_share"), "renormalized_in": lowered})
    return out


def shortfall_words(short: dict[str, Any], mixture: dict[str, Any]) -> str:
    """One shortfall of the manifest's `mixture.short`, as the terminal, `recipe report` and the card say it."""
    source, unit, target = short["source"], mixture["unit"], short["target_share"]
    phases = short["renormalized_in"]
    where = " in phase " + ", ".join(f"`{p}`" for p in phases) if len(mixture["phases"]) > 1 else ""
    if not short["docs"]:
        given = ("nothing of it was left for the mix (see the funnel), and `on_short: renormalize` gave its whole "
                 "share to the other sources" if phases else
                 "its share of the budget rounds down to no document" if target else
                 "its filters left none of it (see the funnel)")
        return (f"source `{source}` is in the mix and got NO documents"
                + (f" (its target: {target:.2%} of the {unit})" if target else "") + f": {given}")
    return (f"source `{source}` got {short['share']:.2%} of the {unit}, against a target of {target:.2%}: it ran short"
            f"{where}, and `on_short: renormalize` gave what it lacked to the other sources")


def empty_error(empty: list[str], funnel: Callable[[str], str] | None = None) -> RecipeError:
    """`--strict`: a source the mix names that got no documents stops the build."""
    lines = [f"source `{s}` got no documents" + (f" ({funnel(s)})" if funnel else "") for s in empty]
    return RecipeError(None, "; ".join(lines) + ", and the run is `--strict`",
                       "loosen the rule or the `where` that left nothing of it, or take it out of the mix"
                       + ("" if funnel else "; `recipe report` shows its funnel"), stage="mix")


def read_weights(table: dict[str, Any], stage: str) -> Any:
    """The engine's side of `balance X weights "FILE"`: the file the plan fingerprinted, as a one-row table of the
    weight of each group 0, 1, ... (`weights`: a list of doubles). The file holds a JSON list of weights, or an
    object from group id to weight (an id it leaves out weighs 0), as a CLIMB-style search would write it. A file
    changed since it was fingerprinted, a weight below 0, no weight above 0, or (for a cluster score) other than
    one weight per cluster stops the build."""
    import hashlib
    import json

    import pyarrow as pa

    path = table["path"]

    def bad(message: str, hint: str) -> RecipeError:
        return RecipeError(None, f"the weights file: {message}", hint, stage=stage, input=path)

    try:
        data = open(path, "rb").read()  # noqa: SIM115 - one small read
    except OSError as exc:
        raise bad(f"cannot read it: {exc.strerror or exc}", "check the path") from None
    if f"sha256:{hashlib.sha256(data).hexdigest()}" != table["fingerprint"]:
        raise bad("it changed while the build was planned", "run the build again")
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad(f"it is not JSON ({exc})", 'write a list, `[2, 1, 0.5]`, or an object, `{"0": 2, "3": 1}`') from None
    k = table.get("k") or 0
    if isinstance(value, dict):
        ids = [key for key in value if isinstance(key, str) and key.isdigit() and str(int(key)) == key]
        if len(ids) < len(value) or k and any(int(key) >= k for key in ids) or len(value) > 1_000_000:
            raise bad("an object's keys are group ids, 0, 1, ... (no leading zeros)" + (f", below {k}" if k else ""),
                      'e.g. `{"0": 2, "3": 1}`')
        listed: list[Any] = [0.0] * (max(map(int, ids), default=-1) + 1)
        for key, weight in value.items():
            listed[int(key)] = weight
        value = listed
    elif isinstance(value, list) and k and len(value) != k:
        raise bad(f"it gives {len(value)} weights, and the clusters are {k}", f"one weight per cluster, 0 to {k - 1}")
    if not isinstance(value, list) or not all(isinstance(w, int | float) and not isinstance(w, bool)
                                              and math.isfinite(w) and w >= 0 for w in value):
        raise bad("it is not a list of weights, each a finite number of at least 0", "e.g. `[2, 1, 0.5, 1]`")
    if not any(value):
        raise bad("every weight is 0", "give some group a weight above 0")
    return pa.table({"weights": pa.array([[float(w) for w in value]], pa.list_(pa.float64()))})
