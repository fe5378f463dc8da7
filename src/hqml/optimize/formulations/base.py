"""The formulation protocol: a domain problem that builds a BQM and reads its samples back."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any


def dimod_module() -> Any:
    """``dimod``, or an error naming the extra to install."""
    try:
        import dimod
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("QUBO formulations need dimod: pip install 'hqml[optimize]'") from e
    return dimod


class Formulation(ABC):
    """A problem with a QUBO form.

    Subclasses build a BINARY ``dimod.BinaryQuadraticModel`` whose minimum is the problem's
    optimum, say how their penalty weights are chosen, and decode a sample to a domain answer.
    """

    @abstractmethod
    def to_bqm(self) -> Any:
        """The BINARY BQM to minimise."""

    @abstractmethod
    def decode(self, sample: dict) -> Any:
        """The domain answer of a sample (e.g. a partition, a set of items)."""

    def is_feasible(self, sample: dict) -> bool:
        """Whether a sample satisfies the problem's hard constraints (no constraints: True)."""
        return True


def check_penalty(value: Any, name: str) -> float | None:
    if value is None:
        return None
    value = float(value)
    if not value > 0:
        raise ValueError(
            f"{name} must be a positive number (or None for the safe default), got {value!r}"
        )
    return value
