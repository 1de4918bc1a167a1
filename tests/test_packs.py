"""Rule packs (`apply gopher_quality()` and friends): their word splitting, their decisions on hand-made
edge cases, agreement with datatrove's decisions on the sample corpus, and how a recipe uses them."""

from __future__ import annotations

import glob
import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datarecipe.compiler.language.checker import check
from datarecipe.compiler.language.errors import RecipeError, RecipeErrors
from datarecipe.compiler.language.parser import parse
from datarecipe.operators import named
from helpers import build, digest_tree, manifest, ok, recipe, steps, write_jsonl
from oracle import wordsplit

ROOT = Path(__file__).resolve().parents[1]
PROSE = (
    "The committee met in the old library to discuss the plans for the new bridge. After a long debate, "
    "the members agreed that the design should respect the character of the village and that the work "
    "would begin in the spring. The engineer explained how the structure would carry heavy traffic, and "
    "the painter described the colours she had chosen for the railings. Everyone left with the feeling "
    "that the project was finally moving forward, even though many questions remained open. The mayor "
    "thanked the teacher for her careful notes and promised a report to every family before winter."
)


def defaults(pack: str, **changes: Any) -> dict[str, Any]:
    params = {p.name: p.default for p in named("pack")[pack].params}
    assert set(changes) <= set(params)
    return params | changes


def run(pack: str, text: str, **changes: Any) -> tuple[str | None, str | None]:
    """The pack's kernel on one document: (why it is dropped, the rewritten text), None for kept, unchanged."""
    op = named("pack")[pack]
    out = op.kernel(pa.array([text], pa.string()), **defaults(pack, **changes)).to_pylist()[0]
    return (out["drop"], out["text"]) if op.rewrites else (out, None)


# ---- words --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "words"), [
    ("Hello, world.", ["Hello", ",", "world", "."]),
    ("don't stop", ["do", "n't", "stop"]),
    ("I'm sure we'll see", ["I", "'m", "sure", "we", "'ll", "see"]),
    ("an e-mail (v3.5) costs $10.", ["an", "e", "-", "mail", "(", "v3.5", ")", "costs", "$", "10", "."]),
    ("call os.path.join() now", ["call", "os.path.join", "(", ")", "now"]),
    ("io.Reader and b.Run", ["io", ".", "Reader", "and", "b.", "Run"]),
    ("e.g. the U.S. army", ["e.g.", "the", "U.S.", "army"]),
    ("wait... what?!", ["wait", "...", "what", "?", "!"]),
    ("it cannot be", ["it", "can", "not", "be"]),
    ("see https://example.org/a?b=c today", ["see", "https://example.org/a?b=c", "today"]),
    ("a 64-bit 10km run", ["a", "64", "-", "bit", "10", "km", "run"]),
    ("", []),
    ("  \n\t ", []),
    ("日本語の文です。", ["日本語の文です", "。"]),
])
def test_words_split_like_spacy_english(text: str, words: list[str]) -> None:
    assert wordsplit.tokenizer()(text) == words


def test_recent_words_stay_bounded_with_repeated_and_huge_texts() -> None:
    tok = wordsplit.Tokenizer()
    huge = "word " * (wordsplit.RECENT_CHARS // 4)
    for text in ["a b", "a b", huge, "c d", huge, "a b"]:
        tok(text)
        assert tok.recent_chars == sum(map(len, tok.recent)) <= max(wordsplit.RECENT_CHARS, len(huge))


def test_long_unbroken_tokens_split_in_linear_time() -> None:
    """Minified code or a data blob: one 200,000-character chunk (a URL-like regex once backtracked on it)."""
    blob = "".join(f"k{i}:v{i}/" for i in range(20_000))
    words = wordsplit.tokenizer()(blob)
    assert "".join(words) == blob
    assert len(words) == 20_000 * 4 - 1  # k0 : v0/k1 : v1/k2 ... (`/` splits only before a letter)


# ---- edge cases -------------------------------------------------------------------------------------


# What datatrove 0.10.1 decides on degenerate texts (its repetition filter keeps a lone word).
DEGENERATE = {
    "gopher_quality": ["short_doc"] * 5,
    "gopher_repetition": ["empty", None, "dup_line_frac", None, "dup_line_frac"],
    "c4": ["too_few_sentences"] * 5,
    "fineweb": ["empty", "empty", "empty", "line_punct_ratio", "empty"],
}


@pytest.mark.parametrize("pack", sorted(DEGENERATE))
def test_degenerate_texts_decide_as_datatrove(pack: str) -> None:
    texts = ["", " ", "\n\n", "word", "\r\n\r\n"]
    assert [run(pack, t)[0] for t in texts] == DEGENERATE[pack]


# The expected decisions below are datatrove's too (checked with datatrove 0.10.1; its labels differ a little).


def test_gopher_quality_keeps_prose_and_names_the_failing_rule() -> None:
    assert run("gopher_quality", PROSE) == (None, None)
    assert run("gopher_quality", "one two three") == ("short_doc", None)
    assert run("gopher_quality", PROSE + " #" * 20) == ("too_many_hashes", None)
    assert run("gopher_quality", PROSE + " ..." * 20) == ("too_many_ellipsis", None)
    bullets = "\n".join("- " + line for line in PROSE.split(". "))
    assert run("gopher_quality", bullets) == ("too_many_bullets", None)
    assert run("gopher_quality", bullets, max_bullet_lines_ratio=0)[0] is None  # 0 turns a check off
    crlf = bullets.replace("\n", "\r\n")
    assert run("gopher_quality", crlf) == ("too_many_bullets", None)
    assert run("gopher_quality", " ".join(["extraordinarily"] * 60) + " the and") == ("above_avg_word_length", None)
    assert run("gopher_quality", " ".join(["1234"] * 60) + " the and") == ("below_alpha_threshold", None)
    # The stop words are English and case-sensitive, as in datatrove.
    russian = "Комитет собрался в старой библиотеке, чтобы обсудить планы строительства нового моста. " * 8
    assert run("gopher_quality", russian) == ("few_stop_words", None)
    assert run("gopher_quality", PROSE.upper()) == ("few_stop_words", None)


def test_gopher_repetition_catches_repeated_lines_paragraphs_and_ngrams() -> None:
    assert run("gopher_repetition", PROSE) == (None, None)
    assert run("gopher_repetition", "\n\n".join([PROSE[:80]] * 5)) == ("dup_para_frac", None)
    assert run("gopher_repetition", "\n".join(["same line"] * 4 + [PROSE])) == ("dup_line_frac", None)
    assert run("gopher_repetition", PROSE + " buy cheap pills now" * 30)[0] == "top_2_gram"
    repeated = PROSE + " " + PROSE[: len(PROSE) // 3]
    assert run("gopher_repetition", repeated)[0] == "duplicated_5_n_grams"
    assert run("gopher_repetition", repeated, dup_5_gram=0)[0] == "duplicated_6_n_grams"  # 0: check off
    very_long_line = " ".join(f"w{i}" for i in range(50_000))
    assert run("gopher_repetition", very_long_line) == (None, None)


def test_c4_removes_lines_and_drops_pages_as_the_original() -> None:
    lines = [s.strip() + "." for s in PROSE.split(".") if s.strip()]
    page = "\n".join(["Menu", "Home | About", *lines, "Click here to enable javascript in your browser.",
                      "Read our privacy policy and terms of use."])
    drop, text = run("c4", page)
    assert drop is None
    assert text == "\n".join(lines)
    assert run("c4", page.replace("\n", "\r\n"))[1] == "\n".join(lines)
    assert run("c4", page + "\nThe function body is { return 1; } in this example.")[0] == "curly_bracket"
    assert run("c4", page + "\nLorem ipsum dolor sit amet, consectetur adipiscing.")[0] == "lorem_ipsum"
    assert run("c4", "\n".join(lines[:2])) == ("too_few_sentences", None)
    assert run("c4", "\n".join(lines[:2]), min_num_sentences=-1) == (None, None)  # None: unchanged
    assert run("c4", "\n".join(lines) + "[1]", remove_citations=True)[1] == "\n".join(lines)
    assert run("c4", "x" * 1001 + " is a very long word in a line.\n" + "\n".join(lines))[1] == "\n".join(lines)
    assert run("c4", "これは日本語の文です。\nもう一つの文です。") == ("too_few_sentences", None)


def test_fineweb_rules() -> None:
    lines = [s.strip() + "." for s in PROSE.split(".") if s.strip()]
    assert run("fineweb", "\n".join(lines)) == (None, None)
    assert run("fineweb", "\n".join(w for w in PROSE.split(" ")))[0] == "line_punct_ratio"
    assert run("fineweb", "\n".join(w + "." for w in PROSE.split(" "))) == ("short_line_ratio", None)
    assert run("fineweb", "\n".join(lines + lines[:2])) == ("char_dup_ratio", None)
    listing = "\n".join(f"item{i}." for i in range(60))
    assert run("fineweb", listing, short_line_thr=1) == ("list_ratio", None)


# ---- fidelity ---------------------------------------------------------------------------------------


def sample_docs() -> list[tuple[str, str]]:
    """data/sample in a fixed order: id and text."""
    docs = [(r["id"], r["text"]) for r in map(json.loads, gzip.open(ROOT / "data/sample/pydocs.jsonl.gz", "rt"))]
    for f in sorted(glob.glob(str(ROOT / "data/sample/handbook/*.parquet"))):
        t = pq.read_table(f)
        docs += list(zip(t.column("url").to_pylist(), t.column("body").to_pylist(), strict=True))
    for f in sorted(glob.glob(str(ROOT / "data/sample/code/*.go"))):
        docs.append((str(Path(f).relative_to(ROOT)), Path(f).read_text(encoding="utf-8")))
    return docs


def test_agrees_with_datatrove_on_the_sample() -> None:
    """tests/data/datatrove_sample_decisions.json holds datatrove 0.10.1's decisions (with spaCy's English
    tokenizer) on data/sample, made by bench/datatrove_golden.py. Each pack must agree on ≥ 99.5% of the
    documents, and c4 must rewrite the pages both keep to the same text."""
    golden = json.loads((ROOT / "tests/data/datatrove_sample_decisions.json").read_text(encoding="utf-8"))
    docs = dict(sample_docs())
    assert sorted(docs) == golden["ids"]
    for pack in sorted(DEGENERATE):
        agree = same_text = both_kept = 0
        for doc_id, expected in zip(golden["ids"], golden[pack], strict=True):
            drop, new = run(pack, docs[doc_id])
            theirs_kept = expected is None or expected.startswith("kept:")
            agree += (drop is None) == theirs_kept
            if pack == "c4" and drop is None and theirs_kept:
                both_kept += 1
                text = docs[doc_id] if new is None else new
                digest = hashlib.sha256(text.encode()).hexdigest()[:16]
                same_text += (expected is None and new is None) or expected == f"kept:{digest}"
        assert agree / len(docs) >= 0.995, (pack, agree, len(docs))
        if pack == "c4":
            assert same_text / both_kept >= 0.995, (same_text, both_kept)


# ---- in a recipe ------------------------------------------------------------------------------------


def test_packs_in_a_recipe_drop_with_reasons_and_rewrite_text(tmp_path: Path) -> None:
    lines = [s.strip() + "." for s in PROSE.split(".") if s.strip()]
    rows = [
        {"id": "a-good", "text": "\n".join(["Navigation", *lines])},
        {"id": "b-short", "text": "Too short."},
        {"id": "c-curly", "text": "\n".join([*lines, "Here is code { x } in the text."])},
        {"id": "d-bullets", "text": "\n".join("- " + line for line in lines * 3)},
    ]
    write_jsonl(tmp_path / "in.jsonl", rows)
    ok(build(tmp_path, """
recipe "packs" { seed 1 }
source web = jsonl("in.jsonl", id: "id")
filter web {
  apply gopher_quality(min_doc_words: 20)
  apply c4()
}
output "out"
"""))
    ledger = {r["doc_id"]: r["rule"] for r in pq.read_table(tmp_path / "out/ledger.parquet").to_pylist()}
    assert ledger == {"web/b-short": "gopher_quality:short_doc", "web/c-curly": "c4:curly_bracket",
                      "web/d-bullets": "gopher_quality:too_many_bullets"}
    out = duckdb.sql(f"SELECT doc_id, text, content_hash, md5_number_lower(text) AS h "
                     f"FROM read_parquet('{tmp_path}/out/data/*.parquet')").fetchall()
    assert [(d, t) for d, t, _, _ in out] == [("web/a-good", "\n".join(lines))]  # "Navigation" is gone
    assert all(c == h for _, _, c, h in out)  # the hash is of the rewritten text
    funnel = manifest(tmp_path / "out")["funnel"]["web"]
    assert steps(funnel["dropped"]) == {"apply gopher_quality(min_doc_words: 20)": 2, "apply c4()": 1}
    assert funnel["changed"] == [{"rule": "apply c4()", "changed": 1}]  # a-good lost its "Navigation" line
    assert funnel["dropped_by_reason"]["apply gopher_quality(min_doc_words: 20)"] == {
        "gopher_quality:short_doc": 1, "gopher_quality:too_many_bullets": 1}


def errors_of(text: str) -> list[RecipeError]:
    with pytest.raises(RecipeErrors) as info:
        check(parse(text))
    return info.value.errors


@pytest.mark.parametrize(("rule", "message", "hint"), [
    ("apply gopher_qualty()", "unknown rule pack `gopher_qualty`", "did you mean `gopher_quality`?"),
    ("apply words()", "unknown rule pack `words`", "`words` is a text function: use it in `keep`/`drop`"),
    ("apply c4(min_sentences: 3)", "`c4` has no parameter `min_sentences`", "did you mean `min_num_sentences`?"),
    ("apply c4(min_num_sentences: -2)", "`min_num_sentences` of `c4` is out of range: -2", "allowed: at least -1"),
    ("apply c4(filter_javascript: 1)", "`filter_javascript` of `c4` must be `true` or `false`",
     "booleans are written without quotes"),
    ("apply fineweb() apply fineweb(short_line_thr: 0.5)", "`fineweb` is applied twice in this block",
     "give one call all the parameters; its drops are labelled by pack"),
])
def test_checker_validates_pack_calls(rule: str, message: str, hint: str) -> None:
    errors = errors_of(f'source web = jsonl("x.jsonl")\nfilter web {{ {rule} }}\noutput "out"\n')
    assert [(e.message, e.hint) for e in errors] == [(message, hint)]


def test_rules_after_a_rewrite_see_the_new_text(tmp_path: Path) -> None:
    """Two pages that differ only in lines c4 removes are equal afterwards: `dedup exact` keeps one,
    and the output's content_hash is of the text as rewritten. Transforms that drop nothing may repeat."""
    lines = [s.strip() + "." for s in PROSE.split(".") if s.strip()]
    rows = [{"id": "a", "text": "\n".join(["Home", *lines])}, {"id": "b", "text": "\n".join(["Menu", *lines])}]
    write_jsonl(tmp_path / "in.jsonl", rows)
    ok(build(tmp_path, """
source web = jsonl("in.jsonl", id: "id")
filter web {
  apply c4()
  dedup exact
  apply strip_lines(line ~ "^The mayor")
  apply strip_lines(line ~ "^Everyone")
}
output "out"
"""))
    ledger = pq.read_table(tmp_path / "out/ledger.parquet").to_pylist()
    assert [(r["doc_id"], r["rule"]) for r in ledger] == [("web/b", "dedup exact")]
    out = duckdb.sql(f"SELECT text, content_hash = md5_number_lower(text) FROM "
                     f"read_parquet('{tmp_path}/out/data/*.parquet')").fetchall()
    assert out == [("\n".join(line for line in lines if not line.startswith(("The mayor", "Everyone"))), True)]


def test_quality_recipe_builds_byte_identically_with_one_or_two_threads(tmp_path: Path) -> None:
    """recipes/quality.recipe (packs, lang, minhash, transforms) on the sample data."""
    (tmp_path / "data").symlink_to(ROOT / "data")
    (tmp_path / "q.recipe").write_text((ROOT / "recipes/quality.recipe").read_text(encoding="utf-8"))
    ok(recipe(tmp_path, "run", "q.recipe", "--quiet", "--threads", "1", "--cache", "c1"))
    first = digest_tree(tmp_path / "build/quality")
    ok(recipe(tmp_path, "run", "q.recipe", "--quiet", "--threads", "2", "--cache", "c2"))
    assert digest_tree(tmp_path / "build/quality") == first
    m = manifest(tmp_path / "build/quality")
    assert m["totals"]["docs"] == 400
    rules = duckdb.sql(f"SELECT DISTINCT rule FROM '{tmp_path}/build/quality/ledger.parquet'").fetchall()
    assert {"gopher_quality:short_doc", "c4:too_few_sentences"} <= {r for (r,) in rules}
    emails = duckdb.sql(f"SELECT count(*) FROM read_parquet('{tmp_path}/build/quality/data/*.parquet') "
                        r"WHERE regexp_matches(text, '[\w.+-]+@[\w-]+\.[a-z]{2,}')").fetchall()
    assert emails == [(0,)]
