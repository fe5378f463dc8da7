"""Token lifecycle (admin API and ``hqml serve``), atomic quotas over HTTP, one server per
database, liveness-only /health: real server processes on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

import hqml

pytestmark = pytest.mark.slow  # servers, Ray, subprocesses: `make test-fast` skips these


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def long_vqe() -> dict:
    c = hqml.Circuit(1)
    c.ry(c.weight("w", 1)[0], 0)
    return {
        "program": "vqe",
        "circuit": json.loads(c.to_json()),
        "hamiltonian": hqml.Z(0).to_json(),
        "max_iterations": 100_000,
    }


def test_admin_api_issues_lists_expires_and_revokes_tokens(server):
    admin, alice = auth(server.tokens["admin"]), auth(server.tokens["alice"])
    url = server.url + "/v1/admin/tokens"
    assert httpx.post(url, json={"owner": "eve"}, headers=alice).status_code == 403
    assert httpx.get(server.url + "/v1/status", headers=alice).status_code == 403
    assert httpx.get(url).status_code == 401
    issued = httpx.post(
        url, json={"owner": "eve", "max_queued": 2, "expires_in_s": 3600}, headers=admin
    )
    assert issued.status_code == 201, issued.text
    eve = issued.json()
    assert eve["owner"] == "eve" and eve["max_queued"] == 2 and not eve["revoked"]
    assert eve["expires_at"] == pytest.approx(time.time() + 3600, abs=60)
    jobs = server.url + "/v1/jobs"
    assert httpx.get(jobs, headers=auth(eve["token"])).status_code == 200
    listed = httpx.get(url, params={"owner": "eve"}, headers=admin).json()["tokens"]
    assert [t["id"] for t in listed] == [eve["id"]] and "token" not in listed[0]
    # expire it now: refused at once; give it time again: accepted
    r = httpx.patch(f"{url}/{eve['id']}", json={"expires_in_s": 0}, headers=admin)
    assert r.status_code == 200 and r.json()["expires_at"] <= time.time()
    assert httpx.get(jobs, headers=auth(eve["token"])).status_code == 401
    httpx.patch(f"{url}/{eve['id'][:10]}", json={"expires_in_s": 60}, headers=admin)
    assert httpx.get(jobs, headers=auth(eve["token"])).status_code == 200
    r = httpx.delete(f"{url}/{eve['id']}", headers=admin)
    assert r.status_code == 200 and r.json()["revoked"]
    r = httpx.get(jobs, headers=auth(eve["token"]))
    assert r.status_code == 401 and "revoked" in r.json()["detail"]
    assert httpx.delete(f"{url}/nope", headers=admin).status_code == 404
    # an expiring token stops working by itself
    short = httpx.post(url, json={"owner": "eve", "expires_in_s": 0.5}, headers=admin).json()
    assert httpx.get(jobs, headers=auth(short["token"])).status_code == 200
    time.sleep(0.7)
    assert httpx.get(jobs, headers=auth(short["token"])).status_code == 401
    # /health is liveness only; details are for admins
    assert httpx.get(server.url + "/health").json() == {"status": "ok"}
    status = httpx.get(server.url + "/v1/status", headers=admin).json()
    assert status["executor"] == "local" and status["workers"] == 2 and "jobs" in status


def test_serve_command_manages_tokens(tmp_path):
    import typer
    from typer.testing import CliRunner

    from hqml.cli import serve
    from hqml.runtime.store import SqlJobStore, make_engine

    app = typer.Typer()
    serve.register(app)
    app.command("noop")(lambda: None)
    db = f"sqlite:///{tmp_path / 'tokens.db'}"
    run = CliRunner().invoke
    r = run(
        app,
        ["serve", "--db", db, "--issue-token", "dave", "--expires-in", "3600", "--max-queued", "4"],
    )
    assert r.exit_code == 0, r.output
    token = r.stdout.splitlines()[0]
    r = run(app, ["serve", "--db", db, "--issue-token", "root", "--admin"])
    engine = make_engine(db)
    store = SqlJobStore(engine)
    assert store.authenticate(token).owner == "dave"
    assert store.authenticate(r.stdout.splitlines()[0]).admin
    r = run(app, ["serve", "--db", db, "--list-tokens"])
    lines = r.stdout.splitlines()
    assert r.exit_code == 0 and len(lines) == 2 and "dave  active" in lines[0]
    assert "max_queued=4" in lines[0] and lines[1].endswith("admin")
    dave_id = lines[0].split()[0]
    r = run(app, ["serve", "--db", db, "--expire-token", dave_id[:8], "--expires-in", "0"])
    assert r.exit_code == 0 and store.authenticate(token) is None
    assert "expired" in run(app, ["serve", "--db", db, "--list-tokens"]).stdout.splitlines()[0]
    run(app, ["serve", "--db", db, "--expire-token", dave_id, "--expires-in", "600"])
    assert store.authenticate(token) is not None
    r = run(app, ["serve", "--db", db, "--revoke-token", dave_id])
    assert r.exit_code == 0 and "revoked" in r.stdout and store.authenticate(token) is None
    r = run(app, ["serve", "--db", db, "--revoke-token", "zzz"])
    assert r.exit_code != 0 and "no token" in r.output
    r = run(app, ["serve", "--db", db, "--expire-token", dave_id])
    assert r.exit_code != 0 and "--expires-in" in r.output
    # a live server holds the database: serving it again is refused in one line
    from hqml.runtime.lease import Lease

    lease = Lease(engine)
    lease.acquire()
    r = run(app, ["serve", "--db", db, "--port", "1"])
    assert r.exit_code != 0 and "another hqml server (pid" in r.output
    lease.release()
    engine.dispose()


def test_quota_is_atomic_over_http(start_server, db_url):
    """24 concurrent submissions with max_queued=3: exactly 3 accepted (6 were, before)."""
    srv = start_server(db_url=db_url, tokens={"alice": {"max_queued": 3}}, workers=1).start()
    barrier = threading.Barrier(24)

    def submit(i: int) -> int:
        with httpx.Client(headers=auth(srv.tokens["alice"]), timeout=30) as c:
            barrier.wait()
            return c.post(srv.url + "/v1/programs", json=long_vqe()).status_code

    with ThreadPoolExecutor(24) as pool:
        codes = list(pool.map(submit, range(24)))
    assert sorted(codes) == [202] * 3 + [429] * 21
    for job in httpx.get(srv.url + "/v1/jobs", headers=auth(srv.tokens["alice"])).json()["jobs"]:
        httpx.delete(srv.url + f"/v1/jobs/{job['id']}", headers=auth(srv.tokens["alice"]))


@pytest.mark.slow
def test_a_second_server_on_the_same_database_refuses_to_start(start_server, db_url):
    first = start_server(db_url=db_url, tokens=("alice",)).start()
    job = httpx.post(
        first.url + "/v1/programs", json=long_vqe(), headers=auth(first.tokens["alice"])
    ).json()["id"]
    second = start_server(db_url=db_url)
    with pytest.raises(
        RuntimeError,
        match=r"another hqml server \(pid \d+ on .*\) serves"
        " this database",
    ):
        second.start()
    # the first server's running job was not re-queued or run again
    info = httpx.get(first.url + f"/v1/jobs/{job}", headers=auth(first.tokens["alice"])).json()
    assert info["status"] == "running" and info["attempts"] == 1
    httpx.delete(first.url + f"/v1/jobs/{job}", headers=auth(first.tokens["alice"]))
    # (a server that replaces a SIGKILLed one takes its lease at once: the durability tests)
