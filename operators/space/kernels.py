"""The numeric kernels of the embedding space: k-means (fit and assignment), semantic duplicates within a set of
vectors, and nearest-neighbour chains. The runtime calls them; `recipe check` never imports this module.

Every decision is exact. The heavy products run in float32 (torch: the GPU when there is one, every CPU thread
otherwise), and their bits may differ with the device, the thread count or the rows computed together. So a
float32 product only narrows the choice: a float32 dot product of d terms is within `d * 2**-24 * |x| |y|` of the
exact one (whatever the order of its sums; Higham, Accuracy and Stability, 3.1), and every candidate that could
win within twice that margin is decided again in float64 by numpy, row by row, in a fixed order (ties: the
smaller index). The result is the same on any device and thread count, and a vector's cluster does not depend on
the vectors assigned with it. The one exception is the k-means++ seeding inside a fit, which runs on the CPU on
one torch thread: its choices are sums of every point's distance, so the same machine gives the same bits.

Vectors are float32 (the score cache's type); centroids are stored as float32 too, and "the distance" of a vector
to a centroid is always the float64 Euclidean distance between those two float32 vectors.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from datarecipe.compiler.language.errors import RecipeError

INIT_ROWS = 64  # rows per cluster that k-means++ seeds from (a seeded subsample); Lloyd's steps use them all
BLOCK_VALUES = 1 << 25  # similarities SemDeDup holds at once (128 MB of float32), for clusters of up to 2**19
ROWS = 8192  # vectors per float32 product: bounds the memory of a block of distances (ROWS x k floats)
UNIT = 2.0 ** -24  # float32's unit roundoff


def device_of(name: str = "auto") -> Any:
    """The torch device the products run on: `auto` is the GPU when there is one."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _margin(d: int) -> float:
    """The float32 error bound of a d-term dot product, per unit of |x| |y|, doubled (both sides of a comparison)
    and rounded up generously (the inputs' own float32 rounding, sums of norms)."""
    return 2.0 * (d + 8) * UNIT * 1.01


def _products(x: np.ndarray, y: np.ndarray, device: Any) -> np.ndarray:
    """x @ y.T in float32, on the device (full float32: no TF32)."""
    import torch

    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
    with torch.inference_mode():
        left, right = (torch.from_numpy(np.array(a, dtype=np.float32, order="C", copy=not a.flags.writeable))
                       for a in (x, y))
        out = left.to(device) @ right.to(device).T
        return out.cpu().numpy()


def exact_sq_distances(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    """float64 squared Euclidean distance of each row of x to the row of c beside it (same shape), each row summed
    alone, in a fixed order."""
    diff = x.astype(np.float64) - c.astype(np.float64)
    return np.einsum("ij,ij->i", diff, diff)


def exact_dots(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """float64 dot product of each row of x with the row of y beside it."""
    return np.einsum("ij,ij->i", x.astype(np.float64), y.astype(np.float64))


@dataclass(frozen=True)
class Assigned:
    cluster: np.ndarray  # int64, the nearest centroid (ties: the smaller index)
    distance: np.ndarray  # float64 Euclidean distance to it


def assign(x: np.ndarray, centroids: np.ndarray, device: Any = None) -> Assigned:
    """The nearest centroid of each vector, decided exactly (module docstring), in blocks of ROWS vectors. The
    screen runs on the device in float32: |c|^2 - 2 x.c for every centroid, and the centroids within the slack
    of a row's best, which covers the products' error bound and float32's rounding of the sums; only those
    candidate pairs come back to be decided in float64."""
    import torch

    device = device or device_of()
    x = np.ascontiguousarray(x, dtype=np.float32)
    c = np.ascontiguousarray(centroids, dtype=np.float32)
    c_sq = np.einsum("ij,ij->i", c.astype(np.float64), c.astype(np.float64))
    c_norm = float(np.sqrt(c_sq.max())) if len(c) else 0.0
    margin = _margin(x.shape[1])
    clusters = np.empty(len(x), dtype=np.int64)
    distances = np.empty(len(x), dtype=np.float64)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
    with torch.inference_mode():
        cs = torch.from_numpy(c_sq.astype(np.float32)).to(device)[None, :]
        ct = torch.from_numpy(np.array(c.T, order="C")).to(device)
        for start in range(0, len(x), ROWS):
            block = x[start:start + ROWS]
            xb = torch.from_numpy(np.array(block, copy=not block.flags.writeable)).to(device)
            approx = torch.addmm(cs, xb, ct, alpha=-2.0)  # |x|^2 left out: the same for every centroid of a row
            norm = torch.linalg.vector_norm(xb, dim=1) * 1.0001
            slack = 2.0 * margin * norm * c_norm + 1e-6 * (c_norm ** 2 + norm * c_norm)
            near = approx <= (approx.min(dim=1).values + slack)[:, None]
            rows_t, cols_t = torch.nonzero(near, as_tuple=True)
            rows, cols = rows_t.cpu().numpy(), cols_t.cpu().numpy()
            exact = exact_sq_distances(block[rows], c[cols])
            chosen = _best_per_row(rows, cols, exact)  # the smallest exact distance, then the smallest index
            clusters[start:start + len(block)] = cols[chosen]
            distances[start:start + len(block)] = np.sqrt(exact[chosen])
    return Assigned(clusters, distances)


@dataclass(frozen=True)
class KMeans:
    centroids: np.ndarray  # float32, k x d
    inertia: float  # the sum of squared distances of the fit's vectors to their centroids
    iterations: int
    sizes: np.ndarray  # the fit's vectors per cluster


def kmeans(x: np.ndarray, k: int, seed: int, max_iter: int = 50, tol: float = 1e-4, device: Any = None,
           progress: Callable[[int], None] | None = None) -> KMeans:
    """Lloyd's k-means on the rows of x (float32), seeded by greedy k-means++ (as scikit-learn's: 2 + ln k
    candidates per step, the one that lowers the potential most) on at most INIT_ROWS x k of them, until no
    vector changes cluster, the inertia falls by less than `tol` of itself, or `max_iter` steps. An empty cluster
    takes the vector farthest from its centroid. Deterministic: the same rows in the same order and seed give the
    same bits."""
    device = device or device_of()
    x = np.ascontiguousarray(x, dtype=np.float32)
    n = len(x)
    if not 1 <= k <= n:
        raise ValueError(f"k = {k} needs between 1 and {n} vectors")
    rng = np.random.default_rng(seed)
    seeding = x if len(x) <= INIT_ROWS * k else x[np.sort(rng.permutation(len(x))[:INIT_ROWS * k])]
    centroids = _plus_plus(seeding, k, rng)
    previous = math.inf
    labels = np.full(n, -1, dtype=np.int64)
    iterations = 0
    while iterations < max_iter:
        iterations += 1
        got = assign(x, centroids, device)
        inertia = float(np.sum(got.distance ** 2))
        changed = int(np.count_nonzero(got.cluster != labels))
        labels = got.cluster
        centroids = _means(x, labels, k, got.distance)
        if progress is not None:
            progress(1)
        if changed == 0 or previous - inertia <= tol * inertia:
            break
        previous = inertia
    final = assign(x, centroids, device)
    return KMeans(centroids, float(np.sum(final.distance ** 2)), iterations,
                  np.bincount(final.cluster, minlength=k))


def _means(x: np.ndarray, labels: np.ndarray, k: int, distance: np.ndarray) -> np.ndarray:
    """Each cluster's mean in float64, summed in row order, stored as float32; an empty cluster takes the vector
    farthest from its centroid (the next farthest for the next empty one; ties: the smaller row)."""
    sums = np.zeros((k, x.shape[1]), dtype=np.float64)
    for start in range(0, len(x), ROWS):  # np.add.at adds in index order: row by row
        np.add.at(sums, labels[start:start + ROWS], x[start:start + ROWS].astype(np.float64))
    counts = np.bincount(labels, minlength=k)
    means = sums / np.maximum(counts, 1)[:, None]
    empty = np.flatnonzero(counts == 0)
    if len(empty):
        far = np.lexsort((np.arange(len(x)), -distance))[:len(empty)]
        means[empty] = x[far]
    return means.astype(np.float32)


def _plus_plus(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Greedy k-means++ seeding, on the CPU on one torch thread (the same machine gives the same bits). Each step
    reads every row once (a product with the step's candidates): memory-bound, so kmeans seeds on at most
    INIT_ROWS x k of its rows."""
    import torch
    from datarecipe.operators.scorers import one_torch_thread

    trials = 2 + int(math.log(k))
    with one_torch_thread(), torch.inference_mode():
        points = torch.from_numpy(x if x.flags.writeable else x.copy())
        sq = (points * points).sum(dim=1)

        def distances(rows: np.ndarray) -> torch.Tensor:  # squared, to the points `rows`, one column each
            chosen = points[torch.from_numpy(rows)]
            return (sq[:, None] + sq[torch.from_numpy(rows)][None, :] - 2 * (points @ chosen.T)).clamp_(min=0)

        first = int(rng.integers(len(x)))
        centers = [first]
        closest = distances(np.array([first]))[:, 0]
        for _ in range(1, k):
            cumulative = torch.cumsum(closest.double(), 0).numpy()
            draws = rng.random(trials) * cumulative[-1]
            rows = np.minimum(np.searchsorted(cumulative, draws, side="right"), len(x) - 1)
            candidates = torch.minimum(closest[:, None], distances(rows))
            potentials = candidates.double().sum(dim=0).numpy()
            best = int(np.argmin(potentials))
            centers.append(int(rows[best]))
            closest = candidates[:, best].contiguous()
    return x[np.array(centers)].copy()


# ---------------------------------------------------------------------------------------------
# vectors from Arrow, and the `cluster` score


def matrix(vectors: pa.Array | pa.ChunkedArray, stage: str, width: int | None = None) -> np.ndarray:
    """A column of vectors (list or fixed-size list of floats, no nulls) as a float32 matrix, one row each;
    vectors of different sizes, or of another size than `width`, or with a NaN or an infinity, are an error naming
    the stage."""
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
    values = np.ascontiguousarray(pc.list_flatten(vectors).to_numpy(zero_copy_only=False), dtype=np.float32)
    if not np.isfinite(values).all():
        raise RecipeError(None, "an embedding holds a NaN or an infinity",
                          "the embedding model gave a value that is not a number for some text; check the model",
                          stage=stage)
    return values.reshape(len(vectors), size)


class ClusterScorer:
    """A `cluster` score: each vector's nearest centroid (kernels.assign), or its distance to it; null for a null
    vector."""

    def __init__(self, centroids: np.ndarray, device: str, stage: str, distance: bool = False):
        self.centroids = centroids
        self.device = device
        self.stage = stage
        self.distance = distance  # `centroid_distance`: the distance to the nearest centroid, not its id
        self.output_type = pa.float64() if distance else pa.int64()
        self.forward_passes = 0

    @classmethod
    def load(cls, model: Path, device: str, stage: str, distance: bool = False) -> ClusterScorer:
        """The scorer of the centroids a `cluster` fit wrote into `model` (runtime/stages/space.py)."""
        return cls(np.load(model / "centroids.npy"), device, stage, distance)

    def score(self, vectors: pa.Array, progress: Any = None) -> pa.Array:
        self.forward_passes += 1
        if isinstance(vectors, pa.ChunkedArray):
            vectors = vectors.combine_chunks()
        present = pc.is_valid(vectors).to_numpy(zero_copy_only=False)
        x = matrix(vectors.filter(pa.array(present)), self.stage, self.centroids.shape[1])
        got = assign(x, self.centroids, device_of(self.device))
        out = np.zeros(len(vectors), dtype=np.float64 if self.distance else np.int64)
        out[present] = got.distance if self.distance else got.cluster
        if progress is not None:
            progress(len(vectors))
        return pa.array(out, self.output_type, mask=~present)


# ---------------------------------------------------------------------------------------------
# similarity within a set: semantic duplicates, nearest-neighbour chains


def unit(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows scaled to unit length: float64, and float32 for the products (a zero vector stays zero)."""
    x64 = np.asarray(x, dtype=np.float64)
    norms = np.sqrt(np.einsum("ij,ij->i", x64, x64))
    u64 = x64 / np.where(norms > 0, norms, 1.0)[:, None]
    return u64, u64.astype(np.float32)


@dataclass(frozen=True)
class Duplicates:
    """Of a set of vectors in their canonical order: which rows duplicate an earlier row, the earlier row each
    duplicates most (ties: the first), and that cosine similarity."""

    rows: np.ndarray  # int64, ascending
    of: np.ndarray  # int64, each below its row
    similarity: np.ndarray  # float64


def semantic_duplicates(x: np.ndarray, threshold: float, device: Any = None) -> Duplicates:
    """SemDeDup within one set (a cluster), in the set's canonical order: a row is a duplicate when some earlier
    row has a cosine similarity of at least `threshold` with it; it is dropped, and names the earlier row it is
    most similar to. So the first row of every group of near-duplicates stays. Exact decisions (module docstring);
    O(n^2 d) products, a block of rows at a time (BLOCK_VALUES similarities)."""
    device = device or device_of()
    u64, u32 = unit(x)
    n, d = u32.shape
    margin = _margin(d)
    rows_out: list[np.ndarray] = []
    of_out: list[np.ndarray] = []
    sim_out: list[np.ndarray] = []
    block = max(64, min(ROWS, BLOCK_VALUES // max(n, 1)))  # rows per product: at most BLOCK_VALUES similarities
    for start in range(0, n, block):
        stop = min(n, start + block)
        approx = _products(u32[start:stop], u32[:stop], device)  # rows start..stop against every earlier row
        approx[np.arange(start, stop)[:, None] <= np.arange(stop)[None, :]] = -np.inf  # itself and later rows
        best = approx.max(axis=1) if stop > 1 else np.full(stop - start, -np.inf, dtype=np.float32)
        # a pair is decided again in float64 only when it can be a duplicate and can be its row's most similar
        floor = np.maximum(threshold - margin, best.astype(np.float64) - 2 * margin)
        block_rows, cols = np.nonzero(approx >= floor[:, None])
        rows = block_rows + start
        if not len(rows):
            continue
        exact = exact_dots(u64[rows], u64[cols])
        hit = exact >= threshold
        rows, cols, exact = rows[hit], cols[hit], exact[hit]
        chosen = _best_per_row(rows, cols, -exact)  # the most similar, then the earliest
        rows_out.append(rows[chosen])
        of_out.append(cols[chosen])
        sim_out.append(exact[chosen])
    if not rows_out:
        empty = np.array([], dtype=np.int64)
        return Duplicates(empty, empty, np.array([], dtype=np.float64))
    return Duplicates(np.concatenate(rows_out), np.concatenate(of_out), np.concatenate(sim_out))


def chain(x: np.ndarray, start: int = 0, device: Any = None) -> np.ndarray:
    """In-Context Pretraining's traversal of one set: from row `start`, always to the most similar (cosine) row
    not yet visited (ties: the smaller row), until every row is visited once. The visiting order, as row indices.

    A set of up to CHAIN_ROWS rows holds its float32 similarity matrix. A larger one holds each row's NEIGHBOURS
    most similar rows (blocked products, then top-k) and steps from that list while the best unvisited one in it
    is sure to beat every row outside it (the list's last value is below it by more than the slack); otherwise it
    computes the current row against the rows not yet visited. Either way the step is decided exactly."""
    import torch

    device = device or device_of()
    u64, u32 = unit(x)
    n, d = u32.shape
    if n == 0:
        return np.array([], dtype=np.int64)
    slack = _margin(d) + 1e-12
    whole = _products(u32, u32, device) if n <= CHAIN_ROWS else None
    lists: tuple[np.ndarray, np.ndarray] | None = None
    if whole is None:
        m = min(NEIGHBOURS, n - 1)
        values, indices = [], []
        with torch.inference_mode():
            for first in range(0, n, ROWS):
                top = torch.topk(torch.from_numpy(_products(u32[first:first + ROWS], u32, device)), m + 1, dim=1)
                values.append(top.values.numpy().astype(np.float64))
                indices.append(top.indices.numpy())
        lists = np.concatenate(values), np.concatenate(indices)
    visited = np.zeros(n, dtype=bool)
    left = np.arange(n)  # the rows not yet visited, compacted now and then
    order = np.empty(n, dtype=np.int64)
    current = start
    for step in range(n):
        order[step] = current
        visited[current] = True
        if step == n - 1:
            break
        near = None
        if lists is not None:
            values_row, indices_row = lists[0][current], lists[1][current]
            open_ = ~visited[indices_row]
            if open_.any():
                best = values_row[open_].max()
                if values_row[-1] < best - slack:  # no row outside the list comes within the slack
                    near = indices_row[open_ & (values_row >= best - slack)]
            if near is None:
                if len(left) > 2 * (n - step - 1):
                    left = left[~visited[left]]
                pool = left[~visited[left]]
                approx = _products(u32[current:current + 1], u32[pool], device)[0].astype(np.float64)
                near = pool[approx >= approx.max() - slack]
        elif whole is not None:
            approx = np.where(visited, -np.inf, whole[current].astype(np.float64))
            near = np.flatnonzero(approx >= approx.max() - slack)
        assert near is not None
        current = _most_similar_of(u64[current], u64, near)
    return order


CHAIN_ROWS = 4096  # a set this large holds its similarity matrix (64 MB); a larger one holds neighbour lists
NEIGHBOURS = 32  # the neighbour list of each row of a large set (n x 32 values and indices)


def most_similar(x: np.ndarray, y: np.ndarray, device: Any = None) -> int:
    """The row of y most similar (cosine) to the vector x (ties: the smaller row)."""
    device = device or device_of()
    xu64, xu32 = unit(x[None, :])
    yu64, yu32 = unit(y)
    approx = _products(xu32, yu32, device)[0].astype(np.float64)
    near = np.flatnonzero(approx >= approx.max() - _margin(x.shape[0]) - 1e-12)
    return _most_similar_of(xu64[0], yu64, near)


def _most_similar_of(x64: np.ndarray, y64: np.ndarray, near: np.ndarray) -> int:
    """Of the candidate rows `near` (ascending) of the unit vectors y64, the one whose float64 dot product with the
    unit vector x64 is largest (ties: the smaller row)."""
    if len(near) == 1:
        return int(near[0])
    exact = exact_dots(np.repeat(x64[None, :], len(near), axis=0), y64[near])
    return int(near[np.lexsort((near, -exact))[0]])


def _best_per_row(rows: np.ndarray, cols: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Of candidate pairs (rows, cols), the index of each row's pair with the smallest `key`, then the smallest
    col, in row order."""
    order = np.lexsort((cols, key, rows))
    first = np.ones(len(order), dtype=bool)
    first[1:] = rows[order][1:] != rows[order][:-1]
    return order[first]


QUANTUM = 2 ** 14  # facility location's similarities: unit vectors rounded to multiples of 1 / QUANTUM
FL_MATRIX_ROWS = 4096  # a set this large holds its similarity matrix (128 MB of float64); a larger one computes
# a column per evaluation (n * d each: slow past a few thousand rows; cluster first)


def facility_location(x: np.ndarray) -> np.ndarray:
    """The order in which greedy facility location (INGENIOUS, Renduchintala et al. 2023) picks the rows: each
    pick adds the most to F(S) = sum over all rows i of max(0, max over j in S of sim(i, j)), ties to the
    smaller row, found with the lazy trick (Minoux: a gain only falls as S grows, so a stale gain is an upper
    bound). Taking any prefix of it is the greedy subset of that size.

    The similarities are exact integers, so every sum and comparison is: the unit vectors are rounded to
    multiples of 1 / QUANTUM, and their dot products (at most d * QUANTUM**2, below 2**53) are computed exactly
    by float64 products in any order, on any device."""
    import heapq

    u64, _ = unit(x)
    n = len(u64)
    q = np.rint(u64 * QUANTUM)
    whole = np.maximum(q @ q.T, 0.0) if n <= FL_MATRIX_ROWS else None

    def column(j: int) -> np.ndarray:
        return whole[:, j] if whole is not None else np.maximum(q @ q[j], 0.0)

    covered = np.zeros(n)
    heap = [(-float(column(j).sum()), j) for j in range(n)]  # an empty S covers nothing: the gain is the column
    heapq.heapify(heap)
    order = np.empty(n, dtype=np.int64)
    for pick in range(n):
        while True:
            _, j = heapq.heappop(heap)
            gain = float(np.maximum(column(j) - covered, 0.0).sum())
            if not heap or (-gain, j) <= heap[0]:
                break
            heapq.heappush(heap, (-gain, j))
        order[pick] = j
        covered = np.maximum(covered, column(j))
    return order


def mean_neighbour_similarity(x: np.ndarray, order: np.ndarray) -> float:
    """The mean cosine similarity of consecutive vectors in `order`: what a kNN order is for."""
    if len(order) < 2:
        return 0.0
    u64, _ = unit(x)
    return float(exact_dots(u64[order[:-1]], u64[order[1:]]).mean())

