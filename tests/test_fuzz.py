"""Fuzzing `recipe check`: whatever a user writes, the compiler answers with a CheckedRecipe or with
located errors (`file:line:col: error: ...`), never with another exception. Mutated recipes (tokens
deleted or duplicated, lines swapped, odd unicode, huge numbers, deep nesting, truncation, random bytes)
go through the pure `parse` + `check` (+ `plan` when they check) in-process; a set of fixed nasty files
goes through the `recipe check` command."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from datarecipe.compiler.language.checker import check
from datarecipe.compiler.language.errors import RecipeError, RecipeErrors, render
from datarecipe.compiler.language.parser import parse
from datarecipe.compiler.language.spec import CANONICAL, CheckedRecipe
from datarecipe.compiler.plan import plan
from datarecipe.operators import REGISTRY
from datarecipe.runtime.plugins import load_entry_points
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
_SCRIPT = Path(sys.executable).with_name("recipe")
RECIPE_CMD = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "datarecipe.runtime.cli"]

# Each case gets this long for parse + check (+ plan). Generous: a bound on pathologies, not a benchmark.
CASE_SECONDS = 1.0

# ---- the recipes that get mutated ----------------------------------------------------------------------

HAND_WRITTEN = [
    # Most of the language on a few lines.
    """\
recipe "fuzz-base" { seed 17 license "CC-BY-4.0" tokenizer "gpt2" }
source web = jsonl("data/web/*.jsonl.gz", text: "body", id: "id", on_error: "quarantine")
source docs = parquet("data/docs/*.parquet", id: "url")
source notes = text("data/notes/**/*.txt")
filter web {
  keep words(text) between 5 and 100_000
  drop symbol_ratio("#") > 10% or symbol_ratio("...") > 0.1
  keep meta.lang in ["en", "de"] and not (meta.year < 1990)
  keep meta.lang not in ["xx"]
  drop text ~ "(?i)lorem\\s+ipsum" or text !~ "\\w"
  keep stopwords("de") >= 2 and mean_word_length() * 2 - 1 <= 40 / 2 % 7
  dedup exact(normalize: true)
}
filter docs {
  keep sql "length(text) > 3 and source = 'docs'"
  drop -words(lower(text)) > -2
  dedup exact
}
mix 2K docs {
  web 60% where meta.year > 2000 max_epochs 2
  docs 30%
  notes 10% max_epochs 3
}
order { sort length(text) desc  shuffle }
output "build/fuzz" as jsonl shard 64MiB, 10_000 rows
""",
    # Unicode in strings and comments, escapes, a byte budget.
    """\
# Ünïcødé 😀 שלום עולם — comments may hold anything
recipe "uni" { seed 0 license "Ünïcødé 😀 \\"quoted\\" \\t tab" }
source a = jsonl("data/ünï/*.jsonl", text: "tëxt")  # ‮RTL override in a comment
source b = jsonl("data/b.jsonl")
filter a {
  drop text ~ "😀+|שלום|e\u0301"
  keep meta.title != "ℌ𝔢𝔩𝔩𝔬"
}
mix 10MB { a 70%  b 30% where uppercase_ratio() < 0.5 }
order { sort meta.year asc }
output "build/uni" shard 1GB
""",
    # The smallest valid recipe.
    'source a = text("x/*.txt")\noutput "o"\n',
    # Arithmetic, unit suffixes and a sort on an arithmetic key.
    """\
recipe "numbers" { seed 9_007_199_254_740_991 }
source s = parquet("s.parquet")
filter s {
  keep bytes() >= 1KiB and bytes() <= 2.5M and length() > 1e3
  drop (digit_ratio() + alpha_ratio()) / 2 > 90%
  keep lines() between 1 and 1.5K
}
mix 1_000_000 docs { s 100% }
order { sort bytes() / (lines() + 1) }
output "build/numbers" as parquet shard 100 rows
""",
]

SEEDS = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "recipes").glob("*.recipe"))] + HAND_WRITTEN

# Characters that have broken tools before: line and paragraph separators, form feed and other controls,
# combining marks, zero-width and bidi controls, a BOM, emoji (with ZWJ and skin tone), RTL and CJK text.
ODD = ["\u2028", "\u2029", "\x0c", "\x0b", "\r", "\r\n", "\x85", "\x1b[31m", "\x7f", "\t",
       "e\u0301", "\u0301", "\u0301\u0301\u0301", "\u200b", "\u200d", "\u200e", "\u202e", "\u2066", "\ufeff",
       "\ufffd", "😀", "👩‍👩‍👧‍👦", "👍🏽", "🏳️‍🌈", "שלום", "مرحبا", "日本語", "ℌ𝔢𝔩𝔩𝔬", "\U0010ffff",
       "'", '"', "\\", "\\\"", "#", "{", "}", "(", ")", "[", "]", "%", "~", "!~", ":", ",", "=", "."]

# What replaces a number: overflow to inf, 400-digit integers, int64 bounds, denormals.
HUGE_NUMBERS = ["1e400", "1" + "0" * 400, "9" * 400 + "%", "1" + "0" * 400 + "MB", "1e308", "1e309", "1e-400",
                "0." + "0" * 400 + "1", "1e30", "1.0000001e30", "9_223_372_036_854_775_807",
                "9_223_372_036_854_775_808", "18446744073709551616", "4294967296", "0", "0.0", "00", "1_",
                "1e99999999999999999999", "1" * 5000, "1.5TiB", "999T"]

# Ordinary numbers, for mutants that stay well-formed and reach the checker.
NUMBERS = ["0", "1", "2", "-1", "0.5", "1.5", "50%", "100%", "0%", "150%", "1e-3", "2B", "10K", "1KB", "999",
           "128MB", "3MiB", "1_000", "1__0", "7T", "0.0001%"]

# Names that can replace a name: every operator and parameter, the columns, keywords, units and near misses.
NAMES = sorted({name for _, name in REGISTRY} | {p.name for op in REGISTRY.values() for p in op.params}
               | set(CANONICAL) | {"meta", "keep", "drop", "dedup", "apply", "where", "max_epochs", "shuffle", "sort",
                                   "asc", "desc", "and", "or", "not", "in", "between", "true", "false", "sql", "as",
                                   "shard", "recipe", "source", "filter", "mix", "order", "output", "docs", "bytes",
                                   "tokens", "rows", "parquet", "jsonl", "csv", "wrds", "txt", "exakt", "web",
                                   "notes", "a", "b", "s", "pydocs", "handbook", "code", "_", "x" * 300})

# Text for the inside of a string literal: regexes and SQL that have edge cases of their own.
STRING_PIECES = ["a{4294967296}", "a{99999999999999999999}", "a{2,1}", "(", ")", "[", "\\", "(?P<x>", "(?<=a+)",
                 "*", "+?", "\\1", "\\p{L}", "%", "'", "''", ";", "--", "/*", "select 1", "read_csv('x')",
                 "text", "length(text) > 3", "CAST(", "::", "$1", "?", "{", "}", "\\n", "\\t", "\\\"", "😀",
                 "\u2028", "\x0c", "e\u0301", "://", "", " "]

_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|\d[\w.]*(?:[eE][+-]?\d+)?%?|[A-Za-z_]\w*|!~|[=!<>]=|\S')
_NAME = re.compile(r"(?<![\w.\"])[A-Za-z_]\w*")
_NUMBER = re.compile(r"\d[\w.]*(?:[eE][+-]?\d+)?%?")
_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')


def _tokens(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _TOKEN.finditer(text)]


# ---- mutations -------------------------------------------------------------------------------------------


@st.composite
def _delete_token(draw: st.DrawFn, text: str) -> str:
    tokens = _tokens(text)
    if not tokens:
        return text
    a, b = draw(st.sampled_from(tokens))
    return text[:a] + text[b:]


@st.composite
def _duplicate_token(draw: st.DrawFn, text: str) -> str:
    tokens = _tokens(text)
    if not tokens:
        return text
    a, b = draw(st.sampled_from(tokens))
    return text[:b] + draw(st.sampled_from([" ", ""])) + text[a:b] + text[b:]


@st.composite
def _move_token(draw: st.DrawFn, text: str) -> str:
    tokens = _tokens(text)
    if len(tokens) < 2:
        return text
    a, b = draw(st.sampled_from(tokens))
    token, rest = text[a:b], text[:a] + text[b:]
    at = draw(st.integers(0, len(rest)))
    return rest[:at] + " " + token + " " + rest[at:]


@st.composite
def _swap_lines(draw: st.DrawFn, text: str) -> str:
    lines = text.split("\n")
    i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
    lines[i], lines[j] = lines[j], lines[i]
    return "\n".join(lines)


@st.composite
def _insert_unicode(draw: st.DrawFn, text: str) -> str:
    junk = draw(st.one_of(st.sampled_from(ODD), st.text(min_size=1, max_size=8),
                          st.lists(st.sampled_from(ODD), min_size=1, max_size=6).map("".join)))
    at = draw(st.integers(0, len(text)))
    return text[:at] + junk + text[at:]


@st.composite
def _replace_number(draw: st.DrawFn, text: str) -> str:
    numbers = [m.span() for m in _NUMBER.finditer(text)]
    huge = draw(st.one_of(st.sampled_from(HUGE_NUMBERS), st.integers(0, 10**400).map(str),
                          st.sampled_from(NUMBERS)))
    if not numbers:
        return text + " " + huge
    a, b = draw(st.sampled_from(numbers))
    return text[:a] + huge + text[b:]


@st.composite
def _replace_name(draw: st.DrawFn, text: str) -> str:
    names = [m.span() for m in _NAME.finditer(text)]
    if not names:
        return text
    a, b = draw(st.sampled_from(names))
    return text[:a] + draw(st.sampled_from(NAMES)) + text[b:]


@st.composite
def _replace_string(draw: st.DrawFn, text: str) -> str:
    strings = [m.span() for m in _STRING.finditer(text)]
    if not strings:
        return text
    a, b = draw(st.sampled_from(strings))
    inner = draw(st.lists(st.sampled_from(STRING_PIECES), min_size=1, max_size=5).map("".join))
    return text[:a] + '"' + inner.replace('"', '\\"') + '"' + text[b:]


@st.composite
def _deep_nesting(draw: st.DrawFn, text: str) -> str:
    """Hundreds of parentheses, `not`s, minus signs or brackets, balanced or not, somewhere in the text."""
    n = draw(st.integers(50, 1200))
    opener, closer = draw(st.sampled_from([("(", ")"), ("not ", ""), ("- ", ""), ("[", "]"), ("(not ", ")"),
                                           ("words(", ")"), ("(", "")]))
    anchors = [m.end() for m in re.finditer(r"\b(?:keep|drop|where|sort)\b", text)]
    at = draw(st.sampled_from(anchors)) if anchors and draw(st.booleans()) else draw(st.integers(0, len(text)))
    end = text.find("\n", at)
    end = len(text) if end < 0 else end
    return text[:at] + " " + opener * n + text[at:end] + closer * n + text[end:]


@st.composite
def _truncate(draw: st.DrawFn, text: str) -> str:
    return text[:draw(st.integers(0, len(text)))]


MUTATIONS = (_delete_token, _duplicate_token, _move_token, _swap_lines, _insert_unicode, _truncate, _deep_nesting,
             _replace_number, _replace_name, _replace_string)
# These usually keep the text well-formed, so their mutants get past the parser to the checker and plan.
WELL_FORMED_MUTATIONS = (_replace_number, _replace_name, _replace_string)


@st.composite
def mutated_recipes(draw: st.DrawFn, mutations: tuple = MUTATIONS) -> str:
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.sampled_from([1, 1, 2, 3]))):
        text = draw(draw(st.sampled_from(mutations))(text))
    return text


def _bytes_as_text(data: bytes) -> str:
    # What `recipe check` hands the parser for arbitrary bytes: UTF-8, or (after reporting) with replacements.
    return data.decode("utf-8", "replace")


recipe_texts = st.one_of(
    mutated_recipes(),
    mutated_recipes(),
    mutated_recipes(WELL_FORMED_MUTATIONS),
    mutated_recipes(WELL_FORMED_MUTATIONS),
    st.sampled_from(["", "\n", " ", "\t\n\r", "#", "\ufeff", "\u2028", "\x0c", "recipe", "source", "}", "{"]),
    st.binary(max_size=600).map(_bytes_as_text),
    st.binary(max_size=600).map(lambda b: b.decode("latin-1")),  # every byte, NUL included, as a code point
    st.text(max_size=300),
)

# ---- the property ---------------------------------------------------------------------------------------


def assert_checks_or_reports(text: str) -> CheckedRecipe | None:
    """parse + check give a CheckedRecipe (which then plans) or located, renderable RecipeErrors."""
    start = time.perf_counter()
    checked = None
    try:
        checked = check(parse(text))
    except RecipeErrors as exc:
        errors = exc.errors
        assert errors, "RecipeErrors without a single error: the user would see nothing"
        for error in errors:
            assert isinstance(error, RecipeError), error
            assert error.span is not None, f"error without a location: {error.message!r}"
            assert error.span.line >= 1 and error.span.col >= 1, error
            assert isinstance(error.message, str) and error.message.strip(), error
            shown = render(error, "f.recipe", text)
            assert isinstance(shown, str)
            assert shown.startswith(f"f.recipe:{error.span.line}:{error.span.col}: error:"), shown[:200]
    else:
        assert isinstance(checked, CheckedRecipe)
        plan(checked, {})
    elapsed = time.perf_counter() - start
    assert elapsed < CASE_SECONDS, f"took {elapsed:.2f}s (bound {CASE_SECONDS}s) on {text[:200]!r}"
    return checked


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    """Load the installed plugins (recipes/plugin-example.recipe uses the example plugin's operators), build the
    lark parser and render the macros once, so the per-case time bound measures the case."""
    load_entry_points()
    plan(check(parse(HAND_WRITTEN[0])), {})


def test_seed_recipes_check_and_plan() -> None:
    # Mutations start from valid recipes, so most mutants are one mistake away from valid.
    for text in SEEDS:
        try:
            check(parse(text))
        except RecipeErrors as exc:
            pytest.fail(f"{text[:60]!r}: " + "; ".join(str(e) for e in exc.errors))
        assert assert_checks_or_reports(text) is not None


BASE = 'source web = jsonl("a.jsonl")\nfilter web {\n  keep %s\n}\noutput "build/x"\n'

EDGE_CASES = {
    "empty": "",
    "only-newlines": "\n\n\n",
    "only-crs": "\r\r\r",
    "only-comment": "# nothing here",
    "bom": "\ufeff" + BASE % "true",
    "line-separator-outside-string": BASE % "\u2028true",
    "line-separator-in-string": BASE % 'text == "a\u2028b"',
    "form-feed": BASE % "\x0ctrue",
    "combining-mark-in-name": BASE % "te\u0301xt == \"a\"",
    "emoji-name": BASE % "😀 > 1",
    "rtl-override": BASE % "\u202etrue",
    "rtl-text-in-string": BASE % 'text == "שלום"',
    "nul": BASE % "\x00",
    "1e400": BASE % "words() > 1e400",
    "10**400": BASE % f"words() > {10**400}",
    "10**400-percent": BASE % f"symbol_ratio(\"#\") > {10**400}%",
    "huge-exponent": BASE % "words() > 1e99999999999999999999",
    "huge-seed": 'recipe "x" { seed ' + "9" * 400 + ' }\n' + BASE % "true",
    "huge-mix-budget": 'source web = jsonl("a.jsonl")\nmix 1e30 docs { web 100% }\noutput "x"\n',
    "huge-shard": 'source web = jsonl("a.jsonl")\noutput "x" shard 1e30 rows, 1e30\n',
    "huge-max-epochs": 'source web = jsonl("a.jsonl")\nmix 1K docs { web 100% max_epochs 1e30 }\noutput "x"\n',
    "tiny-weight": 'source web = jsonl("a.jsonl")\nmix 1K docs { web 1e-400% }\noutput "x"\n',
    "parens-300": BASE % ("(" * 300 + "true" + ")" * 300),
    "parens-300-unclosed": BASE % ("(" * 300 + "true"),
    "not-300": BASE % ("not " * 300 + "true"),
    "not-1000": BASE % ("not " * 1000 + "true"),
    "minus-500": BASE % ("- " * 500 + "1 > 0"),
    "brackets-500": BASE % ("text in " + "[" * 500 + '"a"' + "]" * 500),
    "calls-300": BASE % ("words(" * 300 + "text" + ")" * 300 + " > 1"),
    "and-chain-2000": BASE % " and ".join(["true"] * 2000),
    "regex-repeat-overflow": BASE % 'text ~ "a{4294967296}"',
    "regex-nested-groups": BASE % ('text ~ "' + "(" * 1000 + ")" * 1000 + '"'),
    "sql-nested": BASE % ('sql "' + "(" * 1000 + "1" + ")" * 1000 + ' = 1"'),
    "sql-garbage": BASE % 'sql "CAST(text AS"',
    "truncated-mid-string": 'source web = jsonl("a.js',
    "truncated-mid-block": 'source web = jsonl("a.jsonl")\nfilter web {\n  keep words(',
}


@pytest.mark.parametrize("text", list(EDGE_CASES.values()), ids=list(EDGE_CASES))
def test_edge_cases_check_or_report_located_errors(text: str) -> None:
    assert_checks_or_reports(text)


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(recipe_texts)
@example("")
@example(SEEDS[0][: len(SEEDS[0]) // 2])
def test_mutated_recipes_check_or_report_located_errors(text: str) -> None:
    assert_checks_or_reports(text)


# ---- the command, on files no editor would write ---------------------------------------------------------


def _nasty_files() -> dict[str, bytes]:
    rng = random.Random(20260101)
    valid = HAND_WRITTEN[0].encode()
    base = BASE.encode()
    files = {
        "random-4k.recipe": rng.randbytes(4096),
        "random-64k.recipe": rng.randbytes(65536),
        "random-ascii.recipe": bytes(rng.choice(b"(){}[]\"#%~!=<>.,:;-+*/ \n\tazAZ09_") for _ in range(8192)),
        "nul-only.recipe": b"\x00",
        "nul-in-recipe.recipe": valid[:200] + b"\x00" + valid[200:],
        "invalid-utf8-start.recipe": b"\xff\xfe" + valid,
        "invalid-utf8-in-string.recipe": valid.replace(b'"build/fuzz"', b'"build/\xc3\x28fuzz"'),
        "truncated-utf8.recipe": valid + b'# \xe2\x82',
        "overlong-utf8.recipe": b'output "\xc0\xaf"\n',
        "utf16.recipe": HAND_WRITTEN[2].encode("utf-16"),
        "empty.recipe": b"",
        "parens-10000.recipe": base % (b"(" * 10000 + b"words(text)" + b")" * 10000),
        "parens-10000-unclosed.recipe": base % (b"(" * 10000 + b"true"),
        "not-10000.recipe": base % (b"not " * 10000 + b"true"),
        "line-1mb.recipe": b"x" * 1_000_000 + b"\n",
        "line-1mb-parens.recipe": b"(" * 1_000_000,
        "line-1mb-string.recipe": b'output "' + b"a" * 1_000_000 + b'"\n',
        "unicode-controls.recipe": "\u2028\x0c\u202e😀e\u0301שלום\n".encode() * 100,
        "huge-numbers.recipe": (base % (b"words() > 1e400 and bytes() > " + b"1" * 400)),
        "regex-repeat-overflow.recipe": base % b'text ~ "a{4294967296}"',
        "many-errors.recipe": base % b"\n  keep ".join([b"nope > 1"] * 2000),
    }
    return files


def test_recipe_check_on_nasty_files_reports_located_errors(tmp_path: Path) -> None:
    files = _nasty_files()
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    env = {**os.environ, "COLUMNS": "200", "PYTHONIOENCODING": "utf-8"}
    env.pop("DATARECIPE_DEBUG", None)
    # One process for all files: `recipe check FILE...` checks each and exits 2 if any has errors.
    run = subprocess.run([*RECIPE_CMD, "check", *files], cwd=tmp_path, capture_output=True, text=True,
                         encoding="utf-8", errors="replace", env=env, timeout=120)
    crashes = [line for line in run.stderr.splitlines() if "Traceback" in line or "internal error" in line]
    unreported = [name for name in files
                  if not re.search(rf"^{re.escape(name)}:\d+:\d+: error: ", run.stderr, re.M)]
    # `recipe check` stops at an internal error, so the first unreported file is the one that crashed.
    assert not crashes, f"{crashes} while checking {unreported[:1]}"
    assert run.returncode == 2, (run.returncode, run.stderr[-2000:])
    assert not unreported, f"no `file:line:col: error:` for {unreported}"
    assert run.stdout.strip() == "", run.stdout[:500]
