"""Hyperparameter search on Ray Tune: each trial is an ``hqml run`` with its overrides."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hqml.experiment import ConfigError, load_config, run_experiment
from hqml.experiment.study.search import (
    SearchResult,
    apply_overrides,
    dumps_toml,
    parse_set_option,
    parse_space,
    search,
)

pytestmark = pytest.mark.slow  # servers, Ray, subprocesses: `make test-fast` skips these

TINY = {
    "name": "tiny",
    "seed": 0,
    "data": {"name": "iris", "max_train": 32},
    "model": {"pattern": "head", "n_qubits": 2, "layers": 1},
    "training": {"epochs": 2, "batch_size": 16, "learning_rate": 0.01},
    "tracking": {"experiment": "search-test"},
}


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory):
    """One real study through ``hqml study``: 2 learning rates x 2 repeats on a local Ray."""
    pytest.importorskip("ray.tune")
    pytest.importorskip("mlflow")
    from hqml.cli.main import app

    tmp = tmp_path_factory.mktemp("study")
    config = tmp / "tiny.toml"
    config.write_text(dumps_toml(apply_overrides(TINY, {"output_dir": str(tmp / "runs")})))
    res = CliRunner().invoke(
        app,
        [
            "study",
            str(config),
            "--set",
            "training.learning_rate=0.01,0.3",
            "--samples",
            "2",
            "--concurrent",
            "2",
            "--tracking-uri",
            str(tmp / "mlruns"),
        ],
        env={**os.environ, "COLUMNS": "200"},
    )
    assert res.exit_code == 0, res.output
    folder = tmp / "runs" / "tiny_search"
    doc = json.loads((folder / "search_results.json").read_text())
    return tmp, folder, doc, res.output


def test_each_trial_runs_its_overrides(study):
    _, folder, doc, output = study
    names = [f"trial_{i:05d}" for i in range(4)]
    rows = doc["rows"]
    assert [r["trial"] for r in rows] == names
    for name in names:  # progress: one line per finished trial, then the table
        assert f"  {name} training.learning_rate=" in output
    assert "search: test_accuracy (max), 4 trials" in output and "4/4" in output
    points = sorted(
        (r["overrides"]["training.learning_rate"], r["repeat"], r["seed"]) for r in rows
    )
    assert points == [(0.01, 0, 0), (0.01, 1, 1), (0.3, 0, 0), (0.3, 1, 1)]  # seed = 0 + repeat
    for row in rows:
        lr = row["overrides"]["training.learning_rate"]
        assert row["status"] == "ok" and row["wall_s"] > 0
        assert Path(row["run_dir"]).parent == folder / "trials"
        done = json.loads((Path(row["run_dir"]) / "results.json").read_text())
        assert done["config"]["training"]["learning_rate"] == lr  # the override reached the run
        assert done["config"]["seed"] == row["seed"]
        assert done["config"]["model"]["layers"] == 1  # the rest is the base config
        assert row["test_accuracy"] == done["models"]["hybrid"]["test_acc"]
        assert row["baseline_test_accuracy"] == done["models"]["baseline"]["test_acc"]
    by_point = {(r["overrides"]["training.learning_rate"], r["seed"]): r for r in rows}
    for seed in (0, 1):  # different learning rates, different training
        assert by_point[0.01, seed]["test_loss"] != by_point[0.3, seed]["test_loss"]
    # the repeat's seed changes the data split and the initialisation
    assert by_point[0.01, 0]["baseline_test_loss"] != by_point[0.01, 1]["baseline_test_loss"]


def test_files_agree_and_best_config_reproduces(study, tmp_path):
    _, folder, doc, output = study
    rows = doc["rows"]
    best = max(rows, key=lambda r: (r["test_accuracy"], -int(r["trial"][-5:])))
    assert doc["best"] == best and doc["metric"] == "test_accuracy" and doc["mode"] == "max"
    assert f"best: {best['trial']}" in output
    with open(folder / "search_results.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert [r["trial"] for r in table] == [r["trial"] for r in rows]
    for got, want in zip(table, rows, strict=True):
        assert float(got["training.learning_rate"]) == want["overrides"]["training.learning_rate"]
        assert int(got["seed"]) == want["seed"] and int(got["repeat"]) == want["repeat"]
        assert float(got["test_accuracy"]) == pytest.approx(want["test_accuracy"], abs=1e-12)
    cfg = load_config(
        folder / "best_config.toml", {"output_dir": str(tmp_path), "tracking.mlflow": False}
    )
    assert cfg.training.learning_rate == best["overrides"]["training.learning_rate"]
    assert cfg.name == "tiny_best" and cfg.data.max_train == 32 and cfg.seed == best["seed"]
    again = run_experiment(cfg)  # the same run in this process: same numbers
    assert again["models"]["hybrid"]["test_acc"] == best["test_accuracy"]
    assert again["models"]["hybrid"]["test_loss"] == pytest.approx(best["test_loss"], rel=1e-6)


def test_mlflow_parent_with_nested_trial_runs(study):
    from mlflow.tracking import MlflowClient

    tmp, _, doc, _ = study
    client = MlflowClient(tracking_uri=(tmp / "mlruns").resolve().as_uri())
    exp = client.get_experiment_by_name("search-test")
    runs = client.search_runs([exp.experiment_id])
    parent = client.get_run(doc["mlflow_run_id"])
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert parent.data.params["search.training.learning_rate"] == "grid[0.01, 0.3]"
    assert parent.data.params["search.num_samples"] == "2"
    assert parent.data.metrics["best_test_accuracy"] == doc["best"]["test_accuracy"]
    assert parent.data.tags["best_trial"] == doc["best"]["trial"]
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"search_results.json", "search_results.csv", "best_config.toml"} <= artifacts
    by_name = {r.info.run_name: r for r in children}
    assert sorted(by_name) == [r["trial"] for r in doc["rows"]] and len(runs) == 5
    for row in doc["rows"]:
        run = by_name[row["trial"]]
        assert (
            float(run.data.params["training.learning_rate"])
            == row["overrides"]["training.learning_rate"]
        )
        assert run.data.metrics["test_accuracy"] == pytest.approx(row["test_accuracy"])


def test_bad_space_fails_before_any_trial(tmp_path):
    base = apply_overrides(TINY, {"output_dir": str(tmp_path)})
    with pytest.raises(ConfigError, match=r"'training.lrr'.*unknown field"):
        search(base, {"training.lrr": [0.1, 0.2]})
    with pytest.raises(ConfigError, match=r"'model.layers' = 0: .*greater than or equal to 1"):
        search(base, {"model.layers": [1, 0]})
    with pytest.raises(ConfigError, match=r"'training.learning_rate' loguniform needs"):
        search(base, {"training.learning_rate": {"loguniform": [0.0, 0.1]}})
    with pytest.raises(ConfigError, match=r"'output_dir' is set by the study"):
        search(base, {"output_dir": ["a", "b"]})
    with pytest.raises(ConfigError, match=r"metric 'accuracy' is not reported"):
        search(base, {"model.layers": [1]}, metric="accuracy")
    assert not any(tmp_path.iterdir())  # nothing ran, nothing written


def test_space_syntax_and_domains():
    tune = pytest.importorskip("ray.tune")
    dims = parse_space(
        {
            "a": [1, 2],
            "training.batch_size": {"choice": [8, 16]},
            "b": {"uniform": [0.5, 1.5]},
            "c": {"loguniform": [1e-3, 1e-1]},
            "d": {"randint": [1, 4]},
        }
    )
    assert [d.kind for d in dims.values()] == ["grid", "choice", "uniform", "loguniform", "randint"]
    assert dims["d"].candidates() == (1, 3)  # randint excludes its upper bound
    assert dims["a"].to_tune(tune) == {"grid_search": [1, 2]}
    for key, lo, hi in (("b", 0.5, 1.5), ("c", 1e-3, 1e-1), ("d", 1, 3)):
        draws = dims[key].to_tune(tune).sample(size=50)
        assert all(lo <= v <= hi for v in draws)
    assert parse_set_option("training.learning_rate=0.01,0.1") == (
        "training.learning_rate",
        [0.01, 0.1],
    )
    assert parse_set_option("model.encoding=angle,zz") == ("model.encoding", ["angle", "zz"])
    text = dumps_toml(
        {
            "name": "x",
            "seed": 1,
            "data": {"name": "iris", "max_train": None},
            "model": {"shots": None, "trainable": False, "w": [1, 2]},
        }
    )
    assert text == (
        'name = "x"\nseed = 1\n\n[data]\nname = "iris"\n\n[model]\ntrainable = false\nw = [1, 2]\n'
    )


def test_cli_study_rejects_bad_set_before_running(tmp_path):
    from hqml.cli.main import app

    path = tmp_path / "c.toml"
    path.write_text(dumps_toml(apply_overrides(TINY, {"output_dir": str(tmp_path)})))
    res = CliRunner().invoke(
        app,
        ["study", str(path), "--set", "training.lrr=0.1,0.2", "--no-mlflow"],
        env={**os.environ, "COLUMNS": "200"},
    )
    assert res.exit_code == 2
    assert "training.lrr" in res.output and "unknown field" in res.output
    res = CliRunner().invoke(app, ["study", str(path), "--no-mlflow"])
    assert res.exit_code == 2 and "at least one key" in res.output


def test_search_result_best_and_table(tmp_path):
    from rich.console import Console

    def row(trial, acc, loss, status="ok"):
        return {
            "trial": trial,
            "status": status,
            "overrides": {"model.layers": 1},
            "error": None if status == "ok" else "ValueError: boom",
            "test_accuracy": acc,
            "test_loss": loss,
            "baseline_test_accuracy": None,
            "wall_s": 1.0,
            "seed": 0,
        }

    rows = [
        row("trial_00000", 0.5, 0.9),
        row("trial_00001", 0.8, 0.7),
        row("trial_00002", 0.8, 0.4),
        row("trial_00003", None, None, "error"),
    ]
    high = SearchResult(rows, "test_accuracy", "max", tmp_path, ["model.layers"])
    assert high.best["trial"] == "trial_00001"  # ties: the first trial
    low = SearchResult(rows, "test_loss", "min", tmp_path, ["model.layers"])
    assert low.best["trial"] == "trial_00002"
    assert SearchResult(rows[3:], "test_loss", "min", tmp_path, []).best is None
    console = Console(width=200, record=True)
    console.print(high.table())
    text = console.export_text()
    assert "trial_00001 *" in text and "error: ValueError: boom" in text and "0.8" in text


def test_study_results_carry_provenance(study):
    _, folder, doc, _ = study
    prov = doc["provenance"]
    assert prov["backend"] == "statevector" and prov["machine"]["cores"] >= 1
    assert sorted(prov["seeds"]["trials"]) == sorted({r["seed"] for r in doc["rows"]})
    trial = json.loads(next(folder.rglob("results.json")).read_text())  # a trial's own run
    assert len(trial["provenance"]["dataset"]["sha256"]) == 64


def test_study_provenance_names_backend_options_noise_and_mitigation(tmp_path):
    from hqml.experiment.study.results import study_provenance

    base = {
        "seed": 4,
        "model": {"backend": "density_matrix", "backend_options": {"max_rows": 8}, "shots": 100},
        "noise": {"depolarizing": 0.02},
        "mitigation": {"method": "zne", "scale_factors": [1, 3]},
    }
    prov = study_provenance(base, SearchResult([], "test_accuracy", "max", tmp_path, []))
    assert prov["backend"] == "density_matrix" and prov["backend_options"] == {"max_rows": 8}
    assert prov["noise"] == {"depolarizing": 0.02} and prov["mitigation"]["method"] == "zne"
    assert prov["shots"] == 100 and prov["seeds"] == {"base": 4, "trials": []}
