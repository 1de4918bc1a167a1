"""The one error type of the compiler, and where it is rendered."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Span:
    """A region of recipe text: 1-based lines and columns, end exclusive."""

    line: int
    col: int
    end_line: int
    end_col: int


NOWHERE = Span(1, 1, 1, 2)


@dataclass(eq=False)  # not frozen: Python sets __traceback__ on an exception as it passes a `with`
class RecipeError(Exception):
    """A user mistake, with where it is and what to do about it.

    In a recipe, `span` locates it. At run time there is no span; `stage` and `input` (a file,
    with a line or row when known) say where the build stopped.
    """

    span: Span | None
    message: str
    hint: str = ""
    stage: str = ""
    input: str = ""

    def __str__(self) -> str:
        where = f"{self.span.line}:{self.span.col}: " if self.span else ""
        return where + self.message

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled by its fields (the Ray engine's tasks send it back), however it was constructed."""
        return (type(self), (self.span, self.message, self.hint, self.stage, self.input))


class RecipeErrors(Exception):
    """Every error found in one recipe, reported together."""

    def __init__(self, errors: list[RecipeError]):
        super().__init__(f"{len(errors)} error(s)")
        self.errors = sorted(errors, key=lambda e: (e.span.line, e.span.col) if e.span else (0, 0))


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A hint naming the closest candidate, or listing them when none is close."""
    pool = sorted(set(candidates))
    close = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    if close:
        return f"did you mean `{close[0]}`?"
    if pool and len(pool) <= 12:
        return "expected one of: " + ", ".join(f"`{c}`" for c in pool)
    return ""


def render(error: RecipeError, filename: str, text: str) -> str:
    """`file:line:col: error: message`, the source line, a caret, and the hint."""
    span = error.span
    if span is None:
        where = ": ".join(p for p in (f"stage {error.stage}" if error.stage else "", error.input) if p)
        head = f"{filename}: error: " + (f"{where}: " if where else "") + error.message
        return head + (f"\n  hint: {error.hint}" if error.hint else "")
    lines = text.split("\n") or [""]
    line_no = min(max(span.line, 1), len(lines))
    source_line = lines[line_no - 1].replace("\t", " ")
    col = max(span.col, 1)
    if len(source_line) > 160:  # a binary file or a minified line: show a window around the column
        start = max(0, col - 80)
        source_line = source_line[start:start + 160]
        col -= start
    width = span.end_col - span.col if span.end_line == span.line else len(source_line) - col + 1
    width = max(1, min(width, max(1, len(source_line) - col + 1)))
    out = [
        f"{filename}:{span.line}:{span.col}: error: {error.message}",
        f"  {source_line}",
        "  " + " " * (col - 1) + "^" + "~" * (width - 1),
    ]
    if error.hint:
        out.append(f"  hint: {error.hint}")
    return "\n".join(out)
