"""What a scale point measures besides accuracy: peak memory, energy, the time split of an
epoch and gradient variance during training (trainer callbacks)."""

from __future__ import annotations

import re
import resource
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ...backends.registry import get_backend
from ...nn.layer import QuantumLayer
from ...runtime.client import RemoteBackend
from ...runtime.sharding import ShardedBackend
from ..callbacks import Callback, TrainContext
from ..device import model_device
from ..timing import TimedBackend

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")
RAPL = Path("/sys/class/powercap")


class PeakMemory:
    """Peak resident memory of this process over a span: ``VmHWM`` reset at the start through
    ``/proc/self/clear_refs`` (Linux); elsewhere the peak since the process started
    (``getrusage``), reported as such. On a CUDA ``device`` also the peak of torch's
    allocations there (``torch.cuda.max_memory_allocated``, reset at the start); elsewhere
    ``peak_gpu_bytes`` is ``None`` (no GPU used)."""

    def __init__(self, device: torch.device | None = None) -> None:
        self.method = "getrusage: peak since the process started"
        try:
            _CLEAR_REFS.write_text("5")
            self.method = "VmHWM, reset at the start of the point"
        except OSError:
            pass
        self.device = device if device is not None else torch.device("cpu")
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)

    def read(self, workers: Sequence[Any] = (), worker_rss: int | None = None) -> dict[str, Any]:
        """The peaks; ``workers``: the backends with worker processes, whose memory this
        process's peak does not hold (the method says so); ``worker_rss``: their peaks
        (:func:`worker_peak_rss`), when known."""
        rss = None
        try:
            for line in _STATUS.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    rss = int(line.split()[1]) * 1024
        except OSError:
            pass
        if rss is None:
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        cuda = self.device.type == "cuda"
        gpu = torch.cuda.max_memory_allocated(self.device) if cuda else None
        method = self.method
        if workers:
            method += (
                "; this process only (the backend's worker processes not included)"
                if worker_rss is None
                else "; this process only, the backend's workers' peaks (VmHWM, summed; Ray"
                " actors read in their own processes) in peak_worker_rss_bytes"
            )
        out = {
            "peak_rss_bytes": rss,
            "peak_gpu_bytes": gpu,
            "device": str(self.device),
            "method": method + ("; GPU: torch.cuda.max_memory_allocated" if cuda else ""),
        }
        if worker_rss is not None:
            out["peak_worker_rss_bytes"] = worker_rss
        return out


def worker_peak_rss(backends: Sequence[TimedBackend]) -> int | None:
    """The summed peak resident memory (``VmHWM``) of the worker processes of the process-pool
    and Ray backends among ``backends`` (read before they close; their workers start with the
    model, so the peak is this model's): a pool's workers read through ``/proc/PID``, Ray's
    actors each in its own process (:meth:`~hqml.runtime.executors.RayBackend.worker_peak_rss`,
    wherever it runs). ``None`` when there are none or one cannot be read."""
    total, seen = 0, False
    for b in backends:
        in_worker = getattr(b.inner, "worker_peak_rss", None)
        if in_worker is not None:
            peak = in_worker()
            if peak is None:
                return None
            total, seen = total + peak, True
            continue
        pids = getattr(b.inner, "worker_pids", None)
        for pid in pids() if pids else []:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1]) * 1024
                        seen = True
            except OSError:
                return None
    return total if seen else None


def _rapl_files() -> list[tuple[Path, int]]:
    """The package zones' energy counters: ``intel-rapl:N`` named ``package-N``. Their
    sub-zones (``intel-rapl:N:M``: core, uncore, dram) are parts of a package and a ``psys``
    zone holds the packages: counting those too would count the same joules twice."""
    out = []
    for d in sorted(RAPL.glob("*rapl*")):
        if not re.fullmatch(r"[a-z-]*rapl:\d+", d.name):
            continue  # a sub-zone
        try:
            if not (d / "name").read_text().strip().startswith("package"):
                continue
            int((d / "energy_uj").read_text())
            top = int((d / "max_energy_range_uj").read_text())
            out.append((d / "energy_uj", top))
        except (OSError, ValueError):
            continue
    return out


class EnergyMeter:
    """Energy of a span: RAPL package counters when readable (the whole package, every process
    on it), else an estimate, CPU seconds x ``watts_per_core``: this process's CPU seconds plus
    the compute seconds of the backends' worker processes (process-pool and Ray backends, from
    ``stats["compute_s"]``; a remote service's work is off this machine and not included, and
    the label says so). ``concurrent``: other points run at the same time (their work is in
    the RAPL counters too; the label says so)."""

    def __init__(
        self,
        watts_per_core: float,
        backends: Sequence[TimedBackend] = (),
        concurrent: bool = False,
    ):
        self.watts = watts_per_core
        self.files = _rapl_files()
        self.workers = [b for b in backends if isinstance(b.inner, ShardedBackend)]
        remote = any(isinstance(b.inner, RemoteBackend) for b in backends)
        if self.files:
            self.method = "rapl (package counters, all processes)"
            if concurrent:
                self.method += (
                    "; points ran concurrently, so each point's figure includes the others'"
                    " (workers = 1 gives per-point energy)"
                )
        else:
            who = "this process" + (" and the backend's workers" if self.workers else "")
            self.method = f"estimate: CPU seconds of {who} x {watts_per_core:g} W per core"
        if remote:
            self.method += "; the remote service's own work is not included"

    def _read(self) -> Any:
        if self.files:
            return [int(f.read_text()) for f, _ in self.files]
        workers = sum(float(b.inner.stats.get("compute_s", 0.0)) for b in self.workers)
        return time.process_time() + workers

    def start(self) -> Any:
        return self._read()

    def joules(self, start: Any) -> float:
        now = self._read()
        if self.files:
            return sum(
                ((b - a) % (top + 1)) / 1e6  # the counter wraps from top to 0
                for a, b, (_, top) in zip(start, now, self.files, strict=True)
            )
        return (now - start) * self.watts


def timed_backends(model: nn.Module) -> list[TimedBackend]:
    """Wrap every quantum layer's backend in a :class:`TimedBackend` (one per distinct
    backend), so the epoch's quantum time splits into simulation, encoding and communication.
    Call after the model moved to its device (a GPU's calls are timed to their end)."""
    device = model_device(model)
    wrapped: dict[Any, TimedBackend] = {}
    for m in model.modules():
        if isinstance(m, QuantumLayer):
            key = m.backend if isinstance(m.backend, str) else id(m.backend)
            if key not in wrapped:
                wrapped[key] = TimedBackend(get_backend(m.backend), device)
            m.backend = wrapped[key]
    return list(wrapped.values())


class EpochMeter(Callback):
    """Per epoch: backend seconds, wire seconds and energy of the training part (evaluation on
    the test split excluded), recorded in ``rows``."""

    def __init__(self, backends: list[TimedBackend], energy: EnergyMeter):
        self.backends, self.energy = backends, energy
        self.rows: list[dict[str, float]] = []
        self._start: tuple[float, float, float, Any] = (0.0, 0.0, 0.0, None)

    def _totals(self) -> tuple[float, float, float]:
        return (
            sum(b.seconds for b in self.backends),
            sum(b.wire_seconds for b in self.backends),
            sum(b.unsplit_seconds for b in self.backends),
        )

    def on_epoch_begin(self, ctx: TrainContext, epoch: int) -> None:
        self._start = (*self._totals(), self.energy.start())

    def before_evaluate(self, ctx: TrainContext, epoch: int) -> None:
        backend, wire, unsplit = self._totals()
        self.rows.append(
            {
                "backend_s": backend - self._start[0],
                "wire_s": wire - self._start[1],
                "unsplit_s": unsplit - self._start[2],
                "energy_j": self.energy.joules(self._start[3]),
            }
        )


def parameter_groups(model: nn.Module) -> dict[str, list[nn.Parameter]]:
    """Trainable parameters grouped as ``quantum`` (inside quantum layers) and ``classical``."""
    quantum = {
        id(p) for m in model.modules() if isinstance(m, QuantumLayer) for p in m.parameters()
    }
    groups: dict[str, list[nn.Parameter]] = {"quantum": [], "classical": []}
    for p in model.parameters():
        if p.requires_grad:
            groups["quantum" if id(p) in quantum else "classical"].append(p)
    return {k: v for k, v in groups.items() if v}


class GradientTracker(Callback):
    """Variance of each parameter's gradient across the training steps of an epoch, averaged
    over the parameters of each group (``quantum``, ``classical``): ``rows[epoch][group]``.
    Entries a schedule froze or pruned (:meth:`TrainContext.freeze`) are left out: their zero
    gradients say nothing about trainability. A group whose size changed within an epoch (a
    schedule grew the circuit) is measured on its steps at the epoch's first size."""

    def __init__(self) -> None:
        self.rows: list[dict[str, float]] = []
        self._sum: dict[str, torch.Tensor] = {}
        self._sq: dict[str, torch.Tensor] = {}
        self._n: dict[str, int] = {}

    def on_epoch_begin(self, ctx: TrainContext, epoch: int) -> None:
        self._sum, self._sq, self._n = {}, {}, {}

    @staticmethod
    def _trained(ctx: TrainContext, p: nn.Parameter) -> torch.Tensor:
        g = (p.grad if p.grad is not None else torch.zeros_like(p)).detach().double()
        mask = ctx.frozen_mask(p)
        return g[~mask] if mask is not None else g.flatten()

    def after_backward(self, ctx: TrainContext) -> None:
        for name, params in parameter_groups(ctx.model).items():
            g = torch.cat([self._trained(ctx, p) for p in params])
            if name in self._sum and self._sum[name].shape != g.shape:
                continue  # the model changed shape in this epoch (a schedule): skip the step
            self._sum[name] = self._sum.get(name, 0) + g
            self._sq[name] = self._sq.get(name, 0) + g * g
            self._n[name] = self._n.get(name, 0) + 1

    def before_evaluate(self, ctx: TrainContext, epoch: int) -> None:
        row = {}
        for name, n in self._n.items():
            if n >= 2 and self._sum[name].numel():
                mean = self._sum[name] / n
                var = (self._sq[name] / n - mean * mean) * n / (n - 1)
                row[name] = float(var.clamp_min(0).mean())
        self.rows.append(row)
