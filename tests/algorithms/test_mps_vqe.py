"""VQE on the MPS backend: equal to the statevector's run where both fit, and at 40 qubits
above the exact ground energy of the open transverse-field Ising chain (free fermions), with
the truncation report on the result."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import hqml
from hqml.algorithms.vqe import VQE
from hqml.backends import get_backend

H_FIELD = 0.7


def _ising(n: int) -> hqml.PauliSum:
    """``-sum Z_i Z_{i+1} - h sum X_i`` on an open chain."""
    return hqml.PauliSum.from_list(
        [("I" * i + "ZZ" + "I" * (n - i - 2), -1.0) for i in range(n - 1)]
        + [("I" * i + "X" + "I" * (n - i - 1), -H_FIELD) for i in range(n)]
    )


def _ground_energy(n: int) -> float:
    """Jordan-Wigner: minus the sum of the singular values of the chain's bidiagonal matrix."""
    m = np.diag([H_FIELD] * n) + np.diag([1.0] * (n - 1), 1)
    return -float(np.linalg.svd(m, compute_uv=False).sum())


def _ansatz(n: int, layers: int) -> hqml.Circuit:
    c = hqml.Circuit(n)
    w = c.weight("w", (layers, n))
    for layer in range(layers):
        for i in range(n):
            c.ry(w[layer, i], i)
        for i in range(layer % 2, n - 1, 2):
            c.cnot(i, i + 1)
    return c


def test_ground_energy_formula_matches_exact_diagonalisation():
    n = 8
    exact = float(np.linalg.eigvalsh(_ising(n).to_matrix(n)).min())
    assert _ground_energy(n) == pytest.approx(exact, abs=1e-10)


def test_vqe_on_mps_equals_the_statevector_run():
    n = 8
    ansatz = _ansatz(n, 3)
    runs = {}
    for name, backend in (("sv", "statevector"), ("mps", get_backend("mps", max_bond=16))):
        vqe = VQE(_ising(n), ansatz, backend=backend, maxiter=10)
        theta = torch.linspace(-1, 1, vqe.num_parameters, dtype=torch.float64)
        theta.requires_grad_()
        e = vqe.energy(theta)
        e.backward()
        runs[name] = (float(e.detach()), theta.grad.numpy(), vqe.run())
    (e_sv, g_sv, r_sv), (e_mps, g_mps, r_mps) = runs["sv"], runs["mps"]
    assert e_mps == pytest.approx(e_sv, abs=1e-10)
    np.testing.assert_allclose(g_mps, g_sv, atol=1e-10)
    assert r_mps.energy == pytest.approx(r_sv.energy, abs=1e-6)
    assert r_mps.truncation is not None and r_mps.truncation.exact
    assert r_sv.truncation is None  # the statevector truncates nothing


def test_forty_qubit_vqe_stays_above_the_exact_ground_energy():
    n = 40
    be = get_backend("mps", max_bond=8)
    res = VQE(_ising(n), _ansatz(n, 3), backend=be, maxiter=4).run()
    start = -(n - 1)  # |0...0>, the "zeros" initial point
    assert res.history[0] == pytest.approx(start, abs=1e-10)
    assert res.energy < start - 1.0  # it optimised
    assert res.energy >= _ground_energy(n) - 1e-9  # the variational bound of an exact state
    assert res.truncation.exact and res.truncation.max_bond <= 8
