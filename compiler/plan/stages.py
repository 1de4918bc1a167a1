"""The plan's data: its stages, the files its sources resolved to, and the one definition of what decides a
stage's output (its fingerprint, and the code digest DVC reads from it). Values only; the planner that makes
them is compiler/plan/__init__.py."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from datarecipe.compiler.lower import statements

# Bump when the meaning of a stage's output changes, so old cache entries are not reused.
PLAN_VERSION = "1"
# What a build directory holds (shards, manifest, card): bump it when the writer's output changes, so the output
# stage (and its DVC stage) runs again.
OUTPUT_VERSION = "5"
# Part of every score-cache key: bump it when a scorer's values change (operators/scorers/).
SCORERS_VERSION = "3"
# In the parameters of every stage that runs operators/space/kernels.py (a `cluster` fit, a space stage, an order
# with knn_chains), hence in their fingerprints and the clusters' cache keys: bump it when a kernel's results change.
SPACE_VERSION = "1"


@dataclass(frozen=True)
class InputFile:
    """One file a source resolved to, with a fingerprint of its content."""

    path: str
    size: int
    fingerprint: str  # sha256:..., or the store's etag/mtime for remote files


@dataclass(frozen=True)
class Stage:
    """One step of the plan.

    kind: `ingest` (read a source into the canonical schema), `sql` (a DuckDB script over
    the outputs of `inputs`), `fit` (train a fitted scorer on the documents its SQL selects),
    `score` (add a source's score columns, from the score cache or by running the scorers on the
    documents it lacks), `mix` (the documents each phase takes: SQL with the mix's arithmetic between its
    statements), `write` (shards, manifest and ledger of the build).

    partition: how an engine may split the stage over its input's rows and get the same output
    (runtime/executors/cluster.py): None, not at all (the stage runs whole); "", any split; otherwise a SQL
    expression over the input's columns, whose equal values must stay in one part (a dedup's key). It is not
    in the fingerprint: it says how the stage may run, not what it computes.

    step: the step of the pipeline it is (`ingest`, `filter`, `dedup_global`, `fit`, `score`, `space`, `mix`,
    `order`, `output`), and source: the source an ingest, filter, fit, score or space stage works on. Code
    that needs to know which stage it has reads these fields, never the name. Not in the fingerprint (the name is).
    """

    name: str
    kind: str
    inputs: tuple[str, ...]
    params: dict[str, Any]
    sql: str
    fingerprint: str = ""
    partition: str | None = None
    step: str = ""
    source: str = ""

    def statements(self) -> list[tuple[str, str]]:
        return statements(self.sql)


@dataclass(frozen=True)
class Plan:
    """A recipe's stages in the order they run (each after its inputs), and the files its inputs resolved to."""

    recipe: str
    recipe_sha256: str
    macros: str
    stages: tuple[Stage, ...]
    files: dict[str, tuple[InputFile, ...]] = field(default_factory=dict)

    def stage(self, name: str) -> Stage:
        return next(s for s in self.stages if s.name == name)

    def to_json(self) -> dict[str, Any]:
        return {"recipe": self.recipe, "recipe_sha256": self.recipe_sha256, "plan_version": PLAN_VERSION,
                "stages": [asdict(s) for s in self.stages],
                "files": {k: [asdict(f) for f in v] for k, v in self.files.items()}}


# ---- what decides a stage's output -------------------------------------------------------------------------
#
# A stage's output is decided by its code (its SQL; the macros, for a `sql` stage; the scorers' version, for a
# fit or score stage), its parameters and its inputs. The fingerprint hashes all three, the inputs by their own
# fingerprints, so a change anywhere upstream reaches every stage after it. DVC hashes the parameters (params.yaml)
# and the inputs (deps) itself, so its params take the code alone, as `code_digest`. Both are kept as they were
# first written: a change to either digest re-runs every cached stage and rewrites every dvc.lock.


def fingerprint(stage: Stage, upstream: dict[str, str], macros: str) -> str:
    """A stage's code, name, parameters and inputs (`upstream`: the fingerprints of the stages before it). Where a
    build is written (the output's `path`) is not what it is: a build has the same fingerprint, and so the same
    manifest, in a directory and in an object store."""
    params = {k: v for k, v in stage.params.items() if not (stage.kind == "write" and k == "path")}
    doc = {"v": PLAN_VERSION, "kind": stage.kind, "name": stage.name, "params": params,
           "sql": stage.sql, "macros": macros if stage.kind == "sql" else "",
           "inputs": [upstream[i] for i in stage.inputs]}
    blob = json.dumps(doc, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def code_digest(stage: Stage, macros: str) -> str:
    """A stage's code alone: the `code` of its DVC params, beside the parameters DVC hashes itself."""
    code = {"plan": PLAN_VERSION, "kind": stage.kind, "sql": stage.sql,
            "macros": macros if stage.kind == "sql" else "",
            "scorers": SCORERS_VERSION if stage.kind in ("fit", "score") else ""}
    return hashlib.sha256(json.dumps(code, sort_keys=True).encode()).hexdigest()[:16]
