"""A Ray backend's workers' peak memory, read in each actor's own process, in a scale point's
memory record (the process-pool workers' are read through /proc)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

import hqml
from hqml.experiment.scale.measure import PeakMemory, worker_peak_rss
from hqml.experiment.timing import TimedBackend
from hqml.runtime.executors import RayBackend

pytestmark = pytest.mark.slow  # Ray's start (a few seconds; instant with a running Ray)


@pytest.fixture
def ray_running():
    """A running Ray: the session's (a shared fixture's or a cluster's) when there is one,
    else one started here (one CPU) and shut down after the test."""
    ray = pytest.importorskip("ray")
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()


def _vmhwm(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def test_ray_actors_report_their_own_peak_memory(ray_running):
    be = TimedBackend(RayBackend(num_actors=1))
    try:
        assert worker_peak_rss([be]) is None  # no actor before the first batch
        c = hqml.Circuit(12)
        x_in = c.input("x", 12)
        for q in range(12):
            c.ry(x_in[q], q)
        for q in range(11):
            c.cx(q, q + 1)
        x = torch.rand(64, 12, generator=torch.Generator().manual_seed(0))
        hqml.expval(c, [hqml.Z(0)], inputs={"x": x}, backend=be)
        peak = worker_peak_rss([be])
        (actor,) = be.inner.actors
        pid = ray_running.get(actor.pid.remote())
        assert pid != os.getpid()  # the actor's process, not this one
        assert peak > 50 * 2**20  # it imported torch
        if Path(f"/proc/{pid}").exists():
            # a local actor: the same figure as its /proc entry, read from outside
            assert peak == pytest.approx(_vmhwm(pid), abs=4 * 2**20)
        mem = PeakMemory().read([be], peak)
        assert mem["peak_worker_rss_bytes"] == peak
        assert "Ray actors read in their own processes" in mem["method"]
    finally:
        be.close()
    assert worker_peak_rss([be]) is None  # closed: nothing to read
