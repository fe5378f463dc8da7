"""Every statevector engine through the Engine protocol: values against the dense reference,
adjoint gradients (forward with keep, then backward) against autograd through the torch plan,
and the chooser's decisions against its table."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from helpers import random_circuit

import hqml
from hqml.backends.base import Expval, Probs, Task
from hqml.backends.statevector import choose, limits
from hqml.backends.statevector.interpreter import INTERPRETER
from hqml.backends.statevector.numpy_engine import NUMPY
from hqml.backends.statevector.torch_plan import DENSE, LAYERED, NATIVE_LAYERS
from hqml.circuit.params import bind_parameters
from hqml.sim import native
from hqml.testing import reference_state


def _task(n: int, seed: int, measurement=None) -> tuple[Task, dict, dict]:
    rng = np.random.default_rng(seed)
    c = random_circuit(rng, n, 30)
    x = rng.uniform(-2, 2, (3, 3))
    w = rng.uniform(-2, 2, 4)
    b = bind_parameters(c, {"x": torch.tensor(x)}, {"w": torch.tensor(w)})
    if measurement is None:
        measurement = Expval((hqml.Z(0) @ hqml.Z(n - 1), 0.5 * hqml.X(1) + hqml.Z(2)))
    task = Task(c, b.theta, measurement, torch.complex128, varying=b.varying)
    return task, {"x": x}, {"w": w}


def _engines(task: Task) -> list:
    out = [DENSE, LAYERED]
    if native.available():
        out.append(NATIVE_LAYERS)
    if NUMPY.supports(task) and task.circuit.n_qubits <= 5:
        out.append(NUMPY)
    if choose.interpreter_program(task) is not None and INTERPRETER.supports(task):
        out.append(INTERPRETER)
    return out


@pytest.mark.parametrize("n", [3, 7])
def test_every_engine_gives_the_reference_values_and_gradients(n):
    task, x, w = _task(n, seed=n)
    obs = [o.to_matrix(n) for o in task.measurement.observables]
    ref = np.array(
        [
            [np.vdot(psi, o @ psi).real for o in obs]
            for psi in (reference_state(task.circuit, {"x": x["x"][b]}, w) for b in range(3))
        ]
    )
    cot = torch.tensor([[1.0, -0.5], [0.3, 2.0], [-1.0, 0.7]], dtype=torch.float64)
    theta = task.theta.detach().clone().requires_grad_()
    values = DENSE.forward(task.with_theta(theta, task.varying), False)[0]
    (want,) = torch.autograd.grad((values * cot).sum(), theta)
    engines = _engines(task)
    assert len(engines) >= (4 if n == 3 else 3)
    for engine in engines:
        run = engine.bind(task)  # the engine bound to the request: one forward, one sweep
        out, record = run.forward(task, True)
        np.testing.assert_allclose(out.numpy(), ref, atol=1e-10, err_msg=engine.name)
        assert record.engine is run
        grad = run.backward(record, cot)
        # a column that does not vary over the batch (weights only) has its batch sum only
        shared = ~torch.tensor(task.varying)
        torch.testing.assert_close(grad[:, ~shared], want[:, ~shared], rtol=0, atol=1e-9)
        torch.testing.assert_close(grad[:, shared].sum(0), want[:, shared].sum(0), rtol=0,
                                   atol=1e-9, msg=engine.name)  # fmt: skip


def test_the_chooser_follows_its_table(monkeypatch):
    task, _, _ = _task(3, seed=1)
    assert choose.choose_engine(task) is INTERPRETER
    assert "engine" in task.memo  # decided once for the request
    big, _, _ = _task(7, seed=2)  # a dense observable from 6 qubits: not the interpreter
    assert choose.choose_engine(big) in (NATIVE_LAYERS, LAYERED)
    z_only = Task(big.circuit, big.theta, Expval((hqml.Z(0),)), torch.complex128)
    assert choose.choose_engine(z_only) is INTERPRETER
    wide = Task(big.circuit, big.theta, Probs(tuple(range(7))), torch.complex128)
    assert choose.choose_engine(wide) is not INTERPRETER  # 128 columns > diag_max_terms
    table = dataclasses.replace(limits.LIMITS, interpreter_always_qubits=2,
                                interpreter_max_qubits=2)  # fmt: skip
    monkeypatch.setattr(limits, "LIMITS", table)
    again, _, _ = _task(3, seed=1)
    assert choose.choose_engine(again) is NUMPY
    monkeypatch.setenv("HQML_SMALL", "0")
    assert choose.choose_engine(_task(3, seed=1)[0]) is DENSE
