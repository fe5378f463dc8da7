"""``hqml jobs`` on a narrow terminal: whole ids in the list, unique id prefixes accepted.

The service is replaced by an in-memory stand-in with the client's methods (the CLI's own logic
is under test; tests/runtime runs the commands against a real server).
"""

from __future__ import annotations

import time

import pytest
from typer.testing import CliRunner

from hqml.cli import jobs
from hqml.cli.main import app

IDS = [
    "3f2a9c0d4b5e6f708192a3b4c5d6e7f8",
    "3f2a11112222333344445555666677aa",
    "b0c1d2e3f405162738495a6b7c8d9eaf",
]


class FakeService:
    def __init__(self):
        self.calls = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def list(self, status=None, limit=100):
        return [
            {
                "id": i,
                "kind": "job",
                "status": "done",
                "attempts": 1,
                "created_at": time.time(),
                "error": None,
            }
            for i in IDS
        ][:limit]

    def status(self, job_id, wait=0.0):
        self.calls.append(("status", job_id))
        return {"id": job_id, "status": "done"}

    def result(self, job_id, wait=0.0):
        self.calls.append(("result", job_id))
        return {"status": "done", "result": {"value": [1.0]}}

    def cancel(self, job_id):
        self.calls.append(("cancel", job_id))
        return {"status": "cancelled"}


@pytest.fixture
def service(monkeypatch):
    fake = FakeService()
    monkeypatch.setattr(jobs, "_client", lambda url, token: fake)
    return fake


def test_list_prints_whole_ids_on_a_narrow_terminal(service):
    out = CliRunner().invoke(app, ["jobs", "list"], env={"COLUMNS": "50"})
    assert out.exit_code == 0, out.output
    for i in IDS:
        assert i in out.output


@pytest.mark.parametrize("command", ["status", "result", "cancel"])
def test_unique_prefix_is_accepted(service, command):
    out = CliRunner().invoke(app, ["jobs", command, "b0c1d2"])
    assert out.exit_code == 0, out.output
    assert service.calls == [(command, IDS[2])]


def test_ambiguous_prefix_is_refused_and_unknown_passed_on(service):
    out = CliRunner().invoke(app, ["jobs", "status", "3f2a"])
    assert out.exit_code == 2 and service.calls == []
    (line,) = out.output.strip().splitlines()
    assert line.startswith("error: Invalid value for JOB_ID: '3f2a' is the start of 2 job ids")
    out = CliRunner().invoke(app, ["jobs", "status", "3f2a9"])
    assert service.calls == [("status", IDS[0])]
    CliRunner().invoke(app, ["jobs", "status", "ffff"])  # no match: the service says 404
    CliRunner().invoke(app, ["jobs", "status", IDS[1]])  # a whole id: no listing needed
    assert service.calls[1:] == [("status", "ffff"), ("status", IDS[1])]
