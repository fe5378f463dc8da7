"""Hyperparameter search on Ray Tune: each trial is an ``hqml run`` with its overrides."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hqml.experiment import ConfigError, load_config, run_experiment
from hqml.tracking.search import apply_overrides, dumps_toml, parse_set_option, parse_space, search

TINY = {
    "name": "tiny", "seed": 0,
    "data": {"name": "iris", "max_train": 32},
    "model": {"pattern": "head", "n_qubits": 2, "layers": 1},
    "training": {"epochs": 2, "batch_size": 16, "learning_rate": 0.01},
    "tracking": {"experiment": "search-test"},
}


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory):
    pytest.importorskip("ray.tune")
    pytest.importorskip("mlflow")
    tmp = tmp_path_factory.mktemp("study")
    base = apply_overrides(TINY, {"output_dir": str(tmp / "runs"),
                                  "tracking.tracking_uri": str(tmp / "mlruns")})
    seen: list[dict] = []
    result = search(base, {"training.learning_rate": [0.01, 0.3]}, num_samples=2,
                    max_concurrent=2, on_trial=seen.append)
    return base, result, seen, tmp


def test_each_trial_runs_its_overrides(study):
    _, result, seen, tmp = study
    names = [f"trial_{i:05d}" for i in range(4)]
    assert [r["trial"] for r in result.rows] == names
    assert sorted(r["trial"] for r in seen) == names  # live progress, one call per trial
    assert result.directory == (tmp / "runs" / "tiny_search").resolve()
    points = sorted((r["overrides"]["training.learning_rate"], r["repeat"], r["seed"])
                    for r in result.rows)
    assert points == [(0.01, 0, 0), (0.01, 1, 1), (0.3, 0, 0), (0.3, 1, 1)]  # seed = 0 + repeat
    for row in result.rows:
        lr = row["overrides"]["training.learning_rate"]
        assert row["status"] == "ok" and row["wall_s"] > 0
        done = json.loads((Path(row["run_dir"]) / "results.json").read_text())
        assert done["config"]["training"]["learning_rate"] == lr  # the override reached the run
        assert done["config"]["seed"] == row["seed"]
        assert done["config"]["model"]["layers"] == 1  # the rest is the base config
        assert row["test_accuracy"] == done["models"]["hybrid"]["test_acc"]
        assert row["baseline_test_accuracy"] == done["models"]["baseline"]["test_acc"]
    by_point = {(r["overrides"]["training.learning_rate"], r["seed"]): r for r in result.rows}
    for seed in (0, 1):  # different learning rates, different training
        assert by_point[0.01, seed]["test_loss"] != by_point[0.3, seed]["test_loss"]
    # the repeat's seed changes the data split and the initialisation
    assert by_point[0.01, 0]["baseline_test_loss"] != by_point[0.01, 1]["baseline_test_loss"]


def test_files_agree_and_best_config_reproduces(study, tmp_path):
    _, result, _, _ = study
    best = max(result.rows, key=lambda r: (r["test_accuracy"], -int(r["trial"][-5:])))
    assert result.best == best
    doc = json.loads(result.files["json"].read_text())
    assert doc["rows"] == result.rows and doc["best"]["trial"] == best["trial"]
    with open(result.files["csv"], newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["trial"] for r in rows] == [r["trial"] for r in result.rows]
    assert [int(r["seed"]) for r in rows] == [r["seed"] for r in result.rows]
    for got, want in zip(rows, result.rows, strict=True):
        assert float(got["training.learning_rate"]) == want["overrides"]["training.learning_rate"]
        assert float(got["test_accuracy"]) == pytest.approx(want["test_accuracy"], abs=1e-12)
    cfg = load_config(result.files["best_config"], {"output_dir": str(tmp_path),
                                                    "tracking.mlflow": False})
    assert cfg.training.learning_rate == best["overrides"]["training.learning_rate"]
    assert cfg.name == "tiny_best" and cfg.data.max_train == 32 and cfg.seed == best["seed"]
    again = run_experiment(cfg)  # the same run in this process: same numbers
    assert again["models"]["hybrid"]["test_acc"] == best["test_accuracy"]
    assert again["models"]["hybrid"]["test_loss"] == pytest.approx(best["test_loss"], rel=1e-6)


def test_mlflow_parent_with_nested_trial_runs(study):
    from mlflow.tracking import MlflowClient

    base, result, _, _ = study
    client = MlflowClient(tracking_uri=Path(base["tracking"]["tracking_uri"]).resolve().as_uri())
    exp = client.get_experiment_by_name("search-test")
    runs = client.search_runs([exp.experiment_id])
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == result.mlflow_run_id]
    parent = client.get_run(result.mlflow_run_id)
    assert parent.data.params["search.training.learning_rate"] == "grid[0.01, 0.3]"
    assert parent.data.metrics["best_test_accuracy"] == result.best["test_accuracy"]
    by_name = {r.info.run_name: r for r in children}
    assert sorted(by_name) == [r["trial"] for r in result.rows] and len(runs) == 5
    for row in result.rows:
        run = by_name[row["trial"]]
        assert float(run.data.params["training.learning_rate"]) == \
            row["overrides"]["training.learning_rate"]
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
    dims = parse_space({"a": [1, 2], "training.batch_size": {"choice": [8, 16]},
                        "b": {"uniform": [0.5, 1.5]}, "c": {"loguniform": [1e-3, 1e-1]},
                        "d": {"randint": [1, 4]}})
    assert [d.kind for d in dims.values()] == ["grid", "choice", "uniform", "loguniform",
                                              "randint"]
    assert dims["d"].candidates() == (1, 3)  # randint excludes its upper bound
    assert dims["a"].to_tune(tune) == {"grid_search": [1, 2]}
    for key, lo, hi in (("b", 0.5, 1.5), ("c", 1e-3, 1e-1), ("d", 1, 3)):
        draws = dims[key].to_tune(tune).sample(size=50)
        assert all(lo <= v <= hi for v in draws)
    assert parse_set_option("training.learning_rate=0.01,0.1") == (
        "training.learning_rate", [0.01, 0.1])
    assert parse_set_option("model.encoding=angle,zz") == ("model.encoding", ["angle", "zz"])
    text = dumps_toml({"name": "x", "seed": 1, "data": {"name": "iris", "max_train": None},
                       "model": {"shots": None, "trainable": False, "w": [1, 2]}})
    assert text == ('name = "x"\nseed = 1\n\n[data]\nname = "iris"\n\n[model]\n'
                    "trainable = false\nw = [1, 2]\n")


def test_cli_study_rejects_bad_set_before_running(tmp_path):
    from hqml.cli.main import app

    path = tmp_path / "c.toml"
    path.write_text(dumps_toml(apply_overrides(TINY, {"output_dir": str(tmp_path)})))
    res = CliRunner().invoke(app, ["study", str(path), "--set", "training.lrr=0.1,0.2",
                                   "--no-mlflow"], env={**os.environ, "COLUMNS": "200"})
    assert res.exit_code == 2
    assert "training.lrr" in res.output and "unknown field" in res.output
    res = CliRunner().invoke(app, ["study", str(path), "--no-mlflow"])
    assert res.exit_code == 2 and "at least one key" in res.output
