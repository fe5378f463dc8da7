"""RunLogger: its own files always; MLflow only when asked and available."""

import json

from hqml.tracking import RunLogger, tracking_uri_for


def test_run_logger_without_mlflow_writes_files(tmp_path):
    with RunLogger(tmp_path / "run", mlflow=False) as log:
        log.log_params({"model": {"n_qubits": 4}, "seed": 1})
        log.log_metrics({"loss": 0.5, "acc": float("nan")}, step=0)
        log.log_metrics({"loss": 0.25}, step=1)
        log.log_text("q0: -RY-", "circuit.txt")
        assert log.run_id is None
    params = json.loads((tmp_path / "run" / "params.json").read_text())
    assert params == {"model.n_qubits": 4, "seed": 1}
    rows = [json.loads(r) for r in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert rows == [{"step": 0, "loss": 0.5}, {"step": 1, "loss": 0.25}]  # non-finite dropped
    assert (tmp_path / "run" / "circuit.txt").read_text() == "q0: -RY-"


def test_tracking_uri_defaults_to_local_mlruns(tmp_path):
    assert tracking_uri_for(None).startswith("file:") and tracking_uri_for(None).endswith("/mlruns")
    assert tracking_uri_for("sqlite:///x.db") == "sqlite:///x.db"
    assert tracking_uri_for(str(tmp_path)) == tmp_path.resolve().as_uri()
