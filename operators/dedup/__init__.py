"""Dedup methods, the `dedup` steps of a filter block, one module each: `exact` (a window over a key of the text)
and `minhash` (MinHash LSH, per source in the filter stage or across sources in a stage of its own)."""
