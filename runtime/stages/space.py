"""The runners of the embedding space (operators/space): the `cluster` fit, its scorer (a cached score over
vectors), SemDeDup's stage and the order's `knn_chains` step. The numbers are operators/space/kernels.py's."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from datarecipe.compiler.language.errors import RecipeError
from datarecipe.compiler.plan import Stage
from datarecipe.runtime import memory
from datarecipe.runtime.session import SQL_HINT, forget, run_statements, stage_errors, stream
from datarecipe.runtime.stages import score

if TYPE_CHECKING:
    import duckdb
    from datarecipe.runtime.stages.context import StageContext

# The build ledger's rows from `dedup semantic`: the document dropped and the one it duplicates.
DUPLICATES_SCHEMA = pa.schema([("doc_id", pa.string()), ("rule", pa.string()), ("duplicate_of", pa.string()),
                               ("similarity", pa.float64())])


def matrix(vectors: pa.Array | pa.ChunkedArray, stage: str, width: int | None = None) -> np.ndarray:
    """A column of vectors (list or fixed-size list of floats, no nulls) as a float32 matrix, one row each;
    vectors of different sizes, or of another size than `width`, are an error naming the stage."""
    if isinstance(vectors, pa.ChunkedArray):
        vectors = vectors.combine_chunks()
    if len(vectors) == 0:
        return np.zeros((0, width or 0), dtype=np.float32)
    lengths = pc.list_value_length(vectors).to_numpy(zero_copy_only=False)
    size = int(lengths[0])
    if (lengths != size).any() or width is not None and size != width:
        other = int(lengths[lengths != size][0]) if (lengths != size).any() else size
        raise RecipeError(None, f"the embeddings have different sizes ({width or size} and {other})",
                          "an embedding score gives one size of vector; was the model changed under the cache?",
                          stage=stage)
    values = pc.list_flatten(vectors).to_numpy(zero_copy_only=False)
    return np.ascontiguousarray(values.reshape(len(vectors), size), dtype=np.float32)


class ClusterScorer:
    """A `cluster` score: each vector's nearest centroid (kernels.assign), null for a null vector."""

    output_type = pa.int64()

    def __init__(self, centroids: np.ndarray, device: str, stage: str):
        self.centroids = centroids
        self.device = device
        self.stage = stage
        self.forward_passes = 0

    @classmethod
    def load(cls, model: Path, device: str, stage: str) -> ClusterScorer:
        return cls(np.load(model / "centroids.npy"), device, stage)

    def score(self, vectors: pa.Array, progress: Any = None) -> pa.Array:
        from datarecipe.operators.space import kernels

        self.forward_passes += 1
        if isinstance(vectors, pa.ChunkedArray):
            vectors = vectors.combine_chunks()
        present = pc.is_valid(vectors).to_numpy(zero_copy_only=False)
        x = matrix(vectors.filter(pa.array(present)), self.stage, self.centroids.shape[1])
        out = np.zeros(len(vectors), dtype=np.int64)
        out[present] = kernels.assign(x, self.centroids, kernels.device_of(self.device)).cluster
        if progress is not None:
            progress(len(vectors))
        return pa.array(out, pa.int64(), mask=~present)


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
    x, args = found["sample"], params["args"]
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


def _map(centroids: np.ndarray) -> list[list[float]]:
    """The centroids projected on their first two principal components (float64, signs fixed so the largest
    coordinate of each axis is positive), rounded: the card's 2-D map of the clusters."""
    c = centroids.astype(np.float64)
    centred = c - c.mean(axis=0)
    if len(c) < 2:
        return [[0.0, 0.0] for _ in c]
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    axes = vt[:2]
    axes = axes * np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(axis=1)])[:, None]
    xy = centred @ axes.T
    if xy.shape[1] < 2:
        xy = np.hstack([xy, np.zeros((len(xy), 1))])
    return [[round(float(a), 6), round(float(b), 6)] for a, b in xy]


def cluster_model(ctx: StageContext, stage: Stage, entry: dict[str, Any]) -> ClusterScorer:
    return ClusterScorer.load(ctx.stage_dir(ctx.plan.stage(entry["fit"])) / "model", ctx.device, stage.name)


# ---------------------------------------------------------------------------------------------
# SemDeDup


def semantic_hook(ctx: StageContext, con: duckdb.DuckDBPyConnection, stage: Stage):  # type: ignore[no-untyped-def]
    """run_sql's hook for a semantic stage: `@vectors` read a set (a cluster) at a time in doc_id order; the
    duplicates found registered as `semantic_dropped` for the statements after it."""
    from datarecipe.operators.space import kernels

    threshold = stage.params["args"]["threshold"]
    label = stage.params["label"]
    device = kernels.device_of(ctx.device)

    def hook(target: str, sql: str) -> bool:
        if target != "vectors":
            return False
        rows: list[pa.RecordBatch] = []
        ordered = ctx.sorted_by(stream(con, sql), "_key")
        for _, group in itertools.groupby(_rows_by_set(ordered), key=lambda pair: pair[0]):
            batch = pa.Table.from_batches([b for _, b in group]).combine_chunks()
            found = kernels.semantic_duplicates(matrix(batch.column("vector"), stage.name), threshold, device)
            if len(found.rows):
                ids = batch.column("doc_id")
                rows.append(pa.record_batch([ids.take(pa.array(found.rows)).combine_chunks(),
                                             pa.array([label] * len(found.rows), pa.string()),
                                             ids.take(pa.array(found.of)).combine_chunks(),
                                             pa.array(found.similarity, pa.float64())], schema=DUPLICATES_SCHEMA))
        con.register("semantic_dropped", pa.Table.from_batches(rows, DUPLICATES_SCHEMA))
        return True

    return hook


def _rows_by_set(batches: Iterator[pa.RecordBatch]) -> Iterator[tuple[int, pa.RecordBatch]]:
    """Sorted batches cut where `_set` changes: (set, slice) pairs, a set's slices one after another."""
    for batch in batches:
        sets = batch.column("_set").to_numpy(zero_copy_only=False)
        cuts = [0, *(int(i) + 1 for i in np.flatnonzero(sets[1:] != sets[:-1])), len(sets)]
        for a, b in itertools.pairwise(cuts):
            if b > a:
                yield int(sets[a]), batch.slice(a, b - a)
