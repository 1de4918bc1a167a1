"""The recipe as parsed: small frozen dataclasses. Nothing here knows about lark."""

from __future__ import annotations

from dataclasses import dataclass

from datarecipe.compiler.language.errors import Span

# Unit suffixes a number may carry, as multipliers. Counts are decimal (2B = two billion);
# sizes are bytes, decimal (MB) or binary (MiB).
COUNT_UNITS = {"K": 10**3, "M": 10**6, "B": 10**9, "T": 10**12}
SIZE_UNITS = {
    "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
    "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40,
}


@dataclass(frozen=True)
class Num:
    """A number as written, with its unit suffix (`%`, `B`, `MB`, ...) kept apart."""

    value: float
    unit: str
    text: str
    span: Span

    @property
    def is_int(self) -> bool:
        return float(self.value).is_integer() and "." not in self.text.split(self.unit or "\0")[0]

    @property
    def kind(self) -> str:
        """`percent`, `size`, `count` (a multiplier suffix) or `plain`."""
        if self.unit == "%":
            return "percent"
        if self.unit in SIZE_UNITS:
            return "size"
        if self.unit in COUNT_UNITS:
            return "count"
        return "plain"

    @property
    def scaled(self) -> float:
        """The value with its suffix applied: 2B -> 2e9, 128MB -> 1.28e8, 90% -> 0.9."""
        if self.unit == "%":
            return self.value / 100
        return self.value * (SIZE_UNITS.get(self.unit) or COUNT_UNITS.get(self.unit) or 1)


@dataclass(frozen=True)
class Str:
    value: str
    span: Span


@dataclass(frozen=True)
class Bool:
    value: bool
    span: Span


@dataclass(frozen=True)
class Ref:
    """A column: `text`, a score name, or `meta.a.b`."""

    parts: tuple[str, ...]
    span: Span


@dataclass(frozen=True)
class Arg:
    name: str | None
    value: Expr
    span: Span


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Arg, ...]
    span: Span
    name_span: Span


@dataclass(frozen=True)
class Unary:
    op: str  # "not" | "-"
    operand: Expr
    span: Span


@dataclass(frozen=True)
class Binary:
    op: str  # and or == != < <= > >= + - * / %
    left: Expr
    right: Expr
    span: Span
    op_span: Span


@dataclass(frozen=True)
class Between:
    value: Expr
    low: Expr
    high: Expr
    span: Span


@dataclass(frozen=True)
class InList:
    value: Expr
    items: ListLit
    negated: bool
    span: Span


@dataclass(frozen=True)
class Match:
    value: Expr
    pattern: Str
    negated: bool
    span: Span


@dataclass(frozen=True)
class Sql:
    """The expert escape hatch: a scalar SQL expression over the document's columns."""

    text: str
    span: Span


@dataclass(frozen=True)
class ListLit:
    items: tuple[Expr, ...]
    span: Span


Expr = Num | Str | Bool | Ref | Call | Unary | Binary | Between | InList | Match | Sql | ListLit


@dataclass(frozen=True)
class Setting:
    name: str
    value: Expr
    span: Span


@dataclass(frozen=True)
class Header:
    name: str
    settings: tuple[Setting, ...]
    span: Span


@dataclass(frozen=True)
class Source:
    name: str
    reader: Call
    span: Span
    name_span: Span


@dataclass(frozen=True)
class Rule:
    """One step of a filter block, with its own text as the label the drop ledger uses."""

    kind: str  # keep | drop | apply | dedup
    body: Expr
    text: str
    span: Span


@dataclass(frozen=True)
class Filter:
    source: str
    rules: tuple[Rule, ...]
    span: Span
    source_span: Span


@dataclass(frozen=True)
class ScoreEntry:
    """`name = scorer(...)` in a score block."""

    name: str
    call: Call
    span: Span
    name_span: Span


@dataclass(frozen=True)
class Score:
    source: str
    entries: tuple[ScoreEntry, ...]
    span: Span
    source_span: Span
    dedups: tuple[Rule, ...] = ()  # `dedup semantic(...)`: over the block's scores, after them


@dataclass(frozen=True)
class MixEntry:
    source: str
    share: Num
    where: Expr | None
    max_epochs: Num | None
    span: Span
    # How documents are chosen within the source: "" (uniform), "top" or "sample_by" `rank`.
    select: str = ""
    rank: Expr | None = None
    temperature: Num | None = None
    # `balance EXPR [weights [...] | weights "FILE"]`: the source's share spread over the values of EXPR (e.g. a
    # cluster id), evenly or by the weights (one per value 0, 1, ...), written here or in a JSON file.
    balance: Expr | None = None
    weights: ListLit | Str | None = None


@dataclass(frozen=True)
class Mix:
    budget: Num
    unit: str  # "" when the budget's suffix says it (128MB), else docs | bytes | tokens
    entries: tuple[MixEntry, ...]
    span: Span
    unit_span: Span
    settings: tuple[Setting, ...] = ()  # `on_short: renormalize`


@dataclass(frozen=True)
class OrderStep:
    kind: str  # shuffle | sort | call (`length_buckets(...)`, `prefix_metadata(...)`)
    key: Expr | None
    descending: bool
    span: Span
    call: Call | None = None


@dataclass(frozen=True)
class PhaseMix:
    """`mix { SOURCE P% ... }` inside a phase: the phase's own weights; its budget is the phase's share."""

    entries: tuple[MixEntry, ...]
    span: Span


@dataclass(frozen=True)
class Phase:
    """`phase NAME first X% | last X% | from A% to B%: STEP, ...`."""

    name: str
    at: str  # first | last | from
    start: Num | None  # `from A%`
    end: Num | None  # `first X%`, `last X%` (the width), `to B%`
    steps: tuple[OrderStep | PhaseMix, ...]
    span: Span
    name_span: Span
    at_span: Span


@dataclass(frozen=True)
class Order:
    items: tuple[OrderStep | Phase, ...]
    span: Span


@dataclass(frozen=True)
class ShardLimit:
    amount: Num
    unit: str  # "" for a size suffix, else rows | docs
    span: Span


@dataclass(frozen=True)
class Output:
    path: Str
    format: str
    format_span: Span
    shard: tuple[ShardLimit, ...]
    span: Span


Block = Header | Source | Filter | Score | Mix | Order | Output


@dataclass(frozen=True)
class Recipe:
    """A parsed recipe: its blocks in the order written."""

    blocks: tuple[Block, ...]
    text: str
