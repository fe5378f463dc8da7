"""Kernel bandwidth: its effect against the analytic angle-encoding kernel, the data-driven
default (select_bandwidth), the estimators' defaults on standardised data, and the
concentration warning."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.decomposition import PCA
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from hqml.circuit.templates import angle_encoding, zz_feature_map
from hqml.kernels import (
    QSVC,
    FidelityKernel,
    KernelConcentrationWarning,
    ProjectedKernel,
    QuantumKernelRidge,
    VQClassifier,
    check_concentration,
    select_bandwidth,
)
from hqml.kernels.bandwidth import TARGET_MEDIAN


def angle_kernel(X, Y, b):
    """|<psi(bx)|psi(by)>|^2 of RY product states: prod_i cos^2(b (x_i - y_i) / 2)."""
    return np.prod(np.cos(b * (X[:, None, :] - Y[None, :, :]) / 2) ** 2, axis=-1)


def median_off(K):
    return np.median(K[~np.eye(len(K), dtype=bool)])


@pytest.mark.parametrize("b", [1.0, 0.3, 2.5])
def test_bandwidth_scales_the_features(b):
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(6, 3)), rng.normal(size=(4, 3))
    k = FidelityKernel(angle_encoding, bandwidth=b)
    np.testing.assert_allclose(k(X), angle_kernel(X, X, b), atol=1e-12)
    np.testing.assert_allclose(k(X, Y), angle_kernel(X, Y, b), atol=1e-12)
    p = ProjectedKernel(angle_encoding, bandwidth=b)
    np.testing.assert_allclose(p(X, Y), ProjectedKernel(angle_encoding)(b * X, b * Y), atol=1e-12)


def test_bad_and_auto_bandwidth_refused_on_direct_use():
    X = np.zeros((2, 2))
    with pytest.raises(ValueError, match="bandwidth='auto' is chosen from training data"):
        FidelityKernel(angle_encoding, bandwidth="auto")(X)
    for bad in (0, -1.0, float("nan"), "wide", True):
        with pytest.raises(ValueError, match="bandwidth must be a positive number or 'auto'"):
            FidelityKernel(angle_encoding, bandwidth=bad)(X)


def test_select_bandwidth_hits_the_median_target():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 5))  # standardised-like data
    b = select_bandwidth(FidelityKernel(angle_encoding), X)
    assert 2 * math.log2(b) == pytest.approx(round(2 * math.log2(b)))  # a power of sqrt(2)
    gap = abs(median_off(angle_kernel(X, X, b)) - TARGET_MEDIAN)
    for neighbour in (b * math.sqrt(2), b / math.sqrt(2)):
        assert gap <= abs(median_off(angle_kernel(X, X, neighbour)) - TARGET_MEDIAN)
    assert select_bandwidth(FidelityKernel(angle_encoding), np.ones((5, 5))) == 1.0
    scaled = select_bandwidth(FidelityKernel(angle_encoding), 4 * X)  # 4x the spread
    assert scaled == pytest.approx(b / 4)


def test_estimators_resolve_auto_in_fit_and_keep_it():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(30, 3))
    y = X[:, 0] + X[:, 1] ** 2
    model = QuantumKernelRidge(FidelityKernel(angle_encoding, bandwidth="auto"), alpha=0.1)
    model.fit(X, y)
    assert model.bandwidth_ == select_bandwidth(FidelityKernel(angle_encoding), X)
    assert model.kernel.bandwidth == "auto"  # the parameter is untouched (clone-safe)
    Xt = rng.normal(size=(5, 3))
    K = angle_kernel(Xt, X, model.bandwidth_)
    np.testing.assert_allclose(model.predict(Xt), K @ model.model_.dual_coef_, atol=1e-8)


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return X[:150], y[:150]


def test_default_qsvc_works_on_standardised_data_and_bandwidth_one_warns(cancer):
    X, y = cancer
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the default must not concentrate
        default = cross_val_score(make_pipeline(StandardScaler(), PCA(4), QSVC()), X, y, cv=3)
    assert default.mean() >= 0.85, default
    plain = make_pipeline(StandardScaler(), PCA(4), QSVC(FidelityKernel(zz_feature_map)))
    with pytest.warns(KernelConcentrationWarning, match="the kernel has concentrated"):
        plain.fit(X, y)
    assert plain.score(X, y) <= default.mean()


def test_default_vqclassifier_learns_on_standardised_data():
    # the case: this pipeline scored 0.59 with the unscaled feature map (majority 0.52)
    X, y = load_breast_cancer(return_X_y=True)
    X, y = X[:200], y[:200]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scores = cross_val_score(
            make_pipeline(StandardScaler(), PCA(4), VQClassifier(random_state=0)), X, y, cv=3
        )
    majority = max(np.mean(y), 1 - np.mean(y))
    assert scores.mean() >= 0.85 and scores.mean() > majority + 0.2, scores


def test_check_concentration_thresholds():
    with pytest.warns(KernelConcentrationWarning, match="concentrated"):
        assert check_concentration(np.eye(5) + 0.01) < 0.1
    with pytest.warns(KernelConcentrationWarning, match="flat"):
        check_concentration(np.full((5, 5), 0.995) + 0.005 * np.eye(5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        K = angle_kernel(np.linspace(0, 2, 6)[:, None], np.linspace(0, 2, 6)[:, None], 1.0)
        assert 0.1 < check_concentration(K) < 0.98
