"""W10, the hardware-path workload: its statistical agreement check (outputs within k standard
errors of the difference, element by element) and its standard errors, checked against the
spread of simulated shot estimates (binomial draws, independent of hqml's formulas); the
per-step counts as the report prints them."""

from __future__ import annotations

import numpy as np
import pytest

from hqml.bench.hardware_step import shot_errors
from hqml.bench.registry import compare
from hqml.bench.report import per_step_text
from hqml.bench.w10_hardware import WORKLOAD as W10


def test_compare_within_standard_errors_element_by_element():
    ref = {"e": np.array([0.1, 0.5]), "se:e": np.array([0.03, 0.04]), "k": np.float64(1.0)}
    se_diff = np.sqrt(np.array([0.03, 0.04]) ** 2 * 2)
    inside = {"e": ref["e"] + 4.9 * se_diff, "se:e": ref["se:e"], "k": np.float64(1.0)}
    ok, detail = compare(inside, ref, within_se=5)
    assert ok and "4.9 standard errors" in detail
    outside = dict(inside, e=ref["e"] + np.array([0.0, 5.1]) * se_diff)
    ok, detail = compare(outside, ref, within_se=5)
    assert not ok and detail.startswith("e: max|diff| 5.1 standard errors")
    # a key without standard errors keeps the fixed tolerance; without within_se all do
    assert not compare(dict(inside, k=np.float64(1.1)), ref, within_se=5)[0]
    assert not compare(inside, ref)[0]  # 1e-5 on "e" then
    # a zero standard error admits only an equal value; NaN never agrees
    zero = {"e": np.array([1.0]), "se:e": np.array([0.0])}
    assert compare(zero, zero, within_se=5)[0]
    assert not compare(dict(zero, e=np.array([0.999])), zero, within_se=5)[0]
    assert not compare(dict(zero, e=np.array([np.nan])), zero, within_se=5)[0]


def test_shot_errors_match_the_spread_of_simulated_shot_estimates():
    rng = np.random.default_rng(0)
    shots, b, n, reps = 400, 3, 2, 4000
    e_true = rng.uniform(-0.9, 0.9, (b, n))
    d_true = rng.uniform(-1, 1, (b, n))  # parameter-shift derivatives of one weight

    def estimate(mean: np.ndarray) -> np.ndarray:  # <Z> from `shots` outcomes +-1
        return 2 * rng.binomial(shots, (1 + mean) / 2, (reps, *mean.shape)) / shots - 1

    e = estimate(e_true)
    plus = np.clip(e_true + d_true, -1, 1)
    minus = np.clip(e_true - d_true, -1, 1)
    d = (estimate(plus) - estimate(minus)) / 2
    loss = (e**2).sum(-1).mean(-1)
    grad = (2 * e * d).sum(-1).mean(-1)
    se = shot_errors(e_true, (1,), shots)
    np.testing.assert_allclose(se["se:expval"], e.std(0), rtol=0.1)
    assert se["se:loss"] == pytest.approx(loss.std(), rel=0.1)
    assert grad.std() <= se["se:grad"][0] * 1.05  # a bound (|d| <= 1 in the formula)
    assert se["se:grad"][0] < 3 * grad.std()  # and not a vacuous one


def test_w10_is_a_workload_with_three_frameworks_and_a_statistical_check():
    wl = W10
    assert [i.framework for i in wl.impls] == [
        "hqml", "qiskit-ml", "pennylane", "qiskit-ml-tuned", "pennylane-tuned",
    ]  # fmt: skip
    assert wl.impl("pennylane").venv == wl.impl("pennylane-tuned").venv == "pennylane-qiskit"
    assert wl.within_se == 5 and {c["n"] for c in wl.cases} == {4, 8}
    text = per_step_text({"jobs": 2, "circuits": 68, "shots": 68000, "transpilations": 1,
                          "steps": 3})  # fmt: skip
    assert text == "2 jobs, 68 circuits, 68,000 shots per step; 1 transpilation in 3 steps"


def test_w10_runs_end_to_end_at_a_tiny_size_and_agrees_with_qiskit_ml():
    # the quick case (n = 2, B = 2, 500 shots on fake_manila) through the workload's own
    # setups, one step each, hqml and Qiskit ML (PennyLane's plug-in needs its side venv):
    # Qiskit ML agrees with hqml within shot noise, and hqml sends 2 jobs of B (1 + 2P)
    # circuits, transpiled once
    pytest.importorskip("qiskit_machine_learning", reason="needs the bench extra")
    case = W10.quick_cases[0]
    data = W10.make_data(case)
    values, counts = {}, {}
    for name in ("hqml", "qiskit-ml"):
        prepared = W10.impl(name).prepare(case, data)
        values[name] = prepared.values(prepared.step())
        counts[name] = prepared.counts()
    ok, detail = compare(values["qiskit-ml"], values["hqml"], within_se=W10.within_se)
    assert ok, detail
    params = 2 * case["n"] * case["layers"]
    hq = counts["hqml"]
    assert hq["jobs"] == 2 and hq["circuits"] == case["batch"] * (1 + 2 * params)
    assert hq["transpilations"] <= 1 and hq["steps"] == 1
    assert counts["qiskit-ml"]["circuits"] >= hq["circuits"]
