"""Provenance in the results of ``hqml bench`` (the suite's document, each result's data hash)
and of the kernel estimators (``provenance_`` after ``fit``)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

import hqml
from hqml.bench.registry import data_sha256
from hqml.bench.suite import run_suite
from hqml.circuit.templates import zz_feature_map
from hqml.kernels import QSVC, QSVR, FidelityKernel, QuantumKernelRidge
from hqml.noise import NoiseModel, depolarizing
from hqml.provenance import dataset_fingerprint

ROOT = Path(hqml.__file__).resolve().parents[2]

PLUGIN = """
import numpy as np
from hqml.bench.registry import Impl, Prepared, Workload

def make_data(case):
    rng = np.random.default_rng(case["n"])
    return {"v": rng.normal(size=case["n"]), "meta": {"n": case["n"]}}

def _impl(case, data):
    v = data["v"]
    return Prepared(lambda: v, lambda out: {"value": out})

WORKLOAD = Workload(name="W9", title="provenance test", cases=[{"n": 8}],
                    quick_cases=[{"n": 3}, {"n": 4}], make_data=make_data,
                    impls=[Impl("hqml", _impl), Impl("twin", _impl)])
"""


def _head() -> str | None:
    if not (ROOT / ".git").exists():
        return None
    return subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_bench_results_carry_provenance_and_each_cases_data_hash(tmp_path):
    (tmp_path / "w9_prov_test.py").write_text(PLUGIN)
    doc = run_suite(quick=True, repeats=1, bandwidth=False, directory=tmp_path, isolate=False)
    prov = doc["provenance"]
    assert prov["hqml_version"] == hqml.__version__
    head = _head()
    assert (prov["git"] or {}).get("commit") == head
    assert prov["machine"]["cpu"] and prov["libraries"]["numpy"] == np.__version__
    json.dumps(doc, default=str)
    ok = [r for r in doc["results"] if r["status"] == "ok"]
    assert {(r["framework"], r["label"]) for r in ok} == {
        (f, f"n={n}") for f in ("hqml", "twin") for n in (3, 4)
    }
    by_case = {}
    for r in ok:
        by_case.setdefault(r["case"]["n"], set()).add(r["data_sha256"])
    # every framework of a case saw the same data; different cases, different data
    assert all(len(h) == 1 for h in by_case.values())
    assert by_case[3] != by_case[4]
    rng = np.random.default_rng(3)
    assert by_case[3] == {data_sha256({"meta": {"n": 3}, "v": rng.normal(size=3)})}


def test_data_hash_follows_content_not_layout():
    a = {"x": np.arange(4.0), "k": [1, 2.5, "s"]}
    assert data_sha256(a) == data_sha256({"k": [1, 2.5, "s"], "x": np.arange(4.0)})
    assert data_sha256(a) != data_sha256({"x": np.arange(4.0) + 1e-12, "k": [1, 2.5, "s"]})
    assert data_sha256(a) != data_sha256({"x": np.arange(4.0).reshape(2, 2), "k": [1, 2.5, "s"]})


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 2))
    return X, (X[:, 0] > 0).astype(int), X[:, 1]


def test_kernel_estimators_record_provenance(data):
    X, y, t = data
    model = QSVC(FidelityKernel(zz_feature_map(2), seed=5), random_state=3).fit(X, y)
    prov = model.provenance_
    assert prov["dataset"] == dataset_fingerprint("fit data", [X, y])
    assert prov["seeds"] == {"kernel": 5, "random_state": 3}
    assert prov["backend"] == "statevector" and prov["dtype"] == "complex128"
    assert prov["kernel"] == "FidelityKernel" and prov["feature_map"]["n_qubits"] == 2
    assert prov["feature_map"]["gates"] == zz_feature_map(2).count_ops()
    assert (prov["git"] or {}).get("commit") == _head()
    assert prov["hqml_version"] == hqml.__version__ and prov["machine"]["cpu"]
    json.dumps(prov)
    # other data, other hash; the regressors keep it too
    other = QSVC(FidelityKernel(zz_feature_map(2))).fit(X + 0.5, y).provenance_
    assert other["dataset"]["sha256"] != prov["dataset"]["sha256"]
    for est in (
        QSVR(FidelityKernel(zz_feature_map(2))),
        QuantumKernelRidge(FidelityKernel(zz_feature_map(2))),
    ):
        assert est.fit(X, t).provenance_["dataset"] == dataset_fingerprint("fit data", [X, t])


def test_noisy_kernel_provenance_names_its_noise(data):
    X, y, _ = data
    nm = NoiseModel()
    nm.add_channel(depolarizing(0.02))
    kernel = FidelityKernel(
        zz_feature_map(2), backend="density_matrix", noise_model=nm, bandwidth=0.5
    )
    prov = kernel.provenance(X[:4])
    assert prov["backend"] == "density_matrix" and prov["bandwidth"] == 0.5
    assert prov["noise"]["rules"] == [repr(r) for r in nm.rules]
    assert "depolarizing(0.02)" in prov["noise"]["rules"][0]
    assert prov["dataset"]["shapes"] == [[4, 2]]
