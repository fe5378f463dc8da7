"""VQE and QAOA on a provider device: each energy evaluation is one job and each gradient
(all its parameter-shift circuits) one more, and the optimisation equals the same one on hqml's
statevector (Aer's exact values)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import hqml
from hqml import accounting
from hqml.algorithms.qaoa import QAOA
from hqml.algorithms.vqe import VQE

pytest.importorskip("qiskit_ibm_runtime", reason="needs the hardware extra")


def test_vqe_on_a_device_packs_every_gradient_into_one_job():
    a = hqml.Circuit(3)
    t = a.weight("t", (5,))
    a.ry(t[0], 0).ry(t[1], 1).ry(t[2], 2).cnot(0, 1).crx(t[3], 1, 2).rz(t[4], 2)
    h = hqml.Z(0) @ hqml.Z(1) + 0.5 * hqml.X(1) + 0.3 * hqml.Y(2) @ hqml.X(0) - 0.2 * hqml.Z(2)

    def run(backend):
        vqe = VQE(h, a, optimizer="adam", maxiter=4, seed=3, initial_point="random",
                  backend=backend, diff_method="parameter-shift")  # fmt: skip
        with accounting.track() as ledger:
            return vqe.run(), ledger.totals()

    ref, _ = run("statevector")
    got, t = run(hqml.get_backend("qiskit:aer_simulator"))
    np.testing.assert_allclose(got.history, ref.history, atol=1e-9)
    np.testing.assert_allclose(got.optimal_parameters, ref.optimal_parameters, atol=1e-9)
    assert got.n_gradient_evaluations == 4
    assert t["jobs"] == got.n_evaluations + got.n_gradient_evaluations
    # a gradient: 2 shifts per ry/rz angle, 4 for the controlled rotation's; every row is
    # measured in the Hamiltonian's 2 qubit-wise commuting bases (Z0Z1 with Z2, X1 with X0Y2)
    assert t["circuits"] == 2 * (got.n_evaluations + got.n_gradient_evaluations * (2 * 4 + 4))


def test_qaoa_on_a_device_packs_every_gradient_into_one_job():
    h = (
        hqml.Z(0) @ hqml.Z(1)
        + hqml.Z(1) @ hqml.Z(2)
        + 0.5 * hqml.Z(0) @ hqml.Z(2)
        - 0.3 * hqml.Z(1)
    )

    def run(backend):
        qaoa = QAOA(h, p=2, optimizer="adam", maxiter=3, shots=64, seed=1, backend=backend,
                    diff_method="parameter-shift")  # fmt: skip
        with accounting.track() as ledger:
            return qaoa.run(), ledger.totals()

    ref, _ = run("statevector")
    got, t = run(hqml.get_backend("qiskit:aer_simulator", seed=2))
    np.testing.assert_allclose(got.history, ref.history, atol=1e-9)
    np.testing.assert_allclose(got.params, ref.params, atol=1e-9)
    # evaluations (one job each), 3 gradients (one job each), one sampling job
    assert t["jobs"] == got.n_evaluations + 3 + 1
    assert torch.tensor(got.expectation) == pytest.approx(ref.expectation, abs=1e-9)
