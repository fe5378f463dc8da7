"""Batch sharding: a Backend that splits the rows of ``task.theta`` over warm workers.

Subclasses provide :meth:`ShardedBackend._run_shares` (run share dicts somewhere, return their
results in order, retrying lost shares); this module does the splitting, the seeding and the
concatenation, for forward executions and for adjoint ``vjp`` calls alike.
"""

from __future__ import annotations

import math
import os
import resource
import time
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import torch

from ..backends.base import Backend, Task
from ..backends.registry import get_backend
from .wire import CircuitCache, task_from_dict, task_to_dict

# errors that are the caller's fault: retrying them elsewhere cannot help
USER_ERRORS = (ValueError, TypeError, NotImplementedError, KeyError)


def peak_rss_bytes() -> int:
    """This process's peak resident memory: ``VmHWM`` (Linux; reset by writing 5 to
    ``/proc/self/clear_refs``), else ``getrusage``'s peak since the process started."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _reset_peak_rss() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass  # not Linux: the peak stays the process's since it started


class QuantumNode:
    """A warm simulator in a worker: one inner backend, circuits parsed once. Its process's
    peak memory is reset when it starts (a reused worker's earlier peak is not this node's)
    and read, in the worker, by :meth:`peak_rss` (a Ray actor may run on another machine).

    Args:
        inner: the local backend's name (``"statevector"`` by default).
        inner_options: keyword arguments for that backend.
        torch_threads: intra-op threads for this worker (1 keeps workers from oversubscribing).
    """

    def __init__(
        self,
        inner: str = "statevector",
        inner_options: dict[str, Any] | None = None,
        torch_threads: int | None = 1,
    ):
        _reset_peak_rss()
        if torch_threads:
            torch.set_num_threads(torch_threads)
        self.backend = get_backend(inner, **(inner_options or {}))
        self.cache = CircuitCache()

    def peak_rss(self) -> int:
        """Peak resident memory of this worker process since the node started (bytes)."""
        return peak_rss_bytes()

    def pid(self) -> int:
        return os.getpid()

    def run(self, share: dict[str, Any]) -> torch.Tensor:
        """Execute one share: ``op`` is ``"execute"`` or ``"vjp"`` (with a ``cotangent``)."""
        task = task_from_dict(share, self.cache)
        with torch.no_grad():
            if share.get("op") == "vjp":
                return self.backend.vjp(task, share["cotangent"])
            return self.backend.execute([task])[0]

    def run_timed(self, share: dict[str, Any]) -> tuple[torch.Tensor, float]:
        """:meth:`run` and the seconds it computed (the caller's wall time minus this, over
        the shares, is the time on the wire)."""
        t0 = time.perf_counter()
        value = self.run(share)
        return value, time.perf_counter() - t0

    def ping(self) -> str:
        return self.backend.name


def split_rows(n_rows: int, n_shares: int) -> list[tuple[int, int]]:
    """``n_shares`` contiguous ``(start, stop)`` ranges covering ``range(n_rows)`` evenly."""
    n_shares = max(1, min(n_shares, n_rows))
    size = math.ceil(n_rows / n_shares)
    return [(s, min(s + size, n_rows)) for s in range(0, n_rows, size)]


class ShardedBackend(Backend):
    """Base of the process-pool and Ray executors.

    Args:
        inner: name of the backend each worker runs.
        num_workers: number of workers.
        share_rows: rows per share (default: the batch split into two shares per worker).
        max_retries: how often one share may be retried after its worker failed or was lost.
        inner_options: options for the inner backend.
    """

    # ``get_backend(name, **options)`` gives one instance per (name, options): its workers are
    # started once and serve every call that names it (``close()`` stops them; the next call
    # starts them again)
    shared_by_name = True

    def __init__(
        self,
        inner: str = "statevector",
        num_workers: int = 2,
        *,
        share_rows: int | None = None,
        max_retries: int = 3,
        inner_options: dict[str, Any] | None = None,
    ):
        if not isinstance(num_workers, int) or num_workers < 1:
            raise ValueError(f"num_workers must be a positive integer, got {num_workers!r}")
        if share_rows is not None and (not isinstance(share_rows, int) or share_rows < 1):
            raise ValueError(f"share_rows must be a positive integer or None, got {share_rows!r}")
        self.inner = inner
        self.inner_options = dict(inner_options or {})
        self.num_workers = num_workers
        self.share_rows = share_rows
        self.max_retries = max_retries
        # wire_s: wall time of the calls minus the workers' compute spread over the workers
        # (serialisation, transfer, queueing); compute_s: the workers' own seconds
        self.stats = {"shares": 0, "completed": 0, "retries": 0, "wire_s": 0.0, "compute_s": 0.0}
        probe = get_backend(inner, **self.inner_options)
        caps = probe.capabilities
        # results cross a process boundary, so autograd cannot see through them
        self.capabilities = replace(caps, diff_methods=caps.diff_methods - {"backprop"})
        self._supports_vjp = "adjoint" in caps.diff_methods
        self.stats["inner"] = probe.name
        self._probe = probe

    def diff_methods_for(self, task: Task) -> frozenset[str]:
        """What the inner backend can use for ``task`` (e.g. no adjoint for a dynamic circuit
        without a deferred-measurement form), less backprop."""
        return self._probe.diff_methods_for(task) & self.capabilities.diff_methods

    @abstractmethod
    def _run_shares(self, shares: list[dict[str, Any]]) -> list[tuple[torch.Tensor, float]]:
        """Run every share (:meth:`QuantumNode.run_timed`) and return the results in the same
        order."""

    def _timed_shares(self, shares: list[dict[str, Any]]) -> list[torch.Tensor]:
        t0 = time.perf_counter()
        parts = self._run_shares(shares)
        wall = time.perf_counter() - t0
        compute = sum(s for _, s in parts)
        self.stats["compute_s"] += compute
        self.stats["wire_s"] += max(0.0, wall - compute / max(1, min(self.num_workers, len(parts))))
        return [v for v, _ in parts]

    def close(self) -> None:
        """Release the workers (idempotent)."""

    def __enter__(self) -> ShardedBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ranges(self, n_rows: int) -> list[tuple[int, int]]:
        if self.share_rows is not None:
            return split_rows(n_rows, math.ceil(n_rows / self.share_rows))
        return split_rows(n_rows, 2 * self.num_workers)

    def _shares_of(self, task: Task, rows: int, cotangent: torch.Tensor | None) -> list[dict]:
        base = task_to_dict(task)
        theta = base.pop("theta")
        shares = []
        for i, (a, b) in enumerate(self._ranges(rows)):
            d = dict(base)
            d["theta"] = theta[a:b] if theta.shape[0] == rows else theta
            if d["seed"] is not None:
                d["seed"] = (d["seed"] + i) % 2**62
            if cotangent is not None:
                d["op"] = "vjp"
                cot = cotangent.detach()
                d["cotangent"] = cot[a:b] if cot.shape[0] == rows else cot
            shares.append(d)
        return shares

    def execute(self, tasks: Sequence[Task]) -> list[torch.Tensor]:
        out = []
        for task in tasks:
            shares = self._shares_of(task, task.theta.shape[0], None)
            self.stats["shares"] += len(shares)
            parts = self._timed_shares(shares)
            out.append(torch.cat([p.to(task.theta.device) for p in parts], dim=0))
        return out

    def vjp(self, task: Task, cotangent: torch.Tensor) -> torch.Tensor:
        if not self._supports_vjp:
            raise NotImplementedError(
                f"inner backend {self.inner!r} does not provide the adjoint method"
            )
        rows = max(task.theta.shape[0], cotangent.shape[0])
        shares = self._shares_of(task, rows, cotangent)
        self.stats["shares"] += len(shares)
        parts = self._timed_shares(shares)
        return torch.cat([p.to(task.theta.device) for p in parts], dim=0)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.num_workers} x {self.inner!r}>"


__all__ = ["QuantumNode", "ShardedBackend", "split_rows", "USER_ERRORS"]
