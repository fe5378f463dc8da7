"""A task's memo (the engine chosen, the compiled program) never outlives what it describes."""

import dataclasses
import pickle

import numpy as np
import pytest
import torch

import hqml
from hqml.backends import get_backend
from hqml.backends.base import Expval, Task
from hqml.backends.statevector import choose
from hqml.circuit.params import bind_parameters
from hqml.testing import reference_state


def _task(c, batch=1):
    theta = bind_parameters(c, None, None, torch.float64, None).theta.expand(batch, -1)
    return Task(c, theta.contiguous(), Expval((hqml.Z(0),)), torch.complex128)


def test_memo_follows_with_theta_only_for_the_same_batch():
    c = hqml.Circuit(2).ry(0.3, 0).cx(0, 1)
    t = _task(c, batch=4)
    t.memo["x"] = 1
    assert t.with_theta(t.theta.clone()).memo["x"] == 1
    assert "x" not in t.with_theta(torch.zeros(5, t.theta.shape[1])).memo
    assert "x" not in dataclasses.replace(t).memo
    assert "x" not in pickle.loads(pickle.dumps(t)).memo


def test_a_circuit_edit_empties_the_memo_and_the_next_run_sees_the_edit():
    c = hqml.Circuit(2).ry(0.3, 0)
    backend = get_backend("statevector")
    t = _task(c)
    assert not choose.choose_engine(t).autograd
    assert float(backend.execute([t])[0][0, 0]) == pytest.approx(np.cos(0.3))
    assert "engine" in t.memo
    c.x(0)  # the circuit changes under the same task
    assert "engine" not in t.memo and "native" not in t.memo
    psi = reference_state(c)
    want = float(np.sum(np.abs(psi[:2]) ** 2) - np.sum(np.abs(psi[2:]) ** 2))
    assert float(backend.execute([t])[0][0, 0]) == pytest.approx(want)
    assert want == pytest.approx(-np.cos(0.3))
