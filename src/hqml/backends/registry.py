"""Backends by name. Factories are registered lazily so optional stacks load only when asked."""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable
from importlib import import_module
from importlib.util import find_spec
from typing import Any

from .base import Backend

_FACTORIES: dict[str, Callable[..., Backend] | str] = {
    "statevector": "hqml.backends.statevector:StatevectorBackend",
    "density_matrix": "hqml.backends.density_matrix:DensityMatrixBackend",
    "mps": "hqml.backends.mps:MPSBackend",
    "process_pool": "hqml.runtime.executors:ProcessPoolBackend",
    "ray": "hqml.runtime.executors:RayBackend",
}
# instances of factories that hold workers (``shared_by_name = True``: the process-pool and Ray
# executors), one per (name, options): a layer or config naming "process_pool" reuses one pool
# instead of starting workers on every call
_SHARED: dict[tuple[str, str], Backend] = {}
_SHARED_LOCK = threading.Lock()

# names with a URL: "remote+http://host:port" -> factory(url="http://host:port", ...)
_PREFIXES: dict[str, str] = {
    "remote+": "hqml.runtime.client:RemoteBackend",
}


# "<provider>:<device>" -> factory(device, **options), with the SDK that must be installed and
# the device names available_backends() lists when it is
_PROVIDERS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "qiskit": (
        "hqml.backends.providers.qiskit:QiskitBackend",
        "qiskit_ibm_runtime",
        ("aer_simulator", "fake_manila", "fake_jakarta", "fake_nairobi", "fake_sherbrooke"),
    ),
    "braket": (
        "hqml.backends.providers.braket:BraketBackend",
        "braket",
        ("braket_sv", "braket_dm"),
    ),
    "pennylane": (
        "hqml.backends.providers.pennylane:PennyLaneBackend",
        "pennylane",
        ("default.qubit",),
    ),
}


def register_backend(name: str, factory: Callable[..., Backend] | str) -> None:
    """Register ``factory`` (a callable or ``"module:attr"``) under ``name``."""
    _FACTORIES[name] = factory


def available_backends() -> list[str]:
    """Backend names that work in this installation (provider devices when their SDK is
    installed; any other device of an installed provider works by name too)."""
    names = list(_FACTORIES)
    for provider, (_, sdk, devices) in _PROVIDERS.items():
        if _installed(sdk):
            names += [f"{provider}:{d}" for d in devices]
    return sorted(names)


def _installed(module: str) -> bool:
    try:
        return find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def get_backend(backend: str | Backend, **options: Any) -> Backend:
    """A backend instance from a name (or the instance itself).

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if isinstance(backend, Backend):
        return backend
    if not isinstance(backend, str):
        raise TypeError(f"backend must be a name or a Backend, got {type(backend).__name__}")
    for prefix, target in _PREFIXES.items():
        if backend.startswith(prefix):
            return _load(target, backend)(url=backend[len(prefix) :], **options)
    provider, sep, device = backend.partition(":")
    if sep and provider in _PROVIDERS:
        if not device:
            raise ValueError(f"backend {backend!r} names no device: use '{provider}:<device>'")
        return _load(_PROVIDERS[provider][0], backend)(device, **options)
    factory = _FACTORIES.get(backend)
    if factory is None:
        raise ValueError(
            f"unknown backend {backend!r}; available: {', '.join(available_backends())}"
        )
    if isinstance(factory, str):
        factory = _load(factory, backend)
        _FACTORIES[backend] = factory
    if not getattr(factory, "shared_by_name", False):
        return factory(**options)
    key = (backend, repr(sorted(options.items())))
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = factory(**options)
        return _SHARED[key]


@atexit.register
def _close_shared() -> None:
    """Stop the workers of the executors made by name (their pools and actors)."""
    with _SHARED_LOCK:
        shared = list(_SHARED.values())
        _SHARED.clear()
    for be in shared:
        try:
            be.close()  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - at exit, a worker may be gone already
            pass


def _load(target: str, name: str) -> Callable[..., Backend]:
    module, attr = target.split(":")
    try:
        return getattr(import_module(module), attr)
    except ModuleNotFoundError as e:
        missing = e.name or ""
        if missing == "hqml" or missing.startswith("hqml."):
            raise ValueError(f"backend {name!r} is not available in this version of hqml") from None
        extra = _EXTRAS.get(missing.split(".")[0], "all")
        raise ImportError(
            f"backend {name!r} needs the optional package {missing!r}: pip install 'hqml[{extra}]'"
        ) from None


# top-level package -> the hqml extra that installs it
_EXTRAS = {
    "qiskit": "qiskit",
    "qiskit_aer": "qiskit",
    "qiskit_ibm_runtime": "hardware",
    "braket": "hardware",
    "pennylane": "pennylane",
    "ray": "runtime",
    "httpx": "runtime",
    "fastapi": "runtime",
    "sqlalchemy": "runtime",
    "mitiq": "mitigation",
    "dimod": "optimize",
    "dwave": "optimize",
    "pyscf": "chem",
    "openfermion": "chem",
    "mlflow": "tracking",
}
