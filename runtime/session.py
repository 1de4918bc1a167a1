"""The DuckDB session a build runs its stages in: the connection (threads, memory, spill directory, no file
access), the operator library's Python kernels registered in it, and the one error wrapper that turns what DuckDB
raises into a RecipeError naming the stage.

The kernels, built-in or from plugins (runtime/plugins.py loads those): functions, filters and transforms as
DuckDB Arrow functions `dr_NAME`, a plugin's scorers as batch functions that fill the score cache. A plugin's
kernel is also given the doc_ids of its batch (a last argument its SQL passes), so that when it raises, the build
stops with an error naming the operator, the stage and the first document it fails on."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from datarecipe.compiler.language.errors import RecipeError
from datarecipe.compiler.lower import queries, statements
from datarecipe.operators import REGISTRY, Operator
from datarecipe.operators.dedup import exact, minhash
from datarecipe.runtime.plugins import why

_SQL_TYPES = {"text": "VARCHAR", "str": "VARCHAR", "choice": "VARCHAR", "int": "BIGINT", "float": "DOUBLE",
              "bool": "BOOLEAN"}
_SQL_RETURNS = {"number": "DOUBLE", "string": "VARCHAR", "bool": "BOOLEAN"}
_ARROW = {"number": pa.float64(), "string": pa.string(), "bool": pa.bool_(), "vector": pa.list_(pa.float32())}

STREAM_ROWS = 2048  # rows per Arrow batch streamed out of DuckDB: a few MB of documents, not tens
SQL_HINT = "see the stage's SQL with `recipe explain`"


def connect(macros: str, *, threads: int, memory_limit: str, spill_dir: Path, failures: list[OperatorFailure],
            readable: Sequence[Path] = ()) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection that can reach no file but those under `readable` (the cache, whose stage outputs it
    reads itself) and its spill directory, with the operator library's kernels and the plan's macros; a plugin
    kernel's failure is appended to `failures`."""
    spill_dir.mkdir(parents=True, exist_ok=True)  # where DuckDB spills past its memory limit
    con = duckdb.connect(config={"threads": threads, "memory_limit": memory_limit,
                                 "temp_directory": str(spill_dir), "preserve_insertion_order": True,
                                 # give freed memory back to the system, which `--memory` measures (runtime/memory.py)
                                 "allocator_flush_threshold": "32MiB",
                                 "allocator_bulk_deallocation_flush_threshold": "64MiB",
                                 "allocator_background_threads": True,
                                 # A join builds its hash table on its right side, as the SQL is written: always the
                                 # narrow one (ids, keys). DuckDB would build on the side it guesses has fewer rows,
                                 # which can be the documents, whose texts a hash table holds in memory.
                                 "disabled_optimizers": "join_order,build_side_probe_side",
                                 "autoinstall_known_extensions": False, "autoload_known_extensions": False})
    # Text functions, filters and transforms with a kernel, built-in or plugin; what a plugin fails on.
    register_kernels(con, failures)
    # `dedup minhash`: signatures and verification; `dedup exact(normalize: true)`: its key
    for name, kernel, args, result in (*minhash.UDFS, *exact.UDFS):
        con.create_function(name, kernel, [duckdb.sqltype(a) for a in args], duckdb.sqltype(result), type="arrow")
    for _, sql in statements(macros):
        con.execute(sql)
    con.execute("SET enable_progress_bar = false")
    if readable:
        con.execute(queries.allow_directories([f"{Path(p).resolve()}/" for p in readable]))
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def stage_error(stage: str, message: str, hint: str = "", input: str = "") -> RecipeError:
    """An error of a stage at run time (no span: the stage and the input say where the build stopped)."""
    return RecipeError(None, message, hint, stage=stage, input=input)


def duckdb_error(stage: str, exc: BaseException, hint: str = "") -> RecipeError:
    """DuckDB's error, by its first line, as the stage's."""
    return stage_error(stage, f"DuckDB failed: {str(exc).splitlines()[0]}", hint)


@contextmanager
def stage_errors(stage: str, *, plugins: Sequence[OperatorFailure] | None = None,
                 stream: Sequence[BaseException] | None = None, hint: str = "",
                 memory_hint: str | None = None) -> Iterator[None]:
    """What DuckDB raises in the block as the stage's RecipeError. DuckDB reports a failure of what it calls in
    Python as its own error, which says less: the exception that ended a Python stream it read (`stream`) or the
    plugin kernel's failure (`plugins`) is raised instead. `memory_hint` is the hint when DuckDB ran out of memory."""
    try:
        yield
    except RecipeError:
        raise
    except Exception as exc:
        if stream:
            raise stream[0] from None
        if isinstance(exc, pa.ArrowException | OSError) and re.match(r"[A-Z][A-Za-z ]* Error: ", str(exc)):
            # DuckDB failed while the engine read a result it streams: Arrow reports DuckDB's error as its own
            out_of_memory = str(exc).startswith("Out of Memory Error")
            raise duckdb_error(stage, exc, (memory_hint if out_of_memory else None) or hint) from None
        if not isinstance(exc, duckdb.Error):
            raise
        if plugins:
            raise plugins[0].recipe_error(stage) from plugins[0].error
        out_of_memory = isinstance(exc, duckdb.OutOfMemoryException)
        raise duckdb_error(stage, exc, (memory_hint if out_of_memory else None) or hint) from None


def run_statements(con: duckdb.DuckDBPyConnection, script: str, on_target: Callable[[str, str], None]) -> None:
    """A stage's statements in order: those without a target (`-- @NAME`) run; `on_target(target, sql)` takes
    the others."""
    for target, sql in statements(script):
        if target == "":
            con.execute(sql)
        else:
            on_target(target, sql)


# The results a stage streams out of DuckDB, by connection: closed when the stage ends, so that one a failure left
# half-read does not hold the connection (DuckDB takes no other statement while a result is open).
_OPEN: dict[int, list[pa.RecordBatchReader]] = {}


def stream(con: duckdb.DuckDBPyConnection, sql: str, rows: int = STREAM_ROWS) -> pa.RecordBatchReader:
    """The result of a query as Arrow batches of `rows`, read as it is computed."""
    reader = con.sql(sql).to_arrow_reader(rows)
    _OPEN.setdefault(id(con), []).append(reader)
    return reader


def close_streams(con: duckdb.DuckDBPyConnection) -> None:
    for reader in _OPEN.pop(id(con), []):
        reader.close()


_ARRAY_ITEMS = {pa.float32(): "FLOAT", pa.float64(): "DOUBLE", pa.int32(): "INTEGER", pa.int64(): "BIGINT"}


def parquet_view(con: duckdb.DuckDBPyConnection, name: str, files: list[str]) -> None:
    """Parquet files (of one schema, the first file's) as the view `name`, which DuckDB reads itself; a column the
    Arrow schema says is a fixed-size list (an embedding) keeps its size."""
    import pyarrow.parquet as pq

    schema = pq.read_schema(files[0])
    arrays = {f.name: f"{_ARRAY_ITEMS[f.type.value_type]}[{f.type.list_size}]" for f in schema
              if pa.types.is_fixed_size_list(f.type) and f.type.value_type in _ARRAY_ITEMS}
    con.execute(queries.parquet_view(name, files, arrays))


def forget(con: duckdb.DuckDBPyConnection, names: Iterable[str]) -> None:
    """Views of a stage's inputs (Parquet, or Arrow registered), dropped when the stage is done with them (after
    the results it streamed are closed)."""
    close_streams(con)
    for name in names:
        con.execute(queries.drop_view(name))


def drop_temp_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The temporary tables a stage's SQL made, dropped: the next stage starts from a clean connection."""
    close_streams(con)
    for (table,) in con.execute(queries.temp_tables()).fetchall():
        con.execute(queries.drop_table(table))


class BadResult(Exception):
    """A plugin's kernel returned what its kind does not take: `returned` says what it gave, `expected` what the
    operator's declaration asks for."""

    def __init__(self, returned: str, expected: str):
        super().__init__(f"{returned}; {expected}")
        self.returned, self.expected = returned, expected

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled by its fields, as a Ray task sends it back."""
        return (type(self), (self.returned, self.expected))


class OperatorFailure(Exception):
    """A plugin's kernel raised on a batch, or returned what its declaration does not take (`error` is then a
    BadResult). `row` is the first row of the batch that fails alone, or None when none does (the batch fails only
    as a whole); `doc_id` that row's document, or the batch's first, when known."""

    def __init__(self, op: Operator, error: BaseException, row: int | None, doc_id: str | None = None):
        super().__init__(op.name)
        self.op, self.error, self.row, self.doc_id = op, error, row, doc_id

    def recipe_error(self, stage: str, doc_id: str | None = None) -> RecipeError:
        doc = doc_id or self.doc_id
        if isinstance(self.error, BadResult):  # it did not raise: what it returned breaks the declaration
            batch = f" (on the batch that begins with document `{doc}`)" if doc else ""
            return RecipeError(None, f"operator `{self.op.name}` ({self.op.origin}) returned "
                                     f"{self.error.returned}{batch}",
                               f"{self.error.expected}: fix the plugin's function (docs/plugins.md)", stage=stage)
        where = (f" on document `{doc}`" if self.row is not None else
                 f" on a batch, though on no document of it alone (the batch begins with `{doc}`)") if doc else ""
        return RecipeError(None, f"operator `{self.op.name}` ({self.op.origin}) failed{where}: {why(self.error)}",
                           "the plugin raised: fix it or the data, and run again (finished stages are kept); "
                           "`--debug` shows the traceback", stage=stage)


def register_kernels(con: duckdb.DuckDBPyConnection, failures: list[OperatorFailure]) -> None:
    """Every function, filter and transform with a kernel as the DuckDB function `dr_NAME`. A plugin's failure
    is appended to `failures` before DuckDB reports it as its own error, which says less."""
    varchar = duckdb.sqltype("VARCHAR")
    for op in REGISTRY.values():
        if op.kernel is None or op.kind not in ("function", "pack"):
            continue
        located = [varchar] if op.fingerprint else []  # a plugin's last argument: the doc_ids
        if op.kind == "function":
            args = [duckdb.sqltype(_SQL_TYPES[p.type]) for p in op.params] + located
            con.create_function(f"dr_{op.name}", _arity(_function(op, failures), len(args)), args,
                                duckdb.sqltype(_SQL_RETURNS[op.returns]), type="arrow")
        else:
            args = [varchar, varchar] + located
            con.create_function(f"dr_{op.name}", _arity(_pack(op, failures), len(args)), args,
                                duckdb.struct_type({"drop": varchar, "text": varchar}), type="arrow")


def _arity(fn: Callable[..., Any], n: int) -> Callable[..., Any]:
    """fn, which takes *args, as a function of n arguments: DuckDB reads the signature to count them."""
    fn.__signature__ = inspect.Signature(
        [inspect.Parameter(f"arg{i}", inspect.Parameter.POSITIONAL_ONLY) for i in range(n)])
    return fn


def _function(op: Operator, failures: list[OperatorFailure]) -> Callable[..., Any]:
    """A text function's kernel as DuckDB calls it: one array per parameter, each a column; the kernel gets the
    `text` parameters as arrays and the others (literals, so one value per call) as Python values."""
    returns = _ARROW[op.returns]

    def run(columns: Sequence[pa.Array]) -> pa.Array:
        kwargs = {p.name: c if p.type == "text" else c[0].as_py() for p, c in zip(op.params, columns, strict=True)}
        return _array(op, op.kernel(**kwargs), len(columns[0]), returns)

    def call(*args: pa.Array) -> pa.Array:
        columns, doc_ids = (args[:-1], args[-1]) if op.fingerprint else (args, None)
        if not len(columns[0]):
            return pa.array([], returns)
        return _guarded(op, run, columns, doc_ids, failures)

    call.__name__ = f"dr_{op.name}"
    return call


def _pack(op: Operator, failures: list[OperatorFailure]) -> Callable[..., Any]:
    """A filter's or transform's kernel as the filter stage calls it: (text, parameters as JSON) ->
    struct<drop: why the document is dropped or NULL, text: the new text or NULL when unchanged>."""
    def run(columns: Sequence[pa.Array], params: dict[str, Any]) -> pa.Array:
        text = columns[0]
        return _decision(op, op.kernel(text, **params), len(text))

    def call(text: pa.Array, params: pa.Array, *doc_ids: pa.Array) -> pa.Array:
        if not len(text):
            return pa.array([], pa.struct({"drop": pa.string(), "text": pa.string()}))
        p = json.loads(params[0].as_py())
        return _guarded(op, lambda columns: run(columns, p), [text], doc_ids[0] if doc_ids else None, failures)

    call.__name__ = f"dr_{op.name}"
    return call


def _guarded(op: Operator, run: Callable[[Sequence[pa.Array]], pa.Array], columns: Sequence[pa.Array],
             doc_ids: pa.Array | None, failures: list[OperatorFailure]) -> pa.Array:
    """run(columns); when a plugin's kernel raises, find the first document it fails on and record the failure."""
    if doc_ids is None:  # a built-in kernel: DuckDB reports a failure, a bug, as its own error
        return run(columns)
    try:
        return run(columns)
    except Exception as exc:  # noqa: BLE001 - the plugin's, whatever it is
        failure = _locate(op, run, columns, exc)
        failure.doc_id = doc_ids[failure.row if failure.row is not None else 0].as_py()
        failures.append(failure)
        raise failure from exc


def _locate(op: Operator, run: Callable[[Sequence[pa.Array]], pa.Array], columns: Sequence[pa.Array],
            error: BaseException) -> OperatorFailure:
    """The failure of a batch, at its first row that fails on its own (the batch is run again row by row). A result
    that breaks the declaration is the batch's: no row is looked for."""
    if isinstance(error, BadResult):
        return OperatorFailure(op, error, None)
    for row in range(len(columns[0])):
        try:
            run([c.slice(row, 1) for c in columns])
        except Exception as exc:  # noqa: BLE001
            return OperatorFailure(op, exc, row)
    return OperatorFailure(op, error, None)


def _one_per_row(op: Operator, result: Any, rows: int) -> pa.Array:
    """A kernel's result (an Arrow array, chunked or not, or a Python sequence) as one Arrow array of `rows`."""
    if isinstance(result, pa.ChunkedArray):
        result = result.combine_chunks()
    if not isinstance(result, pa.Array):
        try:
            result = pa.array(result)
        except (TypeError, ValueError, pa.ArrowException) as exc:
            what = f"a {type(result).__name__} that pyarrow cannot make an array of ({str(exc).splitlines()[0]})"
            raise BadResult(what, f"a {op.category} returns one value per document: an Arrow array or a list") \
                from None
    if len(result) != rows:
        raise BadResult(f"{len(result):,} value{'' if len(result) == 1 else 's'} for a batch of {rows:,} documents",
                        f"a {op.category} returns one value per document, in the order of its texts")
    return result


def _array(op: Operator, result: Any, rows: int, type: pa.DataType) -> pa.Array:
    """A kernel's result as an Arrow array of `rows` values of `type`."""
    result = _one_per_row(op, result, rows)
    try:
        return result.cast(type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise BadResult(f"{result.type} values, which are not {op.returns}s ({str(exc).splitlines()[0][:100]})",
                        f"it is declared with `returns=\"{op.returns}\"`") from None


def _decision(op: Operator, result: Any, rows: int) -> pa.Array:
    """A filter's or transform's result as struct<drop, text>."""
    result = _one_per_row(op, result, rows)
    nothing = pa.nulls(rows, pa.string())
    if op.rewrites and op.drops and pa.types.is_struct(result.type):
        drop, text = result.field("drop").cast(pa.string()), result.field("text").cast(pa.string())
    elif op.drops and pa.types.is_boolean(result.type):
        drop, text = pc.if_else(pc.fill_null(result, True), nothing, pa.scalar("dropped")), nothing
    elif op.drops and (pa.types.is_string(result.type) or pa.types.is_large_string(result.type)
                       or pa.types.is_null(result.type)):
        drop, text = result.cast(pa.string()), nothing
    elif not op.drops and (pa.types.is_string(result.type) or pa.types.is_large_string(result.type)
                           or pa.types.is_null(result.type)):
        drop, text = nothing, result.cast(pa.string())
    else:
        want = ("a struct {drop, text}" if op.rewrites else "booleans or strings") if op.drops else "strings"
        raise BadResult(f"{result.type} values", f"a {op.category} returns {want}")
    return pa.StructArray.from_arrays([drop, text], names=["drop", "text"])


class PluginScorer:
    """A plugin's scorer behind the engine's scorer interface: `score(texts)` fills the score cache."""

    def __init__(self, op: Operator, params: dict[str, Any]):
        self.op = op
        self.params = params
        self.type = _ARROW[op.returns]
        self.forward_passes = 0  # kernel calls

    def score(self, texts: list[str], progress: Callable[[int], None] | None = None) -> pa.Array:
        def run(columns: Sequence[pa.Array]) -> pa.Array:
            return _array(self.op, self.op.kernel(columns[0], **self.params), len(columns[0]), self.type)

        column = pa.array(texts, pa.string())
        self.forward_passes += 1
        try:
            values = run([column])
        except Exception as exc:  # noqa: BLE001 - the plugin's; the engine names the document
            raise _locate(self.op, run, [column], exc) from exc
        if progress is not None:
            progress(len(texts))
        return values
