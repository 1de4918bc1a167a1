"""`apply fineweb(...)`: FineWeb's extra rules (Penedo et al. 2024) over a page's non-empty lines."""

from __future__ import annotations

from typing import Any

from datarecipe.operators.base import Param, register
from datarecipe.operators.packs import declare_pack, duplicates
from datarecipe.operators.packs.wordsplit import Tokenizer, terminal


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


register(declare_pack(fineweb, "fineweb", (
    Param("line_punct_thr", "float", 0.12, "fewest lines ending in terminal punctuation", min=0, max=1),
    Param("line_punct_exclude_zero", "bool", False, "keep pages where no line ends in punctuation"),
    Param("short_line_thr", "float", 0.67, "most short lines", min=0, max=1),
    Param("short_line_length", "int", 30, "a short line has at most this many characters", min=0),
    Param("char_duplicates_ratio", "float", 0.01, "most characters in repeated lines", min=0, max=1),
    Param("new_line_ratio", "float", 0.3, "most newlines per word", min=0)),
    "FineWeb's rules (Penedo et al. 2024) over non-empty lines. Labels: `fineweb:` and `empty`, "
    "`line_punct_ratio`, `short_line_ratio`, `char_dup_ratio`, `list_ratio`."))
