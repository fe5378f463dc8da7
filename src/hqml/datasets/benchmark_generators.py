"""The data generators of the qml-benchmarks study (Bowles, Ahmed & Schuld 2024, "Better than
classical? The subtle art of benchmarking quantum machine learning models", arXiv:2403.07059).

Each function draws from the NumPy ``RandomState`` it is given, in the same order as the study's
generators draw from NumPy's global legacy generator, so that :mod:`.benchmarks` can rebuild the
study's files from its seeds. Labels are ``-1`` / ``+1`` as in the study. These functions write
the study's definitions down in our own code; where the published code has a quirk it is kept
(and said), because the point is to get the same data.
"""

from __future__ import annotations

import numpy as np

from .base import check_positive


def _rng(rng: np.random.RandomState | int | None) -> np.random.RandomState:
    if isinstance(rng, np.random.RandomState):
        return rng
    return np.random.RandomState(rng)


def linearly_separable(
    n_samples: int, n_features: int, margin: float, rng: np.random.RandomState | int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Uniform points in ``[-1, 1]^d``; label ``-1`` where ``sum(x) > 0``, else ``+1``.

    The separating hyperplane's normal is the all-ones vector. ``2 n_samples`` candidates are
    drawn and those within ``margin`` of the hyperplane (``|sum(x)| <= margin``) are dropped; the
    first ``n_samples`` survivors are kept (fewer when too many fall in the margin, as in the
    study, which never happens for its margins ``0.02 d``).
    """
    n = check_positive(n_samples, "n_samples")
    d = check_positive(n_features, "n_features")
    rng = _rng(rng)
    x = 2 * rng.rand(2 * n, d) - 1
    s = x.sum(1)
    keep = np.abs(s) > margin
    x, s = x[keep][:n], s[keep][:n]
    return x, np.where(s > 0, -1, 1)


def hidden_manifold(
    n_samples: int,
    n_features: int,
    manifold_dimension: int,
    rng: np.random.RandomState | int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The hidden-manifold model (Goldt et al. 2020) as in the study.

    Latent ``c ~ N(0, I_m)``; features ``x = tanh(c F / sqrt(m) - b)`` with Gaussian
    ``F (m, d)`` and biases ``b`` uniform in ``[-1, 1)``; the label is the sign of a random
    one-hidden-layer network ``v . tanh(W c) / sqrt(m)`` minus its median (balanced classes).
    """
    n = check_positive(n_samples, "n_samples", 2)
    d = check_positive(n_features, "n_features")
    m = check_positive(manifold_dimension, "manifold_dimension")
    rng = _rng(rng)
    f = rng.normal(size=(m, d))
    c = rng.normal(size=(n, m), loc=0, scale=1)
    biases = 2 * rng.uniform(size=(d,)) - 1
    x = np.tanh(c @ f / np.sqrt(m) - biases)
    w = rng.normal(size=(m, m))
    v = rng.normal(size=(m,))
    score = np.tanh(c @ w.T) @ v / np.sqrt(m)
    score = score - np.median(score)
    return x, np.where(score < 0, -1, 1)


def hyperplanes_parity(
    n_samples: int,
    n_features: int,
    n_hyperplanes: int,
    dim_hyperplanes: int,
    rng: np.random.RandomState | int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Parity of the sides of ``n_hyperplanes`` random hyperplanes in a ``dim_hyperplanes``-
    dimensional space, embedded linearly in ``n_features`` dimensions, then standardised.

    Points are Gaussian; ``4 n_samples`` are drawn and the first ``n_samples / 2`` of each parity
    kept. Study quirk kept: points of even parity get label ``-1`` and odd parity ``+1`` (the
    published code labels the subsets the other way round from its own ``predict``).
    """
    n = check_positive(n_samples, "n_samples", 2)
    d = check_positive(n_features, "n_features")
    k = check_positive(n_hyperplanes, "n_hyperplanes")
    m = check_positive(dim_hyperplanes, "dim_hyperplanes")
    rng = _rng(rng)
    weights = rng.uniform(size=(k, m))
    biases = rng.uniform(size=(k,))
    z = rng.normal(size=(4 * n, m))
    even = ((z @ weights.T + biases > 0).sum(1) % 2) == 0
    a, b = z[even], z[~even]
    if len(a) < n // 2 or len(b) < n // 2:
        raise ValueError(
            f"hyperplanes_parity: {4 * n} draws gave {len(a)} even / {len(b)} odd points, too"
            " few for balanced classes; use another seed"
        )
    z = np.concatenate([a[: n // 2], b[: n // 2]])
    y = np.array([-1] * (n // 2) + [1] * (n // 2))
    x = z @ rng.uniform(size=(m, d))
    return _standardise(x), y


def two_curves(
    n_samples: int,
    n_features: int,
    degree: int,
    offset: float,
    noise: float,
    rng: np.random.RandomState | int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Two noisy curves in ``n_features`` dimensions, one per class, then standardised.

    Coordinate ``i`` of the curve is the Fourier series ``a_i0 + b_i0 + sum_k a_ik cos(pi k t) +
    b_ik sin(pi k t)`` (``k = 1..degree``, coefficients uniform then normalised together to unit
    norm), ``t`` uniform in ``[0, 1)``, each coordinate with Gaussian ``noise``. The second
    class is the same curve shifted by ``offset`` in every coordinate.
    """
    n = check_positive(n_samples, "n_samples", 2)
    d = check_positive(n_features, "n_features")
    deg = check_positive(degree, "degree")
    rng = _rng(rng)
    coeffs = rng.uniform(size=(d, deg + 1, 2))
    coeffs = coeffs / np.linalg.norm(coeffs)
    k = np.arange(1, deg + 1)

    def curve(count: int) -> np.ndarray:
        out = np.zeros((count, d))
        for s in range(count):
            t = rng.rand()
            eps = rng.normal(0, noise, size=d)  # one draw per coordinate, in coordinate order
            base = coeffs[:, 0, 0] + coeffs[:, 0, 1]
            waves = coeffs[:, 1:, 0] @ np.cos(np.pi * k * t) + coeffs[:, 1:, 1] @ np.sin(
                np.pi * k * t
            )
            out[s] = base + waves + eps
        return out

    a = curve(n // 2)
    b = curve(n // 2) + offset
    y = np.array([-1] * (n // 2) + [1] * (n // 2))
    return _standardise(np.concatenate([a, b])), y


def bars_and_stripes(
    n_samples: int,
    height: int,
    width: int,
    noise_std: float,
    rng: np.random.RandomState | int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Noisy ``height x width`` images ``(n, 1, h, w)``: stripes (label ``+1``: random rows set
    to ``+1``) or bars (label ``-1``: random columns), background ``-1``, Gaussian noise.

    As in the study an image may have no line set at all (then it is all ``-1`` plus noise and
    its label is a coin flip) or every line set.
    """
    n = check_positive(n_samples, "n_samples")
    h = check_positive(height, "height")
    w = check_positive(width, "width")
    rng = _rng(rng)
    x = -np.ones((n, 1, h, w))
    y = np.zeros(n, dtype=np.int64)
    for i in range(n):
        if rng.rand() > 0.5:
            x[i, 0, np.where(rng.rand(h) > 0.5)[0], :] = 1.0
            y[i] = 1
        else:
            x[i, 0, :, np.where(rng.rand(w) > 0.5)[0]] = 1.0
            y[i] = -1
        x[i, 0] += rng.normal(0, noise_std, size=(h, w))
    return x, y


def _standardise(x: np.ndarray) -> np.ndarray:
    sd = x.std(0)
    return (x - x.mean(0)) / np.where(sd > 0, sd, 1.0)


__all__ = [
    "linearly_separable",
    "hidden_manifold",
    "hyperplanes_parity",
    "two_curves",
    "bars_and_stripes",
]
