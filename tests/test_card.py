"""The dataset card every build writes: README.md in the Hugging Face format, loadable with `datasets`, with
numbers that agree with the shards and the ledger, and plots whose data matches the scores in the shards."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import matplotlib.image
import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from helpers import digest_tree, manifest, ok, recipe

ROOT = Path(__file__).resolve().parent.parent
SCORED = '''recipe "carded" { seed 5  license "mixed: PSF-2.0, CC-BY-SA-3.0"  language "en, de, fr" }
source pydocs   = jsonl("data/sample/pydocs.jsonl.gz", id: "id")
source handbook = parquet("data/sample/handbook/*.parquet", text: "body", id: "url")
filter pydocs { keep words(text) >= 50  dedup exact }
filter handbook { keep words(text) between 30 and 100_000 }
score handbook { words = expr(words(text)) }
mix 600 docs { pydocs 50%  handbook 50% where words >= 80 and words < 5_000 }
order { phase main first 80%: shuffle  phase tail last 20%: sort words(text) desc }
output "build/carded" shard 200KB
'''


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("card")
    (root / "data").symlink_to(ROOT / "data")
    (root / "carded.recipe").write_text(SCORED)
    ok(recipe(root, "run", "carded.recipe", "--quiet", "--cache", "cache"))
    return root / "build" / "carded"


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same recipe with one phase."""
    root = tmp_path_factory.mktemp("single")
    (root / "data").symlink_to(ROOT / "data")
    text = re.sub(r"\norder \{.*\}\n", "\norder { shuffle }\n", SCORED).replace("build/carded", "build/single")
    (root / "single.recipe").write_text(text)
    ok(recipe(root, "run", "single.recipe", "--quiet", "--cache", "cache"))
    assert len(manifest(root / "build/single")["mixture"]["phases"]) == 1
    return root / "build" / "single"


def sql(query: str) -> list[tuple]:
    return duckdb.sql(query).fetchall()


def training_ids(build: Path) -> list[str]:
    """The doc_ids of a build in training order: its manifest's shards, in order, row by row."""
    return [i for s in manifest(build)["shards"] for i in pq.read_table(build / s["path"]).column("doc_id").to_pylist()]


def test_the_card_numbers_are_the_shards_and_the_ledgers(build: Path) -> None:
    card = (build / "README.md").read_text()
    m = manifest(build)
    shards = f"'{build}/data/*.parquet'"
    per_source = dict(sql(f"SELECT source, count(*) FROM {shards} GROUP BY source"))
    for source, n in per_source.items():
        assert f"| **in the output** | **{n:,}** |" in card.split(f"**{source}**")[1]
    dropped = sql(f"SELECT source, stage, rule, count(*) FROM '{build}/ledger.parquet' GROUP BY ALL")
    assert len(dropped) >= 4
    for source, stage, rule, n in dropped:
        section = card.split(f"**{source}**")[1].split("**in the output**")[0]
        assert f"| {'mix: ' if stage == 'mix' else ''}{rule} | -{n:,} |" in section
    # per phase: docs, bytes and share of docs per source, from the shards each phase's label names
    phases: dict[str, dict[str, list[int]]] = {}
    for shard in m["shards"]:
        for source, docs, size in sql(f"SELECT source, count(*), sum(strlen(text)) FROM '{build / shard['path']}' "
                                      "GROUP BY source"):
            counts = phases.setdefault(shard["phase"], {}).setdefault(source, [0, 0])
            counts[0] += docs
            counts[1] += size
    assert set(phases) == {"main", "tail"}
    for phase, by_source in phases.items():
        section = card.split(f"**phase `{phase}`**")[1].split("**phase")[0]
        total_docs = sum(docs for docs, _ in by_source.values())
        for source, (docs, size) in by_source.items():
            assert f"| {source} | {docs:,} | {size:,} | {100 * docs / total_docs:.2f}% | 50.00% |" in section
    total = sql(f"SELECT count(*), sum(strlen(text)) FROM {shards}")[0]
    assert f"{total[0]:,} documents, {total[1]:,} bytes of text" in card
    # score summary against the shards
    low, mean, high = sql(f"SELECT min(words), avg(words), max(words) FROM {shards} WHERE source = 'handbook'")[0]
    assert f"| handbook | words | expr | {per_source['handbook']:,} | 0 | {low:,.4g} | {mean:,.4g} | " in card
    # an example of each filter rule, by smallest doc_id, with its text as read
    first = sql(f"SELECT min(doc_id) FROM '{build}/ledger.parquet' WHERE rule = 'keep words(text) >= 50'")[0][0]
    assert f"**pydocs: keep words(text) >= 50**\n\n`{first}`\n```text\n" in card


def test_front_matter_loads_with_datasets_offline(build: Path) -> None:
    card = (build / "README.md").read_text()
    front = card.split("---\n")[1]
    assert "license: other\nlicense_name: \"mixed: PSF-2.0, CC-BY-SA-3.0\"\nlanguage:\n- en\n- de\n- fr\n" in front
    code = ("import datasets, json, sys; d = datasets.load_dataset(sys.argv[1]); "
            "print(json.dumps(list(d['train']['doc_id']))); "
            "t = datasets.load_dataset(sys.argv[1], 'phase_tail'); print(json.dumps(list(t['train']['doc_id'])))")
    env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "HF_HOME": str(build.parent / "hf")}
    result = subprocess.run([sys.executable, "-c", code, str(build)], capture_output=True, text=True, env=env,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    loaded, tail = result.stdout.strip().splitlines()[-2:]
    m = manifest(build)
    assert json.loads(loaded) == training_ids(build)  # every row, in training order, and nothing else
    assert json.loads(tail) == [i for s in m["shards"] if s["phase"] == "tail"
                                for i in pq.read_table(build / s["path"]).column("doc_id").to_pylist()]


def test_ordinary_readers_pointed_at_data_read_exactly_the_training_rows(build: Path) -> None:
    """The Hugging Face Hub's layout: the shards alone under data/, the card, manifest, ledger, quarantine and
    plots beside it, so no reader trips over them or reads them as rows."""
    expected = training_ids(build)
    m = manifest(build)
    assert sorted(p.relative_to(build).as_posix() for p in (build / "data").iterdir()) == \
        [s["path"] for s in m["shards"]] == [f"data/train-{i:05d}-of-{len(m['shards']):05d}.parquet"
                                            for i in range(len(m["shards"]))]
    assert {"README.md", "manifest.json", "ledger.parquet", "quarantine.parquet", "funnel.png"} <= \
        {p.name for p in build.iterdir()}
    assert pd.read_parquet(build / "data")["doc_id"].tolist() == expected
    assert [r[0] for r in sql(f"SELECT doc_id FROM '{build}/data/*.parquet'")] == expected
    assert ds.dataset(build / "data").to_table(columns=["doc_id"]).column("doc_id").to_pylist() == expected
    columns = pq.read_schema(build / m["shards"][0]["path"]).names
    assert pd.read_parquet(build / "data").columns.tolist() == columns == \
        ["doc_id", "source", "text", "content_hash", "meta", "words"]


def test_plots_are_images_and_their_data_matches_the_shards(build: Path) -> None:
    for png in ("funnel.png", "mixture.png", "score_handbook_words.png"):
        data = (build / png).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 2000
        assert f"]({png})" in (build / "README.md").read_text()
    hist = json.loads((build / "score_handbook_words.json").read_text())
    values = np.array([v for (v,) in sql(f"SELECT words FROM '{build}/data/*.parquet' WHERE source = 'handbook'")])
    counts, _ = np.histogram(values, bins=np.array(hist["edges"]))
    assert hist["counts"] == counts.tolist() and hist["docs"] == len(values)
    assert hist["thresholds"] == [80.0, 5000.0]  # the mix's `where words >= 80 and words < 5_000`
    mixture = json.loads((build / "mixture.json").read_text())
    m = manifest(build)
    assert mixture["phases"] == ["main", "tail"]
    assert mixture["shares"]["pydocs"] == [p["by_source"]["pydocs"]["share"] for p in m["mixture"]["phases"]]
    funnel = json.loads((build / "funnel.json").read_text())
    f = m["funnel"]["pydocs"]
    # after the rules, what the mix took, then the output (more than that where the mix repeats documents)
    assert funnel["steps"]["pydocs"][-2:] == [["selected by the mix", f["selected"] - f["repeats"]],
                                              ["in the output", f["selected"]]]


def test_nothing_in_a_plot_is_cut_off_at_its_edge(build: Path, single: Path) -> None:
    """Titles, labels and legends lie inside every picture, with one phase or several: the picture's outermost
    pixels are all background (a title wider than the one-phase mixture plot lost its first letters)."""
    pngs = sorted([*build.glob("*.png"), *single.glob("*.png")])
    assert len(pngs) == 6
    for png in pngs:
        pixels = matplotlib.image.imread(png)[..., :3]
        frame = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
        assert (frame >= 0.99).all(), f"{png.name}: something is drawn on the edge of the picture"


def test_the_card_and_plots_are_the_same_bytes_on_a_rebuild(build: Path, tmp_path: Path) -> None:
    (tmp_path / "data").symlink_to(ROOT / "data")
    (tmp_path / "carded.recipe").write_text(SCORED)
    ok(recipe(tmp_path, "run", "carded.recipe", "--quiet", "--cache", "cache", "--threads", "1"))
    assert digest_tree(tmp_path / "build" / "carded") == digest_tree(build)
