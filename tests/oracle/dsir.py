"""The numpy implementation of the `dsir` scorer's features, fit counts and weights that the native core replaced
(operators/scorers/fitted.py before issue 24), kept as the test oracle: the native buckets, counts and weights must
equal these, bit for bit.

As data-selection's `get_ngram_counts`: the lowercased text (str.lower) split by nltk's WordPunctTokenizer regex,
an n-gram is its words joined by one space, each hashed to int(sha256(utf8).hexdigest(), 16) % buckets.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

WORD_PUNCT = re.compile(r"\w+|[^\w\s]+")
DSIR_SMOOTHING = 1e-8


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


def sha256_buckets(strings: pa.Array, buckets: int) -> np.ndarray:
    """int(sha256(s).hexdigest(), 16) % buckets for each string (data-selection's hash), without Python big ints."""
    words = _sha256(strings) % np.uint64(buckets)
    word_base = np.uint64(2**64 % buckets)
    rest = np.zeros(len(words), dtype=np.uint64)
    for k in range(4):
        rest = (rest * word_base + words[:, k]) % np.uint64(buckets)
    return rest.astype(np.int64)


def hashed_ngrams(texts: list[str], ngram: int, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """DSIR's features: the bucket of every word and word n-gram (2..ngram) of the texts, and its text's index
    (all words of all texts, then all bigrams, ...)."""
    tokens = Tokens.of([text.lower() for text in texts], WORD_PUNCT.findall)
    text_of = tokens.text_of_token()
    found, found_text = [sha256_buckets(tokens.vocab, buckets)[tokens.ids]], [text_of]
    gram_at, grams, size = tokens.ids, tokens.vocab, len(tokens.vocab)
    for n in range(2, ngram + 1):
        starts = tokens.ngram_starts(n)
        distinct, which = np.unique(gram_at[starts] * size + tokens.ids[starts + n - 1], return_inverse=True)
        grams = pc.binary_join_element_wise(grams.take(pa.array(distinct // size)),
                                            tokens.vocab.take(pa.array(distinct % size)), " ")
        found.append(sha256_buckets(grams, buckets)[which])
        found_text.append(text_of[starts])
        gram_at = np.zeros_like(tokens.ids)
        gram_at[starts] = which
    return np.concatenate(found), np.concatenate(found_text)


def counts(chunks: list[list[str]], ngram: int, buckets: int) -> np.ndarray:
    """The fit's bucket counts over chunks of texts (what `_dsir_log_probs` summed)."""
    total = np.zeros(buckets, dtype=np.int64)
    for chunk in chunks:
        total += np.bincount(hashed_ngrams(chunk, ngram, buckets)[0], minlength=buckets)
    return total


def log_probs(total: np.ndarray) -> np.ndarray:
    return np.log(total / total.sum() + DSIR_SMOOTHING)


def weights(texts: list[str], log_ratio: np.ndarray, ngram: int) -> np.ndarray:
    """DsirScorer._weights: per text, the sum of log_ratio over its features."""
    found, text_of = hashed_ngrams(texts, ngram, len(log_ratio))
    return np.bincount(text_of, weights=log_ratio[found], minlength=len(texts))
