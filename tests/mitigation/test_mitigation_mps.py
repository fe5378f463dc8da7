"""Error mitigation on the MPS backend keeps and reports the truncation of the runs behind the
mitigated value (the issue: truncation is reported, never silent): ZNE's folded circuits (the
deeper ones truncate more), readout correction's measurement bases, and a QuantumLayer (what
``hqml run`` records) on a mitigated MPS backend."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import hqml
from hqml.backends import get_backend
from hqml.backends.mps import TruncatedGradientWarning
from hqml.mitigation import ZNE, ReadoutMitigator


def _brickwork(n: int, depth: int, seed: int) -> hqml.Circuit:
    """Needs bond 2^depth in the middle: max_bond=2 truncates from depth 2 on."""
    rng = np.random.default_rng(seed)
    c = hqml.Circuit(n)
    for layer in range(depth):
        for i in range(n):
            c.ry(float(rng.uniform(0.3, math.pi - 0.3)), i).rz(float(rng.uniform(0, math.pi)), i)
        for i in range(layer % 2, n - 1, 2):
            c.cnot(i, i + 1)
    return c


def _discarded(report) -> float:
    return float(report.discarded.max())


def test_zne_on_mps_reports_the_truncation_of_its_worst_folded_run():
    c = _brickwork(8, 3, seed=4)
    zne = ZNE(scale_factors=(1, 3))
    be = zne.backend("mps", max_bond=2)
    v = hqml.expval(c, hqml.Z(3) @ hqml.Z(4), backend=be)
    rep = v.truncation
    assert rep is not None and not rep.exact
    # reference: each folded circuit run on the MPS backend by itself
    direct = get_backend("mps", max_bond=2)
    reports = [hqml.expval(f, hqml.Z(3) @ hqml.Z(4), backend=direct).truncation
               for f in zne.folded(c)]  # fmt: skip
    assert _discarded(reports[1]) > _discarded(reports[0]) > 0  # folding truncates more
    assert _discarded(rep) == pytest.approx(max(map(_discarded, reports)), rel=1e-4)
    assert be.last_truncation is rep and be.worst_truncation is rep
    # with a bond that suffices, the report says exact (and is still there)
    exact = hqml.expval(c, hqml.Z(3) @ hqml.Z(4), backend=zne.backend("mps", max_bond=64))
    assert exact.truncation is not None and exact.truncation.exact
    # a statevector base has nothing to report
    sv = hqml.expval(c, hqml.Z(3) @ hqml.Z(4), backend=zne.backend("statevector"))
    assert getattr(sv, "truncation", None) is None
    torch.testing.assert_close(exact, sv, atol=1e-5, rtol=0)


def test_readout_correction_on_mps_reports_the_truncation_of_its_bases():
    c = _brickwork(8, 3, seed=5)
    conf = {w: [[0.95, 0.1], [0.05, 0.9]] for w in range(8)}
    be = ReadoutMitigator(conf).backend("mps", max_bond=2)
    obs = [hqml.Z(2) @ hqml.X(5), hqml.Y(1)]  # two measurement bases
    v = hqml.expval(c, obs, backend=be)
    direct = hqml.expval(c, obs, backend=get_backend("mps", max_bond=2))
    # the basis rotations are one-qubit gates: each base run cuts as the circuit itself does
    assert v.truncation is not None and not v.truncation.exact
    assert _discarded(v.truncation) == pytest.approx(_discarded(direct.truncation), rel=1e-4)
    assert be.worst_truncation is v.truncation


def test_a_layer_on_a_mitigated_mps_backend_keeps_its_worst_truncation():
    n = 6
    c = hqml.Circuit(n)
    x, w = c.input("x", n), c.weight("w", (3, n))
    for i in range(n):
        c.ry(x[i], i)
    for layer in range(3):
        for i in range(n):
            c.ry(w[layer, i], i)
        for i in range(layer % 2, n - 1, 2):
            c.cnot(i, i + 1)
    be = ZNE(scale_factors=(1, 3)).backend("mps", max_bond=2)
    layer = hqml.nn.QuantumLayer(c, [hqml.Z(i) for i in range(n)], backend=be, seed=2)
    with pytest.warns(TruncatedGradientWarning):  # the warning passes through the wrapper
        out = layer(torch.rand(4, n) * math.pi)
    assert out.shape == (4, n)
    assert layer.worst_truncation is not None and not layer.worst_truncation.exact
    assert _discarded(layer.worst_truncation) == pytest.approx(_discarded(be.worst_truncation))
