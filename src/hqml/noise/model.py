"""``NoiseModel``: which channels follow which gates, and how each qubit is misread.

>>> from hqml.noise import NoiseModel, depolarizing, ReadoutError
>>> nm = (NoiseModel()
...       .add_channel(depolarizing(0.01))                          # every one-qubit gate
...       .add_channel(depolarizing(0.02, 2), gates=["cx", "cz"])   # these two-qubit gates
...       .add_readout_error(ReadoutError.from_flips(0.02, 0.03)))  # every wire
>>> [(ch.name, w) for ch, w in nm.channels_for("cx", (0, 1))]
[('depolarizing2(0.02)', (0, 1))]
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..circuit.gates import ALIASES, GATES
from .channels import Channel, ReadoutError, depolarizing, thermal_relaxation
from .qiskit import from_qiskit as _from_qiskit  # imports qiskit only when called

# Gates that are bookkeeping, not pulses: never followed by noise (PEC inserts them).
NOISELESS_GATES = frozenset({"pauli_frame"})


def _gate_name(name: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"gate names must be strings, got {name!r}")
    return ALIASES.get(name.lower(), name.lower())


@dataclass(frozen=True)
class NoiseRule:
    """One channel after matching gates: ``gates`` (None: all) on ``wires`` (None: any)."""

    channel: Channel
    gates: frozenset[str] | None = None
    wires: tuple[int, ...] | None = None
    each_wire: bool = False

    def targets(self, gate: str, wires: tuple[int, ...]) -> list[tuple[int, ...]] | None:
        """Wire tuples the channel acts on after ``gate`` on ``wires`` (None: no match)."""
        if self.gates is not None and gate not in self.gates:
            return None
        if self.wires is not None and self.wires != wires:
            return None
        if self.each_wire:
            return [(w,) for w in wires]
        if self.channel.num_wires != len(wires):
            return None
        return [wires]


class NoiseModel:
    """Channels attached to gate kinds and wires (applied after each gate), plus readout errors.

    Matching follows Qiskit Aer: for a gate on given wires, rules added *for those wires* replace
    the rules added for any wires. A rule without ``gates`` applies to every gate whose arity
    equals the channel's (a one-qubit channel after every one-qubit gate, and so on).
    """

    def __init__(self) -> None:
        self.rules: list[NoiseRule] = []
        self.readout_errors: dict[int | None, ReadoutError] = {}

    # --- building ----------------------------------------------------------------------------
    def add_channel(
        self,
        channel: Channel,
        gates: str | Iterable[str] | None = None,
        wires: Sequence[int] | None = None,
        *,
        each_wire: bool = False,
    ) -> NoiseModel:
        """Apply ``channel`` after every matching gate; returns ``self``.

        Args:
            channel: the channel.
            gates: gate names (``"cx"``, ``"rx"``, ...); ``None`` for every gate of the channel's
                arity.
            wires: only when the gate acts on exactly these wires (in this order).
            each_wire: apply a one-qubit ``channel`` to each wire of the gate (any arity).

        Raises:
            ValueError: when the channel's arity cannot fit the named gates.
        """
        if not isinstance(channel, Channel):
            raise TypeError(f"add_channel needs a hqml.noise Channel, got {type(channel).__name__}")
        names = None
        if gates is not None:
            names = frozenset(_gate_name(g) for g in ([gates] if isinstance(gates, str) else gates))
            if not names:
                raise ValueError("gates is empty; pass None to mean every gate")
        if each_wire and channel.num_wires != 1:
            raise ValueError("each_wire=True needs a one-qubit channel")
        wires_t = None
        if wires is not None:
            wires_t = tuple(
                int(w) for w in ([wires] if isinstance(wires, numbers.Integral) else wires)
            )
            if not each_wire and len(wires_t) != channel.num_wires:
                raise ValueError(
                    f"channel {channel.name} acts on {channel.num_wires} wire(s) but wires="
                    f"{list(wires_t)}"
                )
        if names is not None and not each_wire:
            for g in names:
                gate = GATES.get(g)
                if gate is not None and gate.num_wires != channel.num_wires:
                    raise ValueError(
                        f"channel {channel.name} acts on {channel.num_wires} wire(s) but gate"
                        f" {g!r} on {gate.num_wires}; pass each_wire=True to apply a"
                        " one-qubit channel to each of its wires"
                    )
        self.rules.append(NoiseRule(channel, names, wires_t, each_wire))
        return self

    def add_readout_error(
        self, error: ReadoutError, wires: Sequence[int] | int | None = None
    ) -> NoiseModel:
        """Misread ``wires`` (all wires when ``None``) as ``error`` says; returns ``self``."""
        if not isinstance(error, ReadoutError):
            raise TypeError(f"add_readout_error needs a ReadoutError, got {type(error).__name__}")
        if wires is None:
            self.readout_errors[None] = error
        else:
            for w in [wires] if isinstance(wires, numbers.Integral) else wires:
                self.readout_errors[int(w)] = error
        return self

    # --- queries -----------------------------------------------------------------------------
    def channels_for(
        self, gate: str, wires: Sequence[int]
    ) -> list[tuple[Channel, tuple[int, ...]]]:
        """The channels to apply, in order, after ``gate`` on ``wires``."""
        name = _gate_name(gate)
        if name in NOISELESS_GATES:
            return []
        wires = tuple(int(w) for w in wires)
        local, generic = [], []
        for rule in self.rules:
            targets = rule.targets(name, wires)
            if targets:
                (local if rule.wires is not None else generic).extend(
                    (rule.channel, t) for t in targets
                )
        return local or generic

    def readout_error(self, wire: int) -> ReadoutError | None:
        """The readout error of ``wire`` (or ``None`` for a perfect readout)."""
        return self.readout_errors.get(int(wire), self.readout_errors.get(None))

    def confusions(self, wires: Sequence[int]) -> list[np.ndarray | None]:
        """``A[read, true]`` per wire (``None`` for a perfect readout)."""
        out = []
        for w in wires:
            e = self.readout_error(w)
            out.append(None if e is None else e.confusion)
        return out

    @property
    def has_readout_errors(self) -> bool:
        return bool(self.readout_errors)

    def __repr__(self) -> str:
        return f"NoiseModel(rules={len(self.rules)}, readout_errors={len(self.readout_errors)})"

    # --- constructors ------------------------------------------------------------------------
    @classmethod
    def from_device(
        cls,
        error_1q: float | None = None,
        error_2q: float | None = None,
        *,
        t1: float | None = None,
        t2: float | None = None,
        time_1q: float = 0.0,
        time_2q: float = 0.0,
        readout_error: float | Sequence[float] | None = None,
    ) -> NoiseModel:
        """A model from simple device figures.

        Args:
            error_1q: average gate infidelity of one-qubit gates (depolarizing with Pauli error
                probability ``1.5 * error_1q``).
            error_2q: average gate infidelity of two-qubit gates (two-qubit depolarizing with
                probability ``1.25 * error_2q``).
            t1: energy relaxation time; with ``t2`` (default ``t1``) thermal relaxation follows each
                gate for its duration ``time_1q`` / ``time_2q`` (same unit as ``t1``).
            t2: dephasing time (``t2 <= 2 t1``).
            time_1q: one-qubit gate duration.
            time_2q: two-qubit gate duration.
            readout_error: a flip probability, or ``(p0to1, p1to0)``.

        >>> NoiseModel.from_device(1e-3, 1e-2, t1=50e-6, t2=70e-6, time_1q=35e-9, time_2q=300e-9,
        ...                        readout_error=0.02)
        NoiseModel(rules=4, readout_errors=1)
        """
        nm = cls()
        for r, d, k in ((error_1q, 2, 1), (error_2q, 4, 2)):
            if r is not None:
                if (
                    isinstance(r, bool)
                    or not isinstance(r, numbers.Real)
                    or not 0 <= r <= (d - 1) / d
                ):
                    raise ValueError(
                        f"error_{k}q must be an infidelity in [0, {(d - 1) / d}], got {r!r}"
                    )
                if r > 0:
                    nm.add_channel(depolarizing(min(1.0, r * (d + 1) / d), k))
        if t1 is not None:
            t2 = t1 if t2 is None else t2
            for time, k in ((time_1q, 1), (time_2q, 2)):
                if time > 0:
                    gates = [g.name for g in GATES.values() if g.num_wires == k]
                    nm.add_channel(thermal_relaxation(t1, t2, time), gates=gates, each_wire=True)
        elif t2 is not None:
            raise ValueError("from_device: t2 needs t1 as well")
        if readout_error is not None:
            if isinstance(readout_error, numbers.Real):
                ro = ReadoutError.from_flips(readout_error, readout_error)
            else:
                a, b = readout_error
                ro = ReadoutError.from_flips(a, b)
            nm.add_readout_error(ro)
        return nm

    @classmethod
    def from_qiskit(cls, noise_model: Any) -> NoiseModel:
        """Convert a Qiskit Aer ``NoiseModel`` (quantum errors and readout errors); qiskit extra."""
        return _from_qiskit(noise_model, cls)
