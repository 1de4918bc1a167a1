"""`duplicate_line_ratio(text)`: the share of a document's lines that repeat an earlier line of it, Gopher's
duplicate-line fraction (Rae et al. 2021, table A1) as a text function, so a recipe can keep or drop on it
(`drop duplicate_line_ratio(text) > 30%`) or sort and mix by it."""

from __future__ import annotations

from typing import Any

from datarecipe.operators.base import declare, register
from datarecipe.operators.functions import TEXT, text_function


def duplicate_line_ratio(text: Any) -> Any:
    """Per row, the lines that repeat an earlier line, over the lines, blank lines left out (native)."""
    return text_function("duplicate_line_ratio", text)


register(declare(
    duplicate_line_ratio, "duplicate_line_ratio", "function", (TEXT,),
    "Share of the lines that repeat an earlier line of the document, exactly (Gopher's `dup_line_frac`): "
    "`a\\nb\\na\\na` gives 0.5. Lines are split on `\\n`; blank lines (empty or only whitespace) are left out of "
    "both counts, as Gopher's split on runs of newlines leaves out empty ones, so paragraph breaks and a final "
    "newline are not repeats. 0 for a text without a non-blank line.", "number"))
