"""Neighbouring controlled and diagonal gates applied by their operator Schmidt split, a run of
them at once (``hqml.sim.mps_local``): states, expectation values, truncation reports and
gradients against the dense reference and the statevector backend, both dtypes, batched and
unbatched, exact and truncated, backprop and the checkpointed sweep."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import hqml
import hqml.sim.mps_local as mps_local
from hqml.backends import get_backend
from hqml.backends.mps import MPSBackend
from hqml.testing import reference_state

DTYPES = [torch.complex64, torch.complex128]
TOL = {torch.complex64: 2e-5, torch.complex128: 1e-10}
TWO = ["cx", "cy", "cz", "crx", "cry", "crz", "cp", "rzz"]  # two blocks on one wire


def _circuit(n: int, layers: int, seed: int) -> hqml.Circuit:
    """Layers of one-qubit gates (inputs and weights) and neighbouring two-block gates in
    random order and orientation (chains up and down, brickwork), with a controlled unitary,
    a swap and a distant CNOT now and then (gates the segments must stop at)."""
    rng = np.random.default_rng(seed)
    c = hqml.Circuit(n)
    x, w = c.input("x", n), c.weight("w", (layers, n))
    for i in range(n):
        c.ry(x[i], i)
    ctrl = np.eye(4, dtype=complex)
    ctrl[2:, 2:] = np.linalg.qr(rng.normal(size=(2, 2)) + 1j * rng.normal(size=(2, 2)))[0]
    for layer in range(layers):
        for i in range(n):
            c.append(str(rng.choice(["rx", "ry", "rz"])), [i], [w[layer, i]])
        order = rng.permutation(n - 1) if layer % 2 else range(n - 1)
        for i in order:
            pair = [int(i), int(i) + 1][:: 1 if rng.random() < 0.5 else -1]
            kind = str(rng.choice(TWO))
            r = rng.random()  # a weight, an input (rows differ) or a constant
            angle = w[layer, int(i)] * 0.7 if r < 0.4 else x[int(i)] if r < 0.7 else 1.3 * r
            params = [angle] if kind not in TWO[:3] else []
            c.append(kind, pair, params)
            if rng.random() < 0.2:
                c.h(int(rng.integers(n)))
        c.unitary(ctrl, [layer % n, (layer + 1) % n])
        c.swap(0, n - 1) if layer % 2 else c.cnot(n - 1, 0)
    return c


def _segments(monkeypatch) -> list[int]:
    calls: list[int] = []
    orig = mps_local.apply_segment

    def spy(mps, gates, pending):
        calls.append(len(gates))
        return orig(mps, gates, pending)

    monkeypatch.setattr("hqml.backends.mps.apply.apply_segment", spy)
    return calls


def _obs(n: int) -> list:
    return [hqml.Z(i) for i in range(n)] + [hqml.X(0) @ hqml.Y(n - 1), hqml.Y(1) @ hqml.X(2)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, batch", [(6, 3), (7, None)])
def test_segments_give_the_dense_state_and_expvals_and_report_nothing_cut(
    n, batch, dtype, monkeypatch
):
    c = _circuit(n, layers=3, seed=n)
    rng = np.random.default_rng(n)
    x = rng.uniform(-2, 2, (batch, n) if batch else n)
    w = rng.uniform(-2, 2, (3, n))
    calls = _segments(monkeypatch)
    kw = dict(inputs={"x": torch.tensor(x)}, weights={"w": torch.tensor(w)}, dtype=dtype)
    be = get_backend("mps", max_bond=2 ** (n // 2))
    out = hqml.state(c, backend=be, **kw)
    assert max(calls) >= 3  # runs of several gates went as one segment
    rows = list(x) if batch else [x]
    ref = np.stack([reference_state(c, {"x": r}, {"w": w}) for r in rows])
    np.testing.assert_allclose(out.reshape(batch or 1, -1).numpy(), ref, atol=TOL[dtype] * 10)
    rep = out.truncation
    assert rep.exact and rep.full_rank and rep.cuts == 0
    got = hqml.expval(c, _obs(n), backend=be, **kw).reshape(batch or 1, -1)
    want = np.array([[np.vdot(p, o.to_matrix(n) @ p).real for o in _obs(n)] for p in ref])
    np.testing.assert_allclose(got.numpy(), want, atol=TOL[dtype] * 10)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("diff_method", ["backprop", "adjoint"])
def test_segment_gradients_equal_the_statevector_backend(dtype, diff_method, monkeypatch):
    n, batch = 6, 2
    c = _circuit(n, layers=3, seed=11)
    rng = np.random.default_rng(3)
    x, w = rng.uniform(-2, 2, (batch, n)), rng.uniform(-2, 2, (3, n))
    rdt = torch.float32 if dtype == torch.complex64 else torch.float64
    cot = torch.tensor(rng.normal(size=(batch, len(_obs(n)))), dtype=rdt)

    def grads(backend, method):
        xt = torch.tensor(x, dtype=rdt, requires_grad=True)
        wt = torch.tensor(w, dtype=rdt, requires_grad=True)
        v = hqml.expval(c, _obs(n), inputs={"x": xt}, weights={"w": wt}, backend=backend,
                        dtype=dtype, diff_method=method)  # fmt: skip
        (v * cot).sum().backward()
        return v.detach().numpy(), xt.grad.numpy(), wt.grad.numpy()

    ref = grads("statevector", "backprop")
    calls = _segments(monkeypatch)
    be = get_backend("mps", max_bond=8, checkpoint_every=5)
    got = grads(be, diff_method)
    assert max(calls) >= 3
    for a, b in zip(got, ref, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("dtype", DTYPES)
def test_truncated_runs_with_segments_equal_gate_by_gate_runs(dtype, monkeypatch):
    # bond 8 on 12 qubits: segments while no bond can pass 8, cuts after (rows batched). The
    # same state and the same report as gate by gate (each cut happens on the same exact state;
    # tests/backends/test_mps_truncation.py holds the estimate to the exact fidelity)
    n, batch = 12, 2
    c = _circuit(n, layers=3, seed=5)
    rng = np.random.default_rng(8)
    x, w = rng.uniform(-2, 2, (batch, n)), rng.uniform(-2, 2, (3, n))
    kw = dict(inputs={"x": torch.tensor(x)}, weights={"w": torch.tensor(w)}, dtype=dtype)
    exact = hqml.state(c, backend="statevector", **kw)
    calls = _segments(monkeypatch)
    psi = hqml.state(c, backend=get_backend("mps", max_bond=8), **kw)
    assert calls
    monkeypatch.setattr(MPSBackend, "_local", lambda self, circuit: None)
    calls.clear()
    ref = hqml.state(c, backend=get_backend("mps", max_bond=8), **kw)
    assert not calls
    rep, want = psi.truncation, ref.truncation
    assert not rep.exact and rep.max_bond == want.max_bond == 8 and rep.count == want.count
    torch.testing.assert_close(psi, ref, atol=TOL[dtype] * 10, rtol=0)
    torch.testing.assert_close(rep.fidelity, want.fidelity, atol=TOL[dtype] * 10, rtol=0)
    fidelity = (exact.conj() * psi).sum(-1).abs() ** 2
    assert float(fidelity.max()) < 0.99
    assert float((rep.fidelity - fidelity).abs().max()) < 0.02  # rough here: many cuts


@pytest.mark.parametrize("n, bond", [(6, 8), (12, 16)])
def test_w5_chain_is_one_segment_per_layer_and_keeps_bonds_at_their_local_bound(
    n, bond, monkeypatch
):
    # 4 layers of CNOT chains: bonds 2^4 where the chain is long enough, 2^3 at n = 6 (the
    # segments' doubled bonds brought back to the bound set by the ends of the chain)
    layers = 4
    c = hqml.Circuit(n)
    w = c.weight("w", (layers, n))
    for layer in range(layers):
        for i in range(n):
            c.ry(w[layer, i], i).rz(w[layer, i] * 0.5, i)
        for i in range(n - 1):
            c.cnot(i, i + 1)
    calls = _segments(monkeypatch)
    be = get_backend("mps", max_bond=64)
    wt = torch.tensor(np.random.default_rng(1).uniform(-2, 2, (layers, n)))
    psi = hqml.state(c, weights={"w": wt}, backend=be, dtype=torch.complex128)
    assert calls == [n - 1] * layers
    ref = hqml.state(c, weights={"w": wt}, dtype=torch.complex128)  # the statevector
    torch.testing.assert_close(psi, ref, atol=1e-10, rtol=0)
    assert psi.truncation.max_bond == bond and psi.truncation.cuts == 0
