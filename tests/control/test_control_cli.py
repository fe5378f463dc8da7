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
            "--out",
            str(out),
            "--no-mlflow",
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads((out / "results.json").read_text())
    run = data["static"][0]
    assert run["ppo"]["shots"][-1] == 128 * data["shots_per_experiment"]
    assert run["nelder_mead"]["shots"][-1] <= run["ppo"]["shots"][-1]
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


@pytest.mark.parametrize(
    "args, words",
    [
        (["--seeds", "0"], "seeds must be positive"),
        (["--experiments", "100"], "experiments must be a multiple of 64"),
        (["--drift-experiments", "1024", "--settle", "1024"], "settle must be positive and below"),
        (["--out", "/proc/hqml-nope"], "cannot write to --out"),  # refused before any training
    ],
)
def test_control_bench_refuses_bad_arguments(args, words):
    res = CliRunner().invoke(app, ["control", "bench", *args])
    assert res.exit_code != 0 and words in res.output
