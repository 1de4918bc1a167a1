"""Sources and the ingest stage: resolve fsspec URLs and globs to files, fingerprint them, and read them as Arrow
batches of (doc_id, text, meta); the ingest runner puts them through the stage's SQL. Bad rows and files fail the
build or go to quarantine."""

from __future__ import annotations

import hashlib
import os
import posixpath
from collections import Counter
from collections.abc import Container, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import fsspec
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from datarecipe.compiler.language.errors import RecipeError, did_you_mean
from datarecipe.compiler.language.spec import CheckedRecipe, SourceSpec
from datarecipe.compiler.plan import InputFile, Stage
from datarecipe.operators.transforms import url_blocklist
from datarecipe.runtime.artifacts.shards import write_parquet
from datarecipe.runtime.session import drop_temp_tables, forget, run_statements, stage_errors, stream

if TYPE_CHECKING:
    import duckdb
    from datarecipe.runtime.stages.context import StageContext

# What a reader yields: the document, plus where it came from (`_row` counts rows across the source's files).
RAW_SCHEMA = pa.schema([("doc_id", pa.string()), ("text", pa.string()), ("meta", pa.string()),
                        ("_row", pa.int64()), ("_file", pa.string()), ("_line", pa.int64())])
QUARANTINE_SCHEMA = pa.schema([("source", pa.string()), ("file", pa.string()), ("line", pa.int64()),
                               ("error", pa.string()), ("raw", pa.string())])
BATCH_ROWS = 4096
_LOCAL = {"file", "local", "memory"}
_GLOB = set("*?[")


def _fs(url: str) -> tuple[Any, str]:
    fs, path = fsspec.core.url_to_fs(url)
    return fs, path


def _protocol(fs: Any) -> str:
    proto = fs.protocol
    return proto[0] if isinstance(proto, tuple | list) else proto


def glob_base(path: str) -> str:
    """The part of a glob before its first wildcard, up to a directory boundary."""
    parts = path.split("/")
    fixed = []
    for part in parts:
        if _GLOB & set(part):
            break
        fixed.append(part)
    base = "/".join(fixed)
    return base if len(fixed) < len(parts) else posixpath.dirname(path)


def _failure(src: SourceSpec, message: str, hint: str = "", input: str = "") -> RecipeError:
    return RecipeError(None, message, hint, stage=f"ingest_{src.name}", input=input or src.path)


def resolve(src: SourceSpec, known: dict[str, str] | None = None) -> tuple[InputFile, ...]:
    """The files a source names, sorted, each with a content fingerprint.

    `known` remembers the sha256 of local files by (path, size, mtime), so an unchanged corpus is not
    read again just to be fingerprinted; new hashes are added to it.
    """
    fs, paths = list_files(src)
    try:
        proto = _protocol(fs)
        return tuple(_fingerprint(fs, proto, p, {} if known is None else known) for p in paths)
    except Exception as exc:  # noqa: BLE001 - any store failure becomes one clear message
        raise _failure(src, f"cannot list the source: {_reason(exc)}",
                       "check the URL, the network and the credentials") from None


def list_files(src: SourceSpec) -> tuple[Any, list[str]]:
    """The file system of a source's URL and the files it names there, sorted; a RecipeError when it names none."""
    try:
        fs, path = _fs(src.path)
        if _GLOB & set(path):
            paths = sorted(p for p in fs.glob(path) if not fs.isdir(p))
            if not paths:
                raise _failure(src, "no files match the pattern", "check the path and the glob")
        else:
            try:
                fs.info(path)
            except FileNotFoundError as exc:
                under = exc.__cause__ or exc.__context__
                if under is not None and _system_error(under) is not None:  # fsspec: "not found" for "refused" too
                    raise _failure(src, f"cannot reach the source: {_reason(under)}",
                                   "check the URL and the network") from None
                if _protocol(fs) in ("http", "https"):
                    fs.cat_file(path, start=0, end=1)
                raise _failure(src, "the file does not exist", "paths are relative to the working directory") from None
            paths = sorted(p for p in fs.find(path)) if fs.isdir(path) else [path]
            if not paths:
                raise _failure(src, "the directory is empty",
                               "a source reads every file under its directory: check the path")
        return fs, paths
    except RecipeError:
        raise
    except Exception as exc:  # noqa: BLE001 - any store failure becomes one clear message
        raise _failure(src, f"cannot list the source: {_reason(exc)}",
                       "check the URL, the network and the credentials") from None


def _reason(exc: BaseException) -> str:
    """An exception as one line; where a system error (a refused connection, a missing host) lies under it, that
    error's own words first."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    line = f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__
    cause = _system_error(exc)
    return f"{os.strerror(cause.errno)} ({line})"[:300] if cause is not None and cause.errno else line


def _system_error(exc: BaseException) -> OSError | None:
    """The first error in the chain of causes that the system raised with an errno, e.g. ConnectionRefusedError."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and isinstance(current.errno, int) and current.errno > 0:
            return current
        current = current.__cause__ or current.__context__
    return None


def _fingerprint(fs: Any, proto: str, path: str, known: dict[str, str]) -> InputFile:
    url = fs.unstrip_protocol(path)
    if proto in ("file", "local"):
        # Inside the project, record the path relative to it, so a clone elsewhere agrees.
        rel = os.path.relpath(path)
        url = rel if not rel.startswith("..") else path
    info = fs.info(path)
    size = int(info.get("size") or 0)
    tag = info.get("ETag") or info.get("etag") or info.get("md5")
    if proto not in _LOCAL and tag:
        return InputFile(url, size, f"etag:{str(tag).strip(chr(34))}")
    key = ""
    if proto in ("file", "local"):
        stat = os.stat(path)
        key = f"{os.path.abspath(path)}\0{stat.st_size}\0{stat.st_mtime_ns}"
        if key in known:
            return InputFile(url, size, known[key])
    digest = hashlib.sha256()
    with fs.open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            digest.update(chunk)
    fingerprint = f"sha256:{digest.hexdigest()}"
    if key:
        known[key] = fingerprint
    return InputFile(url, size, fingerprint)


def rule_files(recipe: CheckedRecipe, known: dict[str, str]) -> dict[str, tuple[InputFile, ...]]:
    """The files filter rules read (blocklists), fingerprinted like a source's files, by `SOURCE:op`."""
    files: dict[str, tuple[InputFile, ...]] = {}
    for block in recipe.filters:
        for rule in block.rules:
            if rule.kind == "apply" and rule.op == "url_blocklist":
                node = dict(rule.args)["path"]
                try:
                    fs, path = _fs(node.value)
                    files[f"{block.source}:url_blocklist"] = (_fingerprint(fs, _protocol(fs), path, known),)
                except OSError as exc:
                    raise RecipeError(node.span, f"cannot read the blocklist `{node.value}`: {exc.strerror or exc}",
                                      "paths are relative to the working directory, like sources") from None
    for path in recipe.weights_files():
        try:  # a file of mix weights: fingerprinted, so that an edit re-runs the mix
            fs, local = _fs(path)
            files[f"weights:{path}"] = (_fingerprint(fs, _protocol(fs), local, known),)
        except OSError as exc:
            raise RecipeError(None, f"cannot read the weights file `{path}`: {exc.strerror or exc}",
                              "paths are relative to the working directory, like sources") from None
    return files


def read_blocklist(table: dict[str, Any], stage: str) -> Any:
    """The engine's side of a blocklist: read the file the plan fingerprinted and return an Arrow table of
    its domains. A file changed since it was fingerprinted, or a line that is not a domain, stops the build."""
    path = table["path"]
    try:
        data = open(path, "rb").read()  # noqa: SIM115 - one small read
    except OSError as exc:
        raise RecipeError(None, f"cannot read the blocklist: {exc.strerror or exc}", "check the path",
                          stage=stage, input=path) from None
    if f"sha256:{hashlib.sha256(data).hexdigest()}" != table["fingerprint"]:
        raise RecipeError(None, "the blocklist changed while the build was planned", "run the build again",
                          stage=stage, input=path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise RecipeError(None, "the blocklist is not valid UTF-8", "save it as UTF-8 text",
                          stage=stage, input=f"{path}:{line}") from None
    domains, bad = url_blocklist.parse_blocklist(text)
    if bad:
        number, line_text = bad[0]
        more = f" ({len(bad)} such lines)" if len(bad) > 1 else ""
        raise RecipeError(None, f"`{line_text[:80]}` is not a domain or a URL{more}",
                          "write one domain (`example.com`) or URL per line; `#` starts a comment",
                          stage=stage, input=f"{path}:{number}")
    return pa.table({"domain": pa.array(domains, pa.string())})


@dataclass
class Quarantine:
    """Rows and files a source could not read, with the reason, for the quarantine file."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(self, source: str, file: str, line: int, error: str, raw: str = "") -> None:
        self.rows.append({"source": source, "file": file, "line": line, "error": error[:500],
                          "raw": raw[:1000]})

    def table(self) -> pa.Table:
        return pa.Table.from_pylist(self.rows, schema=QUARANTINE_SCHEMA)


class SourceReader:
    """Reads one source's files in order as batches of the raw schema. With `rows`, only those rows of each file,
    by its path: line numbers for JSONL, row numbers (from 1) for Parquet, 0 for a text file; files not in it are
    skipped, and rows left out are never parsed (`recipe explain --estimate` reads a sample so)."""

    def __init__(self, src: SourceSpec, files: tuple[InputFile, ...], quarantine: Quarantine,
                 rows: Mapping[str, Container[int]] | None = None):
        self.src = src
        self.files = files if rows is None else tuple(f for f in files if f.path in rows)
        self.rows = rows
        self.quarantine = quarantine
        self.count = 0
        base_fs, base_path = _fs(src.path)
        self.base = glob_base(base_path) if _GLOB & set(base_path) else (
            base_path if base_fs.isdir(base_path) else posixpath.dirname(base_path))

    def relative(self, url: str) -> str:
        path = _fs(url)[1]
        return posixpath.relpath(path, self.base) if self.base else path

    def bad(self, file: str, line: int, message: str, raw: str = "", hint: str = "") -> None:
        """Quarantine a bad row (line 0: the whole file), or fail, as the source says."""
        if self.src.on_error == "quarantine":
            self.quarantine.add(self.src.name, file, line, message, raw)
            return
        where = f"{file}:{line}" if line else file
        quarantine = 'set `on_error: "quarantine"` on the source'
        raise _failure(self.src, message, f"{hint}; or {quarantine}" if hint else f"or {quarantine}", where)

    def batches(self) -> Iterator[pa.RecordBatch]:
        read = {"jsonl": self._jsonl, "parquet": self._parquet, "text": self._text}[self.src.format]
        for f in self.files:
            try:
                yield from read(f.path)
            except RecipeError:
                raise
            except Exception as exc:  # noqa: BLE001 - a corrupt or unreadable file
                self.bad(f.path, 0, f"cannot read the file: {_reason(exc)}",
                         hint="the file may be truncated or not in the declared format")

    def _rows(self, url: str, rows: list[tuple[str, str, str, int]]) -> pa.RecordBatch:
        ids, texts, metas, lines = zip(*rows, strict=True) if rows else ((), (), (), ())
        return self._batch(url, list(ids), pa.array(texts, pa.string()), list(metas), list(lines))

    def _batch(self, url: str, ids: list[str], texts: pa.Array, metas: list[str], lines: list[int]) -> pa.RecordBatch:
        first = self.count
        self.count += len(ids)
        return pa.record_batch([pa.array(ids, pa.string()), texts, pa.array(metas, pa.string()),
                                pa.array(range(first, self.count), pa.int64()),
                                pa.array([url] * len(ids), pa.string()), pa.array(lines, pa.int64())],
                               schema=RAW_SCHEMA)

    def _doc_id(self, rel: str, row: int, given: Any) -> str:
        return f"{self.src.name}/{given}" if given is not None else f"{self.src.name}/{rel}:{row}"

    def _cut(self, url: str, done: int, exc: BaseException, unit: str) -> None:
        """A file that broke off after `done` rows or lines were read (a truncated gzip stream, a corrupt page):
        what came before is kept, and the break is one bad row at the next line (the whole file when nothing
        was read)."""
        if done == 0:
            self.bad(url, 0, f"cannot read the file: {_reason(exc)}",
                     hint="the file may be truncated or not in the declared format")
            return
        what = "is cut short" if isinstance(exc, EOFError) else "cannot be read"
        self.bad(url, done + 1, f"the file {what} after {unit} {done}: {_reason(exc)}",
                 hint=f"the file may be truncated or corrupt; the {done:,} {unit}s before the break are readable")

    def _jsonl(self, url: str) -> Iterator[pa.RecordBatch]:
        rel = self.relative(url)
        text_key, id_key = self.src.text_column, self.src.id_column
        rows: list[tuple[str, str, str, int]] = []
        n = 0
        with fsspec.open(url, "rb", compression="infer") as fh:
            for item in _guarded(_lines(fh)):
                if isinstance(item, _Broken):
                    if rows:  # the complete lines before the break are documents like any other
                        yield self._rows(url, rows)
                        rows = []
                    self._cut(url, n, item.error, "line")
                    break
                n += 1
                raw = item
                if n == 1 and (kind := _looks_like(raw)):
                    what, suffix = kind
                    self.bad(url, 0, f"the file is {what}, not JSON lines",
                             hint=f'declare the source as `parquet("{self.src.path}")`' if not suffix else
                             f"end its name with `{suffix}`, which is how its compression is recognized")
                    return
                if not raw.strip() or self.rows is not None and n not in self.rows[url]:
                    continue
                try:
                    obj = orjson.loads(raw)
                except orjson.JSONDecodeError as exc:
                    hint = ""
                    try:
                        raw.decode("utf-8")
                        problem = f"not valid JSON: {exc.msg} (column {exc.colno})"
                        if (at := raw.find(b"\0")) >= 0:
                            problem, hint = f"the line holds a NUL byte (at byte {at + 1})", _NUL_HINT
                    except UnicodeDecodeError as bad_utf8:
                        problem = f"not valid UTF-8 at byte {bad_utf8.start + 1} of the line"
                    self.bad(url, n, problem, raw.decode("utf-8", "replace"), hint=hint)
                    continue
                if not isinstance(obj, dict):
                    self.bad(url, n, "the line is not a JSON object", raw.decode("utf-8", "replace"))
                    continue
                text = obj.pop(text_key, None)
                if not isinstance(text, str):
                    problem = "has no" if text is None else "has a non-string"
                    self.bad(url, n, f"the object {problem} text field `{text_key}`",
                             raw.decode("utf-8", "replace")[:1000],
                             hint=did_you_mean(text_key, obj) or "set `text:` on the source")
                    continue
                if "\0" in text:
                    self.bad(url, n, _NUL, raw.decode("utf-8", "replace"), hint=_NUL_HINT)
                    continue
                given = None
                if id_key:
                    given = obj.pop(id_key, None)
                    if given is None:
                        self.bad(url, n, f"the object has no id field `{id_key}`", raw.decode("utf-8", "replace"))
                        continue
                rows.append((self._doc_id(rel, n, given), text, orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
                             .decode(), n))
                if len(rows) >= BATCH_ROWS:
                    yield self._rows(url, rows)
                    rows = []
        if rows:
            yield self._rows(url, rows)

    def _parquet(self, url: str) -> Iterator[pa.RecordBatch]:
        rel = self.relative(url)
        text_key, id_key = self.src.text_column, self.src.id_column
        with fsspec.open(url, "rb") as fh:
            head = fh.read(4)
            if not head:  # an empty JSONL file is zero documents; an empty Parquet file is not a Parquet file
                self.bad(url, 0, "the file is empty (0 bytes), not a Parquet file", hint=_EMPTY_HINT)
                return
            if head != _PARQUET:
                kind = _looks_like(head)
                what = kind[0] if kind else "JSON text" if head.lstrip()[:1] in (b"{", b"[") else ""
                self.bad(url, 0, "the file is not Parquet (it does not begin with `PAR1`)"
                         + (f": it is {what}" if what else ""),
                         hint=f'declare the source as `jsonl("{self.src.path}")` if it holds JSON lines' if what else
                         "the file may be truncated at its start, or not in the declared format")
                return
            fh.seek(0)
            pf = pq.ParquetFile(fh)
            names = pf.schema_arrow.names
            for key, what in ((text_key, "text"), (id_key, "id")):
                if key and key not in names:
                    self.bad(url, 0, f"the file has no {what} column `{key}`",
                             hint=did_you_mean(key, names) or "columns: " + ", ".join(names))
                    return
            field_type = pf.schema_arrow.field(text_key).type
            if not (pa.types.is_string(field_type) or pa.types.is_large_string(field_type)):
                self.bad(url, 0, f"column `{text_key}` holds {field_type}, not text",
                         hint="point `text:` at a string column")
                return
            seen = 0
            for item in _guarded(pf.iter_batches(batch_size=BATCH_ROWS)):
                if isinstance(item, _Broken):
                    self._cut(url, seen, item.error, "row")
                    return
                batch = item
                numbers = list(range(seen + 1, seen + 1 + batch.num_rows))
                seen += batch.num_rows
                if self.rows is not None:
                    picked = [i for i, n in enumerate(numbers) if n in self.rows[url]]
                    batch, numbers = batch.take(picked), [numbers[i] for i in picked]
                rows = []
                texts = batch.column(text_key)
                try:
                    texts.validate(full=True)
                    valid = None
                except pa.ArrowInvalid:
                    valid = [_utf8_ok(v) for v in texts.cast(pa.large_binary()).to_pylist()]
                ids = batch.column(id_key).to_pylist() if id_key else None
                others = batch.drop_columns([c for c in (text_key, id_key) if c]).to_pylist()
                if valid is None and not texts.null_count and (ids is None or None not in ids) \
                        and not pc.any(pc.match_substring(texts, "\0")).as_py():
                    # every row is good: the texts stay Arrow; only the ids and the metadata pass through Python
                    given = ids if ids is not None else [None] * len(numbers)
                    yield self._batch(url, [self._doc_id(rel, row, g) for row, g in zip(numbers, given, strict=True)],
                                      texts.cast(pa.string()), [_meta_json(m) for m in others], numbers)
                    continue
                for i, (row, text, meta) in enumerate(zip(numbers, texts.to_pylist() if valid is None else
                                                          texts.cast(pa.large_binary()).to_pylist(),
                                                          others, strict=True)):
                    if valid is not None and not valid[i]:
                        self.bad(url, row, "the text is not valid UTF-8")
                        continue
                    if isinstance(text, bytes):
                        text = text.decode("utf-8")
                    if text is None:
                        self.bad(url, row, f"the text column `{text_key}` is null")
                        continue
                    if "\0" in text:
                        self.bad(url, row, _NUL, text[:1000], hint=_NUL_HINT)
                        continue
                    given = ids[i] if ids is not None else None
                    if ids is not None and given is None:
                        self.bad(url, row, f"the id column `{id_key}` is null")
                        continue
                    rows.append((self._doc_id(rel, row, given), text, _meta_json(meta), row))
                if rows:
                    yield self._rows(url, rows)

    def _text(self, url: str) -> Iterator[pa.RecordBatch]:
        rel = self.relative(url)
        with fsspec.open(url, "rb") as fh:
            data = fh.read()
        if not data:
            self.bad(url, 0, "the file is empty (0 bytes), not a document", hint=_EMPTY_HINT)
            return
        if kind := _looks_like(data):
            what, suffix = kind
            self.bad(url, 0, f"the file is {what}, not text",
                     hint=f'declare the source as `parquet("{self.src.path}")`' if not suffix else
                     "a text source reads uncompressed files: decompress it")
            return
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            self.bad(url, line, f"not valid UTF-8 at byte {exc.start}")
            return
        if "\0" in text:  # valid UTF-8, but a binary file (or UTF-16) more likely than a document
            at = data.index(b"\0")
            self.bad(url, data[:at].count(b"\n") + 1, f"the file holds a NUL byte (at byte {at}): binary, not text",
                     hint=_NUL_HINT)
            return
        yield self._rows(url, [(f"{self.src.name}/{rel}", text, orjson.dumps({"path": rel}).decode(), 0)])


_EMPTY_HINT = "remove it, or fix what wrote it"
_PARQUET = b"PAR1"
# How a file that its declared format does not fit begins: (what it is, the suffix that names its compression).
_MAGIC = ((_PARQUET, ("a Parquet file", "")), (b"\x1f\x8b", ("gzip-compressed", ".gz")),
          (b"\x28\xb5\x2f\xfd", ("zstd-compressed", ".zst")))


def _looks_like(head: bytes) -> tuple[str, str] | None:
    """What a file is by its first bytes (Parquet, gzip, zstd), or None."""
    return next((kind for magic, kind in _MAGIC if head.startswith(magic)), None)
_NUL = "the text holds a NUL character (U+0000)"
_NUL_HINT = "NUL is not text: the input is likely binary or mis-encoded (UTF-16?)"


def _lines(fh: Any, size: int = 1 << 20) -> Iterator[bytes]:
    """A binary stream's lines, each with its newline (the last one perhaps without). Read in chunks of at most one
    read of the layer below (`read1`), so that every line a truncated stream held comes out before its error."""
    read = getattr(fh, "read1", None) or fh.read
    pending: list[bytes] = []
    while chunk := read(size):
        parts = chunk.split(b"\n")
        if len(parts) == 1:
            pending.append(chunk)
            continue
        pending.append(parts[0] + b"\n")
        yield b"".join(pending)
        for part in parts[1:-1]:
            yield part + b"\n"
        pending = [parts[-1]] if parts[-1] else []
    if pending:
        yield b"".join(pending)


@dataclass(frozen=True)
class _Broken:
    """Where a file's rows or lines stopped coming: the error that stopped them."""

    error: BaseException


def _guarded(items: Iterable[Any]) -> Iterator[Any]:
    """The items, then a _Broken in place of an error reading them (the caller's errors are its own)."""
    try:
        yield from items
    except Exception as exc:  # noqa: BLE001 - a truncated stream, a corrupt page: the caller says where
        yield _Broken(exc)


def _meta_json(meta: dict[str, Any]) -> str:
    """A row's other columns as the `meta` JSON: keys sorted, values JSON has no type for as strings."""
    return orjson.dumps(meta, option=orjson.OPT_SORT_KEYS, default=str).decode()


def _utf8_ok(value: bytes | None) -> bool:
    if value is None:
        return True
    try:
        value.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


# ---- the ingest stage's runner ---------------------------------------------------------------------------


def run_ingest(ctx: StageContext, con: duckdb.DuckDBPyConnection, stage: Stage, tmp: Path) -> dict[str, Any]:
    """The ingest stage: the source's rows, read by `ctx.reader`, through the stage's SQL into `data.parquet`;
    rows it could not read (and repeated ids) into `quarantine.parquet`."""
    src = next(s for s in ctx.recipe.sources if s.name == stage.source)
    quarantine = Quarantine()
    reader = ctx.reader(src, quarantine)
    failure: list[BaseException] = []
    rows = 0

    def counted() -> Iterator[pa.RecordBatch]:
        for batch in reader.batches():
            ctx.reporter.advance(stage.name, batch.num_rows)
            yield batch

    def write(target: str, sql: str) -> None:
        nonlocal rows
        if target == "duplicates":
            ctx.duplicates(reader, con.sql(sql).fetchall())
        else:
            schema, batches = ctx.in_order(stage, stream(con, sql))
            rows = write_parquet(tmp / "data.parquet", schema, batches)

    con.register(f"raw_{src.name}", pa.RecordBatchReader.from_batches(RAW_SCHEMA, watched(counted(), failure)))
    try:
        with stage_errors(stage.name, stream=failure):
            run_statements(con, stage.sql, write)
    finally:
        forget(con, [f"raw_{src.name}"])
        drop_temp_tables(con)
    pq.write_table(quarantine.table(), tmp / "quarantine.parquet")
    counts = Counter(r["source"] for r in quarantine.rows)
    return {"rows": rows, "by_source": {src.name: rows}, "quarantined": dict(counts)}


def watched(batches: Iterator[pa.RecordBatch], failure: list[BaseException]) -> Iterator[pa.RecordBatch]:
    """The batches, keeping the exception that ends them: DuckDB, reading them, would report its own instead."""
    try:
        yield from batches
    except BaseException as exc:
        failure.append(exc)
        raise


def quarantine_duplicates(stage: str, reader: SourceReader, rows: list[tuple]) -> None:
    """Rows whose id an earlier row of the source already has: quarantined, or the build fails."""
    if not rows:
        return
    if reader.src.on_error == "fail":
        doc_id, file, line, _ = rows[0]
        raise RecipeError(None, f"{len(rows):,} row(s) repeat an id an earlier row already has; the first is "
                                f"`{doc_id}`",
                          f"ids must be unique; fix the `{reader.src.id_column}` column, or set "
                          '`on_error: "quarantine"` to keep the first row of each id',
                          stage=stage, input=f"{file}:{line}")
    for doc_id, file, line, text in rows:
        reader.quarantine.add(reader.src.name, file, line, f"duplicate id `{doc_id}`", text)
