"""`apply gopher_repetition(...)`: Gopher's repetition rules (Rae et al. 2021, table A1), in datatrove's order. The
rule runs in the native core (native/src/packs/gopher_repetition.rs)."""

from __future__ import annotations

from datarecipe.operators.base import register
from datarecipe.operators.packs import declare_pack, ratio

register(declare_pack("gopher_repetition", (
    ratio("dup_line_frac", 0.3, "most lines that repeat an earlier line"),
    ratio("dup_para_frac", 0.3, "most paragraphs that repeat an earlier one"),
    ratio("dup_line_char_frac", 0.2, "most characters in repeated lines"),
    ratio("dup_para_char_frac", 0.2, "most characters in repeated paragraphs"),
    ratio("top_2_gram", 0.2, "most characters in the most frequent word 2-gram"),
    ratio("top_3_gram", 0.18, "same, 3-grams"),
    ratio("top_4_gram", 0.16, "same, 4-grams"),
    ratio("dup_5_gram", 0.15, "most characters in repeated word 5-grams"),
    ratio("dup_6_gram", 0.14, "same, 6-grams"),
    ratio("dup_7_gram", 0.13, "same, 7-grams"),
    ratio("dup_8_gram", 0.12, "same, 8-grams"),
    ratio("dup_9_gram", 0.11, "same, 9-grams"),
    ratio("dup_10_gram", 0.10, "same, 10-grams")),
    "Gopher's repetition rules (Rae et al. 2021, table A1); fractions are of the document's "
    "characters. Labels: `gopher_repetition:` and `empty`, `dup_para_frac`, `dup_para_char_frac`, "
    "`dup_line_frac`, `dup_line_char_frac`, `top_N_gram`, `duplicated_N_n_grams`."))
