"""hqml as a PennyLane device: ``qml.device("hqml.statevector", wires=n)``.

Registered through PennyLane's plugin entry point (``pennylane.plugins`` in pyproject.toml), so
this module is imported only by PennyLane and imports it at the top. hqml simulates: each tape
becomes an hqml circuit (PennyLane's named gates as hqml's, any other operation with a matrix
as a fixed unitary; the rest decomposed by PennyLane's preprocessing) run by hqml's statevector
backend, which also draws the samples. PennyLane's own measurement processes turn the state
(or the samples) into results, so every measurement PennyLane defines is available.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pennylane as qml
import torch
from pennylane.devices import Device, ExecutionConfig
from pennylane.devices.modifiers import simulator_tracking, single_tape_support
from pennylane.devices.preprocess import decompose, validate_device_wires, validate_measurements
from pennylane.exceptions import DeviceError
from pennylane.measurements import ExpectationMP, ProbabilityMP, VarianceMP
from pennylane.transforms import (
    broadcast_expand,
    defer_measurements,
    diagonalize_measurements,
    split_non_commuting,
)
from pennylane.transforms.core import CompilePipeline

from ...circuit.circuit import Circuit
from ..base import Sample, State, Task
from ..statevector import StatevectorBackend
from .pennylane import _NAMED

# PennyLane operation name -> hqml gate name
_FROM_PL = {pl: hq for hq, pl in _NAMED.items()}
_MAX_MATRIX_WIRES = 3  # larger operations without an hqml name are decomposed first


def _supported(op: Any) -> bool:
    if op.name in _FROM_PL:
        return True
    return bool(op.has_matrix) and len(op.wires) <= _MAX_MATRIX_WIRES and op.name != "GlobalPhase"


def _to_hqml(tape: Any, wire_order: Any) -> Circuit:
    index = {w: i for i, w in enumerate(wire_order)}
    c = Circuit(max(1, len(wire_order)))
    for op in tape.operations:
        wires = [index[w] for w in op.wires]
        params = [float(p) for p in op.parameters] if op.name in _FROM_PL else []
        if op.name in _FROM_PL:
            c.append(_FROM_PL[op.name], wires, params)
        else:
            c.unitary(np.asarray(qml.matrix(op, wire_order=op.wires), dtype=complex), wires)
    return c


def _is_z(obs: Any) -> bool:
    """Whether a Pauli-represented observable is diagonal (Z and I only)."""
    return all(set(word.values()) <= {"Z", "I"} for word in obs.pauli_rep)


def _from_state(mp: Any, state: np.ndarray, order: Any) -> Any:
    """A measurement of ``state``: expectation values and variances of observables from
    their dense matrix (PennyLane 0.45's ``process_state`` misreads a ``Hermitian`` on a
    multi-qubit state), everything else by PennyLane's own ``process_state``."""
    if isinstance(mp, ExpectationMP | VarianceMP) and mp.obs is not None:
        m = np.asarray(qml.matrix(mp.obs, wire_order=order))
        applied = m @ state
        mean = float(np.real(np.vdot(state, applied)))
        if isinstance(mp, ExpectationMP):
            return np.float64(mean)
        return np.float64(float(np.real(np.vdot(applied, applied))) - mean**2)
    if isinstance(mp, ProbabilityMP) and mp.obs is not None:  # in the observable's eigenbasis
        for gate in mp.obs.diagonalizing_gates():
            state = np.asarray(qml.matrix(gate, wire_order=order)) @ state
        return qml.probs(wires=mp.obs.wires).process_state(state, order)
    return mp.process_state(state, order)


@simulator_tracking
@single_tape_support
class HqmlDevice(Device):
    """hqml's statevector simulator as a PennyLane device (complex128).

    Args:
        wires: number of wires or their labels (``None``: the tape's wires).
        shots: default shots (PennyLane takes them from each tape).
        seed: seeds the sampling (a NumPy seed for a new draw per tape).
    """

    name = "hqml.statevector"

    def __init__(self, wires: Any = None, shots: Any = None, seed: int | None = None):
        super().__init__(wires=wires, shots=shots)
        self._rng = np.random.default_rng(seed)
        self._backend = StatevectorBackend()

    def preprocess_transforms(self, execution_config: ExecutionConfig | None = None) -> Any:
        program = CompilePipeline()
        program.add_transform(validate_device_wires, wires=self.wires, name=self.name)
        program.add_transform(defer_measurements, allow_postselect=False)
        program.add_transform(split_non_commuting)  # with shots, one basis per tape
        program.add_transform(
            decompose, stopping_condition=_supported, skip_initial_state_prep=False,
            name=self.name,
        )  # fmt: skip
        program.add_transform(validate_measurements, name=self.name)
        program.add_transform(broadcast_expand)
        return program

    def execute(self, circuits: Any, execution_config: ExecutionConfig | None = None) -> Any:
        return tuple(self._simulate(tape) for tape in circuits)

    def _run(self, circuit: Circuit, measurement: Any, shots: int | None = None) -> torch.Tensor:
        theta = torch.zeros(1, sum(len(op.params) for op in circuit.ops), dtype=torch.float64)
        gen = None
        if shots is not None:
            gen = torch.Generator().manual_seed(int(self._rng.integers(2**62)))
        col = 0
        for op in circuit.ops:  # the numbers are the circuit's constants
            for p in op.params:
                theta[0, col] = float(p)
                col += 1
        task = Task(circuit, theta, measurement, torch.complex128, shots, gen)
        return self._backend.execute([task])[0][0]

    def _simulate(self, tape: Any) -> Any:
        order = self.wires if self.wires is not None else tape.wires
        circuit = _to_hqml(tape, order)
        if not tape.shots:
            state = self._run(circuit, State()).numpy()
            out = tuple(_from_state(mp, state, order) for mp in tape.measurements)
            return out[0] if len(out) == 1 else out
        return self._sampled(tape, order)

    def _sampled(self, tape: Any, order: Any) -> Any:
        # measure in eigenbases: PennyLane rotates Pauli words; observables it leaves as they
        # are (Hermitian, Projector, Hadamard) get their diagonalizing gates here, once each
        (diag,), _ = diagonalize_measurements(tape)
        rotations, claimed = [], {}
        for mp in diag.measurements:
            obs = mp.obs
            if obs is None or obs.pauli_rep is not None and _is_z(obs):
                continue
            if any(claimed.get(w, obs.hash) != obs.hash for w in obs.wires):
                raise DeviceError(
                    f"{self.name}: measurements on wires {list(obs.wires)} do not"
                    " commute; split them into separate tapes"
                )
            if obs.wires and obs.wires[0] not in claimed:
                rotations += obs.diagonalizing_gates()
            claimed.update(dict.fromkeys(obs.wires, obs.hash))
        circuit = _to_hqml(diag.copy(operations=diag.operations + rotations), order)
        wires = tuple(range(circuit.n_qubits))
        bits = self._run(circuit, Sample(wires), tape.shots.total_shots).numpy()
        results = []
        for lower, upper in tape.shots.bins():
            chunk = bits[lower:upper]
            res = tuple(mp.process_samples(chunk, order) for mp in diag.measurements)
            results.append(res[0] if len(res) == 1 else res)
        return tuple(results) if tape.shots.has_partitioned_shots else results[0]


__all__ = ["HqmlDevice"]
