"""Header settings, written inside `recipe "NAME" { ... }`: `seed`, `tokenizer`, `license`, `language`, `plugins`."""

from __future__ import annotations

from datarecipe.operators.base import Operator, Param, register

register(
    Operator("seed", "setting", (Param("value", "int", 0, "seed of every hash-based random choice", min=0,
                                       max=2**63 - 1),),
             "Seed for shuffles and sampling. Randomness is a hash of (seed, content), never execution order."),
    Operator("tokenizer", "setting", (Param("value", "str", "", "tokenizer name or path"),),
             "Tokenizer for token budgets and the `n_tokens` column."),
    Operator("license", "setting", (Param("value", "str", "", "SPDX id for the dataset card"),),
             "License of the built dataset, recorded in the manifest and the dataset card."),
    Operator("language", "setting", (Param("value", "str", "", "ISO 639 codes, comma-separated: \"en, de\""),),
             "Languages of the built dataset, for the dataset card's `language` field."),
    Operator("plugins", "setting", (Param("value", "modules", (), "module names, e.g. `[\"my_rules\"]`"),),
             "Python modules of operators to import before the recipe is checked (docs/plugins.md): each is looked "
             "for in the recipe's directory first, then on Python's path. Operators of installed packages that "
             "declare the `datarecipe.operators` entry point need no line here."),
)
