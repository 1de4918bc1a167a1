"""`NAME = dsir(target: SOURCE)`: DSIR importance weights towards a target source. Fitted and applied by fitted.py."""

from __future__ import annotations

from datarecipe.operators.base import REQUIRED, Operator, Param, register

register(Operator("dsir", "scorer", (
    Param("target", "source", REQUIRED, "the source whose distribution to select towards"),
    Param("raw", "source", "", "the raw distribution; by default the scored source itself"),
    Param("ngram", "int", 2, "longest hashed word n-gram (2: unigrams and bigrams)", min=1, max=5),
    Param("buckets", "int", 10_000, "hash buckets of the bag-of-n-grams models", min=16, max=100_000_000)),
    "DSIR importance weights (Xie et al. 2023): the log ratio of a document's likelihood under a hashed "
    "bag-of-n-grams model of the target to that under one of the raw documents. Higher is more "
    "target-like. Fitted in a stage of its own (`fit_...`); use it to rank or sample in the mix.",
    returns="number", scorer="fitted"))
