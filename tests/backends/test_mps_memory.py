"""MPS rows are priced from the bonds the circuit can reach, not from 2^n amplitudes: a wide
parameter-shift gradient stacks its shifted rows into few calls, the priced bonds bound those
the simulation reaches, and a request over the memory available is refused before anything is
built."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers import random_circuit

import hqml
from hqml.backends import get_backend
from hqml.backends.base import MAX_STACKED_AMPLITUDES, Expval, Task
from hqml.backends.mps import MPSBackend, memory


class _Counting(MPSBackend):
    """The MPS backend, counting the rows of each call."""

    def __init__(self, **options):
        super().__init__(**options)
        self.calls: list[int] = []

    def _execute_one(self, task):
        self.calls.append(task.theta.shape[0])
        return super()._execute_one(task)


def _ry_chain(n: int) -> hqml.Circuit:
    """RY(w_i) on every qubit, then CNOT i -> i+1: wire j ends as the parity of wires 0..j,
    so <Z_j> = prod_{i <= j} cos w_i."""
    c = hqml.Circuit(n)
    w = c.weight("w", n)
    for i in range(n):
        c.ry(w[i], i)
    for i in range(n - 1):
        c.cnot(i, i + 1)
    return c


def test_parameter_shift_past_the_statevector_wall_stacks_its_rows_into_one_call():
    n = 40
    c = _ry_chain(n)
    be = _Counting(max_bond=8)
    w = torch.linspace(0.2, 2.9, n, dtype=torch.float64).requires_grad_(True)
    obs = [hqml.Z(0), hqml.Z(n // 2), hqml.Z(n - 1)]
    e = hqml.expval(c, obs, weights={"w": w}, backend=be, diff_method="parameter-shift",
                    dtype=torch.complex128)  # fmt: skip
    e.sum().backward()
    cos = torch.cos(w.detach())
    exact = [torch.prod(cos[: j + 1]) for j in (0, n // 2, n - 1)]
    torch.testing.assert_close(e.detach(), torch.stack(exact), atol=1e-12, rtol=0)
    # d/dw_i sum_j prod_{k<=j} cos w_k, by hand
    grad = torch.zeros(n, dtype=torch.float64)
    for j in (0, n // 2, n - 1):
        for i in range(j + 1):
            grad[i] += -torch.sin(w.detach()[i]) * torch.prod(cos[: j + 1]) / cos[i]
    torch.testing.assert_close(w.grad, grad, atol=1e-12, rtol=0)
    # the forward call, then all 2 * 40 shifted rows in one call (the 2^n rule gave 80 calls)
    assert be.calls == [1, 2 * n]
    task = Task(c, torch.zeros(1, n), Expval(tuple(obs)), torch.complex64)
    assert be.rows_per_call(task) >= 2 * n
    assert get_backend("statevector").rows_per_call(task) == 1


def test_rows_per_call_spends_the_statevector_budget_on_the_bonds_reached():
    n, layers, bond = 64, 4, 32
    c = hqml.Circuit(n)
    for _ in range(layers):
        for i in range(n):
            c.ry(0.3, i)
        for i in range(n - 1):
            c.cnot(i, i + 1)
    task = Task(c, torch.zeros(1, 0), Expval((hqml.Z(0),)), torch.complex64)
    bonds, block = memory.peak_bonds(c, bond)
    # a chain of CNOT layers doubles the bond once per layer, up to the chain's ends
    assert max(bonds) == 2**layers and bonds[0] == bonds[n] == 1
    sites = sum(2 * a * b for a, b in zip(bonds[:-1], bonds[1:], strict=True))
    assert sites < 2 * n * 2**layers * 2**layers
    per_row = memory.row_elements(task, bond)
    assert per_row >= sites + 2 * sum(b * b for b in bonds)  # sites and environments
    rows = MPSBackend(max_bond=bond).rows_per_call(task)
    assert rows == MAX_STACKED_AMPLITUDES // per_row and rows >= 256
    # a lower max_bond caps the bonds, and so prices more rows per call
    assert MPSBackend(max_bond=4).rows_per_call(task) > rows


@pytest.mark.parametrize("long_range", ["swap", "mpo"])
@pytest.mark.parametrize("bond", [2, 4, 64])
def test_priced_bonds_bound_the_bonds_the_simulation_reaches(long_range, bond):
    rng = np.random.default_rng(bond)
    for _ in range(3):
        c = random_circuit(rng, 7, 30, kinds="all")
        be = MPSBackend(max_bond=bond, long_range=long_range)
        theta = torch.tensor(rng.uniform(-2, 2, (2, len(c.parameter_exprs()))))
        task = Task(c, theta, Expval((hqml.Z(0),)), torch.complex128)
        mps = be.simulate(task)
        bonds, _ = memory.peak_bonds(c, bond, be._mpo(c))
        reached = [1] + mps.bonds() + [1]
        assert all(r <= p for r, p in zip(reached, bonds, strict=True)), (reached, bonds)
        assert mps.report.max_bond <= max(bonds)
        assert max(bonds) <= max(memory.chain_bonds(7, bond)) * (2 if long_range == "mpo" else 1)


def test_a_request_over_the_memory_available_is_refused_before_anything_is_built(monkeypatch):
    n = 200
    c = hqml.Circuit(n)
    for _ in range(12):  # brickwork deep enough to reach any bond up to 2^12
        for i in range(n):
            c.ry(0.4, i)
        for i in range(0, n - 1):
            c.cnot(i, i + 1)
    be = get_backend("mps", max_bond=4096)
    built = []
    monkeypatch.setattr(memory, "available_memory", lambda device=None: 2**30)
    monkeypatch.setattr(be, "simulate", lambda task: built.append(task))
    with pytest.raises(MemoryError) as info:
        hqml.expval(c, hqml.Z(0), backend=be)
    msg = str(info.value)
    assert "\n" not in msg and "200-qubit MPS at max_bond=4096" in msg
    assert "lower max_bond" in msg and "1.0 GiB is available" in msg
    assert not built
    # the same circuit at a bond that fits is priced small, and runs
    small = get_backend("mps", max_bond=2)
    priced = memory.row_elements(Task(c, torch.zeros(1, 0), Expval((hqml.Z(0),)),
                                      torch.complex64), 2)  # fmt: skip
    assert priced * 8 < 2**30
    v = hqml.expval(hqml.Circuit(n).ry(0.4, 0), hqml.Z(0), backend=small)
    assert math.isclose(float(v), math.cos(0.4), abs_tol=1e-6)
