"""Zero-noise extrapolation (ZNE): run at amplified noise, extrapolate to zero.

Use it around an expectation-value function (``circuit -> tensor``) or around a backend:

>>> import torch, hqml
>>> from hqml.noise import NoiseModel, depolarizing
>>> from hqml.mitigation import ZNE
>>> nm = NoiseModel().add_channel(depolarizing(0.01)).add_channel(depolarizing(0.02, 2))
>>> c = hqml.Circuit(2).h(0).cnot(0, 1).h(0).h(1).cnot(1, 0).h(1)
>>> run = lambda circ: hqml.expval(circ, hqml.Z(0) @ hqml.Z(1), backend="density_matrix",
...                                noise_model=nm, dtype=torch.complex128)
>>> ideal = float(hqml.expval(c, hqml.Z(0) @ hqml.Z(1), dtype=torch.complex128))
>>> res = ZNE(scale_factors=(1, 3, 5)).run(c, run)
>>> abs(float(res.value) - ideal) < abs(float(res.values[0]) - ideal) / 10
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from ..backends.base import Backend, Expval, Probs, Task
from ..circuit.circuit import Circuit
from .extrapolation import EXTRAPOLATIONS, Fit, extrapolate
from .folding import FOLDING_METHODS, _check_scale, actual_scale_factor, fold
from .tasks import WrappingBackend, parametrized, rebind


@dataclass
class ZNEResult:
    """The mitigated value with the scaled runs and the fit behind it."""

    value: torch.Tensor
    scale_factors: tuple[float, ...]  # requested
    actual_scale_factors: tuple[float, ...]  # realised by folding (gate-count ratio)
    values: torch.Tensor  # (S, ...) one slice per scale factor
    fit: Fit
    circuits: list[Circuit] = field(default_factory=list, repr=False)


@dataclass(frozen=True)
class ZNE:
    """Zero-noise extrapolation settings.

    Args:
        scale_factors: noise scales (``>= 1``; fractional allowed), e.g. ``(1, 3, 5)``.
        extrapolation: ``"richardson"``, ``"linear"``, ``"polynomial"`` or ``"exponential"``.
        folding: ``"global"`` or local ``"from_left"``, ``"from_right"``, ``"random"``.
        order: degree for polynomial extrapolation.
        asymptote: known infinite-noise value for exponential extrapolation.
        seed: seeds random local folding.
        exclude: gate names local folding leaves alone.
        fit_to: extrapolate against the ``"requested"`` scale factors (Mitiq's choice) or the
            ``"actual"`` ones realised by folding a whole number of gates.
    """

    scale_factors: Sequence[float] = (1.0, 3.0, 5.0)
    extrapolation: str = "richardson"
    folding: str = "global"
    order: int | None = None
    asymptote: float | None = None
    seed: int | None = None
    exclude: tuple[str, ...] = ()
    fit_to: str = "requested"

    def __post_init__(self) -> None:
        if len(self.scale_factors) < 2:
            raise ValueError("ZNE needs at least two scale factors, e.g. (1, 3, 5)")
        for s in self.scale_factors:
            _check_scale(s)
        if self.extrapolation not in EXTRAPOLATIONS:
            raise ValueError(
                f"unknown extrapolation {self.extrapolation!r}; choose one of"
                f" {', '.join(EXTRAPOLATIONS)}"
            )
        if self.folding not in FOLDING_METHODS:
            raise ValueError(
                f"unknown folding {self.folding!r}; choose one of {', '.join(FOLDING_METHODS)}"
            )
        if self.fit_to not in ("requested", "actual"):
            raise ValueError(f"fit_to must be 'requested' or 'actual', got {self.fit_to!r}")

    def folded(self, circuit: Circuit) -> list[Circuit]:
        """The circuit folded to each scale factor."""
        return [fold(circuit, s, self.folding, self.seed, self.exclude) for s in self.scale_factors]

    def _fit(self, scales: Sequence[float], values: torch.Tensor) -> Fit:
        return extrapolate(
            scales, values, self.extrapolation, order=self.order, asymptote=self.asymptote
        )

    def run(self, circuit: Circuit, executor: Callable[[Circuit], Any]) -> ZNEResult:
        """Evaluate ``executor`` on each folded circuit and extrapolate.

        ``executor(circuit)`` returns a tensor (any shape, e.g. from ``hqml.expval`` with a noise
        model); gradients flow through linear-in-value fits.
        """
        circuits = self.folded(circuit)
        outs = [executor(c) for c in circuits]
        values = torch.stack([torch.as_tensor(o) for o in outs])
        actual = tuple(actual_scale_factor(circuit, c) for c in circuits)
        scales = tuple(float(s) for s in self.scale_factors)
        fit = self._fit(actual if self.fit_to == "actual" else scales, values)
        return ZNEResult(fit.value, scales, actual, values, fit, circuits)

    def wrap(self, executor: Callable[[Circuit], Any]) -> Callable[[Circuit], torch.Tensor]:
        """``executor`` with ZNE applied: same signature, mitigated values."""

        def mitigated(circuit: Circuit) -> torch.Tensor:
            return self.run(circuit, executor).value

        return mitigated

    def backend(self, base: Backend | str, **options: Any) -> ZNEBackend:
        """A backend that applies ZNE to every expectation-value task it runs on ``base``."""
        return ZNEBackend(base, self, **options)


def execute_with_zne(
    circuit: Circuit, executor: Callable[[Circuit], Any], **settings: Any
) -> ZNEResult:
    """``ZNE(**settings).run(circuit, executor)``."""
    return ZNE(**settings).run(circuit, executor)


class ZNEBackend(WrappingBackend):
    """Wraps a backend: expectation values (and probabilities) come back extrapolated to zero noise.

    Pass it as ``backend=`` anywhere (``hqml.expval``, a ``QuantumLayer``, VQE) together with the
    ``noise_model=``; differentiable by backprop when the base backend is.
    """

    label = "zne"
    # folded circuits repeat each parameter, so shift rules do not hold; backprop or numeric
    keeps = frozenset({"backprop", "finite-diff", "spsa"})
    answers = frozenset({"expval", "probs"})

    def __init__(self, base: Backend | str, zne: ZNE | None = None, **options: Any):
        super().__init__(base, **options)
        self.zne = zne or ZNE()

    def execute_one(self, task: Task) -> torch.Tensor:
        if not isinstance(task.measurement, (Expval, Probs)):
            raise ValueError(
                f"{self.name} mitigates expectation values and probabilities only;"
                " use the base backend for samples and states"
            )
        base_circuit = parametrized(task)
        folded = self.zne.folded(base_circuit)
        tasks_ = [rebind(task, c) for c in folded]
        for t in tasks_:  # a provider's compiler must not cancel the folds (G G^-1 G)
            t.options = {**t.options, "keep_gates": True}
        values = torch.stack(self.run_base(tasks_))
        scales = (
            tuple(actual_scale_factor(base_circuit, c) for c in folded)
            if self.zne.fit_to == "actual"
            else tuple(self.zne.scale_factors)
        )
        return self.zne._fit(scales, values).value
