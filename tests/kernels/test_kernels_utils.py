"""Alignment, kernel validity, concentration and alignment training."""

import numpy as np
import pytest
import torch
from kernels.kernel_refs import zz_circuit

import hqml
from hqml.circuit.templates import zz_feature_map
from hqml.kernels import (
    FidelityKernel,
    check_kernel_matrix,
    concentration_rate,
    is_valid_kernel,
    kernel_concentration,
    kernel_target_alignment,
    train_kernel,
)


def test_alignment_matches_formula(rng):
    A = rng.normal(size=(6, 6))
    K = A @ A.T
    y = np.array([0, 1, 1, 0, 2, 2])
    T = np.where(y[:, None] == y[None, :], 1.0, -1.0)
    expected = np.sum(K * T) / (np.linalg.norm(K) * np.linalg.norm(T))
    assert kernel_target_alignment(K, y) == pytest.approx(expected, rel=1e-12)
    H = np.eye(6) - 1 / 6
    Kc, Tc = H @ K @ H, H @ T @ H
    assert kernel_target_alignment(K, y, centered=True) == pytest.approx(
        np.sum(Kc * Tc) / (np.linalg.norm(Kc) * np.linalg.norm(Tc)), rel=1e-12
    )
    Kt = torch.tensor(K, requires_grad=True)
    a = kernel_target_alignment(Kt, y)
    a.backward()
    assert float(a.detach()) == pytest.approx(expected) and Kt.grad is not None
    assert kernel_target_alignment(T, y) == pytest.approx(1.0)


def test_kernel_check():
    assert is_valid_kernel(np.array([[1.0, 0.3], [0.3, 1.0]]))
    asym = check_kernel_matrix(np.array([[1.0, 0.3], [0.2, 1.0]]))
    assert not asym.symmetric and asym.max_asymmetry == pytest.approx(0.1)
    indefinite = check_kernel_matrix(np.array([[1.0, 2.0], [2.0, 1.0]]))
    assert indefinite.symmetric and not indefinite.psd
    assert indefinite.min_eigenvalue == pytest.approx(-1.0)
    assert is_valid_kernel(np.array([[1.0, 1.0], [1.0, 1.0 - 1e-12]]))  # rounding tolerated
    with pytest.raises(ValueError, match="square"):
        check_kernel_matrix(np.zeros((2, 3)))


def test_fidelity_kernel_concentrates_with_qubits():
    points = kernel_concentration(FidelityKernel, zz_feature_map, [2, 4, 6], n_samples=16, seed=0)
    variances = [p.variance for p in points]
    assert variances[0] > variances[1] > variances[2]
    assert [p.n_qubits for p in points] == [2, 4, 6]
    assert concentration_rate(points) > 1.5  # variance shrinks exponentially in n


def test_train_kernel_raises_alignment(rng):
    c = hqml.Circuit(2)
    x = c.input("x", 2)
    w = c.weight("w", (2, 2))
    for q in range(2):
        c.ry(w[0, q] * x[q], q)
    c.cnot(0, 1)
    for q in range(2):
        c.ry(w[1, q] * x[q], q)
    X = rng.uniform(-1, 1, size=(24, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    result = train_kernel(FidelityKernel(c), X, y, epochs=25, learning_rate=0.1, random_state=0)
    assert result.history[-1] > result.history[0] + 0.05
    trained = result.kernel
    assert set(trained.weights) == {"w"} and trained.weights["w"].shape == (2, 2)
    final = kernel_target_alignment(trained.evaluate(X), y)
    assert final >= result.history[-1] - 0.02
    again = train_kernel(FidelityKernel(c), X, y, epochs=25, learning_rate=0.1, random_state=0)
    np.testing.assert_array_equal(again.kernel.weights["w"], trained.weights["w"])


def test_train_kernel_errors():
    X, y = np.zeros((4, 3)), [0, 1, 0, 1]
    with pytest.raises(ValueError, match="no weights"):
        train_kernel(FidelityKernel(zz_circuit(3)), X, y, epochs=1)
    with pytest.raises(ValueError, match="shots"):
        train_kernel(FidelityKernel(zz_circuit(3), shots=10), X, y, epochs=1)
    with pytest.raises(ValueError, match="two classes"):
        train_kernel(FidelityKernel(zz_circuit(3)), X, [1, 1, 1, 1], epochs=1)
