"""The ADAPT-VQE dissociation-curve example writes its report (JSON, Markdown table, plot) with
energies that agree with exact diagonalisation."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow  # four ADAPT runs and a plot, ~10 s


def test_adapt_example_writes_table_plot_and_exact_energies(tmp_path, monkeypatch):
    pytest.importorskip("pyscf", reason="pyscf is not installed (pip install 'hqml[chem]')")
    pytest.importorskip("openfermion", reason="openfermion is not installed")
    from hqml.chem import molecular_hamiltonian

    script = ROOT / "examples" / "adapt_vqe_curves.py"
    argv = [str(script), "--out", str(tmp_path), "--molecules", "H2", "--pools", "qubit"]
    argv += ["--checkpoint"]
    monkeypatch.setattr(sys, "argv", argv + ["--bond-lengths", "0.9,2.2"])
    runpy.run_path(str(script), run_name="__main__")
    rows = json.loads((tmp_path / "adapt.json").read_text())
    assert [(r["molecule"], r["bond_length"], r["pool"]) for r in rows] == [
        ("H2", 0.9, "qubit"),
        ("H2", 2.2, "qubit"),
    ]
    for r in rows:
        mol = molecular_hamiltonian([("H", (0, 0, 0)), ("H", (0, 0, r["bond_length"]))])
        h = mol.hamiltonian.to_matrix(4)
        keep = [i for i in range(16) if bin(i).count("1") == 2]
        exact = np.linalg.eigvalsh(h[np.ix_(keep, keep)])[0]
        assert r["adapt"] == pytest.approx(exact, abs=1e-6) and r["adapt_converged"]
        assert r["adapt_cnots"] < r["uccsd_cnots"] and r["adapt_reoptimize"] == "state"
        assert len(r["adapt_trace"]) == r["adapt_parameters"]
        assert r["adapt_trace"][-1][0] == pytest.approx(r["adapt_error"])
        assert r["operators_to_chemical_accuracy"] == 1  # H2: one double excitation
        assert r["cnots_to_chemical_accuracy"] == r["adapt_cnots"]
    table = (tmp_path / "adapt.md").read_text().splitlines()
    assert len(table) == 2 + len(rows)
    assert all(line.endswith("| 1 / 48 | yes | yes | yes | 1e-04 |") for line in table[2:])
    saved = json.loads((tmp_path / "checkpoint_H2_0.9_qubit.json").read_text())
    assert len(saved["operators"]) == len(saved["angles"]) == rows[0]["adapt_parameters"]
    # the checkpoint's error history is the run's trace (operator count, error after each step)
    assert [e for _, e in saved["history"]] == pytest.approx([t[0] for t in rows[0]["adapt_trace"]])
    assert (tmp_path / "adapt_error.png").read_bytes()[:4] == b"\x89PNG"


def _example():
    return runpy.run_path(str(ROOT / "examples" / "adapt_vqe_curves.py"), run_name="example")


def test_uccsd_by_linear_algebra_is_the_uccsd_circuit():
    pytest.importorskip("pyscf", reason="pyscf is not installed (pip install 'hqml[chem]')")
    pytest.importorskip("openfermion", reason="openfermion is not installed")
    import torch

    import hqml
    from hqml.algorithms import fermionic_pool
    from hqml.algorithms.adapt_linalg import AnsatzLinalg
    from hqml.chem import molecular_hamiltonian, uccsd

    ex = _example()
    mol = molecular_hamiltonian(ex["MOLECULES"]["H2"][0](0.9))  # 2 singles after 1 double
    model = ex["uccsd_linalg"](mol)
    theta = np.random.default_rng(5).normal(0, 0.4, len(model.factors))
    circuit_state = hqml.state(
        uccsd(mol), weights={"theta": torch.tensor(theta)}, dtype=torch.complex128
    ).numpy()
    assert len(model.factors) == uccsd(mol).weights["theta"].shape[0]
    assert np.allclose(model.state(theta), circuit_state, atol=1e-12)
    # the order matters: the pool's own order (singles first) is another state
    pool_order = AnsatzLinalg(mol.hamiltonian, [op.generator for op in fermionic_pool(mol)],
                              model.state(np.zeros(3)), mol.n_qubits)  # fmt: skip
    assert not np.allclose(pool_order.state(theta), circuit_state, atol=1e-3)


def test_preset_reproduces_the_stored_h2_rows(tmp_path, monkeypatch):
    pytest.importorskip("pyscf", reason="pyscf is not installed (pip install 'hqml[chem]')")
    pytest.importorskip("openfermion", reason="openfermion is not installed")
    stored = json.loads((ROOT / "docs" / "results" / "search" / "adapt.json").read_text())
    script = ROOT / "examples" / "adapt_vqe_curves.py"
    argv = [str(script), "--preset", "stored", "--molecules", "H2", "--bond-lengths", "2.5"]
    monkeypatch.setattr(sys, "argv", argv + ["--out", str(tmp_path)])
    runpy.run_path(str(script), run_name="__main__")
    rows = json.loads((tmp_path / "adapt.json").read_text())
    assert [(r["pool"], r["settings"]["reoptimize"]) for r in rows] == [
        ("fermionic", "circuit"),
        ("qubit", "circuit"),
    ]
    for r in rows:
        key = ("H2", 2.5, r["pool"])
        (old,) = [w for w in stored if (w["molecule"], w["bond_length"], w["pool"]) == key]
        assert r["settings"] == old["settings"]  # the stored row's settings, reused
        assert r["adapt"] == pytest.approx(old["adapt"], abs=1e-9)
        assert (r["adapt_parameters"], r["adapt_cnots"]) == (1, 48)
        assert (old["adapt_parameters"], old["adapt_cnots"]) == (1, 48)
        assert r.get("uccsd_error", 0) == pytest.approx(old.get("uccsd_error", 0), abs=1e-9)
