"""``hqml control bench`` at a tiny size, and its refusals."""

import json

import pytest
from typer.testing import CliRunner

pytest.importorskip("stable_baselines3")

from hqml.cli.main import app  # noqa: E402


def test_control_bench_writes_results_report_and_plots(tmp_path):
    out = tmp_path / "ctl"
    res = CliRunner().invoke(
        app,
        [
            "control",
            "bench",
            "--seeds",
            "1",
            "--experiments",
            "128",
            "--drift-experiments",
            "192",
            "--settle",
            "64",
            "--tracking-lr",
            "0.0005",
            "--out",
            str(out),
            "--no-mlflow",
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads((out / "results.json").read_text())
    assert data["config"]["tracking_lr"] == 0.0005
    assert "learning rate 0.0005 after experiment 64" in (out / "report.md").read_text()
    run = data["static"][0]
    assert run["ppo"]["shots"][-1] == 128 * data["shots_per_experiment"]
    assert set(run["nelder_mead"]) == {"1x", "10x", "100x"}
    for k, tr in run["nelder_mead"].items():  # every baseline on PPO's budget, never above
        assert tr["shots"][-1] <= run["ppo"]["shots"][-1]
        f = int(k[:-1])
        assert tr["shots"][0] == f * data["shots_per_experiment"]  # one evaluation's shots
    reached = [v for v in run["nm_shots_to_target"].values() if v]
    assert run["nm_best_shots_to_target"] == (min(reached) if reached else None)
    drift = data["drift"]
    # the one-off is PPO's own calibration frozen at experiment 64: it starts where PPO stood
    # and is scored at every later recorded point of PPO's run
    assert drift["one_off"]["time"] == [64.0, 128.0, 192.0]
    k = drift["ppo"]["time"].index(64.0)
    assert drift["one_off"]["fidelity"][0] == pytest.approx(drift["ppo"]["fidelity"][k], abs=1e-12)
    assert drift["one_off_start"] == drift["one_off"]["fidelity"][0]
    assert drift["ppo_min_after_settling"] == min(drift["ppo"]["fidelity"][k:])
    assert "frozen at that point (the one-off) starts at" in (out / "report.md").read_text()
    for name in ("calibration.png", "drift.png", "report.md"):
        assert (out / name).stat().st_size > 500


@pytest.mark.slow  # trains a feedback policy (one PPO rollout)
def test_control_bench_runs_the_feedback_agent_on_the_same_readout_as_nelder_mead(tmp_path):
    out = tmp_path / "fb"
    args = ["control", "bench", "--agent", "feedback", "--pretrain", "512", "--seeds", "1"]
    args += ["--experiments", "64", "--nm-factors", "1", "--drift-experiments", "128"]
    args += ["--settle", "64", "--out", str(out), "--no-mlflow"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    data = json.loads((out / "results.json").read_text())
    assert data["pretrain_experiments"] == 512 and len(data["sequences"]) == 16
    assert data["shots_per_experiment"] == 16 * 20  # first-order sequences paid for by both
    run = data["static"][0]
    # every experiment recorded, the first point after the experiment that gave an observation
    assert run["ppo"]["shots"] == [320 * k for k in range(1, 66)]
    assert run["nelder_mead"]["1x"]["shots"][-1] <= run["ppo"]["shots"][-1]
    k = data["drift"]["ppo"]["time"].index(65.0)  # its clock counts the first experiment too
    assert data["drift"]["one_off"]["fidelity"][0] == pytest.approx(
        data["drift"]["ppo"]["fidelity"][k], abs=1e-12
    )
    assert "trained on 512 experiments on simulated devices" in (out / "report.md").read_text()


@pytest.mark.slow  # trains a feedback policy (one PPO rollout)
def test_control_bench_coarse_stage_pays_its_shots_and_runs_an_edge_drift_device(tmp_path):
    out = tmp_path / "coarse"
    args = ["control", "bench", "--agent", "feedback", "--pretrain", "512", "--seeds", "1"]
    args += ["--experiments", "64", "--nm-factors", "1", "--drift-experiments", "128"]
    args += ["--settle", "64", "--coarse", "2", "--guard", "0.2", "--hold-gain", "0.5"]
    args += ["--hold-below", "0.05", "--drift-devices", "2", "--drift-edge"]
    args += ["--out", str(out), "--no-mlflow"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    data = json.loads((out / "results.json").read_text())
    run = data["static"][0]
    # two coarse experiments of 18 sequences (the Ramsey pair paid for), then 16 per experiment
    assert run["ppo"]["shots"][:3] == [360, 720, 1040]
    assert run["ppo"]["shots"][-1] == 2 * 360 + 63 * 320
    assert run["nelder_mead"]["1x"]["shots"][-1] <= run["ppo"]["shots"][-1]
    first, edge = data["drift_runs"]
    assert data["drift"] == first and first["seed"] == 100 and edge["seed"] == 101
    assert not first["edge"] and edge["edge"] and edge["offset"] == pytest.approx(-0.05)
    assert edge["coarse_runs"] >= 1
    assert "at the edge of the spread" in (out / "report.md").read_text()


@pytest.mark.slow  # imports MLflow
def test_control_bench_logs_to_mlflow(tmp_path, monkeypatch):
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.chdir(tmp_path)  # the default tracking store is ./mlruns
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    args = ["control", "bench", "--seeds", "1", "--experiments", "64", "--nm-factors", "1,10"]
    args += ["--drift-experiments", "128", "--settle", "64", "--seed", "5", "--out", "out"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    assert data["static"][0]["seed"] == 5
    client = mlflow.tracking.MlflowClient((tmp_path / "mlruns").resolve().as_uri())
    (run,) = client.search_runs([client.get_experiment_by_name("hqml-control").experiment_id])
    metrics = run.data.metrics
    assert metrics["ppo_final_fidelity"] == pytest.approx(data["static"][0]["ppo"]["fidelity"][-1])
    assert metrics["one_off_min"] == pytest.approx(data["drift"]["one_off_min"])
    nm10 = data["static"][0]["nelder_mead"]["10x"]["fidelity"][-1]
    assert metrics["nm_10x_final_fidelity"] == pytest.approx(nm10)
    assert run.data.params["seed"] == "5"


@pytest.mark.parametrize(
    "args, words",
    [
        (["--seeds", "0"], "seeds must be positive"),
        (["--experiments", "100"], "experiments must be a multiple of 64"),
        (["--nm-factors", "1,0"], "nm_factors must be positive"),
        (["--nm-factors", "1,x"], "comma-separated integers"),
        (["--experiments", "64", "--nm-factors", "100"], "need at least that many experiments"),
        (["--drift-experiments", "1024", "--settle", "1024"], "settle must be positive and below"),
        (["--tracking-lr", "-0.001"], "tracking_lr must be positive"),
        (["--agent", "dqn"], "agent must be 'ppo' or 'feedback'"),
        (["--agent", "feedback", "--step", "2"], "step in (0, 1]"),
        (["--coarse", "2"], "apply to --agent feedback only"),
        (["--hold-below", "0.1"], "apply to --agent feedback only"),
        (["--agent", "feedback", "--guard", "0.1"], "guard positive with coarse > 0"),
        (["--agent", "feedback", "--hold-gain", "1.5"], "hold_gain must be in (0, 1]"),
        (["--drift-devices", "0"], "drift_devices must be positive"),
        (["--out", "/proc/hqml-nope"], "cannot write to --out"),  # refused before any training
    ],
)
def test_control_bench_refuses_bad_arguments(args, words):
    res = CliRunner().invoke(app, ["control", "bench", *args])
    assert res.exit_code != 0 and words in res.output
