"""Timing, thread pinning, memory and bandwidth measurement. Standard library only at import
time (torch is imported inside functions), so side venvs can use it too.
"""

from __future__ import annotations

import os
import resource
import statistics
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

SLOW_RUN_S = 10.0  # runs longer than this may use fewer than MIN_REPEATS repeats
MIN_REPEATS = 10


OMP_WAIT_ENV = "HQML_BENCH_OMP_WAIT"  # the suite's OpenMP wait policy (``--omp-wait``)
OMP_WAIT_CHOICES = ("passive", "active", "default")


def omp_wait_policy(value: str | None = None) -> str:
    """The OpenMP wait policy the suite sets: ``value``, else ``$HQML_BENCH_OMP_WAIT``, else
    ``"passive"``. ``"default"`` leaves ``OMP_WAIT_POLICY`` unset (each runtime's own default:
    GNU OpenMP spins a while, then sleeps)."""
    v = (value if value is not None else os.environ.get(OMP_WAIT_ENV, "passive")).strip().lower()
    if v not in OMP_WAIT_CHOICES:
        raise ValueError(
            f"unknown OpenMP wait policy {v!r}; use one of {', '.join(OMP_WAIT_CHOICES)}"
        )
    return v


def thread_env(threads: int, omp_wait: str | None = None) -> dict[str, str]:
    """Environment variables that pin OpenMP/MKL/BLAS and XLA to ``threads`` threads.

    By default OpenMP threads also sleep instead of spinning between parallel regions
    (``OMP_WAIT_POLICY=PASSIVE``): on a machine shared with other work, spinning threads of
    OpenMP libraries (Lightning, Aer, Qulacs, torch) slowed small runs here by 10-100x. On a
    quiet machine that costs workloads made of many small parallel regions a thread wake-up
    per region (the MPS forward: 6x); ``omp_wait`` (or ``$HQML_BENCH_OMP_WAIT``) ``"default"``
    leaves the variable out, ``"active"`` makes threads spin. A process started with this
    environment must not inherit another ``OMP_WAIT_POLICY``: see :func:`subprocess_env`.
    """
    t = str(threads)
    env = {
        "OMP_NUM_THREADS": t,
        "MKL_NUM_THREADS": t,
        "OPENBLAS_NUM_THREADS": t,
        "NUMEXPR_NUM_THREADS": t,
        "VECLIB_MAXIMUM_THREADS": t,
        "RAYON_NUM_THREADS": t,
        "XLA_FLAGS": (
            f"--xla_cpu_multi_thread_eigen={'true' if threads > 1 else 'false'} "
            f"intra_op_parallelism_threads={t}"
        ),
        "TF_NUM_INTRAOP_THREADS": t,
        "TF_NUM_INTEROP_THREADS": "1",
    }
    policy = omp_wait_policy(omp_wait)
    if policy != "default":
        env["OMP_WAIT_POLICY"] = policy.upper()
    return env


def subprocess_env(threads: int, *extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment with :func:`thread_env` and ``extra`` on top, for a child
    process; with the ``"default"`` wait policy an inherited ``OMP_WAIT_POLICY`` is removed."""
    env = {**os.environ, **thread_env(threads)}
    for e in extra:
        env.update(e)
    if omp_wait_policy() == "default":
        env.pop("OMP_WAIT_POLICY", None)
    return env


def pin_threads(threads: int) -> None:
    """Pin this process: set the thread variables (read by libraries loaded later) and torch's
    pools when torch is already loaded."""
    os.environ.update(thread_env(threads))
    if omp_wait_policy() == "default":
        os.environ.pop("OMP_WAIT_POLICY", None)
    import sys

    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)


@contextmanager
def pinned_threads(threads: int, env: Mapping[str, str] | None = None) -> Iterator[None]:
    """:func:`pin_threads` (and set the variables in ``env``) for the duration of a block, then
    restore the variables and torch's thread count (so an in-process run leaves its host, e.g.
    a test session, as it was)."""
    import sys

    extra = dict(env or {})
    keys = {**thread_env(threads, extra.get(OMP_WAIT_ENV)), **extra, "OMP_WAIT_POLICY": ""}
    saved = {k: os.environ.get(k) for k in keys}
    torch = sys.modules.get("torch")
    torch_threads = torch.get_num_threads() if torch is not None else None
    os.environ.update(extra)
    pin_threads(threads)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if torch_threads is not None:
            torch.set_num_threads(torch_threads)


def rss_mb() -> float:
    """Current resident set size of this process in MiB (Linux; 0.0 elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Timing:
    """Result of :func:`time_step` (seconds)."""

    first_call_s: float
    median_s: float
    min_s: float
    max_s: float
    repeats: int
    warmup: int
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def time_step(
    step: Callable[[], Any],
    *,
    first_call_s: float,
    repeats: int = MIN_REPEATS,
    max_seconds: float = 120.0,
    min_repeats: int = 3,
    sync: Callable[[], Any] | None = None,
) -> Timing:
    """Warm up ``step`` and time ``repeats`` calls.

    One warm-up call follows the first call (already made by the caller and passed in as
    ``first_call_s``); calls faster than 50 ms get a second warm-up. When one call takes longer
    than :data:`SLOW_RUN_S` the first call is the only warm-up and the repeat count drops so the
    case fits ``max_seconds`` (never below ``min_repeats``); ``note`` says so.

    ``sync`` (e.g. ``torch.cuda.synchronize``) is called after every call, inside its timed
    interval, so work queued on a GPU counts towards the step that queued it.
    """
    if sync is not None:
        inner = step

        def step() -> Any:
            out = inner()
            sync()
            return out

    warm, warmup = first_call_s, 0
    if first_call_s <= SLOW_RUN_S:
        t0 = time.perf_counter()
        step()
        warm, warmup = time.perf_counter() - t0, 1
        if warm < 0.05:
            step()
            warmup = 2
    note = ""
    if warm > SLOW_RUN_S and repeats * warm > max_seconds:
        repeats = max(min_repeats, int(max_seconds // warm))
        note = f"{repeats} repeats (one run > {SLOW_RUN_S:.0f} s)"
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return Timing(
        first_call_s, statistics.median(times), min(times), max(times), repeats, warmup, note
    )


def memory_bandwidth(
    threads: int = 2, mib: int = 512, repeats: int = 5, device: str = "cpu"
) -> dict[str, float]:
    """Sustained memory bandwidth in GB/s from a large copy and a STREAM triad (torch, float64),
    of the host memory (``device="cpu"``) or of the GPU's (``"cuda"``, synchronised).

    A copy moves 2 bytes per byte of the array (read + write), a triad ``a = b + s*c`` 3.

    Returns:
        ``{"copy_gbs", "triad_gbs", "best_gbs", "array_mib"}``.
    """
    import torch

    torch.set_num_threads(threads)
    n = mib * 2**20 // 8
    a = torch.zeros(n, dtype=torch.float64, device=device)
    b = torch.rand(n, dtype=torch.float64, device=device)
    c = torch.rand(n, dtype=torch.float64, device=device)
    nbytes = n * 8
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def best(fn: Callable[[], Any], moved: int) -> float:
        fn()
        sync()
        t = min(_timed(lambda: (fn(), sync())) for _ in range(repeats))
        return moved / t / 1e9

    copy = best(lambda: a.copy_(b), 2 * nbytes)
    triad = best(lambda: torch.add(b, c, alpha=1.5, out=a), 3 * nbytes)
    return {
        "copy_gbs": copy,
        "triad_gbs": triad,
        "best_gbs": max(copy, triad),
        "array_mib": float(mib),
    }


def _timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0
