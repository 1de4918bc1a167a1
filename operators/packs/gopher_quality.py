"""`apply gopher_quality(...)`: Gopher's quality rules (Rae et al. 2021, appendix A), in datatrove's order. The rule
runs in the native core (native/src/packs/gopher_quality.rs)."""

from __future__ import annotations

from datarecipe.operators.base import Param, register
from datarecipe.operators.packs import declare_pack, ratio

register(declare_pack("gopher_quality", (
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
