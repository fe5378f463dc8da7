"""The compiled layer kernels (hqml.sim.native) against NumPy algebra and the torch path."""

import numpy as np
import pytest
import torch
from helpers import np_apply, np_contract, np_layer, random_circuit, unitaries, w2_circuit

import hqml
from hqml.backends.base import State, Task
from hqml.backends.statevector.choose import plan_engine
from hqml.sim import native
from hqml.sim.fused import adjoint_cotangents, run_steps
from hqml.sim.native import build

pytestmark = pytest.mark.skipif(not native.available(), reason="native kernels not built")

TOL = {torch.complex64: 1e-5, torch.complex128: 1e-12}


def _steps(c, theta, dtype):
    """The fused steps of the torch plan engine the backend chooses for ``c``."""
    task = Task(c, theta, State(), dtype)
    return plan_engine(task).bind(task).steps(task, theta)


# n up to 17 so that the tile pass over the high bits (above 14 / 15 low bits) runs too
CASES = [
    (n, subset, shared, bs)
    for n in (1, 2, 3, 5, 8, 11, 16, 17)
    for subset in ("all", "low", "high", "random")
    if n < 16 or subset in ("all", "high")
    for shared, bs in ((True, 1), (True, 3), (False, 3))
]


def _wires(rng, n, subset):
    if subset == "all":
        return list(range(n))
    if subset == "low":  # the least significant index bits
        return list(range(n - 1, max(n - 4, 0) - 1, -1))
    if subset == "high":
        return list(range(min(n, 3)))
    k = int(rng.integers(1, n + 1))
    return [int(v) for v in rng.permutation(n)[:k]]


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
def test_apply_layer_matches_dense_algebra(dtype):
    rng = np.random.default_rng(7)
    for n, subset, shared, bs in CASES:
        wires = _wires(rng, n, subset)
        state = torch.tensor(
            rng.normal(size=(bs, 2**n)) + 1j * rng.normal(size=(bs, 2**n)), dtype=dtype
        )
        factors = unitaries(rng, (len(wires),) if shared else (bs, len(wires)), dtype)
        got = native.apply_layer(state, n, wires, factors)
        np.testing.assert_allclose(
            got.numpy(), np_layer(state, n, wires, factors), atol=TOL[dtype] * 4
        )


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
def test_adjoint_layer_matches_sequential_definition(dtype):
    rng = np.random.default_rng(8)
    for n, subset, shared, bs in CASES:
        wires = _wires(rng, n, subset)
        shape = (bs, 2**n)
        psi = torch.tensor(rng.normal(size=shape) + 1j * rng.normal(size=shape), dtype=dtype)
        lam = torch.tensor(rng.normal(size=shape) + 1j * rng.normal(size=shape), dtype=dtype)
        factors = unitaries(rng, (len(wires),) if shared else (bs, len(wires)), dtype)
        p, l = psi.numpy().astype(complex), lam.numpy().astype(complex)
        f = factors.numpy().astype(complex)
        want = []
        for i, q in enumerate(wires):  # undo F_q from psi, contract, undo F_q from lam
            fh = np.conj(np.swapaxes(f[..., i, :, :], -1, -2))
            p = np_apply(p, n, q, fh)
            c = np_contract(l, p, n, q)
            want.append(c.sum(axis=0) if shared else c)
            l = np_apply(l, n, q, fh)
        cot = native.adjoint_layer(psi, lam, n, wires, factors)
        atol = TOL[dtype] * 2 ** (n / 2) * 4
        np.testing.assert_allclose(cot.numpy(), np.stack(want, axis=-3), atol=atol)
        np.testing.assert_allclose(psi.numpy(), p, atol=TOL[dtype] * 4)
        np.testing.assert_allclose(lam.numpy(), l, atol=TOL[dtype] * 4)


def test_two_threads_give_the_same_numbers():
    rng = np.random.default_rng(9)
    n = 16
    psi = torch.tensor(rng.normal(size=(2, 2**n)), dtype=torch.complex128)
    factors = unitaries(rng, (n,), torch.complex128)
    old = torch.get_num_threads()
    try:
        results = []
        for threads in (1, 2):
            torch.set_num_threads(threads)
            p, l = psi.clone(), psi.flip(1).contiguous()
            cot = native.adjoint_layer(p, l, n, range(n), factors)
            results.append((native.apply_layer(psi, n, range(n), factors), cot, p))
    finally:
        torch.set_num_threads(old)
    for a, b in zip(*results, strict=True):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)


@pytest.mark.parametrize("shared", [True, False])
def test_autograd_matches_the_torch_path(shared):
    """Gradients of a real loss w.r.t. the state and the factors (torch's complex convention)."""
    from hqml.sim.statevector import apply_matrix

    rng = np.random.default_rng(10)
    n, bs, wires = 12, 3, [0, 5, 11, 3, 8]
    f0 = unitaries(rng, (len(wires),) if shared else (bs, len(wires)), torch.complex128)
    for in_batch in (1, bs):
        s0 = torch.tensor(
            rng.normal(size=(in_batch, 2**n)) + 1j * rng.normal(size=(in_batch, 2**n))
        )
        weights = torch.tensor(rng.normal(size=(bs, 2**n)))
        grads = []
        for use_native in (True, False):
            s, f = s0.clone().requires_grad_(True), f0.clone().requires_grad_(True)
            if use_native:
                out = native.apply_layer(s, n, wires, f)
            else:
                out = s
                for i, q in enumerate(wires):
                    out = apply_matrix(out, n, f[..., i, :, :], [q])
            loss = (weights * out.abs() ** 2).sum() + (out[:, 7] * out[:, 9].conj()).real.sum()
            grads.append(torch.autograd.grad(loss, [s, f]))
        for a, b in zip(*grads, strict=True):
            torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-9)


def _run(c, n, x, w, diff_method, dtype):
    w = w.clone().requires_grad_(True)
    obs = [hqml.Z(0) @ hqml.Z(n - 1), hqml.X(1) + 0.5 * hqml.Y(n // 2)]
    ev = hqml.expval(
        c, obs, inputs={"x": x}, weights={"w": w}, diff_method=diff_method, dtype=dtype
    )
    (g,) = torch.autograd.grad((ev * torch.tensor([1.0, -2.0], dtype=ev.dtype)).sum(), w)
    return ev.detach(), g


@pytest.mark.parametrize("diff_method", ["backprop", "adjoint"])
def test_expval_and_gradients_native_vs_torch_path(monkeypatch, diff_method):
    monkeypatch.setattr(native, "MIN_QUBITS", 6)
    monkeypatch.setenv("HQML_SMALL", "0")  # the layer kernels, not the small-register engines
    for seed in range(4):
        rng = np.random.default_rng(seed)
        n = int(rng.integers(6, 9)) if seed < 3 else 12
        c = random_circuit(rng, n, 40)
        theta = torch.rand(3, sum(op.gate.num_params for op in c.ops))
        monkeypatch.setenv("HQML_NATIVE", "1")
        kinds = [s.kind for s in _steps(c, theta, torch.complex64)]
        assert "layer" in kinds
        for dtype, atol in ((torch.complex64, 2e-5), (torch.complex128, 1e-11)):
            real = torch.float32 if dtype == torch.complex64 else torch.float64
            x = torch.tensor(rng.uniform(-2, 2, (3, 3)), dtype=real)
            w = torch.tensor(rng.uniform(-2, 2, 4), dtype=real)
            monkeypatch.setenv("HQML_NATIVE", "1")
            got = _run(c, n, x, w, diff_method, dtype)
            monkeypatch.setenv("HQML_NATIVE", "0")
            want = _run(c, n, x, w, diff_method, dtype)
            for a, b in zip(got, want, strict=True):
                torch.testing.assert_close(a, b, atol=atol, rtol=0)


def test_w2_style_state_matches_dense_reference(monkeypatch):
    """RX layers and CNOT chains (the W2 workload's shape): native steps, recycled buffers."""
    from hqml.testing import reference_state

    monkeypatch.setattr(native, "MIN_QUBITS", 6)
    n = 8
    c = w2_circuit(n)
    psi = hqml.state(c, dtype=torch.complex128)
    np.testing.assert_allclose(psi.numpy(), reference_state(c), atol=1e-12)


def test_run_steps_leaves_the_callers_state_alone(monkeypatch):
    monkeypatch.setattr(native, "MIN_QUBITS", 6)
    c = hqml.Circuit(7).h(0).rx(0.3, 1).cnot(0, 1).ry(0.2, 2).cnot(1, 2).rz(0.5, 0)
    theta = torch.tensor([[0.3, 0.2, 0.5]], dtype=torch.float64)
    steps = _steps(c, theta, torch.complex128)
    assert [s.kind for s in steps][0] == "layer"
    start = torch.zeros(1, 2**7, dtype=torch.complex128)
    start[0, 0] = 1
    before = start.clone()
    with torch.no_grad():
        out = run_steps(start, 7, steps)
    assert torch.equal(start, before)
    lam = out.clone()
    cots = adjoint_cotangents(out, lam, 7, steps)
    assert torch.equal(start, before) and len(cots) == sum(s.param for s in steps)


def test_fallback_without_the_library(monkeypatch):
    monkeypatch.setattr(native, "_state", {"lib": None, "tried": True})
    assert not native.available()
    assert not native.usable("cpu", torch.complex64, 20)
    rng = np.random.default_rng(3)
    c = random_circuit(rng, 10, 16)
    theta = torch.rand(2, sum(op.gate.num_params for op in c.ops))
    kinds = {s.kind for s in _steps(c, theta, torch.complex64)}
    assert "layer" not in kinds
    from hqml.testing import reference_state

    x, w = torch.rand(3, dtype=torch.float64), torch.rand(4, dtype=torch.float64)
    psi = hqml.state(c, inputs={"x": x[None]}, weights={"w": w})[0]
    np.testing.assert_allclose(psi.numpy(), reference_state(c, {"x": x}, {"w": w}), atol=1e-12)


def test_disabled_by_environment_and_not_on_small_registers(monkeypatch):
    assert native.usable("cpu", torch.complex128, native.MIN_QUBITS)
    assert not native.usable("cpu", torch.complex128, native.MIN_QUBITS - 1)
    assert not native.usable("meta", torch.complex128, 20)
    monkeypatch.setenv("HQML_NATIVE", "0")
    assert not native.available()


def test_build_into_a_new_file_and_missing_compiler(tmp_path, monkeypatch):
    monkeypatch.setattr(build, "HERE", tmp_path / "one")
    (tmp_path / "one").mkdir()
    lib = build.build(force=True)
    assert lib == tmp_path / "one" / build.library_name() and lib.exists()
    import ctypes

    assert ctypes.CDLL(str(lib)).hqml_abi_version() == native.ABI_VERSION
    monkeypatch.setenv("CC", "no-such-compiler-hqml")
    monkeypatch.setattr(build, "HERE", tmp_path / "two")
    (tmp_path / "two").mkdir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert build.build(force=True) is None
    assert not list((tmp_path / "two").iterdir()) and not (tmp_path / "cache").exists()


def test_bad_input_is_refused():
    state = torch.zeros(1, 16, dtype=torch.complex64)
    eye = torch.eye(2, dtype=torch.complex64).expand(2, 2, 2)
    with pytest.raises(ValueError, match="distinct"):
        native.apply_layer(state, 4, [1, 1], eye)
    with pytest.raises(ValueError, match="shape"):
        native.apply_layer(state, 5, [0, 1], eye)
    with pytest.raises(ValueError, match="factors"):
        native.apply_layer(state, 4, [0, 1, 2], eye)
    with pytest.raises(ValueError, match="complex64/complex128"):
        native.apply_layer(state.real, 4, [0, 1], eye)
    with pytest.raises(ValueError, match="contiguous"):
        native.adjoint_layer(
            torch.zeros(16, 2, dtype=torch.complex64).T, state.expand(2, -1), 4, [0], eye[:1]
        )


def test_works_in_a_forked_child_after_use_in_the_parent():
    """Worker processes forked after the kernels ran (process pools) must not deadlock."""
    import os
    import signal
    import time
    import warnings

    rng = np.random.default_rng(11)
    n = 16
    state = torch.tensor(rng.normal(size=(1, 2**n)), dtype=torch.complex128)
    factors = unitaries(rng, (n,), torch.complex128)
    old = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        want = native.apply_layer(state, n, range(n), factors).numpy()
        read, write = os.pipe()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # child: the kernel on two threads, the result through the pipe
            try:
                got = native.apply_layer(state, n, range(n), factors).numpy()
                os.write(write, b"1" if np.allclose(got, want, atol=1e-12) else b"0")
            finally:
                os._exit(0)
        os.close(write)
        deadline = time.monotonic() + 30
        while os.waitpid(pid, os.WNOHANG) == (0, 0):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                pytest.fail("the native kernel deadlocked in a forked child")
            time.sleep(0.01)
        assert os.read(read, 1) == b"1"
        os.close(read)
    finally:
        torch.set_num_threads(old)
