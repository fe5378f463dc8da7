"""MPS truncation is reported, never silent: zero discarded weight when the bond suffices, a
fidelity estimate that tracks the exact fidelity when it does not, ``max_truncation`` raising,
and one-line refusals of what the backend cannot do as asked."""

from __future__ import annotations

import logging
import math
import warnings

import numpy as np
import pytest
import torch

import hqml
from hqml.backends import get_backend
from hqml.backends.mps import TruncatedGradientWarning, TruncationError
from hqml.execute import AutoBackendWarning
from hqml.limits import check_state_memory
from hqml.sim.mps_svd import svd


def _ghz(n: int) -> hqml.Circuit:
    c = hqml.Circuit(n).h(0)
    for i in range(n - 1):
        c.cnot(i, i + 1)
    return c


def _brickwork(n: int, depth: int, seed: int) -> hqml.Circuit:
    rng = np.random.default_rng(seed)
    c = hqml.Circuit(n)
    for layer in range(depth):
        for i in range(n):
            c.ry(float(rng.uniform(0, math.pi)), i).rz(float(rng.uniform(0, math.pi)), i)
        for i in range(layer % 2, n - 1, 2):
            c.cnot(i, i + 1)
    return c


def test_ghz_chain_needs_bond_two_and_discards_nothing():
    n = 40
    be = get_backend("mps", max_bond=2)
    c = _ghz(n)
    all_x = hqml.PauliSum.from_list([("X" * n, 1.0)])
    v = hqml.expval(c, [hqml.Z(0) @ hqml.Z(n - 1), all_x, hqml.Z(7)], backend=be)
    torch.testing.assert_close(v, torch.tensor([1.0, 1.0, 0.0]), atol=1e-6, rtol=0)
    assert v.truncation.exact and float(v.truncation.discarded.max()) == 0.0
    assert v.truncation.max_bond == 2
    p = hqml.probs(c, [0, n - 1], backend=be)
    torch.testing.assert_close(p, torch.tensor([0.5, 0.0, 0.0, 0.5]), atol=1e-6, rtol=0)
    bits = hqml.sample(c, 200, backend=be, seed=3)
    assert bits.shape == (200, n) and (bits == bits[:, :1]).all()  # all-0 or all-1
    assert 0 < int(bits[:, 0].sum()) < 200


def _schmidt_ranks(psi: np.ndarray, n: int) -> list[int]:
    """The Schmidt rank of the dense state at every cut of the chain."""
    out = []
    for k in range(1, n):
        s = np.linalg.svd(psi.reshape(2**k, -1), compute_uv=False)
        out.append(int((s > 1e-10 * s[0]).sum()))
    return out


@pytest.mark.parametrize("bricks", [1, 2, 3])
def test_brickwork_of_depth_d_needs_bond_two_to_the_d(bricks):
    # d bricks (2d layers, one per bond parity): each inner cut is crossed by d CNOTs
    n = 12
    c = _brickwork(n, 2 * bricks, seed=bricks)
    exact = hqml.state(c, dtype=torch.complex128)
    assert max(_schmidt_ranks(exact.numpy(), n)) == 2**bricks  # the dense reference
    psi = hqml.state(c, backend=get_backend("mps", max_bond=2**bricks), dtype=torch.complex128)
    rep = psi.truncation
    assert rep.exact and float(rep.discarded[0]) < 1e-20 and rep.max_bond == 2**bricks
    assert float(rep.fidelity[0]) == pytest.approx(1.0, abs=1e-12)
    torch.testing.assert_close(psi, exact, atol=1e-10, rtol=0)
    short = get_backend("mps", max_bond=2**bricks - 1)
    psi = hqml.state(c, backend=short, dtype=torch.complex128)
    rep = psi.truncation
    assert not rep.exact and float(rep.discarded[0]) > 1e-4 and rep.max_bond < 2**bricks
    fidelity = float((exact.conj() @ psi).abs() ** 2)
    assert fidelity < 1 - 1e-4
    if bricks > 1:  # (one bond for a state that needs two: the estimate is rough, 0.10 vs 0.08)
        assert abs(float(rep.fidelity[0]) - fidelity) < 1e-3


@pytest.mark.parametrize("depth, bond", [(6, 4), (6, 6), (8, 8), (10, 12)])
def test_fidelity_estimate_tracks_the_exact_fidelity(depth, bond):
    n = 12
    c = _brickwork(n, depth, seed=depth)
    exact = hqml.state(c, dtype=torch.complex128)
    be = get_backend("mps", max_bond=bond)
    psi = hqml.state(c, backend=be, dtype=torch.complex128)
    fidelity = float((exact.conj() @ psi).abs() ** 2)
    rep = psi.truncation
    assert bond < 2 ** min(depth, n // 2) and rep.count > 0 and fidelity < 0.999
    assert abs(float(rep.fidelity[0]) - fidelity) < 1e-3
    assert float(rep.discarded[0]) >= 1 - fidelity - 1e-3
    assert abs(float(psi.norm()) - 1) < 1e-9  # renormalised after each cut


def test_batched_rows_report_their_own_truncation():
    n = 10
    c = hqml.Circuit(n)
    x = c.input("x", 1)
    for i in range(n):
        c.ry(x[0], i)
    for layer in range(6):
        for i in range(layer % 2, n - 1, 2):
            c.cnot(i, i + 1).ry(0.9, i + 1)
    be = get_backend("mps", max_bond=3)
    xs = torch.tensor([[0.2], [1.3]], dtype=torch.float64)
    v = hqml.expval(c, hqml.Z(5), inputs={"x": xs}, backend=be)
    d = v.truncation.discarded
    assert d.shape == (2,) and abs(float(d[0]) - float(d[1])) > 1e-3
    for row in range(2):  # each row's report is the one it gets alone
        alone = hqml.expval(c, hqml.Z(5), inputs={"x": xs[row]}, backend=be)
        assert abs(float(alone.truncation.discarded[0]) - float(d[row])) < 1e-9
        assert abs(float(alone) - float(v[row])) < 1e-9


def test_max_truncation_raises_and_logging_reports(caplog):
    c = _brickwork(10, 8, seed=1)
    with pytest.raises(TruncationError, match="max_truncation=1e-06.*raise max_bond"):
        hqml.expval(c, hqml.Z(0), backend=get_backend("mps", max_bond=4, max_truncation=1e-6))
    with caplog.at_level(logging.INFO, logger="hqml.mps"):
        v = hqml.expval(c, hqml.Z(0), backend=get_backend("mps", max_bond=4, max_truncation=0.5))
    assert not v.truncation.exact
    assert any("discarded weight" in r.getMessage() for r in caplog.records)


def test_worst_truncation_leaves_earlier_results_reports_alone():
    be = get_backend("mps", max_bond=8, cutoff=0.05)
    weak = hqml.Circuit(4).ry(0.3, 0).cnot(0, 1).cnot(1, 2).cnot(2, 3)  # cut to bond 1
    first = hqml.expval(weak, hqml.Z(0), backend=be)
    rep = first.truncation
    assert not rep.exact and rep.max_bond == 1
    pairs = hqml.Circuit(4).h(0).h(1).cnot(1, 2).cnot(0, 3)  # two Bell pairs: bond 4, exact
    second = hqml.expval(pairs, hqml.Z(0), backend=be)
    assert second.truncation.exact and second.truncation.max_bond == 4
    assert first.truncation is rep and rep.max_bond == 1  # the first result's report as it was
    assert be.worst_truncation.max_bond == 4  # the worst call's, with the largest bond reached
    assert float(be.worst_truncation.discarded.max()) == float(rep.discarded.max())


def test_one_line_refusals():
    big = _ghz(30)
    with pytest.raises(ValueError, match="2\\^30 amplitudes.*ask for expval"):
        hqml.state(big, backend="mps")
    with pytest.raises(ValueError, match="at most 20 wires"):
        hqml.probs(big, list(range(21)), backend="mps")
    for bad in ({"max_bond": 0}, {"cutoff": 1.5}, {"max_truncation": -1}, {"dtype": torch.float32}):
        with pytest.raises(ValueError, match="mps:"):
            get_backend("mps", **bad)


def test_auto_uses_the_statevector_when_it_fits_and_mps_when_not():
    with pytest.warns(AutoBackendWarning, match="uses 'mps'.*40-qubit statevector"):
        v = hqml.expval(_ghz(40), hqml.Z(0) @ hqml.Z(39), backend="auto")
    assert abs(float(v) - 1) < 1e-6 and v.truncation.exact
    small = hqml.expval(_ghz(4), hqml.Z(0) @ hqml.Z(3), backend="auto")
    assert getattr(small, "truncation", None) is None and abs(float(small) - 1) < 1e-6


def test_statevector_refusals_name_the_mps_backend():
    with pytest.raises(ValueError, match="at most 30 qubits.*backend='mps'"):
        hqml.expval(_ghz(40), hqml.Z(0))
    with pytest.raises(MemoryError, match="backend='mps'"):
        check_state_memory(30, 1, torch.complex64, available=2**30)


def test_svd_gradient_matches_torch_where_separated_and_stays_finite_where_degenerate():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(3, 6, 4, dtype=torch.complex128, generator=g, requires_grad=True)
    m = torch.randn(3, 6, 4, dtype=torch.complex128, generator=g)

    def loss(fn, a):  # gauge invariant: a rank-2 approximation, then a projection
        u, s, vh = fn(a)
        low = (u[..., :2] * s[..., None, :2].to(u.dtype)) @ vh[..., :2, :]
        return (low.conj() * m[: a.shape[0]]).real.sum() + (s**3).sum()

    (mine,) = torch.autograd.grad(loss(svd, a), a)
    (ref,) = torch.autograd.grad(loss(lambda t: torch.linalg.svd(t, full_matrices=False), a), a)
    torch.testing.assert_close(mine, ref)
    eye = torch.eye(4, dtype=torch.complex128).repeat(2, 1, 1)
    degenerate = torch.cat([eye, torch.zeros(2, 2, 4, dtype=eye.dtype)], 1).requires_grad_()
    (g_deg,) = torch.autograd.grad(loss(svd, degenerate), degenerate)
    assert torch.isfinite(g_deg).all()
    (g_torch,) = torch.autograd.grad(
        loss(lambda t: torch.linalg.svd(t, full_matrices=False), degenerate), degenerate
    )
    assert not torch.isfinite(g_torch).all()  # what the broadening is for


@pytest.mark.parametrize("diff_method", ["backprop", "adjoint"])
@pytest.mark.parametrize("options", [{"cutoff": 1e-10}, {"max_bond": 1}])
def test_dropping_zero_singular_values_keeps_values_but_loses_gradients_and_warns(
    diff_method, options
):
    # H(0) then CRX(w) at w = 0: the state |+>|0> is a product (Schmidt values 1 and 0), but
    # d/dw leaves it along the dropped pair: <Z0 Y1> has gradient 1/2 in the circuit, 0 after
    # the cut; the report says the values are exact and the cut dropped a singular value
    c = hqml.Circuit(2)
    w = c.weight("w", 1)
    c.h(0).crx(w[0], 0, 1)
    obs = hqml.Z(0) @ hqml.Y(1)

    def grad(backend):
        wt = torch.zeros(1, dtype=torch.float64, requires_grad=True)
        v = hqml.expval(c, obs, weights={"w": wt}, backend=backend, diff_method=diff_method)
        (g,) = torch.autograd.grad(v, wt)
        return v, float(g[0])

    with pytest.warns(TruncatedGradientWarning, match="zero weight.*cutoff=0"):
        v, g = grad(get_backend("mps", **options))
    assert v.truncation.exact and not v.truncation.full_rank and v.truncation.dropped == 1
    assert abs(g) < 1e-12  # the derivative the cut lost
    with warnings.catch_warnings():
        warnings.simplefilter("error", TruncatedGradientWarning)
        v, g = grad(get_backend("mps"))  # cutoff 0, bond 2 under max_bond: no cut
    assert v.truncation.full_rank and g == pytest.approx(0.5, abs=1e-12)
    _, g_sv = grad("statevector")
    assert g_sv == pytest.approx(0.5, abs=1e-12)


@pytest.mark.parametrize("diff_method", ["backprop", "adjoint"])
def test_a_gradient_of_a_truncated_simulation_warns_and_an_exact_one_does_not(diff_method):
    n = 8
    c = hqml.Circuit(n)
    w = c.weight("w", (3, n))
    for layer in range(3):
        for i in range(n):
            c.ry(w[layer, i], i)
        for i in range(n - 1):
            c.cnot(i, i + 1)
    wt = torch.linspace(0.3, 2.5, 3 * n, dtype=torch.float64).reshape(3, n).requires_grad_()
    obs = hqml.Z(0) @ hqml.Z(n - 1)
    with pytest.warns(TruncatedGradientWarning, match="max_bond"):
        v = hqml.expval(c, obs, weights={"w": wt}, backend=get_backend("mps", max_bond=2),
                        diff_method=diff_method)  # fmt: skip
        v.backward()
    assert not v.truncation.exact
    with warnings.catch_warnings():
        warnings.simplefilter("error", TruncatedGradientWarning)
        v = hqml.expval(c, obs, weights={"w": wt}, backend=get_backend("mps", max_bond=16),
                        diff_method=diff_method)  # fmt: skip
        v.backward()
        assert v.truncation.exact
        with torch.no_grad():  # values alone: no gradient, no warning
            hqml.expval(c, obs, weights={"w": wt}, backend=get_backend("mps", max_bond=2))
