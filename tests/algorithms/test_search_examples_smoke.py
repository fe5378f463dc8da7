"""Smoke runs of the architecture-search and learned-QAOA examples at their smallest settings:
the JSON, Markdown table and plot they write, with numbers checked for sanity and, for QAOA, the
ring's starting ratios against a dense statevector computed here."""

from __future__ import annotations

import json
import runpy
import sys
from functools import reduce
from pathlib import Path

import numpy as np
import pytest

from hqml.algorithms import QAOA
from hqml.algorithms.qaoa_angles import AngleExtrapolationWarning, maxcut_hamiltonian, ring_graph

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow  # each runs an example end to end, 10-35 s on a loaded machine


def _run(script: str, argv: list[str], monkeypatch) -> None:
    path = ROOT / "examples" / script
    monkeypatch.setattr(sys, "argv", [str(path), *argv])
    runpy.run_path(str(path), run_name="__main__")


def test_architecture_search_example_writes_report_with_sane_accuracies(tmp_path, monkeypatch):
    argv = ["--out", str(tmp_path), "--quick", "--datasets", "iris", "--seeds", "2"]
    _run("architecture_search.py", argv, monkeypatch)
    (row,) = json.loads((tmp_path / "search.json").read_text())
    assert row["dataset"] == "iris" and row["train_rows"] + row["test_rows"] == 150
    acc = row["test_accuracy"]
    assert set(acc) == {"searched", "fixed", "logistic", "mlp(4)"}
    for values in acc.values():
        assert len(values) == 2 and all(0.0 <= v <= 1.0 for v in values)
    assert max(acc["logistic"]) > 0.8  # iris is nearly linearly separable
    assert row["search_fitness"] <= 0.0 and row["fixed_fitness"] <= 0.0  # log-likelihoods
    # the fixed ansatz is in the starting population: the winner validates no worse
    assert row["search_fitness"] >= row["fixed_fitness"]
    assert row["search_trainings"] >= row["search_candidates"] > 0
    table = (tmp_path / "search.md").read_text().splitlines()
    assert len(table) == 7 and table[-1].startswith(f"| iris | {row['searched']} |")
    # every retraining length was chosen from the quick grid on the validation split
    assert set(row["retrain_epochs"]) == set(acc)
    for k, sel in row["epoch_selection"].items():
        assert sel["grid"] == [10, 30] and row["retrain_epochs"][k] == sel["epochs"] in (10, 30)
        assert sel["fit_rows"] + sel["val_rows"] == row["train_rows"]
    assert "without the test part" in row["selection"]
    diff = np.mean(np.subtract(acc["searched"], acc["fixed"]))
    assert f"{round(diff, 9) + 0.0:+.3f} +- " in table[-1]
    assert (tmp_path / "search.png").read_bytes()[:4] == b"\x89PNG"


def _dense_ratio(n: int, angles: np.ndarray) -> float:
    """<cut> / max cut of the p-layer QAOA state on the n-ring, by dense algebra."""
    bits = (np.arange(2**n)[:, None] >> np.arange(n)) & 1
    cut = sum(bits[:, i] != bits[:, (i + 1) % n] for i in range(n)).astype(float)
    h = n / 2 - cut  # the cost H = sum_edges ZZ / 2 on the computational basis
    p = len(angles) // 2
    psi = np.full(2**n, 2 ** (-n / 2), dtype=complex)
    for gamma, beta in zip(angles[:p], angles[p:], strict=True):
        psi = psi * np.exp(-1j * gamma * h)
        rx = np.array([[np.cos(beta), -1j * np.sin(beta)], [-1j * np.sin(beta), np.cos(beta)]])
        psi = reduce(lambda s, q: np.moveaxis(np.tensordot(rx, s, (1, q)), 0, q), range(n),
                     psi.reshape((2,) * n)).reshape(-1)  # fmt: skip
    return float(np.real(np.vdot(psi, cut * psi)) / cut.max())


def test_qaoa_learned_init_quick_writes_report_and_ratios_match_dense(tmp_path, monkeypatch):
    # held-out graphs are larger (and some less regular) than the 6- and 8-node training graphs
    with pytest.warns(AngleExtrapolationWarning):
        _run("qaoa_learned_init.py", ["--out", str(tmp_path), "--quick"], monkeypatch)
    data = json.loads((tmp_path / "qaoa_init.json").read_text())
    rows = data["rows"]
    assert [(r["kind"], r["n"]) for r in rows] == [
        (k, 10) for k in ("3reg", "4reg", "5reg", "er", "ring", "ladder", "tree")
    ]
    methods = ("learned", "learned-ridge", "learned-base", "fixed", "interp", "ramp")
    for r in rows:
        for m in methods:
            before, after = r[m]["before"], r[m]["after"]
            assert 0.0 < before <= 1.0 and 0.0 < after <= 1.0
            assert after >= before - 1e-9  # L-BFGS-B steps never go uphill
    # the labels were computed in this run, so their time is known and stored in the cache
    cache = json.loads((tmp_path / "train_angles.json").read_text())
    assert data["label_seconds"] == pytest.approx(sum(cache["seconds"].values()))
    assert data["n_train"] == len(cache["base"]) + len(cache["low"]) + len(cache["extra"])
    assert data["train_sets"] == {k: len(cache[k]) for k in ("base", "low", "extra")}
    ring = rows[4]
    q = QAOA(maxcut_hamiltonian(ring_graph(10)), p=3)
    for m, angles in (("fixed", q.fixed(3)), ("ramp", q.ramp(3))):
        assert ring[m]["before"] == pytest.approx(_dense_ratio(10, np.asarray(angles)), abs=1e-6)
    table = (tmp_path / "qaoa_init.md").read_text()
    assert table.startswith(f"Trained on {data['n_train']} graphs")
    assert "| ring | 10 | statevector |" in table and "| after steps (7 graphs) |" in table
    assert (tmp_path / "qaoa_init.png").read_bytes()[:4] == b"\x89PNG"
