"""`NAME = fasttext_classifier(positive: SOURCE, negative: SOURCE)`: a fastText-style quality classifier trained
inside the build (DCLM). Fitted and applied by fitted.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from datarecipe.operators.base import REQUIRED, Operator, Param, register


def validate(args: Mapping[str, Any], last: bool) -> tuple[str, str] | None:
    if args["positive"] == args["negative"]:
        return "`positive` and `negative` are the same source", "train on two different sources"
    return None


register(Operator("fasttext_classifier", "scorer", (
    Param("positive", "source", REQUIRED, "the source whose documents are the positive class, e.g. a "
          "reference set of high-quality text"),
    Param("negative", "source", REQUIRED, "the source whose documents are the negative class, e.g. random web"),
    Param("ngrams", "int", 2, "longest word n-gram used as a feature (2: words and word pairs)", min=1, max=5),
    Param("dim", "int", 64, "size of the word vectors", min=2, max=1024),
    Param("epochs", "int", 5, "passes over the training documents", min=1, max=100),
    Param("lr", "float", 0.1, "learning rate at the start; it falls linearly to 0", min=0.0001, max=10),
    Param("buckets", "int", 200_000, "hash buckets the words and n-grams share", min=1_000, max=10_000_000),
    Param("max_docs", "int", 100_000, "most training documents per class (a seeded sample of the rest)",
          min=1)),
    "The DCLM / PreSelect quality classifier: a fastText-style supervised model (Joulin et al. 2017: "
    "hashed words and word n-grams, averaged vectors, a linear layer, SGD with a linearly decaying rate) "
    "trained inside the build on the filtered documents of two sources, then applied. The score is the "
    "probability of the positive class. Training runs in a stage of its own (`fit_...`); its model is "
    "cached by the fingerprint of its inputs and parameters, like data.", returns="number", scorer="fitted",
    validate=validate))
