"""Client-side pieces without a server: exact tensor documents, task round trips, retries,
the fallback backend and provider failures reported by the service."""

from __future__ import annotations

import socket

import pytest
import torch

import hqml
from hqml.backends.base import Expval, Task
from hqml.backends.providers.errors import (
    CredentialsMissing,
    DeviceOffline,
    QueueFull,
    classify,
)
from hqml.backends.providers.errors import JobFailed as ProviderJobFailed
from hqml.runtime.client import JobFailed as ClientJobFailed
from hqml.runtime.client import RemoteBackend, ServiceUnavailable
from hqml.runtime.sharding import split_rows
from hqml.runtime.wire import (
    from_jsonable,
    task_from_dict,
    task_to_dict,
    tensor_from_json,
    tensor_to_json,
    to_jsonable,
)
from hqml.runtime.worker import failure_text


@pytest.mark.parametrize(
    "dtype", [torch.float32, torch.float64, torch.complex64, torch.complex128, torch.int64]
)
def test_tensor_documents_are_exact(dtype):
    t = torch.randn(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 1e3
    t = t.to(dtype) if not dtype.is_complex else torch.complex(t, -t / 7).to(dtype)
    back = tensor_from_json(tensor_to_json(t))
    assert back.dtype == dtype and torch.equal(back, t)
    assert torch.equal(from_jsonable(to_jsonable({"a": [t]}))["a"][0], t)
    assert tensor_from_json([[1, 2]], torch.float32).dtype == torch.float32
    with pytest.raises(ValueError, match="tensor"):
        tensor_from_json(
            {"format": "hqml.tensor/1", "dtype": "float32", "shape": [2], "data": "!!"}
        )


def test_task_round_trip_keeps_everything_needed():
    c = hqml.Circuit(2)
    x = c.input("x", 1)
    c.ry(x[0], 0).cnot(0, 1).rz(0.3, 1)
    theta = torch.rand(5, 2, dtype=torch.float64)
    task = Task(
        c,
        theta,
        Expval((hqml.Z(0) @ hqml.Z(1), hqml.X(1))),
        torch.complex128,
        100,
        torch.Generator().manual_seed(1),
        (True, False),
    )
    back = task_from_dict(task_to_dict(task))
    assert back.circuit == c and torch.equal(back.theta, theta)
    assert back.measurement == task.measurement and back.dtype == torch.complex128
    assert back.shots == 100 and back.varying == (True, False) and back.generator is not None
    with pytest.raises(ValueError, match="cannot be sent"):
        task_to_dict(Task(c, theta, task.measurement, options={"noise_model": object()}))


def test_split_rows_covers_the_batch_in_order():
    assert split_rows(10, 4) == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert split_rows(2, 8) == [(0, 1), (1, 2)]
    assert split_rows(1, 3) == [(0, 1)]


def test_unreachable_service_uses_the_fallback_with_a_warning(monkeypatch):
    # bound but never listening: connections are refused, and no other process can take the
    # port while the test runs
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        c = hqml.Circuit(2).h(0).cnot(0, 1)
        url = f"http://127.0.0.1:{port}"
        be = RemoteBackend(url, "token", retries=1, fallback="statevector")
        with pytest.warns(RuntimeWarning, match="unreachable.*fallback"):
            value = hqml.expval(c, hqml.Z(0) @ hqml.Z(1), backend=be)
        assert float(value) == pytest.approx(1.0) and be.stats["fallbacks"] == 1
        with pytest.raises(ServiceUnavailable, match="unreachable after 2 attempts"):
            hqml.expval(c, hqml.Z(0), backend=RemoteBackend(url, "token", retries=1))
    monkeypatch.delenv("HQML_TOKEN", raising=False)
    with pytest.raises(ValueError, match="HQML_TOKEN"):
        RemoteBackend(url, None)


def test_remote_backend_splits_wire_time_from_the_server_time():
    import time

    class FakeClient:  # 0.15 s per job, of which the server reports 0.05 s
        def submit(self, payload):
            time.sleep(0.05)
            return {"id": "job"}

        def wait_timed(self, job_id, timeout=None):
            time.sleep(0.1)
            return {"value": tensor_to_json(torch.ones(2))}, 0.05

    be = RemoteBackend("http://127.0.0.1:9", token="t", session=False)
    be.client = FakeClient()
    t0 = time.perf_counter()
    be._run([{}], "value")
    wall = time.perf_counter() - t0
    assert be.stats["compute_s"] == pytest.approx(0.05)
    assert be.stats["wire_s"] == pytest.approx(wall - 0.05, abs=0.02)
    assert be.stats["wire_s"] >= 0.095  # 0.15 s of wall time, 0.05 s of it on the server


@pytest.mark.parametrize(
    ("provider_message", "typed", "falls_back"),
    [
        ("Job quota exceeded: the queue is full, retry later", QueueFull, True),
        ("device ibm_x is OFFLINE for maintenance", DeviceOffline, True),
        ("401 Unauthorized: invalid token", CredentialsMissing, False),
        ("circuit 3 failed: measurement error", ProviderJobFailed, False),
    ],
)
def test_a_provider_failure_on_the_service_is_typed_and_falls_back(
    provider_message, typed, falls_back
):
    """A job whose provider failed on the server comes back as the provider's typed error (the
    worker stores it as text); the fallback runs the call when the device is offline or its
    queue full, as a provider backend's own fallback does."""
    err = classify("qiskit:ibm_x", RuntimeError(provider_message))  # what the server raised
    assert isinstance(err, typed)

    class FailingClient:
        def submit(self, payload):
            return {"id": "job"}

        def wait_timed(self, job_id, timeout=None):
            text = failure_text(err)  # what the server stores
            raise ClientJobFailed(f"job {job_id} failed: {text}", text)

    c = hqml.Circuit(2).h(0).cnot(0, 1)
    for fallback in (None, "statevector"):
        be = RemoteBackend("http://127.0.0.1:9", token="t", fallback=fallback)
        be.client = FailingClient()
        if fallback is not None and falls_back:
            with pytest.warns(RuntimeWarning, match=f"{typed.kind}.*fallback backend"):
                value = hqml.expval(c, hqml.Z(0) @ hqml.Z(1), backend=be)
            assert float(value) == pytest.approx(1.0) and be.stats["fallbacks"] == 1
            continue
        with pytest.raises(typed) as info:
            hqml.expval(c, hqml.Z(0) @ hqml.Z(1), backend=be)
        assert info.value.backend == "qiskit:ibm_x"
        assert str(info.value) == str(err) and provider_message in info.value.provider_message
    # a job that failed for any other reason stays the client's JobFailed
    other = RemoteBackend("http://127.0.0.1:9", token="t", fallback="statevector")

    class OtherFailure(FailingClient):
        def wait_timed(self, job_id, timeout=None):
            text = failure_text(ValueError("bad circuit"))
            raise ClientJobFailed(f"job {job_id} failed: {text}", text)

    other.client = OtherFailure()
    with pytest.raises(ClientJobFailed, match="ValueError: bad circuit"):
        hqml.expval(c, hqml.Z(0), backend=other)
