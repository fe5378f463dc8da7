"""Datasets: scikit-learn's bundled sets and seeded generators; never downloads anything.

Every loader returns a :class:`Dataset` (stratified train/test split, scaling fitted on the
training part) as NumPy arrays, or torch tensors with ``as_tensors=True``.

>>> from hqml.datasets import load_iris
>>> load_iris(seed=0).n_classes
3
"""

from importlib import import_module
from typing import Any

from .base import SCALINGS, Dataset, split_and_scale
from .benchmarks import (
    SUITES,
    load_benchmark,
    load_digits_pca,
    load_mnist_cg,
    load_mnist_pca,
    save_benchmark_csv,
    subsample_pca_minus,
)
from .bundled import downsample_digits, load_breast_cancer, load_digits, load_iris, load_wine
from .generators import (
    make_bars_and_stripes,
    make_hidden_manifold,
    make_hyperplanes_parity,
    make_linearly_separable,
    make_two_curves,
)

LOADERS = {
    "digits": load_digits,
    "iris": load_iris,
    "wine": load_wine,
    "breast_cancer": load_breast_cancer,
    "linearly_separable": make_linearly_separable,
    "hyperplanes_parity": make_hyperplanes_parity,
    "two_curves": make_two_curves,
    "hidden_manifold": make_hidden_manifold,
    "bars_and_stripes": make_bars_and_stripes,
}


def load(name: str, **kwargs: Any) -> Dataset:
    """A dataset by name (a key of :data:`LOADERS`), with the loader's keyword arguments."""
    if name not in LOADERS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {sorted(LOADERS)}")
    return LOADERS[name](**kwargs)


def __getattr__(name: str) -> Any:
    # The ad hoc dataset lives in its own module (written separately), imported only when asked:
    # ``hqml.datasets.ad_hoc`` is that module; ``make_ad_hoc`` is its ``ad_hoc`` function.
    if name in ("ad_hoc", "make_ad_hoc"):
        module = import_module(".ad_hoc", __name__)
        value = module if name == "ad_hoc" else module.ad_hoc
        globals()[name] = value
        return value
    raise AttributeError(f"module 'hqml.datasets' has no attribute {name!r}")


__all__ = [
    "Dataset",
    "SCALINGS",
    "split_and_scale",
    "load",
    "LOADERS",
    "load_digits",
    "downsample_digits",
    "load_iris",
    "load_wine",
    "load_breast_cancer",
    "make_linearly_separable",
    "make_hyperplanes_parity",
    "make_two_curves",
    "make_hidden_manifold",
    "make_bars_and_stripes",
    "SUITES",
    "load_benchmark",
    "save_benchmark_csv",
    "load_digits_pca",
    "load_mnist_pca",
    "load_mnist_cg",
    "subsample_pca_minus",
]
