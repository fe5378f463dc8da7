"""The ad hoc dataset: shapes, balance, seeding, and its feature states against hqml's ZZ map."""

import numpy as np
import pytest
import torch

import hqml
from hqml.circuit.templates import zz_feature_map
from hqml.datasets.ad_hoc import ad_hoc, feature_states


def test_shapes_balance_and_seed():
    X, y, Xt, yt = ad_hoc(training_size=15, test_size=5, n=3, gap=0.2, seed=9)
    assert X.shape == (30, 3) and Xt.shape == (10, 3)
    assert np.bincount(y).tolist() == [15, 15] and np.bincount(yt).tolist() == [5, 5]
    assert X.min() >= 0 and X.max() < 2 * np.pi
    again = ad_hoc(training_size=15, test_size=5, n=3, gap=0.2, seed=9)
    for a, b in zip((X, y, Xt, yt), again, strict=True):
        np.testing.assert_array_equal(a, b)
    other = ad_hoc(training_size=15, test_size=5, n=3, gap=0.2, seed=10)
    assert not np.array_equal(X, other[0])


def test_feature_states_are_the_zz_feature_map(rng):
    # hqml's ZZ map implements exp(-i phi Z) where the paper writes exp(+i phi Z): the states are
    # complex conjugates (up to a global phase), so every kernel value agrees
    X = rng.uniform(0, 2 * np.pi, size=(5, 3))
    ours = feature_states(X)
    sim = hqml.state(zz_feature_map(3), inputs={"x": torch.tensor(X)}).numpy()
    overlap = np.abs(np.sum(ours * sim, axis=1))  # <conj(ours)|sim>
    np.testing.assert_allclose(overlap, 1.0, atol=1e-10)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(training_size=-1, test_size=1), "training_size"),
        (dict(training_size=1, test_size=1, n=11), "at most 10"),
        (dict(training_size=1, test_size=1, gap=1.5), "gap"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ad_hoc(**kwargs)
