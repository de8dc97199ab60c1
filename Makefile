# Two entry points for a fresh machine: `make demo` (main job on the examples installed with rnalm) and `make test`.
# Each creates .venv and installs what it needs; torch is pinned here to the local CPU wheel
# (pyproject keeps a range so users can bring their own CUDA build).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
TORCH  := torch==2.13.0
# What ruff checks and format-checks; mypy reads its files from pyproject ([tool.mypy]).
LINTED := src tests benchmarks

.PHONY: venv lint test test-slow test-all demo clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e '.[test]'
	touch $@

venv: $(VENV)/.installed

# Style, types and the import contract (layers in pyproject's [tool.importlinter]; see docs/architecture.md).
lint: venv
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test: lint
	$(PY) -m pytest -q

# The tests marked slow: CLI byte-reproducibility and kill -9 resume, a real torchrun shard + merge,
# the full-size LAMAR architecture, and README's Quick start run by a wheel installed with a plain
# `pip install` in a clean virtualenv (tests/packaging/test_wheel_install.py: needs the package
# registry, a few minutes). pytest's exit 5 (nothing collected) is not a failure.
test-slow: venv
	$(PY) -m pytest -q -m slow || [ $$? -eq 5 ]

test-all: venv
	$(PY) -m pytest -q -m ''

demo: venv
	$(PY) -m rnalm demo --output demo_out --overwrite

clean:
	rm -rf $(VENV) demo_out
