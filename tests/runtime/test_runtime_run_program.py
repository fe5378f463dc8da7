"""The ``run`` program: an ``hqml run`` config trained on the service (real server process)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch

from hqml.experiment import parse_config, run_experiment
from hqml.experiment.study.search import dumps_toml
from hqml.runtime.client import JobClient, JobServiceError

RUN = {
    "name": "svc_run",
    "seed": 3,
    "data": {"name": "iris", "max_train": 32},
    "model": {"pattern": "head", "n_qubits": 2, "layers": 2},
    "training": {"epochs": 6, "batch_size": 8, "learning_rate": 0.05},
}


def watch(client: JobClient, job_id: str) -> list[dict]:
    """Every distinct (status, progress) seen until the job finishes."""
    seen: list[dict] = []
    while True:
        info = client.status(job_id)
        if not seen or (info["status"], info["progress"]) != (
            seen[-1]["status"],
            seen[-1]["progress"],
        ):
            seen.append(info)
        if info["status"] in ("done", "failed", "cancelled"):
            return seen
        time.sleep(0.02)


def test_run_config_trains_on_server_like_locally(server, tmp_path):
    with JobClient(server.url, server.tokens["alice"]) as client:
        job = client.submit_run(dumps_toml(RUN))["id"]  # TOML text, as a file would send it
        seen = watch(client, job)
        result = client.wait(job, timeout=60)
    mid = [
        s["progress"]
        for s in seen
        if s["status"] == "running" and s["progress"] and "epoch" in s["progress"]
    ]
    assert mid, seen  # per-epoch progress was readable while the job ran
    assert all(p["epochs"] == 6 and 1 <= p["epoch"] <= 6 for p in mid)
    assert {"train_loss", "test_acc", "model", "step", "steps"} <= set(mid[-1])
    assert seen[-1]["status"] == "done" and seen[-1]["progress"]["done"] is True
    # the same config run here, with the same seed, gives the same numbers
    torch.set_num_threads(1)
    local = run_experiment(
        parse_config({**RUN, "output_dir": str(tmp_path), "tracking": {"mlflow": False}})
    )
    for name in ("hybrid", "baseline"):
        assert result["models"][name]["test_acc"] == local["models"][name]["test_acc"]
        assert result["models"][name]["test_loss"] == pytest.approx(
            local["models"][name]["test_loss"], rel=1e-9
        )
        assert result["models"][name]["parameters"] == local["models"][name]["parameters"]
    assert result["hybrid_test_accuracy"] == local["models"]["hybrid"]["test_acc"]
    assert result["baseline_test_accuracy"] == local["models"]["baseline"]["test_acc"]
    assert result["epochs"] == 6 and "# " in result["report"] and "hybrid" in result["report"]
    run_dir = Path(result["run_dir"])
    assert run_dir.parts[-3:-1] == ("alice", job) and (run_dir / "results.json").is_file()


def test_bad_run_configs_get_400_naming_the_field(server, tmp_path):
    bad = [
        ({**RUN, "training": {"lrr": 0.1}}, "training.lrr: unknown field"),
        ({**RUN, "model": {"pattern": "hybridd"}}, "model.pattern"),
        ({**RUN, "model": {"n_qubits": 13}}, "model.n_qubits: 13 qubits"),
        ({**RUN, "model": {"backend": "qiskit.aer"}}, "model.backend: 'qiskit.aer' is not"),
        ("name = [unclosed", "not valid TOML"),
        ({**RUN, "name": "../../escape"}, "name: '../../escape' names the run's folder"),
    ]
    path = tmp_path / "bad.toml"
    path.write_text(dumps_toml(bad[0][0]))
    with JobClient(server.url, server.tokens["alice"]) as client:
        for config, words in bad:
            with pytest.raises(JobServiceError) as e:
                client.submit_run(config)
            assert e.value.status_code == 400 and words in e.value.detail, e.value.detail
        with pytest.raises(JobServiceError, match="training.lrr"):
            client.submit_run(path)  # from a file
        with pytest.raises(JobServiceError) as e:
            client.submit({"program": "vqe", "config": RUN}, program=True)
        assert e.value.status_code == 422 and "belongs to program 'run'" in e.value.detail


def test_cli_submits_a_config_file_and_follows_its_epochs(server, tmp_path):
    from typer.testing import CliRunner

    from hqml.cli.main import app

    path = tmp_path / "small.toml"
    path.write_text(
        dumps_toml({**RUN, "training": {"epochs": 2, "batch_size": 16, "baseline": False}})
    )
    res = CliRunner().invoke(
        app,
        [
            "jobs",
            "submit",
            str(path),
            "--wait",
            "--url",
            server.url,
            "--token",
            server.tokens["bob"],
        ],
    )
    assert res.exit_code == 0, res.output
    assert "test accuracy: hybrid" in res.output and "files on the server:" in res.output
    assert "# " in res.output  # the report's Markdown follows
