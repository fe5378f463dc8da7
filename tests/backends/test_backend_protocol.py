"""The Backend contract of backends/base.py: a backend that implements only ``execute`` works
with the shift rules and finite differences; implementing the declared adjoint hooks gains
``diff_method="adjoint"``, with the gradients of the statevector backend."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import hqml
from hqml.backends import Backend, Capabilities
from hqml.backends.base import Expval


def _embed(mat: np.ndarray, wires: tuple[int, ...], n: int) -> np.ndarray:
    """The ``2^n x 2^n`` matrix of a gate on ``wires`` (wire 0 the most significant bit)."""
    k = len(wires)
    others = [w for w in range(n) if w not in wires]
    full = np.kron(mat, np.eye(2 ** (n - k)))
    perm = list(wires) + others  # full acts on (wires..., others...): move axes back
    t = full.reshape((2,) * (2 * n))
    inv = np.argsort(perm)
    t = t.transpose(list(inv) + [n + i for i in inv])
    return t.reshape(2**n, 2**n)


def _observable(obs, n: int) -> np.ndarray:
    paulis = {"X": [[0, 1], [1, 0]], "Y": [[0, -1j], [1j, 0]], "Z": [[1, 0], [0, -1]]}
    out = np.zeros((2**n, 2**n), dtype=complex)
    for word, coeff in obs.terms.items():
        m = np.eye(2**n, dtype=complex)
        for w, p in word:
            m = _embed(np.array(paulis[p], dtype=complex), (w,), n) @ m
        out += coeff * m
    return out


def _gates(task, row: int) -> list[tuple[np.ndarray, list[np.ndarray]]]:
    """Per operation: its full matrix and the full matrices of its parameter derivatives."""
    n, theta, col, out = task.circuit.n_qubits, task.theta.detach().double(), 0, []
    for op in task.circuit.ops:
        p = op.gate.num_params
        if p == 0:
            mat, ders = op.gate.matrix(dtype=torch.complex128).numpy(), []
        else:
            params = theta[min(row, theta.shape[0] - 1), col : col + p]
            mat = op.gate.matrix(params).numpy()
            ders = list(op.gate.derivatives(params).numpy())
        out.append((_embed(mat, tuple(op.wires), n), [_embed(d, tuple(op.wires), n) for d in ders]))
        col += p
    return out


class DenseOnly(Backend):
    """Dense linear algebra, one sample at a time: implements only ``execute``."""

    name = "dense-only"
    capabilities = Capabilities(max_qubits=6, measurements=frozenset({"expval"}))

    def execute(self, tasks):
        return [self._values(t)[0] for t in tasks]

    def _values(self, task):
        assert isinstance(task.measurement, Expval)
        n = task.circuit.n_qubits
        obs = [_observable(o, n) for o in task.measurement.observables]
        rows, states = [], []
        for b in range(task.theta.shape[0]):
            psi = np.zeros(2**n, dtype=complex)
            psi[0] = 1
            for mat, _ in _gates(task, b):
                psi = mat @ psi
            rows.append([np.vdot(psi, o @ psi).real for o in obs])
            states.append(psi)
        rdt = torch.float64 if task.dtype == torch.complex128 else torch.float32
        return torch.tensor(rows, dtype=rdt), (task, states, obs)


class DenseAdjoint(DenseOnly):
    """The same, gaining the adjoint method through the declared hooks."""

    name = "dense-adjoint"
    capabilities = Capabilities(
        max_qubits=6,
        measurements=frozenset({"expval"}),
        diff_methods=frozenset({"adjoint", "parameter-shift", "finite-diff"}),
    )

    def execute_for_vjp(self, task):
        return self._values(task)

    def finish_vjp(self, saved, cotangent):
        task, states, obs = saved
        cot = cotangent.detach().double().expand(len(states), -1).numpy()
        grad = np.zeros((len(states), task.theta.shape[1]))
        for b, psi in enumerate(states):
            lam = sum(c * o for c, o in zip(cot[b], obs, strict=True)) @ psi
            gates = _gates(task, b)
            cols = np.cumsum([0] + [len(d) for _, d in gates])
            for i in range(len(gates) - 1, -1, -1):
                mat, ders = gates[i]
                psi = mat.conj().T @ psi  # the state before gate i
                for j, d in enumerate(ders):
                    grad[b, cols[i] + j] = 2 * np.vdot(lam, d @ psi).real
                lam = mat.conj().T @ lam
        return torch.as_tensor(grad, dtype=task.theta.dtype)


def _circuit():
    c = hqml.Circuit(3)
    x = c.input("x", 3)
    w = c.weight("w", (2, 3))
    for i in range(3):
        c.ry(x[i], i)
    for layer in range(2):
        for i in range(3):
            c.rx(w[layer, i] * 0.7 + x[i], i)
        c.cnot(0, 1).crz(w[layer, 0], 1, 2).rzz(w[layer, 2], 0, 2)
    return c, [0.5 * hqml.Z(0) @ hqml.X(1) + hqml.Y(2), hqml.Z(2)]


def _grads(backend, method):
    c, obs = _circuit()
    x = torch.rand(3, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    w = torch.rand(2, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    w.requires_grad_()
    out = hqml.expval(c, obs, inputs={"x": x}, weights={"w": w}, backend=backend,
                      diff_method=method)  # fmt: skip
    (out * torch.tensor([1.0, -2.0], dtype=torch.float64)).sum().backward()
    return out.detach(), w.grad


@pytest.mark.parametrize("method", ["parameter-shift", "finite-diff"])
def test_a_backend_with_only_execute_differentiates_by_evaluation(method):
    ref_out, ref_grad = _grads("statevector", "adjoint")
    out, grad = _grads(DenseOnly(), method)
    torch.testing.assert_close(out, ref_out, rtol=0, atol=1e-12)
    tol = 1e-12 if method == "parameter-shift" else 1e-6
    torch.testing.assert_close(grad, ref_grad, rtol=0, atol=tol)


def test_a_backend_with_only_execute_refuses_adjoint_naming_the_fix():
    with pytest.raises(ValueError, match="does not support diff_method 'adjoint'"):
        _grads(DenseOnly(), "adjoint")
    c, _ = _circuit()
    task = hqml.backends.base.Task(c, torch.zeros(1, 15, dtype=torch.float64),
                                   Expval((hqml.Z(0),)), torch.complex128)  # fmt: skip
    with pytest.raises(NotImplementedError, match="parameter-shift"):
        DenseOnly().vjp(task, torch.ones(1, 1, dtype=torch.float64))


def test_declared_adjoint_hooks_give_the_statevector_gradients():
    ref_out, ref_grad = _grads("statevector", "adjoint")
    out, grad = _grads(DenseAdjoint(), "adjoint")
    torch.testing.assert_close(out, ref_out, rtol=0, atol=1e-12)
    torch.testing.assert_close(grad, ref_grad, rtol=0, atol=1e-12)
    # "best" picks the adjoint it declares (the default prefers_backprop says no)
    out_best, grad_best = _grads(DenseAdjoint(), "best")
    torch.testing.assert_close(grad_best, ref_grad, rtol=0, atol=1e-12)


def test_vjp_defaults_to_the_declared_pair():
    c, obs = _circuit()
    theta = torch.rand(2, 15, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    task = hqml.backends.base.Task(c, theta, Expval(tuple(obs)), torch.complex128)
    cot = torch.tensor([[1.0, 0.5], [-1.0, 2.0]], dtype=torch.float64)
    be = DenseAdjoint()
    _, saved = be.execute_for_vjp(task)
    torch.testing.assert_close(be.vjp(task, cot), be.finish_vjp(saved, cot), rtol=0, atol=0)
    sv = hqml.get_backend("statevector")
    torch.testing.assert_close(be.vjp(task, cot), sv.vjp(task, cot), rtol=0, atol=1e-12)
