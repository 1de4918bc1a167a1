"""The stage runners, one module per kind of stage: ingest (read sources into the canonical schema), sql (filters,
global dedup, the mix's and the order's SQL), fit (train a fitted scorer), score (with the score cache), mix (the
mix's arithmetic between its statements), output (shards, ledger, card and manifest). A runner is a function
`run(ctx, con, stage, tmp) -> stats`: `ctx` (context.py) says where the stage's inputs are, `con` is the DuckDB
session (runtime/session.py), and the stage's files are written in `tmp`, which atomic.py renames into place."""
