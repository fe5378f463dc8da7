"""Distant two-qubit gates on the MPS backend: with ``long_range="mpo"`` controlled and
diagonal gates go as MPOs of bond 2 and the others by swaps; with the default ``"swap"`` all go
by swaps. Both paths equal the statevector's values and gradients where the bond is exact, and
their truncation reports track the exact fidelity where it is not."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import hqml
from hqml.backends import get_backend
from hqml.backends.mps.apply import mpo_plans


def test_plans_pick_two_blocks_on_the_control_or_swaps():
    c = hqml.Circuit(6)
    w = c.weight("w", 3)
    c.cnot(0, 5).cnot(5, 0).rzz(w[0], 1, 4).crx(w[1], 4, 0).swap(0, 3).rxx(w[2], 0, 2)
    c.cnot(2, 3).ccx(0, 2, 5).cz(3, 1)
    plans = mpo_plans(c)
    assert plans[0] == (((0, 0), (1, 1)), True)  # control on the lower wire
    assert plans[1] == (((0, 0), (1, 1)), False)  # control on the higher wire
    assert plans[2] is not None and len(plans[2][0]) == 2  # diagonal
    assert plans[3] == (((0, 0), (1, 1)), False)  # crx(control 4, target 0)
    assert plans[4] is None and plans[5] is None  # four blocks on either wire: swaps
    assert plans[6] is None and plans[7] is None  # neighbours, three qubits
    assert plans[8] is not None


def _circuit(n):
    c = hqml.Circuit(n)
    x, w = c.input("x", n), c.weight("w", (2, n))
    for i in range(n):
        c.ry(x[i], i)
    for layer in range(2):
        for i in range(n):
            c.rx(w[layer, i], i)
        c.cnot(0, n - 1).crz(x[1] * w[layer, 0], n - 2, 1).rzz(w[layer, 2], 2, n - 1)
        c.cy(n - 1, 3).cp(w[layer, 3], 1, n - 3).swap(0, n // 2).crx(x[0], 3, n - 2)
    return c


@pytest.mark.parametrize("method", ["backprop", "adjoint"])
def test_values_and_gradients_equal_the_statevector_on_both_paths(method):
    n = 9
    c = _circuit(n)
    rng = np.random.default_rng(2)
    x, w = rng.uniform(-2, 2, (3, n)), rng.uniform(-2, 2, (2, n))
    obs = [hqml.Z(0) @ hqml.Z(n - 1), hqml.X(1) @ hqml.Y(n - 2), hqml.Z(4)]
    cot = torch.tensor(rng.normal(size=(3, 3)))
    out = {}
    for name, be in (
        ("sv", "statevector"),
        ("mpo", get_backend("mps", max_bond=16, long_range="mpo")),
        ("swap", get_backend("mps", max_bond=16, long_range="swap")),
    ):
        wt = torch.tensor(w, requires_grad=True)
        m = "adjoint" if name == "sv" else method
        v = hqml.expval(c, obs, inputs={"x": torch.tensor(x)}, weights={"w": wt}, backend=be,
                        diff_method=m)  # fmt: skip
        (v * cot).sum().backward()
        out[name] = (v.detach(), wt.grad)
        if name != "sv":
            assert be.last_truncation.exact and be.last_truncation.max_bond <= 16
    for name in ("mpo", "swap"):
        torch.testing.assert_close(out[name][0], out["sv"][0], atol=1e-10, rtol=0)
        torch.testing.assert_close(out[name][1], out["sv"][1], atol=1e-9, rtol=0)


def test_truncated_fidelity_estimates_track_the_exact_fidelity_on_both_paths():
    """14 qubits at max bond 8: both paths truncate, and their fidelity estimates are within
    1e-2 of the exact fidelity (from the statevector); the MPO's within 1e-3 (its cuts are
    made with the whole chain in canonical form: measured 2e-5 here, the swaps' 3.5e-3)."""
    n = 14
    c = _circuit(n)
    rng = np.random.default_rng(7)
    x, w = torch.tensor(rng.uniform(-2, 2, n)), torch.tensor(rng.uniform(-2, 2, (2, n)))
    kw = dict(inputs={"x": x}, weights={"w": w}, dtype=torch.complex128)
    exact = hqml.state(c, **kw)
    fid = {}
    for lr in ("mpo", "swap"):
        be = get_backend("mps", max_bond=8, long_range=lr)
        psi = hqml.state(c, backend=be, **kw)
        rep = be.last_truncation
        assert not rep.exact
        true = float(abs(torch.vdot(exact, psi)) ** 2)
        fid[lr] = (float(rep.fidelity), true)
        assert abs(float(rep.fidelity) - true) < 1e-2, (lr, rep.summary(), true)
    assert abs(fid["mpo"][0] - fid["mpo"][1]) < 1e-3, fid


def test_long_range_option_is_checked():
    with pytest.raises(ValueError, match="long_range must be 'mpo' or 'swap'"):
        get_backend("mps", long_range="mpos")
