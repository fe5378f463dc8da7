"""The matrix product state backend (``backend="mps"``): see docs/mps.md."""

from ...sim.mps import MPS, Options, Truncation, TruncationError, worst
from .backend import MPSBackend, TruncatedGradientWarning

__all__ = [
    "MPS",
    "MPSBackend",
    "Options",
    "Truncation",
    "TruncatedGradientWarning",
    "TruncationError",
    "worst",
]
