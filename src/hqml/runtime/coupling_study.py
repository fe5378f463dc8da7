"""Coupling study: the same VQE and the same training epoch run in-process (tight coupling),
through the job service job by job (loose coupling, one round trip per circuit evaluation and per
gradient), and as one server-side program.

    python -m hqml.runtime.coupling_study [--iterations 40] [--out results.json]

It starts a real service (uvicorn subprocess, SQLite file in a temporary folder) on 127.0.0.1.
The communication share of a loosely coupled run is ``(T_loose - T_in_process) / T_loose``:
the part of the wall time not spent computing (HTTP, JSON, queueing, storage, polling).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from hqml.backends.base import Backend
from hqml.circuit.circuit import Circuit
from hqml.circuit.observables import PauliSum, X, Z
from hqml.execute import expval
from hqml.runtime.client import JobClient, RemoteBackend
from hqml.runtime.store import SqlJobStore, make_engine, migrate


def vqe_problem(n: int = 4, layers: int = 2) -> tuple[Circuit, PauliSum]:
    """A hardware-efficient ansatz and a transverse-field Ising Hamiltonian on a ring."""
    c = Circuit(n)
    w = c.weight("w", (layers, n, 2))
    for layer in range(layers):
        for i in range(n):
            c.ry(w[layer, i, 0], i).rz(w[layer, i, 1], i)
        for i in range(n):
            c.cnot(i, (i + 1) % n)
    h = sum((Z(i) @ Z((i + 1) % n) for i in range(n)), PauliSum({}))
    h = h + 0.7 * sum((X(i) for i in range(n)), PauliSum({}))
    return c, h


def run_vqe(c: Circuit, h: PauliSum, backend: str | Backend, iterations: int) -> float:
    gen = torch.Generator().manual_seed(0)
    w = torch.rand(c.weights["w"].shape, generator=gen, dtype=torch.float64) * 6.28
    w.requires_grad_(True)
    opt = torch.optim.Adam([w], lr=0.1)
    for _ in range(iterations):
        opt.zero_grad()
        e = expval(c, h, weights={"w": w}, backend=backend, diff_method="adjoint")
        e.backward()
        opt.step()
    return float(e.detach())


def classifier(n: int = 4) -> Circuit:
    c = Circuit(n)
    x = c.input("x", n)
    w = c.weight("w", (2, n))
    for i in range(n):
        c.ry(x[i], i)
    for layer in range(2):
        for i in range(n):
            c.ry(w[layer, i], i)
        for i in range(n):
            c.cnot(i, (i + 1) % n)
    return c


def epoch_data(n: int, samples: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    xs = torch.rand(samples, n, generator=gen, dtype=torch.float64) * 3.14
    return xs, (xs.sum(1) > xs.sum(1).median()).to(torch.float64) * 2 - 1


def run_epoch(c: Circuit, backend: str | Backend, samples: int = 256, batch: int = 32) -> float:
    xs, ys = epoch_data(c.n_qubits, samples)
    w = torch.zeros(2, c.n_qubits, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([w], lr=0.05)
    total = 0.0
    for s in range(0, samples, batch):
        opt.zero_grad()
        pred = expval(
            c,
            Z(0),
            inputs={"x": xs[s : s + batch]},
            weights={"w": w},
            backend=backend,
            diff_method="adjoint",
        )
        loss = torch.mean((pred - ys[s : s + batch]) ** 2)
        loss.backward()
        opt.step()
        total += float(loss.detach())
    return total


def start_server(folder: Path) -> tuple[subprocess.Popen, str, str]:
    db = f"sqlite:///{folder / 'jobs.db'}"
    engine = make_engine(db)
    migrate(engine)
    token = SqlJobStore(engine).create_token("bench")
    engine.dispose()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(
        os.environ, HQML_SERVICE_DATABASE_URL=db, HQML_SERVICE_WORKERS="1", OMP_NUM_THREADS="1"
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "hqml.runtime.app:app_from_env",
            "--factory",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    import httpx

    for _ in range(600):
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return proc, url, token
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the service did not start")


def timed(fn: Any, *args: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def _three_rows(
    workload: str,
    in_process: tuple[float, float],
    job_by_job: tuple[float, int, float],
    program: tuple[float, float],
) -> list[dict[str, Any]]:
    """The rows of one workload: ``(wall_s, value)`` in-process, ``(wall_s, jobs, value)`` job
    by job through the service, ``(wall_s, value)`` as one server-side program."""
    (t_in, v_in), (t_loose, jobs, v_loose), (t_prog, v_prog) = in_process, job_by_job, program
    return [
        {"workload": workload, "coupling": "in-process", "wall_s": t_in, "jobs": 0, "value": v_in},
        {
            "workload": workload,
            "coupling": "service, job by job",
            "wall_s": t_loose,
            "jobs": jobs,
            "value": v_loose,
        },
        {
            "workload": workload,
            "coupling": "service, one program",
            "wall_s": t_prog,
            "jobs": 1,
            "value": v_prog,
        },
    ]


def _program_time(url: str, token: str, warm_up: dict[str, Any], body: dict[str, Any]) -> tuple:
    """``(wall_s, result)`` of the server-side program ``body``, after one run of ``warm_up``."""
    with JobClient(url, token) as client:
        client.wait(client.submit(warm_up, program=True)["id"])
        t0 = time.perf_counter()
        res = client.wait(client.submit(body, program=True)["id"])
        return time.perf_counter() - t0, res


def _vqe_rows(remote: RemoteBackend, url: str, token: str, iterations: int) -> list[dict[str, Any]]:
    """The VQE in-process, job by job and as one program."""
    c, h = vqe_problem()
    run_vqe(c, h, remote, 2)  # warm both sides up
    run_vqe(c, h, "statevector", 2)
    t_in, e_in = timed(run_vqe, c, h, "statevector", iterations)
    jobs0 = remote.stats["jobs"]
    t_loose, e_loose = timed(run_vqe, c, h, remote, iterations)
    n_jobs = remote.stats["jobs"] - jobs0
    body = {
        "program": "vqe",
        "circuit": json.loads(c.to_json()),
        "hamiltonian": h.to_json(),
        "optimizer": "adam",
        "learning_rate": 0.1,
        "max_iterations": iterations,
        "seed": 0,
    }
    t_prog, res = _program_time(url, token, {**body, "max_iterations": 2}, body)
    return _three_rows("VQE", (t_in, e_in), (t_loose, n_jobs, e_loose), (t_prog, res["energy"]))


def _epoch_rows(remote: RemoteBackend, url: str, token: str) -> list[dict[str, Any]]:
    """One training epoch of the classifier in-process, job by job and as one program."""
    clf = classifier()
    run_epoch(clf, "statevector", 64)
    t_in, l_in = timed(run_epoch, clf, "statevector")
    jobs0 = remote.stats["jobs"]
    t_loose, l_loose = timed(run_epoch, clf, remote)
    n_jobs = remote.stats["jobs"] - jobs0
    xs, ys = epoch_data(clf.n_qubits)
    train = {
        "program": "train",
        "circuit": json.loads(clf.to_json()),
        "observables": [Z(0).to_json()],
        "data_x": xs.tolist(),
        "data_y": ys.tolist(),
        "epochs": 1,
        "batch_size": 32,
        "shuffle": False,
        "learning_rate": 0.05,
        "initial_weights": {"w": [[0.0] * 4] * 2},
    }
    warm_up = {**train, "data_x": xs[:32].tolist(), "data_y": ys[:32].tolist()}
    t_prog, res = _program_time(url, token, warm_up, train)
    return _three_rows(
        "training epoch", (t_in, l_in), (t_loose, n_jobs, l_loose), (t_prog, sum(res["history"]))
    )


def _print_table(rows: list[dict[str, Any]]) -> None:
    """Print the rows with their communication share (added to each row)."""
    base = {r["workload"]: r["wall_s"] for r in rows if r["coupling"] == "in-process"}
    print(
        f"{'workload':<16}{'coupling':<24}{'wall s':>9}{'jobs':>6}{'comm. share':>13}{'result':>12}"
    )
    for r in rows:
        r["communication_share"] = max(0.0, 1 - base[r["workload"]] / r["wall_s"])
        print(
            f"{r['workload']:<16}{r['coupling']:<24}{r['wall_s']:>9.3f}{r['jobs']:>6}"
            f"{r['communication_share']:>12.0%}{r['value']:>12.5f}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=40, help="VQE iterations")
    ap.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    args = ap.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        proc, url, token = start_server(Path(tmp))
        try:
            remote = RemoteBackend(url, token, session=True)
            rows = _vqe_rows(remote, url, token, args.iterations)
            rows += _epoch_rows(remote, url, token)
            remote.close()
        finally:
            proc.terminate()
            proc.wait(10)
    _print_table(rows)
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
