"""The local statevector simulator: the backend, its engines and the chooser between them."""

from .backend import StatevectorBackend

__all__ = ["StatevectorBackend"]
