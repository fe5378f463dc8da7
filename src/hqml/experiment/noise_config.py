"""The run config's ``[noise]`` table and the :class:`hqml.noise.NoiseModel` it describes.

```toml
[noise]
depolarizing_per_qubit = [0.001, 0.004]   # after one-qubit gates on qubit 0, 1 (n_qubits values)
two_qubit_depolarizing = 0.01             # needed with depolarizing_per_qubit (may be 0)
readout_flip_per_qubit = [0.02, 0.05]
[[noise.channels]]                        # a channel of the user's, as Kraus operators
kraus = [[[1, 0], [0, 0.9]], [[0, 0.4358898943540674], [0, 0]]]   # real parts
# kraus_imag = [...]                      # imaginary parts, same shape (default 0)
gates = ["ry"]                            # after these gates (default: every gate of its arity)
qubits = [1]                              # only on these qubits, in order (default: any)
```
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..circuit.gates import ALIASES, GATES
from ..noise import Channel, NoiseModel, ReadoutError, depolarizing, thermal_relaxation

Probability = Annotated[float, Field(ge=0, le=1)]
Flip = Annotated[float, Field(ge=0, le=0.5)]
Matrix = list[list[float]]


class KrausChannelConfig(BaseModel):
    """A user channel in ``[[noise.channels]]``: Kraus operators (real and imaginary parts),
    checked completely positive and trace preserving (CP by the Kraus form; TP: ``sum K^dagger
    K = I`` within 1e-8), after the named gates (default every gate of its arity) on the named
    qubits (default any)."""

    model_config = ConfigDict(extra="forbid")
    kraus: list[Matrix] = Field(..., min_length=1, description="real parts, 2^k x 2^k each")
    kraus_imag: list[Matrix] | None = Field(None, description="imaginary parts (default 0)")
    gates: list[str] | None = Field(None, min_length=1, description="default: every gate")
    qubits: list[Annotated[int, Field(ge=0)]] | None = Field(None, description="default: any")
    name: str = "kraus"

    def operators(self) -> list[np.ndarray]:
        re = [np.asarray(m, dtype=float) for m in self.kraus]
        im = self.kraus_imag or [np.zeros_like(m) for m in re]
        return [a + 1j * np.asarray(b, dtype=float) for a, b in zip(re, im, strict=True)]

    @model_validator(mode="after")
    def _cptp(self) -> KrausChannelConfig:
        if self.kraus_imag is not None and [np.shape(m) for m in self.kraus_imag] != [
            np.shape(m) for m in self.kraus
        ]:
            raise ValueError("kraus_imag must have the shape of kraus (one matrix per operator)")
        if any(len({len(r) for r in m}) != 1 for m in self.kraus):
            raise ValueError("each Kraus operator must be a matrix (rows of equal length)")
        ops = self.operators()
        d = ops[0].shape[0]
        if d not in (2, 4) or any(k.shape != (d, d) for k in ops):
            raise ValueError(
                f"Kraus operators must all be 2x2 (one qubit) or 4x4 (two); got"
                f" {[k.shape for k in ops]}"
            )
        off = float(np.abs(sum(k.conj().T @ k for k in ops) - np.eye(d)).max())
        if off > 1e-8:
            raise ValueError(
                f"channel {self.name!r} is not trace preserving: sum K^dagger K differs from"
                f" the identity by {off:.2g}; give the operators to at least 9 digits"
            )
        arity = d // 2
        for g in self.gates or []:
            gate = GATES.get(ALIASES.get(g.lower(), g.lower()))
            if gate is None or gate.num_wires != arity:
                why = "an unknown gate" if gate is None else f"a {gate.num_wires}-qubit gate"
                raise ValueError(f"channel {self.name!r} acts on {arity} qubit(s); {g!r} is {why}")
        if self.qubits is not None and (
            len(self.qubits) != arity or len(set(self.qubits)) != arity
        ):
            raise ValueError(
                f"channel {self.name!r} acts on {arity} qubit(s): qubits needs {arity} distinct"
                f" indices, got {self.qubits}"
            )
        return self

    def channel(self) -> Channel:
        return Channel(self.operators(), self.name)


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
    depolarizing_per_qubit: list[Probability] | None = Field(
        None, min_length=1, description="one per qubit, instead of depolarizing"
    )
    readout_flip_per_qubit: list[Flip] | None = Field(
        None, min_length=1, description="one per qubit, instead of readout_flip"
    )
    readout_flip_1to0_per_qubit: list[Flip] | None = Field(
        None, min_length=1, description="one per qubit, with readout_flip_per_qubit"
    )
    channels: list[KrausChannelConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _per_qubit(self) -> NoiseConfig:
        for name in ("depolarizing", "readout_flip"):
            if getattr(self, f"{name}_per_qubit") is not None and getattr(self, name):
                raise ValueError(f"set noise.{name} or noise.{name}_per_qubit, not both")
        if self.readout_flip_1to0_per_qubit is not None:
            if self.readout_flip_per_qubit is None or self.readout_flip_1to0 is not None:
                raise ValueError(
                    "noise.readout_flip_1to0_per_qubit goes with readout_flip_per_qubit"
                    " (and without readout_flip_1to0)"
                )
        if self.depolarizing_per_qubit is not None and self.two_qubit_depolarizing is None:
            raise ValueError(
                "noise.depolarizing_per_qubit: set noise.two_qubit_depolarizing too (0 for none);"
                " its default, twice depolarizing, has no single value here"
            )
        return self

    def problem(self, n_qubits: int) -> str | None:
        """What does not fit a circuit of ``n_qubits`` qubits, or ``None``."""
        for name in ("depolarizing", "readout_flip", "readout_flip_1to0"):
            values = getattr(self, f"{name}_per_qubit")
            if values is not None and len(values) != n_qubits:
                return (
                    f"noise.{name}_per_qubit has {len(values)} values for model.n_qubits ="
                    f" {n_qubits}; give one per qubit"
                )
        for i, ch in enumerate(self.channels):
            if ch.qubits is not None and max(ch.qubits) >= n_qubits:
                return f"noise.channels.{i}.qubits {ch.qubits}: the circuit has {n_qubits} qubits"
        return None

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
        return bool(
            self.depolarizing
            or self.two_qubit_depolarizing
            or self.t1
            or any(self.depolarizing_per_qubit or ())
            or self.channels
        )

    @property
    def readout(self) -> bool:
        flips = (self.readout_flip_per_qubit or []) + (self.readout_flip_1to0_per_qubit or [])
        return bool(self.readout_flip or self.readout_flip_1to0 or any(flips))

    @property
    def active(self) -> bool:
        return self.gate_noise or self.readout


@dataclass(frozen=True)
class _Rule:
    """One channel of the config: after ``gates`` (None: any) of ``arity`` qubits, on ``wires``
    (None: any), on each wire of the gate (``each_wire``) or on all of them."""

    channel: Channel
    arity: int
    gates: tuple[str, ...] | None = None
    wires: tuple[int, ...] | None = None
    each_wire: bool = False


def _rules(noise: NoiseConfig) -> list[_Rule]:
    """The config's channels in the order they follow a gate: depolarizing, relaxation, the
    user's channels."""
    rules = []
    if noise.depolarizing:
        rules.append(_Rule(depolarizing(noise.depolarizing), 1))
    for q, p in enumerate(noise.depolarizing_per_qubit or []):
        if p:
            rules.append(_Rule(depolarizing(p), 1, wires=(q,)))
    p2 = noise.two_qubit_depolarizing
    p2 = min(1.0, 2 * noise.depolarizing) if p2 is None else p2
    if p2:
        rules.append(_Rule(depolarizing(p2, 2), 2, gates=("cx", "cz")))
    if noise.t1 is not None:  # relaxation on each wire of a gate, for the gate's duration
        t2 = noise.t1 if noise.t2 is None else noise.t2
        for time, k in ((noise.gate_time_1q, 1), (noise.gate_time_2q, 2)):
            if time > 0:
                gates = tuple(g.name for g in GATES.values() if g.num_wires == k)
                rules.append(_Rule(thermal_relaxation(noise.t1, t2, time), k, gates, None, True))
    for ch in noise.channels:
        c = ch.channel()
        gates = tuple(ch.gates) if ch.gates else None
        rules.append(_Rule(c, c.num_wires, gates, tuple(ch.qubits) if ch.qubits else None))
    return rules


def _add_rules(nm: NoiseModel, rules: list[_Rule]) -> None:
    """Add ``rules`` so that each gate gets every rule that matches it. A NoiseModel's rules for
    given wires replace its rules for any wires (Qiskit Aer's matching), so every rule that
    also matches those wires is repeated for them, in order: a per-qubit figure adds to the
    others on that qubit instead of silently dropping them."""
    local: list[tuple[int, ...]] = []
    for r in rules:
        if r.wires is not None and r.wires not in local:
            local.append(r.wires)
    for w in local:
        for r in rules:
            if r.arity == len(w) and r.wires in (None, w):
                nm.add_channel(r.channel, r.gates, w, each_wire=r.each_wire)
    for r in rules:
        if r.wires is None:
            nm.add_channel(r.channel, r.gates, each_wire=r.each_wire)


def _readout(nm: NoiseModel, noise: NoiseConfig) -> None:
    if noise.readout_flip_per_qubit is not None:
        back = noise.readout_flip_1to0_per_qubit or noise.readout_flip_per_qubit
        for q, (p01, p10) in enumerate(zip(noise.readout_flip_per_qubit, back, strict=True)):
            if p01 or p10:
                nm.add_readout_error(ReadoutError.from_flips(p01, p10), wires=q)
    elif noise.readout:
        one_to_zero = (
            noise.readout_flip if noise.readout_flip_1to0 is None else noise.readout_flip_1to0
        )
        nm.add_readout_error(ReadoutError.from_flips(noise.readout_flip, one_to_zero))


def noise_model_of(noise: NoiseConfig | None) -> NoiseModel | None:
    """The ``hqml.noise.NoiseModel`` of a config's ``[noise]`` table (``None`` when noiseless)."""
    if noise is None or not noise.active:
        return None
    nm = NoiseModel()
    _add_rules(nm, _rules(noise))
    _readout(nm, noise)
    return nm


__all__ = ["NoiseConfig", "KrausChannelConfig", "noise_model_of"]
