"""Runs of diagonal-generator gates (RZ, RZZ, P) applied as one phase (:class:`PhaseRun`):
values against the dense reference, adjoint and backprop gradients per theta column against the
same circuit gate by gate, and against finite differences of the dense reference."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

import hqml
from hqml import Circuit
from hqml.backends.base import Expval, Task
from hqml.backends.statevector import limits, torch_plan
from hqml.backends.statevector.plan import PhaseRun, get_plan
from hqml.backends.statevector.torch_plan import DENSE, LAYERED, NATIVE_LAYERS
from hqml.circuit.params import bind_parameters
from hqml.sim import native
from hqml.sim.measure import word_signs
from hqml.sim.zwords import ZBasis, levels, walsh
from hqml.testing import reference_state

N = 7
EDGES = [(0, 1), (1, 2), (2, 6), (3, 4), (0, 5), (4, 6), (1, 5)]


def _circuit() -> Circuit:
    c = Circuit(N)
    x = c.input("x", 2)
    w = c.weight("w", 4)
    for q in range(N):
        c.h(q)
    for layer in range(2):
        for a, b in EDGES:  # a shared weight on every edge, as in QAOA
            c.rzz(w[layer], a, b)
        c.rzz(x[layer], 3, 5)  # a per-sample angle
        c.rzz(w[2] * 0.5, 2, 5)
        c.rz(w[3], 3)  # single-qubit phases join the layer after the run
        c.p(w[2] * 0.5, 6)
        for q in range(N):
            c.rx(w[2 + layer] - x[0], q)
    return c


def _task(circuit: Circuit) -> tuple[Task, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    x, w = rng.uniform(-2, 2, (3, 2)), rng.uniform(-2, 2, 4)
    b = bind_parameters(circuit, {"x": torch.tensor(x)}, {"w": torch.tensor(w)})
    obs = (0.5 * hqml.Z(0) @ hqml.Z(1) + hqml.Z(2) @ hqml.Z(6), hqml.X(1) - 0.3 * hqml.Z(4))
    return Task(circuit, b.theta, Expval(obs), torch.complex128, varying=b.varying), x, w


def _engines() -> list:
    return [DENSE, LAYERED] + ([NATIVE_LAYERS] if native.available() else [])


def _energy(x: np.ndarray, w: np.ndarray, obs: list[np.ndarray]) -> np.ndarray:
    states = [reference_state(_circuit(), {"x": xb}, {"w": w}) for xb in x]
    return np.array([[np.vdot(s, o @ s).real for o in obs] for s in states])


def test_zbasis_diagonal_and_correlations_match_the_sign_table():
    rng = np.random.default_rng(1)
    n = 9
    words = [(), (0,), (3, 5), (1, 8), (2, 4, 7), (8,), (0, 8), (3, 5)]  # a repeated word too
    basis = ZBasis(n, words)
    signs = word_signs(n, [list(w) for w in words]).astype(float)
    coeffs = rng.normal(size=(3, len(words)))
    np.testing.assert_allclose(basis.diagonal(torch.tensor(coeffs)).numpy(), coeffs @ signs.T,
                               atol=1e-12)  # fmt: skip
    values = rng.normal(size=(2, 2**n))
    np.testing.assert_allclose(basis.correlate(torch.tensor(values)).numpy(), values @ signs,
                               atol=1e-11)  # fmt: skip
    diag = rng.normal(size=8)
    c = walsh(diag)
    masks = word_signs(3, [[i for i in range(3) if s >> (2 - i) & 1] for s in range(8)])
    np.testing.assert_allclose(masks @ c, diag, atol=1e-12)


def test_phase_runs_give_the_reference_values_and_per_column_gradients(monkeypatch):
    fused, x, w = _task(_circuit())
    runs = [i for i in get_plan(fused.circuit, fused.varying, True).items
            if isinstance(i, PhaseRun)]  # fmt: skip
    assert [len(r.gates) for r in runs] == [9, 9]
    obs = [o.to_matrix(N) for o in fused.measurement.observables]
    ref = _energy(x, w, obs)
    cot = torch.tensor([[1.0, -0.5], [0.3, 2.0], [-1.0, 0.7]], dtype=torch.float64)
    # the same circuit gate by gate (no phase runs), differentiated by autograd
    table = dataclasses.replace(limits.LIMITS, phase_min_gates=10**6)
    monkeypatch.setattr(limits, "LIMITS", table)
    single, _, _ = _task(_circuit())
    assert not any(isinstance(i, PhaseRun) for i in get_plan(single.circuit, None, True).items)
    theta = single.theta.detach().clone().requires_grad_()
    out = LAYERED.forward(single.with_theta(theta, single.varying), False)[0]
    (want,) = torch.autograd.grad((out * cot).sum(), theta)
    np.testing.assert_allclose(out.detach().numpy(), ref, atol=1e-10)
    for engine in _engines():
        run = engine.bind(fused)
        values, record = run.forward(fused, True)
        np.testing.assert_allclose(values.numpy(), ref, atol=1e-10, err_msg=engine.name)
        _same_gradient(run.backward(record, cot), want, fused.varying, engine.name)
        # backprop through the phase step
        theta = fused.theta.detach().clone().requires_grad_()
        out = engine.forward(fused.with_theta(theta, fused.varying), False)[0]
        (got,) = torch.autograd.grad((out * cot).sum(), theta)
        _same_gradient(got, want, fused.varying, engine.name)


def _same_gradient(got: torch.Tensor, want: torch.Tensor, varying: tuple, name: str) -> None:
    """Equal per column; a column that does not vary over the batch has its batch sum only."""
    shared = ~torch.tensor(varying)
    torch.testing.assert_close(got[:, ~shared], want[:, ~shared], rtol=0, atol=1e-9, msg=name)
    torch.testing.assert_close(got[:, shared].sum(0), want[:, shared].sum(0), rtol=0, atol=1e-9,
                               msg=name)  # fmt: skip


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
def test_qaoa_energy_gradient_matches_finite_differences_of_the_reference(dtype, monkeypatch):
    # the torch plan (not the small-register interpreter); the cost measured and its cotangent
    # formed by the ZBasis products instead of the (2^n, T) sign table
    monkeypatch.setenv("HQML_SMALL", "0")
    monkeypatch.setattr(torch_plan, "_ZSIGN_MAX_ELEMENTS", 0)
    calls = []
    monkeypatch.setattr(ZBasis, "correlate", _counted(ZBasis.correlate, calls))
    w = torch.tensor([0.4, -1.1, 0.8, 0.3], dtype=torch.float64, requires_grad=True)
    c = _circuit()
    cost = sum((hqml.Z(a) @ hqml.Z(b) for a, b in EDGES), start=0.0 * hqml.Z(0))
    x = torch.tensor([0.2, -0.6], dtype=torch.float64)
    e = hqml.expval(c, cost, inputs={"x": x}, weights={"w": w}, diff_method="adjoint",
                    dtype=dtype)  # fmt: skip
    e.backward()
    h = 1e-6
    om = cost.to_matrix(N)

    def ref(wv: np.ndarray) -> float:
        s = reference_state(c, {"x": x.numpy()}, {"w": wv})
        return float(np.vdot(s, om @ s).real)

    w0 = w.detach().numpy()
    fd = [(ref(w0 + h * np.eye(4)[i]) - ref(w0 - h * np.eye(4)[i])) / (2 * h) for i in range(4)]
    tol = 1e-5 if dtype == torch.complex64 else 1e-8
    assert len(calls) == 3  # the energy, and the gradient of each of the two phase runs
    assert abs(e.item() - ref(w0)) < tol
    np.testing.assert_allclose(w.grad.numpy(), fd, atol=10 * tol)


def _counted(fn, calls: list):
    def wrapper(*args, **kwargs):
        calls.append(1)
        return fn(*args, **kwargs)

    return wrapper


def test_a_phase_run_on_few_qubits_in_every_engine():
    """Four qubits: the dense torch plan and the NumPy engine (which runs a phase run's gates
    one by one) against the dense reference."""
    from hqml.backends.statevector.numpy_engine import NUMPY

    c = Circuit(4)
    w = c.weight("w", 2)
    for q in range(4):
        c.h(q)
    for a, b in [(0, 1), (1, 2), (2, 3), (0, 3)]:
        c.rzz(w[0], a, b)
    for q in range(4):
        c.rx(w[1], q)
    wv = np.array([0.7, -0.4])
    b = bind_parameters(c, None, {"w": torch.tensor(wv)})
    obs = (hqml.Z(0) @ hqml.Z(1) + 0.5 * hqml.X(2),)
    task = Task(c, b.theta, Expval(obs), torch.complex128, varying=b.varying)
    assert any(isinstance(i, PhaseRun) for i in get_plan(c, task.varying, False).items)
    s = reference_state(c, None, {"w": wv})
    want = np.vdot(s, obs[0].to_matrix(4) @ s).real
    for engine in (DENSE, NUMPY):
        got = engine.forward(task, False)[0]
        np.testing.assert_allclose(got.numpy(), [[want]], atol=1e-12, err_msg=engine.name)


def test_levels_index_the_diagonal_of_a_pattern_exactly():
    n = 8
    words = [(0, 1), (1, 2), (3,), (2, 7), (4, 5), (0, 6), (5,), (1, 7)]
    basis = ZBasis(n, words)
    signs = word_signs(n, [list(w) for w in words]).astype(float)
    pattern = np.array([0.5, 0.5, -0.25, 0.5, 1.5, 0.0, -0.25, 0.5])  # three values and a zero
    index, values = levels(basis, pattern)
    assert index.dtype == np.int32 and len(values) == 5 * 3 * 2  # (4+1)(2+1)(1+1)
    np.testing.assert_array_equal(values[index], signs @ pattern)  # exact: sums of halves
    index, values = levels(basis, np.zeros(len(words)))  # no phase at all
    assert not values[index].any()
    many = np.arange(1, 14, dtype=float) * np.pi  # 2^13 > MAX_LEVELS possible values
    assert levels(ZBasis(14, [(q,) for q in range(13)]), many) is None


def _uniform_qaoa(n: int, edges: list, batched: bool) -> Circuit:
    c = Circuit(n)
    x = c.input("x", 1)
    w = c.weight("w", 4)
    for q in range(n):
        c.h(q)
    for layer in range(2):
        angle = x[0] * w[2] if batched and layer else w[layer]
        for a, b in edges:  # one angle on every edge and wire: the run's phase is a lookup
            c.rzz(angle, a, b)
        for q in range(3):
            c.rz(angle, q)
        for q in range(n):
            c.rx(w[3], q)
    return c


@pytest.mark.parametrize("batched", [False, True])
def test_uniform_phase_runs_use_the_lookup_and_match_the_reference(batched, monkeypatch):
    """A QAOA run with one angle (per sample) on every gate: its phase comes from
    ``zwords.levels`` (no per-amplitude sine), the energy and the adjoint gradient equal the
    dense reference and its finite differences, per sample."""
    monkeypatch.setenv("HQML_SMALL", "0")
    from hqml.backends.statevector import materialize

    used = []
    monkeypatch.setattr(materialize, "levels", _counted(materialize.levels, used))
    n, edges = 5, [(0, 1), (1, 2), (2, 3), (3, 4), (0, 4), (1, 3)]
    c = _uniform_qaoa(n, edges, batched)
    xs = np.array([[0.7], [-1.3]]) if batched else np.array([[0.7]])
    w = torch.tensor([0.4, -1.1, 0.8, 0.3], dtype=torch.float64, requires_grad=True)
    cost = sum((0.5 * hqml.Z(a) @ hqml.Z(b) for a, b in edges), start=0.2 * hqml.Z(4))
    e = hqml.expval(c, cost, inputs={"x": torch.tensor(xs if batched else xs[0])},
                    weights={"w": w}, diff_method="adjoint")  # fmt: skip
    e.sum().backward()
    assert used  # the lookup ran
    om = cost.to_matrix(n)

    def ref(wv: np.ndarray) -> float:
        total = 0.0
        for xb in xs:
            s = reference_state(c, {"x": xb}, {"w": wv})
            total += float(np.vdot(s, om @ s).real)
        return total

    w0, h = w.detach().numpy(), 1e-6
    fd = [(ref(w0 + h * np.eye(4)[i]) - ref(w0 - h * np.eye(4)[i])) / (2 * h) for i in range(4)]
    assert e.sum().item() == pytest.approx(ref(w0), abs=1e-10)
    np.testing.assert_allclose(w.grad.numpy(), fd, atol=1e-7)
