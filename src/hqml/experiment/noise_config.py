"""The run config's ``[noise]`` table and the :class:`hqml.noise.NoiseModel` it describes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..circuit.gates import GATES
from ..noise import NoiseModel, ReadoutError, depolarizing, thermal_relaxation


class NoiseConfig(BaseModel):
    """A noise model in the config, so that a noisy experiment is reproducible from its config
    alone: depolarizing channels after gates, thermal relaxation (T1, T2) during them and
    readout bit flips. Needs a backend that simulates noise (``density_matrix``)."""

    model_config = ConfigDict(extra="forbid")

    depolarizing: float = Field(0.0, ge=0, le=1, description="after every one-qubit gate")
    two_qubit_depolarizing: float | None = Field(
        None, ge=0, le=1, description="after two-qubit gates (default: twice depolarizing)"
    )
    readout_flip: float = Field(0.0, ge=0, le=0.5, description="bit-flip probability of a read")
    readout_flip_1to0: float | None = Field(
        None, ge=0, le=0.5, description="reading 1 as 0, if it differs (then readout_flip: 0->1)"
    )
    t1: float | None = Field(None, gt=0, description="relaxation time (unit of the gate times)")
    t2: float | None = Field(None, gt=0, description="dephasing time, <= 2 t1 (default t1)")
    gate_time_1q: float = Field(0.0, ge=0, description="one-qubit gate duration (with t1)")
    gate_time_2q: float = Field(0.0, ge=0, description="two-qubit gate duration (with t1)")

    @model_validator(mode="after")
    def _relaxation(self) -> NoiseConfig:
        if self.t1 is None:
            if self.t2 is not None or self.gate_time_1q or self.gate_time_2q:
                raise ValueError("noise.t2 and the gate times need noise.t1 as well")
            return self
        if not (self.gate_time_1q or self.gate_time_2q):
            raise ValueError(
                "noise.t1 relaxes qubits during gates: set noise.gate_time_1q and/or gate_time_2q"
            )
        if self.t2 is not None and self.t2 > 2 * self.t1:
            raise ValueError(f"noise.t2 ({self.t2}) exceeds 2 * t1 ({2 * self.t1}): unphysical")
        return self

    @property
    def gate_noise(self) -> bool:
        return bool(self.depolarizing or self.two_qubit_depolarizing or self.t1)

    @property
    def readout(self) -> bool:
        return bool(self.readout_flip or self.readout_flip_1to0)

    @property
    def active(self) -> bool:
        return self.gate_noise or self.readout


def noise_model_of(noise: NoiseConfig | None) -> NoiseModel | None:
    """The ``hqml.noise.NoiseModel`` of a config's ``[noise]`` table (``None`` when noiseless)."""
    if noise is None or not noise.active:
        return None
    nm = NoiseModel()
    if noise.depolarizing:
        nm.add_channel(depolarizing(noise.depolarizing))
    p2 = noise.two_qubit_depolarizing
    p2 = min(1.0, 2 * noise.depolarizing) if p2 is None else p2
    if p2:
        nm.add_channel(depolarizing(p2, 2), gates=["cx", "cz"])
    if noise.t1 is not None:  # relaxation on each wire of a gate, for the gate's duration
        t2 = noise.t1 if noise.t2 is None else noise.t2
        for time, k in ((noise.gate_time_1q, 1), (noise.gate_time_2q, 2)):
            if time > 0:
                gates = [g.name for g in GATES.values() if g.num_wires == k]
                nm.add_channel(thermal_relaxation(noise.t1, t2, time), gates, each_wire=True)
    if noise.readout:
        one_to_zero = (
            noise.readout_flip if noise.readout_flip_1to0 is None else noise.readout_flip_1to0
        )
        nm.add_readout_error(ReadoutError.from_flips(noise.readout_flip, one_to_zero))
    return nm


__all__ = ["NoiseConfig", "noise_model_of"]
