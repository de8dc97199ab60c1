# Two entry points for a fresh machine: `make demo` (main job on bundled data) and `make test`.
# Each creates .venv and installs what it needs; torch is pinned here to the local CPU wheel
# (pyproject keeps a range so users can bring their own CUDA build).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
TORCH  := torch==2.13.0

.PHONY: venv test test-all demo clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e '.[test,h5,vienna,train,lora]'
	touch $@

venv: $(VENV)/.installed

test: venv
	$(PY) -m pytest -q

test-all: venv
	$(PY) -m pytest -q -m ''

demo: venv
	$(PY) -m rnalm demo --output demo_out

clean:
	rm -rf $(VENV) demo_out
