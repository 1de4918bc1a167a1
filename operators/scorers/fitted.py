"""The kernels of the fitted scorers `dsir`, `fasttext_classifier` and `zipfit` (declared in their modules): models
trained inside the build on the documents of other sources, then applied.

The engine runs `fit(kind, params, inputs, out_dir, seed)` as a stage of its own: it reads the inputs (each a
callable giving a fresh iterator of text batches, so a fit can pass over them more than once), writes the model's
files into `out_dir` (byte-identical for the same inputs, parameters and seed) and returns small stats. Later
`load(kind, params, out_dir).score(texts, progress)` gives one float64 per text, null for a null text, and calls
`progress(n)` with the number of texts done since its last call. Memory stays bounded: texts are featurized a few
million characters at a time, and a fit keeps only counts (dsir), the sampled training documents' hashed rows
(fasttext_classifier) or `max_target` texts (zipfit).

- `dsir`: DSIR hashed n-gram importance weights (Xie et al. 2023), computed as the `data-selection` package does.
- `fasttext_classifier`: a fastText supervised classifier (Joulin et al. 2017) trained with torch; the score is
  the probability of the positive class, as in DCLM.
- `zipfit`: ZIP-FIT alignment (Obbad et al. 2024), the mean of 1 - NCD under gzip over a seeded sample of targets.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import torch
import torch.nn.functional as F
from datarecipe.compiler.language.errors import RecipeError
from datarecipe.operators import native
from datarecipe.operators.base import named
from datarecipe.operators.scorers import one_torch_thread

Batches = Callable[[], Iterator[list[str]]]
Progress = Callable[[int], None] | None

CHUNK_CHARS = 2_000_000  # characters tokenized at once: bounds memory whatever the size of a batch


class FittedScorer(Protocol):
    """What `load` returns."""

    output_type: pa.DataType
    forward_passes: int  # calls of score() so far, one batch each

    def score(self, texts: Sequence[str | None], progress: Progress = None) -> pa.Array: ...


def fit(kind: str, params: dict[str, Any], inputs: dict[str, Batches], out_dir: Path, seed: int) -> dict[str, Any]:
    """Train a `kind` model on `inputs` and write it into the empty directory `out_dir`; its stats."""
    return _kind(kind).fit(_settings(kind, params), inputs, Path(out_dir), seed)


def load(kind: str, params: dict[str, Any], out_dir: Path) -> FittedScorer:
    """The scorer of a model `fit` wrote into `out_dir` with the same parameters."""
    return _kind(kind).load(_settings(kind, params), Path(out_dir))


@dataclass(frozen=True)
class Kind:
    """How one kind of model is fitted and loaded."""

    fit: Callable[[dict[str, Any], dict[str, Batches], Path, int], dict[str, Any]]
    load: Callable[[dict[str, Any], Path], FittedScorer]


def _kind(kind: str) -> Kind:
    if kind not in KINDS:
        raise ValueError(f"no fitted scorer named {kind!r}; expected one of {sorted(KINDS)}")
    return KINDS[kind]


def _settings(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """The kind's parameters: `params` over the defaults of its declaration (the input sources left out)."""
    return {p.name: params.get(p.name, p.default) for p in named("scorer")[kind].params if p.type != "source"}


# ---------------------------------------------------------------------------------------------
# shared: passes over the inputs, tokens, hashes, files


def _texts(batches: Batches) -> Iterator[str]:
    """The texts of one fresh pass over an input, null texts left out."""
    for batch in batches():
        yield from (text for text in batch if text is not None)


def _chunks(texts: Iterable[str], chars: int = CHUNK_CHARS) -> Iterator[list[str]]:
    """`texts` in consecutive lists of about `chars` characters."""
    chunk: list[str] = []
    size = 0
    for text in texts:
        chunk.append(text)
        size += len(text)
        if size >= chars:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _no_documents(kind: str, role: str) -> RecipeError:
    return RecipeError(None, f"{kind}: its `{role}` source has no documents to fit on",
                       f"the `{role}` source is empty after its filters; loosen them or name another source")


def _score_texts(texts: Sequence[str | None], values: Callable[[list[str]], np.ndarray], progress: Progress,
                 chars: int = CHUNK_CHARS) -> pa.Array:
    """float64 `values` of the texts, in order, chunk by chunk; null for a null text. `progress` gets counts done."""
    present = np.fromiter((text is not None for text in texts), dtype=bool, count=len(texts))
    positions = np.flatnonzero(present)
    out = np.zeros(len(texts))
    done = 0
    for chunk in _chunks((text for text in texts if text is not None), chars):
        out[positions[done:done + len(chunk)]] = values(chunk)
        done += len(chunk)
        if progress is not None:
            progress(len(chunk))
    if progress is not None and done < len(texts):
        progress(len(texts) - done)
    return pa.array(out, type=pa.float64(), mask=~present)


@dataclass(frozen=True)
class Tokens:
    """The tokens of some texts, one text after another, as indices into their distinct strings."""

    ids: np.ndarray  # int64, one per token
    vocab: pa.Array  # the distinct tokens (pa.string())
    lengths: np.ndarray  # int64, tokens per text

    @classmethod
    def of(cls, texts: list[str], split: Callable[[str], list[str]]) -> Tokens:
        words = [split(text) for text in texts]
        lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
        encoded = pa.array([w for ws in words for w in ws], pa.string()).dictionary_encode()
        return cls(encoded.indices.to_numpy().astype(np.int64), encoded.dictionary, lengths)

    def text_of_token(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.lengths)), self.lengths)

    def ngram_starts(self, n: int) -> np.ndarray:
        """Indices of the tokens that begin an n-gram inside their own text."""
        count = np.maximum(self.lengths - n + 1, 0)
        first = np.cumsum(self.lengths) - self.lengths
        return np.repeat(first, count) + np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)


def _sha256(strings: pa.Array) -> np.ndarray:
    """sha256 of each string's UTF-8 bytes, as four big-endian uint64 words per string."""
    digests = b"".join(hashlib.sha256(s).digest() for s in strings.cast(pa.binary()).to_pylist())
    return np.frombuffer(digests, dtype=">u8").reshape(-1, 4).astype(np.uint64)


def _sample_key(seed: int, text: str) -> int:
    """The 64-bit hash of (seed, text) by which a sample of documents is taken: the smallest keys are kept."""
    digest = hashlib.sha256(seed.to_bytes(8, "little", signed=True) + text.encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _write_json(path: Path, value: dict[str, Any]) -> None:
    path.write_text(json.dumps(value, indent=1, sort_keys=True) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# dsir

# nltk's WordPunctTokenizer (runs of word characters, runs of other non-space characters), which data-selection
# applies to the lowercased text.
WORD_PUNCT = re.compile(r"\w+|[^\w\s]+")
DSIR_SMOOTHING = 1e-8  # data-selection's: log(p + 1e-8), so a bucket one side never saw is finite


def _lowered(texts: list[str]) -> Any:
    """The texts lowercased by str.lower (full case mapping, final sigma) as one Arrow array for the native core; an
    ASCII text is passed as it is, the native core lowers its ASCII letters (the same result)."""
    return pa.array([text if text.isascii() else text.lower() for text in texts], pa.large_string())


def hashed_ngrams(texts: list[str], ngram: int, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """DSIR's features: the bucket of every word and word n-gram (2..ngram) of the texts, and its text's index
    (all the words of all the texts, then all the bigrams, and so on).

    As data-selection's `get_ngram_counts`: the lowercased text split by WORD_PUNCT, an n-gram is its words
    joined by one space, each hashed to int(sha256(utf8).hexdigest(), 16) % buckets; computed by the native core
    (native/src/dsir.rs: SHA-256 on the CPU's SHA extensions where it has them, a per-thread cache of the words).
    The scorer and the fit call the native core directly; this is the features spelled out, for tests and
    inspection.
    """
    low = native.Texts(_lowered(texts))
    out = native.Out()
    native.check(native.lib()[1].dr_dsir_features(*low.args(), ngram, buckets, out.handle))
    _, offsets, _, numbers = out.take()
    text_of = np.repeat(np.arange(len(texts)), np.diff(offsets))
    order = np.argsort(numbers >> np.uint64(32), kind="stable")
    return (numbers[order] & np.uint64(0xFFFFFFFF)).astype(np.int64), text_of[order]


def _dsir_counts(texts: list[str], ngram: int, counts: np.ndarray) -> None:
    """Add the texts' feature counts into `counts` (int64, one per bucket)."""
    if counts.dtype != np.int64 or not counts.flags.c_contiguous:
        raise TypeError("counts must be a contiguous int64 array")
    low = native.Texts(_lowered(texts))
    ptr = native.lib()[0].cast("int64_t *", counts.ctypes.data)
    native.check(native.lib()[1].dr_dsir_count(*low.args(), ngram, len(counts), ptr))


def _dsir_log_probs(kind: str, role: str, batches: Batches, ngram: int, buckets: int
                    ) -> tuple[np.ndarray, dict[str, int]]:
    """log(p + 1e-8) of the input's bag of hashed n-grams, and how many documents and features it had."""
    counts = np.zeros(buckets, dtype=np.int64)
    docs = 0
    for chunk in _chunks(_texts(batches)):
        _dsir_counts(chunk, ngram, counts)
        docs += len(chunk)
    if docs == 0:
        raise _no_documents(kind, role)
    if counts.sum() == 0:
        raise RecipeError(None, f"{kind}: the {docs} documents of its `{role}` source have no words",
                          f"the `{role}` source's texts are empty or all whitespace")
    return np.log(counts / counts.sum() + DSIR_SMOOTHING), {f"{role}_docs": docs, f"{role}_features": int(counts.sum())}


def _fit_dsir(settings: dict[str, Any], inputs: dict[str, Batches], out_dir: Path, seed: int) -> dict[str, Any]:
    ngram, buckets = settings["ngram"], settings["buckets"]
    target, target_stats = _dsir_log_probs("dsir", "target", inputs["target"], ngram, buckets)
    raw, raw_stats = _dsir_log_probs("dsir", "raw", inputs["raw"], ngram, buckets)
    np.save(out_dir / "target_log_probs.npy", target.astype("<f8"))
    np.save(out_dir / "raw_log_probs.npy", raw.astype("<f8"))
    stats = {**target_stats, **raw_stats}
    _write_json(out_dir / "dsir.json", {**settings, **stats, "tokenizer": WORD_PUNCT.pattern, "lowercase": True,
                                         "hash": "int(sha256(utf8).hexdigest(), 16) % buckets",
                                         "smoothing": DSIR_SMOOTHING})
    return stats


class DsirScorer:
    """A document's log importance weight: the sum over its features of log p_target - log p_raw."""

    output_type = pa.float64()

    def __init__(self, log_ratio: np.ndarray, ngram: int):
        self.log_ratio = log_ratio
        self.ngram = ngram
        self.forward_passes = 0

    @classmethod
    def load(cls, settings: dict[str, Any], out_dir: Path) -> DsirScorer:
        return cls(np.load(out_dir / "target_log_probs.npy") - np.load(out_dir / "raw_log_probs.npy"),
                   settings["ngram"])

    def score(self, texts: Sequence[str | None], progress: Progress = None) -> pa.Array:
        self.forward_passes += 1
        return _score_texts(texts, self._weights, progress)

    def _weights(self, texts: list[str]) -> np.ndarray:
        """Per text, the sum of log_ratio over its features, in the order of `hashed_ngrams` (the native core adds
        them as np.bincount(weights=...) did, so the same float64 sums)."""
        low = native.Texts(_lowered(texts))
        out, out_ptr = native.numbers(len(texts), "float64")
        ratio = np.ascontiguousarray(self.log_ratio, dtype=np.float64)
        ratio_ptr = native.lib()[0].cast("double *", ratio.ctypes.data)
        native.check(native.lib()[1].dr_dsir_weights(*low.args(), self.ngram, len(ratio), ratio_ptr, out_ptr))
        return out


# ---------------------------------------------------------------------------------------------
# fasttext_classifier

FT_EOS = "</s>"  # fastText ends every line with this token; it acts as the model's bias
FT_NGRAM_MULTIPLIER = 116_049_371  # fastText's: the hash of an n-gram is h * 116049371 + the next word's hash
FT_BATCH = 16  # documents per SGD step; the summed loss keeps each document's step as large as fastText's


def _fasttext_words(text: str) -> list[str]:
    """DCLM's preprocessing (the lines joined by spaces, no lowercasing), then fastText's whitespace split."""
    return [*text.split(), FT_EOS]


def fasttext_rows(texts: list[str], ngrams: int, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """The embedding rows of each text (its words and word n-grams hashed into `buckets`), text after text,
    and the number of rows of each text.

    A word's hash is the first 64 bits of its sha256; an n-gram's is combined from its words' as fastText does.
    """
    tokens = Tokens.of(texts, _fasttext_words)
    word_hash = _sha256(tokens.vocab)[:, 0][tokens.ids]
    text_of = tokens.text_of_token()
    rows, row_text = [word_hash % np.uint64(buckets)], [text_of]
    gram_at = word_hash
    for n in range(2, ngrams + 1):
        starts = tokens.ngram_starts(n)
        gram = gram_at[starts] * np.uint64(FT_NGRAM_MULTIPLIER) + word_hash[starts + n - 1]  # wraps, as in C
        rows.append(gram % np.uint64(buckets))
        row_text.append(text_of[starts])
        gram_at = np.zeros_like(word_hash)
        gram_at[starts] = gram
    order = np.argsort(np.concatenate(row_text), kind="stable")
    all_rows = np.concatenate(rows)[order].astype(np.int64)
    return all_rows, np.bincount(np.concatenate(row_text), minlength=len(texts))


@dataclass(frozen=True)
class _Examples:
    """Training documents as their embedding rows, one document after another."""

    rows: np.ndarray  # int32
    counts: np.ndarray  # rows per document
    labels: np.ndarray  # 1 positive, 0 negative

    @cached_property
    def first(self) -> np.ndarray:
        """Where each document's rows begin."""
        return np.cumsum(self.counts) - self.counts

    def batch(self, which: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The rows, bag offsets and labels of the documents `which`."""
        counts = self.counts[which]
        offsets = np.cumsum(counts) - counts
        index = np.repeat(self.first[which] - offsets, counts) + np.arange(counts.sum())
        return (torch.from_numpy(self.rows[index].astype(np.int64)), torch.from_numpy(offsets),
                torch.from_numpy(self.labels[which]))


def _fasttext_class(role: str, batches: Batches, settings: dict[str, Any], seed: int
                    ) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """The rows and row counts of one class's documents: all of them, or the `max_docs` with the smallest
    (seed, text) hashes."""
    keys = np.fromiter((_sample_key(seed, text) for text in _texts(batches)), dtype=np.uint64)
    if len(keys) == 0:
        raise _no_documents("fasttext_classifier", role)
    keep = np.zeros(len(keys), dtype=bool)
    keep[np.lexsort((np.arange(len(keys)), keys))[:settings["max_docs"]]] = True
    chosen = (text for text, kept in zip(_texts(batches), keep, strict=True) if kept)
    rows, counts = [], []
    for chunk in _chunks(chosen):
        chunk_rows, chunk_counts = fasttext_rows(chunk, settings["ngrams"], settings["buckets"])
        rows.append(chunk_rows.astype(np.int32))  # buckets < 2**31; halves what the training set holds
        counts.append(chunk_counts)
    all_counts = np.concatenate(counts)
    return np.concatenate(rows), all_counts, {f"{role}_docs": len(keys), f"{role}_docs_used": len(all_counts)}


def _fit_fasttext(settings: dict[str, Any], inputs: dict[str, Batches], out_dir: Path, seed: int) -> dict[str, Any]:
    pos_rows, pos_counts, pos_stats = _fasttext_class("positive", inputs["positive"], settings, seed)
    neg_rows, neg_counts, neg_stats = _fasttext_class("negative", inputs["negative"], settings, seed)
    data = _Examples(np.concatenate([pos_rows, neg_rows]), np.concatenate([pos_counts, neg_counts]),
                     np.repeat(np.array([1, 0], dtype=np.int64), [len(pos_counts), len(neg_counts)]))
    del pos_rows, neg_rows
    with one_torch_thread():  # the same updates in the same order, so the same bytes
        embeddings, output, last_epoch = _train_fasttext(data, settings, seed)
    np.save(out_dir / "input.npy", embeddings.astype("<f4"))
    np.save(out_dir / "output.npy", output.astype("<f4"))
    stats = {**pos_stats, **neg_stats, **last_epoch}
    _write_json(out_dir / "fasttext.json", {**settings, **stats, "words": "str.split() + </s>, case kept",
                                             "hash": "sha256[:8] of a word; n-grams h * 116049371 + next",
                                             "labels": ["negative", "positive"], "batch": FT_BATCH})
    return stats


def _train_fasttext(data: _Examples, settings: dict[str, Any], seed: int
                    ) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """fastText's supervised training: the mean of the rows' vectors, a linear layer to the two labels, softmax
    loss, SGD whose rate falls linearly to 0 over all epochs (by rows seen; fastText counts words). Initialised as
    fastText: input vectors uniform in +-1/dim, output vectors zero."""
    dim, epochs, lr = settings["dim"], settings["epochs"], settings["lr"]
    generator = torch.Generator().manual_seed(seed)
    embeddings = torch.empty(settings["buckets"], dim).uniform_(-1 / dim, 1 / dim, generator=generator)
    output = torch.zeros(2, dim)
    embeddings.requires_grad_()
    output.requires_grad_()
    sgd = torch.optim.SGD([embeddings, output], lr=lr)
    shuffle = np.random.default_rng(seed)
    total, seen = epochs * int(data.counts.sum()), 0
    for epoch in range(epochs):
        loss_sum, correct = 0.0, 0
        permutation = shuffle.permutation(len(data.labels))
        for start in range(0, len(permutation), FT_BATCH):
            which = permutation[start:start + FT_BATCH]
            rows, offsets, labels = data.batch(which)
            sgd.param_groups[0]["lr"] = lr * max(0.0, 1 - seen / total)
            logits = F.embedding_bag(rows, embeddings, offsets, mode="mean", sparse=True) @ output.T
            loss = F.cross_entropy(logits, labels, reduction="sum")
            sgd.zero_grad(set_to_none=True)
            loss.backward()
            sgd.step()
            seen += int(data.counts[which].sum())
            if epoch == epochs - 1:
                loss_sum += float(loss.detach())
                correct += int((logits.argmax(1) == labels).sum())
    last_epoch = {"last_epoch_loss": round(loss_sum / len(data.labels), 6),
                  "last_epoch_accuracy": round(correct / len(data.labels), 6)}
    return embeddings.detach().numpy(), output.detach().numpy(), last_epoch


class FastTextScorer:
    """The probability that a document belongs to the positive class."""

    output_type = pa.float64()

    def __init__(self, embeddings: torch.Tensor, output: np.ndarray, ngrams: int):
        self.embeddings = embeddings
        self.margin = output[1].astype(np.float64) - output[0]  # positive minus negative output vector
        self.ngrams = ngrams
        self.forward_passes = 0

    @classmethod
    def load(cls, settings: dict[str, Any], out_dir: Path) -> FastTextScorer:
        embeddings = torch.from_numpy(np.load(out_dir / "input.npy"))
        return cls(embeddings, np.load(out_dir / "output.npy"), settings["ngrams"])

    def score(self, texts: Sequence[str | None], progress: Progress = None) -> pa.Array:
        self.forward_passes += 1
        return _score_texts(texts, self._probabilities, progress)

    def _probabilities(self, texts: list[str]) -> np.ndarray:
        rows, counts = fasttext_rows(texts, self.ngrams, len(self.embeddings))
        offsets = np.cumsum(counts) - counts
        with torch.inference_mode():
            hidden = F.embedding_bag(torch.from_numpy(rows), self.embeddings, torch.from_numpy(offsets), mode="mean")
        # softmax over two labels is the sigmoid of the logits' difference; one dot product per text, in float64,
        # so a text's value does not depend on the texts scored with it
        margin = (hidden.double().numpy() * self.margin).sum(axis=1)
        return np.asarray(1 / (1 + np.exp(-margin)))


# ---------------------------------------------------------------------------------------------
# zipfit

# gzip at its default level 9, as ZIP-FIT's `gzip.compress` (its code passes level 0, which stores without
# compressing and makes every NCD about 1; we take the paper's gzip at gzip's own default instead).
GZIP_LEVEL = 9
GZIP_WBITS = 31  # zlib writes the gzip container: the same bytes as gzip.compress, less the Python call overhead
ZIPFIT_CHUNK_CHARS = 200_000  # candidate characters scored between two progress reports


def gzip_size(data: bytes) -> int:
    return len(zlib.compress(data, GZIP_LEVEL, wbits=GZIP_WBITS))


def ncd(cx: np.ndarray, cy: np.ndarray, cxy: np.ndarray) -> np.ndarray:
    """Normalized compression distance from the compressed sizes of x, y and x followed by y (broadcast)."""
    return np.asarray((cxy - np.minimum(cx, cy)) / np.maximum(cx, cy), dtype=np.float64)


def _fit_zipfit(settings: dict[str, Any], inputs: dict[str, Batches], out_dir: Path, seed: int) -> dict[str, Any]:
    """Keep the `max_target` target documents with the smallest (seed, text) hashes, each cut to `max_chars`."""
    kept: list[tuple[int, int, str]] = []  # a max-heap on (key, position), through negation
    docs = 0
    for position, text in enumerate(_texts(inputs["target"])):
        docs += 1
        entry = (-_sample_key(seed, text), -position, text)
        if len(kept) < settings["max_target"]:
            heapq.heappush(kept, entry)
        elif entry > kept[0]:
            heapq.heapreplace(kept, entry)
    if docs == 0:
        raise _no_documents("zipfit", "target")
    targets = [text[:settings["max_chars"]] for _, _, text in sorted(kept, reverse=True)]
    _write_json(out_dir / "zipfit.json", {
        **settings, "target_docs": docs, "compressor": f"gzip level {GZIP_LEVEL}", "join": "x + target, no separator",
        "targets": [{"text": t, "gzip_size": gzip_size(t.encode())} for t in targets]})
    return {"target_docs": docs, "target_docs_used": len(targets)}


class ZipFitScorer:
    """ZIP-FIT alignment: the mean over the kept target documents t of 1 - NCD(x, t), x and t cut to `max_chars`."""

    output_type = pa.float64()

    def __init__(self, targets: list[bytes], sizes: np.ndarray, max_chars: int):
        self.targets = targets
        self.sizes = sizes
        self.max_chars = max_chars
        self.forward_passes = 0

    @classmethod
    def load(cls, settings: dict[str, Any], out_dir: Path) -> ZipFitScorer:
        stored = json.loads((out_dir / "zipfit.json").read_text(encoding="utf-8"))["targets"]
        return cls([t["text"].encode() for t in stored], np.array([t["gzip_size"] for t in stored], dtype=np.float64),
                   settings["max_chars"])

    def score(self, texts: Sequence[str | None], progress: Progress = None) -> pa.Array:
        self.forward_passes += 1
        return _score_texts(texts, self._alignments, progress, ZIPFIT_CHUNK_CHARS)

    def _alignments(self, texts: list[str]) -> np.ndarray:
        own = np.zeros(len(texts))
        joint = np.zeros((len(texts), len(self.targets)))
        for i, text in enumerate(texts):
            x = text[:self.max_chars].encode()
            own[i] = gzip_size(x)
            # C(x + t) for every t: compress x once, then continue a copy of that state with each t.
            head = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, GZIP_WBITS)
            head_size = len(head.compress(x))
            for j, target in enumerate(self.targets):
                tail = head.copy()
                joint[i, j] = head_size + len(tail.compress(target)) + len(tail.flush())
        distance = ncd(own[:, None], self.sizes[None, :], joint)
        return (1 - distance).mean(axis=1)


KINDS = {
    "dsir": Kind(_fit_dsir, DsirScorer.load),
    "fasttext_classifier": Kind(_fit_fasttext, FastTextScorer.load),
    "zipfit": Kind(_fit_zipfit, ZipFitScorer.load),
}
