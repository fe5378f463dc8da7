"""Fixtures of the runtime tests: a real job service process on 127.0.0.1 with a SQLite file."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from hqml.runtime.store import SqlJobStore, make_engine, migrate


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """``uvicorn hqml.runtime.app:app_from_env`` in a subprocess, configured by environment."""

    def __init__(self, db_path: Path, db_url: str | None = None, **settings: object):
        self.db_url = db_url or f"sqlite:///{db_path}"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ, OMP_NUM_THREADS="1", HQML_SERVICE_DATABASE_URL=self.db_url)
        for k, v in settings.items():
            self.env[f"HQML_SERVICE_{k.upper()}"] = str(v)
        self.proc: subprocess.Popen | None = None
        self.log = db_path.with_suffix(".log")

    def store(self) -> SqlJobStore:
        engine = make_engine(self.db_url)
        migrate(engine)
        return SqlJobStore(engine)

    def start(self, timeout: float = 30.0) -> ServerProcess:
        cmd = [sys.executable, "-m", "uvicorn", "hqml.runtime.app:app_from_env", "--factory",
               "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers run."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory):
    """A running service with tokens for alice, bob and a tightly limited carol (shared by the
    runtime test modules: a server start costs seconds)."""
    tmp = tmp_path_factory.mktemp("svc")
    srv = ServerProcess(tmp / "jobs.db", workers=2, output_dir=tmp / "runs",
                        max_request_bytes=200_000, max_qubits=12, max_shots_per_job=10_000,
                        max_amplitudes=2**14,
                        poll_interval_s=0.5)
    store = srv.store()
    srv.tokens = {"alice": store.create_token("alice"), "bob": store.create_token("bob"),
                  "carol": store.create_token("carol", max_queued=1, max_shots=100)}
    store.engine.dispose()
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def ray_server(tmp_path_factory: pytest.TempPathFactory):
    """A service whose jobs run on Ray actors (a local Ray with 2 CPUs, started by the server)."""
    pytest.importorskip("ray")
    tmp = tmp_path_factory.mktemp("raysvc")
    srv = ServerProcess(tmp / "jobs.db", executor="ray", ray_workers=2, output_dir=tmp / "runs",
                        poll_interval_s=0.2)
    store = srv.store()
    srv.tokens = {"alice": store.create_token("alice")}
    store.engine.dispose()
    srv.start(timeout=90)  # Ray starts before the service answers
    yield srv
    srv.stop()
