"""The kernels of the model scorers `classifier`, `perplexity` and `embedding` (declared in their modules), run with
transformers.

The engine picks a device, resolves each model path to a local directory and fingerprints it (runtime/weights.py),
then loads a scorer here and calls `score(texts)`. A scorer tokenizes a group of documents at once (GROUP_BATCHES
batches' worth), cuts what it feeds the model into pieces (a document, or one window of a long document for
perplexity) and runs them in batches whose shape depends on the piece alone, so a text's value has the same bytes
whichever texts share its batch, in whatever order, after a resume or on Ray (the kernels a model runs, and the
order in which they add, depend on the shapes: a row padded further, or a batch of 2 rows rather than 4, changes
the last bits). A batch holds pieces of one width and has a fixed number of rows; the last batch of
a width is filled up with copies of its first piece. On a CPU a piece runs alone, at its own length: a CPU's BLAS
can give a row of a batch other last bits by its place in the batch (measured with MKL on an AVX-512 CPU: a
Linear layer of 2 outputs over 4 rows), and a batch is no faster per token there (docs/benchmarks.md). The model
runs on one torch thread there (`one_torch_thread`): how many threads split a kernel's sums decides the last bits
on some CPUs. On a GPU a batch has `batch` rows of a width rounded up to a multiple of GPU_WIDTH_STEP. Values
come back in input order.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import torch
import torch.nn.functional as F
from datarecipe.compiler.language.errors import RecipeError
from datarecipe.operators.base import named
from datarecipe.operators.scorers import one_torch_thread
from datarecipe.runtime.weights import label_index, precision
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForCausalLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PretrainedConfig,
    PreTrainedModel,
)
from transformers.utils import logging as hf_logging

# Batches per group sorted by length: enough documents to find neighbours of similar length, few enough to stream.
GROUP_BATCHES = 32
# On a GPU, the widths that batches are padded to: a piece's length rounded up to a multiple of this (at most
# max_length), so that few batches run per group and little of them is padding.
GPU_WIDTH_STEP = 64

hf_logging.disable_progress_bar()  # the build's own progress bars say what is happening; no tqdm from loading


def load(kind: str, local: Path, params: Mapping[str, Any], device: str) -> Scorer:
    """A scorer of `kind` for the model in local, with the compiler's checked params, on device."""
    config = _load(AutoConfig, local, kind)
    if "max_length" in params:
        _check_max_length(config, params["max_length"], local)
    dtype = getattr(torch, precision(device))
    if kind == "classifier":
        head = _ClassifierHead.of(config, params["label"], params["output"], local)
        model = _load(AutoModelForSequenceClassification, local, kind, dtype=dtype)
        return Classifier(model, _load(AutoTokenizer, local, kind), device, params, head)
    if kind == "perplexity":
        model = _load(AutoModelForCausalLM, local, kind, dtype=dtype)
        return Perplexity(model, _load(AutoTokenizer, local, kind), device, params)
    if kind == "embedding":
        model = _load(AutoModel, local, kind, dtype=dtype)
        return Embedding(model, _load(AutoTokenizer, local, kind), device, params)
    kinds = tuple(name for name, op in named("scorer").items() if op.scorer == "model")
    raise ValueError(f"unknown scorer kind {kind!r}, expected one of {kinds}")


def _load(auto: Any, local: Path, kind: str, **kwargs: Any) -> Any:
    """auto.from_pretrained(local), with any failure reported as the user's model directory's problem."""
    try:
        return auto.from_pretrained(local, **kwargs)
    except Exception as exc:  # whatever transformers raises, the cause is the directory the recipe named
        first_line = (str(exc).strip() or type(exc).__name__).splitlines()[0]
        raise RecipeError(None, f"cannot load `{local}` as a `{kind}` model ({auto.__name__}): {first_line}",
                          "give a directory written by `save_pretrained` for a model of that kind; "
                          "check that config.json, the weights and the tokenizer files are all there") from exc


def _check_max_length(config: PretrainedConfig, max_length: int, local: Path) -> None:
    positions = getattr(config, "max_position_embeddings", None)
    if isinstance(positions, int) and max_length > positions:
        raise RecipeError(None, f"`max_length: {max_length}` is more than model `{local}` reads: it has "
                                f"{positions} positions", f"use `max_length: {positions}` or less")


@dataclass(frozen=True)
class Piece:
    """One row of a batch: a document's tokens, or one window of them."""

    doc: int  # the document's index in its group
    ids: list[int]
    scored_from: int = 0  # perplexity: the first position of this window whose token it scores


class Scorer:
    """Runs one model over documents in batches of one shape per piece length. Subclasses say what the pieces of
    a document are (`_pieces`), what a batch of pieces gives (`_run`) and how a document's value is made from its
    pieces'."""

    output_type: pa.DataType = pa.float64()

    def __init__(self, model: PreTrainedModel, tokenizer: Any, device: str, params: Mapping[str, Any]):
        self.model = model.to(device).eval()  # type: ignore[arg-type]  # transformers' decorator hides to()'s type
        self.tokenizer = tokenizer
        self.device = device
        self.batch: int = params["batch"]
        self.max_length: int = params["max_length"]
        # The shape of every batch (module docstring): the multiple its width is rounded up to, and its rows.
        # `batch` plays no part on a CPU, where a piece runs alone.
        cpu = device == "cpu"
        self.width_step = 1 if cpu else GPU_WIDTH_STEP
        self.rows = 1 if cpu else self.batch
        # What it did: model calls, real tokens fed, and positions run (the tokens plus the padding).
        self.forward_passes = 0
        self.tokens = 0
        self.positions = 0
        # We pad ourselves (right side, with an attention mask); GPT-2 and Llama tokenizers have no pad token.
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        self.pad_id: int = pad if pad is not None else 0

    def score(self, texts: Sequence[str | None], progress: Callable[[int], None] | None = None) -> pa.Array:
        """One value per text, in order; null for a null text. progress(n) is called as n documents finish."""
        values: list[Any] = []
        step = self.batch * GROUP_BATCHES
        with one_torch_thread() if self.device == "cpu" else nullcontext():
            for start in range(0, len(texts), step):
                values += self._score_group(texts[start:start + step], progress)
        return pa.array(values, type=self.output_type)

    def _score_group(self, texts: Sequence[str | None], progress: Callable[[int], None] | None) -> list[Any]:
        pieces = self._pieces(texts)
        left = Counter(p.doc for p in pieces)
        if progress and len(texts) > len(left):
            progress(len(texts) - len(left))  # nothing to run for these: null, or too short
        outputs: list[Any] = [None] * len(pieces)
        for batch in self._batches(pieces):
            for i, out in zip(batch, self._forward([pieces[i] for i in batch]), strict=True):
                outputs[i] = out
            finished = 0
            for i in batch:
                left[pieces[i].doc] -= 1
                finished += left[pieces[i].doc] == 0
            if progress and finished:
                progress(finished)
        return self._combine(len(texts), pieces, outputs)

    def _width(self, piece: Piece) -> int:
        """The width of the batches that run this piece: its length, rounded up to a multiple of width_step."""
        return min(-(-len(piece.ids) // self.width_step) * self.width_step, max(self.max_length, len(piece.ids)))

    def _batches(self, pieces: list[Piece]) -> Iterator[list[int]]:
        """Indices of pieces, in order of (width, index), cut into batches of one width and up to `rows` pieces."""
        order = sorted(range(len(pieces)), key=lambda i: (self._width(pieces[i]), i))
        for _, same in itertools.groupby(order, key=lambda i: self._width(pieces[i])):
            run = list(same)
            for start in range(0, len(run), self.rows):
                yield run[start:start + self.rows]

    @torch.inference_mode()
    def _forward(self, pieces: list[Piece]) -> list[Any]:
        """The outputs of pieces of one width, run as a batch of that width's rows: the rows the batch lacks are
        copies of its first piece, whose outputs are dropped."""
        width = self._width(pieces[0])
        rows = [*pieces, *[pieces[0]] * (self.rows - len(pieces))]
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for row, piece in enumerate(rows):
            ids[row, :len(piece.ids)] = torch.tensor(piece.ids)
            mask[row, :len(piece.ids)] = 1
        self.forward_passes += 1
        self.tokens += sum(len(p.ids) for p in pieces)
        self.positions += ids.numel()
        # Right padding: the default positions 0.. are right for every real token, so no position_ids are passed.
        return self._run(ids.to(self.device), mask.to(self.device), rows)[:len(pieces)]

    def _tokenize(self, texts: Sequence[str | None], truncate: bool) -> list[list[int] | None]:
        """Token ids per text (None for None), with the tokenizer's special tokens; cut at max_length if truncate."""
        present = [t for t in texts if t is not None]
        kwargs: dict[str, Any] = {"truncation": True, "max_length": self.max_length} if truncate else {}
        encoded = iter(self.tokenizer(present, verbose=False, **kwargs)["input_ids"] if present else [])
        return [None if t is None else next(encoded) for t in texts]

    def _pieces(self, texts: Sequence[str | None]) -> list[Piece]:
        """A document's tokens, truncated, as its one piece; none for a null text or one without tokens."""
        return [Piece(doc, ids) for doc, ids in enumerate(self._tokenize(texts, truncate=True)) if ids]

    def _run(self, ids: torch.Tensor, mask: torch.Tensor, pieces: list[Piece]) -> list[Any]:
        raise NotImplementedError

    def _combine(self, n: int, pieces: list[Piece], outputs: list[Any]) -> list[Any]:
        """Values of n documents from their pieces' outputs: here, each document's one piece."""
        values: list[Any] = [None] * n
        for piece, out in zip(pieces, outputs, strict=True):
            values[piece.doc] = out
        return values


@dataclass(frozen=True)
class _ClassifierHead:
    """Which output of a classifier to take, and how: raw, softmax over the labels, or sigmoid of one output."""

    index: int
    squash: str  # "" | "softmax" | "sigmoid"

    @staticmethod
    def of(config: PretrainedConfig, label: str, output: str, local: Path) -> _ClassifierHead:
        id2label: dict[int, str] = config.id2label  # type: ignore[assignment]
        labels = [id2label[i] for i in range(len(id2label))]
        index = label_index(labels, label, str(local))
        squash = "" if output == "logit" else "sigmoid" if len(labels) == 1 else "softmax"
        return _ClassifierHead(index, squash)


class Classifier(Scorer):
    """The logit or probability of one label of a sequence classifier, or its one regression output."""

    def __init__(self, model: PreTrainedModel, tokenizer: Any, device: str, params: Mapping[str, Any],
                 head: _ClassifierHead):
        super().__init__(model, tokenizer, device, params)
        self.head = head

    def _run(self, ids: torch.Tensor, mask: torch.Tensor, pieces: list[Piece]) -> list[Any]:
        logits = self.model(input_ids=ids, attention_mask=mask).logits.float()
        if self.head.squash == "softmax":
            logits = logits.softmax(dim=-1)
        elif self.head.squash == "sigmoid":
            logits = logits.sigmoid()
        return logits[:, self.head.index].tolist()


class Embedding(Scorer):
    """A sentence vector: the mean (over the attention mask) or the first token's last hidden state."""

    def __init__(self, model: PreTrainedModel, tokenizer: Any, device: str, params: Mapping[str, Any]):
        super().__init__(model, tokenizer, device, params)
        self.pooling: str = params["pooling"]
        self.normalize: bool = params["normalize"]
        self.output_type = pa.list_(pa.float32(), model.config.hidden_size)

    def _run(self, ids: torch.Tensor, mask: torch.Tensor, pieces: list[Piece]) -> list[Any]:
        hidden = self.model(input_ids=ids, attention_mask=mask).last_hidden_state.float()
        if self.pooling == "cls":
            vectors = hidden[:, 0]
        else:
            weights = mask.unsqueeze(-1).to(hidden.dtype)
            vectors = (hidden * weights).sum(dim=1) / weights.sum(dim=1)
        if self.normalize:
            vectors = F.normalize(vectors, p=2, dim=-1)
        return list(vectors.cpu().numpy())


class Perplexity(Scorer):
    """exp of the mean negative log-likelihood of a document's tokens, read in strided windows.

    As in Hugging Face's "perplexity of fixed-length models": windows begin at 0, stride, 2*stride, ... and hold
    up to max_length tokens; each scores only the tokens no earlier window scored, so every token counts once
    (the first token of a window that starts where the last one ended has no context and is not scored).
    """

    def __init__(self, model: PreTrainedModel, tokenizer: Any, device: str, params: Mapping[str, Any]):
        super().__init__(model, tokenizer, device, params)
        self.stride: int = params["stride"]

    def _pieces(self, texts: Sequence[str | None]) -> list[Piece]:
        pieces = []
        for doc, tokens in enumerate(self._tokenize(texts, truncate=False)):
            ids = tokens or []
            n = len(ids)
            prev_end = 0
            for begin in range(0, n if n >= 2 else 0, self.stride):
                end = min(begin + self.max_length, n)
                scored_from = max(prev_end - begin, 1)
                if end - begin > scored_from:  # a last window of one token has nothing it can score
                    pieces.append(Piece(doc, ids[begin:end], scored_from))
                prev_end = end
                if end == n:
                    break
        return pieces

    def _run(self, ids: torch.Tensor, mask: torch.Tensor, pieces: list[Piece]) -> list[Any]:
        """(sum of the negative log-likelihoods, number of tokens) of the tokens each window scores."""
        logits = self.model(input_ids=ids, attention_mask=mask).logits
        positions = torch.arange(ids.shape[1], device=ids.device)
        start = torch.tensor([p.scored_from for p in pieces], device=ids.device)
        scored = (positions >= start[:, None]) & mask.bool()
        # The token at position t is predicted by the logits at t - 1.
        target = scored[:, 1:]
        rows = target.nonzero()[:, 0]
        nll = F.cross_entropy(logits[:, :-1][target].float(), ids[:, 1:][target], reduction="none")
        sums = torch.zeros(len(pieces), dtype=torch.float64, device=ids.device).index_add_(0, rows, nll.double())
        return list(zip(sums.tolist(), target.sum(dim=1).tolist(), strict=True))

    def _combine(self, n: int, pieces: list[Piece], outputs: list[Any]) -> list[Any]:
        nll = [0.0] * n
        count = [0] * n
        for piece, (total, tokens) in zip(pieces, outputs, strict=True):
            nll[piece.doc] += total
            count[piece.doc] += tokens
        return [math.exp(nll[d] / count[d]) if count[d] else None for d in range(n)]
