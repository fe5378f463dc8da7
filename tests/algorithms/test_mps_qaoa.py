"""QAOA MaxCut at 64 qubits through the MPS backend, checked against light-cone statevector
simulations (at p = 1 an edge's <ZZ> depends only on the edges next to it)."""

from __future__ import annotations

import dimod
import numpy as np
import pytest

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
