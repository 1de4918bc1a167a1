"""Where model scorers' models come from, and where they run: a model path resolved to a local directory
(never downloaded), the sha256 of its files for the score cache, the device and its precision. Planning needs
only these, so this module imports neither torch nor transformers unless a GPU driver is present."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

from datarecipe.compiler.language.errors import RecipeError, did_you_mean
from datarecipe.runtime.paths import local_only, make_target

# Present where a GPU driver is loaded (NVIDIA; AMD's ROCm): only then is torch asked about CUDA.
GPU_DRIVERS = ("/proc/driver/nvidia", "/dev/kfd")


def pick_device(requested: str) -> str:
    """The torch device to score on: `auto` is `cuda` when a GPU is usable, else `cpu`."""
    if requested == "auto":
        if not any(Path(p).exists() for p in GPU_DRIVERS):
            return "cpu"  # no GPU driver: no need to import torch to know
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cpu":
        return requested
    match = re.fullmatch(r"cuda(?::(\d+))?", requested)
    if match is None:
        raise RecipeError(None, f"unknown device `{requested}`", "use `auto`, `cpu`, `cuda` or `cuda:N`")
    import torch

    if not torch.cuda.is_available():
        raise RecipeError(None, f"device `{requested}` was asked for, but CUDA is not available here",
                          "use the device `auto` or `cpu`, or run on a machine with a GPU and a CUDA build of torch")
    if match.group(1) is not None and int(match.group(1)) >= torch.cuda.device_count():
        raise RecipeError(None, f"device `{requested}` was asked for, but this machine has "
                                f"{torch.cuda.device_count()} GPU(s)", "use `cuda` or `auto`")
    return requested


def precision(device: str) -> str:
    """The dtype models run in on device: float32 on CPU, bfloat16 (or float16 where unsupported) on a GPU."""
    if device == "cpu":
        return "float32"
    import torch

    with torch.cuda.device(device):
        return "bfloat16" if torch.cuda.is_bf16_supported(including_emulation=False) else "float16"


def resolve_model(path: str) -> Path:
    """The local directory of model `path`: a directory (relative to the working directory), or a hub id
    found in the local Hugging Face cache. Never touches the network."""
    local = Path(path)
    if not local.exists():
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError

        try:
            local = Path(snapshot_download(path, local_files_only=True)).resolve()
        except (HFValidationError, LocalEntryNotFoundError) as exc:
            target = make_target(path)
            if target or local_only(path) or isinstance(exc, HFValidationError):  # a path, not a hub id
                raise RecipeError(None, f"cannot find model `{path}`: the directory does not exist (in {Path.cwd()})",
                                  f"`make {target}` creates it" if target else "give the directory of a model saved "
                                  "with `save_pretrained`, relative to the working directory") from exc
            name = path.rstrip("/").rsplit("/", 1)[-1]
            raise RecipeError(
                None, f"cannot find model `{path}`: no such directory in {Path.cwd()}, and no hub model of that "
                      "name in the local Hugging Face cache",
                f"if `{path}` is meant as a directory, it does not exist; if it is a hub id, download it on a "
                f"machine with network (`hf download {path} --local-dir models/{name}`), copy the directory here and "
                f"give its path, e.g. `models/{name}` (models are never downloaded during a build)") from exc
    if not (local / "config.json").is_file():
        raise RecipeError(None, f"`{path}` is not a model directory: it has no config.json",
                          "give a directory written by `save_pretrained`: config.json, the weights and the tokenizer")
    return local  # as the recipe names it, so a build's manifest does not depend on where the project is


def config_labels(local: Path) -> list[str] | None:
    """A classifier's labels in the order of its outputs, as its config.json's `id2label` names them; None where
    the file has no `id2label` (transformers then makes up `LABEL_0`, ...) or cannot be read as JSON."""
    try:
        id2label = json.loads((local / "config.json").read_bytes()).get("id2label")
        return [str(id2label[key]) for key in sorted(id2label, key=int)] if isinstance(id2label, dict) else None
    except (OSError, ValueError, TypeError, AttributeError):
        return None


def label_index(labels: list[str], label: str, path: str) -> int:
    """The output of classifier `path` (with `labels`, in order) that a score takes: `label`'s, or the only one."""
    if not label and len(labels) > 1:
        raise RecipeError(None, f"classifier `{path}` has {len(labels)} labels; say which one to score",
                          "add `label: \"NAME\"` with one of: " + ", ".join(f"`{x}`" for x in labels))
    if label and label not in labels:
        raise RecipeError(None, f"classifier `{path}` has no label `{label}`",
                          did_you_mean(label, labels) or "its labels: " + ", ".join(f"`{x}`" for x in labels))
    return labels.index(label) if label else 0


def model_fingerprint(local: Path, known: dict[str, str]) -> str:
    """sha256 over the relative paths and contents of every file of a model directory.

    Each file's hash is kept in `known` under its path, size and mtime, so planning again does not read the
    weights again. Hidden directories are left out: `hf download --local-dir` keeps download metadata with
    timestamps in `.cache/`, which says nothing about the model.
    """
    digest = hashlib.sha256()
    for path in _model_files(local):
        stat = path.stat()
        key = f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
        if key not in known:
            with open(path, "rb") as fh:
                known[key] = "sha256:" + hashlib.file_digest(fh, "sha256").hexdigest()
        digest.update(f"{path.relative_to(local).as_posix()}\0{known[key]}\n".encode())
    return "sha256:" + digest.hexdigest()


def _model_files(local: Path) -> list[Path]:
    """Regular files under local (symlinks followed, as in the Hugging Face cache), sorted, hidden dirs left out."""
    files = []
    for root, dirs, names in os.walk(local):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        files += [Path(root) / n for n in names if os.path.isfile(os.path.join(root, n))]
    return sorted(files, key=lambda p: p.relative_to(local).as_posix())
