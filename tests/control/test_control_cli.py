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
            "128",
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
    assert len(data["drift"]["one_off"]["fidelity"]) == len(data["drift"]["ppo"]["fidelity"])
    for name in ("calibration.png", "drift.png", "report.md"):
        assert (out / name).stat().st_size > 500


@pytest.mark.parametrize(
    "args, words",
    [
        (["--seeds", "0"], "seeds must be positive"),
        (["--out", "/proc/hqml-nope"], "cannot write to --out"),  # refused before any training
    ],
)
def test_control_bench_refuses_bad_arguments(args, words):
    res = CliRunner().invoke(app, ["control", "bench", *args])
    assert res.exit_code != 0 and words in res.output
