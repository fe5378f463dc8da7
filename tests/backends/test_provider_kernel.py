"""A quantum-kernel Gram matrix on a provider device, offline: hqml's FidelityKernel on
``qiskit:<device>`` packs every pair into one job of one parametrised circuit; its estimates
agree with the exact kernel (Aer, no noise) and with Qiskit ML's FidelityQuantumKernel on the
same fake device, layout and shots, within 4 standard errors."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("qiskit_ibm_runtime", reason="needs the hardware extra")
pytest.importorskip("qiskit_aer", reason="needs the hardware extra")

from hqml.bench.hardware_kernel import (  # noqa: E402
    agreement,
    data,
    exact_gram,
    hqml_gram,
    qiskit_ml_gram,
)

SHOTS = 2000
X = data(2, 8)
PAIRS = 8 * 7 // 2


def _within(K: np.ndarray, ref: np.ndarray, shots: int, sigmas: float = 4.0) -> bool:
    p = np.clip(ref, 1.0 / shots, 1 - 1.0 / shots)
    return bool((np.abs(K - ref) <= sigmas * np.sqrt(p * (1 - p) / shots) + 1e-12).all())


def test_gram_on_aer_matches_the_exact_kernel_in_one_job():
    r = hqml_gram(X, "aer_simulator", SHOTS, [0, 1])
    assert r["jobs"] == 1 and r["circuits"] == PAIRS and r["shots"] == PAIRS * SHOTS
    assert r["transpilations"] <= 1
    K, exact = r["K"], exact_gram(X)
    assert np.allclose(np.diag(K), 1) and np.allclose(K, K.T)
    assert _within(K, exact, SHOTS)


def test_gram_on_a_fake_device_agrees_with_qiskit_ml():
    pytest.importorskip("qiskit_machine_learning", reason="the Qiskit ML comparison")
    ours = hqml_gram(X, "fake_manila", SHOTS, [0, 1])
    theirs = qiskit_ml_gram(X, "fake_manila", SHOTS, [0, 1])
    assert ours["jobs"] == 1 and ours["circuits"] == PAIRS
    assert theirs["circuits"] == PAIRS and theirs["shots"] == PAIRS * SHOTS
    assert agreement(ours["K"], theirs["K"], SHOTS)["max_z"] < 4
    # the device's noise is visible: both sit below the exact kernel on average
    off = ~np.eye(len(X), dtype=bool)
    exact = exact_gram(X)
    assert (ours["K"] - exact)[off].mean() < 0 and (theirs["K"] - exact)[off].mean() < 0
