"""Provenance of a result: what produced it, on what, from which data.

:func:`provenance` gathers hqml's version and git commit (when run from a checkout), the
dataset's name and content hash, the seeds, the backend with its options, dtype, diff method,
noise and mitigation settings, the machine (CPU model, cores, GPU) and library versions, as one
JSON-ready dict; :func:`mlflow_tags` flattens it into MLflow tags. ``hqml run``, ``hqml scale``
and ``hqml study`` write it into their results.json, ``hqml bench`` into its results (with each
result's data hash), and the kernel estimators (``QSVC``, ``QSVR``, ``QuantumKernelRidge``)
keep it as ``provenance_`` after ``fit``.
"""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import subprocess
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch

LIBRARIES = (
    "torch",
    "numpy",
    "scipy",
    "scikit-learn",
    "matplotlib",
    "pydantic",
    "qiskit",
    "qiskit-aer",
    "pennylane",
    "mlflow",
    "ray",
)


def _as_bytes(a: Any) -> bytes:
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    arr = np.ascontiguousarray(np.asarray(a))
    return str(arr.dtype).encode() + str(arr.shape).encode() + arr.tobytes()


def dataset_fingerprint(name: str, arrays: Iterable[Any]) -> dict[str, Any]:
    """``{"name", "sha256", "shapes"}``: a SHA-256 over the arrays' dtypes, shapes and bytes
    (train and test, features and labels), so two runs on the same data carry the same hash.

    >>> dataset_fingerprint("toy", [np.zeros(2)])["sha256"][:12]
    '57b9c6ee60ee'
    """
    h = hashlib.sha256()
    shapes = []
    for a in arrays:
        h.update(_as_bytes(a))
        shapes.append(list(np.shape(a)))
    return {"name": name, "sha256": h.hexdigest(), "shapes": shapes}


@functools.lru_cache(maxsize=1)
def git_commit() -> dict[str, Any] | None:
    """The commit of the checkout hqml runs from and whether it has local changes, or ``None``
    when hqml is not run from a git checkout (an installed wheel)."""
    here = Path(__file__).resolve().parent
    try:
        top = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        if not (Path(top) / "src" / "hqml").is_dir():
            return None  # hqml installed inside some other repository
        sha = subprocess.run(
            ["git", "-C", top, "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", top, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": sha, "dirty": bool(dirty)}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@functools.lru_cache(maxsize=1)
def machine() -> dict[str, Any]:
    """CPU model, logical cores (and those this process may use), GPU names, OS."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    gpus = (
        [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        if torch.cuda.is_available()
        else []
    )
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "gpus": gpus,
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries results depend on (absent ones left out)."""
    out = {}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def hqml_version() -> str:
    try:
        return metadata.version("hqml")
    except metadata.PackageNotFoundError:
        from_init = Path(__file__).with_name("__init__.py").read_text()
        for line in from_init.splitlines():
            if line.startswith("__version__"):
                return line.split("=", 1)[1].strip().strip("\"'")
        return "unknown"


def environment() -> dict[str, Any]:
    """The software and machine part of a provenance record: hqml's version and git commit,
    the machine, library versions and torch's thread count (for results that have no dataset
    or backend of their own, such as a benchmark suite's)."""
    return {
        "hqml_version": hqml_version(),
        "git": git_commit(),
        "torch_threads": torch.get_num_threads(),
        "machine": machine(),
        "libraries": library_versions(),
    }


def describe_noise(noise_model: Any) -> Any:
    """A JSON-ready description of a noise model: ``None``, a dict as given, or an
    ``hqml.noise.NoiseModel``'s rules and readout errors (their reprs)."""
    if noise_model is None or isinstance(noise_model, (Mapping, str)):
        return noise_model
    rules = getattr(noise_model, "rules", None)
    readout = getattr(noise_model, "readout_errors", None)
    if rules is None and readout is None:
        return repr(noise_model)
    return {
        "model": repr(noise_model),
        "rules": [repr(r) for r in rules or []],
        "readout_errors": {str(k): repr(v) for k, v in dict(readout or {}).items()},
    }


def provenance(
    *,
    dataset: Mapping[str, Any] | None = None,
    seeds: Mapping[str, Any] | None = None,
    backend: str | None = None,
    backend_options: Mapping[str, Any] | None = None,
    dtype: Any = None,
    diff_method: str | None = None,
    noise: Any = None,
    mitigation: Any = None,
    **extra: Any,
) -> dict[str, Any]:
    """Everything needed to know what produced a result (JSON-ready).

    Args:
        dataset: from :func:`dataset_fingerprint`.
        seeds: every seed used, by role (``{"run": 0, "baseline": 1}``).
        backend, backend_options, dtype, diff_method, noise, mitigation: the execution settings.
        extra: further entries (e.g. ``shots``).
    """
    env = environment()
    return {
        "hqml_version": env["hqml_version"],
        "git": env["git"],
        "dataset": dict(dataset) if dataset else None,
        "seeds": dict(seeds or {}),
        "backend": backend,
        "backend_options": dict(backend_options or {}),
        "dtype": str(dtype if dtype is not None else torch.get_default_dtype()),
        "diff_method": diff_method,
        "noise": noise,
        "mitigation": mitigation,
        "torch_threads": env["torch_threads"],
        "machine": env["machine"],
        "libraries": env["libraries"],
        **extra,
    }


def mlflow_tags(prov: Mapping[str, Any], prefix: str = "hqml.") -> dict[str, str]:
    """``prov`` flattened into MLflow tags (``hqml.git.commit``, ``hqml.dataset.sha256``, ...);
    values as strings cut to MLflow's 5000-character limit."""
    out: dict[str, str] = {}

    def walk(node: Any, key: str) -> None:
        if isinstance(node, Mapping):
            for k, v in node.items():
                walk(v, f"{key}.{k}" if key else str(k))
        else:
            out[prefix + key] = str(node)[:5000]

    walk(prov, "")
    return out


__all__ = [
    "provenance",
    "environment",
    "describe_noise",
    "dataset_fingerprint",
    "git_commit",
    "machine",
    "library_versions",
    "hqml_version",
    "mlflow_tags",
]
