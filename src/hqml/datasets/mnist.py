"""The study's MNIST 3-vs-5 suites (PCA, "pca-" and coarse-grained) from a local file the user
provides (hqml never downloads data), and scikit-learn's bundled 8x8 digits as the offline
stand-in for the PCA suite (NOT MNIST: its accuracies are not comparable with the study's).

The compare suites ``mnist_pca``, ``mnist_pca-`` and ``mnist_cg`` read the file named by the
environment variable :data:`MNIST_ENV` (see :func:`mnist_file`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .base import Dataset

TEST_SIZE = 0.2
MNIST_ENV = "HQML_MNIST_FILE"
_HOW_TO_GET = (
    "hqml never downloads data; save MNIST once as an .npz with"
    " np.savez(path, x_train=..., y_train=..., x_test=..., y_test=...) (e.g. from"
    " keras.datasets.mnist.load_data() or torchvision.datasets.MNIST on a machine with"
    " internet access)"
)


def mnist_file() -> Path:
    """The local MNIST ``.npz`` named by ``$HQML_MNIST_FILE``; a one-line error saying how to
    obtain it (and the offline ``digits_pca`` stand-in) when it is unset or missing."""
    value = os.environ.get(MNIST_ENV, "")
    if not value:
        raise FileNotFoundError(
            f"the MNIST suites read a local file: set {MNIST_ENV}=/path/to/mnist.npz; "
            f"{_HOW_TO_GET}; or use the suite digits_pca (an offline stand-in, not MNIST)"
        )
    path = Path(value).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"{MNIST_ENV}={value}: no such file; {_HOW_TO_GET}; or use the suite digits_pca"
            " (an offline stand-in, not MNIST)"
        )
    return path


def load_digits_pca(
    n_features: int,
    digits: tuple[int, int] = (3, 5),
    seed: int = 0,
    *,
    n_samples: int | None = None,
    as_tensors: bool = False,
) -> Dataset:
    """Offline stand-in for the study's MNIST 3-vs-5 PCA suite, from scikit-learn's bundled 8x8
    digits (NOT MNIST: 365 images, so accuracies are not comparable with the study's).

    Standardise on the training part, then its top ``n_features`` principal components, as the
    study does for MNIST (80/20 stratified split seeded by ``seed``; labels 0 = first digit).
    ``n_samples``: the study's "pca-" variant (see :func:`subsample_pca_minus`), seeded by
    ``seed``.
    """
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA
    from sklearn.model_selection import train_test_split

    d = load_digits()
    keep = np.isin(d.target, digits)
    x, y = d.data[keep], (d.target[keep] == digits[1]).astype(np.int64)
    if not 1 <= n_features <= x.shape[1]:
        raise ValueError(f"n_features must be between 1 and {x.shape[1]}, got {n_features!r}")
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=TEST_SIZE, random_state=seed, stratify=y
    )
    mu, sd = x_tr.mean(0), x_tr.std(0)
    sd = np.where(sd > 0, sd, 1.0)
    pca = PCA(n_components=n_features, random_state=seed).fit((x_tr - mu) / sd)
    ds = Dataset(
        pca.transform((x_tr - mu) / sd),
        y_tr,
        pca.transform((x_te - mu) / sd),
        y_te,
        f"digits_pca{n_features}",
        2,
        {"suite": "digits_pca", "n_features": n_features, "stand_in_for": "mnist_pca"},
    )
    if n_samples is not None:
        ds = subsample_pca_minus(ds, n_samples, seed)
    return ds.tensors() if as_tensors else ds


def subsample_pca_minus(ds: Dataset, n_samples: int, seed: int) -> Dataset:
    """The study's "pca-" suite from its PCA suite: ``n_samples`` training and ``n_samples`` test
    rows drawn with replacement, after the scaling and PCA were fitted on the whole training
    set (the study's ``generate_mnist(..., preprocessing="pca-", n_samples=250)``). The study
    drew them with Python's unseeded ``random.choices``, so its files cannot be regenerated;
    here the draw is ``numpy.random.default_rng(seed)``, train indices first."""
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive int (the study: 250), got {n_samples!r}")
    rng = np.random.default_rng(seed)
    tr = rng.integers(0, len(ds.x_train), n_samples)
    te = rng.integers(0, len(ds.x_test), n_samples)
    meta = dict(ds.info)
    meta.update({"suite": f"{meta['suite']}-", "n_samples": n_samples, "seed": seed})
    name = f"{ds.name}-{n_samples}"
    return Dataset(ds.x_train[tr], ds.y_train[tr], ds.x_test[te], ds.y_test[te], name, 2, meta)


def _mnist_arrays(path: str | Path) -> list[np.ndarray]:
    """``x_train, y_train, x_test, y_test`` of a local MNIST ``.npz`` (refuses a missing file)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: {_HOW_TO_GET}; or use load_digits_pca as an offline stand-in"
        )
    with np.load(path) as f:
        return [f[k] for k in ("x_train", "y_train", "x_test", "y_test")]


def load_mnist_pca(
    path: str | Path,
    n_features: int,
    *,
    n_samples: int | None = None,
    seed: int = 42,
    as_tensors: bool = False,
) -> Any:
    """The study's MNIST 3-vs-5 PCA suite from a local ``.npz`` file with the original split
    (arrays ``x_train (n, 28, 28)``, ``y_train``, ``x_test``, ``y_test``; e.g. saved from
    ``keras.datasets.mnist.load_data()``): standardise on train, then PCA to ``n_features``.
    ``n_samples=250``: the study's "pca-" suite (:func:`subsample_pca_minus`, seeded by
    ``seed``). The PCA is the exact (full) SVD: scikit-learn's default solver at MNIST's size is
    randomized and unseeded (as in the study), so its components changed from call to call.
    """
    from sklearn.decomposition import PCA

    xtr, ytr, xte, yte = _mnist_arrays(path)
    ktr, kte = np.isin(ytr, (3, 5)), np.isin(yte, (3, 5))
    a, b = xtr[ktr].reshape(ktr.sum(), -1), xte[kte].reshape(kte.sum(), -1)
    mu, sd = a.mean(0), a.std(0)
    sd = np.where(sd > 0, sd, 1.0)
    pca = PCA(n_components=n_features, svd_solver="full").fit((a - mu) / sd)
    ds = Dataset(
        pca.transform((a - mu) / sd),
        (ytr[ktr] == 5).astype(np.int64),
        pca.transform((b - mu) / sd),
        (yte[kte] == 5).astype(np.int64),
        f"mnist_pca{n_features}",
        2,
        {"suite": "mnist_pca", "n_features": n_features, "label_values": [-1, 1]},
    )
    if n_samples is not None:
        ds = subsample_pca_minus(ds, n_samples, seed)
    return ds.tensors() if as_tensors else ds


def coarse_grain(images: np.ndarray, height: int) -> np.ndarray:
    """``(n, h0, w0)`` uint8 images resized to ``height x height`` as torchvision's
    ``Resize`` does on tensors: bilinear, antialiased when shrinking, rounded back to uint8."""
    import torch

    x = torch.as_tensor(np.asarray(images, dtype=np.float64))[:, None]
    out = torch.nn.functional.interpolate(
        x, size=(height, height), mode="bilinear", align_corners=False, antialias=True
    )
    return out[:, 0].round().clamp(0, 255).numpy().astype(np.uint8)


def load_mnist_cg(path: str | Path, height: int, *, as_tensors: bool = False) -> Any:
    """The study's coarse-grained MNIST 3-vs-5 suite (``height`` 4, 8, 16 or 32) from a local
    ``.npz`` (as :func:`load_mnist_pca`): the original split, all 3s then all 5s (the study's
    order), images resized by :func:`coarse_grain`, flattened and standardised on train.
    """
    from sklearn.preprocessing import StandardScaler

    h = int(height)
    if h < 1:
        raise ValueError(f"height must be a positive integer, got {height!r}")
    xtr, ytr, xte, yte = _mnist_arrays(path)
    parts = []
    for x, y in ((xtr, ytr), (xte, yte)):
        rows = np.concatenate([np.flatnonzero(y == 3), np.flatnonzero(y == 5)])
        flat = coarse_grain(x[rows], h).reshape(len(rows), -1).astype(np.float64)
        parts.append((flat, (y[rows] == 5).astype(np.int64)))
    scaler = StandardScaler().fit(parts[0][0])
    ds = Dataset(
        scaler.transform(parts[0][0]),
        parts[0][1],
        scaler.transform(parts[1][0]),
        parts[1][1],
        f"mnist_cg{h}",
        2,
        {"suite": "mnist_cg", "height": h, "label_values": [-1, 1]},
    )
    return ds.tensors() if as_tensors else ds


__all__ = [
    "MNIST_ENV",
    "mnist_file",
    "load_digits_pca",
    "load_mnist_pca",
    "load_mnist_cg",
    "subsample_pca_minus",
    "coarse_grain",
]
