"""scikit-learn's bundled datasets (shipped with the package; nothing is downloaded).

>>> ds = load_digits(size=4, seed=0)
>>> ds.x_train.shape[1:], ds.n_classes
((16,), 10)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Dataset, check_positive, split_and_scale


def downsample_digits(images: np.ndarray, size: int) -> np.ndarray:
    """Average-pool ``(n, 8, 8)`` digit images to ``(n, size, size)``; size divides 8."""
    if size not in (1, 2, 4, 8):
        raise ValueError(f"digits size must be one of (1, 2, 4, 8), got {size!r}")
    k = 8 // size
    return images.reshape(len(images), size, k, size, k).mean(axis=(2, 4))


def load_digits(
    size: int = 4,
    n_classes: int = 10,
    test_size: float = 0.25,
    seed: int = 0,
    scale: str = "standard",
    as_tensors: bool = False,
    images: bool = False,
) -> Dataset:
    """Handwritten digits (1797 images, 8x8) kept at 8x8 or average-pooled to 4x4 (or 2x2).

    Args:
        size: image side after pooling: 8, 4, 2 or 1.
        n_classes: keep the digits ``0..n_classes-1`` (2..10).
        test_size: fraction held out for testing (stratified).
        seed: seeds the split.
        scale: "standard", "minmax" (to ``[0, pi]``) or "none"; fitted on the training part.
        as_tensors: return torch tensors instead of NumPy arrays.
        images: features as ``(n, 1, size, size)`` images instead of flat vectors.
    """
    from sklearn.datasets import load_digits as sk_digits

    n_classes = check_positive(n_classes, "n_classes", 2)
    if n_classes > 10:
        raise ValueError(f"n_classes must be between 2 and 10 for digits, got {n_classes}")
    d = sk_digits()
    keep = d.target < n_classes
    x = downsample_digits(d.images[keep], size)
    x = x[:, None] if images else x.reshape(len(x), -1)
    return split_and_scale(
        x,
        d.target[keep],
        name=f"digits{size}x{size}",
        test_size=test_size,
        seed=seed,
        scale=scale,
        as_tensors=as_tensors,
        info={"size": size, "images": images},
    )


def _sklearn(
    loader: str,
    name: str,
    test_size: float,
    seed: int,
    scale: str,
    as_tensors: bool,
    n_features: int | None,
) -> Any:
    import sklearn.datasets

    d = getattr(sklearn.datasets, loader)()
    x = d.data
    if n_features is not None:
        n_features = check_positive(n_features, "n_features")
        if n_features > x.shape[1]:
            raise ValueError(
                f"{name} has {x.shape[1]} features; n_features={n_features} is too many"
            )
        x = _pca(x, d.target, n_features, test_size, seed)
    return split_and_scale(
        x,
        d.target,
        name=name,
        test_size=test_size,
        seed=seed,
        scale=scale,
        as_tensors=as_tensors,
        info={"n_features": x.shape[1]},
    )


def _pca(x: np.ndarray, y: np.ndarray, k: int, test_size: float, seed: int) -> np.ndarray:
    """Project on the top ``k`` principal components of the (future) training part only."""
    from sklearn.decomposition import PCA
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(x))
    train_idx, _ = train_test_split(idx, test_size=test_size, random_state=seed, stratify=y)
    mu, sd = x[train_idx].mean(0), x[train_idx].std(0)
    sd = np.where(sd > 0, sd, 1.0)
    pca = PCA(n_components=k, random_state=seed).fit((x[train_idx] - mu) / sd)
    return pca.transform((x - mu) / sd)


def load_iris(
    test_size: float = 0.25,
    seed: int = 0,
    scale: str = "standard",
    as_tensors: bool = False,
    n_features: int | None = None,
) -> Dataset:
    """Iris: 150 flowers, 4 features, 3 classes. ``n_features`` < 4 keeps that many principal
    components (fitted on the training part)."""
    return _sklearn("load_iris", "iris", test_size, seed, scale, as_tensors, n_features)


def load_wine(
    test_size: float = 0.25,
    seed: int = 0,
    scale: str = "standard",
    as_tensors: bool = False,
    n_features: int | None = None,
) -> Dataset:
    """Wine: 178 samples, 13 features, 3 classes (``n_features``: principal components)."""
    return _sklearn("load_wine", "wine", test_size, seed, scale, as_tensors, n_features)


def load_breast_cancer(
    test_size: float = 0.25,
    seed: int = 0,
    scale: str = "standard",
    as_tensors: bool = False,
    n_features: int | None = None,
) -> Dataset:
    """Breast cancer (Wisconsin): 569 samples, 30 features, 2 classes (``n_features``: PCA)."""
    return _sklearn(
        "load_breast_cancer", "breast_cancer", test_size, seed, scale, as_tensors, n_features
    )
