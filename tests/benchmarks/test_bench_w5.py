"""W5 (MPS) in the benchmark suite: discovered, hqml's values equal a dense reference, and
quimb's CircuitMPS agrees with them at the quick sizes."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

import hqml
from hqml.bench.isolated import run_isolated
from hqml.bench.registry import BENCH_DIR, discover
from hqml.bench.worker import run_one


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


# The quick suite in one fresh process, in-process there: quimb on torch tensors and quimb on
# NumPy (PennyLane's default.tensor, which other tests run in this worker) spoil each other's
# caches in one process, and only hqml, quimb and Qiskit Aer run in that one. One process
# instead of one per (framework, case) (`isolate=True`: five starts of torch, hqml and a peer, 40 s
# of this test's 47 s on a loaded 2-core machine); the per-run isolation itself is checked below.
SUITE_IN_A_CHILD = """
import json, sys
from hqml.bench.suite import run_suite
doc = run_suite(["W5"], quick=True, repeats=1, bandwidth=False, isolate=False,
                frameworks=["quimb", "qiskit-aer"])
json.dump(doc["results"], open(sys.argv[1], "w"))
"""


@pytest.mark.slow
def test_w5_quick_suite_with_quimb_and_aer(tmp_path):
    pytest.importorskip("quimb")
    pytest.importorskip("qiskit_aer")
    out = tmp_path / "results.json"
    run = subprocess.run([sys.executable, "-c", SUITE_IN_A_CHILD, str(out)],
                         capture_output=True, text=True, timeout=600)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    rows = {(r["label"], r["framework"]): r for r in json.loads(out.read_text())}
    step, forward = "n=6 step B=2 bond=8", "n=6 forward B=1 bond=8"
    for label in (step, forward):
        assert rows[(label, "hqml")]["status"] == "ok"
        assert rows[(label, "quimb")]["status"] == "ok", rows[(label, "quimb")]
    assert rows[(forward, "qiskit-aer")]["status"] == "ok", rows[(forward, "qiskit-aer")]
    assert rows[(step, "qiskit-aer")]["status"] == "skipped"  # forward only


@pytest.mark.slow
def test_w5_step_in_its_own_process_agrees_with_the_reference_saved_here(tmp_path):
    """What the full suite does for every run (``isolate=True``): a worker process
    (``python -m hqml.bench.worker``) checks its values against the reference values saved by
    this process, and returns its row; hqml's own implementation there (the cheapest process to
    start; quimb runs in a fresh process in the test above)."""
    wl = discover()["W5"]
    case = next(c for c in wl.quick_cases if c["mode"] == "step")
    res, values = run_one("W5", "hqml", case, threads=1, repeats=1)
    assert res["status"] == "ok"
    ref = tmp_path / "ref.npz"
    np.savez(ref, **values)
    hqml_impl = next(i for i in wl.impls if i.framework == "hqml")
    row = run_isolated(wl, hqml_impl, case, 1, 1, 300.0, 40.0, ref, None, str(tmp_path), BENCH_DIR)
    assert row["status"] == "ok", row
    assert row["framework"] == "hqml" and row["label"] == "n=6 step B=2 bond=8"
    assert "max|diff|" in row["detail"] and row["median_s"] > 0
