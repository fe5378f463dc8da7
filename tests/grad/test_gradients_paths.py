"""Gradients on every execution path of the planner (dense small registers, chunked layers,
per-sample layers), in both precisions, for every exact method; memory of the adjoint sweep."""

import dataclasses

import numpy as np
import pytest
import torch
from helpers import random_circuit, w1_circuit

import hqml
from hqml.backends.statevector import limits


def layered(n, layers, reupload=False):
    c = hqml.Circuit(n)
    x = c.input("x", n)
    w = c.weight("w", (layers, n, 2))
    for i in range(n):
        c.ry(x[i], i)
    for layer in range(layers):
        for i in range(n):
            c.ry(w[layer, i, 0], i).rz(w[layer, i, 1] + (x[i] if reupload else 0.0), i)
        for i in range(n):
            c.cx(i, (i + 1) % n)
    return c


def grads(c, n, x, w, method, dtype):
    w = w.clone().requires_grad_(True)
    x = x.clone().requires_grad_(True)
    v = hqml.expval(
        c,
        [hqml.Z(i) for i in range(n)] + [hqml.X(0) @ hqml.Y(n - 1)],
        inputs={"x": x},
        weights={"w": w},
        diff_method=method,
        dtype=dtype,
    )
    (v**2).sum().backward()
    return v.detach(), x.grad, w.grad


@pytest.mark.parametrize("n", [3, 7])
@pytest.mark.parametrize("reupload", [False, True])
@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
def test_methods_agree_on_every_path(n, reupload, dtype):
    rng = np.random.default_rng(n)
    c = layered(n, 3, reupload)
    real = torch.float64 if dtype == torch.complex128 else torch.float32
    x = torch.tensor(rng.uniform(-2, 2, (4, n)), dtype=real)
    w = torch.tensor(rng.uniform(-2, 2, (3, n, 2)), dtype=real)
    ref = grads(c, n, x, w, "parameter-shift", dtype)
    tol = 2e-4 if dtype == torch.complex64 else 1e-9
    for method in ("adjoint", "backprop"):
        got = grads(c, n, x, w, method, dtype)
        for a, b in zip(got, ref, strict=True):
            torch.testing.assert_close(a, b, atol=tol, rtol=tol)


def test_unfused_paths_match(monkeypatch):
    """With dense layers and whole-register gathers off, results are unchanged."""
    rng = np.random.default_rng(3)
    c = random_circuit(rng, 5, 40)
    x = torch.tensor(rng.normal(size=(3, 3)))
    w = torch.tensor(rng.normal(size=4), requires_grad=True)
    fast = hqml.expval(
        c, hqml.Z(0) + hqml.X(4), inputs={"x": x}, weights={"w": w}, diff_method="adjoint"
    )
    (g_fast,) = torch.autograd.grad(fast.sum(), w)
    table = dataclasses.replace(limits.LIMITS, dense_max_qubits=0, perm_max_qubits=0, chunk=1)
    monkeypatch.setattr(limits, "LIMITS", table)
    c2 = hqml.Circuit.from_json(c.to_json())
    slow = hqml.expval(
        c2, hqml.Z(0) + hqml.X(4), inputs={"x": x}, weights={"w": w}, diff_method="adjoint"
    )
    (g_slow,) = torch.autograd.grad(slow.sum(), w)
    torch.testing.assert_close(fast, slow)
    torch.testing.assert_close(g_fast, g_slow)


def test_adjoint_holds_no_intermediate_states(monkeypatch):
    """The adjoint keeps the final state and small per-gate data, never a state per layer (the
    torch path; the compiled interpreter, which would take this register, keeps only theta and
    the final states)."""
    monkeypatch.setenv("HQML_SMALL", "0")
    from hqml.backends.base import Expval, Task
    from hqml.circuit.params import bind_parameters

    n, batch = 10, 64
    backend = hqml.get_backend("statevector")
    per_param = {}
    for layers in (2, 16):
        c = layered(n, layers, reupload=True)
        b = bind_parameters(c, {"x": torch.rand(batch, n)}, {"w": torch.rand(layers, n, 2)})
        task = Task(c, b.theta, Expval((hqml.Z(0),)), torch.complex64, varying=b.varying)
        _, saved = backend.execute_for_vjp(task)
        steps, state = saved.steps, saved.state
        tensors = [s.data for s in steps if isinstance(s.data, torch.Tensor)]
        assert all(t.numel() < state.numel() for t in tensors)  # no state-sized data
        theta_bytes = b.theta.numel() * b.theta.element_size()
        per_param[layers] = sum(t.numel() * t.element_size() for t in tensors) / theta_bytes
    # gate data grows like the parameters do (a bounded multiple of theta), not like states
    assert per_param[16] < 32 and per_param[16] < 1.5 * per_param[2] + 1


@pytest.mark.parametrize("n", [3, 7, 13])
@pytest.mark.parametrize("reupload", [False, True])
@pytest.mark.parametrize("z_only", [True, False])
@pytest.mark.parametrize("x_grad", [False, True])
def test_adjoint_backward_repeats_on_a_retained_graph(monkeypatch, n, reupload, z_only, x_grad):
    """As with torch's own ops: a retained graph gives the same gradient again (the first
    backward consumed the forward's record, the repeat runs the forward again); a graph that
    was not retained raises torch's error. Z-only observables on plain weights reach the
    statevector backend's prepared calls from the second call on, the others the generic
    adjoint."""
    from hqml import execute
    from hqml.backends.statevector import prepared as fastcall

    monkeypatch.setenv("HQML_FASTCALL", "1")
    rng = np.random.default_rng(n)
    # plain weights are bound by a link; re-uploading makes expressions (theta by autograd)
    c = layered(n, 2, True) if reupload else w1_circuit(n, 2)
    obs = [hqml.Z(i) for i in range(n)] + [
        (hqml.Z(0) @ hqml.Z(n - 1)) if z_only else (hqml.X(0) @ hqml.Y(n - 1))
    ]
    x = torch.tensor(rng.uniform(-2, 2, (3, n)), requires_grad=x_grad)
    w = torch.tensor(rng.uniform(-2, 2, (2, n, 2)), requires_grad=True)
    wrt = (x, w) if x_grad else (w,)
    scale = torch.linspace(0.5, 1.5, n + 1, dtype=torch.float64)

    def loss_of(xv, wv, **kw):
        v = hqml.expval(c, obs, inputs={"x": xv}, weights={"w": wv}, dtype=torch.complex128, **kw)
        return (v**2 * scale).sum()

    ref = []  # central differences of the loss, on copies (the graph's tensors stay unchanged)
    for j in range(len(wrt)):
        base = [x.detach().clone(), w.detach().clone()][-len(wrt) :]
        r = torch.zeros_like(base[j])
        for k in range(r.numel()):
            shifted = []
            for h in (1e-5, -1e-5):
                args = [t.clone() for t in base]
                args[j].view(-1)[k] += h
                xv, wv = args if x_grad else [x.detach(), args[0]]
                shifted.append(loss_of(xv, wv))
            r.view(-1)[k] = (shifted[0] - shifted[1]) / 2e-5
        ref.append(r)
    for _ in range(3):
        loss = loss_of(x, w, diff_method="adjoint")
        for retain in (True, True, False):
            got = torch.autograd.grad(loss, wrt, retain_graph=retain)
            for a, b in zip(got, ref, strict=True):
                torch.testing.assert_close(a, b, atol=1e-7, rtol=1e-7)
        with pytest.raises(RuntimeError, match="second time"):
            torch.autograd.grad(loss, wrt)
    requests = c.memo.get(execute._REQUESTS, {}).values()
    prepared = [r.prepared for r in requests if isinstance(r.prepared, fastcall.PreparedCall)]
    assert bool(prepared) == (z_only and not reupload and n <= 12)
