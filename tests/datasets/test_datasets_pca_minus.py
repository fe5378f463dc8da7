"""The study's MNIST "pca-" suite (250 training and 250 test rows drawn with replacement from the
PCA suite, after scaling and PCA were fitted on the whole training set), seeded here: from a
local MNIST file and from the bundled digits stand-in."""

import numpy as np
import pytest

from hqml.datasets import load_digits_pca, load_mnist_pca


def _rows_of(small, full):
    """Index in ``full`` of every row of ``small`` (each must be found exactly)."""
    d = np.abs(small[:, None, :] - full[None, :, :]).max(-1)
    assert (d.min(1) == 0).all()
    return d.argmin(1)


def test_mnist_pca_minus_draws_rows_of_the_pca_suite_with_replacement(tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, size=600)
    images = rng.integers(0, 256, size=(600, 28, 28)).astype(np.uint8)
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=images[:400], y_train=labels[:400], x_test=images[400:],
             y_test=labels[400:])  # fmt: skip
    full = load_mnist_pca(path, 3)
    small = load_mnist_pca(path, 3, n_samples=250, seed=7)
    assert small.x_train.shape == (250, 3) and small.x_test.shape == (250, 3)
    assert small.name == "mnist_pca3-250" and small.info["suite"] == "mnist_pca-"
    i, j = _rows_of(small.x_train, full.x_train), _rows_of(small.x_test, full.x_test)
    np.testing.assert_array_equal(small.y_train, full.y_train[i])
    np.testing.assert_array_equal(small.y_test, full.y_test[j])
    want = np.random.default_rng(7)
    np.testing.assert_array_equal(i, want.integers(0, len(full.x_train), 250))
    np.testing.assert_array_equal(j, want.integers(0, len(full.x_test), 250))
    assert len(np.unique(j)) < 250  # with replacement from fewer test rows
    again = load_mnist_pca(path, 3, n_samples=250, seed=7)
    np.testing.assert_array_equal(again.x_train, small.x_train)
    other = load_mnist_pca(path, 3, n_samples=250, seed=8)
    assert not np.array_equal(other.x_train, small.x_train)


def test_digits_stand_in_has_a_seeded_pca_minus_variant():
    full = load_digits_pca(4, seed=1)
    small = load_digits_pca(4, seed=1, n_samples=250)
    assert small.x_train.shape == (250, 4) and small.info["stand_in_for"] == "mnist_pca"
    i = _rows_of(small.x_train, full.x_train)
    np.testing.assert_array_equal(small.y_train, full.y_train[i])
    with pytest.raises(ValueError, match="n_samples must be a positive int") as err:
        load_digits_pca(4, n_samples=0)
    assert len(str(err.value).splitlines()) == 1
