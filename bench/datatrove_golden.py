"""Write tests/data/datatrove_sample_decisions.json: datatrove's decisions on data/sample.

Runs in a venv with `datatrove[processing]==0.10.1 spacy pyarrow` (bench/filters_vs_datatrove.py makes
one in bench/.venv-datatrove), from the repository root:

    bench/.venv-datatrove/bin/python bench/datatrove_golden.py

Each of the four filters runs with its defaults on every sample document. Per document the file holds
the reason datatrove drops it, or null when kept; for C4, a kept page it rewrote holds
`kept:` and the first 16 hex digits of the sha256 of the new text. tests/test_packs.py compares.
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import json
from pathlib import Path

import pyarrow.parquet as pq
import spacy
from datatrove.data import Document
from datatrove.pipeline.filters import (
    C4QualityFilter,
    FineWebQualityFilter,
    GopherQualityFilter,
    GopherRepetitionFilter,
)

ROOT = Path(__file__).resolve().parents[1]
FILTERS = {"gopher_quality": GopherQualityFilter, "gopher_repetition": GopherRepetitionFilter,
           "c4": C4QualityFilter, "fineweb": FineWebQualityFilter}


def sample() -> dict[str, str]:
    docs = {r["id"]: r["text"] for r in map(json.loads, gzip.open(ROOT / "data/sample/pydocs.jsonl.gz", "rt"))}
    for f in sorted(glob.glob(str(ROOT / "data/sample/handbook/*.parquet"))):
        t = pq.read_table(f)
        docs.update(zip(t.column("url").to_pylist(), t.column("body").to_pylist(), strict=True))
    for f in sorted(glob.glob(str(ROOT / "data/sample/code/*.go"))):
        docs[str(Path(f).relative_to(ROOT))] = Path(f).read_text(encoding="utf-8")
    return docs


def main() -> None:
    docs = sample()
    ids = sorted(docs)
    out: dict[str, object] = {"datatrove": "0.10.1", "spacy": spacy.__version__, "ids": ids,
                              "made_by": "bench/datatrove_golden.py"}
    for name, cls in FILTERS.items():
        rule = cls()
        decisions: list[str | None] = []
        for doc_id in ids:
            doc = Document(text=docs[doc_id], id=doc_id)
            result = rule.filter(doc)
            if result is True:
                changed = doc.text != docs[doc_id]
                decisions.append("kept:" + hashlib.sha256(doc.text.encode()).hexdigest()[:16] if changed else None)
            else:
                decisions.append(result[1])
        out[name] = decisions
    text = json.dumps(out, sort_keys=True, ensure_ascii=False).replace('], "', '],\n"')
    (ROOT / "tests/data/datatrove_sample_decisions.json").write_text(text + "\n", encoding="utf-8")

if __name__ == "__main__":
    main()
