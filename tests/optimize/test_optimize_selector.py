"""QUBOFeatureSelector as a scikit-learn transformer: Pipeline, GridSearchCV, estimator checks."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from hqml.optimize import QUBOFeatureSelector


def _data(seed=0, n=240):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 8))
    X[:, 5] = X[:, 1] + 0.05 * rng.normal(size=n)  # a redundant copy of feature 1
    y = ((X[:, 1] + X[:, 3]) > 0).astype(int)
    return X, y


def test_selects_relevant_not_redundant_features():
    X, y = _data()
    sel = QUBOFeatureSelector(k=2, alpha=0.5, random_state=0).fit(X, y)
    chosen = set(sel.get_support(indices=True).tolist())
    assert 3 in chosen and len(chosen & {1, 5}) == 1
    assert sel.transform(X).shape == (240, 2)
    assert sel.solution_.solver == "exact" and sel.solution_.feasible


def test_pipeline_with_grid_search():
    X, y = _data(1)
    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            ("select", QUBOFeatureSelector(random_state=0)),
            ("clf", LogisticRegression()),
        ]
    )
    grid = GridSearchCV(pipe, {"select__k": [1, 2, 4], "select__alpha": [0.5, 0.9]}, cv=3)
    grid.fit(X, y)
    assert grid.best_params_["select__k"] in (2, 4)
    assert grid.best_score_ > 0.9
    kept = set(grid.best_estimator_.named_steps["select"].get_support(indices=True).tolist())
    assert 3 in kept and kept & {1, 5}


def test_bad_k_is_named():
    X, y = _data()
    with pytest.raises(ValueError, match="k must be a positive integer"):
        QUBOFeatureSelector(k=0).fit(X, y)


@parametrize_with_checks([QUBOFeatureSelector(k=2, random_state=0)])
def test_sklearn_compatible(estimator, check):
    check(estimator)
