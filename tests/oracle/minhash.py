"""The numpy implementation of `dedup minhash`'s kernels that the native core replaced (operators/dedup/minhash.py
before issue 24), kept as the test oracle: the native shingles, band keys and Jaccard values must equal these.

Words are the maximal runs of letters and numbers (str.isalnum) of the lowercased text; a word's hash is a
polynomial hash of its code points mixed with splitmix64; shingles are weighted sums of `ngram` word hashes, mixed
again; the signature is `bands x rows` permutations `a * x + b mod 2**32` of the shingles' top 32 bits, folded into
one hash per band.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

SEED = 0x6D696E68617368  # "minhash"
MASK64 = (1 << 64) - 1
WORD_PRIME = 0x100000001B3  # FNV's 64-bit prime
# Bound the memory of one kernel call: texts are hashed in slices of about this many bytes, and the
# min-hashes computed over blocks of about this many (shingle, permutation) cells.
SLICE_BYTES = 1 << 20
BLOCK_CELLS = 1 << 21


def _splitmix_int(x: int) -> int:
    """splitmix64 on a Python int (for the constants)."""
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def _splitmix(x: Any) -> Any:
    """splitmix64's finalizer, element-wise on a uint64 array (arithmetic wraps modulo 2**64)."""
    import numpy as np

    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _constants(count: int, salt: int) -> Any:
    import numpy as np

    return np.array([_splitmix_int(SEED ^ (salt << 48) ^ i) for i in range(count)], dtype=np.uint64)


def permutations(num_perm: int) -> tuple[Any, Any]:
    """The coefficients (a odd, b) of the `num_perm` permutations `a * x + b mod 2**32` of 32-bit values
    (32 bits: half the memory traffic of 64, twice the speed; the inputs are already well mixed)."""
    import numpy as np

    mask = np.uint64(0xFFFFFFFF)
    return ((_constants(num_perm, 1) & mask) | np.uint64(1)).astype(np.uint32), \
        (_constants(num_perm, 2) & mask).astype(np.uint32)


@cache
def _word_chars() -> Any:
    """For every code point of the Basic Multilingual Plane: is it a letter or a number (str.isalnum)?"""
    import numpy as np

    return np.array([chr(c).isalnum() for c in range(0x10000)], dtype=bool)


def words(text: Any) -> tuple[Any, Any]:
    """The words of every row of a string array, in order: (row index, 64-bit hash) arrays.

    A word is a maximal run of letters and numbers (Unicode `L` and `N`, as str.isalnum) of the lowercased
    text. Its hash is a polynomial hash of its code points mod 2**64, mixed with splitmix64, computed
    for all words at once from one decode of the batch.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    low = pc.utf8_lower(pc.fill_null(text, "")).cast(pa.large_string())
    offsets = np.frombuffer(low.buffers()[1], dtype=np.int64)[low.offset:low.offset + len(low) + 1]
    data = low.buffers()[2]
    raw = bytes(memoryview(data)[offsets[0]:offsets[-1]]) if data is not None else b""
    points = np.frombuffer(raw.decode("utf-8").encode("utf-32-le"), dtype=np.uint32)
    lengths = pc.utf8_length(low).to_numpy(zero_copy_only=False).astype(np.int64)
    row_start = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    # Letters and numbers: a table lookup in the BMP (U+FFFF is neither); above it, each distinct one asked.
    is_word = _word_chars()[np.minimum(points, 0xFFFF)]
    high = np.flatnonzero(points > 0xFFFF)
    if len(high):
        distinct, where = np.unique(points[high], return_inverse=True)
        is_word[high] = np.array([chr(c).isalnum() for c in distinct.tolist()], dtype=bool)[where]
    # A word starts at a word character whose predecessor is not one, or that starts a row.
    first = is_word.copy()
    first[1:] &= ~is_word[:-1]
    starting = row_start[lengths > 0]
    first[starting] = is_word[starting]
    at = np.flatnonzero(is_word)  # positions of the word characters
    begins = np.flatnonzero(first[at])  # where each word begins, in `at`
    if len(begins) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64)
    word_of = np.cumsum(first[at]) - 1
    offset_in_word = np.arange(len(at)) - begins[word_of]
    powers = np.cumprod(np.full(int(offset_in_word.max()) + 1, WORD_PRIME, dtype=np.uint64), dtype=np.uint64)
    sums = np.add.reduceat((points[at].astype(np.uint64) + np.uint64(1)) * powers[offset_in_word], begins)
    sizes = np.diff(np.append(begins, len(at))).astype(np.uint64)
    rows = np.searchsorted(row_start, at[begins], side="right") - 1
    return rows.astype(np.int64), _splitmix(sums ^ sizes)


def shingles(text: Any, ngram: int) -> tuple[Any, Any]:
    """The shingle hashes of every document of a string array: (row index, hash) arrays, grouped by row
    in row order. Rows without words (empty, only punctuation, or null) have none."""
    import numpy as np

    parents, word_hashes = words(text)
    rows = len(text)
    counts = np.bincount(parents, minlength=rows)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    weights = _constants(ngram, 3)
    # Documents with at least `ngram` words: one shingle per window of `ngram` consecutive words.
    total = len(word_hashes)
    windows = max(total - ngram + 1, 0)
    acc = np.zeros(windows, dtype=np.uint64)
    for k in range(ngram):
        acc += word_hashes[k:k + windows] * weights[k]
    valid = parents[:windows] == parents[ngram - 1:ngram - 1 + windows] if windows else np.zeros(0, dtype=bool)
    long_rows, long_hashes = parents[:windows][valid], _splitmix(acc[valid])
    # Documents with 1 to ngram - 1 words: one shingle of all their words.
    short = np.flatnonzero((counts > 0) & (counts < ngram))
    short_acc = np.zeros(len(short), dtype=np.uint64)
    for k in range(ngram - 1):
        has = counts[short] > k
        short_acc[has] += word_hashes[starts[short[has]] + k] * weights[k]
    short_hashes = _splitmix(short_acc ^ (counts[short].astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)))
    row = np.concatenate([long_rows, short.astype(np.int64)])
    hashes = np.concatenate([long_hashes, short_hashes])
    order = np.argsort(row, kind="stable")
    return row[order], hashes[order]


def _slices(*texts: Any) -> list[tuple[int, int]]:
    """Consecutive row ranges of about SLICE_BYTES of text each, over the rows of one or more equally long
    string arrays (a longer row is a slice alone): what one step of a kernel holds in memory."""
    import numpy as np
    import pyarrow.compute as pc

    sizes = sum(pc.fill_null(pc.binary_length(t), 0).to_numpy(zero_copy_only=False).astype(np.int64) for t in texts)
    out, start, size = [], 0, 0
    for i, n in enumerate(sizes.tolist()):
        if size and size + n > SLICE_BYTES:
            out.append((start, i))
            start, size = i, 0
        size += n
    out.append((start, len(sizes)))
    return out


def signatures(text: Any, ngram: int, num_perm: int) -> tuple[Any, Any]:
    """(signature matrix rows x num_perm of 32-bit min-hashes, mask of rows that have shingles). Each
    shingle's top 32 bits go through every permutation; per row and permutation, the smallest value."""
    import numpy as np
    import pyarrow as pa

    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    a, b = permutations(num_perm)
    rows = len(text)
    sig = np.full((rows, num_perm), np.iinfo(np.uint32).max, dtype=np.uint32)
    has = np.zeros(rows, dtype=bool)
    block = max(BLOCK_CELLS // num_perm, 256)
    for lo, hi in _slices(text):
        row, hashes = shingles(text.slice(lo, hi - lo), ngram)
        row, hashes = row + lo, (hashes >> np.uint64(32)).astype(np.uint32)
        has[row] = True
        for s0 in range(0, len(hashes), block):
            r = row[s0:s0 + block]
            cells = np.multiply(a[:, None], hashes[None, s0:s0 + block])  # permutations x shingles
            cells += b[:, None]
            first = np.flatnonzero(np.concatenate([[True], r[1:] != r[:-1]]))
            docs = r[first]
            sig[docs] = np.minimum(sig[docs], np.minimum.reduceat(cells, first, axis=1).T)
    return sig, has


def _params(params: Any) -> dict[str, Any]:
    return json.loads(params[0].as_py()) if len(params) else {}


def bands(text: Any, params: Any) -> Any:
    """Arrow kernel `dr_minhash_bands(text, params JSON)`: one 64-bit hash per band; none for no shingles."""
    import numpy as np
    import pyarrow as pa

    p = _params(params)
    n_bands, n_rows = int(p["bands"]), int(p["rows"])
    sig, has = signatures(text, int(p["ngram"]), n_bands * n_rows)
    weights = _constants(n_rows, 4)
    rows = sig[has].reshape(-1, n_bands, n_rows).astype(np.uint64)
    folded = _splitmix((rows * weights[None, None, :]).sum(axis=2, dtype=np.uint64))
    offsets = np.concatenate([[0], np.cumsum(np.where(has, n_bands, 0))]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), pa.array(folded.reshape(-1), pa.uint64()))


def _unique_pairs(row: Any, hashes: Any) -> tuple[Any, Any]:
    """The distinct (row, hash) pairs, sorted."""
    import numpy as np

    order = np.lexsort((hashes, row))
    row, hashes = row[order], hashes[order]
    fresh = np.concatenate([[True], (row[1:] != row[:-1]) | (hashes[1:] != hashes[:-1])]) if len(row) else \
        np.zeros(0, dtype=bool)
    return row[fresh], hashes[fresh]


def jaccard(left: Any, right: Any, params: Any) -> Any:
    """Arrow kernel `dr_minhash_jaccard(a, b, params JSON)`: the exact Jaccard similarity of the two texts'
    shingle sets, row by row (0 when both have none)."""
    import numpy as np
    import pyarrow as pa

    ngram = int(_params(params)["ngram"])
    if isinstance(left, pa.ChunkedArray):
        left, right = left.combine_chunks(), right.combine_chunks()
    out = np.zeros(len(left), dtype=np.float64)
    for lo, hi in _slices(left, right):
        rows = hi - lo
        lr, lh = _unique_pairs(*shingles(left.slice(lo, rows), ngram))
        rr, rh = _unique_pairs(*shingles(right.slice(lo, rows), ngram))
        both_r, both_h = np.concatenate([lr, rr]), np.concatenate([lh, rh])
        order = np.lexsort((both_h, both_r))
        both_r, both_h = both_r[order], both_h[order]
        same = (both_r[1:] == both_r[:-1]) & (both_h[1:] == both_h[:-1])  # in both sets
        inter = np.bincount(both_r[1:][same], minlength=rows)
        union = np.bincount(lr, minlength=rows) + np.bincount(rr, minlength=rows) - inter
        out[lo:hi] = np.divide(inter, np.maximum(union, 1))
    return pa.array(out)
