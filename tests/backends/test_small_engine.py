"""The NumPy engine for small registers: states against dense matrix algebra, gradients against
torch autograd on the reference torch path and against central differences.

The compiled interpreter takes these circuits where the native library loads, so every test here
turns it off (``HQML_NATIVE=0``); tests/backends/test_small_native.py covers the interpreter."""

import dataclasses

import numpy as np
import pytest
import torch
from helpers import check_w1_gradient, random_circuit

import hqml
from hqml.backends.statevector import limits
from hqml.backends.statevector import numpy_engine as small
from hqml.circuit.observables import PauliSum
from hqml.testing import reference_state


@pytest.fixture(autouse=True)
def _numpy_engine(monkeypatch):
    monkeypatch.setenv("HQML_NATIVE", "0")


def _obs(rng, n):
    return [
        PauliSum.from_list(
            [("".join(rng.choice(list("IXYZ"), n)), float(rng.normal())) for _ in range(3)]
        ),
        hqml.Z(0) @ hqml.Z(n - 1) if n > 1 else hqml.Z(0),
    ]


def _dense_expval(psi, obs, n):
    return float(np.real(psi.conj() @ obs.to_matrix(n) @ psi))


@pytest.mark.parametrize("seed", range(12))
def test_states_and_expectations_match_dense_algebra(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, limits.LIMITS.numpy_max_qubits + 1))
    c = random_circuit(rng, n, int(rng.integers(1, 18)))
    x = rng.uniform(-2, 2, (3, 3))
    w = rng.uniform(-2, 2, 4)
    obs = _obs(rng, n)
    dtype = torch.complex128 if seed % 2 else torch.complex64
    tol = 1e-10 if dtype == torch.complex128 else 2e-5
    real = torch.float64 if dtype == torch.complex128 else torch.float32
    kw = {
        "inputs": {"x": torch.tensor(x, dtype=real)},
        "weights": {"w": torch.tensor(w, dtype=real)},
        "dtype": dtype,
    }
    states = hqml.state(c, **kw).numpy()
    values = hqml.expval(c, obs, **kw).numpy()
    wires = [int(v) for v in rng.permutation(n)[: max(1, n - 1)]]
    probs = hqml.probs(c, wires=wires, **kw).numpy()
    for b in range(3):
        ref = reference_state(c, {"x": x[b]}, {"w": w})
        np.testing.assert_allclose(states[b], ref, atol=tol)
        for k, o in enumerate(obs):
            assert values[b, k] == pytest.approx(_dense_expval(ref, o, n), abs=tol * 10)
        full = np.abs(ref.reshape((2,) * n)) ** 2
        marg = full.sum(axis=tuple(i for i in range(n) if i not in wires))
        marg = np.transpose(marg, np.argsort(np.argsort(wires)))
        np.testing.assert_allclose(probs[b], marg.reshape(-1), atol=tol * 10)


def _grads(c, obs, x, w, method, x_grad=True):
    x = x.clone().requires_grad_(x_grad)
    w = w.clone().requires_grad_(True)
    v = hqml.expval(c, obs, inputs={"x": x}, weights={"w": w}, diff_method=method)
    (v * torch.linspace(-1, 2, v.numel(), dtype=v.dtype).reshape(v.shape)).sum().backward()
    return v.detach(), x.grad, w.grad


@pytest.mark.parametrize("seed", range(12))
def test_gradients_match_torch_autograd(seed):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(1, limits.LIMITS.numpy_max_qubits + 1))
    c = random_circuit(rng, n, int(rng.integers(2, 18)))
    obs = _obs(rng, n)
    x = torch.tensor(rng.uniform(-2, 2, (4, 3)), dtype=torch.float64)
    w = torch.tensor(rng.uniform(-2, 2, 4), dtype=torch.float64)
    ref = _grads(c, obs, x, w, "backprop")  # the torch path, differentiated by autograd
    got = _grads(c, obs, x, w, "adjoint")  # the NumPy engine
    for a, b in zip(got, ref, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-10)
    # inputs without grad: only the weights' gradient is computed, and it is the same
    _, gx, gw = _grads(c, obs, x, w, "adjoint", x_grad=False)
    assert gx is None
    np.testing.assert_allclose(gw.numpy(), ref[2].numpy(), atol=1e-10)


def test_layered_model_gradient_against_central_differences():
    """The W1 shape (encoding, then [RY RZ; CNOT ring] layers) in complex64 and complex128."""
    check_w1_gradient(batch=8, seed=7)


def test_engine_is_used_and_can_be_switched_off(monkeypatch):
    c = hqml.Circuit(2).ry(0.3, 0).cx(0, 1)
    calls = []
    real_run = small.run
    monkeypatch.setattr(small, "run", lambda *a, **k: calls.append(1) or real_run(*a, **k))
    on = hqml.expval(c, hqml.Z(1))
    assert calls
    monkeypatch.setenv("HQML_SMALL", "0")
    calls.clear()
    off = hqml.expval(c, hqml.Z(1))
    assert not calls
    assert float(on) == pytest.approx(float(off), abs=1e-6) == pytest.approx(np.cos(0.3), 1e-6)


def test_large_batches_of_per_sample_layers_use_the_torch_path(monkeypatch):
    rng = np.random.default_rng(3)
    c = hqml.Circuit(3)
    x = c.input("x", 3)
    for layer in range(2):
        for i in range(3):
            c.ry(x[i] * (layer + 1), i)
        c.cx(0, 1).cx(1, 2)
    xs = torch.tensor(rng.uniform(-1, 1, (40, 3)))
    # room for one layer per sample
    table = dataclasses.replace(limits.LIMITS, numpy_max_elements=40 * 64)
    monkeypatch.setattr(limits, "LIMITS", table)
    calls = []
    real_run = small.run
    monkeypatch.setattr(small, "run", lambda *a, **k: calls.append(1) or real_run(*a, **k))
    out = hqml.expval(c, hqml.Z(2), inputs={"x": xs})
    assert not calls
    ref = [_dense_expval(reference_state(c, {"x": xs[b].numpy()}), hqml.Z(2), 3) for b in range(40)]
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-10)
