"""`dedup exact(...)`: exact-duplicate removal, lowered to a window step of the filter stage (filter.sql.j2) over a
key of the text."""

from __future__ import annotations

from typing import Any

from datarecipe.operators.base import FilterStep, Operator, Param, register


def key(normalize: bool, rewritten: bool) -> str:
    """The SQL of the key equal texts share."""
    if normalize:
        return r"md5_number_lower(trim(regexp_replace(lower(text), '[^\pL\pN]+', ' ', 'g')))"
    # content_hash is of the text as read; after a transform, hash the text as it is now
    return "md5_number_lower(text)" if rewritten else "content_hash"


def lower(step: FilterStep) -> dict[str, Any]:
    return {"kind": "dedup", "label": step.label, "key": key(step.args["normalize"], step.rewritten),
            "rewritten": step.rewritten}


register(Operator(
    "exact", "dedup",
    (Param("normalize", "bool", False, "compare texts lowercased, with runs of punctuation and whitespace collapsed"),),
    "Exact-duplicate removal: of each group of equal texts, the smallest `doc_id` is kept.",
    lower=lower))
