"""The runners of the embedding space (operators/space): the `cluster` fit, its scorer (a cached score over
vectors), SemDeDup's stage and the order's `knn_chains` step. The numbers are operators/space/kernels.py's."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
from datarecipe.compiler.language.errors import RecipeError
from datarecipe.compiler.plan import Stage
from datarecipe.operators.space.kernels import matrix
from datarecipe.runtime import memory
from datarecipe.runtime.session import SQL_HINT, drop_temp_tables, forget, run_statements, stage_errors, stream
from datarecipe.runtime.stages import score

if TYPE_CHECKING:
    import duckdb
    from datarecipe.runtime.stages.context import StageContext

# The build ledger's rows from `dedup semantic`: the document dropped and the one it duplicates.
DUPLICATES_SCHEMA = pa.schema([("doc_id", pa.string()), ("rule", pa.string()), ("duplicate_of", pa.string()),
                               ("similarity", pa.float64())])


def run_cluster_fit(ctx: StageContext, con: duckdb.DuckDBPyConnection, stage: Stage, tmp: Path) -> dict[str, Any]:
    """Fit a `cluster` score's centroids: the embedding's cache filled for the source's texts, then k-means on a
    seeded sample of the distinct vectors, in content_hash order. Writes `model/centroids.npy` and
    `model/cluster.json` (sizes, inertia, and a 2-D map of the centroids for the card)."""
    from datarecipe.operators.space import kernels

    params = stage.params
    vectors = params["vectors"]
    ctx.register_outputs(con, stage.inputs)
    found: dict[str, Any] = {}

    def write(target: str, sql: str) -> None:
        if target.startswith("todo_"):
            found["embedded"] = score.fill_cache(ctx, con, stage, vectors, sql)
            score.register_cache(ctx, con, vectors)
        else:  # @sample
            table = stream(con, sql).read_all().sort_by("content_hash")
            found["sample"] = matrix(table.column("vector"), stage.name)

    try:
        score.register_cache(ctx, con, vectors)
        with stage_errors(stage.name, hint=SQL_HINT, memory_hint=memory.HINT):
            run_statements(con, stage.sql, write)
    finally:
        forget(con, [*stage.inputs, f"score_cache_{vectors['name']}"])
        drop_temp_tables(con)
    x, args = found["sample"], dict(params["args"])
    if len(x) < args["k"] and ctx.sampled and len(x):  # the estimate's sample: fewer clusters, as good a timing
        args["k"] = len(x)
    if len(x) < args["k"]:
        raise RecipeError(None, f"cluster: k is {args['k']}, but source `{stage.source}` has only {len(x)} "
                          "distinct documents with an embedding", "lower `k`, or loosen the source's filters",
                          stage=stage.name)
    ctx.reporter.start(f"{stage.name}.kmeans", total=args["iterations"], event="task")
    fitted = kernels.kmeans(x, args["k"], params["seed"], args["iterations"], device=kernels.device_of(ctx.device),
                            progress=lambda n: ctx.reporter.advance(f"{stage.name}.kmeans", n))
    ctx.reporter.finish(f"{stage.name}.kmeans", event="task", rows=len(x), iterations=fitted.iterations)
    model = tmp / "model"
    model.mkdir()
    np.save(model / "centroids.npy", fitted.centroids.astype("<f4"))
    stats = {"vectors": len(x), "k": args["k"], "iterations": fitted.iterations,
             "inertia": round(fitted.inertia, 6), "sizes": fitted.sizes.tolist()}
    (model / "cluster.json").write_text(json.dumps({**stats, "map": _map(fitted.centroids)}, indent=1,
                                                   sort_keys=True) + "\n", encoding="utf-8")
    return {"rows": len(x), "fit": stats, "embedded": found.get("embedded", {})}


def _map(centroids: np.ndarray, steps: int = 300) -> list[list[float]]:
    """The centroids projected on their first two principal components, rounded: the card's 2-D map of the
    clusters. Found by power iteration (then deflation) with numpy's own elementwise sums, not BLAS or LAPACK,
    whose bits may depend on the thread count: the map is in the build, which must not. Each axis's sign makes
    its largest coordinate positive."""
    c = centroids.astype(np.float64)
    centred = c - c.mean(axis=0)
    axes: list[np.ndarray] = []
    for _ in range(2):
        v = np.ones(c.shape[1]) / np.sqrt(c.shape[1])
        for _ in range(steps):  # v <- C^T C v, less the axes found
            w = (centred.T * (centred * v).sum(axis=1)).sum(axis=1)
            for axis in axes:
                w = w - axis * (w * axis).sum()
            norm = np.sqrt((w * w).sum())
            if norm == 0:
                break
            v = w / norm
        axes.append(v * (1.0 if v[np.abs(v).argmax()] >= 0 else -1.0))
    return [[round(float((row * axes[0]).sum()), 6), round(float((row * axes[1]).sum()), 6)] for row in centred]


# ---------------------------------------------------------------------------------------------
# SemDeDup


def hook(ctx: StageContext, con: duckdb.DuckDBPyConnection, stage: Stage) -> Callable[[str, str], bool]:
    """run_sql's hook for the statements of a space stage (`@vectors`: SemDeDup; `@rank_NAME`: a representative
    score) and of the order's `knn_chains` (`@chain_sets_N`, `@chain_N`): the engine's part between their SQL."""
    from datarecipe.operators.space import kernels

    device = kernels.device_of(ctx.device)
    if stage.step == "space" and stage.params["dedup"] is None:  # no SemDeDup: nothing dropped
        con.register("space_dropped", DUPLICATES_SCHEMA.empty_table())

    def sets(sql: str) -> Iterator[tuple[Any, pa.Table]]:
        """The rows of `sql` in `_key` order (the engine's sort, within `--memory`), a set at a time."""
        ordered = ctx.sorted_by(stream(con, sql), "_key")
        for key, group in itertools.groupby(_rows_by_set(ordered), key=lambda pair: pair[0]):
            yield key, pa.Table.from_batches([b for _, b in group]).combine_chunks()

    def run(target: str, sql: str) -> bool:
        if target == "vectors":
            con.register("space_dropped", _semantic(stage, sets(sql), device))
        elif target.startswith("rank_"):
            con.register(f"space_{target}", _ranked(stage, sets(sql)))
        elif target.startswith("chain_sets_"):
            phase = target.removeprefix("chain_sets_")
            ids, firsts, means = [], [], []
            for key, table in sets(sql):
                ids.append(key)
                firsts.append(table.column("doc_id")[0].as_py())
                means.append(matrix(table.column("vector"), stage.name).astype(np.float64).sum(axis=0) / len(table))
            tour: list[int] = []
            if ids:  # from the cluster of the smallest doc_id, to the nearest cluster mean not yet visited
                start = min(range(len(ids)), key=lambda i: firsts[i])
                tour = kernels.chain(np.array(means), start, device).tolist()
            visited = [ids[i].split("\x01") for i in tour]  # (source, cluster id)
            con.register(f"{stage.name}__tour_{phase}", pa.table({
                "_source": pa.array([v[0] for v in visited], pa.string()),
                "_set": pa.array([int(v[1]) for v in visited], pa.int64()),
                "_tour": pa.array(np.arange(len(tour)), pa.int64())}))
        elif target.startswith("chain_"):
            con.register(f"{stage.name}__{target}", _chained(stage, sets(sql), device))
        else:
            return False
        return True

    return run


def _semantic(stage: Stage, sets: Iterator[tuple[Any, pa.Table]], device: Any) -> pa.Table:
    """SemDeDup's duplicates, set by set: (doc_id, rule, duplicate_of, similarity)."""
    from datarecipe.operators.space import kernels

    threshold = stage.params["dedup"]["threshold"]
    label = stage.params["dedup"]["label"]
    rows: list[pa.RecordBatch] = []
    for _, batch in sets:
        found = kernels.semantic_duplicates(matrix(batch.column("vector"), stage.name), threshold, device)
        if len(found.rows):
            ids = batch.column("doc_id")
            rows.append(pa.record_batch([ids.take(pa.array(found.rows)).combine_chunks(),
                                         pa.array([label] * len(found.rows), pa.string()),
                                         ids.take(pa.array(found.of)).combine_chunks(),
                                         pa.array(found.similarity, pa.float64())], schema=DUPLICATES_SCHEMA))
    return pa.Table.from_batches(rows, DUPLICATES_SCHEMA)


def _ranked(stage: Stage, sets: Iterator[tuple[Any, pa.Table]]) -> pa.Table:
    """A representative score, set by set: each document's rank in its set's facility-location order, from 1."""
    from datarecipe.operators.space import kernels

    parts = []
    for _, table in sets:
        order = kernels.facility_location(matrix(table.column("vector"), stage.name))
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(1, len(order) + 1)
        parts.append(pa.table({"doc_id": table.column("doc_id"), "value": pa.array(rank, pa.int64())}))
    schema = pa.schema([("doc_id", pa.string()), ("value", pa.int64())])
    return pa.concat_tables([p.cast(schema) for p in parts]) if parts else schema.empty_table()


def _chained(stage: Stage, sets: Iterator[tuple[Any, pa.Table]], device: Any) -> pa.Table:
    """The chain over the sets in the order they come, each from its row most similar to where the last one
    ended (the first from its first row): (doc_id, _cpos)."""
    from datarecipe.operators.space import kernels

    parts: list[pa.Table] = []
    last: np.ndarray | None = None
    done = 0
    for _, table in sets:
        x = matrix(table.column("vector"), stage.name)
        start = 0 if last is None else kernels.most_similar(last, x, device)
        order = kernels.chain(x, start, device)
        last = x[order[-1]]
        parts.append(table.select(["doc_id"]).take(pa.array(order)).append_column(
            "_cpos", pa.array(np.arange(done, done + len(order)), pa.int64())))
        done += len(order)
    schema = pa.schema([("doc_id", pa.string()), ("_cpos", pa.int64())])
    return pa.concat_tables([p.cast(schema) for p in parts]) if parts else schema.empty_table()


def _rows_by_set(batches: Iterator[pa.RecordBatch]) -> Iterator[tuple[Any, pa.RecordBatch]]:
    """Sorted batches cut where `_set` (a number or a string) changes: (set, slice) pairs, a set's slices one after
    another."""
    for batch in batches:
        sets = batch.column("_set").to_numpy(zero_copy_only=False)
        cuts = [0, *(int(i) + 1 for i in np.flatnonzero(sets[1:] != sets[:-1])), len(sets)]
        for a, b in itertools.pairwise(cuts):
            if b > a:
                yield sets[a], batch.slice(a, b - a)
