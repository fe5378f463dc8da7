# hqml: `make run` (light set-up + main job) and `make test` (every extra + whole test suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# The main job needs only hqml's core dependencies (torch, scikit-learn, matplotlib, ...);
# the tests need every extra (qiskit, pennylane, ray, mlflow, the benchmark peers, ...).
CORE_STAMP := $(VENV)/.hqml-core
ALL_STAMP := $(VENV)/.hqml-all

# torch is installed only when none is importable, so a build you installed yourself stays.
# `pip install torch==2.13.0` takes what your package index serves: on PyPI that is the CUDA
# build on Linux x86_64 (with its NVIDIA libraries, about 3 GB) and the CPU build elsewhere.
# For the CPU build on Linux:  make run TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?=
TORCH_INDEX_ARG := $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX),)

.PHONY: setup setup-all native run demo test test-fast lint bench bench-envs clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(CORE_STAMP): $(PY) pyproject.toml
	@$(PY) -c "import torch" 2>/dev/null || $(PIP) install --quiet $(TORCH_INDEX_ARG) "$(TORCH_SPEC)"
	$(PIP) install --quiet -e .
	@touch $(CORE_STAMP)

$(ALL_STAMP): $(CORE_STAMP)
	$(PIP) install --quiet -e ".[all]"
	@touch $(ALL_STAMP)

setup: $(CORE_STAMP) native

setup-all: $(ALL_STAMP) native

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

# two workers (the tests run one torch thread each; a file's tests stay on one worker, so its
# module fixtures start once): TEST_WORKERS=0 runs them in this process
TEST_WORKERS ?= 2
PYTEST = $(PY) -m pytest -q -p no:cacheprovider $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)

test: setup-all lint
	$(PYTEST)

# one formatter and one linter for the whole tree (make test runs this first)
lint: setup-all
	$(PY) -m ruff format --check src tests
	$(PY) -m ruff check src tests

# everything but the tests marked slow (servers, Ray, subprocess builds): under 2 minutes
test-fast: setup-all
	$(PYTEST) -m "not slow"

bench: setup-all
	$(PY) -m hqml.cli.main bench

# side virtual environments for peers that cannot share hqml's (TorchQuantum pins qiskit < 1.0)
bench-envs: setup-all
	bash benchmarks/make_envs.sh $(VENV)

clean:
	rm -rf $(VENV) build dist src/*.egg-info src/hqml/sim/native/*.so
