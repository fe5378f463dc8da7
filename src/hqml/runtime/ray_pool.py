"""Ray as the job service's worker pool (``ServiceSettings(executor="ray")``).

Each claimed job runs in a :class:`JobNode` Ray actor that keeps warm backends between jobs. The
server keeps everything that makes jobs durable: the store, claiming, the guarded exactly-once
``finish``, cancellation and per-job deadlines. While a job runs, the server's worker thread polls
the actor for the job's progress (a threaded actor answers ``progress``/``stop`` calls while
``run`` works) and writes it to the store. A job that must stop (cancelled, timed out) is asked to
stop at its next iteration; an actor that has not returned a second later is killed and replaced,
so even a single long circuit evaluation is preempted. An actor lost mid-job (crash, node loss)
is replaced and the job runs again on the new one, up to ``ray_max_retries`` times.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from pathlib import Path
from typing import Any

import torch

from .backend_cache import BackendCache
from .execution import JobContext, JobRejected, JobStopped
from .executors import _lost_errors, _ray
from .job_runner import run_job
from .settings import ServiceSettings
from .store import JobRecord

STOP_GRACE_S = 1.0  # a stopped job gets this long to return before its actor is killed


class JobNode:
    """A Ray actor that runs whole jobs on warm backends (created by :class:`RayJobExecutor`)."""

    def __init__(self, settings: ServiceSettings):
        torch.set_num_threads(settings.torch_threads)
        self.settings = settings
        self.backends = BackendCache(settings.session_ttl_s)
        self._progress: dict[str, dict[str, Any]] = {}
        self._stop: dict[str, str] = {}

    def run(
        self,
        job_id: str,
        kind: str,
        payload: str,
        run_dir: str,
        session_backend: tuple[str, dict[str, Any]] | None,
    ) -> dict[str, Any]:
        """``{"result", "final"}``, ``{"stopped": reason}`` or ``{"error": message}``."""
        ctx = JobContext(
            lambda p, force=False: self._progress.__setitem__(job_id, p),
            lambda: self._stop.get(job_id),
        )
        try:
            result, final = run_job(
                kind, payload, self.settings, self.backends.shared, ctx, run_dir, session_backend
            )
            return {"result": result, "final": final}
        except JobStopped as e:
            return {"stopped": str(e)}
        except JobRejected as e:
            return {"error": str(e)}
        except Exception as e:  # noqa: BLE001 - the job's failure, reported, not the actor's
            return {"error": f"{type(e).__name__}: {e}"}
        finally:
            self._progress.pop(job_id, None)
            self._stop.pop(job_id, None)

    def progress(self, job_id: str) -> dict[str, Any] | None:
        return self._progress.get(job_id)

    def stop(self, job_id: str, reason: str) -> None:
        self._stop[job_id] = reason

    def pid(self) -> int:
        return os.getpid()


class RayJobExecutor:
    """The server's side of the Ray pool: ``ray_workers`` actors, one job each at a time."""

    def __init__(self, settings: ServiceSettings):
        self.settings = settings
        self.actors: list[Any] = []
        self._free: queue.Queue[int] = queue.Queue()
        self._lock = threading.Lock()
        self._started_ray = False
        self.started_here = False  # a local Ray cluster started by this process
        self.stats = {"jobs": 0, "retries": 0, "replaced": 0}

    def _ray(self) -> Any:
        return _ray()

    def start(self) -> None:
        """Start (or join) Ray and the actors; returns once every actor answers."""
        ray = self._ray()
        if not ray.is_initialized():
            opts: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,
                "configure_logging": False,
            }
            if self.settings.ray_address is None:
                opts["num_cpus"] = self.settings.ray_workers
            ray.init(address=self.settings.ray_address or "local", **opts)
            self._started_ray = True
            self.started_here = self.settings.ray_address is None
        self.actors = [self._new_actor() for _ in range(self.settings.ray_workers)]
        ray.get([a.pid.remote() for a in self.actors])
        for slot in range(len(self.actors)):
            self._free.put(slot)

    def _new_actor(self) -> Any:
        cls = self._ray().remote(JobNode)
        return cls.options(num_cpus=1, max_concurrency=4).remote(self.settings)

    def _replace(self, slot: int) -> None:
        ray = self._ray()
        try:
            ray.kill(self.actors[slot])
        except Exception:  # noqa: BLE001 - already gone
            pass
        self.actors[slot] = self._new_actor()
        self.stats["replaced"] += 1

    def stop(self) -> None:
        ray = self._ray()
        for a in self.actors:
            try:
                ray.kill(a)
            except Exception:  # noqa: BLE001
                pass
        self.actors = []
        if self._started_ray:
            ray.shutdown()

    def worker_pids(self) -> list[int | None]:
        """Process ids of the actors (None for one that does not answer within 10 s)."""
        ray = self._ray()
        refs = [a.pid.remote() for a in list(self.actors)]
        out: list[int | None] = []
        for ref in refs:
            try:
                out.append(int(ray.get(ref, timeout=10)))
            except Exception:  # noqa: BLE001 - dead or still starting: health must still answer
                out.append(None)
        return out

    def run(
        self,
        job: JobRecord,
        ctx: JobContext,
        run_dir: Path,
        session_backend: tuple[str, dict[str, Any]] | None,
    ) -> tuple[dict, dict | None]:
        """Run ``job`` on a free actor; retry it on a fresh actor when its actor is lost."""
        lost = _lost_errors(self._ray())
        attempts = 0
        while True:
            slot = self._free.get()
            try:
                out = self._run_on(slot, job, ctx, str(run_dir), session_backend)
            except lost as e:
                attempts += 1
                self._replace(slot)
                if attempts > self.settings.ray_max_retries:
                    raise RuntimeError(
                        f"the Ray worker running this job was lost {attempts}"
                        f" times; last: {type(e).__name__}"
                    ) from None
                self.stats["retries"] += 1
                continue
            finally:
                self._free.put(slot)
            self.stats["jobs"] += 1
            if "stopped" in out:
                raise JobStopped(out["stopped"])
            if "error" in out:
                raise JobRejected(out["error"])
            return out["result"], out["final"]

    def _run_on(
        self,
        slot: int,
        job: JobRecord,
        ctx: JobContext,
        run_dir: str,
        session_backend: tuple[str, dict[str, Any]] | None,
    ) -> dict[str, Any]:
        ray = self._ray()
        actor = self.actors[slot]
        ref = actor.run.remote(job.id, job.kind, job.payload, run_dir, session_backend)
        last: dict[str, Any] | None = None
        stop_sent: float | None = None
        while True:
            ready, _ = ray.wait([ref], timeout=0.1)
            if ready:
                return ray.get(ref)  # raises the lost-actor errors
            try:
                p = ray.get(actor.progress.remote(job.id), timeout=5)
            except Exception:  # noqa: BLE001 - a dead actor shows up at ray.get(ref)
                p = None
            if p is not None and p != last:
                ctx.report(p, force=last is None or p.get("epoch") != last.get("epoch"))
                last = p
            reason = ctx.should_stop()
            if reason and stop_sent is None:
                actor.stop.remote(job.id, reason)
                stop_sent = time.monotonic()
            elif stop_sent is not None and time.monotonic() - stop_sent > STOP_GRACE_S:
                self._replace(slot)  # preempt: the job did not return in time
                raise JobStopped(reason or "stopped")
