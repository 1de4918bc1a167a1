"""`dedup exact(...)`: exact-duplicate removal, lowered to a step of the filter stage (filter.sql.j2) that finds the
duplicates on the narrow (doc_id, key) columns, so that no text is held in DuckDB's window."""

from __future__ import annotations

from typing import Any

from datarecipe.operators.base import FilterStep, Operator, Param, register

# The normalized key used to be the SQL
#     md5_number_lower(trim(regexp_replace(lower(text), '[^\pL\pN]+', ' ', 'g')))
# (DuckDB's lower, RE2's letter and number classes), at about 7 MB/s. `dr_exact_key` computes the same value natively
# (native/src/normkey.rs, with a table generated from DuckDB itself), so the same documents are kept.
NORMALIZED_KEY = "dr_exact_key(text)"


def key(normalize: bool, rewritten: bool) -> str:
    """The SQL of the key equal texts share."""
    if normalize:
        return NORMALIZED_KEY
    # content_hash is of the text as read; after a transform, hash the text as it is now
    return "md5_number_lower(text)" if rewritten else "content_hash"


def normalized_key(text: Any) -> Any:
    """Arrow kernel `dr_exact_key(text)`: md5_number_lower of the text lowercased, its runs of characters that are
    not letters or numbers made one space and the spaces at its ends dropped, as a UBIGINT; null for a null text."""
    import pyarrow as pa
    from datarecipe.operators import native

    texts = native.Texts(text)
    out, pointer = native.numbers(texts.n, "uint64")
    native.check(native.lib()[1].dr_normkey(*texts.args(), pointer))
    return pa.array(out, mask=texts.nulls if texts.nulls.any() else None)


def normalized(text: Any) -> Any:
    """The normalized texts `normalized_key` is the MD5 of, as an Arrow large_string array, null for a null text
    (for the tests and for looking at why two documents share a key; not on a build's path)."""
    import pyarrow.compute as pc
    from datarecipe.operators import native

    texts = native.Texts(text)
    out = native.Out()
    native.check(native.lib()[1].dr_normkey_text(*texts.args(), out.handle))
    return pc.if_else(texts.nulls, None, out.strings()) if texts.nulls.any() else out.strings()


# The DuckDB functions these kernels are registered as: (name, kernel, argument types, return type), as
# minhash.UDFS; not functions of the recipe language.
UDFS: tuple[tuple[str, Any, tuple[str, ...], str], ...] = (
    ("dr_exact_key", normalized_key, ("VARCHAR",), "UBIGINT"),
)


def lower(step: FilterStep) -> dict[str, Any]:
    return {"kind": "dedup", "label": step.label, "key": key(step.args["normalize"], step.rewritten),
            "rewritten": step.rewritten, "into": f"{step.stage}__step{step.index}",
            "prefix": f"{step.stage}__ex{step.index}"}


register(Operator(
    "exact", "dedup",
    (Param("normalize", "bool", False, "compare texts lowercased, with runs of punctuation and whitespace collapsed"),),
    "Exact-duplicate removal: of each group of equal texts, the smallest `doc_id` is kept.",
    lower=lower))
