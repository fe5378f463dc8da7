"""The benchmark suites of the qml-benchmarks study (Bowles, Ahmed & Schuld 2024), rebuilt from
the study's seeds, so a user gets the same train/test files as the published scripts
(``paper/benchmarks/generate_*.py`` of XanaduAI/qml-benchmarks) without downloading them.

Each suite varies one difficulty parameter. The study seeds NumPy's global generator once per
suite and generates the datasets in order of the varied value, so the dataset for value ``v``
depends on all earlier ones: :func:`load_benchmark` replays the whole chain up to ``v`` (cheap).

>>> ds = load_benchmark("linearly_separable", 4)
>>> ds.x_train.shape, ds.x_test.shape, ds.info["label_values"]
((240, 4), (60, 4), [-1, 1])
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import benchmark_generators as gen
from .base import Dataset

N_SAMPLES = 300
TEST_SIZE = 0.2


@dataclass(frozen=True)
class Suite:
    """One benchmark family: the parameter it varies, its values, the seed of the chain."""

    name: str
    varied: str
    values: tuple[int, ...]
    seed: int
    description: str


SUITES: dict[str, Suite] = {
    s.name: s
    for s in (
        Suite(
            "linearly_separable",
            "n_features",
            tuple(range(2, 21)),
            42,
            "300 points in [-1,1]^d, margin 0.02 d",
        ),
        Suite(
            "hidden_manifold",
            "n_features",
            tuple(range(2, 21)),
            3,
            "300 points, 6-dimensional hidden manifold",
        ),
        Suite(
            "hidden_manifold_diff",
            "manifold_dimension",
            tuple(range(2, 21)),
            3,
            "300 points in 10 dimensions, manifold dimension varied",
        ),
        Suite(
            "two_curves",
            "n_features",
            tuple(range(2, 21)),
            3,
            "300 points, degree 5, offset 0.1, noise 0.01",
        ),
        Suite(
            "two_curves_diff",
            "degree",
            tuple(range(2, 21)),
            3,
            "300 points in 10 dimensions, degree varied, offset 1/(2 degree)",
        ),
        Suite(
            "hyperplanes_diff",
            "n_hyperplanes",
            tuple(range(2, 21)),
            1,
            "300 points in 10 dimensions from 3, parity of n hyperplanes",
        ),
        Suite(
            "bars_and_stripes",
            "size",
            (4, 8, 16, 32),
            42,
            "1000 train / 200 test images size x size, noise 0.5",
        ),
    )
}


def _split(x: np.ndarray, y: np.ndarray, rng: np.random.RandomState) -> tuple[np.ndarray, ...]:
    # the study calls train_test_split(X, y, test_size=0.2) on the global generator; the same
    # draws come from the same RandomState passed explicitly
    from sklearn.model_selection import train_test_split

    return tuple(train_test_split(x, y, test_size=TEST_SIZE, random_state=rng))


def _chain(name: str) -> Iterator[tuple[int, tuple[np.ndarray, ...]]]:
    """(value, (x_train, x_test, y_train, y_test)) in the study's order for suite ``name``."""
    if name == "bars_and_stripes":
        for size in SUITES[name].values:
            rng = np.random.RandomState(42)  # the study re-seeds for every size
            x_tr, y_tr = gen.bars_and_stripes(1000, size, size, 0.5, rng)
            x_te, y_te = gen.bars_and_stripes(200, size, size, 0.5, rng)
            yield size, (x_tr, x_te, y_tr, y_te)
        return
    rng = np.random.RandomState(SUITES[name].seed)
    steps: list[tuple[str, Callable[[int], tuple[np.ndarray, np.ndarray]]]] = []
    if name == "linearly_separable":
        steps = [(name, lambda d: gen.linearly_separable(N_SAMPLES, d, 0.02 * d, rng))]
    elif name.startswith("hidden_manifold"):
        steps = [
            ("hidden_manifold", lambda d: gen.hidden_manifold(N_SAMPLES, d, 6, rng)),
            ("hidden_manifold_diff", lambda m: gen.hidden_manifold(N_SAMPLES, 10, m, rng)),
        ]
    elif name.startswith("two_curves"):
        steps = [
            ("two_curves", lambda d: gen.two_curves(N_SAMPLES, d, 5, 0.1, 0.01, rng)),
            (
                "two_curves_diff",
                lambda k: gen.two_curves(N_SAMPLES, 10, k, 1 / (2 * k), 0.01, rng),
            ),
        ]
    elif name == "hyperplanes_diff":
        steps = [(name, lambda k: gen.hyperplanes_parity(N_SAMPLES, 10, k, 3, rng))]
    for suite_name, make in steps:  # the *_diff suites continue the chain of their family
        for v in SUITES[suite_name].values:
            x, y = make(v)
            split = _split(np.asarray(x), np.asarray(y), rng)
            if suite_name == name:
                yield v, split
            if suite_name == name and v == SUITES[name].values[-1]:
                return


def load_benchmark(name: str, value: int, *, as_tensors: bool = False) -> Dataset:
    """The study's dataset of suite ``name`` at difficulty ``value`` (a key of :data:`SUITES`).

    Features are as the study wrote them (no further scaling: each model scales its inputs);
    labels are ``0`` for the study's ``-1`` and ``1`` for ``+1`` (``info["label_values"]``).
    Images of bars and stripes are flattened, as in the study's CSV files.

    Raises:
        ValueError: an unknown suite, or a value the suite does not have.
    """
    if name not in SUITES:
        raise ValueError(f"unknown benchmark suite {name!r}; choose one of {sorted(SUITES)}")
    suite = SUITES[name]
    if value not in suite.values:
        raise ValueError(
            f"{name} varies {suite.varied} over {list(suite.values)}; {value!r} is not one of them"
        )
    for v, (x_tr, x_te, y_tr, y_te) in _chain(name):
        if v == value:
            return _dataset(name, suite, v, x_tr, x_te, y_tr, y_te, as_tensors)
    raise AssertionError("unreachable: the chain covers every value of the suite")


def _dataset(
    name: str,
    suite: Suite,
    value: int,
    x_tr: np.ndarray,
    x_te: np.ndarray,
    y_tr: np.ndarray,
    y_te: np.ndarray,
    as_tensors: bool,
) -> Dataset:
    ds = Dataset(
        np.asarray(x_tr, dtype=np.float64).reshape(len(x_tr), -1),
        (np.asarray(y_tr) > 0).astype(np.int64),
        np.asarray(x_te, dtype=np.float64).reshape(len(x_te), -1),
        (np.asarray(y_te) > 0).astype(np.int64),
        f"{name}_{suite.varied}{value}",
        2,
        {"suite": name, suite.varied: value, "seed": suite.seed, "label_values": [-1, 1]},
    )
    return ds.tensors() if as_tensors else ds


def save_benchmark_csv(name: str, folder: str | Path) -> list[Path]:
    """Write every dataset of suite ``name`` as the study's CSV files (features, then the
    ``-1/+1`` label per row; ``<name>_<varied><value>_{train,test}.csv``); returns the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    suite = SUITES[name] if name in SUITES else None
    if suite is None:
        raise ValueError(f"unknown benchmark suite {name!r}; choose one of {sorted(SUITES)}")
    out = []
    for v, (x_tr, x_te, y_tr, y_te) in _chain(name):
        for part, x, y in (("train", x_tr, y_tr), ("test", x_te, y_te)):
            path = folder / f"{name}_{suite.varied}{v}_{part}.csv"
            np.savetxt(path, np.c_[np.reshape(x, (len(x), -1)), y], delimiter=",")
            out.append(path)
    return out


def load_digits_pca(
    n_features: int,
    digits: tuple[int, int] = (3, 5),
    seed: int = 0,
    *,
    n_samples: int | None = None,
    as_tensors: bool = False,
) -> Dataset:
    """Offline stand-in for the study's MNIST 3-vs-5 PCA suite, from scikit-learn's bundled 8x8
    digits (NOT MNIST: 364 images, so accuracies are not comparable with the study's).

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
            f"{path} not found: hqml never downloads data; save MNIST once with"
            " np.savez(path, x_train=..., y_train=..., x_test=..., y_test=...) (e.g. from"
            " keras.datasets.mnist.load_data()), or use load_digits_pca as an offline stand-in"
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
    "SUITES",
    "Suite",
    "load_benchmark",
    "save_benchmark_csv",
    "load_digits_pca",
    "load_mnist_pca",
    "load_mnist_cg",
    "subsample_pca_minus",
    "coarse_grain",
]
