"""The rule packs' Python implementation (operators/packs/ before the native core): one function per pack,
`rule(text, params, tokenizer)` -> (why it drops the document or None, the rewritten text or None when unchanged).
The native packs (native/src/packs/) must decide, and rewrite, exactly as these do."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache
from itertools import filterfalse
from typing import Any

from datarecipe.operators.functions import STOPWORDS

from oracle.wordsplit import Tokenizer, symbols, terminal


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


# ---- gopher_quality ----------------------------------------------------------------------------------


def gopher_quality(text: str, p: dict[str, Any], tok: Tokenizer) -> tuple[str | None, None]:
    """Gopher's quality rules (Rae et al. 2021, appendix A), in datatrove's order."""
    words = tok(text)
    n_words = max(len(words), 1)
    content = list(filterfalse(symbols().issuperset, words))  # words that are not only punctuation
    n_content = len(content)
    if p["min_doc_words"] and n_content < p["min_doc_words"]:
        return "short_doc", None
    if p["max_doc_words"] and n_content > p["max_doc_words"]:
        return "long_doc", None
    mean = sum(map(len, content)) / n_content if n_content else float("nan")
    if p["min_avg_word_length"] and mean < p["min_avg_word_length"]:
        return "below_avg_word_length", None
    if p["max_avg_word_length"] and mean > p["max_avg_word_length"]:
        return "above_avg_word_length", None
    ratio = p["max_symbol_word_ratio"]
    if ratio and text.count("#") / n_words > ratio:
        return "too_many_hashes", None
    if ratio and (text.count("...") + text.count("…")) / n_words > ratio:
        return "too_many_ellipsis", None
    lines = text.splitlines() or [""]
    if p["max_bullet_lines_ratio"] and sum(
            s.lstrip().startswith(("•", "-")) for s in lines) / len(lines) > p["max_bullet_lines_ratio"]:
        return "too_many_bullets", None
    if p["max_ellipsis_lines_ratio"] and sum(
            s.rstrip().endswith(("...", "…")) for s in lines) / len(lines) > p["max_ellipsis_lines_ratio"]:
        return "too_many_end_ellipsis", None
    if p["min_alpha_words_ratio"] and sum(map(_has_alpha, words)) / n_words < p["min_alpha_words_ratio"]:
        return "below_alpha_threshold", None
    if p["min_stop_words"] and len(_STOP_SET.intersection(words)) < p["min_stop_words"]:
        return "few_stop_words", None
    return None, None


_STOP_SET = frozenset(STOPWORDS["en"])  # Gopher's, case-sensitive as in datatrove


@lru_cache(maxsize=1 << 16)
def _has_alpha(word: str) -> bool:
    return any(ch.isalpha() for ch in word)


# ---- gopher_repetition -------------------------------------------------------------------------------

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


# ---- c4 ----------------------------------------------------------------------------------------------

_CITATION = re.compile(r"\[\d*]|\[edit]|\[citation needed]")
_POLICY = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies")
_C4_END = (".", "?", "!", '"', "'")


def c4(text: str, p: dict[str, Any], tok: Tokenizer) -> tuple[str | None, str | None]:
    """C4's line and page rules (Raffel et al. 2020; TFDS c4_utils), as datatrove applies them.

    Lines are dropped for lacking terminal punctuation, having too few words, a too-long word,
    `javascript` or a policy phrase; the page is dropped for `lorem ipsum`, a curly bracket, or
    too few sentences in the lines that remain. A kept page is rewritten to its kept lines.
    """
    kept: list[str] = []
    sentences = 0
    max_word, min_words = p["max_word_length"], p["min_words_per_line"]
    for line in text.splitlines():
        line = line.strip()
        words = line.split()
        if max_word != -1 and any(len(w) > max_word for w in words):
            continue
        if p["remove_citations"]:
            line = _CITATION.sub("", line)
        if p["filter_no_terminal_punct"] and (not line.endswith(_C4_END) or line.endswith("...")):
            continue
        if len(words) < min_words:
            continue
        lower = line.lower()
        if p["filter_lorem_ipsum"] and "lorem ipsum" in lower:
            return "lorem_ipsum", None
        if p["filter_javascript"] and "javascript" in lower:
            continue
        if p["filter_curly_bracket"] and "{" in line:
            return "curly_bracket", None
        if p["filter_policy"] and any(x in lower for x in _POLICY):
            continue
        if p["min_num_sentences"] != -1:
            sentences += _sentences(tok.words(line))  # lines are not seen again: not kept
        kept.append(line)
    if sentences < p["min_num_sentences"]:
        return "too_few_sentences", None
    out = "\n".join(kept).strip()
    return None, (None if out == text else out)


def _sentences(words: list[str]) -> int:
    """Sentences in a line, as spaCy's sentencizer splits them: a new one starts at the first word
    that is not punctuation after a sentence-final mark."""
    if not words:
        return 0
    n, after_end = 1, False
    ends = terminal()
    for w in words:
        if w in ends:
            after_end = True
        elif after_end and not _is_punct(w):
            n += 1
            after_end = False
    return n


@lru_cache(maxsize=1 << 16)
def _is_punct(word: str) -> bool:
    return all(unicodedata.category(ch)[0] == "P" for ch in word)


# ---- fineweb -----------------------------------------------------------------------------------------


def fineweb(text: str, p: dict[str, Any], tok: Tokenizer) -> tuple[str | None, None]:
    """FineWeb's extra rules (Penedo et al. 2024), as datatrove's FineWebQualityFilter applies them."""
    lines = [line for line in text.split("\n") if line.strip() != ""]
    if not lines:
        return "empty", None
    ends = tuple(terminal())
    ratio = sum(1 for line in lines if line.endswith(ends)) / len(lines)
    if ratio < p["line_punct_thr"] and not (ratio == 0 and p["line_punct_exclude_zero"]):
        return "line_punct_ratio", None
    if sum(1 for line in lines if len(line) <= p["short_line_length"]) / len(lines) > p["short_line_thr"]:
        return "short_line_ratio", None
    if duplicates(lines)[1] / max(len(text) - text.count("\n"), 1) > p["char_duplicates_ratio"]:
        return "char_dup_ratio", None
    words = tok(text)
    if text.count("\n") / max(len(words), 1) > p["new_line_ratio"]:
        return "list_ratio", None
    return None, None


RULES = {"gopher_quality": gopher_quality, "gopher_repetition": gopher_repetition, "c4": c4, "fineweb": fineweb}
