"""Seeded synthetic classification tasks of the kinds used in QML benchmark studies
(Bowles, Ahmed & Schuld 2024, "Better than classical?"). Labels are 0/1.

>>> ds = make_linearly_separable(100, 4, seed=1)
>>> ds.x_train.shape, sorted(set(ds.y_train.tolist()))
((75, 4), [0, 1])
"""

from __future__ import annotations

import numpy as np

from .base import Dataset, check_positive, split_and_scale


def _finish(
    x: np.ndarray,
    y: np.ndarray,
    name: str,
    test_size: float,
    seed: int,
    scale: str,
    as_tensors: bool,
    info: dict,
) -> Dataset:
    return split_and_scale(
        x,
        y,
        name=name,
        test_size=test_size,
        seed=seed,
        scale=scale,
        as_tensors=as_tensors,
        info=info,
        n_classes=2,
    )


def make_linearly_separable(
    n_samples: int = 200,
    n_features: int = 4,
    margin: float = 0.1,
    test_size: float = 0.25,
    seed: int = 0,
    scale: str = "standard",
    as_tensors: bool = False,
) -> Dataset:
    """Points uniform in ``[-1, 1]^d`` labelled by the side of a random hyperplane through the
    origin; points closer than ``margin`` to the hyperplane are rejected (resampled)."""
    n = check_positive(n_samples, "n_samples", 4)
    d = check_positive(n_features, "n_features")
    if not 0 <= margin < 0.5:
        raise ValueError(f"margin must be in [0, 0.5), got {margin!r}")
    rng = np.random.default_rng(seed)
    normal = rng.normal(size=d)
    normal /= np.linalg.norm(normal)
    rows: list[np.ndarray] = []
    while sum(len(r) for r in rows) < n:
        cand = rng.uniform(-1, 1, size=(2 * n, d))
        rows.append(cand[np.abs(cand @ normal) > margin])
    x = np.concatenate(rows)[:n]
    y = (x @ normal > 0).astype(np.int64)
    return _finish(
        x,
        y,
        "linearly_separable",
        test_size,
        seed,
        scale,
        as_tensors,
        {"n_features": d, "margin": margin},
    )


def make_hyperplanes_parity(
    n_samples: int = 200,
    n_features: int = 4,
    n_hyperplanes: int = 2,
    dim_hyperplanes: int = 2,
    test_size: float = 0.25,
    seed: int = 0,
    scale: str = "standard",
    as_tensors: bool = False,
) -> Dataset:
    """Gaussian points; the label is the parity of the sides of ``n_hyperplanes`` random
    hyperplanes that live in a random ``dim_hyperplanes``-dimensional subspace."""
    n = check_positive(n_samples, "n_samples", 4)
    d = check_positive(n_features, "n_features")
    k = check_positive(n_hyperplanes, "n_hyperplanes")
    m = check_positive(dim_hyperplanes, "dim_hyperplanes")
    if m > d:
        raise ValueError(f"dim_hyperplanes ({m}) must not exceed n_features ({d})")
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.normal(size=(d, m)))  # (d, m) orthonormal
    normals = rng.normal(size=(k, m))
    offsets = rng.normal(scale=0.3, size=k)
    x = rng.normal(size=(n, d))
    sides = ((x @ basis) @ normals.T > offsets).astype(np.int64)  # (n, k)
    y = sides.sum(1) % 2
    return _finish(
        x,
        y,
        "hyperplanes_parity",
        test_size,
        seed,
        scale,
        as_tensors,
        {"n_features": d, "n_hyperplanes": k, "dim_hyperplanes": m},
    )


def make_two_curves(
    n_samples: int = 200,
    n_features: int = 4,
    degree: int = 3,
    offset: float = 0.1,
    noise: float = 0.01,
    test_size: float = 0.25,
    seed: int = 0,
    scale: str = "standard",
    as_tensors: bool = False,
) -> Dataset:
    """Two parallel curves in ``n_features`` dimensions, one per class.

    A random closed curve ``f(t)`` (a Fourier series of ``degree`` terms per coordinate,
    ``t`` in ``[0, 1)``) and its copy shifted by ``offset`` along a random unit vector; points
    are sampled at random ``t`` with Gaussian ``noise``.
    """
    n = check_positive(n_samples, "n_samples", 4)
    d = check_positive(n_features, "n_features")
    deg = check_positive(degree, "degree")
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=(2, deg, d)) / np.arange(1, deg + 1)[None, :, None] / np.sqrt(deg)
    shift = rng.normal(size=d)
    shift *= offset / np.linalg.norm(shift)
    t = rng.uniform(size=n)
    k = 2 * np.pi * np.arange(1, deg + 1)[None, :] * t[:, None]  # (n, deg)
    x = np.cos(k) @ a + np.sin(k) @ b
    y = rng.integers(0, 2, size=n)
    x = x + y[:, None] * shift + rng.normal(scale=noise, size=(n, d))
    return _finish(
        x,
        y,
        "two_curves",
        test_size,
        seed,
        scale,
        as_tensors,
        {"n_features": d, "degree": deg, "offset": offset, "noise": noise},
    )


def make_hidden_manifold(
    n_samples: int = 200,
    n_features: int = 4,
    manifold_dim: int = 2,
    test_size: float = 0.25,
    seed: int = 0,
    scale: str = "standard",
    as_tensors: bool = False,
) -> Dataset:
    """The hidden-manifold model (Goldt et al. 2020): latent ``z ~ N(0, I_m)`` mapped to
    ``x = tanh(F z / sqrt(m))``; the label is the sign of a random one-hidden-layer teacher
    network on ``z`` (thresholded at its median so the classes are balanced)."""
    n = check_positive(n_samples, "n_samples", 4)
    d = check_positive(n_features, "n_features")
    m = check_positive(manifold_dim, "manifold_dim")
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(d, m))
    w1, w2 = rng.normal(size=(m, m)), rng.normal(size=m)
    z = rng.normal(size=(n, m))
    x = np.tanh(z @ f.T / np.sqrt(m))
    score = np.tanh(z @ w1.T / np.sqrt(m)) @ w2
    y = (score > np.median(score)).astype(np.int64)
    return _finish(
        x,
        y,
        "hidden_manifold",
        test_size,
        seed,
        scale,
        as_tensors,
        {"n_features": d, "manifold_dim": m},
    )


def make_bars_and_stripes(
    n_samples: int = 200,
    size: int = 4,
    noise: float = 0.5,
    test_size: float = 0.25,
    seed: int = 0,
    scale: str = "none",
    as_tensors: bool = False,
    images: bool = True,
) -> Dataset:
    """Noisy ``size x size`` images of vertical bars (label 0) or horizontal stripes (label 1).

    Each column (bars) or row (stripes) is +1 or -1 at random, never all equal (that image would
    be both); Gaussian ``noise`` is added. Images are ``(n, 1, size, size)`` unless ``images``
    is False (then flat ``(n, size*size)``).
    """
    n = check_positive(n_samples, "n_samples", 4)
    s = check_positive(size, "size", 2)
    rng = np.random.default_rng(seed)
    lines = rng.choice([-1.0, 1.0], size=(n, s))
    same = np.abs(lines.sum(1)) == s
    lines[same, 0] *= -1  # break all-equal lines
    y = rng.integers(0, 2, size=n)
    bars = np.repeat(lines[:, None, :], s, axis=1)  # (n, s, s): column pattern
    x = np.where(y[:, None, None] == 1, bars.transpose(0, 2, 1), bars)
    x = x + rng.normal(scale=noise, size=x.shape)
    x = x[:, None] if images else x.reshape(n, -1)
    return _finish(
        x,
        y,
        "bars_and_stripes",
        test_size,
        seed,
        scale,
        as_tensors,
        {"size": s, "noise": noise, "images": images},
    )
