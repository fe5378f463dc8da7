"""``hqml qec bench`` end to end at a tiny size, and its one-line refusals."""

import json

import pytest
from typer.testing import CliRunner

pytest.importorskip("stim")
pytest.importorskip("pymatching")

from hqml.cli.main import app  # noqa: E402


def test_qec_bench_writes_results_report_and_plot(tmp_path):
    out = tmp_path / "qec"
    res = CliRunner().invoke(
        app,
        [
            "qec",
            "bench",
            "--distances",
            "3",
            "--ps",
            "0.01,0.02",
            "--train-shots",
            "4000",
            "--test-shots",
            "3000",
            "--epochs",
            "1",
            "--train-ps",
            "0.02",
            "--measurements",
            "--batch-size",
            "512",
            "--out",
            str(out),
            "--no-mlflow",
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads((out / "results.json").read_text())
    cfg = data["config"]
    assert cfg["train_ps"] == [0.02] and cfg["ps"] == [0.01, 0.02]
    assert cfg["decoder_options"] == {"measurements": True} and cfg["batch_size"] == 512
    assert (
        "trained on 4000 shots at p = 0.02 (1 epochs, batch 512" in (out / "report.md").read_text()
    )
    rows = data["rows"]
    assert {r["decoder"] for r in rows} == {
        "recurrent",
        "pymatching",
        "pymatching-correlated",
        "no-flip",
    }
    for p in (0.01, 0.02):
        by = {r["decoder"]: r for r in rows if r["p"] == p}
        assert by["pymatching"]["failures"] < 0.6 * by["no-flip"]["failures"]
        assert all(r["shots"] == 3000 for r in by.values())
    assert (out / "ler_vs_p.png").stat().st_size > 1000
    assert "| 3 | 0.01 | pymatching |" in (out / "report.md").read_text()


def test_qec_bench_trains_the_lattice_decoder_on_fresh_shots(tmp_path):
    out = tmp_path / "qec"
    args = ["qec", "bench", "--distances", "3", "--ps", "0.02", "--decoder", "lattice"]
    args += ["--channels", "4", "--fresh-shots", "--train-shots", "1024", "--batch-size", "256"]
    args += ["--epochs", "2", "--test-shots", "2000", "--out", str(out), "--no-mlflow"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    data = json.loads((out / "results.json").read_text())
    assert data["config"]["decoder_options"] == {"channels": 4} and data["config"]["fresh_shots"]
    train = data["training"]["3"]
    assert train["steps"] == 8 and train["shots"] == 2048 and train["cpu_seconds"] > 0
    assert {r["decoder"] for r in data["rows"]} >= {"lattice", "pymatching"}
    assert (out / "model_d3.pt").stat().st_size > 1000
    assert "trained on 1024 fresh shots" in (out / "report.md").read_text()


@pytest.mark.slow  # imports MLflow
def test_qec_bench_logs_every_point_to_mlflow(tmp_path, monkeypatch):
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.chdir(tmp_path)  # the default tracking store is ./mlruns
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    args = ["qec", "bench", "--distances", "3", "--ps", "0.02", "--train-shots", "2000"]
    args += ["--test-shots", "2000", "--epochs", "1", "--out", "out"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    rows = json.loads((tmp_path / "out" / "results.json").read_text())["rows"]
    client = mlflow.tracking.MlflowClient((tmp_path / "mlruns").resolve().as_uri())
    (run,) = client.search_runs([client.get_experiment_by_name("hqml-qec").experiment_id])
    for r in rows:
        key = f"d3_p0.02_{r['decoder']}"
        assert run.data.metrics[f"{key}_ler_per_round"] == pytest.approx(r["ler_per_round"])
    assert run.data.params["test_shots"] == "2000"
    assert "results.json" in {a.path for a in client.list_artifacts(run.info.run_id)}


@pytest.mark.parametrize(
    "args, words",
    [
        (["--distances", "4"], "odd"),
        (["--ps", "0.01,abc"], "comma-separated numbers"),
        (["--decoder", "magic"], "decoder must be one of"),
        (["--test-shots", "0"], "must be positive"),
        (["--batch-size", "0"], "batch_size must be positive"),
        (["--train-ps", "0.6"], "p must be in [0, 0.5)"),
        (["--decoder", "conv", "--measurements"], "recurrent decoder only"),
        (["--decoder", "lattice", "--measurements"], "drop it for lattice"),
        (["--channels", "8"], "--channels applies to the conv and lattice"),
        (["--out", "/proc/hqml-nope"], "cannot write to --out"),  # refused before any training
    ],
)
def test_qec_bench_bad_arguments(args, words):
    res = CliRunner().invoke(app, ["qec", "bench", *args])
    assert res.exit_code != 0
    assert words in res.output
