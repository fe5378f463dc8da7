# hqml: `make run` (set-up + main job) and `make test` (set-up + whole test suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.hqml-installed

.PHONY: setup native run demo test bench bench-envs clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# torch is installed only when none is importable: a user's CUDA build stays.
$(STAMP): $(PY) pyproject.toml
	@$(PY) -c "import torch" 2>/dev/null || $(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e ".[all]"
	@touch $(STAMP)

setup: $(STAMP) native

# compiled layer kernels (gcc + OpenMP); without a compiler hqml uses its torch kernels
NATIVE_DIR := src/hqml/sim/native
# (one library per kind of CPU, _hqml_kernels-<fingerprint>.so; the script skips an up-to-date one)
native:
	@$(PYTHON) $(NATIVE_DIR)/build.py

# the main job: a hybrid model on 4x4 digits against a classical baseline of the same size
run: setup
	$(PY) -m hqml.cli.main run examples/digits_hybrid.toml

demo: setup
	$(PY) -m hqml.cli.main demo

test: setup
	$(PY) -m pytest -q -p no:cacheprovider

bench: setup
	$(PY) -m hqml.cli.main bench

# side virtual environments for peers that cannot share hqml's (TorchQuantum pins qiskit < 1.0)
bench-envs: setup
	bash benchmarks/make_envs.sh $(VENV)

clean:
	rm -rf $(VENV) build dist src/*.egg-info src/hqml/sim/native/*.so
