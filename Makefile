# Two entry points, each self-contained on a fresh machine with Python 3.11:
#   make demo   - create .venv, install, run the whole `hybrid` pipeline on the embedded demo world
#   make test   - create .venv, install with the test extra, run lint and the fast tier (unit, contract and
#                 sub-pipeline tests); make test-e2e runs the whole-pipeline tier; CI runs both
#
# torch: on a machine without CUDA we install the CPU wheel *first*, so that the
# `torch` requirement of this package is already satisfied and pip never pulls a
# multi-GB CUDA build. Override TORCH_SPEC / TORCH_INDEX for other setups (docs/quickstart.md, "GPU install").

PYTHON      ?= python3.11
VENV        ?= .venv
BIN         := $(VENV)/bin
TORCH_VERSION ?= 2.13.0
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
HAS_CUDA    := $(shell command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 && echo 1)

export KEDRO_DISABLE_TELEMETRY := 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: demo test test-e2e lint venv bench bench-smoke viz-site clean-data docs docs-build

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; install Python 3.11 or run 'make PYTHON=/path/to/python3.11 ...'" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# torch first: CPU wheel unless CUDA is present.
$(VENV)/.torch: | $(BIN)/python
ifeq ($(HAS_CUDA),1)
	$(BIN)/python -m pip install --quiet "torch==$(TORCH_VERSION)"
else
	$(BIN)/python -m pip install --quiet "torch==$(TORCH_VERSION)+cpu" \
	  || $(BIN)/python -m pip install --quiet "torch==$(TORCH_VERSION)+cpu" --index-url $(TORCH_INDEX)
endif
	@touch $@

$(VENV)/.installed-%: pyproject.toml $(VENV)/.torch
	$(BIN)/python -m pip install --quiet -e ".[$*]"
	@touch $@

# The package alone, with its runtime dependencies (what the demo needs).
$(VENV)/.installed-base: pyproject.toml $(VENV)/.torch
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

venv: $(VENV)/.installed-test

# The demo needs the package alone; `make demo` says so before it installs anything else.
demo: $(VENV)/.installed-base
	@echo "make demo: installed msd_tagging and its runtime dependencies only (no test, jupyter, viz or dask extra;"
	@echo "           'pip install -e \".[jupyter,viz]\"' adds kedro jupyter and kedro viz)"
	$(BIN)/kedro run --pipeline=hybrid

# Two tiers, each timed in the log: the fast one (unit, contract and sub-pipeline tests on
# fixture tables) and the end-to-end one (whole pipelines per env, the CLI, the docs build).
PYTEST_TIMES := --durations=15 --durations-min=1.0

test: lint
	$(BIN)/python -m pytest -m "not e2e and not bench_smoke" $(PYTEST_TIMES)

test-e2e: $(VENV)/.installed-test
	$(BIN)/python -m pytest -m "e2e" $(PYTEST_TIMES)

# The benchmark scripts on a tiny world (the sensitivity sweep): a check that they still run, not a measurement.
bench-smoke: $(VENV)/.installed-test
	$(BIN)/python -m pytest -m "bench_smoke" $(PYTEST_TIMES)

# One formatter and linter for the tree (pyproject.toml [tool.ruff]; pre-commit runs the same).
lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The docs site (mkdocs.yml): served on http://127.0.0.1:8000, or built with --strict into build/docs.
export NO_MKDOCS_2_WARNING := 1
docs: $(VENV)/.installed-test
	$(BIN)/mkdocs serve --dev-addr 127.0.0.1:8000

docs-build: $(VENV)/.installed-test
	$(BIN)/mkdocs build --strict

# The kedro-viz static site in build/, with this machine's absolute project path taken out.
viz-site: $(VENV)/.installed-test
	$(BIN)/python docs/viz_site.py

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/triplets_reader.py

# Removes generated data (demo world and every pipeline output), keeps the folder layout.
clean-data:
	find data -mindepth 2 ! -name .gitkeep -delete
