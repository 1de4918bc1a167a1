"""`recipe check` and the checker: every error at once, located (file:line:col, the source line, a caret
under the span) with a hint; did-you-mean for near misses; types, ranges and units; what the recipe's inputs hold
(missing files, models and tokenizers, unknown labels, `sql` that DuckDB cannot bind); the `sql` escape hatch;
recipe literals that stay SQL literals; and the generated language reference."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from datarecipe.compiler.language.checker import check
from datarecipe.compiler.language.errors import RecipeError, RecipeErrors
from datarecipe.compiler.language.parser import parse
from datarecipe.compiler.lower import literal
from datarecipe.compiler.plan import plan
from datarecipe.operators import builtins
from datarecipe.operators.reference import reference
from helpers import corpus, write_jsonl, write_parquet

ROOT = Path(__file__).resolve().parents[1]
_SCRIPT = Path(sys.executable).with_name("recipe")
RECIPE_CMD = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "datarecipe.runtime.cli"]

VALID = """\
recipe "demo" { seed 17 }
source web = jsonl("data/web/*.jsonl", text: "body", on_error: "quarantine")
source docs = parquet("data/docs/*.parquet", id: "url")
filter web {
  keep words(text) between 5 and 100_000
  drop symbol_ratio("#") > 10%
  keep meta.lang in ["en", "de"]
  drop text ~ "lorem ipsum"
  dedup exact(normalize: true)
}
mix 1_000 docs { web 60% where meta.year > 2000 max_epochs 2  docs 40% }
order { shuffle }
output "build/demo" as parquet shard 128MB, 10_000 rows
"""

# One recipe, many mistakes: `recipe check` must report all of them in one run.
BAD = """\
recipe "demo" { sed 17 }
source web = jsonl("data/web/*.jsonl", txt: "body")
source docs = parquet("data/docs/*.parquet", id: "url")
filter web {
  keep wrds(text) > 5
  keep txt == "a"
  dedup exakt
  keep words(text) == "x"
  keep words(text)
  drop text ~ "(unclosed"
}
filter dcs { keep true }
mix 1_000 docs { wbe 60% docs 30% }
output "build/demo"
"""

# (line, col, width of the caret, message, hint) for every error in BAD, in the order reported.
BAD_ERRORS = [
    (1, 17, 6, "unknown setting `sed`", "did you mean `seed`?"),
    (2, 40, 11, "`jsonl` has no parameter `txt`", "did you mean `text`?"),
    (5, 8, 4, "unknown function `wrds`", "did you mean `words`?"),
    (6, 8, 3, "unknown column `txt`", "did you mean `text`?"),
    (7, 9, 5, "unknown dedup method `exakt`", "did you mean `exact`?"),
    (8, 20, 2, "cannot compare number with string", "quote strings, and leave numbers unquoted"),
    (9, 8, 11, "a condition must be true or false, but this is a number", "compare it, e.g. `words(text) >= 50`"),
    (10, 15, 11, "invalid regular expression: missing ), unterminated subpattern at position 0",
     "patterns use RE2 syntax (like Python's re, without backreferences)"),
    (12, 8, 3, "unknown source `dcs`", "did you mean `docs`?"),
    (13, 1, 35, "mix weights add up to 90%, not 100%", "make the percentages sum to 100"),
    (13, 18, 3, "unknown source `wbe`", "did you mean `web`?"),
]


# ---- helpers -----------------------------------------------------------------------------------------


def recipe_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "PYTHONIOENCODING": "utf-8"}
    env.pop("DATARECIPE_DEBUG", None)
    return subprocess.run([*RECIPE_CMD, *args], cwd=cwd, capture_output=True, text=True, encoding="utf-8",
                          errors="replace", env=env, timeout=120)


@dataclass
class Shown:
    """One error as `recipe check` prints it."""

    file: str
    line: int
    col: int
    message: str
    source: str
    caret: str
    hint: str | None


_HEAD = re.compile(r"^(?P<file>[^:\s]+):(?P<line>\d+):(?P<col>\d+): error: (?P<message>.*)$")


def shown_errors(stderr: str) -> list[Shown]:
    lines = stderr.splitlines()
    out: list[Shown] = []
    i = 0
    while i < len(lines):
        m = _HEAD.match(lines[i])
        if not m:
            i += 1
            continue
        source, caret = lines[i + 1], lines[i + 2]
        hint = None
        if i + 3 < len(lines) and lines[i + 3].startswith("  hint: "):
            hint = lines[i + 3][len("  hint: "):]
        out.append(Shown(m["file"], int(m["line"]), int(m["col"]), m["message"], source, caret, hint))
        i += 3
    return out


def caret_line(col: int, width: int) -> str:
    return "  " + " " * (col - 1) + "^" + "~" * (width - 1)


def errors_of(text: str) -> list[RecipeError]:
    with pytest.raises(RecipeErrors) as info:
        check(parse(text))
    return info.value.errors


def located(errors: list[RecipeError]) -> list[tuple[int, int, str]]:
    return [(e.span.line, e.span.col, e.message) for e in errors if e.span is not None]


def col_of(text: str, line: int, token: str) -> int:
    """The 1-based column where `token` first appears on `line` of `text`."""
    return text.splitlines()[line - 1].index(token) + 1


# ---- `recipe check`: every error, located, with a caret and a hint ----------------------------------


@pytest.fixture(scope="module")
def bad_run(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    d = tmp_path_factory.mktemp("bad")
    (d / "bad.recipe").write_text(BAD)
    return recipe_cli("check", "bad.recipe", cwd=d)


def test_check_reports_every_error_at_once_and_exits_2(bad_run: subprocess.CompletedProcess[str]) -> None:
    assert bad_run.returncode == 2
    assert "Traceback" not in bad_run.stderr
    shown = shown_errors(bad_run.stderr)
    assert [(s.line, s.col, s.message) for s in shown] == [(line, col, msg) for line, col, _, msg, _ in BAD_ERRORS]
    assert all(s.file == "bad.recipe" for s in shown)
    assert bad_run.stderr.rstrip().endswith(f"{len(BAD_ERRORS)} errors")


def test_check_prints_source_line_caret_and_hint(bad_run: subprocess.CompletedProcess[str]) -> None:
    shown = shown_errors(bad_run.stderr)
    source_lines = BAD.splitlines()
    assert len(shown) == len(BAD_ERRORS)
    for s, (line, col, width, _msg, hint) in zip(shown, BAD_ERRORS, strict=True):
        assert s.source == "  " + source_lines[line - 1], s
        assert s.caret == caret_line(col, width), s
        assert s.hint == hint, s


def test_caret_sits_under_the_offending_token(bad_run: subprocess.CompletedProcess[str]) -> None:
    shown = {s.message: s for s in shown_errors(bad_run.stderr)}
    wrds = shown["unknown function `wrds`"]
    # The caret starts in the same column as `wrds` on the printed source line and spans it.
    assert wrds.caret.index("^") == wrds.source.index("wrds")
    assert wrds.caret.strip() == "^~~~"
    compare = shown["cannot compare number with string"]
    assert compare.caret.index("^") == compare.source.index("==")
    assert compare.caret.strip() == "^~"


def valid_inputs(d: Path) -> None:
    """The files VALID reads."""
    write_jsonl(d / "data/web/a.jsonl", [{"id": r["id"], "body": r["body"]} for r in corpus(3)])
    write_parquet(d / "data/docs/a.parquet", [{"url": r["id"], "text": r["body"]} for r in corpus(3, seed=1)])


def test_check_errors_as_json(tmp_path: Path) -> None:
    valid_inputs(tmp_path)
    (tmp_path / "bad.recipe").write_text(BAD)
    (tmp_path / "good.recipe").write_text(VALID)
    run = recipe_cli("check", "--json", "bad.recipe", cwd=tmp_path)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    result = json.loads(run.stdout)
    assert result["file"] == "bad.recipe" and result["ok"] is False
    errors = result["errors"]
    assert isinstance(errors, list)
    for error in errors:
        assert {"file", "line", "col", "message", "hint"} <= set(error)
        assert error["file"] == "bad.recipe"
    assert [(e["line"], e["col"], e["message"], e["hint"]) for e in errors] == [
        (line, col, msg, hint) for line, col, _, msg, hint in BAD_ERRORS]
    # Machine-readable means nothing human on stderr.
    assert run.stderr.strip() == ""

    both = recipe_cli("check", "--json", "good.recipe", "bad.recipe", cwd=tmp_path)
    assert both.returncode == 2
    good, bad = json.loads(both.stdout)
    assert (good["file"], good["ok"], good["errors"]) == ("good.recipe", True, [])
    assert (bad["file"], bad["ok"], len(bad["errors"])) == ("bad.recipe", False, len(BAD_ERRORS))


def test_check_valid_recipe_prints_ok_and_exits_0(tmp_path: Path) -> None:
    valid_inputs(tmp_path)
    (tmp_path / "demo.recipe").write_text(VALID)
    run = recipe_cli("check", "demo.recipe", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("demo.recipe: ok")
    assert run.stderr == ""


# ---- what the build would stop on in the recipe's inputs, found by `recipe check` without reading data ------------

INPUTS = """\
recipe "inputs" { tokenizer "tok/tokenizer.json" }
source web = jsonl("data/web.jsonl", text: "body")
source wiki = jsonl("data/wiki/*.jsonl")
source books = parquet("data/books")
source remote = jsonl("https://example.invalid/corpus.jsonl")
filter web {
  keep sql "lenght(text) > 10"
  apply url_blocklist("lists/blocked.txt")
}
score web {
  edu = classifier("models/edu", label: "god")
  ppl = perplexity("models/lm")
  n = expr(sql "text + 1")
}
mix 100 docs { web 40% where sql "lenght(meta) > 2"  wiki 20%  books 20%  remote 20% }
output "build/inputs"
"""

# (line, token, message, hint) for every error `recipe check` finds in INPUTS's inputs, in the order reported.
INPUT_ERRORS = [
    (1, '"tok/', "cannot find tokenizer `tok/tokenizer.json`: no such file or directory (in {cwd})",
     "accepted forms: "),
    (2, '"data/web', "source `web`: the file does not exist", "did you mean `data/webs.jsonl`?"),
    (3, '"data/wiki', "source `wiki`: no files match the pattern", "check the path and the glob ({cwd})"),
    (4, '"data/books', "source `books`: the directory is empty", "a source reads every file under its directory"),
    (7, "sql", "invalid SQL expression: Scalar Function with name lenght does not exist!", "did you mean `length`?"),
    (8, '"lists', "`path` of `url_blocklist`: the file does not exist", "paths are relative to the working directory"),
    (11, '"god"', "classifier `models/edu` has no label `god`", "did you mean `good`?"),
    (12, '"models/lm"', "cannot find model `models/lm`: the directory does not exist (in {cwd})",
     "give the directory of a model saved with `save_pretrained`, relative to the working directory"),
    (13, "sql", "invalid SQL expression: No function matches the given name and argument types '+(VARCHAR, "
     "INTEGER_LITERAL)'. You might need to add explicit type casts.", "`sql` takes one scalar expression"),
    (15, "sql", "invalid SQL expression: Scalar Function with name lenght does not exist!", "did you mean `length`?"),
]


def test_check_finds_missing_inputs_unknown_labels_and_sql_that_does_not_bind(tmp_path: Path) -> None:
    """`recipe check` said ok, and `recipe run` stopped on each of these, one at a time; now check reports all."""
    write_jsonl(tmp_path / "data/webs.jsonl", [{"body": "The quiet river."}])
    (tmp_path / "data/wiki").mkdir()
    (tmp_path / "data/wiki/notes.txt").write_text("not JSON lines")
    (tmp_path / "data/books").mkdir()
    (tmp_path / "models/edu").mkdir(parents=True)  # a classifier's config.json names its labels
    (tmp_path / "models/edu/config.json").write_text(json.dumps({"id2label": {"0": "bad", "1": "good"}}))
    (tmp_path / "r.recipe").write_text(INPUTS)
    run = recipe_cli("check", "r.recipe", cwd=tmp_path)
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    shown = shown_errors(run.stderr)
    lines = INPUTS.splitlines()
    assert [(s.line, s.col, s.message) for s in shown] == [
        (line, col_of(INPUTS, line, token), message.format(cwd=tmp_path)) for line, token, message, _ in INPUT_ERRORS]
    for s, (line, _, _, hint) in zip(shown, INPUT_ERRORS, strict=True):
        assert s.source == "  " + lines[line - 1] and s.caret.strip().startswith("^"), s
        assert s.hint is not None and s.hint.startswith(hint.format(cwd=tmp_path)), s
    assert "hf download" not in run.stderr  # tok/ and models/lm name local paths, not hub ids
    assert run.stderr.rstrip().endswith(f"{len(INPUT_ERRORS)} errors")  # the remote source is not listed


def test_a_missing_model_or_tokenizer_says_which_make_target_creates_it(tmp_path: Path) -> None:
    """In a project whose Makefile makes its models (as this repository's `make models`), a missing model directory
    says so, and the build stops with the same words."""
    (tmp_path / "Makefile").write_text("models: models/tiny\ntokenizers: tokenizers/tiny\n\nmodels/tiny:\n"
                                       "\tpython export.py $@\n\ntokenizers/tiny:\n\tpython export.py $@\n")
    write_jsonl(tmp_path / "data/web.jsonl", corpus(3))
    (tmp_path / "r.recipe").write_text('recipe "m" { tokenizer "tokenizers/tiny" }\n'
                                       'source web = jsonl("data/web.jsonl", text: "body")\n'
                                       'score web { e = embedding("models/tiny") }\noutput "build/m"\n')
    run = recipe_cli("check", "r.recipe", cwd=tmp_path)
    assert run.returncode == 2, run.stderr
    assert [(s.line, s.message, s.hint) for s in shown_errors(run.stderr)] == [
        (1, f"cannot find tokenizer `tokenizers/tiny`: no such file or directory (in {tmp_path})",
         "`make tokenizers` creates it"),
        (3, f"cannot find model `models/tiny`: the directory does not exist (in {tmp_path})",
         "`make models` creates it")]
    assert "hf download" not in run.stderr
    (tmp_path / "r.recipe").write_text('source web = jsonl("data/web.jsonl", text: "body")\n'
                                       'score web { e = embedding("models/tiny") }\noutput "build/m"\n')
    built = recipe_cli("run", "r.recipe", "--quiet", cwd=tmp_path)
    assert built.returncode == 1 and "Traceback" not in built.stderr, built.stderr
    assert f"cannot find model `models/tiny`: the directory does not exist (in {tmp_path})" in built.stderr
    assert "hint: `make models` creates it" in built.stderr and "hf download" not in built.stderr


# ---- syntax errors and files that are not text, through the CLI ------------------------------------

SYNTAX_FILES: dict[str, bytes] = {
    "unclosed.recipe": (b'recipe "demo" { seed 17 }\nsource web = jsonl("a.jsonl")\nfilter web {\n'
                        b'  keep words(text) > 5\n\nmix 10 docs { web 100% }\noutput "build/x"\n'),
    "broken.recipe": (b'source web = jsonl("a.jsonl")\nfilter web {\n  keep words(text) > > 5\n}\n'
                      b"filter docs {\n  keep ( words(text)\n}\nmix 10 docs { web 100 % }\noutput \"build/x\"\n"),
    "quotes.recipe": b"source web = jsonl(\"a.jsonl\")\nfilter web { keep meta.lang == 'en' }\noutput \"x\"\n",
    "empty.recipe": b"",
    "latin1.recipe": b'source web = jsonl("a.jsonl")\noutput "caf\xe9"\n',
    "nul.recipe": b'source web = jsonl("a.jsonl")\noutput "x\x00"\n',
    "garbage.recipe": bytes(range(256)) * 4,
}


@pytest.fixture(scope="module")
def syntax_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str],
                                                                   dict[str, list[Shown]]]:
    d = tmp_path_factory.mktemp("syntax")
    for name, data in SYNTAX_FILES.items():
        (d / name).write_bytes(data)
    run = recipe_cli("check", *SYNTAX_FILES, cwd=d)
    by_file: dict[str, list[Shown]] = {name: [] for name in SYNTAX_FILES}
    for s in shown_errors(run.stderr):
        by_file[s.file].append(s)
    return run, by_file


def test_syntax_errors_exit_2_without_a_traceback(syntax_run: tuple) -> None:
    run, by_file = syntax_run
    assert run.returncode == 2
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr
    assert all(by_file[name] for name in SYNTAX_FILES), {k: v for k, v in by_file.items() if not v}


def test_unclosed_block_is_reported_at_the_end_of_the_block(syntax_run: tuple) -> None:
    (error,) = syntax_run[1]["unclosed.recipe"]
    assert (error.line, error.col, error.message) == (4, 23, "this block is not closed")
    assert error.source == "    keep words(text) > 5"
    assert error.caret == caret_line(23, 1)
    assert error.hint == "add the missing `}`"


def test_several_broken_blocks_are_reported_together(syntax_run: tuple) -> None:
    errors = syntax_run[1]["broken.recipe"]
    assert [(e.line, e.col, e.message) for e in errors] == [
        (3, 22, "unexpected `>`"), (7, 1, "unexpected `}`"), (8, 23, "unexpected `%`")]
    assert all(e.hint for e in errors)


def test_single_quoted_string_hints_at_double_quotes(syntax_run: tuple) -> None:
    (error,) = syntax_run[1]["quotes.recipe"]
    assert (error.line, error.col) == (2, 32)
    assert error.caret == caret_line(32, 1)
    assert error.hint == "strings use double quotes"


def test_empty_file_says_what_is_missing(syntax_run: tuple) -> None:
    errors = syntax_run[1]["empty.recipe"]
    assert [(e.line, e.col, e.message) for e in errors] == [
        (1, 1, "the recipe has no `output`"), (1, 1, "the recipe has no `source`")]
    assert all(e.hint for e in errors)


def test_non_utf8_bytes_are_a_located_error(syntax_run: tuple) -> None:
    (error,) = syntax_run[1]["latin1.recipe"]
    assert (error.line, error.col, error.message) == (2, 12, "the recipe is not valid UTF-8")
    assert error.caret == caret_line(12, 1)
    assert error.hint == "save the file as UTF-8 text"


def test_nul_byte_is_a_located_error(syntax_run: tuple) -> None:
    (error,) = syntax_run[1]["nul.recipe"]
    assert (error.line, error.message) == (2, "the file contains a NUL byte")
    assert error.hint == "a recipe is a UTF-8 text file"


def test_binary_garbage_is_a_located_error(syntax_run: tuple) -> None:
    (error,) = syntax_run[1]["garbage.recipe"]
    # Bytes 0..127 are valid UTF-8 (byte 10 ends line 1); byte 0x80 is the first that is not.
    assert (error.line, error.col, error.message) == (2, 128 - 11 + 1, "the recipe is not valid UTF-8")


# ---- where the error is, when the text has unusual characters (CLI) ---------------------------------

LOCATION_FILES: dict[str, bytes] = {
    # U+2028 inside a string and a form feed inside a comment are not line breaks for the grammar.
    "linesep.recipe": 'source web = jsonl("a\u2028b.jsonl")\nfilter web { keep txt == "a" }\noutput "x"\n'.encode(),
    "formfeed.recipe": b'# a\x0cb\nsource web = jsonl("a.jsonl")\nfilter web { keep txt == "a" }\noutput "x"\n',
    # The bad byte comes after a two-byte character: the column counts characters, not bytes.
    "accent.recipe": b'source web = jsonl("a.jsonl")\noutput "\xc3\xa9\xff"\n',
}


@pytest.fixture(scope="module")
def location_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Shown]]:
    d = tmp_path_factory.mktemp("location")
    for name, data in LOCATION_FILES.items():
        (d / name).write_bytes(data)
    run = recipe_cli("check", *LOCATION_FILES, cwd=d)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    by_file: dict[str, list[Shown]] = {name: [] for name in LOCATION_FILES}
    for s in shown_errors(run.stderr):
        by_file[s.file].append(s)
    return by_file


@pytest.mark.parametrize("name", ["linesep.recipe", "formfeed.recipe"])
def test_unicode_line_breaks_do_not_shift_the_printed_source_line(location_run: dict, name: str) -> None:
    (error,) = location_run[name]
    line = 2 if name == "linesep.recipe" else 3
    assert (error.line, error.col, error.message) == (line, 19, "unknown column `txt`")
    assert error.source == '  filter web { keep txt == "a" }'
    assert error.caret == caret_line(19, 3)


def test_non_utf8_column_counts_characters(location_run: dict) -> None:
    (error,) = location_run["accent.recipe"]
    assert (error.line, error.col) == (2, len('output "é') + 1)
    assert error.caret.index("^") == error.source.index("\ufffd")


# ---- did you mean ------------------------------------------------------------------------------------

BASE = """\
recipe "demo" { seed 17 }
source web = jsonl("data/web/*.jsonl", text: "body")
source docs = parquet("data/docs/*.parquet", id: "url")
filter web {
  keep words(text) > 5
}
mix 1_000 docs { web 60%  docs 40% }
output "build/demo"
"""


def variant(old: str, new: str) -> str:
    assert BASE.count(old) == 1, old
    return BASE.replace(old, new)


def test_base_recipe_is_valid() -> None:
    recipe = check(parse(BASE))
    assert [s.name for s in recipe.sources] == ["web", "docs"]


# id: (old, new, line, token the error points at, message, hint)
NEAR_MISSES = {
    "source-in-filter": ("filter web {", "filter wbe {", 4, "wbe", "unknown source `wbe`", "did you mean `web`?"),
    "source-in-mix": ("web 60%", "wbe 60%", 7, "wbe", "unknown source `wbe`", "did you mean `web`?"),
    "function": ("keep words(text) > 5", "keep wrds(text) > 5", 5, "wrds", "unknown function `wrds`",
                 "did you mean `words`?"),
    "parameter": ('id: "url"', 'txt: "body", id: "url"', 3, "txt", "`parquet` has no parameter `txt`",
                  "did you mean `text`?"),
    "column": ("keep words(text) > 5", 'keep txt == "a"', 5, "txt", "unknown column `txt`", "did you mean `text`?"),
    "column-in-call": ("keep words(text) > 5", "keep words(txt) > 5", 5, "txt", "unknown column `txt`",
                       "did you mean `text`?"),
    "dedup-method": ("keep words(text) > 5", "dedup exakt", 5, "exakt", "unknown dedup method `exakt`",
                     "did you mean `exact`?"),
    "setting": ("seed 17", "sede 17", 1, "sede", "unknown setting `sede`", "did you mean `seed`?"),
    "source-format": ('jsonl("data/web', 'jsnl("data/web', 2, "jsnl", "unknown source format `jsnl`",
                      "did you mean `jsonl`?"),
    "output-format": ('output "build/demo"', 'output "build/demo" as parqet', 8, "parqet",
                      "unknown output format `parqet`", "did you mean `parquet`?"),
    "choice": ("keep words(text) > 5", 'keep stopwords("eng") > 5', 5, '"eng"',
               "`lang` of `stopwords` must be one of en, de, fr, es", "did you mean `en`?"),
    "function-as-column": ("keep words(text) > 5", "keep words > 5", 5, "words",
                           "`words` is a function, not a column", "write `words()`"),
}


@pytest.mark.parametrize("case", NEAR_MISSES.values(), ids=NEAR_MISSES.keys())
def test_near_misses_suggest_the_right_name(case: tuple) -> None:
    old, new, line, token, message, hint = case
    text = variant(old, new)
    errors = [e for e in errors_of(text) if e.message == message]
    assert len(errors) == 1, located(errors_of(text))
    (error,) = errors
    assert error.span is not None
    assert (error.span.line, error.span.col) == (line, col_of(text, line, token))
    assert error.hint == hint


def test_one_mistake_is_one_error() -> None:
    # A typo in the format of `source web` is one mistake: the blocks that use `web` must not also
    # report "unknown source `web`", since `web` is declared right there.
    text = variant('jsonl("data/web', 'jsnl("data/web')
    assert located(errors_of(text)) == [(2, 14, "unknown source format `jsnl`")]


def test_unknown_column_without_a_near_miss_lists_the_columns() -> None:
    (error,) = errors_of(variant("keep words(text) > 5", 'keep author == "x"'))
    assert error.message == "unknown column `author`"
    assert error.hint == "columns: doc_id, source, text, content_hash, meta, meta.FIELD"


# ---- types, ranges and units -------------------------------------------------------------------------

# id: (old, new, line, token, message)
TYPE_ERRORS = {
    "str-param-given-number": ("keep words(text) > 5", "drop symbol_ratio(3) > 10%", 5, "3",
                               "`symbol` of `symbol_ratio` must be a string in double quotes"),
    "bool-param-given-string": ("keep words(text) > 5", 'dedup exact(normalize: "yes")', 5, '"yes"',
                                "`normalize` of `exact` must be `true` or `false`"),
    "seed-out-of-range": ("seed 17", "seed 99_999_999_999_999_999_999", 1, "99_",
                          "`value` of `seed` is out of range: 99_999_999_999_999_999_999"),
    "seed-not-whole": ("seed 17", "seed 1.5", 1, "1.5", "`value` of `seed` must be a whole number"),
    "missing-argument": ("keep words(text) > 5", "drop symbol_ratio() > 1", 5, "symbol_ratio",
                         "`symbol_ratio` needs the argument `symbol`"),
    "too-many-arguments": ("keep words(text) > 5", 'keep words(text, "b") > 1', 5, '"b"',
                           "`words` takes at most 1 argument(s)"),
    "text-param-given-number": ("keep words(text) > 5", "keep words(5) > 1", 5, "5)",
                                "`text` of `words` must be a string expression"),
    "mix-not-100": ("docs 40%", "docs 30%", 7, "mix", "mix weights add up to 90%, not 100%"),
    "mix-weight-not-percent": ("docs 40%", "docs 40", 7, "40 ", "a mix weight is a percentage"),
    "mix-weight-over-100": ("web 60%  docs 40%", "web 160%  docs 40%", 7, "160%",
                            "a mix weight is between 0% and 100%"),
    "number-vs-string": ("keep words(text) > 5", 'keep words(text) == "x"', 5, "==",
                         "cannot compare number with string"),
    "string-vs-number": ("keep words(text) > 5", "keep text > 5", 5, ">", "cannot compare string with number"),
    "not-a-condition": ("keep words(text) > 5", "keep words(text)", 5, "words",
                        "a condition must be true or false, but this is a number"),
    "where-not-a-condition": ("web 60%", "web 60% where words(text)", 7, "words(",
                              "a condition must be true or false, but this is a number"),
    "not-of-number": ("keep words(text) > 5", "keep not words(text)", 5, "words",
                      "expected a bool, got a number"),
    "arithmetic-on-string": ("keep words(text) > 5", "keep words(text) + text > 5", 5, "text >",
                             "expected a number, got a string"),
    "between-strings": ("keep words(text) > 5", 'keep text between "a" and "b"', 5, "text",
                        "expected a number, got a string"),
    "ordering-booleans": ("keep words(text) > 5", "keep true < false", 5, "<", "`<` does not order booleans"),
    "list-outside-in": ("keep words(text) > 5", 'keep meta.lang == ["en"]', 5, "[",
                        "a list is only allowed after `in`"),
    "list-of-non-literals": ("keep words(text) > 5", "keep meta.lang in [text]", 5, "text]",
                             "list items must be literals"),
    "list-type-mismatch": ("keep words(text) > 5", 'keep words(text) in [1, "two"]', 5, '"two"',
                           "this list holds strings but the value is a number"),
    "invalid-regex": ("keep words(text) > 5", 'drop text ~ "(unclosed"', 5, '"(',
                      "invalid regular expression: missing ), unterminated subpattern at position 0"),
    "regex-on-number": ("keep words(text) > 5", 'drop words(text) ~ "a"', 5, "words",
                        "expected a string, got a number"),
    "max-epochs-below-1": ("docs 40%", "docs 40% max_epochs 0", 7, "0 }",
                           "`max_epochs` is a number of passes, at least 1"),
    "budget-without-unit": ("mix 1_000 docs", "mix 1_000", 7, "1_000", "the budget needs a unit"),
    "token-budget": ("mix 1_000 docs", "mix 1_000 tokens", 7, "tokens", "a token budget needs the recipe's tokenizer"),
    "budget-unit-typo": ("mix 1_000 docs", "mix 1_000 dcos", 7, "dcos", "unknown budget unit `dcos`"),
    "size-budget-in-docs": ("mix 1_000 docs", "mix 1GB docs", 7, "1GB", "`1GB` is not a number of docs"),
    "fractional-budget": ("mix 1_000 docs", "mix 0.5 docs", 7, "0.5", "the budget must be a positive whole number"),
    "shard-too-small": ('output "build/demo"', 'output "build/demo" shard 0.5KB', 8, "0.5KB",
                        "a shard size under 1KB is not useful"),
    "shard-zero-rows": ('output "build/demo"', 'output "build/demo" shard 0 rows', 8, "0 rows",
                        "a shard holds at least one row"),
    "shard-unreadable": ('output "build/demo"', 'output "build/demo" shard 10 bytes', 8, "10 bytes",
                         "cannot read shard limit `10 bytes`"),
    "remote-output": ('output "build/demo"', 'output "https://example.org/demo"', 8, '"https',
                      "cannot write a build to `https://`"),
    "sort-by-condition": ('output "build/demo"', 'order { sort words(text) > 3 }\noutput "build/demo"', 8, "words",
                          "sort by a number or a string, not a condition"),
}


@pytest.mark.parametrize("case", TYPE_ERRORS.values(), ids=TYPE_ERRORS.keys())
def test_type_range_and_unit_errors_are_located(case: tuple) -> None:
    old, new, line, token, message = case
    text = variant(old, new)
    errors = errors_of(text)
    assert (line, col_of(text, line, token), message) in located(errors), located(errors)


@pytest.mark.parametrize(("old", "new", "hints"), [
    ("web 60%  docs 40%", "web 0.6  docs 0.4", ["write `60%`", "write `40%`"]),
    ("docs 40%", "docs 40", ["write `40%`"]),
], ids=["fractions", "percent-sign-left-out"])
def test_a_mix_weight_without_percent_sign_hints_the_percentage(old: str, new: str, hints: list[str]) -> None:
    errors = errors_of(variant(old, new))
    assert [e.hint for e in errors if e.message == "a mix weight is a percentage"] == hints


def test_mix_weights_must_sum_to_100_and_the_hint_says_so() -> None:
    errors = errors_of(variant("docs 40%", "docs 30%"))
    (error,) = errors
    assert error.hint == "make the percentages sum to 100"
    assert error.span is not None and (error.span.line, error.span.col) == (7, 1)


def test_seed_range_hint_names_the_bounds() -> None:
    (error,) = errors_of(variant("seed 17", "seed 99_999_999_999_999_999_999"))
    assert error.hint.startswith("allowed: 0 to ")


def test_source_used_before_it_is_declared() -> None:
    text = ('filter web { keep words(text) > 5 }\n'
            'source web = jsonl("a.jsonl")\n'
            'output "build/x"\n')
    (error,) = errors_of(text)
    assert located([error]) == [(1, 8, "source `web` is used before it is declared (line 2)")]
    assert error.hint == "declare sources before the blocks that use them"


def test_source_used_in_mix_before_it_is_declared() -> None:
    text = ('source web = jsonl("a.jsonl")\n'
            "mix 10 docs { web 50% late 50% }\n"
            'source late = jsonl("b.jsonl")\n'
            'output "build/x"\n')
    assert located(errors_of(text)) == [(2, 23, "source `late` is used before it is declared (line 3)")]


def test_source_declared_twice() -> None:
    text = variant('source docs = parquet("data/docs/*.parquet", id: "url")\n',
                   'source docs = parquet("data/docs/*.parquet", id: "url")\nsource web = parquet("b.parquet")\n')
    (error,) = errors_of(text)
    assert located([error]) == [(4, 8, "source `web` is declared twice")]
    assert error.hint == "it was first declared on line 2; rename one of them"


def test_second_filter_block_for_a_source() -> None:
    text = variant("mix 1_000", "filter web { keep true }\nmix 1_000")
    (error,) = errors_of(text)
    assert located([error]) == [(7, 8, "source `web` already has a filter block")]
    assert error.hint == "merge it into the block on line 4"


def test_positional_argument_of_the_wrong_type_is_one_error() -> None:
    # `symbol_ratio(3)` gives the symbol, with the wrong type: that is one mistake, not also a missing argument.
    text = variant("keep words(text) > 5", "drop symbol_ratio(3) > 10%")
    assert located(errors_of(text)) == [
        (5, 21, "`symbol` of `symbol_ratio` must be a string in double quotes")]


def test_invalid_choice_for_a_source_parameter_is_a_located_error() -> None:
    text = variant('text: "body")', 'text: "body", on_error: "skip")')
    try:
        errors = errors_of(text)
    except KeyError as exc:
        pytest.fail(f"checking `on_error: \"skip\"` crashed with KeyError {exc}")
    assert located(errors) == [(2, col_of(text, 2, '"skip"'),
                                "`on_error` of `jsonl` must be one of fail, quarantine")]


def test_every_error_carries_a_hint() -> None:
    # `recipe check` prints a `hint:` line under every error.
    missing = sorted({error.message for old, new, *_ in [*NEAR_MISSES.values(), *TYPE_ERRORS.values()]
                      for error in errors_of(variant(old, new)) if not error.hint})
    assert missing == [], "errors without a hint:\n" + "\n".join(missing)


def test_errors_are_all_reported_in_source_order() -> None:
    errors = errors_of(BAD)
    assert [(e.span.line, e.span.col, e.message, e.hint) for e in errors if e.span] == [
        (line, col, msg, hint) for line, col, _, msg, hint in BAD_ERRORS]


# ---- crashes that must be user errors (CLI) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "token", "message_part"),
    [
        ('output "x" shard 1e400 rows', "1e400", "too large"),
        ('output "x"\nsource docs = jsonl("b.jsonl", on_error: "skip")', '"skip"', "on_error"),
    ],
    ids=["huge-shard-rows", "bad-on-error-choice"],
)
def test_check_never_crashes_with_an_internal_error(tmp_path: Path, body: str, token: str,
                                                     message_part: str) -> None:
    text = f'source web = jsonl("a.jsonl")\n{body}\n'
    (tmp_path / "r.recipe").write_text(text)
    run = recipe_cli("check", "r.recipe", cwd=tmp_path)
    assert "internal error" not in run.stderr and "Traceback" not in run.stderr, run.stderr
    assert run.returncode == 2
    (error,) = shown_errors(run.stderr)
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if token in ln)
    assert (error.line, error.col) == (line, col_of(text, line, token))
    assert message_part in error.message


# ---- the `sql` escape hatch --------------------------------------------------------------------------


def test_sql_scalar_expression_is_accepted_and_lowered() -> None:
    text = variant("keep words(text) > 5", "keep sql \"length(text) > 3 and source = 'web'\"")
    sql = plan(check(parse(text)), {}).stage("filter_web").sql
    rule_line = next(ln for ln in sql.splitlines() if "THEN 'keep sql" in ln)
    assert "coalesce(CAST((LENGTH(text) > 3 AND source = 'web') AS BOOLEAN), false)" in rule_line


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("(select 1) = 1", "`sql` may not contain SUBQUERY"),
        ("read_csv('/etc/passwd') is null", "`sql` may not call `read_csv`"),
        ("getenv('HOME') = 'x'", "`sql` may not call `getenv`"),
        ("length(txt) > 3", "unknown column `txt` in `sql`"),
        ("1; drop table x", "`sql` takes exactly one expression"),
        ("text in (select text from read_parquet('x'))", None),
    ],
    ids=["subquery", "table-function", "getenv", "unknown-column", "two-statements", "nested-table-function"],
)
def test_sql_escape_hatch_rejects_queries_files_and_unknown_columns(expression: str, message: str | None) -> None:
    text = variant("keep words(text) > 5", f'keep sql "{expression}"')
    (error,) = errors_of(text)
    assert error.span is not None
    assert (error.span.line, error.span.col) == (5, col_of(text, 5, "sql"))
    if message is not None:
        assert error.message == message
    assert error.hint


def test_sql_unknown_column_suggests_the_near_miss() -> None:
    (error,) = errors_of(variant("keep words(text) > 5", 'keep sql "length(txt) > 3"'))
    assert error.hint == "did you mean `text`?"


# ---- recipe literals stay SQL literals ---------------------------------------------------------------

INJECTION = "'); COPY (SELECT 1) TO '/tmp/x'; --"


def quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def test_sql_in_a_filter_literal_stays_a_quoted_string() -> None:
    rule = f'drop text == "{INJECTION}"'
    text = variant("keep words(text) > 5", f"{rule}\n  keep meta.lang in [\"x'; DROP TABLE t; --\"]")
    stage = plan(check(parse(text)), {}).stage("filter_web")
    # The value and the rule's label (the drop ledger's name for the rule) are SQL-quoted.
    assert f'("text" = {quoted(INJECTION)})' in stage.sql
    assert f"THEN {quoted(rule)}" in stage.sql
    assert quoted("x'; DROP TABLE t; --") in stage.sql
    # DuckDB itself sees the same three statements as for a harmless rule, none of them a COPY or DROP.
    kinds = [st.type.name for st in duckdb.extract_statements(stage.sql)]
    assert kinds == ["CREATE", "SELECT", "SELECT"]
    assert [target for target, _ in stage.statements()] == ["", "data", "ledger"]


def test_sql_in_a_mix_where_literal_stays_a_quoted_string() -> None:
    text = variant("web 60%", f'web 60% where meta.url == "{INJECTION}"')
    stage = plan(check(parse(text)), {}).stage("mix")
    assert quoted(INJECTION) in stage.sql
    assert quoted(f'where meta.url == "{INJECTION}"') in stage.sql
    assert "COPY" not in {st.type.name for st in duckdb.extract_statements(stage.sql)}


def test_newlines_in_a_literal_cannot_start_a_new_statement() -> None:
    value = "x';\nCOPY (SELECT 1) TO '/tmp/x';\n--"
    text = variant("keep words(text) > 5", 'drop text == "x\';\\nCOPY (SELECT 1) TO \'/tmp/x\';\\n--"')
    stage = plan(check(parse(text)), {}).stage("filter_web")
    assert literal(value) in stage.sql
    assert [target for target, _ in stage.statements()] == ["", "data", "ledger"]
    assert [st.type.name for st in duckdb.extract_statements(stage.sql)] == ["CREATE", "SELECT", "SELECT"]


def test_a_comment_ending_in_a_semicolon_does_not_end_a_statement() -> None:
    from datarecipe.compiler.lower import statements

    script = ("-- a note; then more\nCREATE TABLE t AS\n-- about the next line;\nSELECT 1 AS x;\n"
              "-- @data\nSELECT x\nFROM t;\n")
    assert statements(script) == [("", "CREATE TABLE t AS\nSELECT 1 AS x"), ("data", "SELECT x\nFROM t")]


def test_source_path_is_never_pasted_into_sql() -> None:
    # A path is a recipe literal too; a newline in it must not turn the rest of it into SQL.
    text = variant('jsonl("data/web/*.jsonl"', "jsonl(\"a.jsonl\\nCOPY (SELECT 1) TO '/tmp/x';\\nSELECT 1\"")
    stage = plan(check(parse(text)), {}).stage("ingest_web")
    statements = stage.statements()
    assert len(statements) == 1, statements
    assert "COPY" not in statements[0][1]


@pytest.mark.parametrize(
    ("value", "sql"),
    [
        ("it's", "'it''s'"),
        (INJECTION, "'''); COPY (SELECT 1) TO ''/tmp/x''; --'"),
        ("", "''"),
        ("a\nb", "('a' || chr(10) || 'b')"),
        ("\x00", "chr(0)"),
        (True, "TRUE"),
        (False, "FALSE"),
        (3, "3"),
        (0.25, "0.25"),
        (float("inf"), "'inf'::DOUBLE"),
        (["en", "d'e"], "['en', 'd''e']"),
    ],
)
def test_literal_quotes_values_as_sql(value: object, sql: str) -> None:
    assert literal(value) == sql


def test_literal_round_trips_through_duckdb() -> None:
    con = duckdb.connect()
    for value in [INJECTION, "it's", "a\nb;\n--c", "tab\there", "\\'", "é ü 中文"]:
        assert con.execute(f"SELECT {literal(value)}").fetchone() == (value,)


# ---- the generated language reference ---------------------------------------------------------------


def test_docs_command_writes_the_committed_reference(tmp_path: Path) -> None:
    run = recipe_cli("docs", "-o", str(tmp_path / "reference.md"), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    written = (tmp_path / "reference.md").read_text(encoding="utf-8")
    assert written == reference()
    committed = ROOT / "docs" / "reference.md"
    assert committed.exists(), "docs/reference.md is not committed; run `recipe docs`"
    assert committed.read_text(encoding="utf-8") == written, "docs/reference.md is stale; run `recipe docs`"


def test_reference_documents_every_operator_and_parameter() -> None:
    text = reference()
    headings = [line for line in text.splitlines() if line.startswith("### ")]
    for op in builtins():  # plugins have a section of their own, with `recipe docs --plugins`
        kind, name = op.kind, op.name
        if kind in ("setting", "mix_setting"):
            assert f"### `{name}`" in headings, name
        elif kind == "pack":
            assert f"### `apply {name}(...)`" in headings, name
            for p in op.params:
                assert f"| `{p.name}` |" in text, (name, p.name)
        else:
            heading = f"### `{name}({', '.join(p.name for p in op.params)})`"
            assert heading in headings, heading
            for p in op.params:
                assert f"| `{p.name}` |" in text, (name, p.name)
    assert len(headings) == len(builtins())
