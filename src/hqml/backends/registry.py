"""Backends by name. Factories are registered lazily so optional stacks load only when asked."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

from .base import Backend

_FACTORIES: dict[str, Callable[..., Backend] | str] = {
    "statevector": "hqml.backends.statevector:StatevectorBackend",
}


def register_backend(name: str, factory: Callable[..., Backend] | str) -> None:
    """Register ``factory`` (a callable or ``"module:attr"``) under ``name``."""
    _FACTORIES[name] = factory


def available_backends() -> list[str]:
    return sorted(_FACTORIES)


def get_backend(backend: str | Backend, **options: Any) -> Backend:
    """A backend instance from a name (or the instance itself).

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if isinstance(backend, Backend):
        return backend
    if not isinstance(backend, str):
        raise TypeError(f"backend must be a name or a Backend, got {type(backend).__name__}")
    factory = _FACTORIES.get(backend)
    if factory is None:
        raise ValueError(f"unknown backend {backend!r}; available: {', '.join(available_backends())}")
    if isinstance(factory, str):
        module, attr = factory.split(":")
        factory = getattr(import_module(module), attr)
        _FACTORIES[backend] = factory
    return factory(**options)
