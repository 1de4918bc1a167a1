"""The transforms `redact_pii`, `strip_lines` and `url_blocklist`: unit tests of the matching rules, the
SQL they lower to run by the real engine on hand-made documents, checker errors, and `recipe run` end to
end (the rewritten text in the shards, the ledger and funnel, the blocklist as a fingerprinted input)."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datarecipe.compiler.language.checker import check
from datarecipe.compiler.language.errors import RecipeError, RecipeErrors
from datarecipe.compiler.language.parser import parse
from datarecipe.compiler.plan import plan
from datarecipe.operators import named
from datarecipe.operators.transforms.redact_pii import redact, redact_pii
from datarecipe.operators.transforms.url_blocklist import host, parse_blocklist
from datarecipe.runtime.cli import main
from datarecipe.runtime.executors.local import RUNNERS, LocalEngine
from datarecipe.runtime.stages.ingest import rule_files
from helpers import build, json_events, manifest, ok, recipe, steps, write_jsonl

ROOT = Path(__file__).resolve().parents[1]
PII_DEFAULTS = {p.name: p.default for p in named("pack")["redact_pii"].params}

# ---- redact_pii: what is and is not personal data -----------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("Mail john.doe@example.com today", "Mail <EMAIL> today"),
    ("a+tag@mail.example.co.uk.", "<EMAIL>."),
    ("éric@exemple.fr", "<EMAIL>"),
    ("почта: иван@почта.рф, спасибо", "почта: <EMAIL>, спасибо"),
    ("请联系john@example.com之后", "请联系<EMAIL>之后"),  # CJK around the address stays
    ("user@xn--e1afmkfd.xn--p1ai", "<EMAIL>"),
    ("server 8.8.8.8, dns (1.1.1.1)", "server <IP>, dns (<IP>)"),
    ("ip:8.8.4.4:53", "ip:<IP>:53"),
    ("from 203.0.114.9/24", "from <IP>/24"),
    ("Call (212) 555-0199.", "Call <PHONE>."),
    ("212-555-0199 or 212.555.0199 or 1-800-555-0199", "<PHONE> or <PHONE> or <PHONE>"),
    ("+1 (555) 123-4567", "<PHONE>"),
    ("Tel.: +44 20 7946 0958.", "Tel.: <PHONE>."),
    ("+33 6 12 34 56 78 ou 06 12 34 56 78", "<PHONE> ou <PHONE>"),
    ("020 7946 0958", "<PHONE>"),
    ("Телефон: +7 495 123-45-67", "Телефон: <PHONE>"),
    ("call +8613912345678 now", "call <PHONE> now"),
    ("8.8.8.8 john@x.org 212-555-0199", "<IP> <EMAIL> <PHONE>"),
    ("author_email='gward@python.net',", "author_email='<EMAIL>',"),  # the quote is not part of the address
    ("see :func:`x@example.com`", "see :func:`<EMAIL>`"),
    ("8.6.4.1 and host 8.8.8.8. Done", "<IP> and host <IP>. Done"),
])
def test_redact_pii_replaces_emails_ips_and_phone_numbers(text: str, expected: str) -> None:
    assert redact(text, PII_DEFAULTS) == expected


@pytest.mark.parametrize("text", [
    "logo@2x.png and icon@3x.webp",        # image names
    "@property and x = a @ b.T and a@b.c",  # decorators, matrix products, a one-letter TLD
    ":func:`@dataclasses.dataclass` and ``@functools.cache``",  # decorators in reST
    "8.6.4.1. OR Patterns\n\n3.3.2.3. Invoking\n  6.2.9.1. Generators",  # numbered headings
    "Gecko/20071127 Firefox/2.0.0.11",       # a product's version
    "v1.2.3.4 and release 1.2.3.4",          # versions that are valid IPv4 syntax
    "version 2.0.0.1, Section 4.3.2.1",
    "1.2.3.4.5 and 10.1.2.3.4",              # longer dotted runs
    "999.1.1.1 and 1.2.3.256 and 01.2.3.4",  # octets out of range, leading zeros
    "lan 192.168.1.1, loopback 127.0.0.1, 10.0.0.1, 0.0.0.0, 100.64.0.1, 203.0.113.7",  # not public
    "2021-03-04 12:30:45 and 01.02.2023 12:30",  # dates and times
    "3.14159, 1,000,000, +1.5% and +10 000",
    "ISBN 978-3-16-148410-0, order #123456789, id 1234567890",  # bare digit runs
    "phone 555-0199 and page 12 34 56",      # too short
    "tel 030/1234 5678",                      # separators that change midway
    "",
    "Привет, мир! 你好，世界。",
])
def test_redact_pii_leaves_lookalikes_alone(text: str) -> None:
    assert redact(text, PII_DEFAULTS) == text


def test_private_ips_are_redacted_when_asked_and_kinds_can_be_switched_off() -> None:
    text = "router 192.168.1.1, dns 8.8.8.8, mail ops@example.org, tel 212-555-0199"
    assert redact(text, {**PII_DEFAULTS, "public_ips_only": False}) == \
        "router <IP>, dns <IP>, mail <EMAIL>, tel <PHONE>"
    assert redact(text, {**PII_DEFAULTS, "ip": False, "phone": False}) == \
        "router 192.168.1.1, dns 8.8.8.8, mail <EMAIL>, tel 212-555-0199"
    # Replacements are literal text: backreferences and `$` mean nothing.
    custom = {**PII_DEFAULTS, "email_replacement": r"\1 $0 email@example.com", "ip_replacement": "22.214.171.124"}
    assert redact(text, custom) == \
        r"router 192.168.1.1, dns 22.214.171.124, mail \1 $0 email@example.com, tel <PHONE>"


def _kernel(texts: list[str | None], **params: Any) -> list[str | None]:
    return redact_pii(pa.array(texts, pa.string()), **{**PII_DEFAULTS, **params}).to_pylist()


def test_kernel_agrees_with_the_reference_and_leaves_unchanged_rows_null() -> None:
    texts = [None, "", "nothing here", "mail a@b.example", "Телефон: +7 495 123-45-67",
             "v1.2.3.4 but 8.8.8.8", "marker \x00 in text 8.8.8.8 \x01 and x@y.org",  # the `re` path
             "version 1.2.3.4 only", "two 8.8.8.8 8.8.4.4 adjacent 1.1.1.1,9.9.9.9"]
    rows = _kernel(texts)
    for text, row in zip(texts, rows, strict=True):
        expected = None if text is None or redact(text, PII_DEFAULTS) == text else redact(text, PII_DEFAULTS)
        assert row == expected, text
    assert rows[6] == "marker \x00 in text <IP> \x01 and <EMAIL>"
    assert rows[8] == "two <IP> <IP> adjacent <IP>,<IP>"
    assert _kernel(texts, email=False, ip=False, phone=False) == [None] * len(texts)


def replaced(text: str, redacted: str, replacement: str) -> list[str]:
    """What was replaced by `replacement` in text to give redacted."""
    pieces = redacted.split(replacement)
    match = re.fullmatch("(.*?)".join(re.escape(piece) for piece in pieces), text, re.S)
    assert match is not None
    return list(match.groups())


def test_redact_pii_on_the_python_docs_sample() -> None:
    """Every address, IP and phone number it finds in Python's documentation, looked at one by one: the emails
    are addresses (none is a decorator or a quote), the IPs an example of a public address (no section number nor
    product version), the phone numbers those of the `re` module's phonebook example, and two lookalikes."""
    with gzip.open(ROOT / "data/sample/pydocs.jsonl.gz", "rt", encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f]
    found: dict[str, list[str]] = {}
    for kind in ("email", "ip", "phone"):
        only = {**PII_DEFAULTS, **{k: k == kind for k in ("email", "ip", "phone")}}
        found[kind] = [s for t in texts for s in replaced(t, redact(t, only), only[f"{kind}_replacement"])]
        kernel = redact_pii(pa.array(texts, pa.string()), **only).to_pylist()
        assert kernel == [None if redact(t, only) == t else redact(t, only) for t in texts]  # RE2 agrees
    assert len(found["email"]) == 20
    assert all(re.fullmatch(r"\w[\w.+-]*@[\w-]+(?:\.[\w-]+)+", e) for e in found["email"]), found["email"]
    assert found["ip"] == ["193.168.1.2", "193.168.1.2"]
    phonebook = {"834.345.1254", "892.345.3428", "925.541.7625", "548.326.4584"}
    assert sorted(set(found["phone"]) - phonebook) == ["012 013 023 123", "03894-4801"]  # itertools, a post code


# ---- url_blocklist: the list and the hosts ------------------------------------------------------------


def test_parse_blocklist_reads_domains_urls_comments_and_idn() -> None:
    text = ("\ufeff# ads and trackers\r\nExample.COM\r\n\r\n*.foo.org  # and its subdomains\n"
            "https://user@Bar.net:8080/path?q=1\n  .baz.io.  \nпример.рф\nxn--80ak6aa92e.com\n"
            "two words\n||adblock^\n")
    domains, bad = parse_blocklist(text)
    assert domains == sorted({"example.com", "foo.org", "bar.net", "baz.io", "пример.рф", "xn--e1afmkfd.xn--p1ai",
                              "xn--80ak6aa92e.com", "аррӏе.com"})
    assert bad == [(9, "two words"), (10, "||adblock^")]
    assert parse_blocklist("") == ([], [])


@pytest.mark.parametrize(("url", "expected"), [
    ("https://WWW.Example.com:443/a?b#c", "www.example.com"),
    ("http://user:pw@host.org/", "host.org"),
    ("//cdn.example.net/x.js", "cdn.example.net"),
    ("example.com/page", "example.com"),
    ("example.com.", "example.com"),
    ("ftp://files.example.org", "files.example.org"),
    ("", ""),
])
def test_host_of_a_url(url: str, expected: str) -> None:
    assert host(url) == expected


# ---- the lowered SQL, run by the engine ---------------------------------------------------------------


def run_filter(root: Path, rules: str, docs: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
               ) -> tuple[dict[str, str | None], dict[str, str]]:
    """Plan a one-source recipe with these filter rules and run its filter stage on the engine, over
    documents {"id", "text", **meta}. Returns the texts kept by doc_id, and the ledger's rule by doc_id."""
    monkeypatch.chdir(root)
    text = f'source web = jsonl("data/web.jsonl", id: "id")\nfilter web {{\n{rules}\n}}\noutput "build/x"\n'
    recipe = check(parse(text))
    the_plan = plan(recipe, rule_files(recipe, {}))
    engine = LocalEngine(the_plan, recipe, cache_dir=root / "cache", threads=2)
    ingest = engine.stage_dir(the_plan.stage("ingest_web"))
    ingest.mkdir(parents=True)
    pq.write_table(pa.table({
        "doc_id": [f"web/{d['id']}" for d in docs], "source": ["web"] * len(docs),
        "text": pa.array([d["text"] for d in docs], pa.string()),
        "content_hash": pa.array([0] * len(docs), pa.uint64()),
        "meta": [json.dumps({k: v for k, v in d.items() if k not in ("id", "text")}) for d in docs]}),
        ingest / "data.parquet")
    out = root / "out"
    out.mkdir()
    con = engine.connect()
    try:
        RUNNERS["sql"](engine, con, the_plan.stage("filter_web"), out)
    finally:
        con.close()
    kept = {r["doc_id"].removeprefix("web/"): r["text"] for r in pq.read_table(out / "data.parquet").to_pylist()}
    ledger = {r["doc_id"].removeprefix("web/"): r["rule"] for r in pq.read_table(out / "ledger.parquet").to_pylist()}
    return kept, ledger


STRIP_CASES = [
    # (condition, text, the text after strip_lines)
    ("length(line) == 0", "a\n\nb\n", "a\nb\n"),
    ("length(line) == 0", "a\n\n\n", "a\n"),
    ("length(line) == 0", "\n\n", ""),                       # every line stripped: "", the doc stays
    ("length(line) == 0", "no newline", "no newline"),
    ("length(line) == 0", "", ""),
    ("length(line) == 0", "\n", ""),                         # one empty line, stripped
    ("length(line) == 0", "a\r\n\r\nb\r\n", "a\r\n\r\nb\r\n"),  # a `\r` stays part of its line
    ('line ~ "^\\s*$"', "a\r\n\r\n  \nb\r\n", "a\r\nb\r\n"),
    ("words(line) < 3", "one two three\nshort\nfour five six seven", "one two three\nfour five six seven"),
    ('words(line) < 3 or line ~ "(?i)javascript"',
     "Please enable JavaScript to view this page properly\nThe real content is here.\nmenu\n",
     "The real content is here.\n"),
    ('line ~ "^(Меню|菜单)"', "Меню сайта\nТекст статьи.\n菜单 首页\n正文内容。", "Текст статьи.\n正文内容。"),
    ('symbol_ratio("#", line) > 0.5', "# # # nav\nplain words here", "plain words here"),  # macros in the lambda
    ('lower(line) == "x"', "X\nkeep\nx", "keep"),
    ("words(text) > 100 and words(line) < 3", "short doc\nab", "short doc\nab"),  # `text` is the document
    ('meta.missing == "x"', "a\n\nb", "a\n\nb"),            # NULL keeps the line
]


def test_strip_lines_removes_the_lines_where_the_condition_holds(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    conditions = sorted({c for c, _, _ in STRIP_CASES})
    for n, condition in enumerate(conditions):
        cases = [(t, e) for c, t, e in STRIP_CASES if c == condition]
        root = tmp_path / str(n)
        root.mkdir()
        docs = [{"id": f"d{i}", "text": t} for i, (t, _) in enumerate(cases)] + [{"id": "null", "text": None}]
        kept, ledger = run_filter(root, f"apply strip_lines({condition})", docs, monkeypatch)
        assert ledger == {}
        assert kept == {**{f"d{i}": e for i, (_, e) in enumerate(cases)}, "null": None}, condition


def test_later_rules_see_the_transformed_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = [{"id": "a", "text": "menu\nhome\n"}, {"id": "b", "text": "Write to jane@example.org for the real text."},
            {"id": "c", "text": "A line that is long enough.\nx\n"}]
    rules = ("apply redact_pii()\napply strip_lines(words(line) < 2)\nkeep length(text) > 0\n"
             'drop text ~ "<EMAIL>"')
    kept, ledger = run_filter(tmp_path, rules, docs, monkeypatch)
    assert kept == {"c": "A line that is long enough.\n"}
    assert ledger == {"a": "keep length(text) > 0", "b": 'drop text ~ "<EMAIL>"'}


def test_url_blocklist_drops_listed_hosts_and_their_subdomains(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists/block.txt").write_text(
        "# spam\nspam.example\nhttps://tracker.net/pixel.gif\nпример.рф\nxn--80ak6aa92e.com\n", encoding="utf-8")
    urls = {
        "exact": "https://spam.example/page", "sub": "http://a.b.SPAM.example:8080/x", "trailing_dot": "spam.example.",
        "user": "https://me@tracker.net/", "no_scheme": "tracker.net/path", "idn": "https://www.ПРИМЕР.рф/",
        "punycode_doc": "https://xn--e1afmkfd.xn--p1ai/", "unicode_doc": "https://аррӏе.com/login",
        "lookalike": "https://notspam.example/", "parent_only": "https://example/", "other": "https://good.org/",
        "path_mention": "https://good.org/spam.example", "empty": "", "null": None,
    }
    docs = [{"id": name, "text": "t", "link": url} for name, url in urls.items()] + [{"id": "no_field", "text": "t"}]
    kept, ledger = run_filter(tmp_path, 'apply url_blocklist("lists/block.txt", url: meta.link)', docs, monkeypatch)
    blocked = {"exact", "sub", "trailing_dot", "user", "no_scheme", "idn", "punycode_doc", "unicode_doc"}
    assert ledger == dict.fromkeys(blocked, "url_blocklist:blocked")
    assert set(kept) == set(urls) - blocked | {"no_field"}


# ---- checker -------------------------------------------------------------------------------------------


def errors_of(rules: str) -> list[RecipeError]:
    text = f'source web = jsonl("data/web.jsonl")\nfilter web {{\n{rules}\n}}\noutput "build/x"\n'
    with pytest.raises(RecipeErrors) as caught:
        check(parse(text))
    return caught.value.errors


def test_line_is_known_only_inside_strip_lines() -> None:
    (error,) = errors_of("keep words(line) > 3")
    assert (error.span.line, error.span.col) == (3, 12)  # type: ignore[union-attr]
    assert error.message == "unknown column `line`"
    assert "strip_lines" in error.hint and "did you mean `lines()`?" in error.hint
    (error,) = errors_of("apply strip_lines(words(lne) < 3)")
    assert error.message == "unknown column `lne`" and "did you mean" in error.hint
    # Inside, `line` is a string, and `text` and `meta` still name the document's.
    check(parse('source web = jsonl("x")\nfilter web { apply strip_lines(line == text or meta.a == line) }\n'
                'output "o"\n'))


def test_strip_lines_needs_a_condition() -> None:
    (error,) = errors_of("apply strip_lines(words(line))")
    assert error.message == "a condition must be true or false, but this is a number"
    (error,) = errors_of("apply strip_lines()")
    assert error.message == "`strip_lines` needs the argument `condition`"


@pytest.mark.parametrize(("rules", "message", "hint"), [
    ("apply redact_pii(emial: false)", "`redact_pii` has no parameter `emial`", "did you mean `email`?"),
    ('apply redact_pii(phone_replacment: "x")', "`redact_pii` has no parameter `phone_replacment`",
     "did you mean `phone_replacement`?"),
    ('apply redact_pii(ip: "yes")', "`ip` of `redact_pii` must be `true` or `false`", ""),
    ('apply url_blocklist("l.txt", ulr: meta.u)', "`url_blocklist` has no parameter `ulr`", "did you mean `url`?"),
    ('apply url_blocklist("l.txt", url: 3)', "`url` of `url_blocklist` must be a string expression", ""),
    ('apply url_blocklist("https://x.org/l.txt")', "`path` of `url_blocklist` must name one local file", ""),
    ('apply url_blocklist("lists/*.txt")', "`path` of `url_blocklist` must name one local file", ""),
    ("apply url_blocklist()", "`url_blocklist` needs the argument `path`", ""),
    ("apply strip_line(length(line) == 0)", "unknown rule pack `strip_line`", "did you mean `strip_lines`?"),
    ("apply redact_pi()", "unknown rule pack `redact_pi`", "did you mean `redact_pii`?"),
])
def test_transform_mistakes_are_located_with_a_hint(rules: str, message: str, hint: str) -> None:
    (error,) = errors_of(rules)
    assert error.message == message
    assert error.span is not None and error.span.line == 3
    assert hint in error.hint


# ---- recipe run, end to end ----------------------------------------------------------------------------

RECIPE = """\
recipe "t" { seed 3 }
source web = jsonl("data/web.jsonl", id: "id")
filter web {
  apply redact_pii(phone: false)
  apply strip_lines(words(line) < 2 or line ~ "(?i)cookie")
  apply url_blocklist("lists/block.txt")
  keep length(text) > 0
}
output "build/t" shard 1MB
"""

DOCS = [
    {"id": "a", "text": "Contact jane@example.org or 8.8.8.8 today.\nmenu\nWe use cookies here.\nThe end of it.\n",
     "url": "https://news.good.org/a"},
    {"id": "b", "text": "Some text that stays as it is.", "url": "https://ads.spam.example/b"},
    {"id": "c", "text": "menu\nhome\n", "url": "https://good.org/c"},
    {"id": "d", "text": "Kein Problem hier, nur Text.\r\nZweite Zeile, bleibt.\r\n", "url": None},
    {"id": "e", "text": "Τηλέφωνο 212-555-0199 και email: μαρία@παράδειγμα.ελ εδώ", "url": "https://good.org/e"},
]


def q(sql: str) -> list[tuple]:
    with duckdb.connect() as con:
        return con.execute(sql).fetchall()


def test_recipe_run_writes_transformed_texts_ledger_and_funnel(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "data/web.jsonl", DOCS)
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists/block.txt").write_text("# blocked\nspam.example\n")
    ok(build(tmp_path, RECIPE, "--quiet"))
    out = tmp_path / "build/t"
    rows = q(f"SELECT doc_id, text, content_hash = md5_number_lower(text) FROM '{out}/data/*.parquet' ORDER BY 1")
    assert rows == [
        ("web/a", "Contact <EMAIL> or <IP> today.\nThe end of it.\n", True),
        ("web/d", "Kein Problem hier, nur Text.\r\nZweite Zeile, bleibt.\r\n", True),
        ("web/e", "Τηλέφωνο 212-555-0199 και email: <EMAIL> εδώ", True),
    ]
    assert q(f"SELECT doc_id, stage, rule FROM '{out}/ledger.parquet' ORDER BY 1") == [
        ("web/b", "filter_web", "url_blocklist:blocked"), ("web/c", "filter_web", "keep length(text) > 0")]
    m = manifest(out)
    funnel = m["funnel"]["web"]
    assert steps(funnel["dropped"]) == {"apply redact_pii(phone: false)": 0,
                                        'apply strip_lines(words(line) < 2 or line ~ "(?i)cookie")': 0,
                                        'apply url_blocklist("lists/block.txt")': 1, "keep length(text) > 0": 1}
    assert funnel["dropped_by_reason"]['apply url_blocklist("lists/block.txt")'] == {"url_blocklist:blocked": 1}
    assert (funnel["read"], funnel["kept"], funnel["selected"]) == (5, 3, 3)
    (listed,) = m["inputs"]["web:url_blocklist"]
    assert listed["path"] == "lists/block.txt" and listed["fingerprint"].startswith("sha256:")
    # What each transform rewrote: redact_pii a and e; strip_lines a and c (c, left empty, then dropped).
    strip = 'apply strip_lines(words(line) < 2 or line ~ "(?i)cookie")'
    assert funnel["changed"] == [{"rule": "apply redact_pii(phone: false)", "changed": 2},
                                 {"rule": strip, "changed": 2}]
    card = (out / "README.md").read_text()
    assert "| apply redact_pii(phone: false) | 0 (2 changed) |" in card and f"| {strip} | 0 (2 changed) |" in card
    report = ok(recipe(tmp_path, "report", "build/t")).stdout
    assert "apply redact_pii(phone: false)" in report and report.count("0 (2 changed)") == 2


def recipe_in_process(root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                      *args: str) -> tuple[int, str, str]:
    """`recipe ARGS` in this process (no interpreter start-up), in root: (exit status, stdout, stderr)."""
    monkeypatch.chdir(root)
    monkeypatch.setenv("COLUMNS", "200")
    (root / "r.recipe").write_text(RECIPE)
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def stage_cached(stdout: str) -> dict[str, bool]:
    return {e["stage"]: e["cached"] for e in json_events(stdout) if e["event"] == "stage_end"}


def test_editing_the_blocklist_reruns_the_filter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    write_jsonl(tmp_path / "data/web.jsonl", DOCS)
    (tmp_path / "lists").mkdir()
    blocklist = tmp_path / "lists/block.txt"
    blocklist.write_text("spam.example\n")

    def run() -> dict[str, bool]:
        status, out, err = recipe_in_process(tmp_path, monkeypatch, capsys, "run", "r.recipe", "--json")
        assert status == 0, err
        return stage_cached(out)

    assert run()["filter_web"] is False
    again = run()
    assert again["ingest_web"] is True and again["filter_web"] is True
    blocklist.write_text("spam.example\ngood.org\n")
    edited = run()
    assert edited["ingest_web"] is True and edited["filter_web"] is False
    assert q(f"SELECT doc_id FROM '{tmp_path}/build/t/data/*.parquet'") == [("web/d",)]


def test_an_unreadable_or_bad_blocklist_stops_the_build_with_its_place(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    write_jsonl(tmp_path / "data/web.jsonl", DOCS)
    status, _, err = recipe_in_process(tmp_path, monkeypatch, capsys, "run", "r.recipe", "--quiet")
    assert status == 1, err
    assert "r.recipe:6:23: error: cannot read the blocklist `lists/block.txt`: No such file or directory" in err
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists/block.txt").write_text("spam.example\n0.0.0.0 tracker.net\n")
    status, _, err = recipe_in_process(tmp_path, monkeypatch, capsys, "run", "r.recipe", "--quiet")
    assert status == 1, err
    assert "stage filter_web: lists/block.txt:2: `0.0.0.0 tracker.net` is not a domain or a URL" in err
    assert not (tmp_path / "build/t").exists()


def test_compiled_sql_reads_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "l.txt").write_text("x.org\n")
    text = ('source web = jsonl("w.jsonl")\nfilter web {\n  apply url_blocklist("l.txt", url: meta.u)\n'
            '  apply strip_lines(length(line) == 0)\n}\noutput "o"\n')
    recipe = check(parse(text))
    stage = plan(recipe, rule_files(recipe, {})).stage("filter_web")
    assert "l.txt" not in stage.sql and "url_blocklist_1" in stage.sql and "lambda line:" in stage.sql
    assert stage.params["tables"] == [{"name": "url_blocklist_1", "path": "l.txt", "size": 6,
                                       "fingerprint": "sha256:" + hashlib.sha256(b"x.org\n").hexdigest()}]
    with pytest.raises(RecipeError) as caught:
        rule_files(check(parse(text.replace("l.txt", "gone.txt"))), {})
    assert caught.value.span is not None and (caught.value.span.line, caught.value.span.col) == (3, 23)
