import numpy as np
import torch

import hqml


def _circuit():
    c = hqml.Circuit(3)
    w = c.weight("w", 3)
    c.ry(w[0], 0).cx(0, 1).rx(w[1], 2).cry(w[2], 2, 1).h(0)
    return c


def test_sample_frequencies_match_probabilities():
    c = _circuit()
    w = torch.tensor([0.9, 2.1, -0.7], dtype=torch.float64)
    p = hqml.probs(c, weights={"w": w})
    shots = 40000
    bits = hqml.sample(c, shots, weights={"w": w}, seed=11)
    idx = (bits * torch.tensor([4, 2, 1])).sum(-1)
    freq = torch.bincount(idx, minlength=8).double() / shots
    sigma = torch.sqrt(p * (1 - p) / shots)
    assert torch.all((freq - p).abs() <= 5 * sigma + 1e-12)
    # probs with shots are these frequencies
    torch.testing.assert_close(
        hqml.probs(c, weights={"w": w}, shots=shots, seed=11, dtype=torch.complex128), freq
    )
    counts = hqml.counts(c, 100, weights={"w": w}, seed=1)
    assert sum(counts.values()) == 100 and all(len(k) == 3 for k in counts)


def test_expval_with_shots_is_within_statistical_error():
    c = _circuit()
    w = torch.tensor([0.9, 2.1, -0.7], dtype=torch.float64)
    obs = [hqml.Z(0) @ hqml.Z(1), hqml.X(2) + 0.5 * hqml.Y(1) @ hqml.X(0), hqml.I() * 2.0]
    exact = hqml.expval(c, obs, weights={"w": w})
    shots = 20000
    est = hqml.expval(c, obs, weights={"w": w}, shots=shots, seed=5)
    # each Pauli term has variance <= 1; the second observable has two terms
    bound = 5 * torch.tensor([1.0, 1.5, 0.0], dtype=torch.float64) / np.sqrt(shots)
    assert torch.all((est - exact).abs() <= bound + 1e-12)
    assert est[2].item() == 2.0


def test_batched_sampling_shapes_and_seed():
    c = hqml.Circuit(2)
    x = c.input("x", 2)
    c.ry(x[0], 0).ry(x[1], 1)
    xs = torch.tensor([[0.0, 0.0], [np.pi, np.pi]])
    bits = hqml.sample(c, 50, inputs={"x": xs}, seed=0)
    assert bits.shape == (2, 50, 2)
    assert bits[0].sum() == 0 and bits[1].sum() == 100


def test_sampling_beyond_multinomial_limit(monkeypatch):
    """Above torch.multinomial's category limit, sampling inverts the CDF; same distribution."""
    from hqml.sim import measure

    monkeypatch.setattr(measure, "MULTINOMIAL_MAX", 4)
    p = torch.tensor([[0.1, 0.2, 0.3, 0.05, 0.15, 0.2, 0.0, 0.0]], dtype=torch.float64)
    idx = measure.sample_indices(p, 50000, torch.Generator().manual_seed(0))
    freq = torch.bincount(idx[0], minlength=8).double() / 50000
    assert torch.all((freq - p[0]).abs() < 5 * torch.sqrt(p[0] * (1 - p[0]) / 50000) + 1e-12)


def test_sample_counts_have_the_multinomial_moments():
    """Outcome counts drawn bit by bit (binomials) against the multinomial's mean, variance and
    covariance, over 20,000 rows; outcomes of probability 0 never occur."""
    from hqml.sim import measure

    p = torch.tensor([0.1, 0.2, 0.3, 0.05, 0.15, 0.2, 0.0, 0.0], dtype=torch.float64)
    rows, shots = 20000, 50
    counts = measure.sample_counts(p.expand(rows, 8), shots, torch.Generator().manual_seed(3))
    assert counts.shape == (rows, 8) and torch.all(counts.sum(1) == shots)
    assert torch.all(counts[:, 6:] == 0) and torch.all(counts == counts.round())
    mean, var = shots * p, shots * p * (1 - p)
    assert torch.all((counts.mean(0) - mean).abs() <= 5 * torch.sqrt(var / rows) + 1e-12)
    # the sample variance's standard error is about var * sqrt(2 / rows)
    assert torch.all((counts.var(0) - var).abs() <= 5 * var * np.sqrt(2 / rows) + 1e-12)
    cov = ((counts[:, 1] - mean[1]) * (counts[:, 2] - mean[2])).mean()
    assert abs(cov + shots * p[1] * p[2]) <= 5 * torch.sqrt(var[1] * var[2] / rows)


def test_sampled_expval_estimates_have_the_binomial_variance():
    """A shot estimate of <Z0 Z1> on 4,000 identical rows: mean <ZZ>, variance (1 - <ZZ>^2)/S;
    and the same seed gives the same estimates."""
    c = hqml.Circuit(3)
    x = c.input("x", 1)
    c.ry(x[0], 0).cx(0, 1).ry(0.7, 1)
    xs = torch.full((4000, 1), 1.1, dtype=torch.float64)
    obs = hqml.Z(0) @ hqml.Z(1)
    exact = hqml.expval(c, obs, inputs={"x": xs[:1]}).item()
    shots = 100
    est = hqml.expval(c, obs, inputs={"x": xs}, shots=shots, seed=9)
    var = (1 - exact**2) / shots
    assert abs(est.mean().item() - exact) <= 5 * np.sqrt(var / 4000)
    assert abs(est.var().item() - var) <= 5 * var * np.sqrt(2 / 4000)
    torch.testing.assert_close(hqml.expval(c, obs, inputs={"x": xs}, shots=shots, seed=9), est)
