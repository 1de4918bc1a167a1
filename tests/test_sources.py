"""Sources: formats and stores a recipe can read (text directories, compressed JSONL, HTTP, memory://),
and bad input (broken JSONL lines, a missing column, repeated ids): a clear error naming the file, or an exact
count in quarantine. tests/test_hostile.py holds the table of hostile inputs (truncated and mistyped Parquet,
invalid UTF-8, NUL bytes, huge documents, cut gzip, empty files and globs, missing paths, refused connections).

Real files, a real HTTP server on 127.0.0.1 and fsspec's real memory filesystem; nothing is mocked."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import duckdb
import fsspec
import pyarrow.parquet as pq
import pytest
from datarecipe.runtime.cli import main
from helpers import (
    build,
    corpus,
    jsonl_bytes,
    manifest,
    ok,
    sha256_file,
    write_jsonl,
    write_lines,
    write_parquet,
    write_texts,
)


def q(sql: str) -> list[tuple]:
    with duckdb.connect() as con:
        return con.execute(sql).fetchall()


def output_rows(out: Path) -> list[dict[str, Any]]:
    with duckdb.connect() as con:
        cur = con.execute(f"SELECT doc_id, source, text, meta FROM '{out}/data/*.parquet' ORDER BY doc_id")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def build_error(result: CompletedProcess[str], *needles: str, status: tuple[int, ...] = (1,)) -> str:
    """Check a build stopped with a clear message (no traceback) that says each needle; return the message."""
    message = " ".join(result.stderr.split())
    assert result.returncode in status, f"exit {result.returncode}\n{result.stderr}"
    assert "Traceback" not in result.stderr + result.stdout
    assert "internal error" not in message
    for needle in needles:
        assert needle in message, f"{needle!r} not in: {message}"
    return message


def source_recipe(source: str, output: str = "build/out") -> str:
    return f'recipe "src" {{ seed 1 }}\nsource {source}\noutput "{output}"\n'


# ---- formats and stores ---------------------------------------------------------------------------------


def test_text_source_reads_a_directory_of_txt_files(tmp_path: Path) -> None:
    rows = corpus(12, seed=20, prefix="n")
    notes = tmp_path / "data/notes"
    paths = write_texts(notes, [r["body"] for r in rows[:9]])
    paths += write_texts(notes / "2024", [r["body"] + "\nSecond paragraph." for r in rows[9:]])
    ok(build(tmp_path, source_recipe('notes = text("data/notes")'), "--quiet"))
    got = output_rows(tmp_path / "build/out")
    expected = sorted((f"notes/{p.relative_to(notes).as_posix()}", p.read_text()) for p in paths)
    assert [(r["doc_id"], r["text"]) for r in got] == expected
    assert {json.loads(r["meta"])["path"] for r in got} == {p.relative_to(notes).as_posix() for p in paths}
    assert {r["source"] for r in got} == {"notes"}


def test_jsonl_gz_and_zst_sources(tmp_path: Path) -> None:
    rows = corpus(160, seed=21, prefix="c")
    gz = write_jsonl(tmp_path / "data/web/a.jsonl.gz", rows[:80], compression="gzip")
    zst = write_jsonl(tmp_path / "data/web/b.jsonl.zst", rows[80:], compression="zstd")
    ok(build(tmp_path, source_recipe('web = jsonl("data/web/*.jsonl.*", text: "body", id: "id")'), "--quiet"))
    got = output_rows(tmp_path / "build/out")
    assert {(r["doc_id"], r["text"]) for r in got} == {(f"web/{r['id']}", r["body"]) for r in rows}
    assert len(got) == 160
    assert json.loads(got[0]["meta"]).keys() == {"year", "lang"}
    inputs = manifest(tmp_path / "build/out")["inputs"]["web"]
    assert [f["fingerprint"] for f in inputs] == [f"sha256:{sha256_file(gz)}", f"sha256:{sha256_file(zst)}"]


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[Path, str, ThreadingHTTPServer]]:
    """A plain HTTP server on 127.0.0.1 serving a directory, for the length of a test."""
    root = tmp_path / "served"
    root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}", server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_http_source(tmp_path: Path, http_root: tuple[Path, str, ThreadingHTTPServer]) -> None:
    root, base, server = http_root
    rows = corpus(120, seed=22, prefix="h")
    served = write_jsonl(root / "file.jsonl", rows)
    text = source_recipe(f'remote = jsonl("{base}/file.jsonl", text: "body", id: "id")')
    ok(build(tmp_path, text, "--quiet"))
    got = output_rows(tmp_path / "build/out")
    assert {(r["doc_id"], r["text"]) for r in got} == {(f"remote/{r['id']}", r["body"]) for r in rows}
    (entry,) = manifest(tmp_path / "build/out")["inputs"]["remote"]
    assert entry["path"] == f"{base}/file.jsonl"
    assert entry["size"] == served.stat().st_size
    assert entry["fingerprint"] == f"sha256:{sha256_file(served)}"  # the server sends no ETag

    # With the server gone, the build says which source it cannot reach.
    server.shutdown()
    server.server_close()
    result = build(tmp_path, text, "--quiet", "--cache", "fresh-cache")
    build_error(result, f"{base}/file.jsonl")


def test_memory_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    fs = fsspec.filesystem("memory")
    folder = f"/datarecipe-test-{tmp_path.name}"
    rows = corpus(90, seed=23, prefix="m")
    fs.pipe(f"{folder}/a.jsonl", jsonl_bytes(rows[:45]))
    fs.pipe(f"{folder}/b.jsonl", jsonl_bytes(rows[45:]))
    try:
        monkeypatch.chdir(tmp_path)
        (tmp_path / "r.recipe").write_text(source_recipe(f'mem = jsonl("memory://{folder}/*.jsonl", text: "body")'))
        assert main(["run", "r.recipe", "--quiet", "--cache", "cache"]) == 0
        captured = capsys.readouterr()
        assert captured.out == captured.err == ""
    finally:
        fs.rm(folder, recursive=True)
    got = output_rows(tmp_path / "build/out")
    assert sorted(r["text"] for r in got) == sorted(r["body"] for r in rows)
    assert {r["doc_id"].rsplit(":", 1)[0] for r in got} == {"mem/a.jsonl", "mem/b.jsonl"}
    inputs = manifest(tmp_path / "build/out")["inputs"]["mem"]
    assert [f["path"] for f in inputs] == [f"memory://{folder}/a.jsonl", f"memory://{folder}/b.jsonl"]


# ---- bad input ------------------------------------------------------------------------------------------


def quarantine_rows(out: Path) -> list[dict[str, Any]]:
    return pq.read_table(out / "quarantine.parquet").to_pylist()


def test_jsonl_lines_that_are_not_json(tmp_path: Path) -> None:
    rows = corpus(100, seed=27, prefix="j")
    lines = [json.dumps(r).encode() for r in rows]
    bad = {20: b'{"id": "cut", "body": "The quiet river', 45: b"The quiet river crosses the old town.",
           70: b"[1, 2, 3]", 90: b'{"id": "no-body", "title": "The text field is missing"}'}
    for line_no, raw in bad.items():
        lines[line_no - 1] = raw
    write_lines(tmp_path / "data/web/web.jsonl", lines)

    result = build(tmp_path, source_recipe('web = jsonl("data/web/*.jsonl", text: "body", id: "id")'), "--quiet")
    build_error(result, "web.jsonl:20")
    # With --json the same error is one JSON line on stdout.
    result = build(tmp_path, source_recipe('web = jsonl("data/web/*.jsonl", text: "body", id: "id")'), "--json")
    assert result.returncode == 1
    last = json.loads(result.stdout.splitlines()[-1])
    assert last["event"] == "error" and "web.jsonl:20" in last["errors"][0]["input"]

    text = source_recipe('web = jsonl("data/web/*.jsonl", text: "body", id: "id", on_error: "quarantine")')
    ok(build(tmp_path, text, "--quiet"))
    out = tmp_path / "build/out"
    m = manifest(out)
    assert m["quarantine"]["rows"] == 4
    assert m["funnel"]["web"]["quarantined"] == 4
    assert m["funnel"]["web"]["read"] == 100
    quarantined = quarantine_rows(out)
    assert sorted(r["line"] for r in quarantined) == sorted(bad)
    assert {r["raw"].rstrip("\n") for r in quarantined} == {raw.decode() for raw in bad.values()}
    assert all(r["file"].endswith("web.jsonl") and r["source"] == "web" for r in quarantined)
    kept = {f"web/{r['id']}" for i, r in enumerate(rows, start=1) if i not in bad}
    assert {r["doc_id"] for r in output_rows(out)} == kept


def test_parquet_without_the_text_column_names_the_file_and_the_near_column(tmp_path: Path) -> None:
    rows = corpus(40, seed=28, prefix="p")
    write_parquet(tmp_path / "data/docs/pages.parquet",
                  [{"id": r["id"], "content": r["body"], "year": r["year"]} for r in rows])
    result = build(tmp_path, source_recipe('docs = parquet("data/docs/*.parquet", text: "contents", id: "id")'),
                   "--quiet")
    build_error(result, "pages.parquet", "`contents`", "did you mean `content`?")


def test_duplicate_ids_fail_or_go_to_quarantine(tmp_path: Path) -> None:
    rows = [{"id": "a", "text": "first of its id"}, {"id": "b", "text": "another document"},
            {"id": "a", "text": "second with the same id"}]
    write_jsonl(tmp_path / "data/ids.jsonl", rows)
    text = 'source s = jsonl("data/ids.jsonl", id: "id"{extra})\noutput "out"\n'

    failed = build(tmp_path, text.format(extra=""), "--quiet")
    assert failed.returncode == 1
    assert "data/ids.jsonl:3" in failed.stderr and "`s/a`" in failed.stderr
    assert "Traceback" not in failed.stderr

    ok(build(tmp_path, text.format(extra=', on_error: "quarantine"'), "--quiet"))
    kept = duckdb.sql(f"select doc_id, text from '{tmp_path}/out/data/*.parquet' order by doc_id").fetchall()
    assert kept == [("s/a", "first of its id"), ("s/b", "another document")]
    quarantined = duckdb.sql(f"select line, error, raw from '{tmp_path}/out/quarantine.parquet'").fetchall()
    assert quarantined == [(3, "duplicate id `s/a`", "second with the same id")]
    assert manifest(tmp_path / "out")["funnel"]["s"]["quarantined"] == 1
