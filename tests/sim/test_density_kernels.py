"""Density-matrix kernels against dense linear algebra."""

import numpy as np
import pytest
import torch
from helpers import random_unitary

from hqml.circuit.observables import PauliSum
from hqml.noise import amplitude_damping, depolarizing, thermal_relaxation
from hqml.sim import density
from hqml.testing import embed_matrix


def random_rho(rng, n, batch):
    a = rng.normal(size=(batch, 2**n, 2**n)) + 1j * rng.normal(size=(batch, 2**n, 2**n))
    rho = a @ np.conj(np.swapaxes(a, 1, 2))
    return rho / np.trace(rho, axis1=1, axis2=2)[:, None, None]


@pytest.mark.parametrize("wires", [[0], [2], [1, 3], [3, 0], [2, 0, 1]])
def test_unitary_and_channel_kernels(rng, wires):
    n = 4
    rho = random_rho(rng, n, 2)
    k = len(wires)
    u = random_unitary(rng, 2**k)
    big = embed_matrix(u, wires, n)
    got = density.apply_unitary(torch.tensor(rho), n, torch.tensor(u), wires).numpy()
    np.testing.assert_allclose(got, big @ rho @ big.conj().T, atol=1e-12)
    batched_u = np.stack([u, random_unitary(rng, 2**k)])
    got = density.apply_unitary(torch.tensor(rho), n, torch.tensor(batched_u), wires).numpy()
    for b in range(2):
        bu = embed_matrix(batched_u[b], wires, n)
        np.testing.assert_allclose(got[b], bu @ rho[b] @ bu.conj().T, atol=1e-12)
    d = np.exp(1j * rng.uniform(0, 6, 2**k))
    got = density.apply_unitary_diagonal(torch.tensor(rho), n, torch.tensor(d), wires).numpy()
    bd = embed_matrix(np.diag(d), wires, n)
    np.testing.assert_allclose(got, bd @ rho @ bd.conj().T, atol=1e-12)
    perm = list(rng.permutation(2**k))
    phases = list(np.exp(1j * rng.uniform(0, 6, 2**k)))
    m = np.zeros((2**k, 2**k), complex)
    for j, pj in enumerate(perm):
        m[pj, j] = phases[j]
    got = density.apply_unitary_monomial(torch.tensor(rho), n, perm, phases, wires).numpy()
    bm = embed_matrix(m, wires, n)
    np.testing.assert_allclose(got, bm @ rho @ bm.conj().T, atol=1e-12)
    channel = {1: thermal_relaxation(30, 20, 5), 2: depolarizing(0.2, 2), 3: depolarizing(0.1, 3)}[
        k
    ]
    got = density.apply_kraus(
        torch.tensor(rho), n, [torch.tensor(x) for x in channel.kraus], wires
    ).numpy()
    want = sum(
        embed_matrix(x, wires, n) @ rho @ embed_matrix(x, wires, n).conj().T for x in channel.kraus
    )
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_expval_words_and_probabilities(rng):
    n = 3
    rho = random_rho(rng, n, 3)
    labels = ["ZII", "IXI", "IIY", "XYZ", "YYI", "ZZZ", "XXX", "III", "YIY"]
    words = [tuple(PauliSum.from_list([(lb, 1)]).terms)[0] for lb in labels]
    got = density.expval_words(torch.tensor(rho), n, words).numpy()
    for t, lb in enumerate(labels):
        mat = PauliSum.from_list([(lb, 1)]).to_matrix(n)
        want = np.trace(rho @ mat, axis1=1, axis2=2).real
        np.testing.assert_allclose(got[:, t], want, atol=1e-12)
    p = density.probabilities(torch.tensor(rho), n, [2, 0]).numpy()
    full = np.real(np.diagonal(rho, axis1=1, axis2=2)).reshape(3, 2, 2, 2)
    np.testing.assert_allclose(p, full.sum(axis=2).transpose(0, 2, 1).reshape(3, 4), atol=1e-12)


def test_confusion_matrices_act_per_wire(rng):
    p = rng.dirichlet(np.ones(4), size=2)
    a0 = np.array([[0.9, 0.2], [0.1, 0.8]])
    a1 = np.array([[0.97, 0.05], [0.03, 0.95]])
    got = density.apply_confusion(torch.tensor(p), [torch.tensor(a0), torch.tensor(a1)]).numpy()
    np.testing.assert_allclose(got, p @ np.kron(a0, a1).T, atol=1e-12)
    got = density.apply_confusion(torch.tensor(p), [None, torch.tensor(a1)]).numpy()
    np.testing.assert_allclose(got, p @ np.kron(np.eye(2), a1).T, atol=1e-12)


def test_kernels_are_differentiable():
    theta = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    u = torch.stack(
        [
            torch.stack([torch.cos(theta / 2), -torch.sin(theta / 2)]),
            torch.stack([torch.sin(theta / 2), torch.cos(theta / 2)]),
        ]
    ).to(torch.complex128)
    rho = density.zero_density(1, dtype=torch.complex128)
    rho = density.apply_unitary(rho, 1, u, [0])
    rho = density.apply_kraus(rho, 1, [torch.tensor(k) for k in amplitude_damping(0.3).kraus], [0])
    z = density.expval_words(rho, 1, [((0, "Z"),)])[0, 0]
    z.backward()
    # <Z> = 1 - 2 (1 - g) sin^2(theta/2)  ->  d/dtheta = -(1 - g) sin(theta)
    assert abs(theta.grad.item() + 0.7 * np.sin(0.7)) < 1e-12
