"""Scorers, the entries of a `score` block, one module each with its declaration and validation. Their kernels are
shared by kind: models.py runs the transformers models (`classifier`, `perplexity`, `embedding`), fitted.py fits and
applies the models trained inside a build (`fasttext_classifier`, `dsir`, `zipfit`); both import torch, so the
runtime imports them when a build scores, never `recipe check`. `expr` is computed in the score stage's SQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from datarecipe.operators.base import REQUIRED, Param

MODEL_PATH = Param("path", "path", REQUIRED, "a local model directory (`save_pretrained` layout), relative to the "
                   "working directory; a hub id (`org/name`) is taken from the local Hugging Face cache, never "
                   "downloaded")
BATCH = Param("batch", "int", 32, "documents per forward pass on a GPU; the device's memory bounds it (part of the "
               "score's cache key there: it decides the last bits). Not used on a CPU, where a document (or a "
               "perplexity window) runs alone", min=1, max=65_536)


def max_length(default: int) -> Param:
    return Param("max_length", "int", default, "tokens per document (per window, for perplexity); the rest is "
                 "truncated", min=2, max=1_000_000)


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """torch on one CPU thread while the block runs: how many threads split a kernel's sums decides their last bits
    on some CPUs (measured on one with AVX-512 and AMX: a model's values on 2 threads differ from those on 1), and
    a build's bytes must not depend on its machine's cores."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
