"""Datasets: shapes, seeding, scaling fitted on train only, and each generator's defining rule."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits as sk_digits

import hqml.datasets as D


@pytest.mark.parametrize("name", sorted(D.LOADERS))
def test_every_loader_is_seeded_split_and_scaled(name):
    a, b, c = D.load(name, seed=3), D.load(name, seed=3), D.load(name, seed=4)
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.x_train, c.x_train)
    assert len(a.x_train) + len(a.x_test) == a.info["n_samples"]
    assert set(np.unique(a.y_train)) == set(range(a.n_classes))
    if a.info["scale"] == "standard":
        flat = a.x_train.reshape(len(a.x_train), -1)
        assert np.allclose(flat.mean(0), 0, atol=1e-9)
        assert np.allclose(flat.std(0)[flat.std(0) > 0], 1)


def test_digits_downsampling_is_2x2_average_pooling():
    ds = D.load_digits(size=4, scale="none", test_size=0.5, seed=0)
    images = sk_digits().images
    want = (
        np.array(
            [
                [images[:, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2].mean((1, 2)) for j in range(4)]
                for i in range(4)
            ]
        )
        .transpose(2, 0, 1)
        .reshape(len(images), 16)
    )
    rows = {tuple(r) for r in np.round(want, 9)}
    assert all(tuple(r) in rows for r in np.round(ds.x_train, 9))
    assert D.load_digits(size=8).x_train.shape[1] == 64
    assert D.load_digits(size=4, images=True).x_train.shape[1:] == (1, 4, 4)
    assert D.load_digits(n_classes=3).n_classes == 3


def test_minmax_scaling_maps_train_to_0_pi_and_tensors():
    ds = D.load_iris(scale="minmax", seed=1)
    assert np.allclose(ds.x_train.min(0), 0) and np.allclose(ds.x_train.max(0), np.pi)
    t = D.load_iris(as_tensors=True)
    assert t.x_train.dtype == torch.float32 and t.y_train.dtype == torch.int64
    assert D.load_wine(n_features=4).x_train.shape[1] == 4


def test_linearly_separable_respects_margin_and_is_separable():
    ds = D.make_linearly_separable(300, 3, margin=0.2, scale="none", seed=2)
    x, y = np.concatenate([ds.x_train, ds.x_test]), np.concatenate([ds.y_train, ds.y_test])
    from sklearn.svm import LinearSVC

    assert LinearSVC(C=1e4, max_iter=100000).fit(x, y).score(x, y) == 1.0


def test_bars_and_stripes_images_without_noise():
    ds = D.make_bars_and_stripes(50, size=3, noise=0.0, seed=0)
    for img, label in zip(ds.x_train[:, 0], ds.y_train, strict=True):
        constant_cols = np.all(img == img[0:1, :])
        constant_rows = np.all(img == img[:, 0:1])
        assert (constant_cols, constant_rows) == ((True, False) if label == 0 else (False, True))


def test_parity_and_manifold_labels_balanced_enough():
    for ds in (
        D.make_hyperplanes_parity(400, seed=0),
        D.make_hidden_manifold(400, seed=0),
        D.make_two_curves(400, seed=0),
    ):
        frac = ds.y_train.mean()
        assert 0.2 < frac < 0.8


def test_bad_arguments_name_the_problem():
    with pytest.raises(ValueError, match="unknown dataset"):
        D.load("mnist")
    with pytest.raises(ValueError, match="scale must be one of"):
        D.load_iris(scale="zscore")
    with pytest.raises(ValueError, match="test_size"):
        D.load_iris(test_size=1.5)
    with pytest.raises(ValueError, match="digits size"):
        D.load_digits(size=3)
    with pytest.raises(ValueError, match="dim_hyperplanes"):
        D.make_hyperplanes_parity(n_features=2, dim_hyperplanes=3)
