"""A scale point whose quantum layer runs on a real job service: its epochs' quantum time is
split into the server's own time on the jobs and the communication around them (requests,
transfer, queue), end to end (the unit tests use a stub client)."""

from __future__ import annotations

import pytest

from hqml.experiment.scale.point import SPLIT, run_point

pytestmark = pytest.mark.slow  # the session's job service process


def test_a_scale_point_on_the_job_service_measures_communication(server, monkeypatch):
    monkeypatch.setenv("HQML_TOKEN", server.tokens["alice"])
    run = {
        "name": "remote",
        "data": {"name": "digits", "n_classes": 2, "max_train": 16},
        "model": {
            "pattern": "dressed",
            "n_qubits": 2,
            "layers": 1,
            "backend": f"remote+{server.url}",
            "diff_method": "parameter-shift",
        },
        "training": {"epochs": 2, "batch_size": 8, "baseline": False},
        "tracking": {"mlflow": False},
    }
    settings = {"grad_samples": 4, "watts_per_core": 10.0, "init_models": 0, "baseline": False}
    rec = run_point(run, {"backend": "remote", "seed": 0}, settings)
    assert rec["status"] == "ok"
    h = rec["hybrid"]
    assert h["unsplit_remote_s_per_epoch"] == 0.0  # this service gives its job times
    for split, epoch in zip(h["time_split_per_epoch"], h["history"]["epoch_s"], strict=True):
        assert set(split) == set(SPLIT)
        assert split["communication"] > 0  # HTTP round trips: never free
        assert split["quantum simulation"] > 0  # the server's own time on the jobs
        assert sum(split.values()) == pytest.approx(epoch, rel=0.05, abs=2e-3)
    assert "the remote service's own work is not included" in h["energy_method"]
