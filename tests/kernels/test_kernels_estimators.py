"""Estimators on real tasks: QSVC on the ad hoc data, pipelines, grid search, pickling."""

import pickle
from functools import partial

import numpy as np
import pytest
from kernels.kernel_refs import zz_circuit
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.svm import SVC

from hqml.circuit.templates import angle_encoding, iqp_encoding, zz_feature_map
from hqml.datasets.ad_hoc import ad_hoc
from hqml.kernels import (
    QSVC,
    QSVR,
    FidelityKernel,
    ProjectedKernel,
    QuantumKernelRidge,
    VQClassifier,
    VQRegressor,
    select_bandwidth,
)


def test_qsvc_zz_reaches_95_percent_on_ad_hoc():
    X, y, Xt, yt = ad_hoc(training_size=20, test_size=20, n=2, gap=0.3, seed=7)
    model = QSVC(FidelityKernel(zz_feature_map), C=10.0).fit(X, y)
    accuracy = model.score(Xt, yt)
    assert accuracy >= 0.95, accuracy
    assert model.score(X, y) == 1.0
    # the default kernel is the ZZ map with the bandwidth select_bandwidth picks on the data
    default = QSVC(C=10.0).fit(X, y)
    b = select_bandwidth(FidelityKernel(zz_feature_map), X)
    assert default.bandwidth_ == b and default.kernel_.bandwidth == b
    same = QSVC(FidelityKernel(zz_feature_map, bandwidth=b), C=10.0).fit(X, y)
    np.testing.assert_array_equal(default.decision_function(Xt), same.decision_function(Xt))


def test_qsvc_predictions_use_the_kernel_the_way_an_svm_does(rng):
    X, y, Xt, _ = ad_hoc(training_size=10, test_size=5, n=2, gap=0.3, seed=1)
    k = FidelityKernel(zz_circuit(2))
    model = QSVC(k, C=2.0).fit(X, y)
    dual = model.model_.dual_coef_[0]
    sv = X[model.support_]
    expected = k(Xt, sv) @ dual + model.model_.intercept_[0]
    np.testing.assert_allclose(model.decision_function(Xt), expected, atol=1e-10)
    # the kernel is also a plain scikit-learn kernel callable
    np.testing.assert_array_equal(SVC(kernel=k, C=2.0).fit(X, y).predict(Xt), model.predict(Xt))


def wrap_angles(X):
    return np.mod(X, 2 * np.pi)


def test_pipeline_grid_search_picks_parameters():
    X, y, Xt, yt = ad_hoc(training_size=12, test_size=10, n=2, gap=0.3, seed=3)
    # features are angles: wrapping them into [0, 2 pi) is the natural preprocessing step
    pipe = Pipeline([("wrap", FunctionTransformer(wrap_angles)), ("svc", QSVC())])
    reps = [partial(zz_feature_map, reps=r) for r in (1, 2)]
    grid = GridSearchCV(
        pipe, {"svc__kernel": [FidelityKernel(f) for f in reps], "svc__C": [0.1, 10.0]}, cv=3
    )
    grid.fit(X, y)
    assert set(grid.best_params_) == {"svc__kernel", "svc__C"}
    assert grid.best_params_["svc__C"] == 10.0  # a hard margin fits separable data better
    assert len(grid.cv_results_["params"]) == 4
    scores = grid.cv_results_["mean_test_score"]
    assert grid.best_index_ == int(np.argmax(scores))
    assert grid.score(Xt, yt) >= 0.9
    vq = GridSearchCV(
        Pipeline(
            [
                ("scale", StandardScaler()),
                ("vqc", VQClassifier(max_iter=15, learning_rate=0.2, random_state=0)),
            ]
        ),
        {"vqc__n_layers": [1, 2]},
        cv=2,
    ).fit(X[:16], y[:16])
    assert vq.best_params_["vqc__n_layers"] in (1, 2)
    assert vq.best_estimator_[-1].weights_.shape[0] == vq.best_params_["vqc__n_layers"]


def test_nested_kernel_parameters_and_clone():
    model = QSVC(ProjectedKernel(zz_circuit(2), gamma=0.3), C=2.0)
    assert model.get_params()["kernel__gamma"] == 0.3
    model.set_params(kernel__gamma=0.9)
    twin = clone(model)
    assert twin.kernel.gamma == 0.9 and twin.kernel is not model.kernel
    assert twin.kernel.feature_map == model.kernel.feature_map
    assert twin.kernel.feature_map is not model.kernel.feature_map


@pytest.mark.parametrize(
    "make",
    [
        lambda: QSVC(FidelityKernel(zz_circuit(2)), probability=True, random_state=0),
        lambda: QSVR(ProjectedKernel(zz_circuit(2))),
        lambda: QuantumKernelRidge(FidelityKernel(zz_circuit(2)), alpha=0.5),
        lambda: VQClassifier(n_layers=1, max_iter=5, random_state=0),
        lambda: VQRegressor(n_layers=1, max_iter=5, random_state=0),
    ],
)
def test_pickle_round_trip(make):
    X, y, Xt, _ = ad_hoc(training_size=8, test_size=3, n=2, gap=0.3, seed=2)
    model = make().fit(X, y)
    back = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(back.predict(Xt), model.predict(Xt))
    if hasattr(model, "predict_proba"):
        np.testing.assert_allclose(back.predict_proba(Xt), model.predict_proba(Xt))


def test_qsvc_probabilities(rng):
    X, y, Xt, yt = ad_hoc(training_size=15, test_size=10, n=2, gap=0.3, seed=4)
    # the ad hoc data are made for the ZZ map at bandwidth 1
    model = QSVC(FidelityKernel(zz_feature_map), C=10.0, probability=True, random_state=0).fit(X, y)
    p = model.predict_proba(Xt)
    np.testing.assert_allclose(p.sum(1), 1.0)
    assert np.mean(model.classes_[p.argmax(1)] == yt) >= 0.9
    assert not hasattr(QSVC(), "predict_proba")


def test_regressors_fit_a_smooth_target(rng):
    X = rng.uniform(-1, 1, size=(40, 2))
    y = np.sin(2 * X[:, 0]) + 0.5 * X[:, 1]
    Xt = rng.uniform(-1, 1, size=(20, 2))
    yt = np.sin(2 * Xt[:, 0]) + 0.5 * Xt[:, 1]
    k = FidelityKernel(iqp_encoding)  # smooth on [-1, 1] (the ZZ map's (pi - x)(pi - y) is not)
    assert QuantumKernelRidge(k, alpha=1e-2).fit(X, y).score(Xt, yt) > 0.95
    assert QSVR(k, C=100.0, epsilon=0.01).fit(X, y).score(Xt, yt) > 0.95
    assert (
        QuantumKernelRidge(ProjectedKernel(angle_encoding), alpha=1e-2).fit(X, y).score(Xt, yt)
        > 0.95
    )
    vq = VQRegressor(n_layers=2, max_iter=60, learning_rate=0.1, random_state=0).fit(X, y)
    assert vq.score(Xt, yt) > 0.8
    assert vq.loss_curve_[-1] < vq.loss_curve_[0]


def test_vq_classifier_learns_and_is_reproducible(rng):
    X = rng.uniform(-1.5, 1.5, size=(40, 2))
    y = np.where(X[:, 0] + X[:, 1] > 0, "pos", "neg")
    a = VQClassifier(n_layers=1, max_iter=30, learning_rate=0.2, random_state=3).fit(X, y)
    b = VQClassifier(n_layers=1, max_iter=30, learning_rate=0.2, random_state=3).fit(X, y)
    np.testing.assert_array_equal(a.weights_, b.weights_)
    assert a.score(X, y) >= 0.9
    assert list(a.classes_) == ["neg", "pos"]
    np.testing.assert_allclose(a.predict_proba(X).sum(1), 1.0)


def test_estimator_errors_are_named():
    X, y = np.zeros((4, 2)), [0, 1, 0, 1]
    with pytest.raises(TypeError, match="quantum kernel"):
        QSVC(kernel="rbf").fit(X, y)
    with pytest.raises(ValueError, match="n_layers"):
        VQClassifier(n_layers=0).fit(X, y)
    with pytest.raises(ValueError, match="n_qubits="):
        VQRegressor().fit(np.zeros((3, 25)), [0.0, 1.0, 2.0])
