"""Plugins: operators that users write in Python (docs/plugins.md), loaded before a recipe is checked.

An installed package declares the entry point group `datarecipe.operators`, naming a module whose
`@datarecipe.operator` declarations join the operator library when it is imported; a recipe can also name
modules of its own in its header (`plugins ["my_rules"]`), looked for in the recipe's directory first, then on
Python's path. The engine runs their kernels like the built-ins' (runtime/session.py).
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from importlib import metadata
from pathlib import Path

from datarecipe.compiler.language import ast
from datarecipe.compiler.language.checker import MODULE_NAME
from datarecipe.compiler.language.errors import RecipeError, RecipeErrors
from datarecipe.operators import OperatorError, provided_by

ENTRY_POINTS = "datarecipe.operators"

_entry_points_loaded = False


def load_plugins(tree: ast.Recipe | None = None, recipe_path: str = "") -> None:
    """Import the installed plugins, and the modules the recipe's header names (none without a recipe), so that
    their operators are in the library the checker reads; raises RecipeErrors (located at the module's name,
    where it can be)."""
    try:
        load_entry_points()
    except RecipeError as exc:
        if debugging():
            traceback.print_exception(exc)
        raise RecipeErrors([exc]) from None
    errors = load_modules(tree, Path(recipe_path).resolve().parent, debugging()) if tree is not None else []
    if errors:
        raise RecipeErrors(errors)


def debugging() -> bool:
    """`--debug` (or DATARECIPE_DEBUG=1, which `recipe stage` inherits from `recipe run --debug`): print the
    traceback of an error a plugin raised, or of a bug."""
    return bool(os.environ.get("DATARECIPE_DEBUG"))


def load_entry_points() -> None:
    """Import every installed plugin (the entry points of group `datarecipe.operators`), once per process."""
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in sorted(metadata.entry_points(group=ENTRY_POINTS), key=lambda e: (e.name, e.value)):
        package = f"{ep.dist.name} {ep.dist.version}" if ep.dist else "an installed package"
        if ep.dist:  # the operators' origin, without a scan of every installed package
            provided_by(ep.module.split(".")[0], ep.dist.name, ep.dist.version)
        try:
            ep.load()
        except Exception as exc:  # noqa: BLE001 - whatever a plugin raises, it is the plugin's problem
            hint = (f"fix the package, or uninstall it: `pip uninstall {ep.dist.name}`" if ep.dist else
                    "fix the package, or uninstall it")
            raise RecipeError(None, f"plugin entry point `{ep.name} = {ep.value}` of {package} cannot be loaded: "
                                    f"{why(exc)}", hint, input=ENTRY_POINTS) from exc


def load_modules(recipe: ast.Recipe, directory: Path, debug: bool = False) -> list[RecipeError]:
    """Import the modules the recipe's header names (`plugins ["a", "b.c"]`); an error is located at the name.
    The recipe's directory goes first on Python's path, and stays there (a plugin may import its neighbours
    when it runs). A list the checker will reject is left to it."""
    headers = [b for b in recipe.blocks if isinstance(b, ast.Header)][:1]
    items = [item for h in headers for s in h.settings if s.name == "plugins" and isinstance(s.value, ast.ListLit)
             for item in s.value.items if isinstance(item, ast.Str) and MODULE_NAME.fullmatch(item.value)]
    if items and str(directory) not in sys.path:
        sys.path.insert(0, str(directory))
    errors = []
    for item in items:
        name = item.value
        try:
            importlib.import_module(name)
            continue
        except OperatorError as exc:
            failure: Exception = exc
            error = RecipeError(item.span, f"plugin `{name}`: {exc}", "fix the declaration in the module; names "
                                "must be new (`recipe operators` lists those taken)")
        except ModuleNotFoundError as exc:
            failure = exc
            if exc.name != name and not name.startswith(f"{exc.name}."):  # a module the plugin imports
                error = RecipeError(item.span, f"plugin `{name}` failed to import: {why(exc)}",
                                    "install what it imports; `--debug` shows the traceback")
            else:
                error = RecipeError(item.span, f"no Python module `{name}`",
                                    f"put `{name.replace('.', '/')}.py` in the recipe's directory ({directory}), "
                                    "or install the package that provides it")
        except Exception as exc:  # noqa: BLE001 - a plugin that fails as it is imported
            failure = exc
            error = RecipeError(item.span, f"plugin `{name}` failed to import: {why(exc)}",
                                "fix the module; `--debug` shows the traceback")
        if debug:
            traceback.print_exception(failure)
        errors.append(error)
    return errors


def why(exc: BaseException) -> str:
    """An exception in one line: its type and the first line of its message."""
    return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else '(no message)'}"
