"""Backends: the protocol, the registry by name, and the local simulators."""

from .base import Backend, Capabilities, Expval, Probs, Sample, State, Task
from .registry import available_backends, get_backend, register_backend

__all__ = [
    "Backend",
    "Capabilities",
    "Task",
    "Expval",
    "Probs",
    "Sample",
    "State",
    "available_backends",
    "get_backend",
    "register_backend",
]
