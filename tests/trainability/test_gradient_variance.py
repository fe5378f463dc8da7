"""Gradient variance: per-sample gradients against dense finite differences, analytic variances,
McClean et al. 2018 and Cerezo et al. 2021."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import hqml
from hqml.testing import reference_state
from hqml.trainability import (
    alternating_layered,
    fit_decay,
    gradient_variance,
    random_pqc,
    sample_parameters,
    variance_scan,
)


def _dense_cost(circuit, w, obs_matrix):
    psi = reference_state(circuit, weights={"w": w})
    return float(np.real(psi.conj() @ obs_matrix @ psi))


def test_statistics_match_dense_finite_differences():
    c = random_pqc(3, 2, seed=5)
    obs = hqml.Z(0) @ hqml.Z(1)
    zz = np.kron(np.kron(np.diag([1, -1]), np.diag([1, -1])), np.eye(2))
    gv = gradient_variance(c, obs, n_samples=6, seed=11)
    ws = sample_parameters(c, 6, seed=11)["w"].numpy()
    grads = []
    for w in ws:
        g = np.zeros(w.size)
        for i in range(w.size):
            e = np.zeros(w.size)
            e[i] = 1e-5
            g[i] = (
                _dense_cost(c, w + e.reshape(w.shape), zz)
                - _dense_cost(c, w - e.reshape(w.shape), zz)
            ) / 2e-5
        grads.append(g)
    grads = np.array(grads)
    np.testing.assert_allclose(gv.mean.numpy(), grads.mean(0), atol=1e-7)
    np.testing.assert_allclose(gv.variance.numpy(), grads.var(0, ddof=1), atol=1e-7)
    assert gv.labels[:2] == ["w[0, 0]", "w[0, 1]"] and gv.n_samples == 6


def test_single_rotation_variance_is_one_half():
    # d<Z>/dw = -sin(w) for RY(w)|0>; w uniform on [0, 2 pi): Var = 1/2
    c = hqml.Circuit(1)
    c.ry(c.weight("w")[()], 0)
    v, se = gradient_variance(c, hqml.Z(0), n_samples=4000, seed=3).of(0)
    assert abs(v - 0.5) < 4 * se


def test_depolarizing_noise_shrinks_the_variance_by_the_contraction_squared():
    # RY(w) then depolarizing(p): the Bloch vector shrinks by 1 - 4p/3, so
    # d<Z>/dw = -(1 - 4p/3) sin(w) and Var = (1 - 4p/3)^2 / 2; the global cost 1 - p(0) =
    # (1 - <Z>)/2 has a quarter of that
    from hqml.noise import NoiseModel, depolarizing

    c = hqml.Circuit(1)
    c.ry(c.weight("w")[()], 0)
    nm = NoiseModel().add_channel(depolarizing(0.3))
    run = dict(n_samples=3000, seed=3, noise_model=nm, backend="density_matrix")
    v, se = gradient_variance(c, hqml.Z(0), diff_method="backprop", **run).of(0)
    assert abs(v - 0.5 * 0.6**2) < 4 * se
    g, gse = gradient_variance(c, "global", **run).of(0)
    assert g == pytest.approx(v / 4, rel=1e-9)
    with pytest.raises(ValueError, match="noise_model cannot reach them"):
        gradient_variance(c, lambda circuit, params: params["w"], noise_model=nm)


def test_shots_estimate_matches_exact_within_shot_noise():
    c = random_pqc(2, 2, seed=1)
    exact = gradient_variance(c, hqml.Z(0) @ hqml.Z(1), n_samples=150, seed=2)
    shots = gradient_variance(c, hqml.Z(0) @ hqml.Z(1), n_samples=150, seed=2, shots=20000)
    # shot noise adds about 2 * (1/2)^2 / shots per gradient to the variance: negligible here
    diff = (shots.variance - exact.variance).abs()
    assert torch.all(diff < 4 * exact.stderr + 1e-3)
    assert not torch.equal(shots.variance, exact.variance)


def test_bad_requests_are_refused():
    with pytest.raises(ValueError, match="at least one weight"):
        gradient_variance(hqml.Circuit(1).h(0), hqml.Z(0))
    with pytest.raises(ValueError, match="use shots=None"):
        gradient_variance(random_pqc(2, 1), "global", shots=100)
    with pytest.raises(ValueError, match="at least two distinct"):
        fit_decay([4], [0.1])


def test_fit_decay_recovers_an_exact_exponential():
    fit = fit_decay([2, 3, 4, 5], [math.exp(1 - 0.7 * n) for n in (2, 3, 4, 5)])
    assert fit.rate == pytest.approx(0.7) and fit.intercept == pytest.approx(1.0)


@pytest.mark.slow
def test_mcclean_2018_variance_follows_one_over_three_two_to_the_n():
    """RY(pi/4) layer, then random-axis rotations + CZ chain, cost <Z_0 Z_1>, gradient of the
    first parameter. Deep enough (20 n layers) to be a 2-design: Var = 1/(3 2^n) (the 1/3 is the
    average over the first rotation's axis; the ensemble fixes it to X, Y, Z in turn)."""

    def build(n):
        return [
            random_pqc(n, 20 * n, seed=s, first_axis=a) for s, a in enumerate(("rx", "ry", "rz"))
        ]

    qubits = list(range(4, 11))
    scan = variance_scan(
        build,
        qubits,
        lambda n: hqml.Z(0) @ hqml.Z(1),
        param=0,
        n_samples=2400,
        dtype=torch.complex64,
    )
    for n, v in zip(qubits, scan.variance, strict=True):
        assert abs(v * 3 * 2**n - 1) < 0.25, (n, v * 3 * 2**n)
    assert abs(-scan.fit.rate / math.log(2) - (-1)) < 0.15, scan.fit


def test_cerezo_2021_global_cost_decays_faster_than_local():
    """Shallow alternating layered ansatz (2 layers): the global cost's gradient variance decays
    exponentially in n, the local cost's does not; fitted rates differ by >= 3x over n = 4..12."""
    qubits = list(range(4, 13, 2))
    rates = {}
    for cost in ("global", "local"):
        scan = variance_scan(
            lambda n: alternating_layered(n, 2), qubits, cost, n_samples=400, dtype=torch.complex64
        )
        rates[cost] = scan.fit
    assert rates["global"].rate > 0.8  # exponential: about 2^-n or faster
    assert rates["global"].rate >= 3 * rates["local"].rate, rates
    # the gap holds beyond the fits' own uncertainty
    assert (
        rates["global"].rate - 4 * rates["global"].rate_stderr
        > 3 * (rates["local"].rate + 4 * rates["local"].rate_stderr) * 0.5
    )
