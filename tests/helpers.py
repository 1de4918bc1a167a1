"""Shared test helpers: small deterministic English corpora written as JSONL, Parquet or text files,
running the `recipe` command on them, and hashing what a build wrote."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import random
import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import zstandard

ADJECTIVES = ("quiet", "old", "bright", "small", "busy", "northern", "careful", "young", "green", "famous",
              "narrow", "local", "ancient", "modern", "patient", "curious", "wooden", "cold", "early", "gentle")
NOUNS = ("river", "city", "teacher", "garden", "market", "letter", "window", "train", "forest", "mountain",
         "library", "village", "student", "doctor", "kitchen", "harbor", "bridge", "festival", "museum", "farmer",
         "engineer", "orchestra", "newspaper", "committee", "island", "valley", "bakery", "painter", "school")
VERBS = ("visits", "describes", "follows", "repairs", "watches", "remembers", "crosses", "opens", "builds",
         "explains", "finds", "welcomes", "protects", "studies", "paints", "carries", "leaves", "reaches")
PLACES = ("near the", "behind the", "across the", "inside the", "beyond the", "under the", "beside the",
          "along the", "in front of the", "above the")
TAILS = ("every morning", "after the storm", "before winter", "in the spring", "during the holidays",
         "late at night", "for the first time", "once again", "with great care", "without a word")
# Junk that the usual rules catch: too few words, or mostly symbols.
SHORT_JUNK = ("ok", "click here", "404 not found", "lorem", "buy now!!!")
SYMBOL_JUNK = ("# # # # # # menu", "### ### ### ### home page", "# # # # # # # # # top")


def sentence(rng: random.Random) -> str:
    return (f"The {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {rng.choice(VERBS)} the {rng.choice(NOUNS)} "
            f"{rng.choice(PLACES)} {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {rng.choice(TAILS)}.")


def document(rng: random.Random) -> str:
    return " ".join(sentence(rng) for _ in range(rng.randint(2, 5)))


def corpus(n: int, *, seed: int = 0, prefix: str = "d", dups: int = 0, near_dups: int = 0, short: int = 0,
           symbols: int = 0, descending_ids: bool = True) -> list[dict[str, Any]]:
    """n documents {"id", "body", "year", "lang"}, deterministic for a seed.

    `dups` documents repeat an earlier document's text exactly, `near_dups` repeat one in upper case with
    extra punctuation (equal under `normalize`), `short` are junk of fewer than 5 words and `symbols` are
    junk full of `#`. Ids count down in file order by default, so a later copy has the smaller id.
    """
    rng = random.Random(seed)
    texts = [document(rng) for _ in range(n)]
    special = rng.sample(range(1, n), dups + near_dups + short + symbols)
    for k, i in enumerate(special):
        j = rng.randrange(0, i)  # an earlier document
        if k < dups:
            texts[i] = texts[j]
        elif k < dups + near_dups:
            texts[i] = texts[j].upper().replace(".", " !!") + " ..."
        elif k < dups + near_dups + short:
            texts[i] = SHORT_JUNK[k % len(SHORT_JUNK)]
        else:
            texts[i] = SYMBOL_JUNK[k % len(SYMBOL_JUNK)]
    return [{"id": f"{prefix}{(n - i if descending_ids else i):05d}", "body": text, "year": 1990 + (i * 7) % 30,
             "lang": "en"} for i, text in enumerate(texts)]


def normalized(text: str) -> str:
    """What `dedup exact(normalize: true)` compares: lowercase, runs of non-alphanumerics as one space."""
    return re.sub(r"[\W_]+", " ", text.lower()).strip()


def jsonl_bytes(rows: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in rows)


def write_jsonl(path: Path, rows: list[dict[str, Any]], compression: str = "") -> Path:
    data = jsonl_bytes(rows)
    if compression == "gzip":
        data = gzip.compress(data, mtime=0)
    elif compression == "zstd":
        data = zstandard.ZstdCompressor().compress(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def write_lines(path: Path, lines: list[bytes]) -> Path:
    """A JSONL file from raw lines, for files with broken lines in them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(line.rstrip(b"\n") + b"\n" for line in lines))
    return path


def write_parquet(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def write_texts(directory: Path, texts: list[str]) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, text in enumerate(texts):
        path = directory / f"note-{i:03d}.txt"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def recipe_command() -> list[str]:
    script = Path(sys.executable).with_name("recipe")
    return [str(script)] if script.exists() else [sys.executable, "-m", "datarecipe.runtime.cli"]


def recipe(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the `recipe` command in cwd, as a user would, on a wide terminal."""
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("DATARECIPE_DEBUG", None)
    return subprocess.run([*recipe_command(), *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env=env)


def build(cwd: Path, text: str, *args: str, name: str = "r.recipe") -> subprocess.CompletedProcess[str]:
    """Write a recipe file and run `recipe run` on it."""
    (cwd / name).write_text(text, encoding="utf-8")
    return recipe(cwd, "run", name, *args)


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    """Fail the test with what the command printed unless it succeeded."""
    assert result.returncode == 0, f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def digest_tree(directory: Path) -> dict[str, str]:
    """Every file under a directory, by relative path, with its sha256."""
    return {p.relative_to(directory).as_posix(): sha256_file(p) for p in sorted(directory.rglob("*")) if p.is_file()}


def manifest(out: Path) -> dict[str, Any]:
    return json.loads((out / "manifest.json").read_text())


def steps(funnel_steps: list[dict[str, Any]]) -> dict[str, int]:
    """A funnel's `dropped` or `left_out_by_mix` (a list, in the order the rules ran) as {rule: documents}."""
    return {s["rule"]: s["dropped"] for s in funnel_steps}


def json_events(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


@cache
def sample_texts() -> tuple[str | None, ...]:
    """Every text of data/sample: the Go files, the handbook's pages (a body may be null) and the Python docs."""
    sample = Path(__file__).resolve().parents[1] / "data" / "sample"
    texts: list[str | None] = [p.read_text(encoding="utf-8", errors="replace")
                               for p in sorted((sample / "code").iterdir())]
    texts += pq.read_table(sample / "handbook").column("body").to_pylist()
    with gzip.open(sample / "pydocs.jsonl.gz", "rt", encoding="utf-8") as f:
        texts += [json.loads(line)["text"] for line in f]
    return tuple(texts)
