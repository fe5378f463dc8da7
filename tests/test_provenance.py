"""Provenance: dataset hashes, the git commit, machine and versions; in run and study results
and as MLflow tags."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

import hqml
from hqml.provenance import dataset_fingerprint, git_commit, mlflow_tags, provenance

ROOT = Path(hqml.__file__).resolve().parents[2]


def test_dataset_hash_is_content_based():
    a = dataset_fingerprint("d", [np.arange(6.0).reshape(2, 3), torch.tensor([0, 1])])
    b = dataset_fingerprint(
        "d", [torch.arange(6.0, dtype=torch.float64).reshape(2, 3), np.array([0, 1])]
    )
    assert a == b and a["shapes"] == [[2, 3], [2]]
    c = dataset_fingerprint("d", [np.arange(6.0).reshape(3, 2), np.array([0, 1])])
    d = dataset_fingerprint("d", [np.arange(6.0).reshape(2, 3) + 1e-12, np.array([0, 1])])
    assert len({a["sha256"], c["sha256"], d["sha256"]}) == 3


def test_git_commit_matches_git_when_run_from_a_checkout():
    info = git_commit()
    if not (ROOT / ".git").exists():
        assert info is None
        return
    sha = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert info["commit"] == sha and isinstance(info["dirty"], bool)


def test_provenance_fields_and_tags():
    prov = provenance(
        backend="statevector",
        seeds={"run": 3},
        diff_method="adjoint",
        dtype=torch.complex128,
        noise={"depolarizing": 0.01},
    )
    assert prov["libraries"]["torch"] == torch.__version__
    assert prov["machine"]["cores"] >= 1 and prov["machine"]["cpu"]
    assert prov["dtype"] == "torch.complex128" and prov["hqml_version"] == hqml.__version__
    tags = mlflow_tags(prov)
    assert tags["hqml.seeds.run"] == "3" and tags["hqml.noise.depolarizing"] == "0.01"
    assert all(isinstance(v, str) and len(v) <= 5000 for v in tags.values())
    json.dumps(prov)  # JSON-ready


def test_run_results_carry_provenance_and_mlflow_tags(tmp_path):
    from hqml.experiment import parse_config, run_experiment

    cfg = parse_config(
        {
            "name": "p",
            "output_dir": str(tmp_path),
            "seed": 2,
            "data": {"name": "linearly_separable", "n_samples": 40, "n_features": 2},
            "model": {"n_qubits": 2, "layers": 1},
            "noise": {"depolarizing": 0.01},
            "training": {"epochs": 1, "batch_size": 20, "baseline": False},
            "tracking": {"mlflow": True, "tracking_uri": str(tmp_path / "mlruns")},
        }
    )
    cfg = cfg.model_copy(
        update={"model": cfg.model.model_copy(update={"backend": "density_matrix"})}
    )
    results = run_experiment(cfg)
    prov = json.loads((tmp_path / "p" / "results.json").read_text())["provenance"]
    assert prov["seeds"]["run"] == 2 and prov["backend"] == "density_matrix"
    assert prov["noise"]["depolarizing"] == 0.01 and len(prov["dataset"]["sha256"]) == 64
    assert prov["dtype"] == "torch.float32" and prov["simulation_dtype"] == "torch.complex64"
    mlflow = pytest.importorskip("mlflow")

    run = mlflow.tracking.MlflowClient(str(tmp_path / "mlruns")).get_run(results["mlflow_run_id"])
    assert run.data.tags["hqml.dataset.sha256"] == prov["dataset"]["sha256"]
    assert run.data.tags["hqml.noise.depolarizing"] == "0.01"


def test_vqe_and_qaoa_results_carry_provenance():
    from hqml.algorithms import QAOA, VQE

    c = hqml.Circuit(1)
    c.ry(c.weight("w")[()], 0)
    res = VQE(hqml.Z(0), c, seed=4).run()
    assert res.provenance["seeds"] == {"seed": 4} and res.provenance["backend"] == "statevector"
    q = QAOA(hqml.Z(0) @ hqml.Z(1), p=1, seed=2, maxiter=5).run()
    assert q.provenance["seeds"] == {"seed": 2} and q.provenance["p"] == 1
    assert q.provenance["git"] == git_commit()
