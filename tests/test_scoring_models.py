"""The model scorers of `score` blocks (operators/scorers/models.py) on real models loaded with `from_pretrained(path)`:
tiny random GPT-2, Llama and BERT classifiers saved in the session's temporary directory, and all-MiniLM-L6-v2
from its wheel. Every value must equal a plain, unbatched transformers computation of the same document, in
input order, whatever the batching; a user's mistakes give a RecipeError that names the model and what to do."""

from __future__ import annotations

import math
import os
import random
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import huggingface_hub
import pyarrow as pa
import pytest
import torch
from datarecipe.compiler.language.errors import RecipeError
from datarecipe.operators.scorers import models as scoring
from datarecipe.runtime import weights
from helpers import sentence
from transformers import AutoModel, AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

# tests/models.py: ruff takes it for first party when `make models` has made a models/ folder, else third party.
# isort: split
from models import minilm_dir, tiny_classifier, tiny_gpt2, tiny_llama, tiny_regressor


def mixed_texts(n: int = 14, seed: int = 0) -> list[str]:
    """Documents of 0 to 9 sentences (up to ~250 tokens) in a shuffled order, plus a one-token document."""
    rng = random.Random(seed)
    texts = [" ".join(sentence(rng) for _ in range(k)) for k in [0, 9, 1, 4, 2, 7, 3, 1, 6, 2, 5, 8, 3, 1][:n]]
    return [*texts, "The"]


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """Models this small run faster on one thread than on two that contend for a busy machine's cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def gpt2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_gpt2(tmp_path_factory.mktemp("gpt2"))


@pytest.fixture(scope="session")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_llama(tmp_path_factory.mktemp("llama"))


@pytest.fixture(scope="session")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_classifier(tmp_path_factory.mktemp("classifier"))


@pytest.fixture(scope="session")
def regressor(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_regressor(tmp_path_factory.mktemp("regressor"))


def score(kind: str, model: Path, texts: list[Any], **params: Any) -> tuple[list[Any], scoring.Scorer]:
    scorer = scoring.load(kind, model, params, "cpu")
    values = scorer.score(texts)
    assert len(values) == len(texts) and values.type == scorer.output_type
    return values.to_pylist(), scorer


# ---------------------------------------------------------------------------------------------
# perplexity


@torch.inference_mode()
def reference_perplexity(model: Any, tokenizer: Any, text: str, max_length: int, stride: int) -> float | None:
    """The strided loop of Hugging Face's "perplexity of fixed-length models", one document, one window a call."""
    ids = tokenizer(text, return_tensors="pt").input_ids
    n = ids.size(1)
    if n < 2:
        return None
    nll, count, prev_end = 0.0, 0, 0
    for begin in range(0, n, stride):
        end = min(begin + max_length, n)
        window = ids[:, begin:end]
        labels = window.clone()
        labels[:, :window.size(1) - (end - prev_end)] = -100
        scored = int((labels[:, 1:] != -100).sum())  # the model shifts labels: a window's first token is unscored
        if scored:
            nll += model(window, labels=labels).loss.item() * scored
            count += scored
        prev_end = end
        if end == n:
            break
    return math.exp(nll / count)


@pytest.mark.parametrize("family", ["gpt2", "llama"])
@pytest.mark.parametrize("max_length,stride", [(32, 12), (24, 24)])
def test_perplexity_equals_the_unbatched_strided_loop(family: str, max_length: int, stride: int,
                                                      request: pytest.FixtureRequest) -> None:
    path = request.getfixturevalue(family)
    texts = mixed_texts()
    values, scorer = score("perplexity", path, texts, max_length=max_length, stride=stride, batch=5)
    model, tokenizer = AutoModelForCausalLM.from_pretrained(path).eval(), AutoTokenizer.from_pretrained(path)
    lengths = [len(ids) for ids in tokenizer(texts)["input_ids"]]
    assert max(lengths) > 4 * max_length  # several windows
    for text, value in zip(texts, values, strict=True):
        want = reference_perplexity(model, tokenizer, text, max_length, stride)
        assert (value is None) == (want is None), text
        if want is not None:
            assert value == pytest.approx(want, rel=1e-4), text
    assert len({round(v) for v in values if v is not None}) > len(texts) // 2  # the documents differ


def test_perplexity_is_null_below_two_tokens(gpt2: Path, llama: Path) -> None:
    # GPT-2's tokenizer adds nothing: "" has 0 tokens and "The" 1. Llama's adds <s>: "" has 1, "The" 2.
    assert score("perplexity", gpt2, ["", "The", None], max_length=16, stride=8, batch=2)[0] == [None] * 3
    values = score("perplexity", llama, ["", "The", None], max_length=16, stride=8, batch=2)[0]
    assert values[0] is None and values[1] > 1 and values[2] is None


def test_perplexity_runs_each_window_alone_on_a_cpu(gpt2: Path) -> None:
    texts = mixed_texts()
    lengths = [len(ids) for ids in AutoTokenizer.from_pretrained(gpt2)(texts)["input_ids"]]
    # Windows of 32 tokens every 12 tokens: one, and one more per 12 tokens (or part) past the first 32.
    windows = sum(1 + math.ceil(max(n - 32, 0) / 12) for n in lengths if n >= 2)
    _, scorer = score("perplexity", gpt2, texts, max_length=32, stride=12, batch=8)
    # On a CPU every window runs alone, unpadded (models.py: a row's bits there may depend on its place in a batch).
    assert scorer.forward_passes == windows
    assert scorer.tokens == scorer.positions


# ---------------------------------------------------------------------------------------------
# classifier


@torch.inference_mode()
def reference_logits(path: Path, texts: list[str], max_length: int) -> list[torch.Tensor]:
    """The logits of each text, one forward pass per text."""
    model = AutoModelForSequenceClassification.from_pretrained(path).eval()
    tokenizer = AutoTokenizer.from_pretrained(path)
    return [model(**tokenizer(text, truncation=True, max_length=max_length, return_tensors="pt")).logits[0]
            for text in texts]


@pytest.mark.parametrize("output", ["logit", "probability"])
def test_classifier_equals_a_single_document_forward_pass(classifier: Path, output: str) -> None:
    texts = mixed_texts()
    values, _ = score("classifier", classifier, texts, label="good", output=output, max_length=40, batch=4)
    for text, value, logits in zip(texts, values, reference_logits(classifier, texts, 40), strict=True):
        want = logits[1] if output == "logit" else logits.softmax(-1)[1]
        assert value == pytest.approx(float(want), rel=1e-4, abs=1e-6), text
    assert len({round(v, 4) for v in values}) > len(texts) // 2


def test_regressor_gives_its_one_output(regressor: Path) -> None:
    texts = mixed_texts()
    logits, _ = score("classifier", regressor, texts, label="", output="logit", max_length=64, batch=3)
    probabilities, _ = score("classifier", regressor, texts, label="", output="probability", max_length=64, batch=3)
    for logit, probability, reference in zip(logits, probabilities, reference_logits(regressor, texts, 64),
                                             strict=True):
        want = float(reference[0])
        assert logit == pytest.approx(want, rel=1e-4, abs=1e-6)
        assert probability == pytest.approx(1 / (1 + math.exp(-want)), rel=1e-4)


# ---------------------------------------------------------------------------------------------
# embedding


@pytest.mark.parametrize("pooling,normalize", [("mean", True), ("cls", False)])
@torch.inference_mode()
def test_minilm_embedding_equals_the_unbatched_computation(pooling: str, normalize: bool) -> None:
    texts = mixed_texts(8)
    values, scorer = score("embedding", minilm_dir(), texts, pooling=pooling, normalize=normalize, max_length=256,
                           batch=3)
    assert scorer.output_type == pa.list_(pa.float32(), 384)
    model, tokenizer = AutoModel.from_pretrained(minilm_dir()).eval(), AutoTokenizer.from_pretrained(minilm_dir())
    for text, value in zip(texts, values, strict=True):
        hidden = model(**tokenizer(text, return_tensors="pt")).last_hidden_state[0]
        want = hidden.mean(dim=0) if pooling == "mean" else hidden[0]
        if normalize:
            want = want / want.norm()
            assert math.isclose(sum(x * x for x in value), 1, rel_tol=1e-5)
        assert torch.allclose(torch.tensor(value), want, atol=1e-5), text


# ---------------------------------------------------------------------------------------------
# batching


SCORERS: list[tuple[str, str, dict[str, Any]]] = [
    ("classifier", "classifier", {"label": "bad", "output": "logit", "max_length": 64, "batch": 4}),
    ("perplexity", "gpt2", {"max_length": 32, "stride": 12, "batch": 4}),
    ("embedding", "minilm", {"pooling": "mean", "normalize": True, "max_length": 64, "batch": 4})]


def bits(values: list[Any]) -> list[str]:
    """The values' exact bits: repr gives the shortest text that reads back as the same float."""
    return [repr(v) for v in values]


def compositions(scorer: scoring.Scorer, texts: list[str]) -> dict[str, list[str]]:
    """The bits of the texts' values scored in several batch compositions and orders, and on 2 threads."""
    shuffled = list(range(len(texts)))
    random.Random(1).shuffle(shuffled)
    by_shuffle = scorer.score([texts[i] for i in shuffled]).to_pylist()
    out = {"together": scorer.score(texts).to_pylist(),
           "reversed": scorer.score(texts[::-1]).to_pylist()[::-1],
           "shuffled": [by_shuffle[shuffled.index(i)] for i in range(len(texts))],
           "alone": [scorer.score([t]).to_pylist()[0] for t in texts],
           # as a resumed build would: the texts after others, in batches of another composition
           "resumed": scorer.score([*texts[:5], *texts]).to_pylist()[5:]}
    torch.set_num_threads(2)
    try:
        out["2 threads"] = scorer.score(texts).to_pylist()
    finally:
        torch.set_num_threads(1)
    return {name: bits(values) for name, values in out.items()}


@pytest.mark.parametrize("kind,model,params", SCORERS, ids=[s[0] for s in SCORERS])
def test_a_texts_value_has_the_same_bits_in_any_batch(kind: str, model: str, params: dict[str, Any],
                                                      request: pytest.FixtureRequest) -> None:
    path = minilm_dir() if model == "minilm" else request.getfixturevalue(model)
    texts = [*mixed_texts(), *mixed_texts(6, seed=1)]  # 22 texts, some of one length
    scorer = scoring.load(kind, path, params, "cpu")
    runs = compositions(scorer, texts)
    assert [name for name, values in runs.items() if values != runs["together"]] == []
    # A GPU's batches (`batch` rows of one width, filled up with copies of their first piece) have one shape
    # per piece length too: run them on the CPU.
    scorer.rows = 4
    scorer.width_step = 16
    tokens, positions = scorer.tokens, scorer.positions
    gpu_shaped = compositions(scorer, texts)
    assert scorer.positions - positions > scorer.tokens - tokens  # padded in width and in rows
    differ = [name for name, values in gpu_shaped.items() if values != gpu_shaped["together"]]
    if differ and not blas_rows_commute(scorer.model.config.hidden_size):
        pytest.skip(f"GPU-shaped batches differ in {differ} on this CPU, whose BLAS gives a row other bits by its "
                    "place in a batch (which is why a CPU runs every piece alone)")
    assert differ == []


def blas_rows_commute(hidden: int) -> bool:
    """Whether this CPU's BLAS gives each row of a small batch the same bits wherever it is in the batch, for the
    small Linear layers of a model's head (MKL on an AVX-512 CPU does not: 2 outputs over 4 rows)."""
    torch.manual_seed(0)
    with torch.inference_mode():
        for outputs in (1, 2, 3):
            layer = torch.nn.Linear(hidden, outputs)
            x = torch.randn(4, hidden)
            if not torch.equal(layer(x), layer(torch.roll(x, 1, 0)).roll(-1, 0)):
                return False
    return True


def test_one_forward_pass_per_batch_and_progress_per_document(classifier: Path) -> None:
    texts = mixed_texts() * 20  # 300 documents, more than one group of 32 batches of 4
    reported: list[int] = []
    scorer = scoring.load("classifier", classifier, {"label": "good", "output": "logit", "max_length": 64,
                                                     "batch": 4}, "cpu")
    values = scorer.score([*texts, None], reported.append).to_pylist()
    # On a CPU every document runs alone, those cut at 64 tokens too.
    assert scorer.forward_passes == len(texts)
    assert sum(reported) == len(texts) + 1 and values[-1] is None


# ---------------------------------------------------------------------------------------------
# finding and fingerprinting models


def test_devices_on_this_machine() -> None:
    assert weights.pick_device("cpu") == "cpu" and weights.precision("cpu") == "float32"
    assert weights.pick_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(RecipeError, match="unknown device `tpu`"):
        weights.pick_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(RecipeError, match="CUDA is not available") as error:
            weights.pick_device("cuda:1")
        assert "cpu" in error.value.hint


def test_missing_model_says_how_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.chdir(tmp_path)
    for path in ["models/edu", "HuggingFaceFW/fineweb-edu-classifier"]:
        with pytest.raises(RecipeError, match=f"cannot find model `{path}`") as error:
            weights.resolve_model(path)
        assert "hf download" in error.value.hint and "--local-dir models/" in error.value.hint
    (tmp_path / "models" / "empty").mkdir(parents=True)
    with pytest.raises(RecipeError, match="`models/empty` is not a model directory"):
        weights.resolve_model("models/empty")


def test_hub_id_from_the_local_cache(regressor: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    repo = tmp_path / "models--acme--tiny-edu"
    commit = "0" * 40
    shutil.copytree(regressor, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    local = weights.resolve_model("acme/tiny-edu")
    assert local == (repo / "snapshots" / commit).resolve()
    assert weights.model_fingerprint(local, {}) == weights.model_fingerprint(regressor, {})


def test_classifier_label_mistakes(classifier: Path, regressor: Path, tmp_path: Path) -> None:
    params = {"output": "logit", "max_length": 64, "batch": 4}
    with pytest.raises(RecipeError, match="has no label `goood`") as error:
        scoring.load("classifier", classifier, {**params, "label": "goood"}, "cpu")
    assert str(classifier) in error.value.message and "`good`" in error.value.hint
    with pytest.raises(RecipeError, match="has 2 labels; say which one") as error:
        scoring.load("classifier", classifier, {**params, "label": ""}, "cpu")
    assert "`bad`, `good`" in error.value.hint
    with pytest.raises(RecipeError, match="256 positions"):
        scoring.load("classifier", regressor, {**params, "label": "", "max_length": 512}, "cpu")
    broken = shutil.copytree(regressor, tmp_path / "broken")
    (broken / "model.safetensors").write_bytes(b"not weights")
    with pytest.raises(RecipeError, match="cannot load .*broken.* as a `classifier` model"):
        scoring.load("classifier", broken, {**params, "label": ""}, "cpu")


def test_fingerprint_follows_the_weights_and_is_memoized(regressor: Path, tmp_path: Path) -> None:
    model = shutil.copytree(regressor, tmp_path / "m")
    known: dict[str, str] = {}
    before = weights.model_fingerprint(model, known)
    assert before.startswith("sha256:") and len(known) == len(list(model.iterdir()))
    # Download metadata in hidden directories is not part of the model.
    (model / ".cache").mkdir()
    (model / ".cache" / "download.metadata").write_text("2026-01-01")
    assert weights.model_fingerprint(model, known) == before
    # A file seen before (same path, size and mtime) is not read again: its hash comes from `known`.
    tensors = model / "model.safetensors"
    key = next(k for k in known if k.startswith(f"{tensors.resolve()}:"))
    assert weights.model_fingerprint(model, {**known, key: "sha256:remembered"}) != before
    # Changed weights change the fingerprint.
    data = bytearray(tensors.read_bytes())
    data[-1] ^= 1
    tensors.write_bytes(bytes(data))
    os.utime(tensors, ns=(1, 1))
    assert weights.model_fingerprint(model, known) not in (before, weights.model_fingerprint(regressor, {}))
