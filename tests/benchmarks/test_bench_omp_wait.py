"""The suite's OpenMP wait policy (``hqml bench --omp-wait``): what each setting puts in a run's
environment, that the OpenMP runtime of a child process reads it, and that it is recorded."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from hqml.bench.suite import run_suite
from hqml.bench.timing import (
    OMP_WAIT_ENV,
    omp_wait_policy,
    subprocess_env,
    thread_env,
)


def test_each_policy_sets_or_leaves_out_the_variable():
    assert thread_env(2)["OMP_WAIT_POLICY"] == "PASSIVE"  # the default: shared machines
    assert thread_env(2, "active")["OMP_WAIT_POLICY"] == "ACTIVE"
    assert "OMP_WAIT_POLICY" not in thread_env(2, "default")
    assert thread_env(3, "default")["OMP_NUM_THREADS"] == "3"
    with pytest.raises(ValueError, match="unknown OpenMP wait policy 'lazy'; use one of passive"):
        omp_wait_policy("lazy")


def test_default_policy_removes_an_inherited_variable(monkeypatch):
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    monkeypatch.setenv(OMP_WAIT_ENV, "default")
    env = subprocess_env(2, {"X_EXTRA": "1"})
    assert "OMP_WAIT_POLICY" not in env and env["X_EXTRA"] == "1"
    monkeypatch.setenv(OMP_WAIT_ENV, "active")
    assert subprocess_env(2)["OMP_WAIT_POLICY"] == "ACTIVE"


@pytest.mark.slow  # a child process per policy
@pytest.mark.parametrize("policy, spincount", [("passive", "'0'"), ("default", "'300000'")])
def test_the_childs_openmp_runtime_reads_the_policy(monkeypatch, policy, spincount):
    # GNU OpenMP prints its settings at start-up with OMP_DISPLAY_ENV=verbose: a passive wait
    # policy spins 0 times before sleeping, its default 300,000 (an inherited ACTIVE: 3e10)
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")  # inherited from the caller's shell
    monkeypatch.setenv(OMP_WAIT_ENV, policy)
    env = subprocess_env(1, {"OMP_DISPLAY_ENV": "verbose"})
    code = "import torch; torch.ones(4).sum()"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    line = next((x for x in out.stderr.splitlines() if "GOMP_SPINCOUNT" in x), None)
    if line is None:
        pytest.skip("this torch does not run on GNU OpenMP")
    assert spincount in line


@pytest.mark.slow
def test_the_suite_records_its_policy_and_restores_the_environment(monkeypatch):
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    keys = [*thread_env(2), "OMP_WAIT_POLICY", OMP_WAIT_ENV]
    before = {k: os.environ.get(k) for k in keys}
    doc = run_suite(["W2"], quick=True, repeats=1, frameworks=["qulacs"], bandwidth=False,
                    omp_wait="default")  # fmt: skip
    assert doc["omp_wait_policy"] == "default"
    assert all(r["status"] in ("ok", "not installed", "skipped") for r in doc["results"])
    assert {k: os.environ.get(k) for k in keys} == before
    with pytest.raises(ValueError, match="unknown OpenMP wait policy"):
        run_suite(["W2"], quick=True, omp_wait="spin")
