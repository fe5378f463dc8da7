"""Expressibility, Meyer-Wallach, effective dimension and the initialisation strategies against
analytic values and dense matrix algebra."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import hqml
from hqml.circuit.templates import hardware_efficient, identity_blocks
from hqml.testing import reference_state
from hqml.trainability import (
    effective_dimension,
    entangling_capability,
    expressibility,
    fisher_information,
    haar_fidelity_bins,
    meyer_wallach,
    sample_parameters,
    warm_start,
)


def test_haar_bins_are_a_distribution_with_the_known_density():
    q = haar_fidelity_bins(1, 75)
    np.testing.assert_allclose(q, np.full(75, 1 / 75))  # N = 2: uniform fidelity
    q3 = haar_fidelity_bins(3, 10)
    assert q3.sum() == pytest.approx(1.0)
    # density (N-1)(1-F)^(N-2) integrated over the first bin by quadrature
    f = np.linspace(0, 0.1, 20001)
    assert q3[0] == pytest.approx(np.trapezoid(7 * (1 - f) ** 6, f), rel=1e-6)


def test_idle_circuit_has_maximal_kl_and_haar_states_near_zero():
    idle = hqml.Circuit(1)
    idle.ry(idle.weight("w")[()] * 0.0, 0)  # parameters with no effect: every fidelity is 1
    assert expressibility(idle, n_pairs=500) == pytest.approx(math.log(75), abs=1e-9)

    haar = hqml.Circuit(1)  # Haar-random single-qubit states: polar angle arccos(1 - 2u)
    w = haar.weight("w", 2)
    haar.ry(w[0], 0).rz(w[1], 0)

    def init(name, shape, gen):
        u = torch.rand(shape, generator=gen, dtype=torch.float64)
        return torch.stack([torch.arccos(1 - 2 * u[0]), 2 * math.pi * u[1]])

    n_pairs = 20000
    kl = expressibility(haar, n_pairs=n_pairs, init=init, seed=4)
    # a finite sample's bias is about (bins - 1) / (2 n_pairs) = 0.00185; allow 4x that
    assert 0 <= kl < 4 * 74 / (2 * n_pairs)
    # the uniform-angle RY alone is far less expressive than Haar on the Bloch sphere
    ry = hqml.Circuit(1)
    ry.ry(ry.weight("w")[()], 0)
    assert expressibility(ry, n_pairs=5000) > 0.1


def test_meyer_wallach_product_ghz_and_dense_reference():
    product = torch.tensor(
        np.kron([0.6, 0.8], np.kron([1, 1j], [0.8, -0.6])) / math.sqrt(2), dtype=torch.complex128
    )
    assert float(meyer_wallach(product)) == pytest.approx(0.0, abs=1e-12)
    for n in (2, 3, 5):
        ghz = torch.zeros(2**n, dtype=torch.complex128)
        ghz[0] = ghz[-1] = 2**-0.5
        assert float(meyer_wallach(ghz)) == pytest.approx(1.0, abs=1e-12)
    # a random state against partial traces done with numpy
    rng = np.random.default_rng(0)
    psi = rng.normal(size=8) + 1j * rng.normal(size=8)
    psi /= np.linalg.norm(psi)
    t = psi.reshape(2, 2, 2)
    purities = [
        np.trace(r @ r).real
        for r in (
            np.einsum("ajk,bjk->ab", t, t.conj()),
            np.einsum("jak,jbk->ab", t, t.conj()),
            np.einsum("jka,jkb->ab", t, t.conj()),
        )
    ]
    expected = 2 * (1 - np.mean(purities))
    assert float(meyer_wallach(torch.tensor(psi))) == pytest.approx(expected, abs=1e-12)


def test_entangling_capability_zero_without_entanglers():
    assert entangling_capability(
        hardware_efficient(3, 2, entangler="none"), n_samples=50
    ) == pytest.approx(0.0, abs=1e-6)
    assert entangling_capability(hardware_efficient(3, 2), n_samples=200) > 0.2


def test_effective_dimension_analytic_one_parameter_and_rank_deficient():
    # RY(w + x)|0> measured: Bernoulli with Fisher information exactly 1 at every w, x
    c = hqml.Circuit(1)
    c.ry(c.weight("w")[()] + c.input("x")[()], 0)
    ns = [100, 1000, 10**5]
    got = effective_dimension(c, torch.linspace(0.1, 3.0, 7), n=ns, n_theta=10)
    for n, d in zip(ns, got, strict=True):
        k = n / (2 * math.pi * math.log(n))
        assert d == pytest.approx(math.log(1 + k) / math.log(k), rel=1e-6)
    # RY(w0) RZ(w1)|0>: w1 changes nothing measurable; Fisher diag(1, 0), F^ = diag(2, 0)
    r = hqml.Circuit(1)
    w = r.weight("w", 2)
    r.ry(w[0], 0).rz(w[1], 0)
    f = fisher_information(r, n_theta=5)
    np.testing.assert_allclose(f.numpy(), np.tile(np.diag([1.0, 0.0]), (5, 1, 1)), atol=1e-8)
    d = effective_dimension(r, n=[10**4, 10**8], n_theta=5)
    k = np.array([10**4, 10**8]) / (2 * math.pi * np.log([10**4, 10**8]))
    np.testing.assert_allclose(d, np.log(1 + 2 * k) / np.log(k), rtol=1e-6)
    with pytest.raises(ValueError, match="use larger n"):
        effective_dimension(r, n=5)


def test_identity_block_initialisation_starts_at_the_identity():
    c = identity_blocks(hardware_efficient(3, 1), 2)
    w = sample_parameters(c, 3, init="identity_block", seed=1)["w"]
    assert w.std() > 0.5  # random, not zero
    for row in w:
        psi = reference_state(c, weights={"w": row.numpy()})
        assert abs(psi[0]) == pytest.approx(1.0, abs=1e-9)


def test_identity_block_init_is_refused_where_it_is_not_the_identity():
    # hardware_efficient(2, 3): w of shape (3, 2, 2) fits "(blocks, 2, ...)" by accident
    with pytest.raises(ValueError, match="does not make this circuit the identity"):
        sample_parameters(hardware_efficient(2, 3), 2, init="identity_block")


def test_small_angle_and_warm_start():
    w = sample_parameters(hardware_efficient(2, 3), 50, init="small_angle")["w"]
    assert w.abs().max() <= 0.1 and w.std() > 0.03
    trained = torch.randn(2, 2, 2, dtype=torch.float64)
    grown = warm_start(trained, (4, 2, 2), seed=0)
    assert torch.equal(grown[:2], trained) and grown[2:].abs().max() <= 0.1
    with pytest.raises(ValueError, match="do not fit"):
        warm_start(trained, (1, 2, 2))
