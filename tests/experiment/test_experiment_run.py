"""``hqml run``: config validation, parameter-matched baseline, timing, files and MLflow."""

import importlib.util
import json
import re

import pytest
import torch
from typer.testing import CliRunner

from hqml.cli.main import app
from hqml.experiment import ConfigError, build_baseline, build_hybrid, load_config, parse_config
from hqml.experiment.models import MatchedMLP
from hqml.experiment.train import train
from hqml.nn import count_parameters

TINY = """
name = "tiny"
seed = 1
output_dir = "{out}"

[data]
name = "linearly_separable"
n_samples = 40
n_features = 2

[model]
pattern = "dressed"
n_qubits = 2
layers = 1

[training]
epochs = 2
batch_size = 10
learning_rate = 0.05

[tracking]
mlflow = true
tracking_uri = "{mlruns}"
experiment = "hqml-tests"
"""


@pytest.mark.parametrize(
    "data,needle",
    [
        (
            {"model": {"pattern": "hybridd"}},
            "model.pattern: Input should be 'dressed', 'head', 'feature',"
            " 'monolithic' or 'quanvolution' (got 'hybridd')",
        ),
        (
            {"training": {"optimizer": "adamm"}},
            "training.optimizer: Input should be 'adam', 'adamw', 'sgd'",
        ),
        (
            {"training": {"epochs": 0}},
            "training.epochs: Input should be greater than or equal to 1",
        ),
        ({"modle": {}}, "modle: unknown field; allowed here: name, seed, output_dir, data, model"),
        ({"model": {"qubits": 3}}, "model.qubits: unknown field; allowed here: pattern, n_qubits"),
        (
            {"data": {"name": "digits", "sizee": 4}},
            "unknown option 'sizee' for dataset 'digits'; allowed: ['images', 'n_classes', 'size']",
        ),
        ({"data": {"name": "mnist"}}, "data.name: Input should be 'digits'"),
    ],
)
def test_config_errors_name_field_and_allowed_values(data, needle):
    with pytest.raises(ConfigError) as err:
        parse_config(data)
    assert needle in str(err.value)


def test_config_file_errors_and_overrides(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("name = [")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml")
    good = tmp_path / "good.toml"
    good.write_text('[model]\npattern = "head"\n')
    cfg = load_config(good, {"training.epochs": 3, "seed": 7})
    assert (cfg.model.pattern, cfg.training.epochs, cfg.seed) == ("head", 3, 7)
    result = CliRunner().invoke(app, ["run", str(bad)])
    assert result.exit_code == 2 and "not valid TOML" in result.output


@pytest.mark.parametrize("budget", [40, 57, 142, 226, 1000])
def test_baseline_has_exactly_the_hybrid_parameter_count(budget):
    assert count_parameters(MatchedMLP(16, 10, budget)) == budget
    assert count_parameters(build_baseline(4, 3, budget, seed=0)) == budget


@pytest.mark.parametrize(
    "pattern,data,extra",
    [
        ("dressed", {"name": "iris"}, {}),
        ("head", {"name": "iris"}, {"n_qubits": 2, "encoding": "zz"}),
        ("feature", {"name": "iris"}, {"n_episodes": 2}),
        ("monolithic", {"name": "iris"}, {"ansatz": "strongly_entangling"}),
        ("monolithic", {"name": "digits", "size": 4, "n_classes": 4}, {"encoding": "amplitude"}),
        ("dressed", {"name": "iris"}, {"init": "identity_block", "encoding": "iqp"}),
        (
            "quanvolution",
            {"name": "bars_and_stripes", "n_samples": 20, "size": 3, "scale": "minmax"},
            {},
        ),
    ],
)
def test_every_pattern_builds_and_trains_one_epoch(pattern, data, extra):
    cfg = parse_config(
        {
            "data": data,
            "model": {"pattern": pattern, "n_qubits": 4, "layers": 1, **extra},
            "training": {"epochs": 1, "batch_size": 64},
        }
    )
    from hqml.experiment.runner import load_data

    ds = load_data(cfg)
    model = build_hybrid(cfg.model, ds.n_features, ds.n_classes, ds.x_train, seed=0)
    hist = train(
        model, ds.x_train[:64], ds.y_train[:64], ds.x_test[:16], ds.y_test[:16], cfg.training, 0
    )
    assert len(hist.test_acc) == 1
    assert hist.quantum_s[0] > 0
    assert abs(hist.quantum_s[0] + hist.classical_s[0] + hist.data_s[0] - hist.epoch_s[0]) < 1e-6


def test_pattern_data_mismatch_is_explained():
    cfg = parse_config(
        {"data": {"name": "wine"}, "model": {"pattern": "monolithic", "n_qubits": 4}}
    )
    x = torch.zeros(5, 13)
    with pytest.raises(ConfigError, match="encoding 'amplitude' with n_qubits = 4"):
        build_hybrid(cfg.model, 13, 3, x, seed=0)
    cfg = parse_config({"model": {"pattern": "quanvolution"}})
    with pytest.raises(ConfigError, match="data.images = true"):
        build_hybrid(cfg.model, 13, 3, x, seed=0)


def test_hqml_run_writes_results_report_plots_and_mlflow_run(tmp_path):
    pytest.importorskip("mlflow")  # the tracking extra, which `make` installs
    out, mlruns = tmp_path / "runs", tmp_path / "mlruns"
    config = tmp_path / "tiny.toml"
    config.write_text(TINY.format(out=out.as_posix(), mlruns=mlruns.as_posix()))
    result = CliRunner().invoke(app, ["run", str(config)])
    assert result.exit_code == 0, result.output
    run_dir = out / "tiny"
    for name in (
        "results.json",
        "report.md",
        "curves.png",
        "time_split.png",
        "circuit.png",
        "metrics.jsonl",
        "params.json",
        "hybrid.pt",
        "baseline.pt",
    ):
        assert (run_dir / name).is_file(), name
    for png in run_dir.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    results = json.loads((run_dir / "results.json").read_text())
    hybrid, baseline = results["models"]["hybrid"], results["models"]["baseline"]
    table = result.output.split("test results")[
        1
    ]  # the printed table: both accuracies, side by side
    for name, m in (("hybrid", hybrid), ("baseline", baseline)):
        assert any(name in row and f"{m['test_acc']:.3f}" in row for row in table.splitlines())
    assert hybrid["parameters"] == baseline["parameters"]
    assert len(hybrid["history"]["test_acc"]) == 2 and 0 <= hybrid["test_acc"] <= 1
    assert set(hybrid["time_split"]) == {"quantum simulation", "classical compute", "data movement"}
    report = (run_dir / "report.md").read_text()
    assert "![loss and accuracy](curves.png)" in report and "| hybrid |" in report

    from mlflow.tracking import MlflowClient

    client = MlflowClient(mlruns.resolve().as_uri())
    run = client.get_run(results["mlflow_run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.params["model.pattern"] == "dressed"
    assert "hybrid_test_acc" in run.data.metrics and "baseline_final_test_acc" in run.data.metrics
    history = client.get_metric_history(run.info.run_id, "hybrid_train_loss")
    assert [m.step for m in history] == [0, 1]
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"results.json", "report.md", "curves.png", "circuit.txt"} <= artifacts


def test_hqml_run_on_a_provider_reports_its_calls(tmp_path):
    """A run on a provider device records every call (jobs, circuits, shots, cost) in
    results.json, report.md and the printed summary."""
    pytest.importorskip("qiskit_ibm_runtime")  # the hardware extra
    out = tmp_path / "runs"
    config = tmp_path / "tiny.toml"
    text = (
        TINY.format(out=out.as_posix(), mlruns="")
        .replace(
            "layers = 1\n",
            'layers = 1\nbackend = "qiskit:aer_simulator"\nshots = 100\n'
            'diff_method = "parameter-shift"\n',
        )
        .replace("epochs = 2", "epochs = 1")
        .replace("mlflow = true", "mlflow = false")
    )
    config.write_text(text)
    result = CliRunner().invoke(app, ["run", str(config)])
    assert result.exit_code == 0, result.output
    results = json.loads((out / "tiny" / "results.json").read_text())
    calls = results["provider_calls"]
    t = calls["totals"]
    # 40 samples -> 32 train / 8 test (or so): 1 epoch of batches, each one job for the values
    # and one for the gradient, then evaluation; every circuit ran 100 shots
    assert t["jobs"] >= 2 and t["shots"] == 100 * t["circuits"]
    assert set(calls["by_backend"]) == {"qiskit:aer_simulator"}
    assert calls["summary"] in " ".join(result.output.split())
    assert calls["summary"] in (out / "tiny" / "report.md").read_text()
    assert t["cost"] == 0  # Aer: a local simulator
    # a budget in the config refuses the call that would exceed it, before sending it
    config.write_text(text + "\n[budget]\njobs = 3\n")
    refused = CliRunner().invoke(app, ["run", str(config)])
    assert refused.exit_code == 2
    assert (
        "error: budget exceeded before sending: qiskit:aer_simulator would use 1 jobs"
        " with 3 of 3 spent" in refused.output
    )
    # prices in the config price the run's calls (first matching pattern); a money budget
    # then refuses the first call, which would pass it (0.5 per job + 0.001 per shot)
    priced = text + '\n[prices."qiskit:aer_*"]\nper_task = 0.5\nper_shot = 0.001\n'
    mlruns = tmp_path / "mlruns"  # and MLflow carries the totals as provider_* metrics
    tracked = priced.replace("mlflow = false", "mlflow = true").replace(
        'tracking_uri = ""', f'tracking_uri = "{mlruns.as_posix()}"'
    )
    assert "mlflow = true" in tracked and mlruns.as_posix() in tracked
    config.write_text(tracked)
    result = CliRunner().invoke(app, ["run", str(config)])
    assert result.exit_code == 0, result.output
    results = json.loads((out / "tiny" / "results.json").read_text())
    t = results["provider_calls"]["totals"]
    assert t["cost"] == pytest.approx(0.5 * t["jobs"] + 0.001 * t["shots"])
    if importlib.util.find_spec("mlflow") is not None:
        from mlflow.tracking import MlflowClient

        metrics = MlflowClient(mlruns.resolve().as_uri()).get_run(results["mlflow_run_id"])
        for key in ("jobs", "circuits", "shots", "cost"):
            assert metrics.data.metrics[f"provider_{key}"] == pytest.approx(t[key])
    config.write_text(priced + "\n[budget]\nmoney = 0.6\n")
    refused = CliRunner().invoke(app, ["run", str(config)])
    assert refused.exit_code == 2
    assert re.search(r"would use \$[0-9.]+ money with \$0 of \$0.6 spent", refused.output)
