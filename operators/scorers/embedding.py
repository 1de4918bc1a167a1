"""`NAME = embedding(PATH, ...)`: a sentence embedding from a transformers encoder, a vector column. Its kernel is
models.py's `Embedding`."""

from __future__ import annotations

from datarecipe.operators.base import Operator, Param, register
from datarecipe.operators.scorers import BATCH, MODEL_PATH, max_length

register(Operator("embedding", "scorer", (
    MODEL_PATH,
    Param("pooling", "choice", "mean", "`mean` of the token vectors (attention-masked), or the `cls` token's",
          choices=("mean", "cls")),
    Param("normalize", "bool", True, "scale each vector to unit length (L2)"),
    max_length(256), BATCH),
    "A sentence embedding from a transformers encoder (`AutoModel`), e.g. all-MiniLM-L6-v2: a fixed-size list "
    "of floats, kept as a column of the output for later semantic operators. It is not a number: "
    "it cannot be compared or sorted on.", returns="vector", scorer="model"))
