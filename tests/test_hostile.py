"""Hostile inputs (issue 9): truncated and mistyped Parquet, invalid UTF-8, NUL bytes, a 50 MB document, broken
and cut JSONL, empty files and globs, missing paths and a refused connection. Each case, with `on_error` left at
`fail` and with `on_error: "quarantine"`, either builds with an exact count in quarantine (and every good document
in the output), or stops with a clear error naming the file (and the line, where there is one), exit 1, no
traceback; a failed build leaves the previous good build byte for byte, and no temporary directory behind.

The cases are data: `CASES` names them and `run_case(name, workdir)` runs one and says what went wrong (None
when it behaved), so bench/soak.py runs the same table. Real files, real DuckDB, a real closed port."""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from datarecipe.runtime.stages.ingest import BATCH_ROWS

try:  # pytest puts tests/ on the path; bench/soak.py imports this module from the repository root
    from helpers import corpus, write_jsonl, write_lines, write_parquet
except ImportError:  # pragma: no cover
    from tests.helpers import corpus, write_jsonl, write_lines, write_parquet

GOOD = corpus(24, seed=90, prefix="g")  # the good documents beside every bad input
RECIPE = 'recipe "hostile" {{ seed 1 }}\nsource docs = {source}\noutput "build/out"\n'
GOOD_SOURCE = 'jsonl("data/good/*.jsonl", text: "body", id: "id")'
RUN_ARGS = ("--no-dvc", "--quiet", "--cache", "cache", "--threads", "2", "--memory", "2GB")
BIG_BYTES = 50 * 1024 * 1024
# A build of one 50 MB document peaks at about 750 MB (each stage's DuckDB and Arrow buffers hold a few copies of
# it); the bound catches a reader or stage that holds far more than one document at a time.
BIG_RSS_MB = 1500


@dataclass(frozen=True)
class Built:
    """The build completes: `quarantined` rows in the manifest's quarantine, `docs` documents in the output
    (None: the input's maker says how many), and the quarantined rows name `file` (and `line`, where given).
    Run as a process of its own, the build peaks under `max_rss_mb` of memory."""

    quarantined: int
    docs: int | None = None
    file: str = ""
    line: str = ""
    max_rss_mb: int | None = None


@dataclass(frozen=True)
class Fails:
    """The build stops with `status`, and its message says each of `says` ({NAME}: a value the maker returned)."""

    says: tuple[str, ...]
    status: int = 1


@dataclass(frozen=True)
class Input:
    """A hostile input: `make` writes it under the work directory (beside data/good/, GOOD as JSONL) and returns
    values for the `{NAME}`s of `source` and of the expectations; `source` declares it (`{on_error}` becomes
    `, on_error: "quarantine"` in the quarantine variant)."""

    make: Callable[[Path], dict[str, Any]]
    source: str
    fail: Built | Fails
    quarantine: Built | Fails


# ---- the inputs --------------------------------------------------------------------------------------------

N = len(GOOD)
TEXT_COLUMNS = [{"id": r["id"], "body": r["body"], "year": r["year"]} for r in GOOD]


def _good_jsonl(work: Path) -> None:
    write_jsonl(work / "data/in/a-good.jsonl", GOOD)


def _good_parquet(work: Path) -> None:
    write_parquet(work / "data/in/a-good.parquet", TEXT_COLUMNS)


def parquet_truncated(work: Path) -> dict[str, Any]:
    _good_parquet(work)
    path = write_parquet(work / "data/in/b-cut.parquet", [{**r, "id": f"x{i}"} for i, r in enumerate(TEXT_COLUMNS)])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return {}


def parquet_corrupt_row_group(work: Path) -> dict[str, Any]:
    """Parquet whose second row group's page header is overwritten (bit rot): the rows before it are read."""
    _good_parquet(work)
    rows = [{"id": f"x{i}", "body": f"The quiet river number {i} flows past the mill.", "year": i}
            for i in range(2 * ROW_GROUP + 100)]
    path = work / "data/in/b-rot.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=ROW_GROUP)
    column = pq.ParquetFile(path).metadata.row_group(1).column(1)
    offset = column.dictionary_page_offset or column.data_page_offset
    data = bytearray(path.read_bytes())
    data[offset:offset + 24] = b"\xff" * 24
    path.write_bytes(bytes(data))
    return {}


def parquet_wrong_schema(work: Path) -> dict[str, Any]:
    _good_parquet(work)
    write_parquet(work / "data/in/b-schema.parquet", [{"id": "x1", "content": "The old river.", "year": 1}])
    return {}


def parquet_int_text(work: Path) -> dict[str, Any]:
    _good_parquet(work)
    write_parquet(work / "data/in/b-int.parquet", [{"id": "x1", "body": 7, "year": 1}, {"id": "x2", "body": 8,
                                                                                       "year": 2}])
    return {}


def parquet_invalid_utf8(work: Path) -> dict[str, Any]:
    _good_parquet(work)
    texts = pa.array([b"The quiet river.", b"The caf\xe9 \xff\xfe opens.", b"The old bridge."], pa.binary())
    table = pa.table({"id": ["x1", "x2", "x3"], "body": texts.view(pa.string()), "year": [1, 2, 3]})
    (work / "data/in").mkdir(parents=True, exist_ok=True)
    pq.write_table(table, work / "data/in/b-utf8.parquet")
    return {}


def parquet_nul(work: Path) -> dict[str, Any]:
    _good_parquet(work)
    write_parquet(work / "data/in/b-nul.parquet", [{"id": "x1", "body": "The quiet river.", "year": 1},
                                                   {"id": "x2", "body": "The old\x00 bridge.", "year": 2}])
    return {}


def parquet_empty_file(work: Path) -> dict[str, Any]:
    _good_parquet(work)
    (work / "data/in/b-empty.parquet").write_bytes(b"")
    return {}


BROKEN_AT = 9  # the line of a bad JSONL line
ROW_GROUP = BATCH_ROWS  # rows per row group of a Parquet file that breaks in its second: one batch reads first


def _jsonl_with(work: Path, name: str, raw: bytes) -> dict[str, Any]:
    lines = [json.dumps({**r, "id": f"x{i}"}).encode() for i, r in enumerate(GOOD[:12], start=1)]
    lines[BROKEN_AT - 1] = raw
    write_lines(work / "data/in" / name, lines)
    _good_jsonl(work)
    return {}


def jsonl_broken_line(work: Path) -> dict[str, Any]:
    return _jsonl_with(work, "b-broken.jsonl", b'{"id": "cut", "body": "The quiet river crosses the')


def jsonl_invalid_utf8(work: Path) -> dict[str, Any]:
    return _jsonl_with(work, "b-utf8.jsonl", b'{"id": "u", "body": "The caf\xe9 opens \xff early."}')


def jsonl_nul_raw(work: Path) -> dict[str, Any]:
    return _jsonl_with(work, "b-nul.jsonl", b'{"id": "n", "body": "The old\x00 bridge."}')


def jsonl_nul_escaped(work: Path) -> dict[str, Any]:
    return _jsonl_with(work, "b-nul.jsonl", b'{"id": "n", "body": "The old\\u0000 bridge."}')


def jsonl_empty_file(work: Path) -> dict[str, Any]:
    _good_jsonl(work)
    (work / "data/in/b-empty.jsonl").write_bytes(b"")
    return {}


def jsonl_is_parquet(work: Path) -> dict[str, Any]:
    """A Parquet file named `.jsonl`."""
    _good_jsonl(work)
    write_parquet(work / "data/in/b-par.jsonl", [{**r, "id": f"x{i}"} for i, r in enumerate(TEXT_COLUMNS)])
    return {}


def jsonl_is_gzip(work: Path) -> dict[str, Any]:
    """A gzip-compressed JSONL file whose name does not end in `.gz`, so nothing decompresses it."""
    _good_jsonl(work)
    write_jsonl(work / "data/in/b-gz.jsonl", [{**r, "id": f"x{i}"} for i, r in enumerate(GOOD)], "gzip")
    return {}


def parquet_is_jsonl(work: Path) -> dict[str, Any]:
    """A JSONL file named `.parquet`."""
    _good_parquet(work)
    write_jsonl(work / "data/in/b-json.parquet", [{**r, "id": f"x{i}"} for i, r in enumerate(TEXT_COLUMNS)])
    return {}


def text_is_zstd(work: Path) -> dict[str, Any]:
    _text_notes(work)
    (work / "data/in/note-b.txt").write_bytes(zstandard.ZstdCompressor().compress(b"The old bridge.\n"))
    return {}


def gz_truncated(work: Path) -> dict[str, Any]:
    """A gzip JSONL file cut in the middle: the complete lines before the cut are read, the cut is quarantined."""
    _good_jsonl(work)
    rows = corpus(400, seed=91, prefix="z")
    path = write_jsonl(work / "data/in/b-cut.jsonl.gz", rows, "gzip")
    cut = path.read_bytes()[: path.stat().st_size // 2]
    path.write_bytes(cut)
    complete = zlib.decompressobj(wbits=31).decompress(cut).count(b"\n")
    assert 0 < complete < len(rows)
    return {"docs": N + complete, "line": str(complete + 1)}


def text_invalid_utf8(work: Path) -> dict[str, Any]:
    _text_notes(work)
    bad = "The café on the corner.\n".encode() + b"The baker sells \xff\xfe bread.\n"  # line 1 is valid UTF-8
    (work / "data/in/note-b.txt").write_bytes(bad)
    return {}


def text_nul(work: Path) -> dict[str, Any]:
    _text_notes(work)
    (work / "data/in/note-b.txt").write_bytes(b"The old bridge.\nA binary\x00 file.\n")
    return {}


def text_empty_file(work: Path) -> dict[str, Any]:
    _text_notes(work)
    (work / "data/in/note-b.txt").write_bytes(b"")
    return {}


def _text_notes(work: Path) -> None:
    (work / "data/in").mkdir(parents=True, exist_ok=True)
    for i, r in enumerate(GOOD[:6]):
        (work / f"data/in/note-a{i}.txt").write_text(r["body"], encoding="utf-8")


def big_document(work: Path) -> dict[str, Any]:
    """One 50 MB text document (repeated sentences) beside a few notes."""
    _text_notes(work)
    sentences = " ".join(r["body"] for r in GOOD).encode() + b"\n"
    with open(work / "data/in/note-big.txt", "wb") as fh:
        written = 0
        while written < BIG_BYTES:
            written += fh.write(sentences[: BIG_BYTES - written])
    return {}


def big_jsonl_line(work: Path) -> dict[str, Any]:
    """A JSONL file whose one line holds a 50 MB document."""
    _good_jsonl(work)
    body = " ".join(r["body"] for r in GOOD)
    text = (body + " ") * (BIG_BYTES // (len(body) + 1))
    write_lines(work / "data/in/b-big.jsonl", [json.dumps({"id": "big", "body": text}).encode()])
    return {}


def nothing(work: Path) -> dict[str, Any]:
    (work / "data/in").mkdir(parents=True, exist_ok=True)
    return {}


def refused(work: Path) -> dict[str, Any]:
    """A URL on 127.0.0.1 whose port was free a moment ago: connecting to it is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return {"url": f"http://127.0.0.1:{port}/corpus/docs.jsonl"}


NOT_VALID = "not valid UTF-8"
INPUTS: dict[str, Input] = {
    "parquet-truncated": Input(parquet_truncated, 'parquet("data/in/*.parquet", text: "body", id: "id"{on_error})',
                               Fails(("data/in/b-cut.parquet", "cannot read the file")),
                               Built(1, N, "b-cut.parquet", "0")),
    "parquet-corrupt-row-group": Input(parquet_corrupt_row_group,
                                       'parquet("data/in/*.parquet", text: "body", id: "id"{on_error})',
                                       Fails((f"data/in/b-rot.parquet:{ROW_GROUP + 1}",
                                              f"cannot be read after row {ROW_GROUP}")),
                                       Built(1, N + ROW_GROUP, "b-rot.parquet", str(ROW_GROUP + 1))),
    "parquet-wrong-schema": Input(parquet_wrong_schema,
                                  'parquet("data/in/*.parquet", text: "body", id: "id"{on_error})',
                                  Fails(("data/in/b-schema.parquet", "no text column `body`")),
                                  Built(1, N, "b-schema.parquet", "0")),
    "parquet-int-text": Input(parquet_int_text, 'parquet("data/in/*.parquet", text: "body", id: "id"{on_error})',
                              Fails(("data/in/b-int.parquet", "column `body` holds int64, not text")),
                              Built(1, N, "b-int.parquet", "0")),
    "parquet-invalid-utf8": Input(parquet_invalid_utf8,
                                  'parquet("data/in/*.parquet", text: "body", id: "id"{on_error})',
                                  Fails(("data/in/b-utf8.parquet:2", NOT_VALID)),
                                  Built(1, N + 2, "b-utf8.parquet", "2")),
    "parquet-nul": Input(parquet_nul, 'parquet("data/in/*.parquet", text: "body", id: "id"{on_error})',
                         Fails(("data/in/b-nul.parquet:2", "NUL")), Built(1, N + 1, "b-nul.parquet", "2")),
    "parquet-is-jsonl": Input(parquet_is_jsonl, 'parquet("data/in/*.parquet", text: "body", id: "id"{on_error})',
                              Fails(("data/in/b-json.parquet", "not Parquet", "it is JSON text",
                                     'declare the source as `jsonl("data/in/*.parquet")`')),
                              Built(1, N, "b-json.parquet", "0")),
    "parquet-empty-file": Input(parquet_empty_file, 'parquet("data/in/*.parquet", text: "body", id: "id"{on_error})',
                                Fails(("data/in/b-empty.parquet", "empty")), Built(1, N, "b-empty.parquet", "0")),
    "jsonl-broken-line": Input(jsonl_broken_line, 'jsonl("data/in/*.jsonl", text: "body", id: "id"{on_error})',
                               Fails((f"data/in/b-broken.jsonl:{BROKEN_AT}", "not valid JSON")),
                               Built(1, N + 11, "b-broken.jsonl", str(BROKEN_AT))),
    "jsonl-invalid-utf8": Input(jsonl_invalid_utf8, 'jsonl("data/in/*.jsonl", text: "body", id: "id"{on_error})',
                                Fails((f"data/in/b-utf8.jsonl:{BROKEN_AT}", NOT_VALID)),
                                Built(1, N + 11, "b-utf8.jsonl", str(BROKEN_AT))),
    "jsonl-nul-byte": Input(jsonl_nul_raw, 'jsonl("data/in/*.jsonl", text: "body", id: "id"{on_error})',
                            Fails((f"data/in/b-nul.jsonl:{BROKEN_AT}", "NUL byte")),
                            Built(1, N + 11, "b-nul.jsonl", str(BROKEN_AT))),
    "jsonl-nul-escaped": Input(jsonl_nul_escaped, 'jsonl("data/in/*.jsonl", text: "body", id: "id"{on_error})',
                               Fails((f"data/in/b-nul.jsonl:{BROKEN_AT}", "NUL")),
                               Built(1, N + 11, "b-nul.jsonl", str(BROKEN_AT))),
    "jsonl-is-parquet": Input(jsonl_is_parquet, 'jsonl("data/in/*.jsonl", text: "body", id: "id"{on_error})',
                              Fails(("data/in/b-par.jsonl", "the file is a Parquet file, not JSON lines",
                                     'declare the source as `parquet("data/in/*.jsonl")`')),
                              Built(1, N, "b-par.jsonl", "0")),
    "jsonl-is-gzip": Input(jsonl_is_gzip, 'jsonl("data/in/*.jsonl", text: "body", id: "id"{on_error})',
                           Fails(("data/in/b-gz.jsonl", "the file is gzip-compressed, not JSON lines", "`.gz`")),
                           Built(1, N, "b-gz.jsonl", "0")),
    "jsonl-empty-file": Input(jsonl_empty_file, 'jsonl("data/in/*.jsonl", text: "body", id: "id"{on_error})',
                              Built(0, N), Built(0, N)),
    "jsonl-gz-truncated": Input(gz_truncated, 'jsonl("data/in/*.jsonl*", text: "body", id: "id"{on_error})',
                                Fails(("data/in/b-cut.jsonl.gz:{line}", "cut short")),
                                Built(1, None, "b-cut.jsonl.gz", "{line}")),
    "text-invalid-utf8": Input(text_invalid_utf8, 'text("data/in/*.txt"{on_error})',
                               Fails(("data/in/note-b.txt:2", NOT_VALID)), Built(1, 6, "note-b.txt", "2")),
    "text-nul": Input(text_nul, 'text("data/in/*.txt"{on_error})', Fails(("data/in/note-b.txt:2", "NUL")),
                      Built(1, 6, "note-b.txt", "2")),
    "text-is-zstd": Input(text_is_zstd, 'text("data/in/*.txt"{on_error})',
                          Fails(("data/in/note-b.txt", "the file is zstd-compressed, not text", "decompress")),
                          Built(1, 6, "note-b.txt", "0")),
    "text-empty-file": Input(text_empty_file, 'text("data/in/*.txt"{on_error})',
                             Fails(("data/in/note-b.txt", "empty")), Built(1, 6, "note-b.txt", "0")),
    "text-50mb-document": Input(big_document, 'text("data/in/*.txt"{on_error})', Built(0, 7, max_rss_mb=BIG_RSS_MB),
                                Built(0, 7, max_rss_mb=BIG_RSS_MB)),
    "jsonl-50mb-line": Input(big_jsonl_line, 'jsonl("data/in/*.jsonl", text: "body", id: "id"{on_error})',
                             Built(0, N + 1, max_rss_mb=BIG_RSS_MB), Built(0, N + 1, max_rss_mb=BIG_RSS_MB)),
    "empty-glob": Input(nothing, 'jsonl("data/in/*.jsonl"{on_error})',
                        Fails(("data/in/*.jsonl", "no files match")), Fails(("data/in/*.jsonl", "no files match"))),
    "missing-path": Input(nothing, 'parquet("data/in/missing.parquet"{on_error})',
                          Fails(("data/in/missing.parquet", "does not exist")),
                          Fails(("data/in/missing.parquet", "does not exist"))),
    "refused-connection": Input(refused, 'jsonl("{url}"{on_error})', Fails(("{url}", "Connection refused")),
                                Fails(("{url}", "Connection refused"))),
}
CASES: list[str] = [f"{name}/{mode}" for name in INPUTS for mode in ("fail", "quarantine")]


# ---- running a case ----------------------------------------------------------------------------------------


@dataclass
class Result:
    status: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss_mb: float | None = None  # as a process of its own


# The `recipe` command's entry point (pyproject.toml), telling its peak memory on the way out.
_MEASURED = ("import resource, sys\nfrom datarecipe.runtime.cli import main\ntry:\n    status = main(sys.argv[1:])\n"
             "finally:\n    print(f'peak_rss_kb {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}', "
             "file=sys.stderr)\nsys.exit(status)\n")


def run_recipe(work: Path, *args: str, in_process: bool = True) -> Result:
    """`recipe ARGS` in `work`: in this process (`main`, fast), or in a process of its own, as the installed
    command runs, with its peak memory."""
    started = time.perf_counter()
    if not in_process:
        env = {k: v for k, v in os.environ.items() if k != "DATARECIPE_DEBUG"}
        done = subprocess.run([sys.executable, "-c", _MEASURED, *args], cwd=work, capture_output=True, text=True,
                              timeout=300, env={**env, "COLUMNS": "200"})
        peak = re.search(r"^peak_rss_kb (\d+)$", done.stderr, re.M)
        stderr = re.sub(r"^peak_rss_kb \d+\n?", "", done.stderr, flags=re.M)
        return Result(done.returncode, done.stdout, stderr, time.perf_counter() - started,
                      int(peak.group(1)) / 1024 if peak else None)
    from datarecipe.runtime.cli import main

    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    os.chdir(work)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = main(list(args))
            except SystemExit as exc:  # argparse
                status = exc.code if isinstance(exc.code, int) else 2
            except Exception as exc:  # noqa: BLE001 - what a user would see as a traceback
                status = -1
                err.write(f"Traceback (escaped main): {type(exc).__name__}: {exc}\n")
    finally:
        os.chdir(here)
    return Result(status, out.getvalue(), err.getvalue(), time.perf_counter() - started)


_TEMPLATE: dict[str, Path] = {}


def run_args(in_process: bool) -> tuple[str, ...]:
    """RUN_ARGS, with more memory in this process: `--memory` is the whole process's budget, and the test worker's
    own memory counts against it."""
    return (*RUN_ARGS[:-1], "4GB") if in_process else RUN_ARGS


def good_build(work: Path, in_process: bool = True) -> None:
    """A good build of GOOD at build/out in `work`: built once per process, then copied."""
    if "dir" not in _TEMPLATE:
        template = Path(tempfile.mkdtemp(prefix="hostile-good-"))
        write_jsonl(template / "data/good/good.jsonl", GOOD)
        (template / "good.recipe").write_text(RECIPE.format(source=GOOD_SOURCE), encoding="utf-8")
        result = run_recipe(template, "run", "good.recipe", *run_args(in_process), in_process=in_process)
        if result.status != 0:
            raise RuntimeError(f"the good build failed ({result.status}): {result.stderr}")
        _TEMPLATE["dir"] = template
        atexit.register(shutil.rmtree, template, ignore_errors=True)
    shutil.copytree(_TEMPLATE["dir"] / "build", work / "build", dirs_exist_ok=True)


def digest(directory: Path) -> dict[str, str]:
    return {p.relative_to(directory).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def leftovers(work: Path) -> list[str]:
    """Temporary files or directories a build left beside the output or in the cache (a build's lock file,
    `.NAME.lock`, stays by design)."""
    def temporary(p: Path) -> bool:
        return ".tmp" in p.name or ".old" in p.name

    seen = [p.name for p in (work / "build").iterdir() if temporary(p)]
    cache = work / "cache"
    if cache.exists():
        seen += [p.relative_to(work).as_posix() for p in cache.rglob("*") if temporary(p)]
    return seen


def run_case(name: str, workdir: Path, *, in_process: bool = True) -> str | None:
    """Run a hostile case (`INPUT/fail` or `INPUT/quarantine`) in an empty `workdir`: None when it behaved as
    expected, else what went wrong, in a line."""
    input_name, mode = name.rsplit("/", 1)
    spec = INPUTS[input_name]
    expect = spec.fail if mode == "fail" else spec.quarantine
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    good_build(work, in_process)
    before = digest(work / "build/out")
    values = {k: str(v) for k, v in spec.make(work).items()}
    on_error = ', on_error: "quarantine"' if mode == "quarantine" else ""
    source = spec.source.format(on_error=on_error, **values)
    (work / "r.recipe").write_text(RECIPE.format(source=source), encoding="utf-8")
    result = run_recipe(work, "run", "r.recipe", *run_args(in_process), in_process=in_process)
    said = " ".join((result.stderr + " " + result.stdout).split())
    if "Traceback" in said or "internal error" in said or result.status not in (0, 1, 2):
        return f"exit {result.status}, with a traceback or an internal error: {said[:300]}"
    left = leftovers(work)
    if left:
        return f"left temporary files behind: {left}"
    if isinstance(expect, Fails):
        if result.status != expect.status:
            return f"exit {result.status}, expected {expect.status}: {said[:300]}"
        for needle in expect.says:
            if needle.format(**values) not in said:
                return f"the message does not say {needle.format(**values)!r}: {said[:300]}"
        if digest(work / "build/out") != before:
            return "the failed build changed the previous good build"
        return None
    if result.status != 0:
        return f"exit {result.status}, expected a build: {said[:300]}"
    if expect.max_rss_mb and result.peak_rss_mb and result.peak_rss_mb > expect.max_rss_mb:
        return f"the build peaked at {result.peak_rss_mb:,.0f} MB of memory, over {expect.max_rss_mb:,} MB"
    manifest = json.loads((work / "build/out/manifest.json").read_text())
    if manifest["recipe"]["path"] != "r.recipe":
        return "the build exited 0 but the output is still the previous build"
    docs = expect.docs if expect.docs is not None else int(values["docs"])
    if manifest["quarantine"]["rows"] != expect.quarantined:
        return f"{manifest['quarantine']['rows']} rows in quarantine, expected {expect.quarantined}"
    funnel = manifest["funnel"]["docs"]
    if manifest["totals"]["docs"] != docs or funnel["quarantined"] != expect.quarantined:
        return (f"{manifest['totals']['docs']} documents in the output and {funnel['quarantined']} quarantined, "
                f"expected {docs} and {expect.quarantined}")
    if funnel["read"] != docs + expect.quarantined:
        return f"the funnel read {funnel['read']}, expected {docs + expect.quarantined}"
    rows = pq.read_table(work / "build/out/quarantine.parquet").to_pylist()
    for row in rows:
        if not row["file"].endswith(expect.file) or not row["error"]:
            return f"a quarantined row names {row['file']!r} ({row['error']!r}), expected {expect.file}"
        if expect.line and str(row["line"]) != expect.line.format(**values):
            return f"a quarantined row has line {row['line']}, expected {expect.line.format(**values)}"
    return None


# Run as a process of their own, as a user runs the command: the exit status and what reaches stderr, and a
# 50 MB document's peak memory. The others run in this process, which is faster.
OWN_PROCESS = ("jsonl-50mb-line/fail", "jsonl-gz-truncated/fail", "refused-connection/fail")
# A 50 MB document has no bad row, so `on_error` cannot change its build: the suite runs each of the two in one
# mode (they take most of its time); bench/soak.py runs every case.
SOAK_ONLY = ("jsonl-50mb-line/quarantine", "text-50mb-document/fail")


@pytest.mark.parametrize("name", [c for c in CASES if c not in OWN_PROCESS + SOAK_ONLY])
def test_hostile_input(name: str, tmp_path: Path) -> None:
    assert run_case(name, tmp_path) is None


@pytest.mark.parametrize("name", OWN_PROCESS)
def test_hostile_input_as_a_process_of_its_own(name: str, tmp_path: Path) -> None:
    assert run_case(name, tmp_path, in_process=False) is None


def test_every_kind_of_hostile_input_is_covered() -> None:
    assert len(CASES) == 2 * len(INPUTS) >= 40
    assert set(OWN_PROCESS) | set(SOAK_ONLY) <= set(CASES)
