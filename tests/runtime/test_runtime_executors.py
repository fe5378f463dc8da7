"""Process-pool and Ray executors: same values and adjoint gradients as in-process; a worker
killed mid-batch loses no work."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

import hqml
from hqml.backends import registry
from hqml.backends.statevector import StatevectorBackend
from hqml.nn import QuantumLayer
from hqml.runtime.executors import ProcessPoolBackend, RayBackend

pytestmark = pytest.mark.slow  # servers, Ray, subprocesses: `make test-fast` skips these


def layered_circuit(n: int, layers: int) -> hqml.Circuit:
    c = hqml.Circuit(n)
    x = c.input("x", n)
    w = c.weight("w", (layers, n, 2))
    for i in range(n):
        c.ry(x[i], i)
    for layer in range(layers):
        for i in range(n):
            c.rz(w[layer, i, 0] + 0.5 * x[i], i).ry(w[layer, i, 1], i)
        for i in range(n):
            c.cnot(i, (i + 1) % n)
    return c


class GatedBackend(StatevectorBackend):
    """A statevector backend whose shares wait at a gate: each marks ``started-<pid>`` in
    ``gate`` and runs only once ``gate/open`` exists, so a test can kill a worker that is
    known to hold a share (registered for one test; forked workers inherit it)."""

    def __init__(self, gate: str, **options):
        super().__init__(**options)
        self.gate = Path(gate)

    def execute(self, tasks):
        (self.gate / f"started-{os.getpid()}").touch()
        deadline = time.monotonic() + 60
        while not (self.gate / "open").exists():
            if time.monotonic() > deadline:
                raise RuntimeError("the test's gate never opened")
            time.sleep(0.002)
        return super().execute(tasks)


def killed_batch(backend, kill) -> tuple[torch.Tensor, dict]:
    """Run a 32-share batch in a thread; ``kill`` runs while the batch is in flight."""
    c = layered_circuit(9, 6)
    gen = torch.Generator().manual_seed(5)
    x = torch.rand(64, 9, generator=gen, dtype=torch.float64)
    w = torch.rand(6, 9, 2, generator=gen, dtype=torch.float64)
    obs = [hqml.Z(0) @ hqml.Z(4), hqml.X(8)]
    out: dict = {}
    run = threading.Thread(
        target=lambda: out.setdefault(
            "v", hqml.expval(c, obs, inputs={"x": x}, weights={"w": w}, backend=backend)
        )
    )
    run.start()
    try:
        kill()
    finally:
        run.join(120)
    expected = hqml.expval(c, obs, inputs={"x": x}, weights={"w": w})
    return out["v"] - expected, backend.stats


def test_process_pool_values_gradients_and_lost_worker():
    c = layered_circuit(4, 2)
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(10, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    w = torch.rand(2, 4, 2, generator=gen, dtype=torch.float64, requires_grad=True)
    obs = [hqml.Z(0) @ hqml.Z(1), hqml.Y(3)]
    ref = hqml.expval(c, obs, inputs={"x": x}, weights={"w": w}, diff_method="adjoint")
    gx_ref, gw_ref = torch.autograd.grad((ref**2).sum(), [x, w])
    with ProcessPoolBackend(2, share_rows=3, start_method="fork") as be:
        out = hqml.expval(
            c, obs, inputs={"x": x}, weights={"w": w}, backend=be, diff_method="adjoint"
        )
        gx, gw = torch.autograd.grad((out**2).sum(), [x, w])
        assert be.stats["shares"] == 8  # 4 forward + 4 vjp shares of 3, 3, 3, 1 rows
        torch.testing.assert_close(out, ref, atol=1e-12, rtol=0)
        torch.testing.assert_close(gx, gx_ref, atol=1e-12, rtol=0)
        torch.testing.assert_close(gw, gw_ref, atol=1e-12, rtol=0)


def test_process_pool_worker_killed_holding_a_share_loses_no_work(tmp_path, monkeypatch):
    monkeypatch.setitem(registry._FACTORIES, "test-gated", GatedBackend)  # forked workers see it

    def kill_one_holding_a_share():
        deadline = time.monotonic() + 60
        while not (started := list(tmp_path.glob("started-*"))):
            assert time.monotonic() < deadline, "no share reached a worker"
            time.sleep(0.002)
        os.kill(int(started[0].name.split("-")[1]), signal.SIGKILL)
        (tmp_path / "open").touch()

    with ProcessPoolBackend(
        2, inner="test-gated", share_rows=2, start_method="fork", gate=str(tmp_path)
    ) as be:
        diff, stats = killed_batch(be, kill_one_holding_a_share)
        assert diff.abs().max() < 1e-12
        assert stats["retries"] >= 1 and stats["completed"] == 32


@pytest.fixture(scope="module")
def ray_backend():
    """One local Ray (2 CPUs) and one pair of actors for all Ray tests: starts are slow."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    be = RayBackend(num_actors=2)
    yield be
    be.close()
    ray.shutdown()


def test_ray_training_step_gives_in_process_gradients(ray_backend):
    be = ray_backend
    c = layered_circuit(4, 2)
    obs = [hqml.Z(i) for i in range(4)]
    local = QuantumLayer(c, obs, diff_method="adjoint", seed=3).double()
    remote = QuantumLayer(c, obs, backend=be, diff_method="adjoint", seed=3).double()
    x = torch.rand(12, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    y = torch.rand(12, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    for layer in (local, remote):
        torch.nn.functional.mse_loss(layer(x), y).backward()
    torch.testing.assert_close(remote(x), local(x), atol=1e-12, rtol=0)
    torch.testing.assert_close(remote.w.grad, local.w.grad, atol=1e-12, rtol=0)
    assert be.stats["shares"] >= 8 and be.stats["retries"] == 0


def test_ray_actor_killed_before_a_batch_loses_no_work(ray_backend):
    import ray

    be = ray_backend
    c = layered_circuit(2, 1)  # the actors start on a backend's first batch
    hqml.expval(
        c,
        [hqml.Z(0)],
        inputs={"x": torch.rand(2, 2)},
        weights={"w": torch.rand(1, 2, 2)},
        backend=be,
    )
    be.share_rows = 2
    retries_before, victim = be.stats["retries"], be.actors[0]
    ray.kill(victim, no_restart=True)  # before dispatch: its first shares are sure to be lost
    diff, stats = killed_batch(be, lambda: None)
    assert diff.abs().max() < 1e-12
    assert stats["retries"] > retries_before and be.actors[0] is not victim


def test_an_executor_named_by_a_layer_starts_its_workers_once(monkeypatch):
    monkeypatch.setattr(registry, "_SHARED", {})
    pool = registry.get_backend("process_pool", num_workers=1, start_method="fork")
    assert pool is registry.get_backend("process_pool", num_workers=1, start_method="fork")
    assert registry.get_backend("process_pool", num_workers=2) is not pool
    c = layered_circuit(3, 1)
    x = torch.rand(4, 3, dtype=torch.float64)
    w = torch.rand(1, 3, 2, dtype=torch.float64)
    layer_pids = []
    try:
        for _ in range(2):
            out = hqml.expval(c, [hqml.Z(0)], inputs={"x": x}, weights={"w": w}, backend=pool)
            ref = hqml.expval(c, [hqml.Z(0)], inputs={"x": x}, weights={"w": w})
            torch.testing.assert_close(out, ref, atol=1e-12, rtol=0)
            layer_pids.append(pool.worker_pids())
    finally:
        for be in registry._SHARED.values():
            be.close()
    assert len(layer_pids[0]) == 1 and layer_pids[0] == layer_pids[1]
    assert pool.stats["shares"] >= 2  # both calls ran on the one pool


def test_a_script_without_the_main_guard_is_told_why_its_workers_die(tmp_path):
    script = tmp_path / "no_guard.py"
    script.write_text(
        "import torch, hqml\n"
        "from hqml.runtime.executors import ProcessPoolBackend\n"
        "c = hqml.Circuit(1)\n"
        "c.ry(c.input('x', 1)[0], 0)\n"
        "be = ProcessPoolBackend(1, max_retries=0)\n"
        "hqml.expval(c, [hqml.Z(0)], inputs={'x': torch.rand(2, 1)}, backend=be)\n"
    )
    run = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert run.returncode != 0  # not a hang: the worker fails at once and the parent says why
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("RuntimeError: share 0 failed 1 times"), run.stderr[-2000:]
    assert "'spawn' workers died before running anything" in last
    assert "if __name__ == '__main__':" in last
