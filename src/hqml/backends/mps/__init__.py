"""The matrix product state backend (``backend="mps"``): see docs/mps.md."""

from .backend import MPSBackend
from .state import MPS, Options, Truncation, TruncationError

__all__ = ["MPS", "MPSBackend", "Options", "Truncation", "TruncationError"]
