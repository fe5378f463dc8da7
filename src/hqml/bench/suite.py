"""Run the workloads: hqml first (the agreement reference), then every peer, per case.

The full suite runs each (framework, case) in its own subprocess with the thread variables set
before Python starts, so thread pinning holds for every library and peak memory is per run;
TorchQuantum runs in its side venv the same way. The quick suite runs in-process (except side
venvs) so the smoke test takes seconds.

``device="cuda"`` runs the same workloads on the GPU: hqml and torch with CUDA tensors, each
peer's GPU variant where it has one and it is installed, every other peer skipped with the
reason (see ``benchmarks/devices.py``). The device is checked before any work starts.
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hqml.bench.bound import l2_bytes
from hqml.bench.devices import check_device, gpu_name
from hqml.bench.isolated import device_env, run_isolated
from hqml.bench.peers import NOT_IN_SUITE
from hqml.bench.registry import BENCH_DIR, Workload, discover
from hqml.bench.timing import OMP_WAIT_ENV, memory_bandwidth, omp_wait_policy, pinned_threads
from hqml.bench.worker import run_one
from hqml.provenance import environment
from hqml.sim import native


def select(
    workloads: Sequence[str] | None = None,
    qubits: Sequence[int] | None = None,
    quick: bool = False,
    problems: dict[str, str] | None = None,
    directory: Path = BENCH_DIR,
) -> list[tuple[Workload, list[dict[str, Any]]]]:
    """The workloads and cases to run.

    Args:
        workloads: names (``"W1"``, case-insensitive); ``None`` for all discovered.
        qubits: keep only cases whose ``n`` is in this list; ``None`` keeps all.
        quick: use each workload's tiny ``quick_cases``.
        problems: receives plug-in files that could not be used (see ``discover``).
        directory: where the workload modules are.

    Raises:
        ValueError: an unknown workload name, or qubit counts matching no case.
    """
    found = discover(directory, problems=problems)
    names = list(found) if not workloads else [w.upper() for w in workloads]
    unknown = [w for w in names if w not in found]
    if unknown:
        raise ValueError(f"unknown workload(s) {', '.join(unknown)}; available: {', '.join(found)}")
    plan = []
    for name in names:
        wl = found[name]
        cases = wl.quick_cases if quick else wl.cases
        if qubits:
            cases = [c for c in cases if c.get(wl.size_key) in set(qubits)]
        if cases:
            plan.append((wl, cases))
    if not plan:
        raise ValueError(
            f"no case has {list(qubits or [])} qubits in {', '.join(names)}; pass"
            " sizes the workloads define (see docs/benchmarks.md) or drop --qubits"
        )
    return plan


def run_suite(
    workloads: Sequence[str] | None = None,
    qubits: Sequence[int] | None = None,
    *,
    quick: bool = False,
    frameworks: Sequence[str] | None = None,
    threads: int = 2,
    repeats: int | None = None,
    isolate: bool | None = None,
    timeout_s: float = 300.0,
    max_seconds: float = 40.0,
    bandwidth: bool = True,
    directory: Path = BENCH_DIR,
    progress: Callable[[dict[str, Any]], None] | None = None,
    device: str = "cpu",
    omp_wait: str | None = None,
) -> dict[str, Any]:
    """Run the selected workloads and return the results document (what goes to JSON).

    Args:
        workloads: workload names, ``None`` for all.
        qubits: restrict cases to these qubit counts.
        quick: tiny sizes (and 3 repeats unless ``repeats`` is given).
        frameworks: restrict to these frameworks (hqml always runs: it is the reference; so do
            its variants, e.g. ``hqml-forward``).
        threads: threads every framework is pinned to.
        repeats: timed calls per run after warm-up (default 10, 3 with ``quick``).
        isolate: one subprocess per run (default: True for the full suite, False for quick).
        timeout_s: per-run limit for subprocess runs.
        max_seconds: timing budget per run when one call exceeds 10 s.
        bandwidth: measure the memory bandwidth (for W2's bound).
        directory: where the workload modules are (default: this package's, with the plug-in
            folders).
        progress: called with each result as it arrives.
        device: ``"cpu"`` or ``"cuda"``; recorded in the document and in every result.
        omp_wait: OpenMP wait policy of every run: ``"passive"`` (threads sleep between parallel
            regions; the default, for shared machines), ``"default"`` (each runtime's own) or
            ``"active"``; recorded in the document (``omp_wait_policy``).

    Raises:
        ValueError: an unknown device, ``cuda`` without a CUDA build of torch and a visible
            GPU, or a selection matching nothing (all before any run starts).
    """
    device = check_device(device)
    policy = omp_wait_policy(omp_wait)
    isolate = (not quick) if isolate is None else isolate
    repeats = repeats or (3 if quick else 10)
    with pinned_threads(threads, {**device_env(device), OMP_WAIT_ENV: policy}):
        return _run(
            workloads,
            qubits,
            quick,
            frameworks,
            threads,
            repeats,
            isolate,
            timeout_s,
            max_seconds,
            bandwidth,
            directory,
            progress,
            device,
        )


@dataclass(frozen=True)
class _Settings:
    """How every run of a suite is made (``run_suite``'s arguments, defaults resolved)."""

    threads: int
    repeats: int
    isolate: bool
    timeout_s: float
    max_seconds: float
    directory: Path
    device: str


def _run(
    workloads: Sequence[str] | None,
    qubits: Sequence[int] | None,
    quick: bool,
    frameworks: Sequence[str] | None,
    threads: int,
    repeats: int,
    isolate: bool,
    timeout_s: float,
    max_seconds: float,
    bandwidth: bool,
    directory: Path,
    progress: Callable[[dict[str, Any]], None] | None,
    device: str,
) -> dict[str, Any]:
    problems: dict[str, str] = {}
    plan = select(workloads, qubits, quick, problems, directory)
    known = sorted({i.framework for wl, _ in plan for i in wl.impls})
    unknown = [f for f in frameworks or () if f not in known]
    if unknown:
        raise ValueError(
            f"unknown framework(s) {', '.join(unknown)}; available: {', '.join(known)}"
        )
    settings = _Settings(threads, repeats, isolate, timeout_s, max_seconds, directory, device)
    results: list[dict[str, Any]] = []
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="hqml-bench-") as tmp:
        for wl, cases in plan:
            impls = [
                i
                for i in wl.impls
                if i.framework.startswith("hqml") or not frameworks or i.framework in frameworks
            ]
            impls.sort(key=lambda i: not i.framework.startswith("hqml"))  # hqml's own first
            for ci, case in enumerate(cases):
                ref_path = Path(tmp) / f"{wl.name}-{ci}-ref.npz"
                results += _run_case(wl, impls, case, ref_path, tmp, settings, progress)
    doc: dict[str, Any] = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "quick": quick,
        "device": device,
        "gpu": gpu_name() if device == "cuda" else None,
        "threads": threads,
        "omp_wait_policy": omp_wait_policy(),
        "isolated": isolate,
        "repeats": repeats,
        "wall_s": time.time() - started,
        "machine": machine_info(device),
        # hqml version and commit, machine, library versions; each result has its data's hash
        "provenance": environment(),
        "workloads": {
            wl.name: {
                "title": wl.title,
                "size_key": wl.size_key,
                "cases": [wl.case_label(c) for c in cases],
                "notes": wl.notes,
            }
            for wl, cases in plan
        },
        "plugin_problems": problems,
        "peers_not_in_suite": dict(NOT_IN_SUITE),
        "results": results,
    }
    if bandwidth:
        doc["bandwidth"] = memory_bandwidth(threads, mib=64 if quick else 512, device=device)
        doc["bandwidth"]["device"] = device
    return doc


def _run_case(
    wl: Workload,
    impls: list[Any],
    case: dict[str, Any],
    ref_path: Path,
    tmp: str,
    s: _Settings,
    progress: Callable[[dict[str, Any]], None] | None,
) -> list[dict[str, Any]]:
    """Every framework on one case, hqml first: the result rows, each checked against the
    reference values of the first framework that ran (hqml, unless it failed)."""
    results = []
    reference: dict[str, np.ndarray] | None = None
    ref_name = ""
    for impl in impls:
        # hqml is the reference; if it fails, the first peer that runs takes over
        # so the others are still checked against someone (and the table says so)
        is_ref = reference is None
        res, reference = _run_impl(wl, impl, case, ref_path, reference, tmp, s)
        if is_ref and reference is not None:
            ref_name = impl.framework
            if ref_name != "hqml":
                res["detail"] = "agreement reference (hqml did not run)"
        elif reference is not None and ref_name != "hqml" and res["status"] == "ok":
            res["detail"] = f"checked against {ref_name}; {res['detail']}"
        results.append(res)
        if progress:
            progress(res)
    return results


def _run_impl(
    wl: Workload,
    impl: Any,
    case: dict[str, Any],
    ref_path: Path,
    reference: dict[str, np.ndarray] | None,
    tmp: str,
    s: _Settings,
) -> tuple[dict[str, Any], dict[str, np.ndarray] | None]:
    """One framework on one case (in its own process or in this one): its result row and the
    reference values (this run's, saved to ``ref_path``, when there were none yet)."""
    is_ref = reference is None
    if s.isolate or impl.venv:
        res = run_isolated(
            wl,
            impl,
            case,
            s.threads,
            s.repeats,
            s.timeout_s,
            s.max_seconds,
            None if is_ref else ref_path,
            ref_path if is_ref else None,
            tmp,
            s.directory,
            s.device,
        )
        if is_ref and res["status"] == "ok":
            with np.load(ref_path) as f:
                reference = {k: f[k] for k in f.files}
        return res, reference
    res, values = run_one(
        wl.name,
        impl.framework,
        case,
        threads=s.threads,
        repeats=s.repeats,
        reference=reference,
        max_seconds=s.max_seconds,
        directory=s.directory,
        device=s.device,
    )
    if is_ref and res["status"] == "ok" and values is not None:
        reference = values
        np.savez(ref_path, **reference)
    return res, reference


def machine_info(device: str = "cpu") -> dict[str, Any]:
    """Python, platform, CPU, load average, torch; on ``cuda`` also the GPU and CUDA version."""
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "l2_bytes": l2_bytes(),  # the bandwidth bound's tile size (hqml/bench/bound.py)
    }
    if hasattr(os, "getloadavg"):  # other work on the machine skews timings: record it
        info["load_average_1m_5m_15m"] = list(os.getloadavg())
    info.update(cpu_info())
    try:
        import torch

        info["torch"] = torch.__version__
        if device == "cuda" and torch.cuda.is_available():
            props = torch.cuda.get_device_properties(torch.cuda.current_device())
            info.update(
                gpu=torch.cuda.get_device_name(),
                cuda=torch.version.cuda,
                gpu_memory_gib=props.total_memory / 2**30,
            )
    except ImportError:
        pass
    return info


def cpu_info() -> dict[str, Any]:
    """The CPU model, its SIMD instruction-set flags, and the build of hqml's native kernels
    that runs (ISA, vector width; the reason where none does): timings depend on all three."""
    kernels = native.describe()
    keep = ("available", "isa", "vector_bytes", "lanes", "variant", "beats_torch", "reason")
    return {
        "cpu": kernels["cpu"],
        "cpu_simd": kernels["cpu_simd"],
        "native_kernels": {k: v for k, v in kernels.items() if k in keep},
    }
