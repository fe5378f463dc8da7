"""The density-matrix backend against a dense superoperator computation, and its gradients."""

import numpy as np
import pytest
import torch
from helpers import random_circuit

import hqml
from hqml.backends import base
from hqml.backends.base import Expval, Task
from hqml.circuit.observables import PauliSum
from hqml.noise import (
    NoiseModel,
    ReadoutError,
    amplitude_damping,
    depolarizing,
    pauli_channel,
    phase_damping,
    thermal_relaxation,
)
from hqml.testing import embed_matrix, gate_matrix, op_params, symbol_values


def dense_superop(matrix, wires, n):
    big = embed_matrix(matrix, wires, n)
    return np.kron(big, big.conj())  # acts on row-major vec(rho)


def reference_density(circuit, noise_model, inputs, weights):
    """Noisy final state by multiplying 4^n x 4^n superoperators (written independently)."""
    n = circuit.n_qubits
    values = symbol_values(circuit, inputs, weights)
    total = np.eye(4**n, dtype=complex)
    for op in circuit.ops:
        total = dense_superop(gate_matrix(op.gate, op_params(op, values)), op.wires, n) @ total
        for channel, wires in noise_model.channels_for(op.gate.name, op.wires):
            s = sum(dense_superop(k, wires, n) for k in channel.kraus)
            total = s @ total
    rho0 = np.zeros(4**n, dtype=complex)
    rho0[0] = 1
    return (total @ rho0).reshape(2**n, 2**n)


def noise_model():
    return (
        NoiseModel()
        .add_channel(depolarizing(0.05))
        .add_channel(thermal_relaxation(40.0, 30.0, 3.0), gates=["rx", "ry", "u", "h"])
        .add_channel(depolarizing(0.08, 2))
        .add_channel(amplitude_damping(0.1), gates=["cx", "cz", "swap", "ccx"], each_wire=True)
        .add_channel(pauli_channel({"XZ": 0.05, "ZZ": 0.03}), gates=["cry", "rzz"], wires=[1, 0])
        .add_channel(phase_damping(0.2), gates=["unitary", "p", "rz"], each_wire=True)
        .add_readout_error(ReadoutError.from_flips(0.03, 0.08))
        .add_readout_error(ReadoutError.from_flips(0.1, 0.0), wires=[1])
    )


@pytest.mark.parametrize("seed", range(8))
def test_random_noisy_circuits_match_dense_superoperators(seed):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(2, 4))
    c = random_circuit(rng, n, int(rng.integers(4, 14)))
    nm = noise_model()
    x = torch.tensor(rng.uniform(-2, 2, (2, 3)))
    w = torch.tensor(rng.uniform(-2, 2, 4))
    kw = dict(inputs={"x": x}, weights={"w": w}, backend="density_matrix", noise_model=nm)
    rho = hqml.state(c, **kw)
    assert rho.shape == (2, 2**n, 2**n) and rho.dtype == torch.complex128
    labels = ["".join(rng.choice(list("IXYZ"), n)) for _ in range(3)] + ["Z" * n]
    obs = [PauliSum.from_list([(lb, 1.0)]) for lb in labels]
    ev = hqml.expval(c, obs + [PauliSum.from_list([(labels[0], 0.5), (labels[1], -2.0)])], **kw)
    pr = hqml.probs(c, wires=[1, 0], **kw)
    conf = np.kron(nm.confusions([1])[0], nm.confusions([0])[0])
    for b in range(2):
        ref = reference_density(c, nm, {"x": x[b]}, {"w": w})
        np.testing.assert_allclose(rho[b].numpy(), ref, atol=1e-12)
        for k, lb in enumerate(labels):
            # readout errors on a measured word: each factor P_q -> f0 (1 + P)/2 + f1 (1 - P)/2
            mat = np.eye(1)
            for q, ch in enumerate(lb):
                a = nm.confusions([q])[0]
                f0, f1 = a[0, 0] - a[1, 0], a[0, 1] - a[1, 1]  # E[(-1)^read | true 0 / 1]
                p = PauliSum.from_list([(ch, 1)]).to_matrix(1) if ch != "I" else np.eye(2)
                proj0, proj1 = (np.eye(2) + p) / 2, (np.eye(2) - p) / 2
                mat = np.kron(mat, np.eye(2) if ch == "I" else f0 * proj0 + f1 * proj1)
            want = np.trace(ref @ mat).real
            np.testing.assert_allclose(ev[b, k].item(), want, atol=1e-12)
        np.testing.assert_allclose(
            ev[b, -1].item(), 0.5 * ev[b, 0].item() - 2 * ev[b, 1].item(), atol=1e-12
        )
        full = np.real(np.diag(ref)).reshape((2,) * n)
        marg = full.sum(axis=tuple(range(2, n))).T.reshape(-1)  # order (wire 1, wire 0)
        np.testing.assert_allclose(pr[b].numpy(), conf @ marg, atol=1e-12)


def test_noiseless_density_matches_statevector(rng):
    c = random_circuit(rng, 3, 15)
    x, w = torch.rand(4, 3), torch.rand(4)
    obs = [hqml.Z(0) @ hqml.X(2), hqml.Y(1)]
    a = hqml.expval(c, obs, inputs={"x": x}, weights={"w": w}, backend="density_matrix")
    b = hqml.expval(c, obs, inputs={"x": x}, weights={"w": w})
    torch.testing.assert_close(a, b, atol=1e-5, rtol=0)
    psi = hqml.state(c, inputs={"x": x}, weights={"w": w}, dtype=torch.complex128)
    rho = hqml.state(
        c, inputs={"x": x}, weights={"w": w}, backend="density_matrix", dtype=torch.complex128
    )
    torch.testing.assert_close(rho, psi[:, :, None] * psi[:, None, :].conj())


@pytest.mark.parametrize("method", ["parameter-shift", "finite-diff"])
def test_backprop_gradients_agree_with_shift_rules(method):
    c = hqml.Circuit(3)
    x = c.input("x", 3)
    w = c.weight("w", (2, 3))
    for i in range(3):
        c.ry(x[i], i)
    for layer in range(2):
        for i in range(3):
            c.rx(w[layer, i] * 0.5 + x[i], i)
        c.cnot(0, 1).cnot(1, 2)
    nm = NoiseModel.from_device(
        0.01, 0.03, t1=50.0, t2=40.0, time_1q=0.5, time_2q=2.0, readout_error=0.05
    )
    xs = torch.rand(3, 3, dtype=torch.float64)
    obs = [hqml.Z(0) @ hqml.Z(2), hqml.X(1)]
    grads = {}
    for dm in ("backprop", method):
        w0 = torch.linspace(-1, 1, 6, dtype=torch.float64).reshape(2, 3).requires_grad_()
        v = hqml.expval(
            c,
            obs,
            inputs={"x": xs},
            weights={"w": w0},
            backend="density_matrix",
            diff_method=dm,
            noise_model=nm,
        )
        (v * torch.tensor([1.0, -0.5], dtype=torch.float64)).sum().backward()
        grads[dm] = w0.grad
    tol = 1e-10 if method == "parameter-shift" else 1e-5
    torch.testing.assert_close(grads["backprop"], grads[method], atol=tol, rtol=0)
    assert grads["backprop"].abs().max() > 1e-3


def test_sampling_matches_probabilities():
    c = hqml.Circuit(2).h(0).cnot(0, 1).ry(0.4, 1)
    nm = (
        NoiseModel()
        .add_channel(depolarizing(0.1))
        .add_readout_error(ReadoutError.from_flips(0.05, 0.1))
    )
    p = hqml.probs(c, backend="density_matrix", noise_model=nm, dtype=torch.complex128)
    f = hqml.probs(c, backend="density_matrix", noise_model=nm, shots=40000, seed=3)
    assert (p - f.double()).abs().max() < 0.01
    bits = hqml.sample(c, 10, backend="density_matrix", noise_model=nm, seed=1)
    assert bits.shape == (10, 2)
    ev = hqml.expval(
        c,
        [hqml.Z(0) @ hqml.Z(1), hqml.X(1)],
        backend="density_matrix",
        noise_model=nm,
        dtype=torch.complex128,
    )
    es = hqml.expval(
        c,
        [hqml.Z(0) @ hqml.Z(1), hqml.X(1)],
        backend="density_matrix",
        noise_model=nm,
        shots=40000,
        seed=5,
        dtype=torch.complex128,
    )
    assert (ev - es).abs().max() < 0.02


def test_adjoint_is_refused_with_a_clear_error():
    c = hqml.Circuit(1)
    a = c.weight("a")
    c.rx(a, 0)
    assert hqml.get_backend("density_matrix").capabilities.supports_noise
    with pytest.raises(ValueError, match="does not support diff_method 'adjoint'"):
        hqml.expval(
            c,
            hqml.Z(0),
            weights={"a": torch.tensor(0.2, requires_grad=True)},
            backend="density_matrix",
            diff_method="adjoint",
        )


def test_noise_aware_training_finds_the_noisy_optimum():
    # <Z> after RX(w) then amplitude damping g is g + (1 - g) cos(w); asking for <Z> = 0 needs
    # cos(w) = -g / (1 - g), not the noiseless w = pi/2
    g = 0.3
    c = hqml.Circuit(1)
    a = c.weight("a")
    c.rx(a, 0)
    nm = NoiseModel().add_channel(amplitude_damping(g), gates=["rx"])
    w = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w], lr=1.0)
    for _ in range(30):
        opt.zero_grad()
        z = hqml.expval(c, hqml.Z(0), weights={"a": w}, backend="density_matrix", noise_model=nm)
        (z**2).backward()
        opt.step()
    assert abs(np.cos(w.item()) + g / (1 - g)) < 1e-3


def test_shift_gradients_stack_rows_by_the_density_matrix_size(monkeypatch):
    """A density-matrix row holds 4^n amplitudes: the shift rule's row budget counts them, and
    a gradient evaluated one row per call equals the one evaluated in a single call."""
    c = hqml.Circuit(3)
    w = c.weight("w", 3)
    for i in range(3):
        c.ry(w[i], i)
    c.cnot(0, 1).cnot(1, 2)
    task = Task(c, torch.zeros(1, 3), Expval((hqml.Z(2),)))
    dm, sv = hqml.get_backend("density_matrix"), hqml.get_backend("statevector")
    assert dm.rows_per_call(task) == base.MAX_STACKED_AMPLITUDES // 4**3
    assert sv.rows_per_call(task) == base.MAX_STACKED_AMPLITUDES // 2**3
    noise = NoiseModel().add_channel(depolarizing(0.05), "ry")

    def grad():
        wt = torch.tensor([0.3, -0.7, 1.1], dtype=torch.float64, requires_grad=True)
        out = hqml.expval(c, [hqml.Z(2)], weights={"w": wt}, backend="density_matrix",
                          noise_model=noise, diff_method="parameter-shift")  # fmt: skip
        return torch.autograd.grad(out.sum(), wt)[0]

    whole = grad()
    monkeypatch.setattr(base, "MAX_STACKED_AMPLITUDES", 4**3)  # one row per call
    assert dm.rows_per_call(task) == 1
    torch.testing.assert_close(grad(), whole, atol=1e-12, rtol=0)


def test_noisy_ansatz_gradient_matches_central_differences():
    """The adjoint sweep of the density-matrix backend (W6's circuit: depolarising + amplitude
    damping after every gate on each wire, batched inputs) against central differences."""
    n = 3
    c = hqml.Circuit(n)
    x, w = c.input("x", n), c.weight("w", (2, n, 2))
    for i in range(n):
        c.ry(x[i], i)
    for layer in range(2):
        for i in range(n):
            c.ry(w[layer, i, 0], i).rz(w[layer, i, 1], i)
        for i in range(n):
            c.cnot(i, (i + 1) % n)
    nm = NoiseModel().add_channel(depolarizing(0.05), each_wire=True)
    nm.add_channel(amplitude_damping(0.1), each_wire=True)
    xs = torch.tensor([[0.3, 1.1, 2.0], [2.5, 0.2, 1.4]], dtype=torch.float64)
    w0 = torch.linspace(-2, 3, 2 * n * 2, dtype=torch.float64).reshape(2, n, 2)

    def loss(wt):
        e = hqml.expval(c, [hqml.Z(i) for i in range(n)] + [hqml.X(0) @ hqml.Y(2)],
                        inputs={"x": xs}, weights={"w": wt}, backend="density_matrix",
                        noise_model=nm, dtype=torch.complex128)  # fmt: skip
        return (e**2).sum(-1).mean()

    wt = w0.clone().requires_grad_()
    loss(wt).backward()
    h, fd = 1e-5, torch.zeros_like(w0)
    for k in range(w0.numel()):
        step = torch.zeros(w0.numel(), dtype=torch.float64)
        step[k] = h
        step = step.reshape(w0.shape)
        fd.view(-1)[k] = (loss(w0 + step) - loss(w0 - step)) / (2 * h)
    torch.testing.assert_close(wt.grad, fd, atol=1e-8, rtol=0)
    assert wt.grad.abs().max() > 1e-2
