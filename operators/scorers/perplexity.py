"""`NAME = perplexity(PATH, ...)`: perplexity under a causal language model, read in strided windows. Its kernel is
models.py's `Perplexity`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from datarecipe.operators.base import Operator, Param, register
from datarecipe.operators.scorers import BATCH, MODEL_PATH, max_length


def validate(args: Mapping[str, Any], last: bool) -> tuple[str, str] | None:
    if args["stride"] > args["max_length"]:
        return (f"`stride` ({args['stride']}) is longer than `max_length` ({args['max_length']})",
                "a window moves on by at most its length")
    return None


register(Operator("perplexity", "scorer", (
    MODEL_PATH, max_length(1024),
    Param("stride", "int", 512, "tokens each window moves on; a window scores only the tokens no earlier "
          "window scored, with up to `max_length - stride` tokens of context before them", min=1),
    Param("batch", "int", 8, BATCH.doc, min=1, max=65_536)),
    "Perplexity under a causal language model (`AutoModelForCausalLM`): exp of the mean negative "
    "log-likelihood of the document's tokens, each token weighted once. Documents longer than `max_length` "
    "are read in strided windows. NULL for a document of fewer than 2 tokens.",
    returns="number", scorer="model",
    validate=validate))
