"""Fixtures of the runtime tests: a real job service process on 127.0.0.1 with a SQLite file."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from hqml.runtime.store import SqlJobStore, make_engine, migrate

# The server process serves a listening socket that this test process bound (port 0) and keeps
# open: no other process can take the port between choosing it and serving on it, and restarts
# after a SIGKILL serve the same port.
LAUNCH = (
    "import socket, sys, uvicorn; from hqml.runtime.app import app_from_env; "
    "sock = socket.socket(fileno=int(sys.argv[1])); "
    "uvicorn.Server(uvicorn.Config(app_from_env(), log_level='warning'))"
    ".run(sockets=[sock])"
)


def listening_socket() -> socket.socket:
    """A TCP socket listening on 127.0.0.1 at a port chosen by the kernel."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


class ServerProcess:
    """The service (``app_from_env``) in a subprocess on an inherited socket, configured by
    environment. Use it as a context manager, or call :meth:`close`: it stops the process and
    releases the port even when a test fails."""

    def __init__(self, db_path: Path, db_url: str | None = None, **settings: object):
        self.db_url = db_url or f"sqlite:///{db_path}"
        self.sock = listening_socket()
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ, OMP_NUM_THREADS="1", HQML_SERVICE_DATABASE_URL=self.db_url)
        for k, v in settings.items():
            self.env[f"HQML_SERVICE_{k.upper()}"] = str(v)
        self.proc: subprocess.Popen | None = None
        self.log = db_path.with_suffix(".log")

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.stop()
        self.sock.close()

    def store(self) -> SqlJobStore:
        engine = make_engine(self.db_url)
        migrate(engine)
        return SqlJobStore(engine)

    def start(self, timeout: float = 120.0) -> ServerProcess:
        cmd = [sys.executable, "-c", LAUNCH, str(self.sock.fileno())]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                cmd, env=self.env, stdout=log, stderr=log, pass_fds=(self.sock.fileno(),)
            )
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
                try:
                    if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                        return self
                except httpx.TransportError:
                    time.sleep(0.1)
            raise RuntimeError(f"server did not start: {self.log.read_text()[-2000:]}")
        except BaseException:
            self.stop()
            raise

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
    srv = ServerProcess(
        tmp / "jobs.db",
        workers=2,
        output_dir=tmp / "runs",
        max_request_bytes=200_000,
        max_qubits=12,
        max_shots_per_job=10_000,
        max_amplitudes=2**14,
        max_samples=100_000,
        max_result_bytes=4_000_000,
        max_parameters=100_000,
        max_dataset_values=1_000_000,
        max_gates=100_000,
        max_qasm_bytes=100_000,
        poll_interval_s=0.5,
    )
    store = srv.store()
    srv.tokens = {
        "alice": store.create_token("alice"),
        "bob": store.create_token("bob"),
        "carol": store.create_token("carol", max_queued=1, max_shots=100),
        "admin": store.create_token("root", admin=True),
    }
    store.engine.dispose()
    with srv:
        srv.start()
        yield srv


@pytest.fixture(scope="session")
def ray_server(tmp_path_factory: pytest.TempPathFactory):
    """A service whose jobs run on Ray actors (a local Ray with 2 CPUs, started by the server)."""
    pytest.importorskip("ray")
    tmp = tmp_path_factory.mktemp("raysvc")
    srv = ServerProcess(
        tmp / "jobs.db", executor="ray", ray_workers=2, output_dir=tmp / "runs", poll_interval_s=0.2
    )
    store = srv.store()
    srv.tokens = {
        "alice": store.create_token("alice"),
        "admin": store.create_token("root", admin=True),
    }
    store.engine.dispose()
    with srv:
        srv.start(timeout=180)  # Ray starts before the service answers
        yield srv


@pytest.fixture
def start_server(tmp_path: Path):
    """``start_server(db_url=None, tokens=(), **settings)``: a new server process (not yet
    started: call ``.start()``), stopped at the end of the test, pass or fail. ``tokens`` are
    owners that get a token (in ``srv.tokens``) before the server starts, or a dict of owner
    to ``create_token`` keyword arguments."""
    made: list[ServerProcess] = []

    def make(db_url: str | None = None, tokens: Any = (), **settings: object) -> ServerProcess:
        srv = ServerProcess(
            tmp_path / f"jobs{len(made)}.db",
            db_url=db_url,
            output_dir=tmp_path / "runs",
            **settings,
        )
        made.append(srv)
        store = srv.store()
        spec = tokens if isinstance(tokens, dict) else {owner: {} for owner in tokens}
        srv.tokens = {owner: store.create_token(owner, **kw) for owner, kw in spec.items()}
        store.engine.dispose()
        return srv

    yield make
    for srv in made:
        srv.close()


# --- a throwaway PostgreSQL cluster -------------------------------------------------------------
def _pg_user() -> tuple[list[str], int | None]:
    """How to run the PostgreSQL binaries: as this user, or (as root, which initdb refuses)
    through ``runuser`` as an unprivileged one, created if missing. Returns (prefix, uid)."""
    if os.geteuid() != 0:
        return [], None
    import pwd

    for name in ("hqml-pg", "nobody"):
        try:
            return ["runuser", "-u", name, "--"], pwd.getpwnam(name).pw_uid
        except KeyError:
            continue
    subprocess.run(["useradd", "--system", "--no-create-home", "hqml-pg"], check=True)
    return ["runuser", "-u", "hqml-pg", "--"], pwd.getpwnam("hqml-pg").pw_uid


@pytest.fixture(scope="session")
def postgres_cluster():
    """A PostgreSQL cluster in a temporary folder, listening on a Unix socket only (no port to
    race for), stopped and removed at the end even when tests fail. Yields the URL prefix."""
    import shutil
    import tempfile

    if shutil.which("initdb") is None or shutil.which("pg_ctl") is None:
        pytest.skip("no PostgreSQL binaries (initdb, pg_ctl) on PATH")
    pytest.importorskip("psycopg")
    prefix, uid = _pg_user()
    root = Path(tempfile.mkdtemp(prefix="hqmlpg"))  # short: a socket path has ~100 bytes
    data, sock = root / "data", root / "s"
    sock.mkdir()
    if uid is not None:
        for p in (root, sock):
            os.chown(p, uid, -1)
    run = dict(check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        subprocess.run(
            [
                *prefix,
                "initdb",
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
            ],
            **run,
        )
        subprocess.run(
            [
                *prefix,
                "pg_ctl",
                "-D",
                str(data),
                "-l",
                str(root / "log"),
                "-w",
                "-o",
                f"-k {sock} -c listen_addresses='' -c fsync=off -c max_connections=200",
                "start",
            ],
            **run,
        )
    except subprocess.CalledProcessError as e:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {e.stdout.decode()[-2000:]}") from None
    try:
        yield f"postgresql+psycopg://postgres@/{{db}}?host={sock}"
    finally:
        subprocess.run(
            [*prefix, "pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_cluster: str):
    """A fresh, empty database on the session's PostgreSQL cluster."""
    import uuid

    import sqlalchemy as sa

    name = "t" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(postgres_cluster.format(db="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    admin.dispose()
    yield postgres_cluster.format(db=name)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database URL: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("postgres_url")
