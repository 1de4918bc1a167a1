"""`dedup minhash(...)`: MinHash LSH near-duplicate removal, its declaration, lowering and Arrow kernels.

A document is the set of its word n-grams ("shingles"). Words are the maximal runs of letters and
digits (Unicode `L` and `N`, as str.isalnum) of the lowercased text, so case, punctuation and whitespace do not count;
a document with fewer than `ngram` words is one shingle of all its words, and one without words has
no shingles (it takes no part in the dedup). Every shingle is a 64-bit hash (a polynomial hash of each word's code
points, mixed with splitmix64, then a weighted sum of the n word hashes, mixed again), computed by the native core
(native/src/minhash.rs) on the batch's Arrow buffers after Arrow lowercases them: no Python loop touches a word or a
shingle. The numpy implementation it replaced is the test oracle (tests/oracle/minhash.py).

`bands(text, params)` is the signature: `bands x rows` min-hashes (permutations `a * x + b mod 2**32`
of the top 32 bits of the shingle hashes, fixed coefficients), folded into one 64-bit hash per band. Two documents
whose signatures agree on all the rows of some band share that band's bucket, and become a candidate
pair. `jaccard(a, b, params)` verifies a candidate pair: the exact Jaccard similarity of the two
shingle sets. The SQL around them (templates/minhash.sql.j2) buckets, verifies and finds the
connected components of the verified pairs.

Everything is deterministic: the coefficients come from a constant seed ("minhash", in the native core), not from
the recipe's seed (changing the shuffle seed does not change which documents are duplicates), and nothing depends
on batch boundaries or thread count.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from datarecipe.operators.base import FilterStep, Operator, Param, register

# Part of the fingerprint of every stage that runs a minhash dedup: bump it when the shingles, the
# hashes or the banding change, so cached stage outputs are not reused.
MINHASH_VERSION = "1"

# Bound the memory of one kernel call: texts are lowercased and handed to the native core in slices of about this
# many bytes (the native core itself holds one document's words and shingles at a time).
SLICE_BYTES = 1 << 20


def _lowered(text: Any) -> Any:
    """The texts lowercased as Arrow's utf8_lower does (utf8proc's simple case mapping), null as empty."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    return pc.utf8_lower(pc.fill_null(text.cast(pa.large_string()), ""))


def _slices(*texts: Any) -> list[tuple[int, int]]:
    """Consecutive row ranges of about SLICE_BYTES of text each, over the rows of one or more equally long
    string arrays (a longer row is a slice alone): what one step of a kernel holds in memory."""
    import numpy as np
    import pyarrow.compute as pc

    sizes = sum(pc.fill_null(pc.binary_length(t), 0).to_numpy(zero_copy_only=False).astype(np.int64) for t in texts)
    ends = np.cumsum(sizes)
    out, start, base = [], 0, 0
    while start < len(sizes):  # greedy: a slice ends before the row that would take it past SLICE_BYTES
        end = max(int(np.searchsorted(ends, base + SLICE_BYTES, side="right")), start + 1)
        out.append((start, end))
        start, base = end, int(ends[end - 1])
    out = out or [(0, 0)]
    return out


def shingles(text: Any, ngram: int) -> tuple[Any, Any]:
    """The shingle hashes of every document of a string array: (row index, hash) arrays, grouped by row
    in row order. Rows without words (empty, only punctuation, or null) have none."""
    import numpy as np
    from datarecipe.operators import native

    rows, hashes = [], []
    for lo, hi in _slices(text):
        low = native.Texts(_lowered(text.slice(lo, hi - lo)))
        out = native.Out()
        native.check(native.lib()[1].dr_minhash_shingles(*low.args(), ngram, out.handle))
        _, offsets, _, numbers = out.take()
        rows.append(np.repeat(np.arange(lo, hi, dtype=np.int64), np.diff(offsets)))
        hashes.append(numbers)
    return np.concatenate(rows), np.concatenate(hashes)


def _params(params: Any) -> dict[str, Any]:
    return json.loads(params[0].as_py()) if len(params) else {}


def bands(text: Any, params: Any) -> Any:
    """Arrow kernel `dr_minhash_bands(text, params JSON)`: one 64-bit hash per band; none for no shingles."""
    import numpy as np
    import pyarrow as pa
    from datarecipe.operators import native

    p = _params(params)
    n_bands, n_rows, ngram = int(p["bands"]), int(p["rows"]), int(p["ngram"])
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    keys, has = [], []
    for lo, hi in _slices(text):
        low = native.Texts(_lowered(text.slice(lo, hi - lo)))
        k, k_ptr = native.numbers(low.n * n_bands, "uint64")
        h, h_ptr = native.numbers(low.n, "uint32")
        native.check(native.lib()[1].dr_minhash_bands(*low.args(), ngram, n_bands, n_rows, k_ptr, h_ptr))
        has.append(h.astype(bool))
        keys.append(k.reshape(-1, n_bands)[has[-1]].reshape(-1))
    present = np.concatenate(has)
    offsets = np.concatenate([[0], np.cumsum(np.where(present, n_bands, 0))]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), pa.array(np.concatenate(keys), pa.uint64()))


def jaccard(left: Any, right: Any, params: Any) -> Any:
    """Arrow kernel `dr_minhash_jaccard(a, b, params JSON)`: the exact Jaccard similarity of the two texts'
    shingle sets, row by row (0 when both have none)."""
    import numpy as np
    import pyarrow as pa
    from datarecipe.operators import native

    ngram = int(_params(params)["ngram"])
    if isinstance(left, pa.ChunkedArray):
        left, right = left.combine_chunks(), right.combine_chunks()
    out = np.zeros(len(left), dtype=np.float64)
    for lo, hi in _slices(left, right):
        a = native.Texts(_lowered(left.slice(lo, hi - lo)))
        b = native.Texts(_lowered(right.slice(lo, hi - lo)))
        values, ptr = native.numbers(hi - lo, "float64")
        native.check(native.lib()[1].dr_minhash_jaccard(a.n, *a.args()[1:], *b.args()[1:], ngram, ptr))
        out[lo:hi] = values
    return pa.array(out)


# The DuckDB functions these kernels are registered as: (name, kernel, argument types, return type).
# The engine registers them as Arrow UDFs next to the text-function kernels.
UDFS: tuple[tuple[str, Any, tuple[str, ...], str], ...] = (
    ("dr_minhash_bands", bands, ("VARCHAR", "VARCHAR"), "UBIGINT[]"),
    ("dr_minhash_jaccard", jaccard, ("VARCHAR", "VARCHAR", "VARCHAR"), "DOUBLE"),
)


# ---- declaration and lowering ------------------------------------------------------------------------


def step(label: str, args: dict[str, Any], stage: str, index: int) -> dict[str, Any]:
    """The template values of a minhash step: number `index` of stage `stage`'s filter steps."""
    return {"kind": "minhash", "label": label, "into": f"{stage}__step{index}", "prefix": f"{stage}__mh{index}",
            "ngram": int(args["ngram"]), "bands": int(args["bands"]), "rows": int(args["rows"]),
            "threshold": float(args["threshold"]), "version": MINHASH_VERSION,
            "params": json.dumps({k: args[k] for k in ("ngram", "bands", "rows")}, sort_keys=True)}


def global_key(args: dict[str, Any]) -> tuple[Any, ...]:
    """Global minhash rules with the same key dedup together, across their sources."""
    return tuple(args[k] for k in ("ngram", "bands", "rows", "threshold"))


def lower(filter_step: FilterStep) -> dict[str, Any] | None:
    """A per-source dedup is a step of the filter stage; a global one runs in a stage of its own (the planner's
    `dedup_global`), after the filters."""
    if filter_step.args["scope"] != "per_source":
        return None
    return step(filter_step.label, filter_step.args, filter_step.stage, filter_step.index)


def validate(args: Mapping[str, Any], last: bool) -> tuple[str, str] | None:
    if args.get("scope") == "global" and not last:
        return ("`dedup minhash(scope: \"global\")` must be the last rule of its block",
                "it runs after the filters of every source that uses it; move it to the end, or use "
                "`scope: \"per_source\"`")
    return None


register(Operator(
    "minhash", "dedup",
    (Param("ngram", "int", 5, "shingle size in words (lowercased runs of letters and digits)", min=1, max=32),
     Param("bands", "int", 14, "LSH bands: documents agreeing on all rows of any band are compared",
           min=1, max=64),
     Param("rows", "int", 8, "min-hashes per band; the signature has `bands` x `rows`", min=1, max=32),
     Param("threshold", "float", 0.8, "Jaccard similarity of shingle sets at which two documents "
           "are duplicates", min=0, max=1),
     Param("scope", "choice", "per_source", "`per_source`: within this block's source; `global`: "
           "across every source whose block ends with `dedup minhash(scope: \"global\")` with the same "
           "parameters",
           choices=("per_source", "global"))),
    "Near-duplicate removal with MinHash LSH, as FineWeb does (word 5-grams, 14 bands of 8). "
    "Candidate pairs share a band bucket (within a bucket, each document is compared with the "
    "bucket's smallest `doc_id` and with the one before it), and are verified by the exact Jaccard "
    "similarity of their shingle sets; of each connected component of the verified pairs the "
    "smallest `doc_id` is kept. Documents without words take no part. A `global` dedup must be the "
    "last rule of its block; it runs as a stage of its own, `dedup_global`, after the filters.",
    validate=validate, lower=lower))
