"""``hqml serve`` with an address it cannot listen on: one line, non-zero, no database left."""

import socket

import pytest
from typer.testing import CliRunner

pytest.importorskip("uvicorn")

from hqml.cli.main import app  # noqa: E402


def _busy_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    return s


@pytest.mark.parametrize(
    "args, words",
    [
        (["--port", "99999"], "less than or equal to 65535"),
        (["--host", "256.1.1.1"], "cannot listen on 256.1.1.1:8000"),
        (None, "Address already in use"),
    ],
)
def test_serve_refuses_an_address_in_one_line(tmp_path, monkeypatch, args, words):
    monkeypatch.chdir(tmp_path)
    busy = _busy_port()
    try:
        if args is None:
            args = ["--port", str(busy.getsockname()[1])]
        res = CliRunner().invoke(app, ["serve", *args])
    finally:
        busy.close()
    assert res.exit_code != 0
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and words in lines[0], res.output
    assert not (tmp_path / "hqml-jobs.db").exists()
