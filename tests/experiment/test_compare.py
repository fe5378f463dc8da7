"""``hqml compare`` on a tiny grid: the outputs, the numbers against scikit-learn run here,
resuming, and one-line errors."""

import csv
import json
from dataclasses import replace

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.svm import SVC
from typer.testing import CliRunner

from hqml.cli.main import app
from hqml.datasets import load_benchmark
from hqml.experiment.compare import CompareConfig, load_config, run_compare, write_report
from hqml.experiment.compare.runner import run_trial

TINY = """
[compare]
models = ["SVC", "SeparableKernelClassifier", "DataReuploadingClassifierSeparable"]
seeds = [0, 1]
folds = 2
grid = "quick"
max_steps = 20

[[compare.datasets]]
suite = "linearly_separable"
values = [2]
"""


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("compare")
    cfg = root / "tiny.toml"
    cfg.write_text(TINY)
    out = root / "out"
    result = CliRunner().invoke(app, ["compare", str(cfg), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return cfg, out, result.output


def test_outputs_and_csv_layout(tiny_run):
    _, out, text = tiny_run
    for name in ("results.csv", "results.json", "report.md", "linearly_separable.png"):
        assert (out / name).is_file()
    with (out / "results.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [r["model"] for r in rows] == [
        "SVC",
        "SeparableKernelClassifier",
        "DataReuploadingClassifierSeparable",
    ]
    assert rows[0]["varied_parameter"] == "n_features" and rows[0]["value"] == "2"
    assert rows[2]["circuit_evaluations_mean"] == str(20.0 * 32)  # DRU separable, 20 steps
    assert rows[0]["circuit_evaluations_mean"] == ""  # SVC runs no circuit
    report = (out / "report.md").read_text()
    assert "Does entanglement matter" in report and "| SVC (classical) |" in report
    assert "report:" in text
    (dru,) = [
        r
        for r in json.loads((out / "results.json").read_text())["trials"]
        if r["model"] == "DataReuploadingClassifierSeparable"
    ]
    assert all(run["training_steps"] == 20 for run in dru["runs"])  # max_steps cap applied
    assert all(run["circuit_evaluations"] == 20 * 32 for run in dru["runs"])  # batch rows
    assert dru["runs"][0]["n_qubits"] == 1


def test_svc_numbers_match_scikit_learn_run_here(tiny_run):
    _, out, _ = tiny_run
    ds = load_benchmark("linearly_separable", 2)
    search = GridSearchCV(
        SVC(),
        {"gamma": [0.1, 1], "C": [1, 10]},
        cv=StratifiedKFold(2),
    ).fit(ds.x_train, ds.y_train)
    ref = SVC(**search.best_params_).fit(ds.x_train, ds.y_train)
    (svc,) = [
        r for r in json.loads((out / "results.json").read_text())["trials"] if r["model"] == "SVC"
    ]
    assert svc["best_params"] == search.best_params_
    assert svc["test_acc_mean"] == pytest.approx(ref.score(ds.x_test, ds.y_test))
    assert svc["test_acc_std"] == 0.0  # SVC has no randomness: the seeds agree


def test_rerun_resumes_from_saved_trials(tiny_run):
    cfg, out, _ = tiny_run
    config = load_config(cfg)
    trials = sorted((out / "trials").glob("*.json"))
    assert len(trials) == 3
    stamps = {p: p.stat().st_mtime_ns for p in trials}
    removed = out / "trials" / "linearly_separable-2-SVC.json"
    removed.unlink()
    seen = []
    results = run_compare(config, out, progress=lambda label, d, t: seen.append((label, d, t)))
    assert seen[0] == ("trials", 2, 3) and seen[-1][1:] == (3, 3)  # only the missing one ran
    for p in trials:
        if p != removed:
            assert p.stat().st_mtime_ns == stamps[p]
    assert len(results) == 3
    write_report(results, config.to_dict(), out)


def test_rerun_with_other_settings_is_refused_in_one_line(tiny_run):
    cfg, out, _ = tiny_run
    changed = replace(load_config(cfg), seeds=(0, 1, 2))
    with pytest.raises(ValueError, match="other settings") as err:
        run_compare(changed, out)
    assert len(str(err.value).splitlines()) == 1


@pytest.mark.parametrize(
    "suite, value, train, test",
    [
        ("linearly_separable", 2, None, None),
        ("hidden_manifold", 5, 0.9333333333333333, 0.6666666666666666),
    ],
)
def test_trial_reproduces_the_studys_published_svc_search(suite, value, train, test):
    # paper/results/<suite>/SVC/: the study's GridSearchCV(cv=5) (unshuffled stratified folds)
    # and its refit; hqml compare's protocol must give the same numbers on the same data
    config = {"grid": "paper", "folds": 5, "seeds": [0], "max_steps": None}
    r = run_trial(config, suite, value, "SVC")
    if suite == "linearly_separable":  # SVC_linearly_separable_2d_GridSearchCV.csv
        assert r["cv_accuracy"] == pytest.approx(1.0, abs=1e-12)
        assert r["best_params"] == {"C": 100, "gamma": 0.1}
    else:  # SVC_hidden_manifold_5d_GridSearchCV-best-hyperparams-results.csv
        assert (r["train_acc_mean"], r["test_acc_mean"]) == pytest.approx((train, test), abs=1e-12)


@pytest.mark.parametrize(
    "text, message",
    [
        ('models = ["Nope"]\n[[compare.datasets]]\nsuite = "linearly_separable"', "unknown model"),
        ('models = ["SVC"]\n[[compare.datasets]]\nsuite = "two_curves"\nvalues = [1]', "varies"),
        ('models = ["SVC"]\nfolds = 1\n[[compare.datasets]]\nsuite = "two_curves"', "folds"),
        (
            'models = ["SVC"]\ncolour = 1\n[[compare.datasets]]\nsuite = "two_curves"',
            "unknown keys",
        ),
        (
            'models = ["ConvolutionalNeuralNetwork"]\n[[compare.datasets]]\nsuite = "two_curves"',
            "square images",
        ),
    ],
)
def test_bad_configs_fail_in_one_line(tmp_path, text, message):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[compare]\n" + text + "\n")
    result = CliRunner().invoke(app, ["compare", str(cfg), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert message in result.output and len(result.output.strip().splitlines()) == 1


def test_needs_exactly_one_of_config_and_preset(tmp_path):
    result = CliRunner().invoke(app, ["compare", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "exactly one" in result.output


def test_quick_preset_is_small_and_valid():
    from hqml.experiment.compare import quick_config

    q = quick_config()
    assert isinstance(q, CompareConfig) and q.grid == "quick" and q.n_trials == 24
    assert np.all([m in q.models for m in ("SVC", "DataReuploadingClassifierSeparable")])


@pytest.mark.parametrize("name", ["compare_ls_hm_quick.toml", "compare_ls_hm_paper.toml"])
def test_example_configs_load(name):
    from pathlib import Path

    cfg = load_config(Path(__file__).resolve().parents[2] / "examples" / name)
    assert cfg.datasets == {
        "linearly_separable": tuple(range(2, 11)),
        "hidden_manifold": tuple(range(2, 11)),
    }
    assert cfg.n_trials == 9 * 18


ALL_VALUES = tuple(range(2, 21))


@pytest.mark.parametrize(
    "name, datasets, n_models",
    [
        (
            "compare_two_curves_paper.toml",
            {"two_curves": ALL_VALUES, "two_curves_diff": ALL_VALUES},
            17,
        ),
        ("compare_hidden_manifold_diff_paper.toml", {"hidden_manifold_diff": ALL_VALUES}, 17),
        ("compare_hyperplanes_paper.toml", {"hyperplanes_diff": ALL_VALUES}, 17),
        ("compare_bars_and_stripes_paper.toml", {"bars_and_stripes": (4, 8, 16, 32)}, 3),
        ("compare_mnist_paper.toml", {"mnist_pca": ALL_VALUES}, 20),
        ("compare_mnist_cg_paper.toml", {"mnist_cg": (4, 8, 16, 32)}, 3),
    ],
)
def test_full_grid_example_configs_of_the_other_families_load(
    name, datasets, n_models, tmp_path, monkeypatch
):
    from pathlib import Path

    from hqml.datasets.benchmarks import MNIST_ENV, SUITES

    path = Path(__file__).resolve().parents[2] / "examples" / name
    if "mnist" in name:  # needs the user's file: refused without it, loads with one
        monkeypatch.delenv(MNIST_ENV, raising=False)
        with pytest.raises(FileNotFoundError, match=MNIST_ENV):
            load_config(path)
        (tmp_path / "mnist.npz").write_bytes(b"")
        monkeypatch.setenv(MNIST_ENV, str(tmp_path / "mnist.npz"))
    cfg = load_config(path)
    assert cfg.datasets == datasets and cfg.grid == "paper"
    assert cfg.folds == 5 and cfg.seeds == (0, 1, 2, 3, 4) and len(cfg.models) == n_models
    assert all(cfg.datasets[s] == SUITES[s].values for s in cfg.datasets)  # every value


@pytest.mark.slow  # importing mlflow and its file store: about 30 s here
def test_mlflow_run_holds_the_trials(tiny_run, tmp_path):
    from mlflow.tracking import MlflowClient

    from hqml.experiment.compare.tracking import log_comparison

    cfg, out, _ = tiny_run
    config = load_config(cfg)
    results = run_compare(config, out)
    run_id = log_comparison(results, config.to_dict(), out, tracking_uri=str(tmp_path / "ml"))
    client = MlflowClient(tracking_uri=(tmp_path / "ml").resolve().as_uri())
    metrics = client.get_run(run_id).data.metrics
    (svc,) = [r for r in results if r["model"] == "SVC"]
    assert metrics["linearly_separable.2.SVC.test_acc_mean"] == pytest.approx(svc["test_acc_mean"])
    assert client.get_run(run_id).data.params["grid"] == "quick"


def test_failed_grid_points_are_counted_and_reported(tmp_path, monkeypatch):
    from hqml.experiment.compare import registry

    spec = registry.MODELS["SVC"]
    bad = replace(spec, quick_grid={"C": [-1.0, 1.0], "gamma": [1.0]})  # SVC refuses C < 0
    monkeypatch.setitem(registry.MODELS, "SVC", bad)
    config = {"grid": "quick", "folds": 2, "seeds": [0], "max_steps": None}
    r = run_trial(config, "linearly_separable", 2, "SVC")
    assert r["failed_grid_points"] == 1 and r["grid_size"] == 2
    assert r["best_params"] == {"C": 1.0, "gamma": 1.0}
    cfg = {**config, "models": ["SVC"], "datasets": {"linearly_separable": [2]}}
    text = write_report([r], cfg, tmp_path).read_text()
    assert "1 of 2 grid points raised" in text


def test_every_registered_model_takes_its_defaults_and_grid_parameters():
    from hqml.experiment.compare.registry import MODELS

    for name, spec in MODELS.items():
        est = spec.factory(**spec.defaults)
        params = est.get_params()
        for grid in (spec.paper_grid, spec.quick_grid):
            assert set(grid) <= set(params), (name, sorted(set(grid) - set(params)))
        if spec.separable_of is not None:
            assert spec.separable_of in MODELS


@pytest.mark.parametrize(
    "model, suite, value",
    [
        ("QuantumBoltzmannMachine", "linearly_separable", 2),
        ("QuantumMetricLearner", "linearly_separable", 2),
        ("WeiNet", "bars_and_stripes", 4),
        ("QuanvolutionalNeuralNetwork", "bars_and_stripes", 4),
        ("ConvolutionalNeuralNetwork", "bars_and_stripes", 4),
    ],
)
def test_new_zoo_models_run_as_trials(model, suite, value):
    config = {"grid": "quick", "folds": 2, "seeds": [0], "max_steps": 5}
    r = run_trial(config, suite, value, model)
    assert r["failed_grid_points"] == 0 and r["runs"][0]["training_steps"] == 5
    assert 0.0 <= r["test_acc_mean"] <= 1.0
    assert (r["runs"][0]["n_qubits"] is None) == (model == "ConvolutionalNeuralNetwork")


@pytest.mark.slow  # starts a local Ray (about 15 s on a loaded 2-core machine)
def test_ray_executor_gives_the_in_process_results(tmp_path):
    pytest.importorskip("ray")
    base = CompareConfig(
        models=("SVC", "SeparableKernelClassifier"),
        datasets={"linearly_separable": (2, 3)},
        seeds=(0,),
        folds=2,
        grid="quick",
    )
    local = run_compare(base, tmp_path / "local")
    seen = []
    remote = run_compare(
        replace(base, executor="ray", workers=2),
        tmp_path / "ray",
        progress=lambda label, d, t: seen.append((d, t)),
    )
    assert seen[-1] == (4, 4) and len(remote) == 4
    for a, b in zip(local, remote, strict=True):
        assert (a["model"], a["value"]) == (b["model"], b["value"])
        assert a["best_params"] == b["best_params"] and a["test_acc_mean"] == b["test_acc_mean"]


def test_executor_settings_are_checked_in_one_line():
    with pytest.raises(ValueError, match="executor must be one of"):
        CompareConfig(models=("SVC",), datasets={"two_curves": (2,)}, executor="dask")
    with pytest.raises(ValueError, match="ray_address is set"):
        CompareConfig(models=("SVC",), datasets={"two_curves": (2,)}, ray_address="auto")


def test_a_trial_whose_every_grid_point_fails_is_recorded_and_the_run_goes_on(tmp_path):
    # 20 features would need 21 qubits: every fit of the projected kernel refuses
    config = CompareConfig(
        models=("SVC", "ProjectedQuantumKernel"),
        datasets={"linearly_separable": (20,)},
        seeds=(0,),
        folds=2,
        grid="quick",
        workers=2,  # in a process pool, which the failure must not abort
    )
    results = run_compare(config, tmp_path)
    failed = [r for r in results if "failed" in r]
    assert [r["model"] for r in failed] == ["ProjectedQuantumKernel"]
    assert "21 qubits" in failed[0]["failed"] and failed[0]["failed_grid_points"] == 2
    report = write_report(results, config.to_dict(), tmp_path).read_text()
    assert "## Trials that failed" in report and "21 qubits" in report
    with open(tmp_path / "results.csv") as f:
        assert [row["model"] for row in csv.DictReader(f)] == ["SVC"]
    seen = []
    again = run_compare(config, tmp_path, progress=lambda label, d, t: seen.append((d, t)))
    assert seen == [(2, 2)] and again == results  # resumed: nothing rerun


def test_the_ranking_uses_the_values_every_model_ran_on():
    from hqml.experiment.compare.report import _suite_table

    def row(model, value, acc):
        return {"model": model, "value": value, "varied": "d", "test_acc_mean": acc,
                "test_acc_std": 0.0}  # fmt: skip

    rows = [row("SVC", 2, 0.9), row("SVC", 3, 0.5), row("MLPClassifier", 2, 0.8)]
    lines = _suite_table("linearly_separable", rows)
    table = [ln for ln in lines if ln.startswith("| SVC") or ln.startswith("| MLP")]
    assert table[0].startswith("| SVC") and table[0].endswith("| 0.900 | 1 |")  # not 0.7
    assert table[1].endswith("| 0.800 | 2 |")
    assert any("every model ran on (2)" in ln for ln in lines)


def test_refits_stopped_at_the_step_cap_are_reported(tiny_run):
    _, out, _ = tiny_run
    trial = json.loads(
        (
            out / "trials" / "linearly_separable-2-DataReuploadingClassifierSeparable.json"
        ).read_text()
    )
    assert trial["capped_fits"] == 2 and all(r["training_steps"] == 20 for r in trial["runs"])
    report = (out / "report.md").read_text()
    assert "## Training stopped at the step cap" in report
    assert "DataReuploadingClassifierSeparable on" in report.split("step cap")[1]


def test_the_mlp_grid_search_is_seeded():
    config = {"grid": "quick", "folds": 2, "seeds": [0], "max_steps": None}
    a, b = (run_trial(config, "linearly_separable", 2, "MLPClassifier") for _ in range(2))
    assert a["cv_accuracy"] == b["cv_accuracy"] and a["best_params"] == b["best_params"]
