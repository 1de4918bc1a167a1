"""The layout's promises: the compiler is pure (checking and planning a recipe import no engine, model library or
filesystem layer), no module but the CLI's own imports the CLI, the packages import one another without a circle,
and a plan's stages say what they are in typed fields."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from datarecipe.compiler.language.checker import check
from datarecipe.compiler.language.parser import parse
from datarecipe.compiler.plan import plan

ROOT = Path(__file__).resolve().parent.parent
# The folders of the installed package `datarecipe` (pyproject.toml's package-dir).
PACKAGES = {"api": "datarecipe", "compiler": "datarecipe.compiler", "operators": "datarecipe.operators",
            "runtime": "datarecipe.runtime"}


def modules() -> dict[str, Path]:
    """Every module of the package, by its dotted name."""
    out = {}
    for folder, package in PACKAGES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = [p for p in path.relative_to(ROOT / folder).with_suffix("").parts if p != "__init__"]
            out[".".join([package, *parts])] = path
    return out


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    """The package's modules a module imports, at its top or inside a function (a lazy import still ties the
    two modules together); not those under `if TYPE_CHECKING:`, which name types for annotations only."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            node.body = []
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("datarecipe"):
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                found.add(name if name in known else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("datarecipe"))
    return {name for name in found if name in known}


def test_checking_and_planning_import_no_engine_or_model_library():
    code = ("import sys\n"
            "import datarecipe.compiler.language.checker, datarecipe.compiler.plan\n"
            "heavy = ('torch', 'fsspec', 'duckdb', 'ray', 'pyarrow', 'matplotlib', 'transformers', 'fasttext')\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m.startswith('datarecipe.runtime')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_no_module_outside_the_cli_imports_it():
    known = modules()
    offenders = [name for name, path in known.items() if not name.startswith("datarecipe.runtime.cli")
                 and any(m.startswith("datarecipe.runtime.cli") for m in imports(path, known))]
    assert offenders == []


def test_the_packages_import_one_another_without_a_circle():
    known = modules()
    graph = {name: imports(path, known) - {name} for name, path in known.items()}
    circles = []
    state: dict[str, int] = {}  # 1: on the path being walked, 2: done

    def walk(name: str, path: list[str]) -> None:
        state[name] = 1
        for other in sorted(graph[name]):
            if state.get(other) == 1:
                circles.append(path[path.index(other):] + [other])
            elif other not in state:
                walk(other, path + [other])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            walk(name, [name])
    assert circles == []


def test_stages_carry_their_step_and_source():
    recipe = check(parse("""\
recipe "steps" { seed 1 }
source web = jsonl("data/web/*.jsonl")
source wiki = jsonl("data/wiki/*.jsonl")
filter web { dedup minhash(scope: "global") }
filter wiki { dedup minhash(scope: "global") }
score wiki { quality = expr(words(text)) }
mix 10 docs { web 50%  wiki 50% }
order { shuffle }
output "build/steps" as parquet
"""))
    steps = [(s.step, s.source) for s in plan(recipe, {}).stages]
    assert steps == [("ingest", "web"), ("filter", "web"), ("ingest", "wiki"), ("filter", "wiki"),
                     ("dedup_global", ""), ("score", "wiki"), ("mix", ""), ("order", ""), ("output", "")]
