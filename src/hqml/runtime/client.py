"""Client of the job service: :class:`JobClient` (HTTP calls) and :class:`RemoteBackend`.

``backend="remote+http://host:8000"`` turns any ``hqml.expval(...)`` into jobs on that service;
the results are bit for bit those of the same backend in-process. The token comes from the
``token`` argument or the ``HQML_TOKEN`` environment variable.
"""

from __future__ import annotations

import json
import os
import time
import uuid
import warnings
from collections.abc import Sequence
from typing import Any

import torch

from ..backends.base import Backend, Capabilities, Expval, Probs, Sample, Task
from ..backends.providers.errors import DeviceOffline, QueueFull, from_failure_text
from ..backends.registry import get_backend
from .wire import dtype_name, seed_of, tensor_from_json, tensor_to_json


class JobServiceError(RuntimeError):
    """The service refused a request (4xx); the message is the service's explanation."""

    def __init__(self, status_code: int, detail: str):
        super().__init__(f"job service answered {status_code}: {detail}")
        self.status_code, self.detail = status_code, detail


class ServiceUnavailable(ConnectionError):
    """The service could not be reached (after retries)."""


class JobFailed(RuntimeError):
    """The job ran and failed, was cancelled or timed out; ``error`` is the service's record."""

    def __init__(self, message: str, error: str | None = None):
        super().__init__(message)
        self.error = error


def _httpx() -> Any:
    try:
        import httpx
    except ModuleNotFoundError:
        raise ImportError(
            "the job service client needs httpx; pip install 'hqml[runtime]'"
        ) from None
    return httpx


class JobClient:
    """Thin client of the service's REST API with retries on connection errors.

    Args:
        url: base URL, e.g. ``"http://127.0.0.1:8000"``.
        token: API token (default: the ``HQML_TOKEN`` environment variable).
        timeout: seconds per HTTP request.
        retries: extra attempts after a connection error or a 5xx answer.
        backoff: first pause between attempts (doubled each time).
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.2,
    ):
        token = token or os.environ.get("HQML_TOKEN")
        if not token:
            raise ValueError(
                "no API token: pass token=... or set the HQML_TOKEN environment"
                " variable (issue one with 'hqml serve --issue-token OWNER')"
            )
        httpx = _httpx()
        self.url, self.retries = url.rstrip("/"), retries
        self.backoff, self.timeout = backoff, timeout
        self._http = httpx.Client(
            base_url=self.url, timeout=timeout, headers={"Authorization": f"Bearer {token}"}
        )

    def close(self) -> None:
        self._http.close()

    def __del__(self) -> None:  # backends made from a registry name are never closed explicitly
        http = getattr(self, "_http", None)
        if http is not None:
            http.close()

    def __enter__(self) -> JobClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """One API call; JSON answer. Raises JobServiceError (4xx) or ServiceUnavailable."""
        httpx = _httpx()
        last: Exception | str = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                r = self._http.request(method, path, **kwargs)
            except httpx.TransportError as e:  # connect, read, protocol errors
                last = e
                continue
            if r.status_code >= 500:
                last = f"HTTP {r.status_code}"
                continue
            if r.status_code >= 400:
                try:
                    detail = r.json().get("detail", r.text)
                except ValueError:
                    detail = r.text
                raise JobServiceError(r.status_code, str(detail))
            return r.json()
        raise ServiceUnavailable(
            f"job service at {self.url} unreachable after {self.retries + 1} attempts: {last!r}"
        )

    # --- jobs ---------------------------------------------------------------------------------
    def submit(
        self, payload: dict[str, Any], idempotency_key: str | None = None, program: bool = False
    ) -> dict[str, Any]:
        """Submit a job (an idempotency key is made up when none is given, so retries after a
        lost answer never create a second job). Returns the job's info."""
        body = dict(payload)
        body.setdefault("idempotency_key", idempotency_key or uuid.uuid4().hex)
        return self.request("POST", "/v1/programs" if program else "/v1/jobs", json=body)

    def submit_run(
        self,
        config: str | os.PathLike[str] | dict[str, Any] | Any,
        *,
        idempotency_key: str | None = None,
        timeout_s: float | None = None,
    ) -> dict[str, Any]:
        """Submit an ``hqml run`` config as a server-side ``run`` program; the job's info.

        Args:
            config: a path to the TOML file, TOML text, a config dict or a ``RunConfig``.
            idempotency_key: reuse one to make a repeated submission return the same job.
            timeout_s: the job's time limit (at most the server's).

        Raises:
            JobServiceError: 400 naming the bad config field, or another refusal.
        """
        if hasattr(config, "model_dump"):
            doc: Any = config.model_dump(exclude_none=True)
        elif isinstance(config, os.PathLike) or (
            isinstance(config, str) and "\n" not in config and config.endswith(".toml")
        ):
            with open(config, encoding="utf-8") as f:
                doc = f.read()
        else:
            doc = config
        body: dict[str, Any] = {"program": "run", "config": doc}
        if timeout_s is not None:
            body["timeout_s"] = timeout_s
        return self.submit(body, idempotency_key, program=True)

    def status(self, job_id: str, wait: float = 0.0) -> dict[str, Any]:
        return self.request(
            "GET", f"/v1/jobs/{job_id}", params={"wait": wait}, timeout=self.timeout + wait
        )

    def result(self, job_id: str, wait: float = 0.0) -> dict[str, Any]:
        return self.request(
            "GET", f"/v1/jobs/{job_id}/result", params={"wait": wait}, timeout=self.timeout + wait
        )

    def cancel(self, job_id: str) -> dict[str, Any]:
        return self.request("DELETE", f"/v1/jobs/{job_id}")

    def list(self, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": limit}
        if status:
            params["status"] = status
        return self.request("GET", "/v1/jobs", params=params)["jobs"]

    def wait(self, job_id: str, timeout: float | None = None, poll: float = 10.0) -> dict[str, Any]:
        """Block until the job finishes (long-polling, with backoff between polls); its result.

        Raises:
            JobFailed: the job failed or was cancelled.
            TimeoutError: not finished within ``timeout`` seconds.
        """
        return self.wait_timed(job_id, timeout, poll)[0]

    def wait_timed(
        self, job_id: str, timeout: float | None = None, poll: float = 10.0
    ) -> tuple[dict[str, Any], float | None]:
        """:meth:`wait`, and the seconds the server spent on the job (``None`` when the
        server does not say)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = 0.01
        while True:
            left = poll if deadline is None else min(poll, deadline - time.monotonic())
            if left <= 0:
                raise TimeoutError(f"job {job_id} not finished after {timeout} s")
            t0 = time.monotonic()
            r = self.result(job_id, wait=left)
            if r["status"] == "done":
                start, end = r.get("started_at"), r.get("finished_at")
                return r["result"], (end - start if start is not None and end is not None else None)
            if r["status"] in ("failed", "cancelled"):
                raise JobFailed(f"job {job_id} {r['status']}: {r.get('error')}", r.get("error"))
            if time.monotonic() - t0 < left / 2:  # the server did not hold the poll: back off
                time.sleep(pause)
                pause = min(pause * 2, 1.0)

    def open_session(self, backend: str = "statevector", options: dict | None = None) -> str:
        return self.request(
            "POST", "/v1/sessions", json={"backend": backend, "options": options or {}}
        )["id"]

    def close_session(self, session_id: str) -> None:
        self.request("DELETE", f"/v1/sessions/{session_id}")


def task_payload(task: Task, backend: str, options: dict[str, Any]) -> dict[str, Any]:
    """The job payload of a backend task (theta sent exactly)."""
    m = task.measurement
    payload: dict[str, Any] = {
        "circuit": json.loads(task.circuit.to_json()),
        "theta": tensor_to_json(task.theta),
        "varying": list(task.varying) if task.varying is not None else None,
        "shots": task.shots,
        "seed": seed_of(task),
        "dtype": dtype_name(task.dtype),
        "backend": backend,
        "options": options,
    }
    if isinstance(m, Expval):
        payload.update(measurement="expval", observables=[o.to_json() for o in m.observables])
    elif isinstance(m, (Probs, Sample)):
        payload.update(
            measurement="probs" if isinstance(m, Probs) else "sample", wires=list(m.wires)
        )
    else:
        payload["measurement"] = "state"
    return payload


class RemoteBackend(Backend):
    """A Backend whose tasks run as jobs on an hqml job service.

    Args:
        url: the service's base URL.
        token: API token (default: ``HQML_TOKEN``).
        backend: the backend the service runs the jobs on.
        options: that backend's options.
        session: keep one warm backend on the server for all jobs of this object.
        job_timeout: seconds to wait for one job.
        request_timeout: seconds per HTTP request; retries: attempts after connection errors.
        fallback: a backend (name or instance) used, with a warning, when the service is
            unreachable, or when the provider device it runs the jobs on is offline or its queue
            is full (a job's other provider failures are raised as their typed errors).
    """

    name = "remote"
    capabilities = Capabilities(
        diff_methods=frozenset({"adjoint", "parameter-shift", "finite-diff", "spsa"})
    )

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        backend: str = "statevector",
        options: dict[str, Any] | None = None,
        session: bool = False,
        job_timeout: float | None = 600.0,
        request_timeout: float = 30.0,
        retries: int = 3,
        fallback: str | Backend | None = None,
    ):
        self.url, self.backend, self.options = url, backend, dict(options or {})
        self.client = JobClient(url, token, timeout=request_timeout, retries=retries)
        self.job_timeout, self.use_session = job_timeout, session
        self.session_id: str | None = None
        self.fallback = get_backend(fallback) if fallback is not None else None
        # wire_s: wall time of the jobs minus the server's time on them (requests, transfer,
        # queueing); compute_s: the server's time on them; unsplit_s: wall time of jobs whose
        # server gave no times (an older service): neither wire nor compute can be told
        self.stats = {"jobs": 0, "fallbacks": 0, "wire_s": 0.0, "compute_s": 0.0, "unsplit_s": 0.0}

    def _run(self, payloads: list[dict[str, Any]], key: str) -> list[torch.Tensor]:
        if self.use_session and self.session_id is None:
            self.session_id = self.client.open_session(self.backend, self.options)
        if self.session_id is not None:
            for p in payloads:
                p["session_id"] = self.session_id
        t0 = time.perf_counter()
        jobs = [self.client.submit(p)["id"] for p in payloads]  # all queued before waiting
        self.stats["jobs"] += len(jobs)
        done = [self.client.wait_timed(j, self.job_timeout) for j in jobs]
        server = [s for _, s in done if s is not None]
        if len(server) == len(done):  # wire = the calls' wall time minus the server's job time
            self.stats["compute_s"] += sum(server)
            self.stats["wire_s"] += max(0.0, time.perf_counter() - t0 - sum(server))
        else:
            self.stats["unsplit_s"] += time.perf_counter() - t0
        return [tensor_from_json(r[key]) for r, _ in done]

    def _fallback(self, err: ServiceUnavailable) -> Backend:
        if self.fallback is None:
            raise err
        self.stats["fallbacks"] += 1
        warnings.warn(
            f"job service at {self.url} is unreachable ({err}); running on the fallback"
            f" backend {self.fallback.name!r} instead",
            RuntimeWarning,
            stacklevel=3,
        )
        return self.fallback

    def _provider_failure(self, e: JobFailed) -> Backend:
        """The fallback for a job its provider could not run (device offline, queue full);
        any other provider failure raised as its typed error, the rest as it came."""
        err = from_failure_text(e.error or "")
        if err is None:
            raise e
        if self.fallback is None or not isinstance(err, QueueFull | DeviceOffline):
            raise err from e
        self.stats["fallbacks"] += 1
        warnings.warn(
            f"{err}; running on the fallback backend {self.fallback.name!r} instead",
            RuntimeWarning,
            stacklevel=3,
        )
        return self.fallback

    def execute(self, tasks: Sequence[Task]) -> list[torch.Tensor]:
        payloads = [task_payload(t, self.backend, self.options) for t in tasks]
        try:
            outs = self._run(payloads, "value")
        except ServiceUnavailable as e:
            return self._fallback(e).execute(tasks)
        except JobFailed as e:
            return self._provider_failure(e).execute(tasks)
        return [o.to(t.theta.device) for o, t in zip(outs, tasks, strict=True)]

    def vjp(self, task: Task, cotangent: torch.Tensor) -> torch.Tensor:
        payload = task_payload(task, self.backend, self.options)
        payload["cotangent"] = tensor_to_json(cotangent.to(task.theta.dtype))
        try:
            return self._run([payload], "gradient")[0].to(task.theta.device)
        except ServiceUnavailable as e:
            return self._fallback(e).vjp(task, cotangent)
        except JobFailed as e:
            return self._provider_failure(e).vjp(task, cotangent)

    def close(self) -> None:
        """Close the server-side session (if any) and the HTTP connection."""
        if self.session_id is not None:
            try:
                self.client.close_session(self.session_id)
            except (ServiceUnavailable, JobServiceError):
                pass
            self.session_id = None
        self.client.close()
