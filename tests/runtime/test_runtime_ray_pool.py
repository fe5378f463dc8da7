"""The job service with Ray as its worker pool (a real server process on a local Ray)."""

from __future__ import annotations

import json
import os
import signal
import time

import httpx
import pytest
import torch

import hqml
from hqml.runtime.client import JobClient, JobFailed

pytestmark = pytest.mark.slow  # servers, Ray, subprocesses: `make test-fast` skips these


def small_circuit() -> hqml.Circuit:
    c = hqml.Circuit(3)
    x, w = c.input("x", 3), c.weight("w", 3)
    for i in range(3):
        c.ry(x[i], i).rz(w[i] * 0.5 + x[i], i).rx(w[i], i)
    return c.cnot(0, 1).cnot(1, 2)


def job_body(x: torch.Tensor, w: torch.Tensor) -> dict:
    return {
        "circuit": json.loads(small_circuit().to_json()),
        "inputs": {"x": x.tolist()},
        "weights": {"w": w.tolist()},
        "dtype": "complex128",
        "observables": [hqml.PauliSum.from_list([("ZZI", 1.0)]).to_json(), hqml.X(2).to_json()],
    }


# long enough that polling every 50 ms sees the job running (a 2-qubit step takes ~0.1 ms)
ITERATIONS = 3000


def vqe_body(**extra) -> dict:
    c = hqml.Circuit(2)
    w = c.weight("w", (2, 2))
    c.ry(w[0, 0], 0).ry(w[0, 1], 1).cnot(0, 1).ry(w[1, 0], 0).ry(w[1, 1], 1)
    h = hqml.PauliSum.from_list([("ZZ", 1.0), ("XI", 0.5), ("IX", 0.5)])
    return {
        "program": "vqe",
        "circuit": json.loads(c.to_json()),
        "hamiltonian": h.to_json(),
        "optimizer": "adam",
        "learning_rate": 0.1,
        "seed": 1,
        **extra,
    }


def health(srv) -> dict:
    """The server's status (an admin's view: /health itself tells liveness only)."""
    return httpx.get(
        srv.url + "/v1/status",
        timeout=20,
        headers={"Authorization": f"Bearer {srv.tokens['admin']}"},
    ).json()


def follow(client: JobClient, job_id: str) -> list[dict]:
    seen = []
    while True:
        info = client.status(job_id)
        seen.append(info)
        if info["status"] in ("done", "failed", "cancelled"):
            return seen
        time.sleep(0.05)


def test_ray_pool_results_equal_local_executor(ray_server, server):
    h = health(ray_server)
    assert h["executor"] == "ray" and len(h["worker_pids"]) == 2
    gen = torch.Generator().manual_seed(7)
    body = job_body(
        torch.rand(6, 3, generator=gen, dtype=torch.float64),
        torch.rand(3, generator=gen, dtype=torch.float64),
    )
    with (
        JobClient(ray_server.url, ray_server.tokens["alice"]) as on_ray,
        JobClient(server.url, server.tokens["alice"]) as local,
    ):
        a = on_ray.wait(on_ray.submit(body)["id"], timeout=30)
        b = local.wait(local.submit(body)["id"], timeout=30)
        assert a["value"] == b["value"]  # exact tensor documents: bit for bit
        job = on_ray.submit(vqe_body(max_iterations=ITERATIONS), program=True)["id"]
        seen = follow(on_ray, job)
        vqe_ray = on_ray.wait(job, timeout=30)
        body = vqe_body(max_iterations=ITERATIONS)
        vqe_local = local.wait(local.submit(body, program=True)["id"], timeout=30)
    running = [
        s["progress"]["iteration"] for s in seen if s["status"] == "running" and s["progress"]
    ]
    assert running and running == sorted(running)  # progress relayed from the actor while running
    assert seen[-1]["progress"] == {
        "iteration": ITERATIONS,
        "energy": vqe_ray["history"][-1],
        "done": True,
    }
    assert vqe_ray["history"] == vqe_local["history"] and vqe_ray["energy"] == vqe_local["energy"]
    assert health(ray_server)["ray_retries"] == 0


def heavy_job(timeout_s: float) -> dict:
    """One circuit evaluation of several seconds: it cannot stop between iterations."""
    n = 18  # with the native layer kernels this still takes seconds
    c = hqml.Circuit(n)
    x = c.input("x", n)
    for layer in range(80):
        for i in range(n):
            c.ry(x[i] * (layer + 1), i)
        for i in range(n):
            c.cnot(i, (i + 1) % n)
    return {
        "circuit": json.loads(c.to_json()),
        "inputs": {"x": torch.rand(64, n).tolist()},
        "observables": [hqml.Z(0).to_json()],
        "timeout_s": timeout_s,
    }


def test_ray_pool_timeout_cancel_and_lost_actor(ray_server):
    with JobClient(ray_server.url, ray_server.tokens["alice"]) as client:
        before = health(ray_server)
        timed = client.submit(vqe_body(max_iterations=100_000, timeout_s=1.0), program=True)
        with pytest.raises(JobFailed, match=r"timed out after 1 s"):
            client.wait(timed["id"], timeout=20)
        long = client.submit(vqe_body(max_iterations=100_000), program=True)["id"]
        while not client.status(long)["progress"]:
            time.sleep(0.02)
        assert client.cancel(long)["status"] == "cancelled"
        # a single long evaluation past its deadline: its actor is killed and replaced
        heavy = client.submit(heavy_job(0.5))["id"]
        with pytest.raises(JobFailed, match=r"timed out after 0.5 s"):
            client.wait(heavy, timeout=20)
        deadline = time.monotonic() + 30
        while health(ray_server)["ray_replaced"] < before["ray_replaced"] + 1:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert client.status(long)["status"] == "cancelled"
        # kill one actor while both run a job: its job runs again on a fresh actor, once
        jobs = [
            client.submit(vqe_body(max_iterations=ITERATIONS, seed=s), program=True)["id"]
            for s in (1, 2)
        ]
        while not all((client.status(j)["progress"] or {}).get("iteration") for j in jobs):
            time.sleep(0.02)
        mid = health(ray_server)
        os.kill(mid["worker_pids"][0], signal.SIGKILL)
        results = [client.wait(j, timeout=60) for j in jobs]
        infos = [client.status(j) for j in jobs]
    after = health(ray_server)
    assert after["ray_retries"] == mid["ray_retries"] + 1
    assert after["ray_replaced"] == mid["ray_replaced"] + 1
    for info, result in zip(infos, results, strict=True):
        assert info["status"] == "done" and info["attempts"] == 1
        assert len(result["history"]) == ITERATIONS
    assert len(after["worker_pids"]) == 2 and mid["worker_pids"][0] not in after["worker_pids"]


@pytest.mark.slow
def test_ray_processes_of_a_killed_server_are_cleaned_up_on_restart(ray_server):
    import psutil

    def alive(pid: int) -> bool:
        try:
            return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    started = {p.pid for p in psutil.Process(ray_server.proc.pid).children(recursive=True)}
    assert started
    ray_server.kill()
    time.sleep(1)
    left = {pid for pid in started if alive(pid)}
    print(f"\n{len(left)} of {len(started)} Ray processes outlived the SIGKILLed server")
    ray_server.start(timeout=180)  # takes over the dead server's lease, kills its leftovers
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in left) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in left if alive(pid)]
    h = health(ray_server)
    assert h["executor"] == "ray" and len(h["worker_pids"]) == 2
