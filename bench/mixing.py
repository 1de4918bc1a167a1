"""The mixture plan at scale (issue 5): a 1B-token mix over 1M documents, as the mix stage computes it.

    .venv/bin/python bench/mixing.py [--quick]

1. Synthetic metadata, as the mix stage sees it after the score stages: 1,000,000 documents (--quick: 100,000
   and a 100M-token budget) in three sources (web 70%, wiki 20%, code 10% of the documents), each with a
   content_hash, `n_tokens` drawn from a log-normal around 1,000 tokens, and a score `q`. The text is empty:
   the mix reads only metadata.
2. The recipe: `mix 1B tokens { web 60% where q > -2  wiki 25% max_epochs 2  code 15% max_epochs 2 sample_by q
   temperature 0.5 }` over two phases, the last 10% with a mix of its own (`code 40%, wiki 40%, web 20% where
   q > 1`): a predicate, repetition (wiki and code are short of their shares and repeat, capped over both
   phases), a Gumbel top-k sample, and targets set phase by phase from what the sources have left. It is
   checked and planned by the compiler; the mix stage's SQL runs in DuckDB (all cores) on the registered Arrow
   tables, with runtime/stages/mix.py setting each phase's targets, exactly as the engine runs it, streaming its
   outputs.
3. Measured: the seconds the stage's statements take (plan_seconds), the process's peak RSS, and the achieved
   token share of each source against its target.

The last line of stdout is one JSON object: plan_seconds, peak_rss_mb, docs, budget_tokens, max_share_error,
and the achieved tokens per source.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import duckdb
import numpy as np
import pyarrow as pa
from datarecipe.compiler.language.checker import check
from datarecipe.compiler.language.parser import parse
from datarecipe.compiler.lower import statements
from datarecipe.compiler.plan import InputFile, plan
from datarecipe.runtime.stages.mix import Mixer

RECIPE = '''recipe "mixing" { seed 1  tokenizer "tok.json" }
source web  = parquet("web/*.parquet")
source wiki = parquet("wiki/*.parquet")
source code = parquet("code/*.parquet")
score web  { q = expr(0) }
score code { q = expr(0) }
mix BUDGET tokens {
  web  60%  where q > -2
  wiki 25%  max_epochs 2
  code 15%  max_epochs 2  sample_by q temperature 0.5
}
order {
  phase main   first 90%
  phase anneal last 10%: mix { code 40%, wiki 40%, web 20% where q > 1 }
}
output "build/mixing"
'''
SOURCES = {"web": 0.7, "wiki": 0.2, "code": 0.1}


def synthetic(source: str, n: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    tokens = np.maximum(1, rng.lognormal(np.log(1000) - 0.5, 1.0, n)).astype(np.int64)
    table = {"doc_id": pa.array([f"{source}/{i:08d}" for i in range(n)]),
             "source": pa.array([source] * n),
             "text": pa.array([""] * n),
             "content_hash": pa.array(rng.integers(0, 2**63, n, dtype=np.int64).astype(np.uint64)),
             "meta": pa.array(["{}"] * n),
             "n_tokens": pa.array(tokens)}
    if source != "wiki":
        table["q"] = pa.array(rng.normal(0, 1, n))
    return pa.table(table)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="100,000 documents and a 100M-token budget")
    args = ap.parse_args()
    docs, budget = (100_000, 100_000_000) if args.quick else (1_000_000, 1_000_000_000)
    recipe = check(parse(RECIPE.replace("BUDGET", f"{budget:_}")))
    fake = InputFile("tok.json", 0, "sha256:0")
    the_plan = plan(recipe, {"web": (), "wiki": (), "code": (), "tokenizer": (fake,)})
    stage = the_plan.stage("mix")
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = true")
    for i, (source, part) in enumerate(SOURCES.items()):
        con.register(f"score_{source}" if f"score_{source}" in stage.inputs else f"filter_{source}",
                     synthetic(source, int(docs * part), seed=i))
    mixer = Mixer(stage.name, stage.params)
    achieved: dict[str, int] = {}
    rows = 0
    started = time.perf_counter()
    for target, sql in statements(stage.sql):
        if target == "":
            con.execute(sql)
        elif mixer.statement(con, target, sql):
            pass
        else:
            reader = con.sql(sql).to_arrow_reader(65_536)
            for batch in reader:
                if target == "data":
                    rows += batch.num_rows
                    grouped = pa.table({"source": batch.column("source"), "n": batch.column("n_tokens")})
                    for row in grouped.group_by("source").aggregate([("n", "sum")]).to_pylist():
                        achieved[row["source"]] = achieved.get(row["source"], 0) + row["n_sum"]
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    total = sum(achieved.values())
    targets: dict[str, float] = {}
    for phase in recipe.order.phases:
        for share in phase.shares:
            targets[share.source] = targets.get(share.source, 0) + (phase.end - phase.start) * share.share
    error = max(abs(achieved[s] / total - targets[s]) for s in targets)
    print(f"{docs:,} docs, {budget:,}-token mix: {seconds:.1f}s, peak RSS {peak:,.0f} MB; "
          f"{rows:,} rows chosen; tokens {achieved}", flush=True)
    print(json.dumps({"plan_seconds": round(seconds, 2), "peak_rss_mb": round(peak), "docs": docs,
                      "budget_tokens": budget, "max_share_error": round(error, 8), "selected_docs": rows,
                      "tokens_by_source": achieved, "achieved_tokens": total}))


if __name__ == "__main__":
    main()
