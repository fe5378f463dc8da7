"""Workers: take queued jobs from the store, run them with a timeout, record the outcome once.

The default pool runs jobs in threads of the server process; with ``executor="ray"`` each
thread hands its job to a Ray actor (:mod:`hqml.runtime.ray_pool`) and relays its progress. A
job's deadline is watched by the dispatcher: a job past it is recorded as failed at once (its late
result is then discarded by the guarded ``finish``); programs also check the deadline and
cancellation between iterations and stop early.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import torch

from ..backends.base import Backend
from .backend_cache import BackendCache
from .execution import JobContext, JobRejected, JobStopped
from .job_runner import run_job
from .lease import Lease
from .ray_pool import RayJobExecutor
from .settings import ServiceSettings
from .store import JobRecord, SessionRecord, SqlJobStore

log = logging.getLogger("hqml.runtime")


def failure_text(e: BaseException) -> str:
    """How a failed job's error is stored: ``"<class name>: <message>"`` (the client rebuilds
    a provider's typed errors from it)."""
    return f"{type(e).__name__}: {e}"


class Notifier:
    """Wakes requests waiting (long-polling) for a job to finish."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[str, list[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}

    def register(self, job_id: str) -> asyncio.Event:
        """Call from the event loop; the event is set when ``notify(job_id)`` runs."""
        ev = asyncio.Event()
        with self._lock:
            self._waiters.setdefault(job_id, []).append((asyncio.get_running_loop(), ev))
        return ev

    def unregister(self, job_id: str, ev: asyncio.Event) -> None:
        with self._lock:
            items = [w for w in self._waiters.get(job_id, []) if w[1] is not ev]
            if items:
                self._waiters[job_id] = items
            else:
                self._waiters.pop(job_id, None)

    def notify(self, job_id: str) -> None:
        with self._lock:
            waiters = self._waiters.pop(job_id, [])
        for loop, ev in waiters:
            loop.call_soon_threadsafe(ev.set)


def _ray_processes() -> list[int]:
    """Process ids of the local Ray cluster this server started (its child processes)."""
    import psutil  # installed with ray

    return [p.pid for p in psutil.Process().children(recursive=True)]


def kill_leftover_ray(pids: tuple[int, ...]) -> int:
    """Kill the Ray processes a dead server on this host left behind; returns how many."""
    if not pids:
        return 0
    try:
        import psutil
    except ModuleNotFoundError:
        return 0
    killed = 0
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            if "ray" in " ".join(proc.cmdline()).lower():
                proc.kill()
                killed += 1
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    if killed:
        log.warning("killed %d Ray processes left behind by the previous server", killed)
    return killed


class WorkerPool:
    """Runs jobs from ``store`` on ``settings.workers`` threads (``settings.ray_workers`` Ray
    actors with ``executor="ray"``)."""

    def __init__(
        self,
        store: SqlJobStore,
        settings: ServiceSettings,
        notifier: Notifier,
        backends: BackendCache,
        lease: Lease | None = None,
    ):
        self.store, self.settings, self.lease = store, settings, lease
        self._renewed = time.monotonic()
        self.notifier, self.backends = notifier, backends
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._running: dict[str, float] = {}  # job id -> deadline (monotonic)
        self._stopped: dict[str, str] = {}  # job id -> reason (cancelled, timed out)
        self._unstored: dict[str, str] = {}  # job id -> why its outcome could not be stored
        self._threads: ThreadPoolExecutor | None = None
        self._dispatcher: threading.Thread | None = None
        self.recovered = 0
        self.ray: Any = None  # RayJobExecutor with executor="ray"
        self.slots = settings.ray_workers if settings.executor == "ray" else settings.workers

    def start(self) -> None:
        """Re-queue jobs a dead server left running, start Ray if configured, take jobs."""
        torch.set_num_threads(self.settings.torch_threads)
        if self.settings.executor == "ray":
            self.ray = RayJobExecutor(self.settings)
            self.ray.start()
            if self.lease is not None and self.ray.started_here:
                self.lease.record_ray(_ray_processes())
        self.recovered = self.store.requeue_running()
        self._threads = ThreadPoolExecutor(self.slots, thread_name_prefix="hqml-job")
        self._dispatcher = threading.Thread(target=self._loop, name="hqml-dispatch", daemon=True)
        self._dispatcher.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._dispatcher is not None:
            self._dispatcher.join(timeout=5)
        if self._threads is not None:
            self._threads.shutdown(wait=False, cancel_futures=True)
        if self.ray is not None:
            self.ray.stop()

    def describe(self) -> dict[str, Any]:
        """The executor and its workers (shown to admins by ``/v1/status``)."""
        if self.ray is None:
            return {"executor": "local", "workers": self.slots}
        return {
            "executor": "ray",
            "workers": self.slots,
            "worker_pids": self.ray.worker_pids(),
            **{f"ray_{k}": v for k, v in self.ray.stats.items()},
        }

    def wake(self) -> None:
        """A job was submitted: look at the store now instead of at the next poll."""
        self._wake.set()

    def cancel(self, job_id: str) -> None:
        with self._lock:
            if job_id in self._running:
                self._stopped[job_id] = "cancelled by the owner"
        self.notifier.notify(job_id)

    # --- dispatching ------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._heartbeat()
                self._record_unstored()
                self._expire()
                with self._lock:
                    free = self.slots - len(self._running)
                claimed = self.store.claim(free) if free > 0 else []
            except Exception:  # noqa: BLE001 - a transient database error: try again shortly
                claimed = []
            for job in claimed:
                with self._lock:
                    self._running[job.id] = time.monotonic() + job.timeout_s
                assert self._threads is not None
                self._threads.submit(self._run, job)
            if not claimed:
                self._wake.wait(self.settings.poll_interval_s)
                self._wake.clear()

    def _heartbeat(self) -> None:
        if self.lease is None or time.monotonic() - self._renewed < self.lease.ttl_s / 3:
            return
        if not self.lease.renew():
            log.error(
                "this server lost its lease on the database (another server took it"
                " over); it stops taking jobs"
            )
            self._stop.set()
        self._renewed = time.monotonic()

    def _expire(self) -> None:
        now = time.monotonic()
        with self._lock:
            late = [j for j, d in self._running.items() if d < now and j not in self._stopped]
            for j in late:
                self._stopped[j] = "timed out"
        for j in late:
            job = self.store.get(j)
            limit = job.timeout_s if job else 0
            if self.store.finish(
                j,
                "failed",
                error=f"timed out after {limit:g} s (per-job"
                " timeout); resubmit with a larger timeout_s",
            ):
                self.notifier.notify(j)

    # --- running ----------------------------------------------------------------------------
    def _run(self, job: JobRecord) -> None:
        result = error = None
        status = "done"
        try:
            result = json.dumps(self._execute(job))
            if len(result) > self.settings.max_result_bytes:
                status, error = (
                    "failed",
                    (
                        f"the result takes {len(result) / 1e6:.1f} MB; this server stores at most"
                        f" {self.settings.max_result_bytes / 1e6:.1f} MB per job (max_result_bytes)"
                    ),
                )
                result = None
        except JobStopped as e:
            status, error = "failed", f"stopped: {e}"
        except JobRejected as e:
            status, error = "failed", str(e)
        except Exception as e:  # noqa: BLE001 - a job's failure must not stop the worker
            status, error = "failed", failure_text(e)
        with self._lock:
            stopped = self._stopped.pop(job.id, None)
        if status == "failed" and self._stop.is_set():
            stopped = "server shutting down"  # e.g. Ray went away under it: re-run after restart
        try:
            if stopped is None:
                self._finish(job.id, status, result, error)
        finally:
            with self._lock:
                self._running.pop(job.id, None)
            self.notifier.notify(job.id)
            self._wake.set()

    def _finish(self, job_id: str, status: str, result: str | None, error: str | None) -> None:
        """Record the outcome. A result the database refuses (too large for a row, a lost
        connection) ends the job as failed with the reason; if even that cannot be written, the
        dispatcher keeps trying, so no job stays 'running' while its server lives."""
        for attempt in range(3):
            try:
                self.store.finish(job_id, status, result, error)
                return
            except Exception as e:  # noqa: BLE001 - any database failure is handled below
                reason = f"{type(e).__name__}: {str(e)[:200]}"
                if attempt < 2:
                    time.sleep(0.1 * 2**attempt)
        what = "result" if result is not None else "outcome"
        log.error(
            "job %s: could not store its %s (%s); recording it as failed", job_id, what, reason
        )
        message = f"could not store the {what}: {reason}"
        try:
            self.store.finish(job_id, "failed", None, message)
        except Exception:  # noqa: BLE001 - the dispatcher retries it
            log.exception("job %s: could not record the failure either; retrying", job_id)
            with self._lock:
                self._unstored[job_id] = message

    def _record_unstored(self) -> None:
        with self._lock:
            pending = dict(self._unstored)
        for job_id, message in pending.items():
            self.store.finish(job_id, "failed", None, message)  # raises: tried again next time
            with self._lock:
                self._unstored.pop(job_id, None)
            self.notifier.notify(job_id)

    def _context(self, job: JobRecord) -> JobContext:
        last = [0.0]

        def report(progress: dict[str, Any], force: bool = False) -> None:
            now = time.monotonic()
            if force or now - last[0] >= 0.1:
                last[0] = now
                self.store.set_progress(job.id, json.dumps(progress))

        def should_stop() -> str | None:
            with self._lock:
                return self._stopped.get(job.id)

        return JobContext(report, should_stop)

    def _execute(self, job: JobRecord) -> dict[str, Any]:
        session: SessionRecord | None = None
        if job.session_id is not None:
            session = self.store.get_session(job.session_id)
            if session is None or session.closed:
                raise JobRejected(f"session {job.session_id} is closed or unknown")
        run_dir = Path(self.settings.output_dir).resolve() / job.owner / job.id
        ctx = self._context(job)
        if self.ray is not None:
            result, final = self.ray.run(
                job,
                ctx,
                run_dir,
                (session.backend, session.options) if session is not None else None,
            )
        else:

            def backend_for(name: str, options: dict[str, Any]) -> Backend:
                if session is not None:
                    return self.backends.session(session)
                return self.backends.shared(name, options)

            result, final = run_job(
                job.kind,
                job.payload,
                self.settings,
                backend_for,
                ctx,
                run_dir,
                (session.backend, session.options) if session is not None else None,
            )
        if final is not None:
            self.store.set_progress(job.id, json.dumps(final))
        return result
