"""The embedding space: operators over the vectors of an `embedding(...)` score. Declared here, with no heavy
import; their kernels are kernels.py (numpy and torch), which the runtime imports when a build uses them.

- `cluster(EMB, k: ...)`: a score block scorer, the document's k-means cluster (`centroid_distance(C)`: its
  distance to the cluster's centroid). The centroids are fitted in a stage
  of their own (`fit_SOURCE_NAME`) on a seeded sample of the source's distinct vectors, read from the embedding's
  score cache; the cluster of each vector is then a cached score like any other, keyed by the fit.
- `dedup semantic(EMB, threshold: ..., clusters: C)`: SemDeDup, in the score block, after the scores it reads, and
  `representative(EMB, clusters: C)`, a score of the block computed on the whole set (facility location): both
  run in a stage of their own (`space_SOURCE`) between the scores and the mix.
- `knn_chains(EMB, clusters: C)`: an order step, In-Context Pretraining's nearest-neighbour traversal.
- In the mix, `balance C [weights [...]]` spreads a source's share over the clusters (compiler/lower, mix.sql.j2).
"""

from __future__ import annotations

from datarecipe.operators.base import REQUIRED, Operator, Param, register

VECTORS = Param("vectors", "vector", REQUIRED, "the embedding: a score of `embedding(...)` in the source's score "
                "block, named before this use")


def clusters(what: str) -> Param:
    return Param("clusters", "score", "", f"a `cluster(...)` score of the block: {what} within each cluster "
                 "(approximate, and O(n^2 / k) instead of O(n^2)); none: over the whole set at once (exact)")


register(
    Operator("cluster", "scorer", (
        VECTORS,
        Param("k", "int", REQUIRED, "the number of clusters; a source with fewer distinct documents (texts) is an "
              "error at the fit (the estimate, on a sample, fits as many as its sample has)", min=1, max=1_000_000),
        Param("iterations", "int", 50, "the most steps of Lloyd's algorithm; it stops earlier when no vector "
              "changes cluster or the objective falls by less than 0.01% in a step", min=1, max=10_000),
        Param("sample", "int", 256, "vectors fitted on per cluster: the fit takes at most `sample * k` of the "
              "source's distinct vectors, those with the smallest seeded hashes, so its memory is bounded by k, "
              "not by the source (faiss's default is the same)", min=1, max=1_000_000),
    ), "The document's k-means cluster, an id from 0 to k - 1, from its embedding. The centroids are fitted on "
       "the source's documents (greedy k-means++ seeding with the recipe's seed, then Lloyd's algorithm) in a stage "
       "of their own, an artifact of the build hashed into the fingerprint of what follows; each vector then gets "
       "its nearest centroid (ties: the smaller id). Every assignment is decided exactly in float64, so it is the "
       "same on a GPU and a CPU and whatever the batch (operators/space/kernels.py); the k-means++ seeding runs "
       "on the CPU on one thread, the same on the same machine. A changed mix or order re-clusters nothing.",
       returns="number", scorer="space"),
    Operator("centroid_distance", "scorer", (
        Param("clusters", "score", REQUIRED, "a `cluster(...)` score of the block, named before this one"),
    ), "The Euclidean distance of the document's embedding to the centroid of its cluster (of the `cluster` "
       "score named), in float64: small for a typical member, large for an outlier. It shares that score's fit "
       "and vectors, and is cached like it.", returns="number", scorer="space"),
    Operator("representative", "scorer", (
        VECTORS,
        clusters("documents are ranked"),
    ), "How representative a document is of its set (INGENIOUS, Renduchintala et al. 2023): the rank, from 1, "
       "at which greedy facility location picks it (each pick adds the most to the sum over the set's documents "
       "of their cosine similarity to the nearest pick, clipped at 0; ties: the smaller doc_id; the lazy trick). "
       "Any prefix of the order is the greedy subset of that size, so `top -NAME` in the mix takes the most "
       "representative documents, and `balance C top -NAME` does so in every cluster. Computed on the set's "
       "documents after `dedup semantic` and before the mix's `where` (a `where` that drops documents leaves "
       "gaps in the ranks), in a stage of its own; the similarities are exact integers (vectors "
       "rounded to 1/16384), so the ranks are the same on any device. A set of up to 4,096 documents holds its "
       "similarity matrix; a larger one is slow: cluster first.", returns="number", scorer="set"),
    Operator("semantic", "dedup", (
        VECTORS,
        Param("threshold", "float", 0.95, "the cosine similarity at or above which two documents are "
              "duplicates", min=-1.0, max=1.0),
        clusters("documents are compared"),
    ), "SemDeDup (Abbas et al. 2023): near-duplicates by meaning. Within each cluster (or the whole source), "
       "documents are taken in doc_id order, and a document whose cosine similarity to an earlier one is at least "
       "`threshold` is dropped; the ledger names the earlier document it is most similar to (`duplicate_of`; "
       "ties: the smaller doc_id). So the smallest doc_id of each group stays. Written in the source's score "
       "block, after the embedding; it runs on the scored documents, before the mix. Exact decisions in float64. "
       "Memory: the largest cluster's vectors and at most 2^25 of its similarities at a time."),
    Operator("knn_chains", "step", (
        VECTORS,
        clusters("the chain is made"),
    ), "In-Context Pretraining's order (Shi et al. 2024): consecutive documents are nearest neighbours. Within "
       "a phase, the chain starts at the smallest doc_id and always moves to the most similar document (cosine) "
       "not yet placed, each document exactly once. With `clusters`, the search stays within a cluster: the "
       "clusters are visited in the same nearest-neighbour tour of their mean vectors (from the cluster of the "
       "smallest doc_id), and each begins at its document most similar to where the last one ended. An ordering "
       "step of its own. Exact decisions in float64."),
)
