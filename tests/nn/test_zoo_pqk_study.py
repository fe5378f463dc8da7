"""ProjectedQuantumKernel(convention="study"): the study's rotation-angle stream and its kernel
width recomputed from the first argument of every Gram matrix, against the study's embedding
written out here in dense matrices (PennyLane's ``Rot`` and ``IsingXX/YY/ZZ`` conventions)."""

from functools import reduce

import numpy as np
import pytest
from scipy.linalg import expm

from hqml.datasets import load_benchmark
from hqml.kernels import zoo as kz


@pytest.fixture(scope="module")
def data():
    ds = load_benchmark("linearly_separable", 3)
    return ds.x_train[:16], ds.y_train[:16], ds.x_test[:5]


PAULIS = (
    np.array([[0, 1], [1, 0]], dtype=complex),
    np.array([[0, -1j], [1j, 0]]),
    np.diag([1.0, -1.0]).astype(complex),
)


def _on(n, wire, m):
    return reduce(np.kron, [m if w == wire else np.eye(2) for w in range(n)])


def _study_paulis(v, ang, t, steps):
    """``[<X_q>..., <Y_q>..., <Z_q>...]`` of the study's Hamiltonian embedding of ``v``."""
    n = len(v) + 1
    X, Y, Z = PAULIS
    rot = [expm(-0.5j * c * Z) @ expm(-0.5j * b * Y) @ expm(-0.5j * a * Z) for a, b, c in ang]
    psi = reduce(np.kron, rot)[:, 0]
    for _ in range(steps):
        for j in range(n - 1):
            for P in PAULIS:  # IsingPP(phi) = exp(-i phi/2 P P)
                phi = v[j] * t / steps * (n - 1)
                psi = expm(-0.5j * phi * _on(n, j, P) @ _on(n, j + 1, P)) @ psi
    return np.array([np.real(psi.conj() @ _on(n, q, P) @ psi) for P in PAULIS for q in range(n)])


def test_study_convention_draws_the_studys_rotation_angles(data):
    x, y, _ = data
    m = kz.ProjectedQuantumKernel(convention="study", random_state=7).fit(x, y)
    gen = np.random.default_rng(7)
    gen.integers(100000)  # the study seeds its SVM first
    np.testing.assert_array_equal(m.rotation_angles_, gen.uniform(size=(4, 3)) * np.pi * 2)
    hqml = kz.ProjectedQuantumKernel(random_state=7).fit(x, y)
    assert not np.allclose(hqml.rotation_angles_, m.rotation_angles_)


def test_study_convention_takes_gamma_from_the_first_argument(data):
    x, y, xt = data
    gf, t, steps = 0.7, 0.4, 2
    m = kz.ProjectedQuantumKernel(
        gamma_factor=gf, t=t, trotter_steps=steps, convention="study", random_state=3
    ).fit(x, y)
    d, ang = x.shape[1], m.rotation_angles_

    def paulis(rows):
        return np.array([_study_paulis(v, ang, t, steps) for v in rows])

    a, b = m._scaled(xt), m.X_fit_[:4]
    va, vb = paulis(a), paulis(b)
    gamma = gf / np.var(va) / d  # the study's default_gamma, from the first argument
    ref = np.exp(-gamma * ((va[:, None] - vb[None]) ** 2).sum(-1))
    np.testing.assert_allclose(m._gram(a, b), ref, atol=1e-10)
    train = paulis(m.X_fit_)
    assert m.gamma_ == pytest.approx(gf / np.var(train) / d, rel=1e-9)  # fit: the training set
    np.testing.assert_allclose(
        m._gram(m.X_fit_, None)[:3, :4],
        np.exp(-m.gamma_ * ((train[:3, None] - train[None, :4]) ** 2).sum(-1)),
        atol=1e-10,
    )
    assert abs(gamma - m.gamma_) > 1e-3  # so the two conventions differ at prediction time


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"convention": "study", "random_state": np.random.RandomState(0)}, "int or None"),
        ({"convention": "paper"}, "convention must be"),
    ],
)
def test_bad_convention_settings_are_refused_in_one_line(data, kwargs, match):
    x, y, _ = data
    with pytest.raises(ValueError, match=match):
        kz.ProjectedQuantumKernel(**kwargs).fit(x, y)
