"""Containment (issue 9): a recipe reads its sources and writes its output, nothing else. One test per way out:
an output outside the project (`..`, an absolute path, a symlink; allowed only by the person running the build,
with `--allow-outside`), a `sql` expression that reaches files, settings, extensions or a second statement
(refused at check, at the `sql`), literals full of quotes, semicolons and template syntax (compared as literals,
quoted in the compiled SQL), and the engine's DuckDB connection, which reaches no file and installs nothing.

The `recipe` command runs in this process (`main`) in a project directory under tmp_path; real DuckDB, real
files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from datarecipe.compiler.language.checker import check
from datarecipe.compiler.language.parser import parse
from datarecipe.compiler.lower import literal
from datarecipe.compiler.plan import plan
from datarecipe.runtime.cli import main
from datarecipe.runtime.executors.local import LocalEngine
from helpers import corpus, write_jsonl

SOURCE = 'source web = jsonl("data/web.jsonl", text: "body", id: "id")\n'


def recipe_cli(cwd: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], text: str | None,
               *args: str) -> tuple[int, str, str]:
    """Write r.recipe (when text is given) and run `recipe ARGS` in cwd, in this process: (status, stdout, stderr)."""
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("COLUMNS", "200")
    if text is not None:
        (cwd / "r.recipe").write_text(text, encoding="utf-8")
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project directory (the working directory of the commands) with a small corpus; tmp_path/elsewhere is
    outside it."""
    root = tmp_path / "project"
    write_jsonl(root / "data/web.jsonl", corpus(30, seed=40, prefix="w"))
    (tmp_path / "elsewhere").mkdir()
    return root


def output_recipe(path: str) -> str:
    return f'recipe "c" {{ seed 1 }}\n{SOURCE}output {json.dumps(path)}\n'


def located(err: str, line: int, message: str) -> None:
    """The error is at `r.recipe:LINE:8` (the output's path), with the source line, a caret and a hint."""
    lines = err.splitlines()
    head = next((i for i, ln in enumerate(lines) if ln.startswith(f"r.recipe:{line}:8: error: ")), None)
    assert head is not None, err
    assert message in lines[head], err
    assert lines[head + 1].strip().startswith("output "), err
    assert re.fullmatch(r" {9}\^~*", lines[head + 2]), err  # under the path's opening quote
    assert lines[head + 3].strip().startswith("hint: "), err
    assert "Traceback" not in err


# ---- the output path ---------------------------------------------------------------------------------------


COMMANDS = {"check": ("check", "r.recipe"), "compile": ("compile", "r.recipe", "-o", "build/compiled"),
            "explain": ("explain", "r.recipe"), "run": ("run", "r.recipe", "--quiet", "--cache", "cache")}


@pytest.mark.parametrize("command", COMMANDS)
def test_output_escaping_with_dotdot_is_a_recipe_error(project: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str], command: str) -> None:
    status, _, err = recipe_cli(project, monkeypatch, capsys, output_recipe("../outside"), *COMMANDS[command])
    assert status == 2
    located(err, 3, f"the output {project.parent / 'outside'} is outside the project {project}")
    assert "--allow-outside" in err
    assert not (project.parent / "outside").exists()
    assert not (project / "build").exists() and not (project / "cache").exists()  # nothing written before it


def test_absolute_output_outside_the_project_is_a_recipe_error(project: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    target = project.parent / "elsewhere/out"
    text = output_recipe(str(target))
    for command in ("check", "run"):
        status, out, err = recipe_cli(project, monkeypatch, capsys, text, *COMMANDS[command], "--json")
        assert status == 2
        errors = json.loads(out)["errors"]
        assert [(e["file"], e["line"], e["col"]) for e in errors] == [("r.recipe", 3, 8)]
        assert "outside the project" in errors[0]["message"] and "--allow-outside" in errors[0]["hint"]
    assert not target.exists() and list((project.parent / "elsewhere").iterdir()) == []


def test_allow_outside_is_the_choice_of_whoever_runs_the_build(project: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    target = project.parent / "elsewhere/out"
    text = output_recipe(str(target))
    for command in ("check", "compile", "explain"):
        status, _, err = recipe_cli(project, monkeypatch, capsys, text, *COMMANDS[command], "--allow-outside")
        assert status == 0, err
    status, _, err = recipe_cli(project, monkeypatch, capsys, text, *COMMANDS["run"], "--allow-outside")
    assert status == 0, err
    assert json.loads((target / "manifest.json").read_text())["totals"]["docs"] == 30
    # `..` too, and a recipe cannot grant itself the permission: the flag is the command line's.
    status, _, err = recipe_cli(project, monkeypatch, capsys, output_recipe("../elsewhere/dotdot"), "check",
                                "r.recipe", "--allow-outside")
    assert status == 0, err


@pytest.mark.parametrize("path", ["build/x", "build/../build/y", "./out", "{project}/build/z", "data/../build/w"])
def test_outputs_inside_the_project_are_fine(project: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str], path: str) -> None:
    status, _, err = recipe_cli(project, monkeypatch, capsys, output_recipe(path.format(project=project)),
                                "check", "r.recipe")
    assert status == 0, err


def test_a_symlink_leading_out_of_the_project_is_outside(project: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    (project / "link").symlink_to(project.parent / "elsewhere", target_is_directory=True)
    status, _, err = recipe_cli(project, monkeypatch, capsys, output_recipe("link/out"), *COMMANDS["run"])
    assert status == 2
    located(err, 3, f"the output {project.parent / 'elsewhere/out'} is outside the project")
    assert list((project.parent / "elsewhere").iterdir()) == []
    # A symlink that stays inside is inside.
    (project / "inner").symlink_to(project / "data", target_is_directory=True)
    assert recipe_cli(project, monkeypatch, capsys, output_recipe("inner/out"), "check", "r.recipe")[0] == 0


@pytest.mark.parametrize(("path", "says"), [(".", "is the project directory"), ("..", "holds the project directory"),
                                            ("/", "holds the project directory")])
def test_the_project_itself_is_never_an_output(project: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str], path: str, says: str) -> None:
    status, _, err = recipe_cli(project, monkeypatch, capsys, output_recipe(path), *COMMANDS["run"],
                                "--allow-outside")
    assert status == 2
    located(err, 3, says)
    assert sorted(p.name for p in project.iterdir()) == ["data", "r.recipe"]


def test_in_a_dvc_project_the_project_is_its_root(project: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    (project / ".dvc").mkdir()  # what makes a DVC project's root, as far as the output is concerned
    sub = project / "recipes"
    sub.mkdir()
    (sub / "data").symlink_to(project / "data", target_is_directory=True)  # sources are relative to the cwd
    # From a directory below the root, `..` that stays under the root is inside.
    assert recipe_cli(sub, monkeypatch, capsys, output_recipe("../build/x"), "check", "r.recipe")[0] == 0
    status, _, err = recipe_cli(sub, monkeypatch, capsys, output_recipe("../../outside"), "check", "r.recipe")
    assert status == 2
    located(err, 3, f"is outside the project {project}")
    # DVC versions only what is inside the project: there, even --allow-outside does not take an outside output.
    status, _, err = recipe_cli(project, monkeypatch, capsys, output_recipe("../outside"), "run", "r.recipe",
                                "--allow-outside", "--quiet")
    assert status == 2
    located(err, 3, "is outside the project")
    assert "--no-dvc --allow-outside" in err
    assert not (project.parent / "outside").exists() and not (project / "dvc.yaml").exists()


# ---- the `sql` escape hatch --------------------------------------------------------------------------------


SQL_ESCAPES = {
    "read_csv": ("read_csv('/etc/passwd') is null", "`sql` may not call `read_csv`"),
    "read_text": ("length(read_text('/etc/passwd')) > 0", "`sql` may not call `read_text`"),
    "read_blob": ("read_blob('/etc/passwd') is null", "`sql` may not call `read_blob`"),
    "glob": ("glob('/etc/*') is null", "`sql` may not call `glob`"),
    "copy": ("COPY (SELECT 1) TO '/tmp/x.csv'", "`sql` may not contain COPY"),
    "attach": ("ATTACH '/tmp/x.db' AS x", "`sql` may not contain ATTACH"),
    "detach": ("DETACH x", "`sql` may not contain DETACH"),
    "install": ("INSTALL httpfs", "`sql` may not contain INSTALL"),
    "load": ("LOAD httpfs", "`sql` may not contain LOAD"),
    "pragma": ("PRAGMA version", "`sql` may not contain PRAGMA"),
    "set": ("SET enable_external_access = true", "`sql` may not contain SET"),
    "reset": ("RESET enable_external_access", "`sql` may not contain RESET"),
    "call": ("CALL pragma_version()", "`sql` may not contain CALL"),
    "secret": ("CREATE SECRET s (TYPE s3)", "`sql` may not contain CREATE"),
    "use": ("USE other", "`sql` may not contain USE"),
    "subquery": ("(SELECT 1) = 1", "`sql` may not contain SUBQUERY"),
    "exists": ("exists(SELECT 1)", "`sql` may not contain SELECT"),
    "subquery-read": ("text IN (FROM read_csv('/etc/passwd'))", "`sql` may not contain SUBQUERY"),
    "getenv": ("getenv('HOME') = 'x'", "`sql` may not call `getenv`"),
    "current_setting": ("current_setting('threads') = 1", "`sql` may not call `current_setting`"),
    "second-statement": ("length(text) > 3; COPY (SELECT 1) TO '/tmp/x.csv'", "`sql` takes exactly one expression"),
    "second-statement-attach": ("text = 'a'; ATTACH '/tmp/x.db'", "`sql` takes exactly one expression"),
}


@pytest.mark.parametrize("name", SQL_ESCAPES)
def test_sql_that_reaches_out_is_refused_at_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str], name: str) -> None:
    expression, message = SQL_ESCAPES[name]
    text = f'{SOURCE}filter web {{\n  keep words(text) > 2\n  keep sql {json.dumps(expression)}\n}}\noutput "out"\n'
    status, _, err = recipe_cli(tmp_path, monkeypatch, capsys, text, "check", "r.recipe")
    assert status == 2
    lines = err.splitlines()
    assert lines[0] == f"r.recipe:4:8: error: {message}", err
    assert lines[1] == f"    keep sql {json.dumps(expression)}"
    assert lines[2].startswith("         ^~") and lines[3].startswith("  hint: ")
    assert "Traceback" not in err and "unsupported syntax" not in err  # sqlglot's own warning stays quiet
    assert [p.name for p in tmp_path.iterdir()] == ["r.recipe"]


def test_a_comment_cannot_smuggle_a_statement_into_the_compiled_sql() -> None:
    text = (f"{SOURCE}filter web {{\n  keep sql \"length(text) > 3 -- */; COPY (SELECT 1) TO '/tmp/x.csv'; /*\"\n}}\n"
            'output "out"\n')
    stage = plan(check(parse(text)), {}).stage("filter_web")
    assert [st.type.name for st in duckdb.extract_statements(stage.sql)] == ["CREATE", "SELECT", "SELECT"]


# ---- literals stay literals --------------------------------------------------------------------------------

QUOTED = "x'; DROP TABLE t; --"
JINJA = "{{ 7*7 }}"
RAW = "{% raw %}"
ODD_KEY = "{{ body }}'; --"  # a JSON key (the text column) with template syntax, a quote and a comment
ODD_OUTPUT = "build/it's {{ 7*7 }}; {% raw %} --"


def test_quotes_semicolons_and_templates_in_literals_are_compared_as_literals(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    texts = {"quoted": QUOTED, "quoted-space": QUOTED + " ", "jinja": JINJA, "rendered": "49",
             "raw": f"{RAW} The old bridge.", "raw-word": "raw The old bridge.", "meta": "The quiet river.",
             "plain": "The busy market."}
    rows = [{"id": key, ODD_KEY: value, "note": JINJA if key == "meta" else "plain"} for key, value in texts.items()]
    write_jsonl(tmp_path / "data/it's {{x}}; --.jsonl", rows)
    text = f"""recipe "literals" {{ seed 1 }}
source web = jsonl({json.dumps("data/it's {{x}}; --.jsonl")}, text: {json.dumps(ODD_KEY)}, id: "id")
filter web {{
  drop text == {json.dumps(QUOTED)}
  keep text != {json.dumps(JINJA)}
  drop text ~ {json.dumps("^" + RAW)}
  drop meta.note in [{json.dumps(JINJA)}, {json.dumps(QUOTED)}]
}}
output {json.dumps(ODD_OUTPUT)}
"""
    status, _, err = recipe_cli(tmp_path, monkeypatch, capsys, text, "run", "r.recipe", "--quiet", "--cache", "cache")
    assert status == 0, err
    out = tmp_path / ODD_OUTPUT
    assert (out / "manifest.json").is_file()
    kept = {r["doc_id"] for r in pq.read_table(out / "data", columns=["doc_id"]).to_pylist()}
    assert kept == {"web/quoted-space", "web/rendered", "web/raw-word", "web/plain"}
    ledger = {r["doc_id"]: r["rule"] for r in pq.read_table(out / "ledger.parquet").to_pylist()}
    assert ledger == {"web/quoted": f"drop text == {json.dumps(QUOTED)}",
                      "web/jinja": f"keep text != {json.dumps(JINJA)}",
                      "web/raw": f"drop text ~ {json.dumps('^' + RAW)}",
                      "web/meta": f"drop meta.note in [{json.dumps(JINJA)}, {json.dumps(QUOTED)}]"}
    assert sorted(p.name for p in (tmp_path / "build").iterdir() if not p.name.endswith(".lock")) == \
        [Path(ODD_OUTPUT).name]

    # The compiled SQL holds each value as a quoted SQL literal, and is the same three statements as ever.
    status, _, err = recipe_cli(tmp_path, monkeypatch, capsys, None, "compile", "r.recipe", "-o", "compiled",
                                "--cache", "cache")
    assert status == 0, err
    (sql_file,) = (tmp_path / "compiled").glob("*_filter_web.sql")
    sql = sql_file.read_text()
    for value in (QUOTED, JINJA, "^" + RAW):
        assert literal(value) in sql, value
    assert f"{literal(JINJA)}, {literal(QUOTED)}" in sql
    body = "\n".join(line for line in sql.splitlines() if not line.startswith("--"))
    assert [st.type.name for st in duckdb.extract_statements(body)] == ["CREATE", "SELECT", "SELECT"]
    # Paths and column names are not SQL at all: they stay in the plan as data.
    compiled = json.loads((tmp_path / "compiled/plan.json").read_text())
    assert ODD_OUTPUT in json.dumps(compiled) and ODD_KEY in json.dumps(compiled)
    assert ODD_KEY not in (tmp_path / "compiled/macros.sql").read_text() + sql


# ---- the engine's DuckDB connection ------------------------------------------------------------------------


ENGINE_ESCAPES = {
    "read_csv": "SELECT * FROM read_csv('{etc}/passwd')",
    "read_text": "SELECT * FROM read_text('{etc}/passwd')",
    "read_blob": "SELECT * FROM read_blob('{etc}/passwd')",
    "glob": "SELECT * FROM glob('{etc}/*')",
    "replacement-scan": "SELECT * FROM '{etc}/passwd.csv'",
    "copy": "COPY (SELECT 42) TO '{tmp}/copied.csv'",
    "export": "EXPORT DATABASE '{tmp}/exported'",
    "attach": "ATTACH '{tmp}/attached.db' AS other",
    "install": "INSTALL httpfs",
    "load": "LOAD httpfs",
    "enable-external-access": "SET enable_external_access = true",
    "reset-external-access": "RESET enable_external_access",
    "unlock": "SET lock_configuration = false",
    "autoinstall": "SET autoinstall_known_extensions = true",
    "unsigned": "SET allow_unsigned_extensions = true",
    "temp-directory": "SET temp_directory = '{tmp}/spill'",
    "profile-to-file": "SET profiling_output = '{tmp}/profile.json'",
    "http": "SELECT * FROM read_csv('http://127.0.0.1:9/x.csv')",
}


@pytest.mark.parametrize("name", ENGINE_ESCAPES)
def test_engine_connection_reaches_no_file_and_loads_nothing(tmp_path: Path, name: str) -> None:
    recipe = check(parse(f'{SOURCE}output "build/x"\n'))
    engine = LocalEngine(plan(recipe, {}), recipe, cache_dir=tmp_path / "cache", threads=1)
    (tmp_path / "etc").mkdir()
    for filename in ("passwd", "passwd.csv"):
        (tmp_path / "etc" / filename).write_text("root:x:0:0:root:/root:/bin/sh\n")
    before = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    con = engine.connect()
    try:
        with pytest.raises(duckdb.Error, match="(?i)permission|disabled|cannot change configuration"):
            con.execute(ENGINE_ESCAPES[name].format(etc=tmp_path / "etc", tmp=tmp_path)).fetchall()
        # Still locked afterwards, and the operator library still works.
        settings = dict(con.execute("SELECT name, value FROM duckdb_settings() WHERE name IN "
                                    "('enable_external_access', 'lock_configuration', "
                                    "'autoinstall_known_extensions', 'autoload_known_extensions')").fetchall())
        assert settings == {"enable_external_access": "false", "lock_configuration": "true",
                            "autoinstall_known_extensions": "false", "autoload_known_extensions": "false"}
        assert con.execute("SELECT dr_words('The quiet river')").fetchall() == [(3,)]
    finally:
        con.close()
    after = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    assert [p for p in after if not p.startswith("cache")] == [p for p in before if not p.startswith("cache")]
    assert not [p for p in after if p.startswith("cache/") and not p.startswith("cache/duckdb-tmp")]
