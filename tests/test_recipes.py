"""The worked examples of docs/tutorial.md, section 10, built on the sample data: domain upsampling at the end
(recipes/upsample.recipe), a length-bucket curriculum (recipes/curriculum.recipe), a DSIR resample toward a
target (recipes/dsir.recipe) and MeCo's metadata prefix (recipes/meco.recipe). Each test checks what the
technique is for, from the shards."""

from __future__ import annotations

import json
import math
from itertools import groupby
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from helpers import manifest, ok, recipe

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with the sample data, sharing one cache between the recipes (token counts are reused)."""
    root = tmp_path_factory.mktemp("recipes")
    (root / "data").symlink_to(ROOT / "data")
    return root


def run(project: Path, name: str) -> Path:
    (project / f"{name}.recipe").write_text((ROOT / f"recipes/{name}.recipe").read_text(encoding="utf-8"))
    ok(recipe(project, "run", f"{name}.recipe", "--quiet", "--cache", "cache"))
    return project / "build" / name


def shards(out: Path) -> list[tuple[str, list[dict[str, Any]]]]:
    """Each shard's phase label and rows, in training order."""
    return [(s["phase"], duckdb.sql(f"SELECT * FROM '{out / s['path']}'").arrow().read_all().to_pylist())
            for s in manifest(out)["shards"]]


def test_upsampling_shifts_the_last_fifth_toward_code(project: Path) -> None:
    out = run(project, "upsample")
    phases: dict[str, list[dict[str, Any]]] = {}
    for phase, rows in shards(out):
        phases.setdefault(phase, []).extend(rows)
    labels = [s["phase"] for s in manifest(out)["shards"]]
    assert labels == sorted(labels, key=["general", "upsample"].index)  # shards in training order
    biggest = {source: max(r["n_tokens"] for rows in phases.values() for r in rows if r["source"] == source)
               for source in ("pydocs", "handbook", "code")}
    asked = {"general": {"pydocs": 0.55, "handbook": 0.35, "code": 0.10},
             "upsample": {"pydocs": 0.40, "handbook": 0.20, "code": 0.40}}
    budgets = {"general": 400_000, "upsample": 100_000}
    running: dict[str, int] = {}
    target: dict[str, float] = {}
    for phase in ("general", "upsample"):
        for source, share in asked[phase].items():
            got = sum(r["n_tokens"] for r in phases[phase] if r["source"] == source)
            running[source] = running.get(source, 0) + got
            target[source] = target.get(source, 0) + budgets[phase] * share
            # a source's running total passes its running target by less than one of its documents
            assert target[source] <= running[source] < target[source] + biggest[source], (phase, source)
    code = {p: sum(r["n_tokens"] for r in rows if r["source"] == "code") / sum(r["n_tokens"] for r in rows)
            for p, rows in phases.items()}
    assert code["general"] < 0.13 and code["upsample"] > 0.35
    written = manifest(out)["mixture"]["phases"]
    assert [p["name"] for p in written] == ["general", "upsample"]
    assert written[1]["by_source"]["code"]["target_share"] == 0.4
    assert written[1]["by_source"]["code"]["tokens"] == sum(r["n_tokens"] for r in phases["upsample"]
                                                            if r["source"] == "code")


def test_the_curriculum_reads_length_buckets_in_whole_blocks_short_first(project: Path) -> None:
    out = run(project, "curriculum")
    rows = {phase: [r for _, rs in group for r in rs] for phase, group in groupby(shards(out), key=lambda s: s[0])}
    assert list(rows) == ["warmup", "main"]

    def bucket(r: dict[str, Any]) -> int:
        return int(math.log2(max(r["n_tokens"], 1)))

    warmup = [bucket(r) for r in rows["warmup"]]
    assert warmup == sorted(warmup) and len(set(warmup)) >= 4  # short to long, several buckets
    # The main phase emits whole blocks in a random order. A block holds the documents that start within one
    # 16K-token stretch of its bucket, so it is 16K tokens give or take one document (bucket b: under 2^(b+1)
    # tokens); only a bucket's last block can be shorter. Every run of one bucket holds whole blocks.
    runs = [(b, sum(r["n_tokens"] for r in group)) for b, group in groupby(rows["main"], key=bucket)]
    short = [b for b, tokens in runs if tokens < 16_384 - 2 ** (b + 1)]
    assert len(short) <= len({b for b, _ in runs})
    assert len(runs) < len(rows["main"]) / 3  # blocks, not documents, are shuffled
    assert [b for b, _ in runs] != sorted(b for b, _ in runs)  # and not in length order


def test_dsir_resamples_the_handbook_toward_pythons_documentation(project: Path) -> None:
    out = run(project, "dsir")
    pool = duckdb.sql(f"SELECT lang, count(*) FROM '{ROOT}/data/sample/handbook/*.parquet' GROUP BY lang").fetchall()
    pool_en = dict(pool)["en"] / sum(n for _, n in pool)
    chosen = duckdb.sql(f"SELECT json_extract_string(meta, '$.lang') AS lang, n_tokens, ref "
                        f"FROM '{out}/data/*.parquet'").fetchall()
    chosen_en = sum(1 for lang, _, _ in chosen if lang == "en") / len(chosen)
    assert pool_en < 0.15 and chosen_en > 3 * pool_en  # the English pages look like the (English) target
    tokens = sum(n for _, n, _ in chosen)
    assert 40_000 <= tokens < 40_000 + max(n for _, n, _ in chosen)
    refs = [ref for _, _, ref in chosen]
    assert refs == sorted(refs, reverse=True)  # `order { sort ref desc }`


def test_meco_prefixes_the_first_ninety_percent_with_the_url(project: Path) -> None:
    out = run(project, "meco")
    rows = [r for _, rs in shards(out) for r in rs]
    total = sum(r["n_tokens"] for r in rows)
    at = 0
    bodies, prefixed, plain = [], 0, 0
    for r in rows:
        url = json.loads(r["meta"]).get("url")
        head = f"URL: {url}\n\n"
        if at / total < 0.9 and url:
            assert r["text"].startswith(head)
            bodies.append(r["text"][len(head):])
            prefixed += 1
        else:
            assert not r["text"].startswith("URL: ")
            bodies.append(r["text"])
            plain += r["source"] == "handbook"
        at += r["n_tokens"]
    assert prefixed > 100 and plain > 0
    # content_hash stays that of the document itself
    written = pa.table({"body": bodies})  # noqa: F841 - read by the query below
    hashes = [h for (h,) in duckdb.sql("SELECT md5_number_lower(body) FROM written").fetchall()]
    assert hashes == [r["content_hash"] for r in rows]
