"""The recipe grammar: numbers with separators and units, strings, names, the AST it builds, and the
located syntax errors it raises (all of them at once, one per broken top-level block)."""

from __future__ import annotations

import pytest
from datarecipe.compiler.language import ast
from datarecipe.compiler.language.checker import check
from datarecipe.compiler.language.errors import RecipeError, RecipeErrors
from datarecipe.compiler.language.parser import parse
from datarecipe.compiler.plan import plan

DEMO = """\
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


def syntax_errors(text: str) -> list[RecipeError]:
    with pytest.raises(RecipeErrors) as info:
        parse(text)
    return info.value.errors


def where(error: RecipeError) -> tuple[int, int]:
    assert error.span is not None
    return error.span.line, error.span.col


def number_in_rule(number: str) -> ast.Num:
    """The number as the parser reads it on the right of a comparison."""
    recipe = parse(f"filter web {{ keep words(text) > {number} }}\n")
    (block,) = recipe.blocks
    assert isinstance(block, ast.Filter)
    body = block.rules[0].body
    assert isinstance(body, ast.Binary)
    assert isinstance(body.right, ast.Num)
    return body.right


# ---- numbers -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "scaled", "kind"),
    [
        ("10_000", 10_000, "plain"),
        ("1_000_000", 1_000_000, "plain"),
        ("2B", 2e9, "count"),
        ("3K", 3_000, "count"),
        ("1.5M", 1_500_000, "count"),
        ("10T", 10**13, "count"),
        ("128MB", 128e6, "size"),
        ("1KiB", 1024, "size"),
        ("4GiB", 4 * 2**30, "size"),
        ("2TB", 2e12, "size"),
        ("90%", 0.9, "percent"),
        ("2.5%", 0.025, "percent"),
        ("1e3", 1000, "plain"),
        ("1_000.5", 1000.5, "plain"),
        ("0.65", 0.65, "plain"),
    ],
)
def test_number_separators_and_unit_suffixes(written: str, scaled: float, kind: str) -> None:
    num = number_in_rule(written)
    assert num.text == written
    assert num.scaled == pytest.approx(scaled, rel=1e-12)
    assert num.kind == kind


def test_count_and_size_suffixes_are_decimal_and_binary_exactly() -> None:
    assert number_in_rule("2B").scaled == 2_000_000_000
    assert number_in_rule("128MB").scaled == 128_000_000
    assert number_in_rule("1KiB").scaled == 1024
    assert number_in_rule("1MiB").scaled == 1024 * 1024
    assert number_in_rule("10_000").scaled == 10000
    assert number_in_rule("90%").scaled == pytest.approx(0.9)


def test_number_spans_cover_the_whole_literal_with_its_suffix() -> None:
    num = number_in_rule("128MB")
    prefix = "filter web { keep words(text) > "
    assert (num.span.line, num.span.col, num.span.end_col) == (1, len(prefix) + 1, len(prefix) + 1 + len("128MB"))


def test_numbers_reach_the_checked_recipe_with_units_applied() -> None:
    recipe = check(parse(DEMO))
    assert recipe.output.shard_bytes == 128_000_000
    assert recipe.output.shard_rows == 10000
    assert recipe.seed == 17
    assert recipe.mix is not None
    assert (recipe.mix.unit, recipe.mix.budget) == ("docs", 1000)
    shares = {s.source: s for s in recipe.mix.shares}
    assert shares["web"].share == pytest.approx(0.6)
    assert shares["docs"].share == pytest.approx(0.4)
    assert dict(recipe.mix.caps) == {"web": 2, "docs": 1}


@pytest.mark.parametrize(
    ("shard", "shard_bytes", "shard_rows"),
    [
        ("shard 1KiB", 1024, 0),
        ("shard 2GB", 2_000_000_000, 0),
        ("shard 5K rows", 500_000_000, 5000),
        ("shard 1_000 docs, 64MiB", 64 * 2**20, 1000),
        ("", 500_000_000, 0),
    ],
)
def test_output_shard_limits(shard: str, shard_bytes: int, shard_rows: int) -> None:
    recipe = check(parse(f'source web = jsonl("a.jsonl")\noutput "build/x" {shard}\n'))
    assert (recipe.output.shard_bytes, recipe.output.shard_rows) == (shard_bytes, shard_rows)


def test_byte_budget_from_a_size_suffix() -> None:
    recipe = check(parse('source web = jsonl("a.jsonl")\nmix 1GB { web 100% }\noutput "build/x"\n'))
    assert recipe.mix is not None
    assert (recipe.mix.unit, recipe.mix.budget) == ("bytes", 10**9)


def test_scaled_numbers_appear_in_the_compiled_sql() -> None:
    sql = plan(check(parse(DEMO)), {}).stage("filter_web").sql
    assert "BETWEEN 5 AND 100000" in sql
    assert "> 0.1)" in sql  # 10%
    # The rule's label (the drop ledger's name for it) keeps the number as written.
    assert "'keep words(text) between 5 and 100_000'" in sql


# ---- strings, names, comments ------------------------------------------------------------------------


def test_string_escapes_and_backslashes_that_stay() -> None:
    recipe = parse(r'filter web { keep text == "a\"b\\c\nd\te" and text ~ "\d+\.\w" }' + "\n")
    body = recipe.blocks[0].rules[0].body  # type: ignore[union-attr]
    assert isinstance(body, ast.Binary)
    eq, match = body.left, body.right
    assert isinstance(eq, ast.Binary) and isinstance(eq.right, ast.Str)
    assert eq.right.value == 'a"b\\c\nd\te'
    assert isinstance(match, ast.Match)
    assert match.pattern.value == r"\d+\.\w"


def test_comments_are_ignored_everywhere() -> None:
    text = DEMO.replace("filter web {", "# the web filter\nfilter web {  # rules follow").replace(
        "order { shuffle }", "order { shuffle }  # seeded")
    with_comments, plain = check(parse(text)), check(parse(DEMO))
    assert with_comments.sources == plain.sources
    assert [r.label for r in with_comments.filters[0].rules] == [r.label for r in plain.filters[0].rules]
    assert with_comments.mix is not None and plain.mix is not None
    assert [(m.source, m.share, m.where_label) for m in with_comments.mix.shares] == [
        (m.source, m.share, m.where_label) for m in plain.mix.shares]
    assert with_comments.output == plain.output
    assert [s.kind for s in with_comments.order.phases[0].steps] == ["shuffle"]


def test_keywords_are_reserved_only_where_a_statement_starts() -> None:
    text = ('source keep = jsonl("a.jsonl")\nsource order = jsonl("b.jsonl")\n'
            "filter order { keep meta.in == 1 and meta.sort > 2 }\n"
            'mix 10 docs { keep 50% order 50% }\noutput "build/x"\n')
    recipe = check(parse(text))
    assert [s.name for s in recipe.sources] == ["keep", "order"]
    assert recipe.filter_for("order").rules[0].label == "keep meta.in == 1 and meta.sort > 2"


# ---- the AST -----------------------------------------------------------------------------------------


def test_demo_recipe_parses_into_plain_dataclasses() -> None:
    recipe = parse(DEMO)
    kinds = [type(b).__name__ for b in recipe.blocks]
    assert kinds == ["Header", "Source", "Source", "Filter", "Mix", "Order", "Output"]
    header, web, docs, flt, mix, order, output = recipe.blocks
    assert isinstance(header, ast.Header) and header.name == "demo"
    assert [(s.name, s.value) for s in header.settings] == [("seed", ast.Num(17.0, "", "17", s.value.span))
                                                           for s in header.settings]
    assert isinstance(web, ast.Source) and (web.name, web.reader.name) == ("web", "jsonl")
    assert [a.name for a in web.reader.args] == [None, "text", "on_error"]
    assert isinstance(docs, ast.Source) and docs.reader.name == "parquet"
    assert isinstance(flt, ast.Filter) and flt.source == "web"
    assert [(r.kind, r.text) for r in flt.rules] == [
        ("keep", "keep words(text) between 5 and 100_000"),
        ("drop", 'drop symbol_ratio("#") > 10%'),
        ("keep", 'keep meta.lang in ["en", "de"]'),
        ("drop", 'drop text ~ "lorem ipsum"'),
        ("dedup", "dedup exact(normalize: true)"),
    ]
    assert isinstance(mix, ast.Mix) and (mix.budget.scaled, mix.unit) == (1000, "docs")
    assert [(e.source, e.share.text) for e in mix.entries] == [("web", "60%"), ("docs", "40%")]
    assert isinstance(order, ast.Order) and [s.kind for s in order.items if isinstance(s, ast.OrderStep)] == ["shuffle"]
    assert isinstance(output, ast.Output)
    assert (output.path.value, output.format) == ("build/demo", "parquet")
    assert [(lim.amount.text, lim.unit) for lim in output.shard] == [("128MB", ""), ("10_000", "rows")]


def test_spans_are_one_based_line_and_column() -> None:
    recipe = parse(DEMO)
    web = recipe.blocks[1]
    assert isinstance(web, ast.Source)
    assert (web.name_span.line, web.name_span.col, web.name_span.end_col) == (2, 8, 11)
    flt = recipe.blocks[3]
    assert isinstance(flt, ast.Filter)
    rule = flt.rules[1]
    assert (rule.span.line, rule.span.col) == (6, 3)
    body = rule.body
    assert isinstance(body, ast.Binary) and isinstance(body.left, ast.Call)
    assert (body.left.name_span.line, body.left.name_span.col, body.left.name_span.end_col) == (6, 8, 20)
    assert (body.op_span.col, body.op_span.end_col) == (26, 27)


def test_dedup_without_parentheses_is_a_call() -> None:
    recipe = parse("filter web { dedup exact }\n")
    rule = recipe.blocks[0].rules[0]  # type: ignore[union-attr]
    assert isinstance(rule.body, ast.Call) and rule.body.name == "exact" and rule.body.args == ()


def test_operator_precedence() -> None:
    recipe = parse("filter web { keep not a == 1 or b > 2 and c < 3 + 4 * 5 }\n")
    body = recipe.blocks[0].rules[0].body  # type: ignore[union-attr]
    assert isinstance(body, ast.Binary) and body.op == "or"
    assert isinstance(body.left, ast.Unary) and body.left.op == "not"
    assert isinstance(body.right, ast.Binary) and body.right.op == "and"
    sum_ = body.right.right.right  # type: ignore[union-attr]
    assert isinstance(sum_, ast.Binary) and sum_.op == "+"
    assert isinstance(sum_.right, ast.Binary) and sum_.right.op == "*"


def test_empty_and_comment_only_files_parse_to_no_blocks() -> None:
    assert parse("").blocks == ()
    assert parse("# nothing here\n\n").blocks == ()


# ---- syntax errors -----------------------------------------------------------------------------------


def test_unclosed_block_points_at_the_end_of_that_block() -> None:
    text = ('recipe "demo" { seed 17 }\nsource web = jsonl("a.jsonl")\nfilter web {\n'
            "  keep words(text) > 5\n\nmix 10 docs { web 100% }\noutput \"build/x\"\n")
    (error,) = syntax_errors(text)
    assert error.message == "this block is not closed"
    assert error.hint == "add the missing `}`"
    assert where(error) == (4, len("  keep words(text) > 5") + 1)


def test_unclosed_block_at_the_end_of_the_file() -> None:
    (error,) = syntax_errors('source web = jsonl("a.jsonl")\noutput "x"\nfilter web {\n  keep words(text) > 5\n\n\n')
    assert error.message == "this block is not closed"
    assert where(error) == (4, 23)


def test_unclosed_header() -> None:
    (error,) = syntax_errors('recipe "x" {\n  seed 1\nsource web = jsonl("a.jsonl")\noutput "x"\n')
    assert error.message == "this block is not closed"
    assert where(error) == (2, 9)


def test_several_broken_blocks_give_several_errors() -> None:
    text = ('source web = jsonl("a.jsonl")\n'
            "filter web {\n  keep words(text) > > 5\n}\n"
            "filter docs {\n  keep ( words(text)\n}\n"
            "mix 10 docs { web 100 % }\n"
            'output "build/x"\n')
    errors = syntax_errors(text)
    assert [(where(e), e.message) for e in errors] == [
        ((3, 22), "unexpected `>`"),
        ((7, 1), "unexpected `}`"),
        ((8, 23), "unexpected `%`"),
    ]
    assert errors[1].hint == "expected `)`"
    assert "a number" in errors[0].hint


def test_single_quoted_string_hints_at_double_quotes() -> None:
    (error,) = syntax_errors("source web = jsonl('a.jsonl')\noutput \"x\"\n")
    assert where(error) == (1, 20)
    assert error.hint == "strings use double quotes"


def test_single_quotes_inside_a_filter_hint_at_double_quotes() -> None:
    (error,) = syntax_errors("source web = jsonl(\"a\")\nfilter web { keep meta.lang == 'en' }\noutput \"x\"\n")
    assert where(error) == (2, 32)
    assert error.hint == "strings use double quotes"


def test_negative_seed_is_a_syntax_error() -> None:
    (error,) = syntax_errors('recipe "d" { seed -1 }\nsource web = jsonl("a")\noutput "x"\n')
    assert where(error) == (1, 19)
    assert error.message == "unexpected `-`"


def test_nul_byte_is_located_not_a_crash() -> None:
    (error,) = syntax_errors('source web = jsonl("a.jsonl")\noutput "x\x00"\n')
    assert error.message == "the file contains a NUL byte"
    assert error.span is not None and error.span.line == 2


def test_nul_byte_error_points_at_the_nul_column() -> None:
    (error,) = syntax_errors('source web = jsonl("a.jsonl")\noutput "x\x00"\n')
    assert where(error) == (2, len('output "x') + 1)


def test_deeply_nested_expression_is_a_located_error_not_a_crash() -> None:
    text = 'source web = jsonl("a.jsonl")\nfilter web { keep ' + "not " * 3000 + 'true }\noutput "x"\n'
    try:
        check(parse(text))
    except RecipeErrors as exc:
        assert exc.errors and all(e.message for e in exc.errors)
    except RecursionError:
        pytest.fail("a recipe nesting `not` 3000 times raised RecursionError instead of a RecipeError")
    # Accepting it is fine too; what must not happen is a RecursionError escaping.


@pytest.mark.parametrize("separator", ["\u2028", "\x0c"], ids=["line-separator", "form-feed"])
def test_rule_labels_are_right_after_a_line_holding_a_unicode_line_break(separator: str) -> None:
    # Lark counts lines by "\n" only; a U+2028 in a string or a form feed in a comment must not shift
    # the text that becomes the rule's label in the drop ledger.
    text = f'source web = jsonl("a{separator}b.jsonl")  # x{separator}y\nfilter web {{ keep words(text) > 5 }}\n'
    (_, flt) = parse(text).blocks
    assert isinstance(flt, ast.Filter)
    assert flt.rules[0].text == "keep words(text) > 5"
