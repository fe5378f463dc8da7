# hqml: `make run` (set-up + main job) and `make test` (set-up + whole test suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.hqml-installed

.PHONY: setup run test bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# torch is installed only when none is importable: a user's CUDA build stays.
$(STAMP): $(PY) pyproject.toml
	@$(PY) -c "import torch" 2>/dev/null || $(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e ".[all]"
	@touch $(STAMP)

setup: $(STAMP)

run: setup
	$(PY) -m hqml.cli.main demo

test: setup
	$(PY) -m pytest -q -p no:cacheprovider

bench: setup
	$(PY) -m hqml.cli.main bench

clean:
	rm -rf $(VENV) build dist src/*.egg-info
