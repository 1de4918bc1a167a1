"""An example datarecipe plugin: a text function, a filter and a scorer, each a vectorized function over
Arrow arrays declared with `@operator` (docs/plugins.md). pyarrow is imported inside the functions, so
that `recipe check` stays fast."""

from __future__ import annotations

import re
from typing import Any

from datarecipe import Param, operator

# The terms legal wants counted, matched as whole words, in any case.
LEGAL_TERMS = ("all rights reserved", "copyright", "license", "licensed", "licence", "confidential", "proprietary",
               "trademark", "patent", "warranty", "liability")
_LEGAL = r"(?i)\b(?:" + "|".join(re.escape(term) for term in LEGAL_TERMS) + r")\b"


@operator(name="legal_terms", kind="function", returns="number",
          params=[Param("text", "text", "text", "the text to search; any string expression")])
def legal_terms(text: Any) -> Any:
    """Occurrences of legal terms (`copyright`, `license`, `all rights reserved`, `warranty`, `patent`, ...) in
    the text, as whole words in any case. NULL gives NULL."""
    import pyarrow.compute as pc

    return pc.count_substring_regex(text, _LEGAL).cast("float64")


@operator(name="phrase_blocklist", kind="filter", params=[
    Param("phrases", "str", "lorem ipsum|internal use only|do not distribute",
          "the phrases, separated by `|`, matched in any case"),
    Param("max_hits", "int", 0, "occurrences of the phrases a document may hold", min=0, max=1000)])
def phrase_blocklist(text: Any, phrases: str, max_hits: int) -> Any:
    """Drops documents holding more than `max_hits` occurrences of the listed phrases. The drop is labelled
    with the first listed phrase the document holds, e.g. `phrase_blocklist:lorem ipsum`."""
    import pyarrow as pa
    import pyarrow.compute as pc

    lowered = pc.utf8_lower(text)
    hits = pa.array([0] * len(text), pa.int64())
    reason = pa.nulls(len(text), pa.string())
    for phrase in reversed([p.strip().lower() for p in phrases.split("|") if p.strip()]):  # the first listed wins
        found = pc.fill_null(pc.count_substring(lowered, phrase), 0)
        hits = pc.add(hits, found)
        reason = pc.if_else(pc.greater(found, 0), pa.scalar(phrase), reason)
    return pc.if_else(pc.greater(hits, max_hits), reason, pa.scalar(None, pa.string()))


@operator(name="reading_ease", kind="scorer", params=[
    Param("max_chars", "int", 5000, "characters read from the start of each document", min=100, max=1_000_000)])
def reading_ease(text: Any, max_chars: int) -> Any:
    """Flesch reading ease (Flesch 1948) of the start of each document: 206.835 - 1.015 x words per sentence -
    84.6 x syllables per word, syllables counted as groups of vowels. Higher is easier; NULL for a text
    without words. A stand-in for a model: a real one would load its weights once (`functools.cache`) and
    run them here, on the whole batch."""
    import pyarrow as pa
    import pyarrow.compute as pc

    start = pc.utf8_lower(pc.utf8_slice_codeunits(text, 0, max_chars))
    words = pc.count_substring_regex(start, r"[a-z]+").cast("float64")
    sentences = pc.max_element_wise(pc.count_substring_regex(start, r"[.!?]+"), 1).cast("float64")
    syllables = pc.count_substring_regex(start, r"[aeiouy]+").cast("float64")
    ease = pc.subtract(pc.subtract(206.835, pc.multiply(1.015, pc.divide(words, sentences))),
                       pc.multiply(84.6, pc.divide(syllables, pc.max_element_wise(words, 1))))
    return pc.if_else(pc.greater(words, 0), pc.round(ease, 4), pa.scalar(None, pa.float64()))
