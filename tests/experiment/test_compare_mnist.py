"""The study's 6th family in ``hqml compare``: the MNIST suites read the user's local file (a
one-line refusal before any work without it), and the digits-PCA stand-in runs offline."""

import json

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.svm import SVC
from typer.testing import CliRunner

from hqml.cli.main import app
from hqml.datasets import load_digits_pca, load_mnist_cg, load_mnist_pca
from hqml.datasets.benchmarks import MNIST_ENV, SUITES, load_benchmark, save_benchmark_csv
from hqml.experiment.compare import CompareConfig

DIGITS = """
[compare]
models = ["SVC"]
seeds = [0]
folds = 2
grid = "quick"

[[compare.datasets]]
suite = "digits_pca"
values = [2]
"""


def test_digits_stand_in_suite_runs_a_tiny_trial_as_scikit_learn_does(tmp_path):
    cfg, out = tmp_path / "d.toml", tmp_path / "out"
    cfg.write_text(DIGITS)
    result = CliRunner().invoke(app, ["compare", str(cfg), "--out", str(out)])
    assert result.exit_code == 0, result.output
    (trial,) = json.loads((out / "results.json").read_text())["trials"]
    # the stand-in is the bundled digits (seed 0), named as such, not MNIST
    ds = load_digits_pca(2, seed=0)
    assert trial["dataset"] == ds.name == "digits_pca2" and trial["benchmark"] == "digits_pca"
    assert (
        ds.info["stand_in_for"] == "mnist_pca" and "not MNIST" in SUITES["digits_pca"].description
    )
    search = GridSearchCV(SVC(), {"gamma": [0.1, 1], "C": [1, 10]}, cv=StratifiedKFold(2))
    search.fit(ds.x_train, ds.y_train)
    ref = SVC(**search.best_params_).fit(ds.x_train, ds.y_train)
    assert trial["best_params"] == search.best_params_
    assert trial["test_acc_mean"] == pytest.approx(ref.score(ds.x_test, ds.y_test))


@pytest.mark.parametrize("env", [None, "/nonexistent/mnist.npz"])
@pytest.mark.parametrize("suite", ["mnist_pca", "mnist_pca-", "mnist_cg"])
def test_mnist_suite_without_its_file_fails_in_one_line_before_any_work(
    tmp_path, monkeypatch, suite, env
):
    if env is None:
        monkeypatch.delenv(MNIST_ENV, raising=False)
    else:
        monkeypatch.setenv(MNIST_ENV, env)
    cfg, out = tmp_path / "m.toml", tmp_path / "out"
    cfg.write_text(f'[compare]\nmodels = ["SVC"]\n[[compare.datasets]]\nsuite = "{suite}"\n')
    result = CliRunner().invoke(app, ["compare", str(cfg), "--out", str(out)])
    assert result.exit_code == 2
    text = result.output.strip()
    assert len(text.splitlines()) == 1
    assert MNIST_ENV in text and "np.savez" in text and "digits_pca" in text  # how to get it
    assert not out.exists()  # refused before any trial or output folder


@pytest.fixture
def mnist_npz(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    labels = rng.choice([3, 5, 7], size=500)
    images = rng.integers(0, 256, size=(500, 28, 28)).astype(np.uint8)
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=images[:400], y_train=labels[:400], x_test=images[400:],
             y_test=labels[400:])  # fmt: skip
    monkeypatch.setenv(MNIST_ENV, str(path))
    return path


def test_mnist_suites_read_the_local_file_as_the_loaders_do(mnist_npz):
    pairs = [
        (load_benchmark("mnist_pca", 3), load_mnist_pca(mnist_npz, 3)),
        (load_benchmark("mnist_pca-", 4), load_mnist_pca(mnist_npz, 4, n_samples=250, seed=42)),
        (load_benchmark("mnist_cg", 4), load_mnist_cg(mnist_npz, 4)),
    ]
    for got, want in pairs:
        assert got.name == want.name
        for part in ("x_train", "y_train", "x_test", "y_test"):
            np.testing.assert_array_equal(getattr(got, part), getattr(want, part))
    assert pairs[2][0].x_train.shape[1] == 16  # 4x4 coarse-grained images
    # image models read the coarse-grained images, as in the study
    CompareConfig(models=("ConvolutionalNeuralNetwork",), datasets={"mnist_cg": (4, 8)})
    with pytest.raises(ValueError, match="square images"):
        CompareConfig(models=("ConvolutionalNeuralNetwork",), datasets={"mnist_pca": (4,)})
    with pytest.raises(ValueError, match="nothing to save"):
        save_benchmark_csv("mnist_pca", mnist_npz.parent / "csv")
