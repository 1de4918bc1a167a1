"""`apply gopher_quality(...)`: Gopher's quality rules (Rae et al. 2021, appendix A), in datatrove's order."""

from __future__ import annotations

from functools import lru_cache
from itertools import filterfalse
from typing import Any

from datarecipe.operators.base import Param, register
from datarecipe.operators.functions import STOPWORDS
from datarecipe.operators.packs import declare_pack, ratio
from datarecipe.operators.packs.wordsplit import Tokenizer, symbols


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


register(declare_pack(gopher_quality, "gopher_quality", (
    Param("min_doc_words", "int", 50, "fewest words that are not only punctuation (0: off)", min=0),
    Param("max_doc_words", "int", 100_000, "most such words (0: off)", min=0),
    Param("min_avg_word_length", "float", 3, "shortest mean length of those words (0: off)", min=0),
    Param("max_avg_word_length", "float", 10, "longest mean length of those words (0: off)", min=0),
    ratio("max_symbol_word_ratio", 0.1, "most `#`, and most `...` or `…`, per word"),
    ratio("max_bullet_lines_ratio", 0.9, "most lines starting with `•` or `-`"),
    ratio("max_ellipsis_lines_ratio", 0.3, "most lines ending with `...` or `…`"),
    ratio("min_alpha_words_ratio", 0.8, "fewest words with a letter"),
    Param("min_stop_words", "int", 2, "fewest distinct stop words (`the be to of and that have with`)",
          min=0)),
    "Gopher's quality rules (Rae et al. 2021, appendix A). Words are split as spaCy's English "
    "tokenizer splits them (punctuation, contractions and hyphens are words of their own), as "
    "datatrove does. Drops are labelled `gopher_quality:` and the first rule that fails: `short_doc`, "
    "`long_doc`, `below_avg_word_length`, `above_avg_word_length`, `too_many_hashes`, "
    "`too_many_ellipsis`, `too_many_bullets`, `too_many_end_ellipsis`, `below_alpha_threshold`, "
    "`few_stop_words`."))
