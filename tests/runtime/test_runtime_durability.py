"""Load and crash recovery on a real server process (SQLite file, then PostgreSQL): 500 jobs from 8
concurrent clients; then SIGKILL with jobs queued and running, restart, and every accepted job
completes exactly once with the right result."""

from __future__ import annotations

import json
import math
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import sqlalchemy as sa

import hqml
from hqml.runtime.client import JobClient
from hqml.runtime.wire import tensor_from_json

pytestmark = pytest.mark.slow  # servers, Ray, subprocesses: `make test-fast` skips these

H = hqml.PauliSum.from_list([("ZZ", 1.0), ("XI", 0.5), ("IX", 0.5)])


def vqe_body(key: str, iterations: int = 1500) -> dict:
    c = hqml.Circuit(2)
    w = c.weight("w", (2, 2))
    c.ry(w[0, 0], 0).ry(w[0, 1], 1).cnot(0, 1).ry(w[1, 0], 0).ry(w[1, 1], 1)
    return {
        "program": "vqe",
        "circuit": json.loads(c.to_json()),
        "hamiltonian": H.to_json(),
        "optimizer": "adam",
        "learning_rate": 0.05,
        "seed": 3,
        "max_iterations": iterations,
        "idempotency_key": key,
    }


def ry_job(theta: float, key: str) -> dict:
    c = hqml.Circuit(1)
    c.ry(c.input("t", 1)[0], 0)
    return {
        "circuit": json.loads(c.to_json()),
        "inputs": {"t": [[theta]]},
        "dtype": "complex128",
        "observables": [hqml.Z(0).to_json()],
        "idempotency_key": key,
    }


def rows(server) -> dict[str, dict]:
    store = server.store()
    with store.engine.connect() as conn:
        out = {
            r.idempotency_key: r._asdict()
            for r in conn.execute(
                sa.text("SELECT idempotency_key, status, attempts, completions FROM jobs")
            )
        }
    store.engine.dispose()
    return out


def load_test(server, token: str, n_jobs: int = 500, n_clients: int = 8) -> None:
    angles = np.linspace(0, math.pi, n_jobs)

    def client_run(k: int) -> list[tuple[int, float, float]]:
        out = []
        with JobClient(server.url, token) as c:
            sent = {
                i: (c.submit(ry_job(float(angles[i]), f"load-{i}"))["id"], time.perf_counter())
                for i in range(k, n_jobs, n_clients)
            }
            for i, (job, t0) in sent.items():
                value = float(tensor_from_json(c.wait(job, timeout=120)["value"]))
                out.append((i, value, time.perf_counter() - t0))
        return out

    t0 = time.perf_counter()
    with ThreadPoolExecutor(n_clients) as pool:
        results = sorted(r for part in pool.map(client_run, range(n_clients)) for r in part)
    wall = time.perf_counter() - t0
    lat = sorted(r[2] for r in results)
    print(
        f"\nload test: {n_jobs} jobs from {n_clients} clients in {wall:.2f} s"
        f" ({n_jobs / wall:.0f} jobs/s); latency p50 {statistics.median(lat) * 1e3:.0f} ms,"
        f" p95 {lat[int(0.95 * len(lat))] * 1e3:.0f} ms"
    )
    assert [r[0] for r in results] == list(range(n_jobs))  # none lost
    np.testing.assert_allclose([r[1] for r in results], np.cos(angles), atol=1e-12)
    assert wall < 120


def test_load_then_sigkill_with_jobs_queued_and_running_and_restart(server):
    load_then_sigkill(server, server.tokens["alice"])


@pytest.mark.slow
def test_load_then_sigkill_on_postgresql(start_server, postgres_url):
    srv = start_server(
        db_url=postgres_url, tokens=("alice",), workers=2, poll_interval_s=0.5
    ).start()
    # 1500-iteration programs were seen finished before the SIGKILL here: longer ones are still
    # running. Over 10^4 Adam steps two programs run side by side were seen 2e-6 apart (their
    # last bits differ early and the optimiser carries it), so they are compared less tightly
    load_then_sigkill(srv, srv.tokens["alice"], iterations=10_000, same_to=1e-5)


def load_then_sigkill(server, token: str, iterations: int = 1500, same_to: float = 1e-12) -> None:
    thetas = np.linspace(-3, 3, 40)
    try:
        load_test(server, token)
        with JobClient(server.url, token) as client:
            # two programs occupy both workers, so the 40 circuit jobs stay queued
            programs = [
                client.submit(vqe_body(f"vqe-{i}", iterations), program=True)["id"]
                for i in range(2)
            ]
            with ThreadPoolExecutor(8) as pool:  # quickly, while the programs run
                circuits = list(
                    pool.map(
                        lambda it: client.submit(ry_job(float(it[1]), f"ry-{it[0]}"))["id"],
                        enumerate(thetas),
                    )
                )
            deadline = time.monotonic() + 60
            while not all(
                (client.status(p)["progress"] or {}).get("iteration", 0) >= 1 for p in programs
            ):
                assert time.monotonic() < deadline, "programs did not start"
                time.sleep(0.02)
        server.kill()
        before = rows(server)
        assert {before[f"vqe-{i}"]["status"] for i in range(2)} == {"running"}
        assert sum(before[f"ry-{i}"]["status"] == "queued" for i in range(40)) >= 30
        server.start()
        with JobClient(server.url, token) as client:
            # a client that never saw its acknowledgements submits again: no duplicates
            again = [client.submit(ry_job(float(t), f"ry-{i}"))["id"] for i, t in enumerate(thetas)]
            assert again == circuits
            values = [
                float(tensor_from_json(client.wait(j, timeout=60)["value"])) for j in circuits
            ]
            energies = [client.wait(p, timeout=180)["energy"] for p in programs]
    finally:
        if server.proc is None or server.proc.poll() is not None:
            server.start()  # leave the shared server running for other tests
    np.testing.assert_allclose(values, np.cos(thetas), atol=1e-12)
    exact = float(np.linalg.eigvalsh(np.asarray(H.to_matrix(2)))[0])
    # the two programs ran side by side in one process: equal to the last few bits only
    assert energies[0] == pytest.approx(energies[1], rel=0, abs=same_to)
    assert energies[0] == pytest.approx(exact, abs=1e-3)
    after = {
        k: r for k, r in rows(server).items() if k and k.split("-")[0] in ("load", "ry", "vqe")
    }
    assert len(after) == 542
    assert all(r["status"] == "done" and r["completions"] == 1 for r in after.values())
    assert [after[f"vqe-{i}"]["attempts"] for i in range(2)] == [2, 2]  # re-run once after the kill
    assert all(after[f"ry-{i}"]["attempts"] == 1 for i in range(40))
