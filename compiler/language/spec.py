"""The checked recipe: what the checker hands the planner. Names are resolved, arguments bound
and defaulted, units applied. Expressions stay AST trees, already type-checked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from datarecipe.compiler.language import ast

# The canonical document schema every source is normalized to, with each column's type.
CANONICAL = {"doc_id": "string", "source": "string", "text": "string", "content_hash": "number",
             "meta": "string"}


@dataclass(frozen=True)
class SourceSpec:
    name: str
    format: str  # parquet | jsonl | text
    path: str
    text_column: str
    id_column: str
    on_error: str  # fail | quarantine


@dataclass(frozen=True)
class RuleSpec:
    """A filter step. `keep`/`drop` carry a boolean expression; `apply` and `dedup` an operator and
    its arguments."""

    kind: str  # keep | drop | apply | dedup
    label: str
    expr: ast.Expr | None = None
    op: str = ""
    args: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class FilterSpec:
    source: str
    rules: tuple[RuleSpec, ...]


@dataclass(frozen=True)
class ScoreSpec:
    """`name = op(...)` for one source. `args` hold literal parameters; `value` the expression of `expr`;
    `inputs` the sources a fitted scorer is trained on, by role (`target`, `raw`, `positive`, ...)."""

    source: str
    name: str
    op: str
    kind: str  # model | fitted | sql | python | space (Operator.scorer)
    returns: str  # number | vector
    args: tuple[tuple[str, Any], ...] = ()
    value: ast.Expr | None = None
    inputs: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SpaceDedupSpec:
    """`dedup semantic(...)` in a source's score block: it runs on the scored documents (`args` name the vector
    score and, optionally, the cluster score it works within)."""

    source: str
    label: str
    op: str
    args: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class MixShare:
    source: str
    share: float  # a fraction of the budget, in the budget's unit
    where: ast.Expr | None
    where_label: str
    select: str = ""  # "" (uniform) | top | sample_by
    rank: ast.Expr | None = None
    temperature: float = 1.0
    # `balance X`: the source's share spread over the values of X (a cluster id) evenly, or by `weights`
    # (one per value 0, 1, ...; a value beyond the list weighs 0)
    balance: ast.Expr | None = None
    weights: tuple[float, ...] = ()
    balance_label: str = ""  # the balance expression as written
    weights_file: str = ""  # `weights "FILE"`: a JSON list of weights, or {"ID": weight}, read by the engine
    k: int = 0  # with `balance` by a `cluster` score: its k (a weights file must give k weights)


@dataclass(frozen=True)
class MixSpec:
    unit: str  # docs | bytes | tokens
    budget: int
    shares: tuple[MixShare, ...]
    on_short: str = "fail"  # fail | renormalize
    # Per source, how many times one document may appear in the whole build (`max_epochs`, default 1).
    caps: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class StepSpec:
    """An ordering step: `shuffle`, `sort` (by `key`) or `length_buckets` (with `args`)."""

    kind: str
    key: ast.Expr | None = None
    descending: bool = False
    args: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class PhaseSpec:
    """A stretch [start, end) of the training order (fractions of the budget), its mix and its order."""

    name: str
    start: float
    end: float
    shares: tuple[MixShare, ...]  # the phase's own mix, else the recipe's
    steps: tuple[StepSpec, ...]  # the phase's own order steps, else the order block's top-level ones
    own_mix: bool = False


@dataclass(frozen=True)
class PrefixSpec:
    """`prefix_metadata(value, until: X%)`: MeCo's metadata prefix over the first `until` of the order."""

    value: ast.Expr
    until: float
    label: str
    separator: str


@dataclass(frozen=True)
class OrderSpec:
    """The phases in training order; a recipe without phases has one, `all`, spanning the whole build."""

    phases: tuple[PhaseSpec, ...]
    prefix: PrefixSpec | None = None


@dataclass(frozen=True)
class OutputSpec:
    path: str
    format: str  # parquet | jsonl
    shard_bytes: int
    shard_rows: int  # 0: no row limit


@dataclass(frozen=True)
class CheckedRecipe:
    name: str
    seed: int
    tokenizer: str
    license: str
    sources: tuple[SourceSpec, ...]
    filters: tuple[FilterSpec, ...]
    scores: tuple[ScoreSpec, ...]
    mix: MixSpec | None
    order: OrderSpec
    output: OutputSpec
    text: str
    language: tuple[str, ...] = ()  # ISO 639 codes, for the dataset card
    space_dedups: tuple[SpaceDedupSpec, ...] = ()

    def space_dedup_for(self, source: str) -> SpaceDedupSpec | None:
        return next((d for d in self.space_dedups if d.source == source), None)

    def weights_files(self) -> list[str]:
        """The files of mix weights the recipe reads (`balance X weights "FILE"`), in order, once each."""
        return list(dict.fromkeys(s.weights_file for p in self.order.phases for s in p.shares if s.weights_file))

    def filter_for(self, source: str) -> FilterSpec:
        return next((f for f in self.filters if f.source == source), FilterSpec(source, ()))

    def scores_for(self, source: str) -> tuple[ScoreSpec, ...]:
        return tuple(s for s in self.scores if s.source == source)

    def score_columns(self) -> dict[str, str]:
        """The columns a build adds to the canonical schema, with their types: `n_tokens` (with a tokenizer),
        then every score, in the order first defined."""
        return ({"n_tokens": "int"} if self.tokenizer else {}) | {s.name: s.returns for s in self.scores}
