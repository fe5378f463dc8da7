"""Run one (workload, framework, case): set up, check agreement, time, measure memory.

Used in-process by the quick suite and as a subprocess per run by the full suite, so each run's
peak memory is its own and thread settings are in place before any framework is imported::

    python -m hqml.bench.worker REQUEST.json RESULT.json

The request holds ``workload``, ``framework``, ``case``, ``threads``, ``repeats``, ``device``
(``"cpu"`` or ``"cuda"``; default ``"cpu"``), optionally ``reference`` (an ``.npz`` of the
reference values) and ``save_values`` (where to write this run's values as ``.npz``). The
result is one JSON object (see :func:`run_one`).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

from hqml.bench.devices import cuda_synchronizer
from hqml.bench.registry import BENCH_DIR, compare, data_sha256, discover
from hqml.bench.timing import peak_rss_mb, pin_threads, rss_mb, time_step
from hqml.bench.tq_compat import import_torchquantum


def run_one(
    workload: str,
    framework: str,
    case: dict[str, Any],
    *,
    threads: int = 2,
    repeats: int = 10,
    reference: dict[str, Any] | None = None,
    max_seconds: float = 120.0,
    directory: Path | None = None,
    device: str = "cpu",
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Set up and time one implementation.

    On ``cuda`` the implementation runs its GPU variant, or is skipped with the reason when it
    has none or the variant is not usable here (``Impl.skip_reason``, ``Impl.gpu_problem``);
    every timed call (the first included) ends with a CUDA synchronisation when torch has used
    the GPU, and the peak memory of a variant that allocates through torch is
    ``torch.cuda.max_memory_allocated`` over the set-up and the calls (the host's resident set
    otherwise, as on ``cpu``; ``result["memory"]`` says which).

    Args:
        workload: workload name, e.g. ``"W1"``.
        framework: implementation name, e.g. ``"pennylane"``.
        case: the case dict.
        threads: torch's thread count (the caller pins the other libraries, see
            ``timing.pin_threads``).
        repeats: timed calls after the warm-up (fewer only for calls over 10 s).
        reference: values to agree with before timing; ``None`` times without a check.
        max_seconds: time budget per case for slow (> 10 s per call) runs.
        directory: where the workload modules are (default: the package's, with the plug-in
            folders).
        device: ``"cpu"`` or ``"cuda"`` (the caller has checked that CUDA is there).

    Returns:
        ``(result, values)``: ``result["status"]`` is ``"ok"``, ``"not installed"``,
        ``"skipped"``, ``"disagrees"`` or ``"error"``; ``values`` the run's outputs (or None).
    """
    # Peers' warnings and chatter (deprecations, "optax not installed", ...) are about the peers,
    # not the benchmark: they go into the result (``warnings``), not onto the user's terminal.
    with (
        warnings.catch_warnings(record=True) as caught,
        contextlib.redirect_stderr(io.StringIO()) as err,
    ):
        warnings.simplefilter("always")
        result, values = _run_one(
            workload, framework, case, threads, repeats, reference, max_seconds, directory, device
        )
    notes = [f"{w.category.__name__}: {w.message}" for w in caught]
    notes += [line for line in err.getvalue().splitlines() if line.strip()]
    if notes:
        result["warnings"] = list(dict.fromkeys(n[:300] for n in notes))
    return result, values


def _run_one(
    workload: str,
    framework: str,
    case: dict[str, Any],
    threads: int,
    repeats: int,
    reference: dict[str, Any] | None,
    max_seconds: float,
    directory: Path | None,
    device: str,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    wl = discover(directory or BENCH_DIR)[workload]
    impl = wl.impl(framework)
    result: dict[str, Any] = {
        "workload": workload,
        "framework": framework,
        "case": dict(case),
        "label": wl.case_label(case),
        "device": device,
        "status": "ok",
        "detail": "",
    }
    if impl.outputs is not None:  # a partial run (e.g. forward only): the report says so
        result["outputs"] = list(impl.outputs)
    reason = impl.skip_reason(case, device)
    if reason:
        result.update(status="skipped", detail=reason)
        return result, None
    missing = _missing(impl)
    if missing:
        result.update(status="not installed", detail=missing)
        return result, None
    if device == "cuda":
        reason = impl.gpu_problem()
        if reason:
            result.update(status="skipped", detail=reason)
            return result, None
        result["gpu_variant"] = impl.gpu.variant if impl.gpu is not None else None
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    sync = cuda_synchronizer() if device == "cuda" else None
    gpu_memory = device == "cuda" and impl.gpu is not None and impl.gpu.torch_memory
    base = _cuda_memory_baseline() if gpu_memory else rss_mb()
    try:
        result["data_sha256"] = data_sha256(data := wl.make_data(case))  # same for every peer
        t0 = time.perf_counter()
        prepared = impl.prepare(case, data, device)
        out = prepared.step()
        if sync is not None:
            sync()
        first = time.perf_counter() - t0
        values = {k: _numpy(v) for k, v in prepared.values(out).items()}
        result["info"] = prepared.info
        if reference is not None:
            tolerances = wl.tolerances(case) if wl.tolerances else None
            ok, detail = compare(values, reference, impl.outputs, tolerances, wl.within_se)
            result["detail"] = detail
            if not ok:
                result["status"] = "disagrees"
                return result, values
        timing = time_step(
            prepared.step, first_call_s=first, repeats=repeats, max_seconds=max_seconds, sync=sync
        )
    except Exception as e:  # a peer's failure is a result to report, not a crash of the suite
        result.update(status="error", detail=f"{type(e).__name__}: {e}".splitlines()[0][:300])
        result["traceback"] = traceback.format_exc(limit=6)
        return result, None
    result.update(timing.to_dict())
    if prepared.counts is not None:
        result["per_step"] = prepared.counts()
    if gpu_memory:
        import torch

        result["peak_mb"] = max(0.0, torch.cuda.max_memory_allocated() / 2**20 - base)
        result["memory"] = "cuda max_memory_allocated"
    else:
        result["peak_mb"] = max(0.0, peak_rss_mb() - base)
        result["memory"] = "rss"
    result["peak_rss_mb"] = peak_rss_mb()
    return result, values


def _missing(impl: Any) -> str | None:
    """Import the implementation's modules; the first that fails, why, and how to install it
    (``Impl.install``), or None when all import."""
    for module in impl.modules:
        try:
            if module == "torchquantum":
                import_torchquantum()
            else:
                importlib.import_module(module)
        except ImportError as e:
            return f"{module}: {e}" + (f"; {impl.install}" if impl.install else "")
    return None


def _cuda_memory_baseline() -> float:
    """Reset torch's CUDA peak statistics; return the memory allocated now, in MiB (what the run
    adds on top of it is its peak)."""
    import torch

    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    return torch.cuda.memory_allocated() / 2**20


def _numpy(value: Any) -> Any:
    import numpy as np

    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def main(argv: list[str]) -> int:
    import numpy as np

    request = json.loads(Path(argv[0]).read_text())
    pin_threads(request.get("threads", 2))
    reference = None
    if request.get("reference"):
        with np.load(request["reference"]) as f:
            reference = {k: f[k] for k in f.files}
    result, values = run_one(
        request["workload"],
        request["framework"],
        request["case"],
        threads=request.get("threads", 2),
        repeats=request.get("repeats", 10),
        reference=reference,
        max_seconds=request.get("max_seconds", 120.0),
        directory=Path(request.get("directory") or BENCH_DIR),
        device=request.get("device", "cpu"),
    )
    if values is not None and request.get("save_values"):
        np.savez(request["save_values"], **values)
    Path(argv[1]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
