"""Every build of the native kernels that this machine can execute (AVX-512, AVX2, portable SSE2
on x86-64; the baseline elsewhere), each built once into a temporary folder and checked against
NumPy algebra: the layer kernels (forward and adjoint, complex64 and complex128, low bits, lane
shuffles inside a vector and the tile pass over high bits) and the small-register interpreter
(states, values and gradients)."""

import numpy as np
import pytest
import torch
from helpers import np_apply, np_contract, np_layer, unitaries, w1_circuit
from native_checks import check_passes, check_permuted

import hqml
from hqml.backends.statevector import interpreter
from hqml.sim import native
from hqml.sim.native import build

pytestmark = pytest.mark.skipif(not native.available(), reason="no C compiler to build with")

# the package's own library is the "native" build, which the rest of the suite tests
VARIANTS = [v for v in build.variants() if v != "native"]
EXPECTED = {  # instruction set, vector bytes, interpreter lanes (samples per block)
    "avx512": ("avx512", 64, 16),
    "avx2": ("avx2", 32, 8),
    "portable": ("sse2" if "sse2" in build.cpu_flags() else None, 16, 4),
}
TOL = {torch.complex64: 2e-5, torch.complex128: 1e-12}


@pytest.fixture(scope="module", params=VARIANTS)
def variant(request, tmp_path_factory):
    """(name, library) of one build, compiled once for the module."""
    folder = tmp_path_factory.mktemp(f"native-{request.param}")
    path = build.build_variant(request.param, folder)
    assert path is not None and path.parent == folder, f"the {request.param} build failed"
    return request.param, native.load_library(path)


@pytest.fixture
def use(variant, monkeypatch):
    """The bindings run on ``variant``'s library for this test."""
    monkeypatch.setenv("HQML_NATIVE", "1")
    monkeypatch.setenv("HQML_NATIVE_CALIBRATE", "0")  # run it even where torch is faster
    monkeypatch.setattr(native, "_state", {"lib": variant[1], "tried": True})
    return variant[0]


def test_each_build_targets_its_instruction_set(use):
    isa, vbytes, lanes = EXPECTED[use]
    lib = native._load()
    got = (lib.hqml_isa().decode(), lib.hqml_vector_bytes(), lib.hqml_small_lanes())
    assert got[1:] == (vbytes, lanes)
    assert isa is None or got[0] == isa


# n = 17 reaches the tile pass over the bits above the 14 / 15 low bits (wires 0, 1); n = 1, 2 are
# shorter than one vector; wires n-1, n-2 (index bits 0, 1) are gates inside a vector
LAYER_CASES = [(1, [0]), (2, [1, 0]), (5, [4, 3, 2, 0]), (9, list(range(9))), (17, [0, 1, 3, 16])]


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
def test_layer_kernels_match_numpy(use, dtype):
    rng = np.random.default_rng(3)
    old = torch.get_num_threads()
    torch.set_num_threads(2)  # the threaded passes too
    try:
        for n, wires in LAYER_CASES:
            for shared in (True, False):
                bs = 2
                shape = (bs, 2**n)
                psi = torch.tensor(
                    rng.normal(size=shape) + 1j * rng.normal(size=shape), dtype=dtype
                )
                lam = torch.tensor(
                    rng.normal(size=shape) + 1j * rng.normal(size=shape), dtype=dtype
                )
                factors = unitaries(rng, (len(wires),) if shared else (bs, len(wires)), dtype)
                got = native.apply_layer(psi, n, wires, factors)
                np.testing.assert_allclose(
                    got.numpy(), np_layer(psi, n, wires, factors), atol=TOL[dtype] * 4
                )
                p, l = psi.numpy().astype(complex), lam.numpy().astype(complex)
                f = factors.numpy().astype(complex)
                want = []
                for i, q in enumerate(wires):  # the adjoint step's sequential definition
                    fh = np.conj(np.swapaxes(f[..., i, :, :], -1, -2))
                    p = np_apply(p, n, q, fh)
                    c = np_contract(l, p, n, q)
                    want.append(c.sum(axis=0) if shared else c)
                    l = np_apply(l, n, q, fh)
                cot = native.adjoint_layer(psi, lam, n, wires, factors)
                np.testing.assert_allclose(psi.numpy(), p, atol=TOL[dtype] * 4)
                np.testing.assert_allclose(lam.numpy(), l, atol=TOL[dtype] * 4)
                atol = TOL[dtype] * 2 ** (n / 2) * 8
                np.testing.assert_allclose(cot.numpy(), np.stack(want, axis=-3), atol=atol)
    finally:
        torch.set_num_threads(old)


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
def test_passes_and_folded_permutations_of_each_build(use, dtype):
    """Each build's passes of several gates equal one gate per pass bitwise, and its
    permutation folded into a layer equals the gather then the layer (both against NumPy)."""
    lib = native._load()
    check_passes(lib, dtype)
    check_permuted(lib, dtype)


def np_w1(x, w):
    """States of the W1 ansatz (RY(x) encoding; layers of RY, RZ on every wire and a CNOT ring)
    for samples ``x`` (B, n) and weights ``w`` (layers, n, 2), in NumPy."""
    b, n = x.shape
    state = np.zeros((b, 2**n), dtype=complex)
    state[:, 0] = 1

    def ry(t):
        c, s = np.cos(t / 2), np.sin(t / 2)
        return np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)

    def rz(t):
        e = np.exp(-0.5j * np.asarray(t))
        return np.array([[e, 0], [0, np.conj(e)]])

    for i in range(n):
        state = np_apply(state, n, i, ry(x[:, i]))
    index = np.arange(2**n)
    for layer in range(w.shape[0]):
        for i in range(n):
            state = np_apply(state, n, i, ry(w[layer, i, 0]))
            state = np_apply(state, n, i, rz(w[layer, i, 1]))
        for i in range(n):  # CNOT(i, i + 1): flip the target bit where the control bit is set
            ctrl, tgt = n - 1 - i, n - 1 - (i + 1) % n
            state = state[:, np.where(index >> ctrl & 1, index ^ (1 << tgt), index)]
    return state


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
def test_interpreter_matches_numpy(use, dtype, monkeypatch):
    """The W1 ansatz on 6 qubits, 11 samples (a partial last block at 4, 8 and 16 lanes): states
    against NumPy, and the adjoint gradient of sum_b <Z_0> + 0.5 <Z_5> against central
    differences of the NumPy values."""
    calls = []
    forward = interpreter.kernel_forward
    monkeypatch.setattr(
        interpreter, "kernel_forward", lambda *a, **k: calls.append(1) or forward(*a, **k)
    )
    rng = np.random.default_rng(4)
    n, layers, batch = 6, 2, 11
    c = w1_circuit(n, layers)
    real = torch.float64 if dtype == torch.complex128 else torch.float32
    x = rng.uniform(0, np.pi, (batch, n))
    w0 = rng.uniform(0, 2 * np.pi, (layers, n, 2))
    xt = torch.tensor(x, dtype=real)
    states = hqml.state(
        c, inputs={"x": xt}, weights={"w": torch.tensor(w0, dtype=real)}, dtype=dtype
    )
    assert calls, "the interpreter did not run"
    np.testing.assert_allclose(states.numpy(), np_w1(x, w0), atol=TOL[dtype] * 4)

    z = 1 - 2 * ((np.arange(2**n)[:, None] >> np.array([n - 1, 0])) & 1)  # Z_0, Z_5 diagonals
    weights = np.array([1.0, 0.5])

    def ref_loss(w):
        return float(((np.abs(np_w1(x, w)) ** 2) @ z @ weights).sum())

    w = torch.tensor(w0, dtype=real, requires_grad=True)
    values = hqml.expval(c, [hqml.Z(0), hqml.Z(n - 1)], inputs={"x": xt}, weights={"w": w},
                         dtype=dtype, diff_method="adjoint")  # fmt: skip
    loss = (values @ torch.tensor(weights, dtype=real)).sum()
    assert float(loss.detach()) == pytest.approx(ref_loss(w0), abs=TOL[dtype] * 100)
    loss.backward()
    h, numeric = 1e-6, np.zeros_like(w0)
    for idx in np.ndindex(w0.shape):
        wp, wm = w0.copy(), w0.copy()
        wp[idx] += h
        wm[idx] -= h
        numeric[idx] = (ref_loss(wp) - ref_loss(wm)) / (2 * h)
    atol = 1e-7 if real == torch.float64 else 2e-4
    np.testing.assert_allclose(w.grad.double().numpy(), numeric, atol=atol)


# (qubits, layers, batch, HQML_SMALL): the interpreter at 6 qubits; the layer kernels at 9 and,
# through the tile pass over the high bits, at 17 (HQML_SMALL=0 keeps the interpreter out)
TORCH_CASES = [(6, 2, 11, "1"), (9, 2, 3, "0"), (17, 1, 2, "0")]


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
@pytest.mark.parametrize(("n", "layers", "batch", "small"), TORCH_CASES)
def test_each_build_agrees_with_the_torch_path(use, dtype, n, layers, batch, small, monkeypatch):
    """The W1 values and adjoint gradients of every build equal those of hqml's torch path
    (``HQML_NATIVE=0``, which the chooser falls back to) to rounding."""
    monkeypatch.setenv("HQML_SMALL", small)
    rng = np.random.default_rng(n)
    real = torch.float64 if dtype == torch.complex128 else torch.float32
    x = torch.tensor(rng.uniform(0, np.pi, (batch, n)), dtype=real)
    w0 = rng.uniform(0, 2 * np.pi, (layers, n, 2))
    obs = [hqml.Z(i) for i in range(n)]

    def run() -> tuple[np.ndarray, np.ndarray]:
        w = torch.tensor(w0, dtype=real, requires_grad=True)
        e = hqml.expval(w1_circuit(n, layers), obs, inputs={"x": x}, weights={"w": w},
                        dtype=dtype, diff_method="adjoint")  # fmt: skip
        (e**2).sum(-1).mean().backward()
        return e.detach().double().numpy(), w.grad.double().numpy()

    calls = []
    kernels = ("apply_layer", "apply_layer_permuted", "adjoint_layer", "gather")
    for module, name in [(native, k) for k in kernels] + [(interpreter, "kernel_forward")]:
        real_fn = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, f=real_fn, **k: calls.append(1) or f(*a, **k))
    compiled = run()
    assert calls, "no compiled kernel ran"
    monkeypatch.setenv("HQML_NATIVE", "0")
    calls.clear()
    reference = run()
    assert not calls, "the torch path ran a compiled kernel"
    tol = TOL[dtype] * (50 if dtype == torch.complex64 else 1e3)
    np.testing.assert_allclose(compiled[0], reference[0], atol=tol)
    np.testing.assert_allclose(compiled[1], reference[1], atol=tol * n)


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
def test_trajectory_kernel_matches_the_torch_path(use, dtype, monkeypatch):
    """Noisy trajectories through each build's kernel: the rows of the torch path from the same
    draws (one-wire operators, two-wire gates across vectors and inside one, rows shorter
    than a vector, depolarising + amplitude damping after every gate)."""
    from hqml.backends import trajectories
    from hqml.backends.base import Expval, Task
    from hqml.circuit.params import bind_parameters
    from hqml.noise import NoiseModel, amplitude_damping, depolarizing

    nm = NoiseModel().add_channel(depolarizing(0.1), each_wire=True)
    nm.add_channel(amplitude_damping(0.3), each_wire=True)
    rng = np.random.default_rng(2)
    for n in (2, 4, 7):
        c = w1_circuit(n, 2)
        x = torch.tensor(rng.uniform(0, 3, (2, n)), dtype=dtype.to_real())
        w = torch.tensor(rng.uniform(0, 6, (2, n, 2)), dtype=dtype.to_real())
        b = bind_parameters(c, {"x": x}, {"w": w}, None, None)
        task = Task(c, b.theta, Expval((hqml.Z(0),)), dtype, varying=b.varying,
                    options={"noise_model": nm})  # fmt: skip
        with torch.no_grad(), monkeypatch.context() as m:
            got = trajectories.trajectory_states(task, 20, torch.Generator().manual_seed(n))
            m.setattr(trajectories, "native_kernel_runs", lambda task: False)
            ref = trajectories.trajectory_states(task, 20, torch.Generator().manual_seed(n))
        torch.testing.assert_close(got, ref, atol=TOL[dtype], rtol=0)
