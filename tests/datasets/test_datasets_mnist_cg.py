"""Coarse-grained MNIST (the study's ``mnist_cg`` suite) from a local file: the resize against
Pillow's antialiased bilinear resize (what torchvision's ``Resize`` approximates), the order,
labels and scaling on a small synthetic stand-in file."""

import numpy as np
import pytest
from PIL import Image

from hqml.datasets import load_mnist_cg
from hqml.datasets.benchmarks import coarse_grain


@pytest.mark.parametrize("height", [4, 8, 16, 32])
def test_coarse_grain_agrees_with_pillow_within_one_grey_level(height):
    rng = np.random.default_rng(height)
    images = (rng.random((10, 28, 28)) ** 3 * 255).astype(np.uint8)
    ours = coarse_grain(images, height).astype(int)
    ref = [
        np.asarray(Image.fromarray(im).resize((height, height), Image.BILINEAR)) for im in images
    ]
    diff = np.abs(ours - np.array(ref, dtype=int))
    assert ours.shape == (10, height, height) and diff.max() <= 1 and diff.mean() < 0.3


def test_suite_from_a_local_file_keeps_the_studys_order_and_scaling(tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, size=300)
    images = rng.integers(0, 256, size=(300, 28, 28)).astype(np.uint8)
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=images[:200], y_train=labels[:200], x_test=images[200:],
             y_test=labels[200:])  # fmt: skip
    ds = load_mnist_cg(path, 8)
    n3, n5 = (labels[:200] == 3).sum(), (labels[:200] == 5).sum()
    assert ds.x_train.shape == (n3 + n5, 64) and ds.name == "mnist_cg8"
    assert list(ds.y_train) == [0] * n3 + [1] * n5  # all 3s, then all 5s, as the study
    rows = np.r_[np.flatnonzero(labels[:200] == 3), np.flatnonzero(labels[:200] == 5)]
    pixels = coarse_grain(images[:200][rows], 8).reshape(len(rows), -1).astype(float)
    mu, sd = pixels.mean(0), pixels.std(0)
    np.testing.assert_allclose(ds.x_train, (pixels - mu) / sd, atol=1e-12)
    test_rows = np.r_[np.flatnonzero(labels[200:] == 3), np.flatnonzero(labels[200:] == 5)]
    test_pixels = coarse_grain(images[200:][test_rows], 8).reshape(len(test_rows), -1)
    np.testing.assert_allclose(ds.x_test, (test_pixels - mu) / sd, atol=1e-12)


def test_missing_file_says_how_to_get_one():
    with pytest.raises(FileNotFoundError, match="never downloads") as err:
        load_mnist_cg("/nonexistent/mnist.npz", 8)
    assert len(str(err.value).splitlines()) == 1
