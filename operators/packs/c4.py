"""`apply c4(...)`: C4's line and page rules (Raffel et al. 2020), which drop pages and rewrite the ones kept. The
rule runs in the native core (native/src/packs/c4.rs)."""

from __future__ import annotations

from datarecipe.operators.base import Param, register
from datarecipe.operators.packs import declare_pack

register(declare_pack("c4", (
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
