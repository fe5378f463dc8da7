"""Readout mitigation: calibration recovers the confusion matrices, corrected distributions of a
GHZ state come back within 0.02 total variation, and expectation values are corrected too."""

import numpy as np
import pytest
import torch

import hqml
from hqml.mitigation import ReadoutMitigator, project_to_simplex
from hqml.noise import NoiseModel, ReadoutError

ERRORS = {0: (0.04, 0.09), 1: (0.02, 0.12), 2: (0.06, 0.05), 3: (0.01, 0.15)}


def readout_model():
    nm = NoiseModel()
    for w, (a, b) in ERRORS.items():
        nm.add_readout_error(ReadoutError.from_flips(a, b), wires=[w])
    return nm


def ghz(n=4):
    c = hqml.Circuit(n).h(0)
    for q in range(n - 1):
        c.cnot(q, q + 1)
    return c


def test_exact_calibration_recovers_the_confusion_matrices():
    nm = readout_model()
    mit = ReadoutMitigator.calibrate(4, "density_matrix", noise_model=nm)
    for w, (a, b) in ERRORS.items():
        np.testing.assert_allclose(mit.confusions[w], [[1 - a, b], [a, 1 - b]], atol=1e-12)
    noisy = hqml.probs(ghz(), backend="density_matrix", noise_model=nm, dtype=torch.complex128)
    ideal = np.zeros(16)
    ideal[[0, 15]] = 0.5
    assert 0.5 * np.abs(noisy.numpy() - ideal).sum() > 0.1
    fixed = mit.correct_probs(noisy, [0, 1, 2, 3])
    np.testing.assert_allclose(fixed.numpy(), ideal, atol=1e-12)
    # a marginal in another wire order
    sub = hqml.probs(
        ghz(), wires=[3, 1], backend="density_matrix", noise_model=nm, dtype=torch.complex128
    )
    np.testing.assert_allclose(mit.correct_probs(sub, [3, 1]).numpy(), [0.5, 0, 0, 0.5], atol=1e-12)


def test_ghz_distribution_recovered_within_002_total_variation_from_shots():
    nm = readout_model()
    mit = ReadoutMitigator.calibrate(4, "density_matrix", noise_model=nm, shots=20000, seed=1)
    measured = hqml.probs(ghz(), backend="density_matrix", noise_model=nm, shots=20000, seed=2)
    fixed = mit.correct_probs(measured, [0, 1, 2, 3])
    ideal = np.zeros(16)
    ideal[[0, 15]] = 0.5
    tv_before = 0.5 * np.abs(measured.double().numpy() - ideal).sum()
    tv_after = 0.5 * np.abs(fixed.double().numpy() - ideal).sum()
    assert tv_before > 0.15 and tv_after < 0.02, (tv_before, tv_after)
    assert (fixed >= 0).all() and abs(float(fixed.sum()) - 1) < 1e-6


def test_mitigated_backend_corrects_expectation_values():
    nm = readout_model()
    mit = ReadoutMitigator.calibrate([0, 1, 2, 3], "density_matrix", noise_model=nm)
    c = ghz().ry(0.3, 2)
    obs = [
        hqml.Z(0) @ hqml.Z(1),
        hqml.X(0) @ hqml.X(1) @ hqml.X(2) @ hqml.X(3),
        hqml.Y(1),
        0.5 * hqml.Z(3) + hqml.Z(0) @ hqml.Z(2) - 0.2,
    ]
    be = mit.backend("density_matrix")
    ideal = hqml.expval(c, obs, dtype=torch.complex128)
    noisy = hqml.expval(c, obs, backend="density_matrix", noise_model=nm, dtype=torch.complex128)
    fixed = hqml.expval(c, obs, backend=be, noise_model=nm, dtype=torch.complex128)
    assert (noisy - ideal).abs().max() > 0.1
    torch.testing.assert_close(fixed, ideal, atol=1e-10, rtol=0)
    sampled = hqml.expval(
        c, obs, backend=be, noise_model=nm, shots=20000, seed=4, dtype=torch.complex128
    )
    assert (sampled - ideal).abs().max() < 0.05
    p = hqml.probs(c, wires=[0, 3], backend=be, noise_model=nm, dtype=torch.complex128)
    torch.testing.assert_close(
        p, hqml.probs(c, wires=[0, 3], dtype=torch.complex128), atol=1e-10, rtol=0
    )


def test_simplex_projection_is_the_closest_distribution(rng):
    v = torch.tensor(rng.normal(size=(50, 6)) * 0.4 + 1 / 6)
    p = project_to_simplex(v)
    assert (p >= 0).all()
    torch.testing.assert_close(p.sum(-1), torch.ones(50, dtype=torch.float64))
    # optimality (KKT): p = max(v - tau, 0) with one tau per row, and tau is below every v kept
    tau = (v - p)[p > 0]
    for row in range(50):
        kept = p[row] > 0
        t = (v[row] - p[row])[kept]
        assert torch.allclose(t, t[0].expand_as(t)) and (v[row][~kept] <= t[0] + 1e-12).all()
    q = torch.tensor([[0.1, 0.2, 0.3, 0.4]], dtype=torch.float64)
    torch.testing.assert_close(project_to_simplex(q), q)
    assert tau.numel() > 0


def test_bad_confusion_matrices_are_named():
    with pytest.raises(ValueError, match="singular"):
        ReadoutMitigator({0: [[0.5, 0.5], [0.5, 0.5]]})
    with pytest.raises(ValueError, match="columns"):
        ReadoutMitigator({0: [[0.9, 0.2], [0.2, 0.8]]})
