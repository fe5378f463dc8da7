"""Executors: Backends that spread a batch over a local process pool or Ray actors.

Both wrap a local backend (``"statevector"`` by default) held warm in each worker, split the rows
of a batch into shares, return the results in order and retry the share of a failed or lost
worker elsewhere. Both delegate adjoint ``vjp`` shares too, so ``diff_method="adjoint"``
gives the same gradients as in-process.

>>> from hqml.runtime.executors import ProcessPoolBackend
>>> be = ProcessPoolBackend(num_workers=2)   # or backend="process_pool" by name
>>> be.close()
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
from collections import deque
from typing import Any

import torch

from .sharding import USER_ERRORS, QuantumNode, ShardedBackend, split_rows

_NODE: QuantumNode | None = None  # one per worker process, set by the pool initializer


def _init_worker(inner: str, inner_options: dict[str, Any], torch_threads: int) -> None:
    global _NODE
    _NODE = QuantumNode(inner, inner_options, torch_threads)


def _run_in_worker(share: dict[str, Any]) -> tuple[torch.Tensor, float]:
    assert _NODE is not None, "worker not initialised"
    return _NODE.run_timed(share)


class ProcessPoolBackend(ShardedBackend):
    """Shares of a batch run in a pool of local worker processes.

    Args:
        num_workers: worker processes.
        inner: the backend each worker runs.
        share_rows: rows per share (default: two shares per worker).
        max_retries: retries of one share after its worker process died.
        torch_threads: intra-op threads per worker.
        start_method: ``"spawn"`` (default, safe with torch) or ``"fork"``/``"forkserver"``.
        **inner_options: options of the inner backend.
    """

    name = "process_pool"

    def __init__(
        self,
        num_workers: int = 2,
        inner: str = "statevector",
        *,
        share_rows: int | None = None,
        max_retries: int = 3,
        torch_threads: int = 1,
        start_method: str = "spawn",
        **inner_options: Any,
    ):
        super().__init__(
            inner,
            num_workers,
            share_rows=share_rows,
            max_retries=max_retries,
            inner_options=inner_options,
        )
        self.torch_threads = torch_threads
        self.start_method = start_method
        self._pool: cf.ProcessPoolExecutor | None = None

    def _get_pool(self) -> cf.ProcessPoolExecutor:
        if getattr(multiprocessing.current_process(), "_inheriting", False):
            # a spawned worker importing a script that starts pools at import: starting one
            # here would leave this worker hanging on the new pool's threads (and its parent
            # waiting for it); fail at once, and the parent names the rule
            raise RuntimeError(
                "a process pool was started while a worker imported the main script: put the"
                " script's work under `if __name__ == '__main__':`"
            )
        if self._pool is None:
            self._pool = cf.ProcessPoolExecutor(
                self.num_workers,
                mp_context=multiprocessing.get_context(self.start_method),
                initializer=_init_worker,
                initargs=(self.inner, self.inner_options, self.torch_threads),
            )
        return self._pool

    def _run_shares(self, shares: list[dict[str, Any]]) -> list[tuple[torch.Tensor, float]]:
        results: list[tuple[torch.Tensor, float] | None] = [None] * len(shares)
        attempts = [0] * len(shares)
        pending = list(range(len(shares)))

        def lost(i: int, err: BaseException, retry: list[int]) -> None:
            attempts[i] += 1
            if attempts[i] > self.max_retries:
                raise RuntimeError(
                    f"share {i} failed {attempts[i]} times; last error: {err!r}{self._hint(err)}"
                ) from err
            self.stats["retries"] += 1
            retry.append(i)

        while pending:
            pool = self._get_pool()
            futures, retry = {}, []
            for i in pending:
                try:
                    futures[pool.submit(_run_in_worker, shares[i])] = i
                except cf.BrokenExecutor as e:  # a worker died while we were submitting
                    lost(i, e, retry)
            for fut in cf.as_completed(futures):
                i = futures[fut]
                try:
                    results[i] = fut.result()
                    self.stats["completed"] += 1
                except USER_ERRORS:
                    raise
                except Exception as e:  # a lost worker (BrokenProcessPool) or a crash in it
                    lost(i, e, retry)
            if retry and self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None  # a broken pool cannot be reused: start fresh workers
            pending = retry
        return results  # type: ignore[return-value]

    def _hint(self, err: BaseException) -> str:
        """Why workers that never ran a share keep dying, when the cause is the usual one."""
        if (
            isinstance(err, cf.process.BrokenProcessPool)
            and self.stats["completed"] == 0
            and self.start_method in ("spawn", "forkserver")
        ):
            return (
                f" (the {self.start_method!r} workers died before running anything: a script"
                " that uses the process pool must run under `if __name__ == '__main__':`,"
                " since each worker imports the script again)"
            )
        return ""

    def worker_pids(self) -> list[int]:
        """Process ids of the live workers (empty before the first batch)."""
        return list(getattr(self._pool, "_processes", None) or {})

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _ray() -> Any:
    try:
        import ray
    except ModuleNotFoundError:
        raise ImportError("the Ray executor needs ray; pip install 'hqml[runtime]'") from None
    return ray


class RayBackend(ShardedBackend):
    """Shares of a batch run on Ray actors ('quantum nodes') that keep a warm simulator.

    ``ray.init()`` is called when Ray is not running yet: with ``address=None`` it starts Ray on
    this machine, with an address (``"ray://host:10001"`` or ``"auto"``) it joins that cluster.
    An actor that dies mid-batch is replaced and its shares run again on the others.

    Args:
        num_actors: actors to create.
        inner: the backend each actor runs.
        address: Ray cluster address, or None for a local instance.
        share_rows: rows per share (default: two shares per actor).
        max_retries: retries of one share after its actor was lost.
        max_inflight: shares queued on one actor at a time.
        actor_options: passed to ``.options()`` of the actor class (e.g. ``{"num_cpus": 1}``).
        init_options: passed to ``ray.init`` when this backend starts Ray.
        **inner_options: options of the inner backend.
    """

    name = "ray"

    def __init__(
        self,
        num_actors: int = 2,
        inner: str = "statevector",
        *,
        address: str | None = None,
        share_rows: int | None = None,
        max_retries: int = 3,
        max_inflight: int = 2,
        actor_options: dict[str, Any] | None = None,
        init_options: dict[str, Any] | None = None,
        **inner_options: Any,
    ):
        super().__init__(
            inner,
            num_actors,
            share_rows=share_rows,
            max_retries=max_retries,
            inner_options=inner_options,
        )
        self.address = address
        self.max_inflight = max_inflight
        self.actor_options = {"num_cpus": 1, **(actor_options or {})}
        self.init_options = dict(init_options or {})
        self.actors: list[Any] = []
        self._generation: list[int] = []

    def _start(self) -> None:
        ray = _ray()
        if not ray.is_initialized():
            opts = {"include_dashboard": False, "log_to_driver": False, **self.init_options}
            ray.init(address=self.address or "local", **opts)  # not a stray local cluster
        while len(self.actors) < self.num_workers:
            self.actors.append(self._new_actor())
            self._generation.append(0)

    def _new_actor(self) -> Any:
        node_cls = _ray().remote(QuantumNode)
        return node_cls.options(**self.actor_options).remote(self.inner, self.inner_options, 1)

    def _replace(self, slot: int, generation: int) -> None:
        if self._generation[slot] != generation:
            return  # already replaced after an earlier failure of the same actor
        try:
            _ray().kill(self.actors[slot])
        except Exception:  # noqa: BLE001 - the actor may be gone already
            pass
        self.actors[slot] = self._new_actor()
        self._generation[slot] += 1

    def _run_shares(self, shares: list[dict[str, Any]]) -> list[tuple[torch.Tensor, float]]:
        ray = _ray()
        lost = _lost_errors(ray)
        self._start()
        results: list[tuple[torch.Tensor, float] | None] = [None] * len(shares)
        attempts = [0] * len(shares)
        queue = deque(range(len(shares)))
        inflight: dict[Any, tuple[int, int, int]] = {}  # ref -> (share, slot, generation)
        load = [0] * len(self.actors)
        while queue or inflight:
            for slot in sorted(range(len(self.actors)), key=lambda s: load[s]):
                while queue and load[slot] < self.max_inflight:
                    i = queue.popleft()
                    ref = self.actors[slot].run_timed.remote(shares[i])
                    inflight[ref] = (i, slot, self._generation[slot])
                    load[slot] += 1
            ready, _ = ray.wait(list(inflight), num_returns=1)
            for ref in ready:
                i, slot, gen = inflight.pop(ref)
                load[slot] -= 1
                try:
                    results[i] = ray.get(ref)
                    self.stats["completed"] += 1
                except lost as e:
                    attempts[i] += 1
                    if attempts[i] > self.max_retries:
                        raise RuntimeError(f"share {i} lost {attempts[i]} times: {e}") from e
                    self.stats["retries"] += 1
                    self._replace(slot, gen)
                    queue.appendleft(i)
                except ray.exceptions.RayTaskError as e:
                    cause = e.as_instanceof_cause()
                    raise cause from None
        return results  # type: ignore[return-value]

    def worker_peak_rss(self, timeout: float = 30.0) -> int | None:
        """The actors' peak resident memory since each started, summed (bytes), each read in
        its own process; ``None`` before the first batch or when an actor does not answer."""
        if not self.actors:
            return None
        ray = _ray()
        try:
            return sum(ray.get([a.peak_rss.remote() for a in self.actors], timeout=timeout))
        except Exception:  # noqa: BLE001 - a lost or busy actor: unknown, not a partial sum
            return None

    def close(self) -> None:
        if self.actors:
            ray = _ray()
            for a in self.actors:
                try:
                    ray.kill(a)
                except Exception:  # noqa: BLE001
                    pass
            self.actors, self._generation = [], []


def _lost_errors(ray: Any) -> tuple[type[BaseException], ...]:
    names = (
        "RayActorError",
        "ActorDiedError",
        "ActorUnavailableError",
        "WorkerCrashedError",
        "ObjectLostError",
        "NodeDiedError",
    )
    return tuple(getattr(ray.exceptions, n) for n in names if hasattr(ray.exceptions, n))


__all__ = ["ProcessPoolBackend", "RayBackend", "QuantumNode", "split_rows"]
