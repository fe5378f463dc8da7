"""One benchmark run (a framework on one case) in its own Python process.

The full suite runs every (framework, case) this way, with the thread variables set before Python
starts (so thread pinning holds for every library) and peak memory per run; a peer with a side
venv (TorchQuantum) always runs this way, with that venv's Python.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from hqml.bench.registry import BENCH_DIR, Workload, checkout_root
from hqml.bench.timing import subprocess_env


def envs_dir() -> Path | None:
    """The peers' side venvs (``benchmarks/.envs`` of the checkout, built by ``make
    bench-envs``); None outside a checkout."""
    root = checkout_root()
    return root / "benchmarks" / ".envs" if root is not None else None


def _package_path(tmp: str) -> str:
    """A folder holding only a link to this hqml package, for a side venv's ``PYTHONPATH``: it
    makes hqml importable there without putting the main venv's other packages ahead of the
    side venv's own (TorchQuantum's qiskit 0.46)."""
    folder = Path(tmp) / "hqml-path"
    if not folder.exists():
        folder.mkdir()
        (folder / "hqml").symlink_to(BENCH_DIR.parent, target_is_directory=True)
    return str(folder)


def device_env(device: str) -> dict[str, str]:
    """Environment variables of runs on ``device``: on ``cuda``, JAX allocates GPU memory as it
    goes instead of taking 75% of it up front (which would starve the torch runs after it)."""
    return {"XLA_PYTHON_CLIENT_PREALLOCATE": "false"} if device == "cuda" else {}


def unrun(
    wl: Workload, case: dict[str, Any], framework: str, why: str, device: str = "cpu"
) -> dict[str, Any]:
    """The result row of a run that did not happen, and why."""
    return {
        "workload": wl.name,
        "framework": framework,
        "case": dict(case),
        "label": wl.case_label(case),
        "device": device,
        "status": "skipped",
        "detail": why,
    }


def _python_for(venv: str | None) -> str | None:
    """The Python of a side venv (this one for ``None``); None when that venv is not built."""
    if venv is None:
        return sys.executable
    envs = envs_dir()
    exe = envs / venv / "bin" / "python" if envs is not None else None
    return str(exe) if exe is not None and exe.exists() else None


def run_isolated(
    wl: Workload,
    impl: Any,
    case: dict[str, Any],
    threads: int,
    repeats: int,
    timeout_s: float,
    max_seconds: float,
    reference: Path | None,
    save_values: Path | None,
    tmp: str,
    directory: Path,
    device: str = "cpu",
) -> dict[str, Any]:
    """Run ``impl`` on ``case`` in a worker process (``python -m hqml.bench.worker``): its result
    row, or a row saying why it did not run (skipped, not installed, timeout, error)."""
    reason = impl.skip_reason(case, device)
    if reason:  # known without starting a process (e.g. no GPU variant on cuda)
        return unrun(wl, case, impl.framework, reason, device)
    python = _python_for(impl.venv)
    if python is None:
        return {
            **unrun(wl, case, impl.framework, "", device),
            "status": "not installed",
            "detail": f"no venv benchmarks/.envs/{impl.venv}; build it with `make bench-envs`",
        }
    stem = Path(tmp) / f"{wl.name}-{impl.framework}-{abs(hash(json.dumps(case, sort_keys=True)))}"
    request = {
        "workload": wl.name,
        "framework": impl.framework,
        "case": case,
        "threads": threads,
        "repeats": repeats,
        "max_seconds": max_seconds,
        "device": device,
        "reference": str(reference) if reference else None,
        "save_values": str(save_values) if save_values else None,
        "directory": str(directory),
    }
    req, out = stem.with_suffix(".req.json"), stem.with_suffix(".out.json")
    req.write_text(json.dumps(request))
    env = subprocess_env(threads, device_env(device), {"PYTHONWARNINGS": "ignore"})
    if impl.venv is not None:
        env["PYTHONPATH"] = os.pathsep.join([_package_path(tmp), env.get("PYTHONPATH", "")])
    try:
        proc = subprocess.run(
            [python, "-m", "hqml.bench.worker", str(req), str(out)],
            env=env,
            cwd=tmp,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired:
        return {
            **unrun(wl, case, impl.framework, "", device),
            "status": "timeout",
            "detail": f"no result within {timeout_s:.0f} s",
        }
    if proc.returncode != 0 or not out.exists():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        return {
            **unrun(wl, case, impl.framework, "", device),
            "status": "error",
            "detail": f"worker exited {proc.returncode}: {tail[0][:300]}",
        }
    return json.loads(out.read_text())
