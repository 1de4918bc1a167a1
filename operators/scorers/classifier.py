"""`NAME = classifier(PATH, ...)`: a transformers sequence classifier's logit or probability of one label, or its
regression output. Its kernel is models.py's `Classifier`."""

from __future__ import annotations

from datarecipe.operators.base import Operator, Param, register
from datarecipe.operators.scorers import BATCH, MODEL_PATH, max_length

register(Operator("classifier", "scorer", (
    MODEL_PATH,
    Param("label", "str", "", "the label whose score to take, as the model's `id2label` names it; leave it "
          "out for a model with one output (a regressor such as FineWeb-Edu's)"),
    Param("output", "choice", "logit", "`logit`: the raw output; `probability`: its softmax over the labels "
          "(a sigmoid for a one-output model)", choices=("logit", "probability")),
    max_length(512), BATCH),
    "A transformers sequence-classification model (`AutoModelForSequenceClassification`): the logit or "
    "probability of one label, or the value of a regression head, e.g. FineWeb-Edu's educational score.",
    returns="number", scorer="model"))
