"""Operators written by users (docs/plugins.md): the example plugin, installed with its entry point, is listed,
documented and built with like a built-in; the checker reports misuse of a plugin's operator where it is
written; a plugin's fingerprint enters exactly the stages that use it, so an edit re-runs those (and re-scores
only for a scorer's module); a plugin that raises stops the build with an error naming the operator, the stage
and the document, without a traceback unless `--debug`."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from datarecipe import Param, declare
from datarecipe.compiler.language.checker import check
from datarecipe.compiler.language.parser import parse
from datarecipe.compiler.lower import expr_sql
from datarecipe.compiler.plan import plan
from datarecipe.operators import REGISTRY, OperatorError, register
from datarecipe.operators.reference import reference
from datarecipe.runtime import dvc, plugins
from datarecipe.runtime import session as kernels
from helpers import corpus, json_events, manifest, ok, recipe, recipe_command, steps, write_jsonl

ROOT = Path(__file__).resolve().parent.parent
ORIGIN = "datarecipe-example-plugin 0.1.0"

RULES = '''\
from datarecipe import Param, operator

LIMIT = 3


@operator(name="long_words", kind="function", returns="number",
          params=[Param("text", "text", "text", "the text to measure")])
def long_words(text):
    """Words of more than LIMIT letters."""
    import pyarrow.compute as pc

    return pc.count_substring_regex(text, "[A-Za-z]{%d,}" % (LIMIT + 1)).cast("float64")
'''

SCORES = '''\
from datarecipe import Param, operator


@operator(name="vowel_share", kind="scorer",
          params=[Param("scale", "float", 1.0, "what the share is multiplied by", min=0, max=10)])
def vowel_share(text, scale):
    """Share of letters that are vowels."""
    import pyarrow.compute as pc

    vowels = pc.count_substring_regex(text, "(?i)[aeiou]").cast("float64")
    letters = pc.count_substring_regex(text, "(?i)[a-z]").cast("float64")
    return pc.multiply(pc.divide(vowels, pc.max_element_wise(letters, 1)), scale)
'''

LOCAL = """\
recipe "local" { plugins ["RULES", "SCORES"] }
source web = jsonl("data/docs.jsonl", text: "body", id: "id")
filter web { keep long_words(text) >= 10 }
score web { v = vowel_share() }
output "build/local"
"""


@pytest.fixture
def docs(tmp_path: Path) -> list[dict[str, Any]]:
    rows = corpus(40, seed=3)
    write_jsonl(tmp_path / "data" / "docs.jsonl", rows)
    return rows


@pytest.fixture
def forget() -> Iterator[list[str]]:
    """Modules a test imports into this process: their operators leave the library afterwards."""
    modules: list[str] = []
    yield modules
    for key in [k for k, op in REGISTRY.items() if op.module in modules]:
        del REGISTRY[key]
    for name in modules:
        sys.modules.pop(name, None)


def local_recipe(tmp_path: Path, rules: str, scores: str) -> str:
    (tmp_path / f"{rules}.py").write_text(RULES)
    (tmp_path / f"{scores}.py").write_text(SCORES)
    return LOCAL.replace("RULES", rules).replace("SCORES", scores)


def edit(path: Path, old: str, new: str) -> None:
    """Change a module's source; the size changes too, so Python cannot take its cached bytecode for it."""
    text = path.read_text()
    assert old in text and len(old) != len(new)
    path.write_text(text.replace(old, new))


# ---- the example plugin, installed with its entry point ------------------------------------------------------


def test_the_example_plugin_is_listed_with_its_origin_and_documented(tmp_path: Path) -> None:
    listed = {op["name"]: op for op in json.loads(ok(recipe(tmp_path, "operators", "--json")).stdout)}
    for name, kind in (("legal_terms", "function"), ("phrase_blocklist", "filter"), ("reading_ease", "scorer")):
        assert listed[name]["kind"] == kind and listed[name]["origin"] == ORIGIN, listed[name]
        assert len(listed[name]["fingerprint"]) == 16
    assert listed["words"]["origin"] == "built-in" and listed["words"]["fingerprint"] == ""
    assert listed["phrase_blocklist"]["params"][1] == {
        "name": "max_hits", "type": "int", "required": False, "default": 0, "min": 0, "max": 1000, "choices": [],
        "doc": "occurrences of the phrases a document may hold"}
    table = ok(recipe(tmp_path, "operators")).stdout
    assert any("apply phrase_blocklist(phrases, max_hits)" in line and ORIGIN in line for line in table.splitlines())

    with_plugins = ok(recipe(tmp_path, "docs", "--plugins", "-o", "-")).stdout
    section = with_plugins[with_plugins.index("## Plugin operators"):]
    assert "### `legal_terms(text)` (function)" in section and f"From {ORIGIN}." in section
    assert "### `apply phrase_blocklist(...)` (filter)" in section
    assert "| `max_hits` | int (0..1_000) | `0` |" in section
    assert "### `reading_ease(max_chars)` (scorer)" in section
    # Without --plugins, the reference is datarecipe's own: the same whatever is installed.
    plain = ok(recipe(tmp_path, "docs", "-o", "-")).stdout
    assert plain == reference() == (ROOT / "docs" / "reference.md").read_text()
    assert "legal_terms" not in plain and with_plugins.startswith(plain.rstrip("\n"))


def test_the_example_plugin_works_on_arrow_arrays() -> None:
    """How a plugin is unit-tested: its functions are plain functions over Arrow arrays."""
    import datarecipe_example_plugin as example

    text = pa.array(["Copyright 2024. All rights reserved. Licensed under a license.", "plain words", None])
    assert example.legal_terms(text).to_pylist() == [4.0, 0.0, None]
    reasons = example.phrase_blocklist(pa.array(["Lorem ipsum dolor", "fine", "Internal use only. LOREM IPSUM"]),
                                       phrases="lorem ipsum|internal use only", max_hits=0)
    assert reasons.to_pylist() == ["lorem ipsum", None, "lorem ipsum"]
    ease = example.reading_ease(pa.array(["The cat sat. The dog ran.", "Incomprehensibility characterizes "
                                          "institutionalization.", "123"]), max_chars=100).to_pylist()
    assert ease[0] > 90 > 0 > ease[1] and ease[2] is None


def test_the_plugin_example_recipe_builds_with_the_plugin(tmp_path: Path) -> None:
    (tmp_path / "data").symlink_to(ROOT / "data")
    (tmp_path / "r.recipe").write_text((ROOT / "recipes" / "plugin-example.recipe").read_text())
    ok(recipe(tmp_path, "run", "r.recipe", "--quiet", "--cache", "cache"))
    out = tmp_path / "build" / "plugin-example"
    funnel = manifest(out)["funnel"]
    assert steps(funnel["code"]["dropped"])["drop legal_terms(text) > 4"] == 6  # their headers and more
    rule = 'apply phrase_blocklist(phrases: "deprecated since version|lorem ipsum")'
    reasons = funnel["pydocs"]["dropped_by_reason"][rule]
    assert reasons["phrase_blocklist:deprecated since version"] > 10
    assert manifest(out)["scores"]["pydocs"]["ease"]["op"] == "reading_ease"
    rows = duckdb.sql(f"SELECT source, ease FROM '{out}/data/*.parquet'").fetchall()
    eases = [e for s, e in rows if s == "pydocs"]
    assert len(eases) == 480 and min(eases) >= 20


# ---- checking --------------------------------------------------------------------------------------------------


MISUSED = """\
source web  = jsonl("data/docs.jsonl", text: "body", id: "id")
source wiki = jsonl("data/docs.jsonl", text: "body", id: "id")
filter web {
  drop legal_term(text) > 2
  apply phrase_blocklist(max_hits: -1)
}
filter wiki {
  apply phrase_blocklist(phrases: 3)
  keep legal_terms(text) == "none"
}
score web { ease = reading_ease(max_chars: "2000") }
output "build/x"
"""


def test_the_checker_reports_misuse_of_a_plugins_operators_where_it_is_written(tmp_path: Path) -> None:
    (tmp_path / "r.recipe").write_text(MISUSED)
    result = recipe(tmp_path, "check", "r.recipe")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    err = result.stderr
    assert ("r.recipe:4:8: error: unknown function `legal_term`\n    drop legal_term(text) > 2\n"
            "         ^~~~~~~~~~\n  hint: did you mean `legal_terms`?") in err
    assert "r.recipe:5:36: error: `max_hits` of `phrase_blocklist` is out of range: -1" in err
    assert "hint: allowed: 0 to 1000" in err
    assert "r.recipe:8:35: error: `phrases` of `phrase_blocklist` must be a string in double quotes" in err
    assert "r.recipe:9:26: error: cannot compare number with string" in err  # legal_terms() is a number
    assert "r.recipe:11:44: error: `max_chars` of `reading_ease` must be a number" in err
    assert "5 errors" in err


def test_bad_plugin_modules_are_recipe_errors_at_their_name(tmp_path: Path) -> None:
    (tmp_path / "taken.py").write_text(
        'from datarecipe import Param, operator\n\n\n@operator(name="words", kind="function", returns="number",\n'
        '          params=[Param("text", "text", "text")])\ndef words(text):\n    """Mine."""\n    return text\n')
    (tmp_path / "ranged.py").write_text(
        'from datarecipe import Param, operator\n\n\n@operator(name="ranged", kind="filter",\n'
        '          params=[Param("k", "int", 50, "a limit", min=0, max=10)])\ndef ranged(text, k):\n'
        '    """A filter."""\n    return text\n')
    (tmp_path / "broken.py").write_text("raise RuntimeError('no config found')\n")
    (tmp_path / "r.recipe").write_text('recipe "r" { plugins ["taken", "ranged", "broken", "missing"] }\n'
                                       'source web = jsonl("data/docs.jsonl")\noutput "build/x"\n')
    result = recipe(tmp_path, "check", "r.recipe")
    err = result.stderr
    assert result.returncode == 2 and "Traceback" not in err, err
    assert ("r.recipe:1:23: error: plugin `taken`: operator `words` is already declared, by datarecipe itself "
            "(a function)") in err
    assert "r.recipe:1:32: error: plugin `ranged`: parameter `k` of `ranged`: the default 50 is out of its range" in err
    assert "r.recipe:1:42: error: plugin `broken` failed to import: RuntimeError: no config found" in err
    assert "r.recipe:1:52: error: no Python module `missing`" in err
    assert "hint: put `missing.py` in the recipe's directory" in err
    assert "4 errors" in err
    debug = recipe(tmp_path, "check", "r.recipe", "--debug")
    assert debug.returncode == 2 and "Traceback" in debug.stderr and "no config found" in debug.stderr


def test_module_names_that_cannot_be_imported_are_checked() -> None:
    with pytest.raises(Exception) as caught:
        check(parse('recipe "r" { plugins ["a-b"] }\nsource w = jsonl("x")\noutput "o"\n'))
    assert "is a list of Python module names in double quotes" in str(caught.value.errors[0])  # type: ignore[attr-defined]
    assert caught.value.errors[0].span.col == 23  # type: ignore[attr-defined]


def test_declarations_that_cannot_work_are_refused() -> None:
    def fn(text: Any, k: int = 1) -> Any:
        """A doc."""
        return text

    def undocumented(text: Any) -> Any:
        return text

    cases = [
        (lambda: declare(fn, "Bad-Name", "filter"), "cannot name an operator"),
        (lambda: declare(fn, "keep", "filter"), "cannot name an operator"),
        (lambda: declare(fn, "f", "ranker"), "unknown kind `ranker`"),
        (lambda: declare(fn, "f", "function", [Param("k", "int", 1)], returns="number"),
         "takes at least one `text` parameter"),
        (lambda: declare(fn, "f", "function", [Param("text", "text", "text")], returns="list"), "returns"),
        (lambda: declare(fn, "f", "filter", [Param("k", "path", "x")]), "the type is one of"),
        (lambda: declare(fn, "f", "filter", [Param("k", "int", "1")]), "is not of type `int`"),
        (lambda: declare(fn, "f", "filter", [Param("k", "choice", "c", choices=("a", "b"))]), "not one of its"),
        (lambda: declare(fn, "f", "filter", [Param("other", "int", 1)]), "cannot be called with its parameters"),
        (lambda: declare(undocumented, "f", "filter"), "has no documentation"),
        (lambda: register(declare(fn, "lang", "scorer")), "already declared, by datarecipe itself (a function)"),
    ]
    for make, message in cases:
        with pytest.raises(OperatorError, match=".*" + message.replace("(", r"\(").replace(")", r"\)")):
            make()
    op = declare(fn, "fine", "filter", [Param("k", "int", 1, "k", min=0)])
    assert (op.kind, op.category, op.drops, op.rewrites, op.origin != "built-in") == ("pack", "filter", True, False,
                                                                                     True)
    assert len(op.fingerprint) == 16 and ("pack", "fine") not in REGISTRY


# ---- fingerprints: what an edit re-runs ----------------------------------------------------------------------


def stages(result: subprocess.CompletedProcess[str]) -> dict[str, dict[str, Any]]:
    return {e["stage"]: e for e in json_events(ok(result).stdout) if e["event"] == "stage_end"}


def test_editing_a_plugin_reruns_the_stages_that_use_it_and_rescores_only_for_its_scorer(
        tmp_path: Path, docs: list[dict[str, Any]]) -> None:
    (tmp_path / "r.recipe").write_text(local_recipe(tmp_path, "team_rules", "team_scores"))
    run = ("run", "r.recipe", "--json", "--cache", "cache")
    first = stages(recipe(tmp_path, *run))
    assert not any(s["cached"] for s in first.values())
    scored = first["score_web"]["scores"]["v"]["scored"]
    assert 0 < scored <= len(docs)

    # The function's module: its filter runs again, and what follows; the scores come from the cache.
    edit(tmp_path / "team_rules.py", "LIMIT = 3", "LIMIT = 6  # longer words")
    second = stages(recipe(tmp_path, *run))
    assert {n for n, s in second.items() if s["cached"]} == {"ingest_web"}
    assert second["filter_web"]["rows"] < first["filter_web"]["rows"]  # the edit is in effect
    assert second["score_web"]["scores"]["v"]["scored"] == 0

    # The scorer's module: the filter's output is reused, every document kept is scored again.
    edit(tmp_path / "team_scores.py", "scale)\n", "scale * 2)\n")
    third = stages(recipe(tmp_path, *run))
    assert {n for n, s in third.items() if s["cached"]} == {"ingest_web", "filter_web"}
    assert third["score_web"]["scores"]["v"]["scored"] == second["filter_web"]["rows"]
    assert len(list((tmp_path / "cache" / "scores").iterdir())) == 2  # a new cache key; the old one stays
    values = duckdb.sql(f"SELECT v FROM '{tmp_path}/build/local/data/*.parquet'").fetchall()
    assert all(0.6 < v < 1 for (v,) in values)  # twice a share of vowels, about 0.4 in English


def test_a_plugin_packages_fingerprint_covers_its_helper_modules(tmp_path: Path) -> None:
    """An operator declared in a package runs its package's other modules too: editing one of them changes the
    operator's fingerprint; editing a file outside the package does not."""
    package = tmp_path / "teampkg"
    package.mkdir()
    (package / "limits.py").write_text("LIMIT = 3\n")
    (package / "__init__.py").write_text(RULES.replace("LIMIT = 3\n", "from .limits import LIMIT\n"))
    (tmp_path / "other.py").write_text("X = 1\n")
    (tmp_path / "r.recipe").write_text('recipe "p" { plugins ["teampkg"] }\nsource web = jsonl("d.jsonl")\n'
                                       'filter web { keep long_words(text) >= 1 }\noutput "build/p"\n')

    def fingerprint() -> str:
        listed = json.loads(ok(recipe(tmp_path, "operators", "r.recipe", "--json")).stdout)
        return str(next(op["fingerprint"] for op in listed if op["name"] == "long_words"))

    first = fingerprint()
    edit(tmp_path / "other.py", "X = 1", "X = 22")
    assert fingerprint() == first
    edit(package / "limits.py", "LIMIT = 3", "LIMIT = 33")
    assert fingerprint() != first


def test_a_plugins_fingerprint_is_in_the_params_of_exactly_the_stages_that_use_it(
        tmp_path: Path, forget: list[str]) -> None:
    text = local_recipe(tmp_path, "slice_rules", "slice_scores")
    forget += ["slice_rules", "slice_scores"]
    assert plugins.load_modules(parse(text), tmp_path) == []

    def compiled() -> tuple[dict[str, str], dict[str, Any]]:
        the_plan = plan(check(parse(text)), {})
        return ({s.name: s.fingerprint for s in the_plan.stages},
                {s.name: dvc.params_slice(the_plan, s) for s in the_plan.stages})

    fingerprints, slices = compiled()
    assert slices["filter_web"]["plugins"] == {"long_words": REGISTRY[("function", "long_words")].fingerprint}
    assert slices["score_web"]["plugins"] == {"vowel_share": REGISTRY[("scorer", "vowel_share")].fingerprint}
    assert [name for name, s in slices.items() if "plugins" in s] == ["filter_web", "score_web"]
    edit(tmp_path / "slice_scores.py", "scale)\n", "scale * 2)\n")
    importlib.reload(sys.modules["slice_scores"])
    fingerprints2, slices2 = compiled()
    assert [n for n in slices if slices[n] != slices2[n]] == ["score_web"]
    assert [n for n in fingerprints if fingerprints[n] != fingerprints2[n]] == ["score_web", "mix", "order", "output"]
    edit(tmp_path / "slice_rules.py", "LIMIT = 3", "LIMIT = 30")
    importlib.reload(sys.modules["slice_rules"])
    fingerprints3, slices3 = compiled()
    assert [n for n in slices if slices2[n] != slices3[n]] == ["filter_web"]
    assert fingerprints3["ingest_web"] == fingerprints["ingest_web"]


# ---- a plugin that raises ---------------------------------------------------------------------------------------

FRAGILE = '''\
from datarecipe import Param, operator


def _check(text):
    import pyarrow.compute as pc

    if pc.any(pc.match_substring(text, "EXPLODE")).as_py():
        raise ValueError("cannot measure an explosion")


@operator(name="fragile", kind="function", returns="number", params=[Param("text", "text", "text", "a text")])
def fragile(text):
    """Fails on a text holding EXPLODE."""
    import pyarrow.compute as pc

    _check(text)
    return pc.utf8_length(text).cast("float64")


@operator(name="fragile_filter", kind="filter")
def fragile_filter(text):
    """Fails on a text holding EXPLODE."""
    import pyarrow.compute as pc

    _check(text)
    return pc.match_substring(text, " ")


@operator(name="fragile_score", kind="scorer")
def fragile_score(text):
    """Fails on a text holding EXPLODE."""
    import pyarrow.compute as pc

    _check(text)
    return pc.utf8_length(text)
'''


def build_with(tmp_path: Path, module: str, code: str, block: str) -> tuple[subprocess.CompletedProcess[str], str]:
    """Build a recipe of data/docs.jsonl that names the plugin module `module` (written from `code`) and holds
    `block`: what `recipe run` did, and the module's origin as errors name it."""
    (tmp_path / f"{module}.py").write_text(code)
    (tmp_path / "r.recipe").write_text(f'recipe "r" {{ plugins ["{module}"] }}\n'
                                       'source web = jsonl("data/docs.jsonl", text: "body", id: "id")\n'
                                       f'{block}\noutput "build/x"\n')
    return recipe(tmp_path, "run", "r.recipe", "--cache", "cache"), f"{module} ({tmp_path.resolve() / module}.py)"


@pytest.mark.parametrize(("block", "op", "stage"), [
    ("filter web { keep fragile(text) > 0 }", "fragile", "filter_web"),
    ("filter web { apply fragile_filter() }", "fragile_filter", "filter_web"),
    ("score web { f = fragile_score() }", "fragile_score", "score_web"),
])
def test_a_plugin_that_raises_names_the_operator_the_stage_and_the_document(
        tmp_path: Path, docs: list[dict[str, Any]], block: str, op: str, stage: str) -> None:
    docs[17]["body"] += " EXPLODE"
    write_jsonl(tmp_path / "data" / "docs.jsonl", docs)
    result, origin = build_with(tmp_path, "fragile_rules", FRAGILE, block)
    assert result.returncode == 1, result.stderr
    doc = f"web/{docs[17]['id']}"  # a source's name and the document's id
    assert (f"r.recipe: error: stage {stage}: operator `{op}` ({origin}) failed on document `{doc}`: "
            "ValueError: cannot measure an explosion") in result.stderr
    assert "Traceback" not in result.stderr and "--debug" in result.stderr
    assert not (tmp_path / "build" / "x").exists()
    if op == "fragile":
        debug = recipe(tmp_path, "run", "r.recipe", "--cache", "cache", "--debug")
        assert debug.returncode == 1 and "Traceback" in debug.stderr
        assert 'raise ValueError("cannot measure an explosion")' in debug.stderr
        assert f"failed on document `{doc}`" in debug.stderr


SLOPPY = '''\
from datarecipe import Param, operator


@operator(name="one_value", kind="function", returns="number", params=[Param("text", "text", "text", "a text")])
def one_value(text):
    """One number, whatever the batch."""
    return [1.0]


@operator(name="shout", kind="function", returns="number", params=[Param("text", "text", "text", "a text")])
def shout(text):
    """Declared a number, returns the texts."""
    import pyarrow.compute as pc

    return pc.utf8_upper(text)


@operator(name="lengths", kind="filter")
def lengths(text):
    """Returns lengths where booleans or reasons are due."""
    import pyarrow.compute as pc

    return pc.utf8_length(text)


@operator(name="constant", kind="scorer")
def constant(text):
    """A number for the batch instead of one per text."""
    return 0.5
'''


@pytest.mark.parametrize(("block", "op", "stage", "returned", "expected"), [
    ("filter web { keep one_value(text) > 0 }", "one_value", "filter_web",
     "returned 1 value for a batch of 40 documents", "a function returns one value per document, in the order of "
     "its texts"),
    ("filter web { keep shout(text) > 0 }", "shout", "filter_web", "returned string values, which are not numbers",
     'it is declared with `returns="number"`'),
    ("filter web { apply lengths() }", "lengths", "filter_web", "returned int32 values",
     "a filter returns booleans or strings"),
    ("score web { c = constant() }", "constant", "score_web", "returned a float that pyarrow cannot make an array of",
     "a scorer returns one value per document: an Arrow array or a list"),
], ids=["length", "type", "filter-type", "not-an-array"])
def test_a_plugin_that_returns_the_wrong_thing_is_told_what_it_returned_and_what_is_expected(
        tmp_path: Path, docs: list[dict[str, Any]], block: str, op: str, stage: str, returned: str,
        expected: str) -> None:
    result, origin = build_with(tmp_path, "sloppy_rules", SLOPPY, block)
    assert result.returncode == 1, result.stderr
    message = " ".join(result.stderr.split())
    assert f"r.recipe: error: stage {stage}: operator `{op}` ({origin}) {returned}" in message, message
    assert f"hint: {expected}: fix the plugin's function" in message, message
    assert "the plugin raised" not in message and "Traceback" not in message


# A text parameter's default names a column: `meta.title` is the field of `meta`, in `check` and in the build.
TITLED = '''\
from datarecipe import Param, operator


@operator(name="title_words", kind="function", returns="number",
          params=[Param("title", "text", "meta.title", "the text whose words to count")])
def title_words(title):
    """Words of the title (by default the document's `meta.title`)."""
    import pyarrow.compute as pc

    return pc.count_substring_regex(title, "[A-Za-z]+").cast("float64")
'''


def test_a_text_parameters_default_column_is_the_column_the_kernel_gets(tmp_path: Path, forget: list[str]) -> None:
    rows = [{"id": f"d{i}", "body": f"Document {i} of the set.", "title": "Two words" if i % 3 else "One"}
            for i in range(12)]
    write_jsonl(tmp_path / "data" / "docs.jsonl", rows)
    (tmp_path / "titled.py").write_text(TITLED)
    text = ('recipe "t" { plugins ["titled"] }\nsource web = jsonl("data/docs.jsonl", text: "body", id: "id")\n'
            'filter web { keep title_words() >= 2 }\noutput "build/t"\n')
    (tmp_path / "r.recipe").write_text(text)
    ok(recipe(tmp_path, "check", "r.recipe"))
    ok(recipe(tmp_path, "run", "r.recipe", "--cache", "cache", "--quiet"))
    assert manifest(tmp_path / "build/t")["totals"]["docs"] == 8  # the titles of two words
    forget.append("titled")
    assert plugins.load_modules(parse(text), tmp_path) == []
    explicit = text.replace("title_words()", "title_words(meta.title)")
    rule, written_out = (check(parse(t)).filters[0].rules[0].expr for t in (text, explicit))
    assert rule is not None and written_out is not None
    assert expr_sql(rule) == expr_sql(written_out) == """(dr_title_words(json_extract_string(meta, '$."title"'), \
doc_id) >= 2)"""


def test_a_text_parameters_default_must_name_a_string_column() -> None:
    def measure(title: Any) -> Any:
        """Measures a title."""
        return title

    for default in ("titel", "meta.", "content_hash", ""):
        with pytest.raises(OperatorError, match="the default of a `text` parameter names a string column"):
            declare(measure, "measure", "function", [Param("title", "text", default, "a title")], returns="number")


def test_a_plugin_that_fails_only_on_whole_batches_names_the_first_document_of_the_batch() -> None:
    def pairs(text: Any) -> Any:
        """Fails on a batch of more than one document."""
        if len(text) > 1:
            raise RuntimeError("batch too big")
        return [1.0]

    register(declare(pairs, "pairs_only", "function", [Param("text", "text", "text", "a text")], returns="number"))
    con = duckdb.connect()
    try:
        failures: list[kernels.OperatorFailure] = []
        kernels.register_kernels(con, failures)
        assert con.sql("SELECT dr_pairs_only('x', 'd1')").fetchall() == [(1.0,)]
        with pytest.raises(duckdb.Error):
            con.sql("SELECT dr_pairs_only(t, id) FROM (VALUES ('d2', 'ab'), ('d3', 'abc')) v(id, t)").fetchall()
        error = failures[0].recipe_error("filter_web")
        assert error.stage == "filter_web" and error.message.startswith("operator `pairs_only` (test_plugins (")
        assert error.message.endswith("failed on a batch, though on no document of it alone (the batch begins "
                                      "with `d2`): RuntimeError: batch too big")
    finally:
        con.close()
        del REGISTRY[("function", "pairs_only")]


def test_a_broken_entry_point_is_named(tmp_path: Path) -> None:
    site = tmp_path / "site"
    info = site / "broken_plugin-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[datarecipe.operators]\nbroken = broken_plugin_mod\n")
    (site / "broken_plugin_mod.py").write_text("raise ImportError('needs libfoo')\n")
    (tmp_path / "r.recipe").write_text('source web = jsonl("data/docs.jsonl")\noutput "build/x"\n')
    env = {**os.environ, "PYTHONPATH": str(site), "COLUMNS": "200"}
    env.pop("DATARECIPE_DEBUG", None)
    result = subprocess.run([*recipe_command(), "check", "r.recipe"], cwd=tmp_path, capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert ("r.recipe: error: datarecipe.operators: plugin entry point `broken = broken_plugin_mod` of broken-plugin "
            "0.1 cannot be loaded: ImportError: needs libfoo") in result.stderr
    assert "hint: fix the package, or uninstall it: `pip uninstall broken-plugin`" in result.stderr
