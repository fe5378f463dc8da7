"""The qml-benchmarks suites: each generator against its definition, and the seed chain against
a plain scalar transcription of the study's scripts (written here, element by element)."""

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

import hqml.datasets as D
from hqml.datasets import benchmark_generators as G


def _study_linearly_separable(n_features_max):
    """The study's script in its own style: one generator, scalar loops, split per dataset."""
    rng = np.random.RandomState(42)
    out = {}
    for d in range(2, n_features_max + 1):
        X = 2 * rng.rand(600, d) - 1
        X = [x for x in X if abs(sum(x)) > 0.02 * d][:300]
        y = [-1 if sum(x) > 0 else 1 for x in X]
        out[d] = train_test_split(np.array(X), np.array(y), test_size=0.2, random_state=rng)
    return out


def test_linearly_separable_chain_matches_the_study_script():
    ref = _study_linearly_separable(5)
    for d in (2, 5):
        ds = D.load_benchmark("linearly_separable", d)
        x_tr, x_te, y_tr, y_te = ref[d]
        np.testing.assert_allclose(ds.x_train, x_tr, rtol=0, atol=1e-12)
        np.testing.assert_allclose(ds.x_test, x_te, rtol=0, atol=1e-12)
        np.testing.assert_array_equal(ds.y_train, (y_tr > 0).astype(int))
        assert ds.x_train.shape == (240, d) and ds.x_test.shape == (60, d)


def test_two_curves_matches_a_scalar_transcription():
    rng = np.random.RandomState(3)
    d, deg, n = 3, 4, 20
    coeffs = rng.uniform(size=(d, deg + 1, 2))
    coeffs = coeffs / np.sqrt((coeffs**2).sum())

    def point():
        t = rng.rand()
        row = []
        for i in range(d):
            c = coeffs[i]
            v = c[0, 0] + c[0, 1]
            for f in range(1, deg + 1):
                v += c[f, 0] * np.cos(f * np.pi * t) + c[f, 1] * np.sin(f * np.pi * t)
            row.append(v + rng.normal(loc=0, scale=0.01))
        return row

    a = np.array([point() for _ in range(n // 2)])
    b = np.array([point() for _ in range(n // 2)]) + 0.1
    X = np.r_[a, b]
    X = (X - X.mean(0)) / X.std(0)
    x, y = G.two_curves(n, d, deg, 0.1, 0.01, np.random.RandomState(3))
    np.testing.assert_allclose(x, X, atol=1e-12)
    np.testing.assert_array_equal(y, [-1] * 10 + [1] * 10)


def test_linearly_separable_definition():
    x, y = G.linearly_separable(500, 6, 0.3, rng=0)
    s = x.sum(1)
    assert np.all(np.abs(s) > 0.3) and np.all(np.abs(x) <= 1)
    np.testing.assert_array_equal(y, np.where(s > 0, -1, 1))


def test_hidden_manifold_is_balanced_and_bounded():
    x, y = G.hidden_manifold(300, 8, 6, rng=1)
    assert x.shape == (300, 8) and np.all(np.abs(x) < 1)
    assert (y == 1).sum() == 150 and (y == -1).sum() == 150
    # features are functions of a 6-dimensional latent: atanh(x) + b has rank 6
    x2, _ = G.hidden_manifold(300, 10, 3, rng=2)
    sv = np.linalg.svd(np.arctanh(x2) - np.arctanh(x2).mean(0), compute_uv=False)
    assert sv[3] < 1e-8 * sv[0]


def test_hyperplanes_parity_embeds_a_low_dimensional_space_and_is_balanced():
    x, y = G.hyperplanes_parity(300, 10, 4, 3, rng=5)
    assert (y == 1).sum() == 150 and (y == -1).sum() == 150
    np.testing.assert_allclose(x.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(x.std(0), 1, atol=1e-12)
    assert np.linalg.matrix_rank(x, tol=1e-8) == 3


def test_bars_and_stripes_images_follow_their_label():
    x, y = G.bars_and_stripes(200, 4, 5, 0.0, rng=7)
    assert x.shape == (200, 1, 4, 5) and set(np.unique(x)) <= {-1.0, 1.0}
    for img, label in zip(x[:, 0], y, strict=True):
        if label == 1:  # stripes: every row constant
            assert np.all(img == img[:, :1])
        else:  # bars: every column constant
            assert np.all(img == img[:1, :])
    noisy, _ = G.bars_and_stripes(2000, 4, 4, 0.5, rng=7)
    clean, _ = G.bars_and_stripes(2000, 4, 4, 0.0, rng=7)
    # same seed: the same lines are drawn, and the difference is the Gaussian noise alone
    assert abs(np.std(noisy - clean) - 0.5) < 4 * 0.5 / np.sqrt(2 * 32000)


def test_bars_and_stripes_suite_sizes_and_reseeding():
    ds = D.load_benchmark("bars_and_stripes", 4)
    assert ds.x_train.shape == (1000, 16) and ds.x_test.shape == (200, 16)
    x_tr, y_tr = G.bars_and_stripes(1000, 4, 4, 0.5, np.random.RandomState(42))
    np.testing.assert_allclose(ds.x_train, x_tr.reshape(1000, -1))
    np.testing.assert_array_equal(ds.y_train, (y_tr > 0).astype(int))


# the MNIST suites need the user's file: tests/experiment/test_compare_mnist.py covers them
@pytest.mark.parametrize("name", sorted(n for n, s in D.SUITES.items() if s.source != "mnist"))
def test_every_suite_is_reproducible_and_balanced(name):
    value = D.SUITES[name].values[1]
    a, b = D.load_benchmark(name, value), D.load_benchmark(name, value)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    p = a.y_train.mean()
    n = len(a.y_train)
    assert abs(p - 0.5) < 4 * 0.5 / np.sqrt(n)  # balanced up to the split (4 standard errors)


def test_diff_suites_continue_their_familys_chain():
    # hidden_manifold_diff is drawn after the 19 hidden_manifold sets from the same seed
    rng = np.random.RandomState(3)
    for d in range(2, 21):
        G.hidden_manifold(300, d, 6, rng)
        train_test_split(np.zeros((300, 1)), np.zeros(300), test_size=0.2, random_state=rng)
    x, y = G.hidden_manifold(300, 10, 2, rng)
    x_tr, *_ = train_test_split(x, y, test_size=0.2, random_state=rng)
    np.testing.assert_allclose(D.load_benchmark("hidden_manifold_diff", 2).x_train, x_tr)


def test_bad_requests_are_refused_in_one_line():
    with pytest.raises(ValueError, match="unknown benchmark suite"):
        D.load_benchmark("nope", 2)
    with pytest.raises(ValueError, match="varies n_features"):
        D.load_benchmark("linearly_separable", 1)
    with pytest.raises(FileNotFoundError, match="never downloads"):
        D.load_mnist_pca("/nonexistent/mnist.npz", 4)


def test_digits_stand_in_is_named_as_such():
    ds = D.load_digits_pca(5)
    assert ds.info["stand_in_for"] == "mnist_pca" and ds.x_train.shape[1] == 5
    assert set(np.unique(ds.y_train)) == {0, 1}


def test_csv_files_hold_features_then_label(tmp_path):
    paths = D.save_benchmark_csv("hyperplanes_diff", tmp_path)
    assert len(paths) == 38
    data = np.loadtxt(tmp_path / "hyperplanes_diff_n_hyperplanes3_train.csv", delimiter=",")
    ds = D.load_benchmark("hyperplanes_diff", 3)
    np.testing.assert_allclose(data[:, :-1], ds.x_train)
    np.testing.assert_array_equal(data[:, -1], 2 * ds.y_train - 1)
