"""W5 (MPS) in the benchmark suite: discovered, hqml's values equal a dense reference, and
quimb's CircuitMPS agrees with them at the quick sizes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import hqml
from hqml.bench.registry import discover
from hqml.bench.suite import run_suite


def test_w5_hqml_values_equal_the_statevector():
    wl = discover()["W5"]
    case = next(c for c in wl.quick_cases if c["mode"] == "step")
    data = wl.make_data(case)
    prepared = wl.impl("hqml").prepare(case, data)
    vals = prepared.values(prepared.step())
    n, layers = case["n"], case["layers"]
    c = hqml.Circuit(n)
    xs, ws = c.input("x", n), c.weight("w", (layers, n, 2))
    for i in range(n):
        c.ry(xs[i], i)
    for layer in range(layers):
        for i in range(n):
            c.ry(ws[layer, i, 0], i).rz(ws[layer, i, 1], i)
        for i in range(n - 1):
            c.cnot(i, i + 1)
    w = torch.tensor(data["w"], requires_grad=True)
    e = hqml.expval(c, [hqml.Z(i) for i in range(n)], inputs={"x": torch.tensor(data["x"])},
                    weights={"w": w})  # fmt: skip
    loss = (e**2).sum(-1).mean()
    loss.backward()
    np.testing.assert_allclose(vals["expval"], e.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(vals["grad_w"], w.grad.numpy(), atol=1e-5)


@pytest.mark.slow
def test_w5_quick_suite_with_quimb_and_aer():
    # each run in its own process: in one process quimb on torch tensors and quimb on NumPy
    # (PennyLane's default.tensor, which other tests run) spoil each other's caches
    pytest.importorskip("quimb")
    pytest.importorskip("qiskit_aer")
    doc = run_suite(["W5"], quick=True, repeats=1, bandwidth=False, isolate=True,
                    frameworks=["quimb", "qiskit-aer"])  # fmt: skip
    rows = {(r["label"], r["framework"]): r for r in doc["results"]}
    step, forward = "n=6 step B=2 bond=8", "n=6 forward B=1 bond=8"
    for label in (step, forward):
        assert rows[(label, "hqml")]["status"] == "ok"
        assert rows[(label, "quimb")]["status"] == "ok", rows[(label, "quimb")]
    assert rows[(forward, "qiskit-aer")]["status"] == "ok", rows[(forward, "qiskit-aer")]
    assert rows[(step, "qiskit-aer")]["status"] == "skipped"  # forward only
