"""The ``[mitigation]`` table of a run config, applied: the hybrid model's quantum layer runs
on its backend wrapped by ``hqml.mitigation`` (ZNE, readout correction or PEC), against the
noise model of the ``[noise]`` table. The config has been checked already
(:func:`hqml.experiment.config.mitigation_problem`)."""

from __future__ import annotations

from typing import Any

from ..backends.base import Backend
from ..mitigation import PEC, ZNE, PECBackend, ReadoutMitigatedBackend, ReadoutMitigator
from ..mitigation.zne import ZNEBackend
from ..noise import NoiseModel
from .config import ConfigError, MitigationConfig


def mitigated_backend(
    base: str | Backend,
    mitigation: MitigationConfig | None,
    noise_model: NoiseModel | None,
    n_qubits: int,
    seed: int,
) -> str | Backend:
    """``base`` wrapped by the configured mitigation (``base`` itself when there is none).

    Readout mitigation calibrates its confusion matrices here, on ``base`` with the noise
    model (exactly, or with ``calibration_shots``)."""
    if mitigation is None or mitigation.method == "none":
        return base
    seed = mitigation.seed if mitigation.seed is not None else seed
    try:
        if mitigation.method == "zne":
            zne = ZNE(
                scale_factors=tuple(mitigation.scale_factors),
                extrapolation=mitigation.extrapolation,
                folding=mitigation.folding,
                order=mitigation.order,
                seed=seed,
            )
            return ZNEBackend(base, zne)
        if mitigation.method == "readout":
            mitigator = ReadoutMitigator.calibrate(
                n_qubits,
                backend=base,
                noise_model=noise_model,
                shots=mitigation.calibration_shots,
                seed=seed,
            )
            return ReadoutMitigatedBackend(base, mitigator)
        if noise_model is None:
            raise ConfigError("mitigation.method 'pec' needs a [noise] table")
        return PECBackend(base, PEC(noise_model, num_samples=mitigation.num_samples, seed=seed))
    except (TypeError, ValueError) as e:
        if isinstance(e, ConfigError):
            raise
        raise ConfigError(f"mitigation: {e}") from None


def mitigation_record(mitigation: MitigationConfig) -> dict[str, Any] | None:
    """The settings as provenance records them (``None`` without mitigation)."""
    if mitigation.method == "none":
        return None
    return mitigation.model_dump()


__all__ = ["mitigated_backend", "mitigation_record"]
