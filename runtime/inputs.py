"""A recipe's inputs, the I/O the compiler does not do: sources, the lists its rules read, its tokenizer and
models, resolved to files with fingerprints (one resolver, one cache of file hashes), and the plan made from them.

Also what `recipe check` finds out about a checked recipe from the machine, without reading any data: that each
local source names a file (a glob matches one, a directory holds one), that the tokenizer and every model
directory exist, that a classifier's `label` is one its config.json names, that every `sql` expression binds
in DuckDB against the canonical schema, and that the mix can be filled by what a previous build's sources had.
Each error is located at the literal it is about, and all of them come back together.

A source at a remote URL (`https://`, `s3://`, ... anything with `://` but `file://`) is not listed by the check:
that reaches the network and its credentials; `recipe run` lists it first thing."""

from __future__ import annotations

import glob
import json
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import fields, is_dataclass
from functools import partial
from pathlib import Path
from typing import Any

from datarecipe.compiler.language import ast
from datarecipe.compiler.language.errors import RecipeError, Span, did_you_mean
from datarecipe.compiler.language.parser import parse
from datarecipe.compiler.language.spec import CheckedRecipe, ScoreSpec, SourceSpec
from datarecipe.compiler.lower import bind_query, macros_sql, statements
from datarecipe.compiler.plan import InputFile, Plan, plan
from datarecipe.operators import Param, named
from datarecipe.runtime.paths import in_project, is_remote

HASHES = "file-hashes.json"


# ---- resolving and planning ------------------------------------------------------------------------------------


def build_plan(recipe: CheckedRecipe, cache_dir: str, device: str = "auto", dvc: bool = False) -> Plan:
    """Resolve the recipe's inputs and plan it. With `dvc`, the plan as dvc.yaml and the params file need it
    (runtime/dvc.py): what DVC hashes itself is not read (see `input_files`), and models run at float32."""
    with hash_cache(cache_dir) as known:
        files = input_files(recipe, known, dvc)
        precision = "float32"
        if _model_paths(recipe) and not dvc:
            from datarecipe.runtime import weights  # torch only where a GPU driver is

            precision = weights.precision(weights.pick_device(device))
    return plan(recipe, files, precision)


def input_files(recipe: CheckedRecipe, known: dict[str, str], dvc: bool = False) -> dict[str, tuple[InputFile, ...]]:
    """The files of each input of the recipe, with their fingerprints (`known`: the hash cache). With `dvc`, what
    DVC hashes itself is not read: local sources are not listed, and no size is taken."""
    from datarecipe.runtime.stages.ingest import resolve, rule_files  # fsspec; `recipe check` does not need it

    files = {s.name: resolve(s, known) for s in recipe.sources if not dvc or is_remote(s.path)}
    files.update(rule_files(recipe, known))
    # Under DVC, a model or tokenizer in the project is DVC's to hash; the params carry one from elsewhere.
    if recipe.tokenizer:
        from datarecipe.runtime import tokens  # the tokenizers library, without torch

        local = tokens.resolve_tokenizer(recipe.tokenizer)
        mark = "" if dvc and in_project(recipe.tokenizer) else tokens.tokenizer_fingerprint(local, known)
        files["tokenizer"] = (InputFile(str(local), 0 if dvc else local.stat().st_size, mark),)
    models = _model_paths(recipe)
    if models:
        from datarecipe.runtime import weights  # without torch: it resolves paths and hashes files

        for path in models:
            local = weights.resolve_model(path)
            mark = "" if dvc and in_project(path) else weights.model_fingerprint(local, known)
            size = 0 if dvc else sum(f.stat().st_size for f in local.rglob("*") if f.is_file())
            files[f"model:{path}"] = (InputFile(str(local), size, mark),)
    return files


def _model_paths(recipe: CheckedRecipe) -> list[str]:
    return sorted({dict(s.args)["path"] for s in recipe.scores if s.kind == "model"})


@contextmanager
def hash_cache(cache_dir: str) -> Iterator[dict[str, str]]:
    """The sha256 of the local input files already hashed, by (path, size, mtime), kept in the cache directory:
    what is added to it inside the block is saved when the block ends without an error."""
    path = Path(cache_dir) / HASHES
    try:
        known: dict[str, str] = json.loads(path.read_text())
    except (OSError, ValueError):
        known = {}
    before = len(known)
    yield known
    if len(known) != before:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp-{os.getpid()}")
        tmp.write_text(json.dumps(known, sort_keys=True))
        tmp.replace(path)


# ---- what `recipe check` finds --------------------------------------------------------------------------------


def problems(recipe: CheckedRecipe) -> list[RecipeError]:
    """Every error the recipe's inputs hold, located in its text."""
    errors = [*_rule_files(recipe), *_sql(recipe)]  # the checked recipe keeps these literals' spans
    found = [*_sources(recipe), *_tokenizer(recipe), *_models(recipe), *_weights_files(recipe)]
    if found:  # parsed again only to locate what was found
        tree = parse(recipe.text)
        errors += [RecipeError(where(tree), error.message, error.hint) for where, error in found]
    return errors


# Where an error is: the span, in the parsed recipe, of the literal it is about.
Found = tuple[Callable[[ast.Recipe], Span], RecipeError]


def _argument(call: ast.Call, params: tuple[Param, ...], name: str) -> Span:
    """The span of what a call passes for parameter `name`, by name or by position; the call's without one."""
    for i, arg in enumerate(call.args):
        if arg.name == name or arg.name is None and i < len(params) and params[i].name == name:
            return arg.value.span
    return call.span


# ---- sources ---------------------------------------------------------------------------------------------------


def _sources(recipe: CheckedRecipe) -> Iterator[Found]:
    for spec in recipe.sources:
        error = _missing_files(spec)
        if error is not None:
            yield partial(_source_path, spec), RecipeError(None, f"source `{spec.name}`: {error.message}", error.hint)


def _source_path(spec: SourceSpec, tree: ast.Recipe) -> Span:
    decl = next(b for b in tree.blocks if isinstance(b, ast.Source) and b.name == spec.name)
    return _argument(decl.reader, named("source")[spec.format].params, "path")


def _missing_files(src: SourceSpec) -> RecipeError | None:
    """Why a local source names no file, as the build would say it; None when it names some, or is remote."""
    path = src.path.removeprefix("file://")
    if "://" in path or "::" in path:
        return None
    if set("*?[") & set(path):
        found = any(os.path.isfile(p) for p in glob.iglob(path, recursive=True, include_hidden=True))
    else:
        found = os.path.isfile(path) or any(files for _, _, files in os.walk(path))
    if found:
        return None
    # A stat or a glob said "nothing": the build's own listing (fsspec's glob) decides, and says it in its words.
    from datarecipe.runtime.stages.ingest import list_files

    try:
        list_files(src)
    except RecipeError as exc:
        return RecipeError(None, exc.message, _namesake(path) or f"{exc.hint} ({Path.cwd()})")
    return None


def _namesake(path: str) -> str:
    """`did you mean ...?` for a missing file with a name like it beside it; "" when there is none."""
    parent = os.path.dirname(path)
    if set("*?[") & set(path) or os.path.exists(path) or not os.path.isdir(parent or "."):
        return ""
    hint = did_you_mean(path, [os.path.join(parent, name) for name in os.listdir(parent or ".")])
    return hint if hint.startswith("did you mean") else ""


def _rule_files(recipe: CheckedRecipe) -> Iterator[RecipeError]:
    """A file a filter rule reads (`url_blocklist("list.txt")`) that does not exist."""
    for block in recipe.filters:
        for rule in block.rules:
            files = {p.name for p in named("pack")[rule.op].params if p.type == "file"} if rule.kind == "apply" else ()
            for name, value in rule.args:
                if name in files and not os.path.isfile(value.value):
                    yield RecipeError(value.span, f"`{name}` of `{rule.op}`: the file does not exist",
                                      _namesake(value.value) or f"paths are relative to the working directory "
                                      f"({Path.cwd()})")


def _weights_files(recipe: CheckedRecipe) -> Iterator[Found]:
    """A file of mix weights (`balance X weights "FILE"`) that does not exist."""
    for path in recipe.weights_files():
        if not os.path.isfile(path):
            yield partial(_weights_path, path), RecipeError(
                None, "`weights`: the file does not exist",
                _namesake(path) or f"paths are relative to the working directory ({Path.cwd()})")


def _weights_path(path: str, tree: ast.Recipe) -> Span:
    entries = [e for b in tree.blocks if isinstance(b, ast.Mix) for e in b.entries]
    entries += [e for b in tree.blocks if isinstance(b, ast.Order) for p in b.items if isinstance(p, ast.Phase)
                for m in p.steps if isinstance(m, ast.PhaseMix) for e in m.entries]
    return next(e.weights.span for e in entries if isinstance(e.weights, ast.Str) and e.weights.value == path)


# ---- tokenizer and models --------------------------------------------------------------------------------------


def _tokenizer(recipe: CheckedRecipe) -> Iterator[Found]:
    if not recipe.tokenizer:
        return
    from datarecipe.runtime.tokens import resolve_tokenizer

    try:
        resolve_tokenizer(recipe.tokenizer)
    except RecipeError as exc:
        yield _header_tokenizer, exc


def _header_tokenizer(tree: ast.Recipe) -> Span:
    header = next(b for b in tree.blocks if isinstance(b, ast.Header))
    return next(s.value.span for s in header.settings if s.name == "tokenizer")


def _models(recipe: CheckedRecipe) -> Iterator[Found]:
    specs = [s for s in recipe.scores if s.kind == "model"]
    if not specs:
        return
    from datarecipe.runtime import weights  # without torch: it resolves paths and reads config.json

    resolved: dict[str, Path | None] = {}
    for spec in specs:
        args = dict(spec.args)
        path = args["path"]
        if path not in resolved:
            try:
                resolved[path] = weights.resolve_model(path)
            except RecipeError as exc:
                resolved[path] = None
                yield partial(_score_argument, spec, "path"), exc
        local = resolved[path]
        labels = weights.config_labels(local) if spec.op == "classifier" and local is not None else None
        if labels is not None:
            try:
                weights.label_index(labels, args["label"], path)
            except RecipeError as exc:
                yield partial(_score_argument, spec, "label"), exc


def _score_argument(spec: ScoreSpec, name: str, tree: ast.Recipe) -> Span:
    entry = next(e for b in tree.blocks if isinstance(b, ast.Score) and b.source == spec.source
                 for e in b.entries if e.name == spec.name)
    return _argument(entry.call, named("scorer")[spec.op].params, name)


# ---- sql -------------------------------------------------------------------------------------------------------

_SQL_HINT = "`sql` takes one scalar expression over the document's columns: doc_id, source, text, content_hash, meta"


def _sql(recipe: CheckedRecipe) -> Iterator[RecipeError]:
    """Each `sql` expression bound by DuckDB over an empty table of the canonical schema, as the build's stages
    would bind it (with the text functions, for one that calls them as `dr_NAME`)."""
    expressions = list({e.span: e for e in _sql_nodes(recipe)}.values())  # a phase shares the mix's entries
    if not expressions:
        return
    import duckdb  # only recipes with `sql` pay for it

    con = duckdb.connect()
    try:
        con.execute("SET enable_external_access = false")
        if any("dr_" in e.text for e in expressions):
            from datarecipe.runtime.session import register_kernels

            for _, sql in statements(macros_sql()):
                con.execute(sql)
            register_kernels(con, [])
        for e in expressions:
            try:
                con.execute(bind_query(e))
            except duckdb.Error as exc:
                first = (str(exc).splitlines() or [type(exc).__name__])[0]
                near = re.search(r'Did you mean "([^"]+)"', str(exc))  # not at a `dr_` name: those are internal
                yield RecipeError(e.span, f"invalid SQL expression: {re.sub(r'^[A-Za-z ]*Error: ', '', first)}",
                                  f"did you mean `{near.group(1)}`?" if near and not near.group(1).startswith("dr_")
                                  else _SQL_HINT)
    finally:
        con.close()


def _sql_nodes(node: Any) -> Iterator[ast.Sql]:
    """The `sql` expressions anywhere in a checked recipe (its filters, scores, mix and order)."""
    if isinstance(node, ast.Sql):
        yield node
    elif isinstance(node, tuple):
        for item in node:
            yield from _sql_nodes(item)
    elif is_dataclass(node):
        for f in fields(node):
            yield from _sql_nodes(getattr(node, f.name))


# ---- the mix against a previous build ------------------------------------------------------------------------


def budget_problems(recipe: CheckedRecipe, cache_dir: str) -> list[RecipeError]:
    """Where the recipe's output holds a previous build whose sources are unchanged, the mix checked against what
    they had then: a share they cannot fill is an error now, not after the scoring. None when nothing is known."""
    manifest = Path(recipe.output.path) / "manifest.json"
    if recipe.mix is None or not manifest.is_file():
        return []
    from datarecipe.runtime.stages.mix import Mixer

    try:
        mixture = json.loads(manifest.read_text())["mixture"]
        if mixture["unit"] != recipe.mix.unit:
            return []
        the_plan = build_plan(recipe, cache_dir)
    except (RecipeError, OSError, ValueError, KeyError, TypeError):
        return []  # no usable previous build: `recipe run` checks the budget when it gets there
    stage = the_plan.stage("mix")
    supply = mixture.get("supply", {})
    feeds = {s: feed for s, feed in stage.params["feeds"].items() if s in stage.params["caps"]}
    if any(supply.get(s, {}).get("input") != the_plan.stage(feed).fingerprint for s, feed in feeds.items()):
        return []
    found = Mixer(stage.name, stage.params).known_shortfalls(supply)
    if not found:
        return []
    spans: dict[str, Span] = {}
    for block in parse(recipe.text).blocks:
        if isinstance(block, ast.Mix):
            spans = {e.source: e.span for e in block.entries} | {"": block.span}
    return [RecipeError(spans.get(source, spans.get("")), f"{message} ({recipe.output.path}/manifest.json)", hint)
            for source, message, hint in found]
