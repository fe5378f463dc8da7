"""Fidelity kernels on the MPS backend: Gram matrices from MPS inner products (no 2^n vector),
equal to the statevector backend's where both run and to a closed form at 50 qubits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import hqml
from hqml.backends import get_backend
from hqml.circuit.templates import zz_feature_map
from hqml.execute import AutoBackendWarning
from hqml.kernels import FidelityKernel, ProjectedKernel
from hqml.kernels.trainable import train_kernel


def test_mps_gram_equals_the_statevector_gram_with_distant_gates():
    rng = np.random.default_rng(0)
    X, Y = rng.uniform(-1, 1, (5, 7)), rng.uniform(-1, 1, (3, 7))
    fm = zz_feature_map(7)  # every pair: gates on distant wires
    be = get_backend("mps", max_bond=8)
    for args in ((X,), (X, Y)):
        want = FidelityKernel(fm)(*args)
        got = FidelityKernel(fm, backend=be)(*args)
        np.testing.assert_allclose(got, want, atol=1e-10)
    assert be.last_truncation.exact


def test_fifty_qubit_gram_matches_the_closed_form():
    # RY(x_i) on every wire, then a CNOT chain and a parametrised entangler that both states
    # share: they cancel in the overlap, <psi(x)|psi(y)> = prod_i cos((x_i - y_i) / 2)
    n = 50
    c = hqml.Circuit(n)
    x = c.input("x", n)
    for i in range(n):
        c.ry(x[i], i)
    for i in range(n - 1):
        c.cnot(i, i + 1)
    c.rzz(0.7, 0, n - 1).cry(1.1, 3, 40)
    rng = np.random.default_rng(1)
    X = rng.uniform(-0.4, 0.4, (6, n))
    want = np.prod(np.cos((X[:, None, :] - X[None, :, :]) / 2), axis=-1) ** 2
    be = get_backend("mps", max_bond=16)
    got = FidelityKernel(c, backend=be)(X)
    np.testing.assert_allclose(got, want, atol=1e-10)
    ov = hqml.derived.overlaps(c, {"x": torch.tensor(X[:2])}, {"x": torch.tensor(X)},
                               backend=be, dtype=torch.complex128)  # fmt: skip
    assert ov.shape == (2, 6) and ov.truncation.exact
    np.testing.assert_allclose(ov.abs().numpy() ** 2, want[:2], atol=1e-10)


def test_the_kernel_reports_what_the_mps_truncations_discarded():
    # RY encoding and three layers of CNOT bricks: bond 4 holds the states, bond 2 does not
    n = 8
    c = hqml.Circuit(n)
    x = c.input("x", n)
    for layer in range(4):
        for i in range(n):
            c.ry(x[i] * (layer + 1), i)
        for i in range(layer % 2, n - 1, 2):
            c.cnot(i, i + 1)
    X = np.random.default_rng(2).uniform(-1.5, 1.5, (4, n))
    want = FidelityKernel(c)(X)
    exact = FidelityKernel(c, backend="mps")  # by name: the report is on the kernel
    np.testing.assert_allclose(exact(X), want, atol=1e-10)
    assert exact.last_truncation.exact
    cut = FidelityKernel(c, backend=get_backend("mps", max_bond=2))
    got = cut(X)
    rep = cut.last_truncation
    assert not rep.exact and 0 < float(rep.fidelity.min()) < 1
    assert np.abs(got - want).max() > 1e-4  # the truncated Gram is approximate, and said so
    shots = FidelityKernel(c, backend=get_backend("mps", max_bond=2), shots=64, seed=0)
    shots(X[:2])
    assert not shots.last_truncation.exact
    assert FidelityKernel(c).last_truncation is None
    proj = ProjectedKernel(c, gamma=0.5, backend="mps")
    np.testing.assert_allclose(proj(X), ProjectedKernel(c, gamma=0.5)(X), atol=1e-10)
    assert proj.last_truncation.exact
    proj_cut = ProjectedKernel(c, gamma=0.5, backend=get_backend("mps", max_bond=2))
    proj_cut(X)
    assert not proj_cut.last_truncation.exact
    sv = FidelityKernel(c)
    sv(X[:2])
    assert sv.last_truncation is None  # nothing truncates on the statevector


def test_auto_kernels_pick_mps_when_one_state_does_not_fit():
    rng = np.random.default_rng(3)
    for n in (40, 6):
        c = hqml.Circuit(n)
        x = c.input("x", n)
        for i in range(n):
            c.ry(x[i], i)
        for i in range(n - 1):
            c.cnot(i, i + 1)  # shared by both states: <psi(x)|psi(y)> = prod cos((x - y) / 2)
        X = rng.uniform(-0.5, 0.5, (3, n))
        want = np.prod(np.cos((X[:, None, :] - X[None, :, :]) / 2), axis=-1) ** 2
        kernel = FidelityKernel(c, backend="auto")
        if n > 30:
            with pytest.warns(AutoBackendWarning, match="uses 'mps'"):
                got = kernel(X)
            assert kernel.last_truncation.exact
        else:
            got = kernel(X)  # the statevector, silently: nothing to say
            assert kernel.last_truncation is None
        np.testing.assert_allclose(got, want, atol=1e-10)


def test_kernel_alignment_training_on_mps_follows_the_statevector():
    # the Gram matrix is differentiable through the MPS inner products
    n = 6
    c = hqml.Circuit(n)
    x, w = c.input("x", n), c.weight("w", n)
    for i in range(n):
        c.ry(x[i], i).rz(w[i], i)
    for i in range(n - 1):
        c.cnot(i, i + 1)
    for i in range(n):
        c.ry(x[i] * w[i], i)
    X = np.random.default_rng(0).uniform(-1, 1, (8, n))
    y = np.array([0, 1] * 4)
    runs = []
    for backend in ("statevector", get_backend("mps", max_bond=8)):
        kernel = FidelityKernel(c, weights={"w": np.linspace(0.1, 1, n)}, backend=backend)
        runs.append(train_kernel(kernel, X, y, epochs=3, random_state=0))
    np.testing.assert_allclose(runs[1].history, runs[0].history, atol=1e-10)
    assert runs[1].history[-1] > runs[1].history[0]
    w_sv, w_mps = (np.asarray(r.kernel.weights["w"]) for r in runs)
    np.testing.assert_allclose(w_mps, w_sv, atol=1e-10)
