"""`apply fineweb(...)`: FineWeb's extra rules (Penedo et al. 2024) over a page's non-empty lines. The rule runs in
the native core (native/src/packs/fineweb.rs)."""

from __future__ import annotations

from datarecipe.operators.base import Param, register
from datarecipe.operators.packs import declare_pack

register(declare_pack("fineweb", (
    Param("line_punct_thr", "float", 0.12, "fewest lines ending in terminal punctuation", min=0, max=1),
    Param("line_punct_exclude_zero", "bool", False, "keep pages where no line ends in punctuation"),
    Param("short_line_thr", "float", 0.67, "most short lines", min=0, max=1),
    Param("short_line_length", "int", 30, "a short line has at most this many characters", min=0),
    Param("char_duplicates_ratio", "float", 0.01, "most characters in repeated lines", min=0, max=1),
    Param("new_line_ratio", "float", 0.3, "most newlines per word", min=0)),
    "FineWeb's rules (Penedo et al. 2024) over non-empty lines. Labels: `fineweb:` and `empty`, "
    "`line_punct_ratio`, `short_line_ratio`, `char_dup_ratio`, `list_ratio`."))
