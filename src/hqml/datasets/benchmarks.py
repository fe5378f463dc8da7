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

import numpy as np

from . import benchmark_generators as gen
from .base import Dataset
from .mnist import (
    MNIST_ENV,
    coarse_grain,
    load_digits_pca,
    load_mnist_cg,
    load_mnist_pca,
    mnist_file,
    subsample_pca_minus,
)

N_SAMPLES = 300
TEST_SIZE = 0.2


@dataclass(frozen=True)
class Suite:
    """One benchmark family: the parameter it varies, its values, the seed of the chain, and
    where its data comes from (``"generated"`` here, ``"mnist"`` from the user's local file,
    ``"digits"`` from scikit-learn's bundled digits: the offline stand-in)."""

    name: str
    varied: str
    values: tuple[int, ...]
    seed: int
    description: str
    source: str = "generated"


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
        Suite(
            "mnist_pca",
            "n_features",
            tuple(range(2, 21)),
            42,
            f"MNIST 3 vs 5, standardised, PCA; the local file ${MNIST_ENV}",
            "mnist",
        ),
        Suite(
            "mnist_pca-",
            "n_features",
            tuple(range(2, 21)),
            42,
            f"mnist_pca, 250 train / 250 test rows drawn with replacement; ${MNIST_ENV}",
            "mnist",
        ),
        Suite(
            "mnist_cg",
            "height",
            (4, 8, 16, 32),
            42,
            f"MNIST 3 vs 5 coarse-grained to height x height, standardised; ${MNIST_ENV}",
            "mnist",
        ),
        Suite(
            "digits_pca",
            "n_features",
            tuple(range(2, 21)),
            0,
            "STAND-IN, not MNIST: scikit-learn's 8x8 digits 3 vs 5, PCA (365 images)",
            "digits",
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

    The MNIST suites (``mnist_pca``, ``mnist_pca-``, ``mnist_cg``) read the user's local file
    (:func:`~hqml.datasets.mnist.mnist_file`); ``digits_pca`` is the offline stand-in.

    Raises:
        ValueError: an unknown suite, or a value the suite does not have.
        FileNotFoundError: an MNIST suite without its local file (the message says how to get it).
    """
    if name not in SUITES:
        raise ValueError(f"unknown benchmark suite {name!r}; choose one of {sorted(SUITES)}")
    suite = SUITES[name]
    if value not in suite.values:
        raise ValueError(
            f"{name} varies {suite.varied} over {list(suite.values)}; {value!r} is not one of them"
        )
    if suite.source != "generated":
        return _read_suite(suite, value, as_tensors)
    for v, (x_tr, x_te, y_tr, y_te) in _chain(name):
        if v == value:
            return _dataset(name, suite, v, x_tr, x_te, y_tr, y_te, as_tensors)
    raise AssertionError("unreachable: the chain covers every value of the suite")


def _read_suite(suite: Suite, value: int, as_tensors: bool) -> Dataset:
    """A suite read from data (the user's MNIST file, or the bundled digits), not generated."""
    if suite.source == "digits":
        return load_digits_pca(value, seed=suite.seed, as_tensors=as_tensors)
    path = mnist_file()
    if suite.name == "mnist_cg":
        return load_mnist_cg(path, value, as_tensors=as_tensors)
    n_samples = 250 if suite.name == "mnist_pca-" else None
    return load_mnist_pca(path, value, n_samples=n_samples, seed=suite.seed, as_tensors=as_tensors)


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
    if suite.source != "generated":
        raise ValueError(
            f"{name} is read from data, not generated by the study's seeds: nothing to save"
            " (save_benchmark_csv writes the generated suites)"
        )
    out = []
    for v, (x_tr, x_te, y_tr, y_te) in _chain(name):
        for part, x, y in (("train", x_tr, y_tr), ("test", x_te, y_te)):
            path = folder / f"{name}_{suite.varied}{v}_{part}.csv"
            np.savetxt(path, np.c_[np.reshape(x, (len(x), -1)), y], delimiter=",")
            out.append(path)
    return out


__all__ = [
    "SUITES",
    "Suite",
    "load_benchmark",
    "save_benchmark_csv",
    "MNIST_ENV",
    "mnist_file",
    "load_digits_pca",
    "load_mnist_pca",
    "load_mnist_cg",
    "subsample_pca_minus",
    "coarse_grain",
]
