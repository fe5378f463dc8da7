"""The compiled trajectory kernel: the same rows as the torch path from the same draws, means
that converge to dense density-matrix algebra, and the torch path wherever it cannot run."""

import numpy as np
import pytest
import torch

import hqml
from hqml.backends import trajectories, trajectory_kernel
from hqml.backends.base import Expval, Task
from hqml.circuit.params import bind_parameters
from hqml.noise import (
    NoiseModel,
    amplitude_damping,
    depolarizing,
    phase_damping,
    thermal_relaxation,
)
from hqml.sim import measure, native
from hqml.sim.native.trajectories import run_trajectories

pytestmark = pytest.mark.skipif(not native.available(), reason="native kernels not built")


def w1_circuit(n: int, layers: int) -> hqml.Circuit:
    """The W1 ansatz: RY(x) per wire, then per layer RY, RZ per wire and a CNOT ring."""
    c = hqml.Circuit(n)
    x, w = c.input("x", n), c.weight("w", layers * n * 2)
    for i in range(n):
        c.ry(x[i], i)
    for layer in range(layers):
        for i in range(n):
            c.ry(w[2 * (layer * n + i)], i).rz(w[2 * (layer * n + i) + 1], i)
        for i in range(n):
            c.cnot(i, (i + 1) % n)
    return c


def w6_noise() -> NoiseModel:
    nm = NoiseModel().add_channel(depolarizing(0.05), each_wire=True)
    return nm.add_channel(amplitude_damping(0.2), each_wire=True)


def make_task(c, nm, batch, dtype, seed=0):
    rng = np.random.default_rng(seed)
    real = torch.float32 if dtype == torch.complex64 else torch.float64
    x = torch.tensor(rng.uniform(0, 3, (batch, c.n_qubits)), dtype=real)
    w = torch.tensor(rng.uniform(0, 6, len(c.weights["w"])), dtype=real)
    b = bind_parameters(c, {"x": x}, {"w": w}, None, None)
    words = tuple(hqml.Z(i) for i in range(c.n_qubits))
    return Task(c, b.theta, Expval(words), dtype, varying=b.varying,
                options={"noise_model": nm})  # fmt: skip


def both_paths(task, t, monkeypatch, seed=5):
    calls = []
    real = trajectory_kernel.states
    monkeypatch.setattr(trajectory_kernel, "states", lambda *a: calls.append(1) or real(*a))
    with torch.no_grad():
        got = trajectories.trajectory_states(task, t, torch.Generator().manual_seed(seed))
        assert calls == [1]
        monkeypatch.setattr(trajectories, "native_kernel_runs", lambda task: False)
        ref = trajectories.trajectory_states(task, t, torch.Generator().manual_seed(seed))
    assert calls == [1]
    return got, ref


@pytest.mark.parametrize(
    ("n", "batch", "dtype"),
    [
        (1, 1, torch.complex64),  # shorter than a vector: the scalar path
        (2, 2, torch.complex128),
        (3, 1, torch.complex64),  # in-vector wires (complex64 vectors hold up to 8 numbers)
        (5, 3, torch.complex64),  # in-vector and across wires
        (8, 2, torch.complex128),
    ],
)
def test_rows_equal_the_torch_path_from_the_same_draws(n, batch, dtype, monkeypatch):
    monkeypatch.delenv("HQML_NATIVE", raising=False)
    monkeypatch.setenv("HQML_NATIVE_CALIBRATE", "0")
    c = w1_circuit(n, 2) if n > 1 else hqml.Circuit(1).ry(0.4, 0).rx(1.1, 0).ry(2.0, 0)
    if n == 1:
        c.input("x", 1)
        c.weight("w", 2)
    task = make_task(c, w6_noise(), batch, dtype)
    t = 40
    got, ref = both_paths(task, t, monkeypatch)
    assert got.shape == ref.shape == (batch * t, 2**n) and got.dtype == dtype
    tol = 2e-6 if dtype == torch.complex64 else 1e-12
    torch.testing.assert_close(got, ref, atol=tol, rtol=0)
    # the noise drew different operators for different rows (not all the same trajectory)
    assert (got[:t] - got[:1]).abs().amax(1).gt(1e-3).any()


def test_general_channels_and_wire_orders_equal_the_torch_path(monkeypatch):
    """Channels that are not mixtures with more Kraus operators (thermal relaxation; amplitude
    damping x phase damping, a two-qubit channel with 4), two-qubit gates in both wire orders
    and not neighbours, a diagonal gate and permutations: the same rows."""
    monkeypatch.setenv("HQML_NATIVE_CALIBRATE", "0")
    c = hqml.Circuit(6)
    x = c.input("x", 6)
    c.weight("w", 1)
    for i in range(6):
        c.ry(x[i], i)
    c.cnot(4, 1).cz(0, 5).h(3).swap(2, 3).crx(x[0], 5, 2).cnot(1, 4).rz(x[2], 0).cy(3, 0)
    nm = NoiseModel().add_channel(thermal_relaxation(20.0, 15.0, 2.0), gates=["ry", "h"])
    pair = amplitude_damping(0.3).tensor(phase_damping(0.4))
    assert len(pair.kraus) == 4
    nm.add_channel(pair, gates=["cz", "crx", "swap"])
    nm.add_channel(amplitude_damping(0.3), gates=["cnot", "cy", "rz"], each_wire=True)
    task = make_task(c, nm, 2, torch.complex128, seed=3)
    got, ref = both_paths(task, 30, monkeypatch)
    torch.testing.assert_close(got, ref, atol=1e-12, rtol=0)


def _dense_reference(c, nm, theta):
    """<Z_i> of the noisy circuit by plain density-matrix algebra (one sample)."""
    from hqml.backends.density_matrix import dense_matrix
    from hqml.backends.instructions import build_program

    n = c.n_qubits
    rho = np.zeros((2**n, 2**n), dtype=complex)
    rho[0, 0] = 1

    def full(m, wires):  # m on wires (first most significant) of n as a 2^n matrix
        k = len(wires)
        rest = [q for q in range(n) if q not in wires]
        big = np.kron(m, np.eye(2 ** (n - k))).reshape((2,) * (2 * n))
        order = list(wires) + rest
        perm = [order.index(q) for q in range(n)]
        return big.transpose(perm + [n + p for p in perm]).reshape(2**n, 2**n)

    program = build_program(c, theta, torch.complex128)
    for op, ins in zip(c.ops, program, strict=True):
        m = dense_matrix(ins, torch.complex128, "cpu").numpy().reshape(2 ** len(ins.wires), -1)
        u = full(m, ins.wires)
        rho = u @ rho @ u.conj().T
        for channel, wires in nm.channels_for(op.gate.name, op.wires):
            ks = [full(k, wires) for k in channel.kraus]
            rho = sum(k @ rho @ k.conj().T for k in ks)
    z = [full(np.diag([1.0, -1.0]), (i,)) for i in range(n)]
    return np.array([np.trace(zi @ rho).real for zi in z])


def test_means_converge_to_dense_density_matrix_algebra():
    n, t = 4, 3000
    c = w1_circuit(n, 2)
    nm = w6_noise()
    task = make_task(c, nm, 1, torch.complex128, seed=1)
    exact = _dense_reference(c, nm, task.theta)
    with torch.no_grad():
        states = trajectories.trajectory_states(task, t, torch.Generator().manual_seed(2))
    per = measure.expval_words(states, n, [((i, "Z"),) for i in range(n)])
    se = per.std(0) / t**0.5
    assert ((per.mean(0) - torch.tensor(exact)).abs() <= 4 * se + 1e-12).all(), (
        per.mean(0), exact, se)  # fmt: skip
    assert se.max() < 0.03


def test_the_torch_path_runs_where_the_kernel_does_not(monkeypatch):
    """No library, HQML_NATIVE=0, a calibration verdict against it, a three-qubit gate,
    gradients: the torch path."""
    monkeypatch.setenv("HQML_NATIVE_CALIBRATE", "0")
    calls = []
    monkeypatch.setattr(trajectory_kernel, "states", lambda *a: calls.append(1) / 0)
    c = w1_circuit(3, 1)
    task = make_task(c, w6_noise(), 1, torch.complex128)

    def run(tk):
        with torch.no_grad():
            return trajectories.trajectory_states(tk, 5, torch.Generator().manual_seed(1))

    monkeypatch.setenv("HQML_NATIVE", "0")
    run(task)
    monkeypatch.setenv("HQML_NATIVE", "1")
    with monkeypatch.context() as m:
        m.setattr(native, "_load", lambda: None)
        run(task)
    with monkeypatch.context() as m:
        m.setattr(native, "beats_torch", lambda kind, dtype: kind != "trajectories")
        run(task)
    toffoli = hqml.Circuit(3).ry(0.3, 0).ccx(0, 1, 2)
    toffoli.input("x", 3)
    toffoli.weight("w", 1)
    run(make_task(toffoli, w6_noise(), 1, torch.complex128))
    assert calls == []
    # under autograd: the torch path, which differentiates
    rng = np.random.default_rng(0)
    w = torch.tensor(rng.uniform(0, 6, 6), requires_grad=True)
    x = torch.tensor(rng.uniform(0, 3, (1, 3)))
    be = hqml.get_backend("statevector", trajectories=8)
    e = hqml.expval(c, [hqml.Z(0)], inputs={"x": x}, weights={"w": w}, backend=be,
                    noise_model=w6_noise(), seed=3)  # fmt: skip
    e.sum().backward()
    assert w.grad is not None and calls == []


def test_the_kernel_refuses_a_bad_program():
    ops = torch.tensor([[3, 0, 1, 0, 0, 0, 0, 0]])  # a gate on three wires
    with pytest.raises(ValueError, match="refused"):
        run_trajectories(1, 2, torch.complex64, 1, ops, torch.zeros(0, 4, dtype=torch.int64),
                         torch.eye(2, dtype=torch.complex128).reshape(-1),
                         torch.zeros(1, dtype=torch.float64), torch.zeros(0, 1))  # fmt: skip


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
def test_single_z_observables_keep_no_state_and_equal_the_torch_path(dtype, monkeypatch):
    """Expectation values of one-wire Z observables come straight from the kernel (no state
    kept), equal to the torch path's from the same seed, chunks included."""
    monkeypatch.setenv("HQML_NATIVE_CALIBRATE", "0")
    monkeypatch.setattr(trajectories, "CHUNK_AMPLITUDES", 2 * 32 * 30)  # 30 per chunk
    n = 5
    c = w1_circuit(n, 2)
    rng = np.random.default_rng(8)
    real = dtype.to_real()
    x = torch.tensor(rng.uniform(0, 3, (2, n)), dtype=real)
    w = torch.tensor(rng.uniform(0, 6, 4 * n), dtype=real)
    obs = [hqml.Z(3), hqml.Z(0), hqml.Z(4)]
    be = hqml.get_backend("statevector", trajectories=70)
    kw = dict(inputs={"x": x}, weights={"w": w}, backend=be, noise_model=w6_noise(), seed=4)
    calls = []
    real_states = trajectory_kernel.states
    monkeypatch.setattr(
        trajectory_kernel, "states", lambda *a: calls.append(a[-1]) or real_states(*a)
    )
    with torch.no_grad():
        got = hqml.expval(c, obs, **kw)
        assert calls == [True, True, True]  # 30 + 30 + 10 trajectories, Z values only
        monkeypatch.setattr(trajectories, "native_kernel_runs", lambda task: False)
        ref = hqml.expval(c, obs, **kw)
    assert got.shape == ref.shape == (2, 3) and got.dtype == ref.dtype == real
    torch.testing.assert_close(got, ref, atol=2e-6 if dtype == torch.complex64 else 1e-12, rtol=0)
