"""Rule packs: the Gopher, C4 and FineWeb heuristics, one module each, computed per document over Arrow batches.

Each pack decides like the reference implementation (datatrove 0.10, which follows the papers) and names the
sub-rule that dropped a document. Its module holds its declaration and its rule: a function of one document
`rule(text, params, tokenizer)` that returns (why it drops the document or None, the rewritten text or None when
unchanged). `declare_pack` turns the rule into the pack's Arrow kernel: per row, the reason it drops the document
or NULL; for a pack that also rewrites (c4), a struct {drop: the reason or NULL, text: the new text or NULL}. Their
word counts come from `wordsplit.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from datarecipe.operators.base import Operator, Param, declare
from datarecipe.operators.packs.wordsplit import Tokenizer, tokenizer

Rule = Callable[[str, dict[str, Any], Tokenizer], tuple[str | None, str | None]]


def declare_pack(rule: Rule, name: str, params: Iterable[Param], doc: str, rewrites: bool = False) -> Operator:
    """The filter operator `name` whose kernel applies `rule` to each document (see the package docstring)."""

    def kernel(text: Any, **p: Any) -> Any:
        import pyarrow as pa  # imported when a build runs, so `recipe check` stays fast

        tok = tokenizer()
        drops: list[str | None] = []
        texts: list[str | None] = []
        for value in text.to_pylist():
            if value is None:
                drops.append(None)
                texts.append(None)
                continue
            drop, new = rule(value, p, tok)
            drops.append(drop)
            texts.append(new)
        if not rewrites:
            return pa.array(drops, pa.string())
        return pa.StructArray.from_arrays([pa.array(drops, pa.string()), pa.array(texts, pa.string())],
                                          names=["drop", "text"])

    kernel.__name__ = name
    return declare(kernel, name, "filter", params, doc, rewrites=rewrites)


def ratio(name: str, default: float, doc: str) -> Param:
    """A threshold on a share, which 0 turns off."""
    return Param(name, "float", default, doc + " (0 turns the check off)", min=0)


def duplicates(items: list[str]) -> tuple[int, int]:
    """How many items repeat an earlier one, and their total length."""
    seen: set[str] = set()
    n = chars = 0
    for x in items:
        if x in seen:
            n += 1
            chars += len(x)
        else:
            seen.add(x)
    return n, chars
