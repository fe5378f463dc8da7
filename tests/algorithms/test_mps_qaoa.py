"""QAOA MaxCut at 64 and 128 qubits through the MPS backend, checked against light-cone
statevector simulations (at p = 1 an edge's <ZZ> depends only on the edges next to it)."""

from __future__ import annotations

import dimod
import numpy as np
import pytest
import torch

import hqml
from hqml.algorithms.qaoa import QAOA
from hqml.backends import get_backend


def _ring(n: int) -> dimod.BinaryQuadraticModel:
    return dimod.BinaryQuadraticModel({}, {(i, (i + 1) % n): 1.0 for i in range(n)}, 0.0, "SPIN")


def test_qaoa_maxcut_on_a_64_qubit_ring():
    n = 64
    be = get_backend("mps", max_bond=16)
    q = QAOA(_ring(n), p=1, backend=be, maxiter=8, seed=0, shots=128, optimum=(-64.0, 64.0))
    angles = np.array([0.37, -0.52])
    # light cone of edge (1, 2): the path 0-1-2-3, edges (0,1), (1,2), (2,3)
    path = QAOA(dimod.BinaryQuadraticModel({}, {(0, 1): 1.0, (1, 2): 1.0, (2, 3): 1.0}, 0.0,
                                           "SPIN"), p=1)  # fmt: skip
    zz = hqml.expval(path.circuit(), hqml.Z(1) @ hqml.Z(2),
                     weights={"gamma": angles[:1], "beta": angles[1:]})  # fmt: skip
    value = float(q.expectation(angles))
    assert value == pytest.approx(n * float(zz), abs=1e-8)  # every edge of the ring alike
    assert be.last_truncation.exact  # the wrap-around edge (63, 0) went by swaps
    res = q.run()
    assert res.expectation < value  # optimised below the starting angles' cost
    assert res.best_energy <= res.expectation and len(res.best_bitstring) == n
    assert res.approximation_ratio > 0.6
    assert res.truncation is not None and res.truncation.exact  # every evaluation's, the worst


def _light_cone_zz(edges: dict, u: int, v: int, angles: torch.Tensor) -> torch.Tensor:
    """``<Z_u Z_v>`` of p = 1 QAOA on ``edges`` from a statevector of the edges that touch
    ``u`` or ``v`` only (the other phase gates commute with ``Z_u Z_v`` and cancel)."""
    sub = {e: j for e, j in edges.items() if u in e or v in e}
    bqm = dimod.BinaryQuadraticModel({}, sub, 0.0, "SPIN")
    wires = list(bqm.variables)  # QAOA's wire order
    return hqml.expval(QAOA(bqm, p=1).circuit(), hqml.Z(wires.index(u)) @ hqml.Z(wires.index(v)),
                       weights={"gamma": angles[:1], "beta": angles[1:]})  # fmt: skip


def test_qaoa_on_a_128_qubit_sparse_graph_equals_light_cone_statevectors():
    # a ladder (rungs 2i-2i+1, rails a-a+2) with four weighted chords twelve wires long: every
    # distant gate goes by swaps, the bond stays exact at 16
    n = 128
    edges = {(2 * i, 2 * i + 1): 1.0 for i in range(n // 2)}
    edges.update({(a, a + 2): 1.0 for a in range(n - 2)})
    chords = {10: 0.5, 41: -1.0, 70: 2.0, 103: 1.5}
    edges.update({(a, a + 12): w for a, w in chords.items()})
    bqm = dimod.BinaryQuadraticModel({i: 0.0 for i in range(n)}, edges, 0.0, "SPIN")
    be = get_backend("mps", max_bond=16)
    q = QAOA(bqm, p=1, backend=be)
    assert q.n_qubits == n and list(bqm.variables) == list(range(n))
    angles = torch.tensor([0.37, -0.52], dtype=torch.float64, requires_grad=True)
    value = q.expectation(angles)
    value.backward()
    assert value.truncation.exact and value.truncation.max_bond <= 16
    ref_angles = angles.detach().clone().requires_grad_()
    ref = sum(j * _light_cone_zz(edges, u, v, ref_angles) for (u, v), j in edges.items())
    ref.backward()
    assert float(value.detach()) == pytest.approx(float(ref.detach()), abs=1e-8)
    np.testing.assert_allclose(angles.grad.numpy(), ref_angles.grad.numpy(), atol=1e-8)
