"""The MPS backend's memory-lean gradient (``diff_method="adjoint"``: the checkpointed sweep of
``hqml.backends.mps.grad``): gradients equal the statevector backend's where the bond holds
the state exactly, equal backprop's through truncations, whatever the segment length; "best"
picks it when backprop's memory would be large; its peak memory does not grow with depth like
backprop's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import random_circuit

import hqml
from hqml.backends import get_backend
from hqml.backends.mps import grad as mps_grad
from hqml.grad import resolve_diff_method


def _grads(c, obs, x, w, backend, dtype, method, cot=None):
    rdt = torch.float32 if dtype == torch.complex64 else torch.float64
    xt = torch.tensor(x, dtype=rdt, requires_grad=True)
    wt = torch.tensor(w, dtype=rdt, requires_grad=True)
    v = hqml.expval(c, obs, inputs={"x": xt}, weights={"w": wt}, backend=backend,
                    dtype=dtype, diff_method=method)  # fmt: skip
    cot = torch.ones_like(v) if cot is None else torch.as_tensor(cot, dtype=v.dtype)
    (v * cot).sum().backward()
    return v.detach().numpy(), xt.grad.numpy(), wt.grad.numpy()


def _observables(n):
    return [hqml.Z(0) @ hqml.Z(n - 1), 0.5 * hqml.X(1) - 0.25 * hqml.Y(2) @ hqml.X(3), hqml.Y(4)]


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
@pytest.mark.parametrize("every", [None, 1, 3])
def test_adjoint_gradients_equal_the_statevector_backend(dtype, every):
    n = 8
    rng = np.random.default_rng(41)
    c = random_circuit(rng, n, 40)
    x, w = rng.uniform(-2, 2, (3, 3)), rng.uniform(-2, 2, 4)
    cot = rng.normal(size=(3, 3))
    obs = _observables(n)
    be = get_backend("mps", max_bond=16, checkpoint_every=every)
    ref = _grads(c, obs, x, w, "statevector", dtype, "adjoint", cot)
    got = _grads(c, obs, x, w, be, dtype, "adjoint", cot)
    assert be.last_truncation.exact
    tol = 1e-5 if dtype == torch.complex128 else 2e-4
    for a, b in zip(got, ref, strict=True):
        np.testing.assert_allclose(a, b, atol=tol)


def test_adjoint_probs_gradient_unbatched_equals_the_statevector():
    c = hqml.Circuit(5)
    w = c.weight("w", 6)
    c.ry(w[0], 0).cnot(0, 4).rx(w[1], 2).crz(w[2], 4, 1).ccx(1, 3, 0).ryy(w[3], 3, 0)
    c.rz(w[4], 4).h(1).cry(w[5], 2, 3)
    w0 = torch.linspace(-1.3, 2.1, 6, dtype=torch.float64)
    cot = torch.linspace(-1, 1, 8, dtype=torch.float64)
    out = {}
    for name, be in (("sv", "statevector"), ("mps", get_backend("mps", checkpoint_every=2))):
        wt = w0.clone().requires_grad_(True)
        p = hqml.probs(c, [3, 0, 1], weights={"w": wt}, backend=be, diff_method="adjoint")
        (p * cot).sum().backward()
        out[name] = (p.detach(), wt.grad)
    torch.testing.assert_close(out["mps"][0], out["sv"][0], atol=1e-10, rtol=0)
    torch.testing.assert_close(out["mps"][1], out["sv"][1], atol=1e-10, rtol=0)


@pytest.mark.filterwarnings("ignore::hqml.backends.mps.TruncatedGradientWarning")
def test_adjoint_equals_backprop_through_truncations():
    # The adjoint sweep recomputes the forward pass segment by segment; at a cut between nearly
    # equal singular values the kept subspace follows rounding, so the two passes agree only
    # when the SVD is bitwise reproducible. MKL's AVX-512 code paths (Intel CPUs) are not from
    # call to call unless MKL_CBWR pins them: there the comparison runs in a child process that
    # pins them (seen: gradients 4.7 apart on an Intel Xeon, equal with MKL_CBWR=COMPATIBLE).
    if os.environ.get("MKL_CBWR") is None:
        test = f"{__file__}::test_adjoint_equals_backprop_through_truncations"
        env = {**os.environ, "MKL_CBWR": "COMPATIBLE"}
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", test]
        res = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        assert res.returncode == 0, res.stdout[-3000:]
        return
    n = 10
    rng = np.random.default_rng(5)
    c = random_circuit(rng, n, 60, kinds="all")
    x, w = rng.uniform(-2, 2, (2, 3)), rng.uniform(-2, 2, 4)
    obs = _observables(n)
    dt = torch.complex128
    be = get_backend("mps", max_bond=4, checkpoint_every=2)
    bp = _grads(c, obs, x, w, be, dt, "backprop")
    assert not be.last_truncation.exact  # the gradient of a truncated simulation
    adj = _grads(c, obs, x, w, be, dt, "adjoint")
    assert not be.last_truncation.exact
    for a, b in zip(adj, bp, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-9)


def test_best_picks_the_sweep_when_backprop_memory_would_be_large():
    c = hqml.Circuit(6)
    w = c.weight("w", 6)
    for i in range(6):
        c.ry(w[i], i)
    for i in range(5):
        c.cnot(i, i + 1)
    task = hqml.backends.base.Task(c, torch.zeros(1, 6), hqml.backends.base.Expval(()))
    small = get_backend("mps", backprop_memory=2**30)
    tight = get_backend("mps", backprop_memory=1)
    assert resolve_diff_method("best", small, task) == "backprop"
    assert resolve_diff_method("best", tight, task) == "adjoint"
    # and it runs: a gradient through "best" on the tight backend equals the statevector's
    for be in ("statevector", tight):
        wt = torch.linspace(0.1, 1.2, 6, dtype=torch.float64, requires_grad=True)
        hqml.expval(c, hqml.Z(5), weights={"w": wt}, backend=be).backward()
        if be == "statevector":
            ref = wt.grad
    torch.testing.assert_close(wt.grad, ref)


def test_adjoint_refuses_shots_and_bad_options():
    with pytest.raises(ValueError, match="checkpoint_every must be an integer >= 1"):
        get_backend("mps", checkpoint_every=0)
    with pytest.raises(ValueError, match="backprop_memory"):
        get_backend("mps", backprop_memory=-1)
    with pytest.raises(ValueError, match="shots"):
        w = torch.zeros(1, requires_grad=True)
        c2 = hqml.Circuit(1)
        c2.ry(c2.weight("w", 1)[0], 0)
        hqml.expval(c2, hqml.Z(0), weights={"w": w}, backend="mps", shots=10,
                    diff_method="adjoint")  # fmt: skip


def test_segments_cover_the_circuit_in_about_sqrt_pieces():
    wires = [(0,), (0, 1), (1, 2), (2,), (0, 3)] * 20  # 60 two-qubit gates, 20 with 2 swaps
    bounds = mps_grad.segment_bounds(wires)
    assert bounds[0] == 0 and bounds[-1] == len(wires)
    assert bounds == sorted(set(bounds))
    total = sum(mps_grad.block_ops(w) for w in wires)  # 40 + 20 * 5
    assert total == 140
    assert 8 <= len(bounds) - 1 <= 16  # about sqrt(140) = 11.8 segments
    assert mps_grad.segment_bounds([]) == [0, 0]


_PEAK = """
import sys, torch, hqml
from hqml.backends import get_backend
torch.set_num_threads(1)
n, layers, method = 16, int(sys.argv[1]), sys.argv[2]
def kib(key):
    return next(int(s.split()[1]) for s in open("/proc/self/status") if s.startswith(key))
c = hqml.Circuit(n)
x, w = c.input("x", n), c.weight("w", (layers, n))
for i in range(n):
    c.ry(x[i], i)
for layer in range(layers):
    for i in range(n):
        c.ry(w[layer, i], i)
        c.rz(w[layer, i] * 0.5, i)
    for i in range(n - 1):
        c.cnot(i, i + 1)
xin = torch.rand(16, n, generator=torch.Generator().manual_seed(0))
wt = torch.zeros(layers, n, requires_grad=True)
base = kib("VmRSS")
v = hqml.expval(c, [hqml.Z(i) for i in range(n)], inputs={"x": xin}, weights={"w": wt},
                backend=get_backend("mps", max_bond=16), diff_method=method)
v.square().sum().backward()
print(kib("VmHWM") - base, float(wt.grad.abs().sum()))
"""


def _peak(layers: int, method: str) -> tuple[float, float]:
    """Peak resident memory (MiB) above the start of one gradient, in a fresh process."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run(
        [sys.executable, "-c", _PEAK, str(layers), method],
        capture_output=True, text=True, check=True, env=env, timeout=300,
    )  # fmt: skip
    kib, gsum = out.stdout.split()
    return int(kib) / 1024, float(gsum)


@pytest.mark.slow  # four fresh processes, about 30 s on a loaded 2-core machine
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc/self/status")
def test_sweep_memory_grows_like_sqrt_depth_where_backprop_grows_like_depth():
    """16 qubits, batch 16, bond 16, 4 and 16 layers: backprop's peak memory grows about 4x
    with the depth, the sweep's about 2x (sqrt), and the gradients agree."""
    peaks = {(layers, m): _peak(layers, m) for layers in (4, 16) for m in ("backprop", "adjoint")}
    for layers in (4, 16):
        bp, adj = peaks[layers, "backprop"], peaks[layers, "adjoint"]
        assert abs(bp[1] - adj[1]) <= 1e-4 * abs(bp[1])
    bp_growth = peaks[16, "backprop"][0] / peaks[4, "backprop"][0]
    adj_growth = peaks[16, "adjoint"][0] / peaks[4, "adjoint"][0]
    assert bp_growth > 3.0, peaks
    assert adj_growth < 2.6, peaks
    assert peaks[16, "adjoint"][0] < 0.6 * peaks[16, "backprop"][0], peaks
