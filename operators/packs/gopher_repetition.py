"""`apply gopher_repetition(...)`: Gopher's repetition rules (Rae et al. 2021, table A1), in datatrove's order."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from datarecipe.operators.base import register
from datarecipe.operators.packs import declare_pack, duplicates, ratio
from datarecipe.operators.packs.wordsplit import Tokenizer

_PARAGRAPHS = re.compile(r"\n{2,}")
_LINES = re.compile(r"\n+")


def gopher_repetition(text: str, p: dict[str, Any], tok: Tokenizer) -> tuple[str | None, None]:
    """Gopher's repetition rules (Rae et al. 2021, table A1), in datatrove's order."""
    if not text:
        return "empty", None
    paragraphs = _PARAGRAPHS.split(text.strip())
    n, chars = duplicates(paragraphs)
    if p["dup_para_frac"] and n / len(paragraphs) > p["dup_para_frac"]:
        return "dup_para_frac", None
    if p["dup_para_char_frac"] and chars / len(text) > p["dup_para_char_frac"]:
        return "dup_para_char_frac", None
    lines = _LINES.split(text)
    n, chars = duplicates(lines)
    if p["dup_line_frac"] and n / len(lines) > p["dup_line_frac"]:
        return "dup_line_frac", None
    if p["dup_line_char_frac"] and chars / len(text) > p["dup_line_char_frac"]:
        return "dup_line_char_frac", None
    words = tok(text)
    if not words:
        return None, None
    import numpy as np

    # Words become 64-bit keys (equal words, equal keys), n-grams rolling combinations of them.
    keys = np.fromiter(map(hash, words), dtype=np.int64, count=len(words)).view(np.uint64)
    ends = np.zeros(len(words) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, words), dtype=np.int64, count=len(words)), out=ends[1:])
    size = len(text)
    grams = keys
    distinct = False  # no n-gram repeats, so no longer one does either
    for n in range(2, 11):
        if len(words) < n or distinct and n >= 5:
            break
        # n-gram keys from (n-1)-gram keys: a polynomial hash, collisions astronomically rare
        with np.errstate(over="ignore"):
            grams = grams[:-1] * np.uint64(0x9E3779B97F4A7C15) + keys[n - 1:]
        values = grams.tolist()
        if n <= 4:
            limit = p[f"top_{n}_gram"]
            if not limit:
                continue
            gram, top = Counter(values).most_common(1)[0]  # of equally frequent n-grams, the first seen
            distinct = top == 1
            start = values.index(gram)
            # the n-gram joined with spaces, times its count
            if (ends[start + n] - ends[start] + n - 1) * top / size > limit:
                return f"top_{n}_gram", None
            continue
        distinct = len(set(values)) == len(values)
        limit = p[f"dup_{n}_gram"]
        if limit and not distinct and _repeated_chars(grams, values, ends, n, limit * size) > limit * size:
            return f"duplicated_{n}_n_grams", None
    return None, None


def _repeated_chars(grams: Any, values: list[int], ends: Any, n: int, limit: float) -> int:
    """Characters in n-grams that repeat an earlier one, scanning left to right and skipping a
    repeated n-gram whole (Gopher's duplicate n-gram character fraction), counted until `limit` is
    passed. N-grams are compared by their word sequence, the same as comparing them joined up to
    rare ambiguities."""
    import numpy as np

    _, first, inverse = np.unique(grams, return_index=True, return_inverse=True)
    starts = np.flatnonzero(first[inverse] < np.arange(len(grams)))
    # The count is at most the characters of the words that repeated n-grams cover.
    cover = np.zeros(len(ends), dtype=np.int64)
    np.add.at(cover, starts, 1)
    np.add.at(cover, starts + n, -1)
    if int(np.diff(ends)[np.cumsum(cover[:-1]) > 0].sum()) <= limit:
        return 0
    # The scan is sequential, but only where an n-gram has occurred before: every other position
    # is visited in turn (unless a skip jumps over it) and only adds its n-gram to those seen.
    seen: set[int] = set()
    repeated = i = 0
    last = len(ends) - 1
    for c in starts.tolist():
        if c < i:
            continue  # skipped over
        seen.update(values[i:c])
        if values[c] in seen:
            repeated += int(ends[min(c + n, last)] - ends[c])
            if repeated > limit:
                break
            i = c + n
        else:
            seen.add(values[c])
            i = c + 1
    return repeated


register(declare_pack(gopher_repetition, "gopher_repetition", (
    ratio("dup_line_frac", 0.3, "most lines that repeat an earlier line"),
    ratio("dup_para_frac", 0.3, "most paragraphs that repeat an earlier one"),
    ratio("dup_line_char_frac", 0.2, "most characters in repeated lines"),
    ratio("dup_para_char_frac", 0.2, "most characters in repeated paragraphs"),
    ratio("top_2_gram", 0.2, "most characters in the most frequent word 2-gram"),
    ratio("top_3_gram", 0.18, "same, 3-grams"),
    ratio("top_4_gram", 0.16, "same, 4-grams"),
    ratio("dup_5_gram", 0.15, "most characters in repeated word 5-grams"),
    ratio("dup_6_gram", 0.14, "same, 6-grams"),
    ratio("dup_7_gram", 0.13, "same, 7-grams"),
    ratio("dup_8_gram", 0.12, "same, 8-grams"),
    ratio("dup_9_gram", 0.11, "same, 9-grams"),
    ratio("dup_10_gram", 0.10, "same, 10-grams")),
    "Gopher's repetition rules (Rae et al. 2021, table A1); fractions are of the document's "
    "characters. Labels: `gopher_repetition:` and `empty`, `dup_para_frac`, `dup_para_char_frac`, "
    "`dup_line_frac`, `dup_line_char_frac`, `top_N_gram`, `duplicated_N_n_grams`."))
