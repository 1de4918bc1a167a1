"""`apply c4(...)`: C4's line and page rules (Raffel et al. 2020), which drop pages and rewrite the ones kept."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

from datarecipe.operators.base import Param, register
from datarecipe.operators.packs import declare_pack
from datarecipe.operators.packs.wordsplit import Tokenizer, terminal

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


register(declare_pack(c4, "c4", (
    Param("remove_citations", "bool", True, "remove Wikipedia-style citations (`[1]`, `[edit]`)"),
    Param("filter_no_terminal_punct", "bool", True,
          "remove lines that do not end in `.` `?` `!` `\"` `'` (or end in `...`)"),
    Param("min_num_sentences", "int", 5, "drop pages with fewer sentences in the lines kept (-1: off)", min=-1),
    Param("min_words_per_line", "int", 3, "remove lines with fewer words (-1: off)", min=-1),
    Param("max_word_length", "int", 1000, "remove lines with a longer word (-1: off)", min=-1),
    Param("filter_lorem_ipsum", "bool", True, "drop pages with `lorem ipsum`"),
    Param("filter_javascript", "bool", True, "remove lines that mention `javascript`"),
    Param("filter_curly_bracket", "bool", True, "drop pages with a `{`"),
    Param("filter_policy", "bool", True, "remove lines with `terms of use`, `privacy policy`, cookies")),
    "C4's rules (Raffel et al. 2020), line by line as the original does: lines are removed, and the "
    "page is dropped (`c4:lorem_ipsum`, `c4:curly_bracket`, `c4:too_few_sentences`) or rewritten to "
    "the lines that remain. Sentences are counted as spaCy's sentencizer splits them.",
    rewrites=True))
