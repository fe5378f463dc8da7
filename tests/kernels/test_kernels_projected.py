"""ProjectedKernel against one-qubit reduced density matrices computed densely in the test."""

import numpy as np
import pytest
from kernels.kernel_refs import zz_circuit, zz_state_dense

from hqml.kernels import ProjectedKernel, check_kernel_matrix


def reduced_states(psi, n):
    """rho_q for every qubit q of a pure state (wire 0 most significant)."""
    t = psi.reshape((2,) * n)
    out = []
    for q in range(n):
        m = np.moveaxis(t, q, 0).reshape(2, -1)
        out.append(m @ m.conj().T)
    return out


def projected_dense(X, Y, gamma, n):
    rx = [reduced_states(zz_state_dense(x), n) for x in X]
    ry = [reduced_states(zz_state_dense(y), n) for y in Y]
    K = np.empty((len(X), len(Y)))
    for i, a in enumerate(rx):
        for j, b in enumerate(ry):
            d2 = sum(np.linalg.norm(p - q, "fro") ** 2 for p, q in zip(a, b, strict=True))
            K[i, j] = np.exp(-gamma * d2)
    return K


def test_projected_kernel_equals_reduced_density_matrices(rng):
    X = rng.uniform(0, 2 * np.pi, size=(6, 3))
    Y = rng.uniform(0, 2 * np.pi, size=(3, 3))
    k = ProjectedKernel(zz_circuit(3), gamma=0.7)
    K = k.evaluate(X)
    np.testing.assert_allclose(K, projected_dense(X, X, 0.7, 3), atol=1e-12)
    np.testing.assert_allclose(k(X, Y), projected_dense(X, Y, 0.7, 3), atol=1e-12)
    np.testing.assert_array_equal(np.diag(K), 1.0)
    np.testing.assert_array_equal(K, K.T)
    assert check_kernel_matrix(K).valid


def test_projected_kernel_with_shots_converges(rng):
    X = rng.uniform(0, 2 * np.pi, size=(4, 2))
    exact = ProjectedKernel(zz_circuit(2), gamma=0.5).evaluate(X)
    est = ProjectedKernel(zz_circuit(2), gamma=0.5, shots=20000, seed=5).evaluate(X)
    # each Bloch component has std <= 1/sqrt(shots); the kernel is 1-Lipschitz-ish in them here
    np.testing.assert_allclose(est, exact, atol=0.05)
    assert np.abs(est - exact).max() > 0  # really sampled


def test_gamma_is_checked():
    with pytest.raises(ValueError, match="gamma"):
        ProjectedKernel(zz_circuit(2), gamma=0.0).evaluate(np.zeros((2, 2)))
