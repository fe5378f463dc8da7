"""``hqml qubo`` end to end through typer's runner."""

import json

from typer.testing import CliRunner

from hqml.cli.main import app


def test_qubo_command_solves_and_writes_json(tmp_path):
    result = CliRunner().invoke(app, ["qubo", "maxcut", "--size", "8", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "exact" in result.output
    record = json.loads((tmp_path / "solution.json").read_text())
    assert record["solver"] == "exact" and record["feasible"]
    assert record["answer"]["value"] == -record["energy"]
    assert record["attempts"][0]["status"] == "ok"


def test_qubo_command_rejects_unknown_problem():
    result = CliRunner().invoke(app, ["qubo", "tsp"])
    assert result.exit_code != 0
