"""Dynamic circuits simulated exactly (density matrix, branch enumeration, deferred measurement)
and by shots, against an exact reference built on qiskit.quantum_info and against Qiskit Aer."""

import math

import numpy as np
import pytest
import torch

import hqml
from hqml.backends.base import Expval, Probs, Task
from hqml.backends.statevector.dynamic import deferred_task, execute_dynamic
from hqml.circuit.params import bind_parameters

pytest.importorskip("qiskit_aer")
from dynamic_helpers import (  # noqa: E402
    aer_counts,
    build,
    exact_counts_probs,
    exact_probs,
    random_spec,
    within,
)

C128 = torch.complex128
SHOTS = 20_000


def enumerated(c, measurement, weights=None):
    """The statevector's branch enumeration, bypassing the deferred-measurement rewrite."""
    b = bind_parameters(c, None, weights, torch.float64, None)
    return execute_dynamic(Task(c, b.theta, measurement, C128))[0]


def teleportation(theta: float, phi: float):
    return build(3, 2, [
        ("ry", theta, 0), ("rz", phi, 0),
        ("h", 1), ("cx", 1, 2), ("cx", 0, 1), ("h", 0),
        ("measure", 0, 0), ("measure", 1, 1),
        ("if", 1, 1, [("x", 2)]), ("if", 0, 1, [("z", 2)]),
    ])  # fmt: skip


def repeat_until_success():
    # two tries at flipping the target through a coin-flip ancilla, the second only when the
    # first failed; the ancilla is reset and reused: P(target = 1) = 1/2 + 1/4
    return build(2, 2, [
        ("h", 0), ("cx", 0, 1), ("measure", 0, 0), ("reset", 0),
        ("if", "c", 0, [("h", 0), ("cx", 0, 1)]), ("measure", 0, 1),
    ])  # fmt: skip


def bit_flip_round(theta: float, eps: float):
    # encode ry(theta)|0> into q0..q2, a coherent error on q1, syndrome on q3, q4, correction
    return build(5, 2, [
        ("ry", theta, 0), ("cx", 0, 1), ("cx", 0, 2), ("rx", eps, 1),
        ("cx", 0, 3), ("cx", 1, 3), ("cx", 1, 4), ("cx", 2, 4),
        ("measure", 3, 0), ("measure", 4, 1),
        ("if", "c", 1, [("x", 0)]), ("if", "c", 3, [("x", 1)]), ("if", "c", 2, [("x", 2)]),
    ])  # fmt: skip


def test_teleportation_moves_the_state_exactly():
    theta, phi = 1.1, 0.7
    c, qc = teleportation(theta, phi)
    bloch = [math.sin(theta) * math.cos(phi), math.sin(theta) * math.sin(phi), math.cos(theta)]
    obs = [hqml.X(2), hqml.Y(2), hqml.Z(2)]
    assert not isinstance(deferred_task(_task(c, Expval(tuple(obs)))), str)  # the fast path
    for backend in ("statevector", "density_matrix"):
        got = hqml.expval(c, obs, backend=backend, dtype=C128).numpy()
        assert np.allclose(got, bloch, atol=1e-10), backend
    assert np.allclose(enumerated(c, Expval(tuple(obs))).numpy(), bloch, atol=1e-10)
    assert np.allclose(hqml.probs(c, dtype=C128).numpy(), exact_probs(qc), atol=1e-10)


def _task(c, m):
    b = bind_parameters(c, None, None, torch.float64, None)
    return Task(c, b.theta, m, C128)


def test_repeat_until_success_exact_and_sampled():
    c, qc = repeat_until_success()
    ref = exact_probs(qc)
    for backend in ("statevector", "density_matrix"):
        p = hqml.probs(c, backend=backend, dtype=C128).numpy()
        assert np.allclose(p, ref, atol=1e-10)
    assert abs(float(hqml.probs(c, [1], dtype=C128)[1]) - 0.75) < 1e-12
    record = exact_counts_probs(qc)
    within(hqml.counts(c, SHOTS, seed=11), record, SHOTS)
    within(hqml.counts(c, SHOTS, seed=12, backend="density_matrix"), record, SHOTS)
    within(aer_counts(qc, SHOTS, 13), record, SHOTS)


def test_bit_flip_code_round_corrects_the_error():
    theta, eps = 0.9, 0.6
    c, qc = bit_flip_round(theta, eps)
    expected = np.zeros(8)
    expected[0], expected[7] = math.cos(theta / 2) ** 2, math.sin(theta / 2) ** 2
    wires = [0, 1, 2]
    assert not isinstance(deferred_task(_task(c, Probs(tuple(wires)))), str)
    deferred = hqml.probs(c, wires, dtype=C128).numpy()
    assert np.allclose(deferred, expected, atol=1e-10)
    assert np.allclose(enumerated(c, Probs(tuple(wires))).numpy(), expected, atol=1e-10)
    assert np.allclose(hqml.probs(c, wires, backend="density_matrix", dtype=C128).numpy(),
                       expected, atol=1e-10)  # fmt: skip
    assert np.allclose(hqml.probs(c, dtype=C128).numpy(), exact_probs(qc), atol=1e-10)
    record = exact_counts_probs(qc)  # the syndrome: 00 or 11 (error on q1)
    assert abs(record["11"] - math.sin(eps / 2) ** 2) < 1e-12
    within(hqml.counts(c, SHOTS, seed=5), record, SHOTS)
    within(aer_counts(qc, SHOTS, 5), record, SHOTS)


@pytest.mark.parametrize("seed", range(12))
def test_random_dynamic_circuits_exact(seed):
    rng = np.random.default_rng(seed)
    n, m = 1 + seed % 3, 1 + seed % 2
    c, qc = build(n, m, random_spec(rng, n, m, 1 + seed % 3))
    ref = exact_probs(qc)
    for backend in ("statevector", "density_matrix"):
        got = hqml.probs(c, backend=backend, dtype=C128).numpy()
        assert np.allclose(got, ref, atol=1e-10), (backend, c.ops)
    assert np.allclose(enumerated(c, Probs(tuple(range(n)))).numpy(), ref, atol=1e-10)
    obs = hqml.X(0) + 0.5 * hqml.Z(n - 1) + (0.25 * hqml.Y(0) @ hqml.Z(1) if n > 1 else 0)
    dm = hqml.expval(c, obs, backend="density_matrix", dtype=C128)
    assert abs(float(hqml.expval(c, obs, dtype=C128)) - float(dm)) < 1e-10


@pytest.mark.parametrize("seed", [3, 7, 10])
def test_random_dynamic_circuits_sampled(seed):
    rng = np.random.default_rng(100 + seed)
    n, m = 3, 2
    c, qc = build(n, m, random_spec(rng, n, m, 3))
    record = exact_counts_probs(qc)
    within(hqml.counts(c, SHOTS, seed=seed), record, SHOTS)
    within(aer_counts(qc, SHOTS, seed), record, SHOTS)
    # the final readout with the record: joint frequencies against the exact joint law
    records = {}
    from dynamic_helpers import exact_records

    for key, rho in exact_records(qc).items():
        p = np.real(np.diag(rho)).reshape([2] * n).transpose([2, 1, 0]).reshape(-1)
        for i, v in enumerate(p):
            records[f"{key:02b} {i:03b}"] = v
    within(hqml.counts(c, SHOTS, [0, 1, 2], seed=seed), records, SHOTS)


def test_the_original_defect_measure_twice():
    c = hqml.Circuit(1)
    reg = c.creg("c", 2)
    c.h(0).measure(0, reg[0])
    c.h(0).measure(0, reg[1])
    quarter = {k: 0.25 for k in ("00", "01", "10", "11")}
    for backend in ("statevector", "density_matrix"):
        within(hqml.counts(c, 4000, seed=1, backend=backend), quarter, 4000)


def test_sample_layout_seed_and_batches():
    c = hqml.Circuit(2)
    x = c.input("x")
    a, b = c.creg("a", 1), c.creg("b", 2)
    c.ry(x, 0).measure(0, b[1])
    c.x(1).measure(1, a[0])
    s = hqml.sample(c, 50, inputs={"x": torch.tensor([0.0, math.pi])}, seed=3)
    assert s.shape == (2, 50, 3)  # columns: a[0], b[0], b[1]
    assert (s[0] == torch.tensor([1, 0, 0])).all() and (s[1] == torch.tensor([1, 0, 1])).all()
    s2 = hqml.sample(c, 50, [0, 1], inputs={"x": torch.tensor([0.0, math.pi])}, seed=3)
    assert s2.shape == (2, 50, 5) and (s2[1, :, 3:] == torch.tensor([1, 1])).all()
    assert hqml.counts(c, 10, inputs={"x": math.pi}) == {"10 1": 10}  # b then a, as Qiskit
    c2, _ = repeat_until_success()
    one = hqml.sample(c2, 300, seed=9)
    assert torch.equal(one, hqml.sample(c2, 300, seed=9))
    assert not torch.equal(one, hqml.sample(c2, 300, seed=10))


def test_expval_with_shots_within_standard_errors():
    c, qc = repeat_until_success()
    exact = float(hqml.expval(c, hqml.Z(1), dtype=C128))
    assert abs(exact - (0.25 - 0.75)) < 1e-12
    est = float(hqml.expval(c, hqml.Z(1), shots=SHOTS, seed=2))
    assert abs(est - exact) < 4 * math.sqrt((1 - exact**2) / SHOTS)
    p = hqml.probs(c, [1], shots=SHOTS, seed=4).numpy()
    assert abs(p[1] - 0.75) < 4 * math.sqrt(0.75 * 0.25 / SHOTS)


def _param_circuit(reuse: bool):
    c = hqml.Circuit(3)
    w = c.weight("w", 4)
    c.ry(w[0], 0).ry(w[1], 1).cx(0, 1)
    m = c.measure(0)
    c.cond(m == 1, lambda: c.rx(w[2] * 2, 2).cry(w[3], 1, 2))
    if reuse:
        c.h(0).cx(0, 2)
    return c


@pytest.mark.parametrize("backend", ["statevector", "density_matrix"])
@pytest.mark.parametrize("reuse", [False, True])
def test_parameter_shift_equals_finite_differences(backend, reuse):
    c = _param_circuit(reuse)
    obs = hqml.Z(2) + 0.3 * hqml.X(0) @ hqml.Z(1)
    grads = {}
    for method in ("parameter-shift", "finite-diff"):
        w = torch.tensor([0.3, 0.8, -0.4, 1.2], dtype=torch.float64, requires_grad=True)
        hqml.expval(c, obs, weights={"w": w}, backend=backend, diff_method=method).backward()
        grads[method] = w.grad
    assert grads["parameter-shift"].abs().max() > 1e-2
    assert torch.allclose(grads["parameter-shift"], grads["finite-diff"], atol=1e-6)


def test_adjoint_and_backprop_through_the_deferred_rewrite():
    c = _param_circuit(False)
    obs = hqml.Z(2) + 0.3 * hqml.X(0) @ hqml.Z(1) + 0.2 * hqml.Z(0)
    grads = {}
    for backend, method in (
        ("statevector", "adjoint"),
        ("statevector", "backprop"),
        ("density_matrix", "backprop"),
        ("statevector", "parameter-shift"),
    ):
        w = torch.tensor([0.3, 0.8, -0.4, 1.2], dtype=torch.float64, requires_grad=True)
        hqml.expval(c, obs, weights={"w": w}, backend=backend, diff_method=method).backward()
        grads[backend, method] = w.grad
    ref = grads["statevector", "parameter-shift"]
    for key, g in grads.items():
        assert torch.allclose(g, ref, atol=1e-10), key


def test_adjoint_refused_where_the_circuit_is_not_unitary():
    c = _param_circuit(True)
    w = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    for method in ("adjoint", "backprop"):
        with pytest.raises(ValueError, match="parameter-shift") as e:
            hqml.expval(c, hqml.Z(2), weights={"w": w}, diff_method=method)
        assert "\n" not in str(e.value)
    hqml.expval(c, hqml.Z(2), weights={"w": w}).backward()  # "best" picks parameter-shift
    assert w.grad is not None


def test_branch_enumeration_is_priced():
    c = hqml.Circuit(2)
    for _ in range(14):
        c.h(0).measure(0)
    with pytest.raises(ValueError, match="density_matrix"):
        hqml.probs(c)
    assert abs(float(hqml.probs(c, backend="density_matrix")[0]) - 0.5) < 1e-6


def test_readout_and_reset_errors_on_the_density_matrix():
    from hqml.noise import NoiseModel, ReadoutError, bit_flip

    c = hqml.Circuit(2)
    m = c.measure(0)  # |0>, misread as 1 with probability 0.1
    c.cond(m == 1, lambda: c.x(1))
    nm = NoiseModel().add_readout_error(ReadoutError.from_flips(0.1, 0.0), wires=0)
    p = hqml.probs(c, [1], backend="density_matrix", noise_model=nm, dtype=C128)
    assert np.allclose(p.numpy(), [0.9, 0.1], atol=1e-12)
    r = hqml.Circuit(1).x(0)
    r.reset(0)
    nm = NoiseModel().add_channel(bit_flip(0.2), gates="reset")
    p = hqml.probs(r, backend="density_matrix", noise_model=nm, dtype=C128)
    assert np.allclose(p.numpy(), [0.8, 0.2], atol=1e-12)


def test_density_records_are_priced_before_allocating():
    c = hqml.Circuit(12)
    x = c.input("x")
    c.ry(x, 0)
    m = c.measure(0)
    c.cond(m == 1, lambda: c.x(1))
    with pytest.raises(ValueError, match="classical records") as e:
        hqml.probs(c, [1], inputs={"x": torch.zeros(8)}, backend="density_matrix")
    assert "\n" not in str(e.value)


def test_sample_without_classical_bits_reads_every_wire():
    c = hqml.Circuit(2).x(0).x(1)
    c.reset(0)
    assert c.is_dynamic and not c.cregs
    assert hqml.counts(c, 20, seed=0) == {"01": 20}


def test_channels_named_for_measure_are_refused_not_ignored():
    from hqml.noise import NoiseModel, bit_flip

    c = hqml.Circuit(1)
    c.measure(0)
    nm = NoiseModel().add_channel(bit_flip(0.1), gates="measure")
    with pytest.raises(ValueError, match="add_readout_error"):
        hqml.probs(c, backend="density_matrix", noise_model=nm)


def test_batched_inputs_and_their_gradients_agree_across_backends():
    c = hqml.Circuit(3)
    x, w = c.input("x", 2), c.weight("w", 2)
    c.ry(x[0], 0).rx(w[0], 1).cx(0, 1)
    m = c.measure(0)
    c.cond(m == 1, lambda: c.ry(x[1] * w[1], 2))
    c.h(0).reset(1)
    m2 = c.measure(0)
    c.cond(m2 == 0, lambda: c.cx(2, 1))  # wire 0 reused, a reset: branch enumeration
    X = torch.linspace(0.1, 2.9, 10, dtype=torch.float64).reshape(5, 2)
    obs = [hqml.Z(2), hqml.X(2) @ hqml.Z(1), hqml.Y(0)]
    grads = []
    for backend in ("statevector", "density_matrix"):
        xg = X.clone().requires_grad_()
        wg = torch.tensor([0.3, 1.2], dtype=torch.float64, requires_grad=True)
        v = hqml.expval(c, obs, inputs={"x": xg}, weights={"w": wg}, backend=backend)
        v[:, 0].sum().backward()
        grads.append((v.detach(), xg.grad, wg.grad))
    for a, b in zip(*grads, strict=True):
        assert a.abs().max() > 1e-3 and torch.allclose(a, b, atol=1e-10)
