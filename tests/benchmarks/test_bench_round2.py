"""Issue 17's additions to the benchmark suite, on tiny sizes: W8 (QAOA energy and gradient)
against dense NumPy algebra, W9 (the kernel at scale) against the Gram matrix of NumPy states,
the bandwidth bound's rule by hand counts, and the peers that are not installed or not in the
suite reported with the reason."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest
from rich.console import Console

from hqml.bench import bound, isolated, peers
from hqml.bench.report import print_report
from hqml.bench.suite import run_suite
from hqml.bench.worker import run_one

pytestmark = pytest.mark.slow  # suite runs and subprocess-free peers: `make test` runs these


def _dense_qaoa_energy(n: int, edges: list, w: np.ndarray) -> float:
    """<sum Z_a Z_b / 2> of the W8 circuit by dense vectors (wire 0 = most significant bit)."""
    bits = (np.arange(2**n)[:, None] >> (n - 1 - np.arange(n))) & 1
    z = 1 - 2 * bits  # Z eigenvalue of each wire per basis state
    zz = sum(0.5 * z[:, a] * z[:, b] for a, b in edges)  # the cost is diagonal
    psi = np.full(2**n, 2 ** (-n / 2), complex)
    for gamma, beta in w:
        psi = psi * np.exp(-0.5j * gamma * sum(z[:, a] * z[:, b] for a, b in edges))
        rx = np.array([[np.cos(beta / 2), -1j * np.sin(beta / 2)]] * 2)
        rx[1] = rx[0][::-1]
        for q in range(n):
            psi = np.moveaxis(np.tensordot(rx, np.moveaxis(psi.reshape((2,) * n), q, 0), 1), 0, q)
            psi = psi.reshape(-1)
    return float(np.real(np.vdot(psi, zz * psi)))


def test_w8_hqml_energy_and_gradient_match_dense_algebra():
    from hqml.bench.w8_qaoa import WORKLOAD, make_data

    case = WORKLOAD.quick_cases[0]
    data = make_data(case)
    assert len(data["edges"]) == 3 * case["n"] // 2  # 3-regular
    _, values = run_one("W8", "hqml", case, repeats=1)
    n, w = case["n"], data["w"]
    assert values["energy"] == pytest.approx(_dense_qaoa_energy(n, data["edges"], w), abs=1e-5)
    grad, h = np.zeros_like(w), 1e-5
    for idx in np.ndindex(*w.shape):
        wp, wm = w.copy(), w.copy()
        wp[idx] += h
        wm[idx] -= h
        e_p, e_m = (_dense_qaoa_energy(n, data["edges"], v) for v in (wp, wm))
        grad[idx] = (e_p - e_m) / (2 * h)
    np.testing.assert_allclose(values["grad_w"], grad, atol=1e-4)


def test_w9_hqml_gram_matches_numpy_states():
    from hqml.bench.w9_kernel_scale import WORKLOAD, make_data

    case = WORKLOAD.quick_cases[0]
    X, n = make_data(case)["X"], case["n"]
    _, values = run_one("W9", "hqml", case, repeats=1)
    bits = (np.arange(2**n)[:, None] >> (n - 1 - np.arange(n))) & 1
    h = np.full((2**n, 2**n), 2 ** (-n / 2)) * (1 - 2 * (bits @ bits.T % 2))
    states = []
    for x in X:  # ZZ feature map, reps 2, all pairs: [H; P(2 x_i); P(2 (pi-x_i)(pi-x_j)) on ZZ]
        phase = 2 * bits @ x + sum(
            2 * (np.pi - x[i]) * (np.pi - x[j]) * (bits[:, i] ^ bits[:, j])
            for i in range(n)
            for j in range(i + 1, n)
        )
        psi = np.zeros(2**n, complex)
        psi[0] = 1
        for _ in range(2):
            psi = np.exp(1j * phase) * (h @ psi)
        states.append(psi)
    S = np.array(states)
    np.testing.assert_allclose(values["gram"], np.abs(S.conj() @ S.T) ** 2, atol=1e-10)


def test_block_rule_by_hand():
    assert bound.blocks([(0,), (1,), (0, 1), (2,)], 2) == 2
    assert bound.blocks([(0,), (1,), (2,), (0, 2)], 3) == 1
    # W2 at n = 4, 2 layers, k = 3: [RX 0 1 2 | RX 3, CX 01 | CX 12, CX 23? no: {3,0,1,2} > 3]
    assert bound.blocks(bound.w2_gates(4, 2), 3) == len(
        [
            ["rx0", "rx1", "rx2"],
            ["rx3", "cx01"],
            ["cx12"],
            ["cx23", "rx0..."],  # {2,3} then rx0 makes 3 wires; rx1 opens the next block
            ["rx1", "rx2", "cx01", "cx12"],
            ["rx3", "cx23"],
        ]
    )
    with pytest.raises(ValueError, match="does not fit 1 local wires"):
        bound.blocks([(0, 1)], 1)
    assert bound.local_wires(8, 2**20) == 16 and bound.local_wires(16, 2**20) == 15
    assert len(bound.vqc_gates(3, 2)) == 3 + 2 * (2 * 3 + 3)


def test_limit_rows_from_a_document():
    def result(workload, case, median):
        label = f"n={case['n']}"
        return {"workload": workload, "framework": "hqml", "status": "ok", "case": case,
                "label": label, "median_s": median}  # fmt: skip

    doc = {
        "bandwidth": {"best_gbs": 10.0},
        "machine": {"l2_bytes": 2**16},  # k = log2(64 KiB / 16 B) = 12 wires for complex64
        "results": [
            result("W1", {"n": 4, "batch": 64, "layers": 4}, 1e-3),  # W1 below 12: no bound
            result("W1", {"n": 12, "batch": 64, "layers": 4}, 1e-2),
            result("W2", {"n": 20, "layers": 10, "dtype": "complex128"}, 0.1),
            result("W5", {"n": 20}, 0.1),
        ],
    }
    rows = bound.limit_rows(doc)
    assert [r["workload"] for r in rows] == ["W1", "W2"]
    w1, w2 = rows
    assert w1["local_wires"] == 12 and w1["blocks"] == 1  # the whole 12-qubit state is a tile
    assert w1["transfers"] == 9 and w1["bound_s"] == pytest.approx(9 * 64 * 2**12 * 8 / 1e10)
    assert w1["distance"] == pytest.approx(1e-2 / w1["bound_s"])
    f = bound.blocks(bound.w2_gates(20, 10), 11)  # complex128: 11 wires
    assert w2["blocks"] == f and w2["bound_s"] == pytest.approx(2 * f * 2**20 * 16 / 1e10)
    assert bound.limit_rows({"results": doc["results"]}) == []  # no bandwidth measured


def test_missing_peers_are_reported_with_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "qsimcirq", None)  # an import of it fails here
    monkeypatch.setitem(sys.modules, "pennylane_lightning.lightning_kokkos", None)
    python_for = isolated._python_for  # as if CUDA-Q's side venv were not built
    monkeypatch.setattr(isolated, "_python_for", lambda v: None if v == "cudaq" else python_for(v))
    # a peer without an implementation is listed with why (none is, since CUDA-Q's adapters)
    monkeypatch.setitem(peers.NOT_IN_SUITE, "somepeer", "Some peer: not in the suite, because")
    doc = run_suite(
        ["W2"], quick=True, repeats=1, frameworks=["qsim", "lightning.kokkos", "cudaq"],
        bandwidth=False,
    )  # fmt: skip
    status = {(r["workload"], r["label"], r["framework"]): r for r in doc["results"]}
    qsim = status[("W2", "n=4 c64", "qsim")]
    assert qsim["status"] == "not installed" and peers.QSIM_INSTALL in qsim["detail"]
    assert status[("W2", "n=4 c128", "qsim")]["status"] == "skipped"  # complex64 only
    kokkos = status[("W2", "n=4 c64", "lightning.kokkos")]
    assert kokkos["status"] == "not installed" and peers.KOKKOS_INSTALL in kokkos["detail"]
    cudaq = status[("W2", "n=4 c128", "cudaq")]
    assert cudaq["status"] == "not installed" and "make bench-envs" in cudaq["detail"]
    assert status[("W2", "n=4 c64", "cudaq")]["status"] == "skipped"  # complex128 only
    assert set(doc["peers_not_in_suite"]) == {"somepeer"}
    out = io.StringIO()
    print_report(doc, Console(file=out, width=300))
    text = out.getvalue()
    assert "qsim not installed: qsimcirq: " in text and peers.QSIM_INSTALL in text
    assert "peer somepeer: Some peer: not in the suite" in text


def test_w7_sampled_step_agrees_with_exact_values_within_its_tolerances_only():
    from hqml.bench import vqc
    from hqml.bench.registry import compare
    from hqml.bench.w7_shots import WORKLOAD, make_data, tolerances

    case = WORKLOAD.quick_cases[0]
    data = make_data(case)
    _, sampled = run_one("W7", "hqml", case, repeats=1)
    exact = vqc.pennylane_vqc(data["x"], data["w"], loss="vqc")  # PennyLane, no shots
    reference = exact.values(exact.step())
    tol = tolerances(case)
    ok, detail = compare(sampled, reference, tolerances=tol)
    assert ok, detail
    assert 0 < np.max(np.abs(sampled["expval"] - reference["expval"]))  # it did sample
    flipped = {**reference, "expval": -reference["expval"]}  # a sign convention error
    assert not compare(sampled, flipped, tolerances=tol)[0]
    assert not compare(sampled, reference)[0]  # the default tolerances are for exact values


def test_w6_trajectories_agree_with_aer_density_matrix_within_their_tolerances():
    from hqml.bench import noisy_peers
    from hqml.bench.registry import compare
    from hqml.bench.w6_noise import WORKLOAD, make_data, tolerances

    case = next(c for c in WORKLOAD.quick_cases if c.get("trajectories"))
    data = make_data(case)
    _, sampled = run_one("W6", "hqml", case, repeats=1)
    exact_case = {k: v for k, v in case.items() if k != "trajectories"}
    aer = noisy_peers.aer(exact_case, data)  # Qiskit Aer's exact density matrix
    reference = aer.values(aer.step())
    tol = tolerances(case)
    ok, detail = compare(sampled, reference, keys=("expval", "loss"), tolerances=tol)
    assert ok, detail
    assert not compare(sampled, {"expval": -reference["expval"]}, tolerances=tol)[0]
    assert tolerances(exact_case) == {}  # density matrices: the exact default tolerances


def test_catalyst_runs_in_its_side_venv_or_is_reported_with_how_to_build_it():
    doc = run_suite(["W3"], quick=True, repeats=1, frameworks=["catalyst"], bandwidth=False)
    row = next(
        r for r in doc["results"] if r["framework"] == "catalyst" and r["label"] == "n=4 L=2"
    )
    if row["status"] == "not installed":  # no benchmarks/.envs/catalyst in this checkout
        assert "benchmarks/.envs/catalyst" in row["detail"] and "make bench-envs" in row["detail"]
    else:  # agreed with hqml's values and gradient before it was timed
        assert row["status"] == "ok", row
        assert row["median_s"] > 0 and "qjit" in row["info"]


def test_cudaq_adapters_agree_with_hqml():
    """CUDA-Q's W1, W2 and W8 adapters against hqml (runs where cudaq is importable: the side
    venv of `make bench-envs`)."""
    pytest.importorskip("cudaq")
    from hqml.bench import cudaq_peer, vqc, w1_vqc, w2_statevector, w8_qaoa

    d = w1_vqc.make_data({"n": 3, "batch": 4, "layers": 2})
    ref, got = vqc.hqml_vqc(d["x"], d["w"], loss="vqc"), cudaq_peer.vqc(d["x"], d["w"], loss="vqc")
    for key, value in got.values(got.step()).items():
        np.testing.assert_allclose(value, ref.values(ref.step())[key], atol=1e-5)
    case = {"n": 4, "layers": 10, "dtype": "complex128"}
    d = w2_statevector.make_data(case)
    ref, got = (
        w2_statevector._hqml(case, d, "cpu"),
        cudaq_peer.statevector(4, d["theta"], d["index"]),
    )
    np.testing.assert_allclose(got.values(got.step())["amplitudes"],
                               ref.values(ref.step())["amplitudes"], atol=1e-12)  # fmt: skip
    case = {"n": 6, "p": 3}
    d = w8_qaoa.make_data(case)
    ref, got = w8_qaoa._hqml(case, d, "cpu"), cudaq_peer.qaoa(6, 3, d["edges"], d["w"])
    want = ref.values(ref.step())
    for key, value in got.values(got.step()).items():
        np.testing.assert_allclose(value, want[key], atol=1e-4)
