"""The queries the runtime runs beside a stage's own SQL (counts, lookups, splits of a stage over parts), made here
so that SQL text is made in one place, the lowering. Each returns SQL text; identifiers come from the plan
(stage and table names), values are bound as parameters or written with `literal`."""

from __future__ import annotations

from datarecipe.compiler.lower import literal

# --- The stage runners' queries (runtime/stages, runtime/executors/local.py, runtime/executors/sample.py) ---


def temp_tables() -> str:
    """The names of the connection's temporary tables (a stage's SQL makes them; dropped after it)."""
    return "SELECT table_name FROM duckdb_tables() WHERE temporary"


def drop_table(table: str) -> str:
    return f'DROP TABLE "{table}"'


def parquet_view(name: str, files: list[str], arrays: dict[str, str] | None = None) -> str:
    """`name` as a view of Parquet files, read by DuckDB itself (within its memory limit), in file and row order.
    `arrays`: columns cast back to a fixed-size array type (e.g. `FLOAT[384]`), which Parquet keeps only in the
    Arrow schema that DuckDB's reader does not read."""
    casts = ", ".join(f'CAST("{column}" AS {sql_type}) AS "{column}"' for column, sql_type in (arrays or {}).items())
    return (f'CREATE OR REPLACE TEMP VIEW "{name}" AS SELECT *{f" REPLACE ({casts})" if casts else ""} '
            f"FROM read_parquet({literal(files)})")


def drop_view(name: str) -> str:
    """A view, or a table registered from Arrow, dropped if it is there."""
    return f'DROP VIEW IF EXISTS "{name}"'


def allow_directories(paths: list[str]) -> str:
    """The only directories DuckDB may open files in once external access is off (the cache's)."""
    return f"SET allowed_directories = {literal(paths)}"


def count_rows(query: str) -> str:
    """The number of rows `query` (SQL text) gives."""
    return f"SELECT count(*) FROM ({query})"


def count_table(table: str) -> str:
    return f"SELECT count(*) FROM {table}"


def first_doc_with_hash(table: str) -> str:
    """The first document of `table` with a text (its content hash, $1): the one a scorer's failure names."""
    return f"SELECT min(doc_id) FROM {table} WHERE content_hash = $1"


def dropped_examples(ledger: str, docs: str, per_rule: int) -> str:
    """The first `per_rule` documents (by doc_id) each rule of the ledger left out, with the first 1,000
    characters of their text as read."""
    return f"""
                WITH picked AS (SELECT source, rule, doc_id FROM {ledger}
                                QUALIFY row_number() OVER (PARTITION BY source, rule ORDER BY doc_id) <= {per_rule})
                SELECT p.source, p.rule, p.doc_id, left(d.text, 1000) AS text
                FROM {docs} d JOIN picked p USING (doc_id) ORDER BY p.source, p.rule, p.doc_id"""


# --- The cluster executor's, the mix's and the report's queries (runtime/executors/cluster.py,
#     runtime/stages/mix.py, runtime/artifacts/report.py) ---


def raw_buckets(table: str, index: int, partitions: int) -> str:
    """Shard `index` of a source's raw rows with `_row` made unique over the source (the shard's index in its high
    bits) and `_bucket`, the hash partition of its id: every row of an id lands in one partition."""
    return (f"SELECT * REPLACE (_row + {index} * {2**40} AS _row), "
            f"md5_number_lower(doc_id) % {partitions} AS _bucket FROM {table}")


def row_buckets(table: str, key: str, partitions: int) -> str:
    """A stage's rows with `_bucket`, the hash partition of its partition key (`Stage.partition`, SQL)."""
    return f"SELECT *, CAST(({key}) % {partitions} AS BIGINT) AS _bucket FROM {table}"


def located(table: str, keys: tuple[str, ...], files: list[str]) -> str:
    """Each row of the narrow table `table` with `_bucket`, the index in `files` of the Parquet file holding its
    document (found by `keys`). The joins build on their right sides: the files' names, then the narrow table."""
    on = ", ".join(f'"{k}"' for k in keys)
    names = ", ".join(f"({literal(f)}, {i})" for i, f in enumerate(files))
    return (f"SELECT n.*, f._bucket "
            f"FROM (SELECT {on}, filename FROM read_parquet({literal(files)}, filename = true)) d "
            f"JOIN (VALUES {names}) f(filename, _bucket) USING (filename) "
            f'JOIN "{table}" n USING ({on})')


def empty_view(name: str, like: str) -> str:
    """`name` as a view with the columns of the view `like` and no rows."""
    return f'CREATE OR REPLACE TEMP VIEW "{name}" AS SELECT * FROM "{like}" LIMIT 0'


def records_in_order(table: str) -> str:
    """A ledger's (or changed texts') rows from a stage's parts, in the order the stage's own SQL writes them."""
    return f"SELECT * FROM {table} ORDER BY doc_id, rule"


def first_doc_of_text(table: str) -> str:
    """The first document of a source ($1) with a text (its content hash, $2): the one a scorer's failure names."""
    return f"SELECT min(doc_id) FROM {table} WHERE source = $1 AND content_hash = $2"


def clear_mix_targets(stage: str) -> str:
    """Empty the mix's table of targets before a phase's are written (mix.sql.j2 makes `STAGE__targets`)."""
    return f"DELETE FROM {stage}__targets"


def insert_mix_targets(stage: str) -> str:
    """One row of a phase's targets: (phase, source, target, upto), bound as parameters."""
    return f"INSERT INTO {stage}__targets VALUES (?, ?, ?, ?)"


def shard_scan(fmt: str, param: str, empty: bool) -> str:
    """A build's shards (of format `fmt`, the file list bound to $param) as `doc_id`, `source` and `content_hash`;
    no row when the build has no shard."""
    if empty:
        return "(SELECT NULL::VARCHAR AS doc_id, NULL::VARCHAR AS source, NULL::UBIGINT AS content_hash LIMIT 0)"
    if fmt == "jsonl":
        return (f"read_json(${param}, format := 'newline_delimited', "
                "columns := {doc_id: 'VARCHAR', source: 'VARCHAR', content_hash: 'UBIGINT'})")
    return f"read_parquet(${param})"


def only_in_new(new: str, old: str, examples: int) -> str:
    """The distinct texts (content hashes) the scan `new` has and `old` has not: per source and in all (the row
    whose source is NULL), their count and the `examples` smallest doc_ids that carry them."""
    return f"""
        WITH only_new AS (
            SELECT DISTINCT n.source, n.content_hash, n.doc_id
            FROM {new} n ANTI JOIN {old} o USING (content_hash))
        SELECT source, count(DISTINCT content_hash), min(doc_id, {examples})
        FROM only_new GROUP BY GROUPING SETS ((source), ()) ORDER BY source"""
