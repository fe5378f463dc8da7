"""The price of a request, evaluated on its parsed description before anything large is built.

Every job and program is priced against :class:`Limits` (the server's caps from
:class:`~hqml.runtime.settings.ServiceSettings`, with a token's own shot limit): qubits, gates
after expansion, amplitudes (rows x 2^n, or 4^n for a density matrix; for an MPS the numbers
its site tensors can hold at ``max_bond``), shots x rows, declared
parameter counts, dataset sizes, program steps and the size of the result. A request over a cap
is refused with a one-line :class:`JobRejected` naming the cap.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..backends.mps.memory import chain_bonds
from ..circuit.circuit import Circuit
from .settings import ServiceSettings

DENSITY_BACKENDS = ("density_matrix",)
MPS_BACKENDS = ("mps",)
MPS_DEFAULT_BOND = 64  # MPSBackend's own default max_bond


class JobRejected(ValueError):
    """The payload cannot be run; the message says what to fix (answered with 400)."""


@dataclass(frozen=True)
class Limits:
    """The caps a request is priced against (see ``ServiceSettings`` for each; the defaults are
    the settings' own, written once there)."""

    max_qubits: int = ServiceSettings.max_qubits
    max_rows: int = ServiceSettings.max_batch_rows
    max_shots: int | None = ServiceSettings.max_shots_per_job
    max_amplitudes: int = ServiceSettings.max_amplitudes
    max_gates: int = ServiceSettings.max_gates
    parse_time_s: float = ServiceSettings.parse_time_s
    max_qasm_bytes: int = ServiceSettings.max_qasm_bytes
    max_samples: int = ServiceSettings.max_samples
    max_result_bytes: int = ServiceSettings.max_result_bytes
    max_parameters: int = ServiceSettings.max_parameters
    max_dataset_values: int = ServiceSettings.max_dataset_values
    max_program_steps: int = ServiceSettings.max_program_steps

    @classmethod
    def of(cls, settings: ServiceSettings, token_max_shots: int | None = None) -> Limits:
        """The limits of a server's settings; a token's own shot limit wins when set."""
        s = settings
        return cls(
            max_qubits=s.max_qubits,
            max_rows=s.max_batch_rows,
            max_shots=token_max_shots or s.max_shots_per_job,
            max_amplitudes=s.max_amplitudes,
            max_gates=s.max_gates,
            parse_time_s=s.parse_time_s,
            max_qasm_bytes=s.max_qasm_bytes,
            max_samples=s.max_samples,
            max_result_bytes=s.max_result_bytes,
            max_parameters=s.max_parameters,
            max_dataset_values=s.max_dataset_values,
            max_program_steps=s.max_program_steps,
        )


def approx(n: int) -> str:
    """A count for a message: ``1.1e+12``, or ``about 2^5000`` past what a float holds."""
    return f"{n:.3g}" if n < 1e300 else f"about 2^{n.bit_length() - 1}"


def amplitudes(n_qubits: int, backend: str, options: Mapping[str, Any] | None = None) -> int:
    """Amplitudes one row of a simulation holds: 2^n, 4^n for a density matrix, and for an MPS
    the numbers of its site tensors at the largest bonds ``max_bond`` (an option) allows."""
    if backend in MPS_BACKENDS:
        bond = _max_bond(options)
        bonds = chain_bonds(n_qubits, bond)
        return sum(2 * a * b for a, b in zip(bonds[:-1], bonds[1:], strict=True))
    return 4**n_qubits if backend in DENSITY_BACKENDS else 2**n_qubits


def _max_bond(options: Mapping[str, Any] | None) -> int:
    bond = (options or {}).get("max_bond", MPS_DEFAULT_BOND)
    if isinstance(bond, bool) or not isinstance(bond, int) or bond < 1:
        raise JobRejected(f"options.max_bond must be a positive integer, got {bond!r}")
    return bond


def check_circuit(c: Circuit, limits: Limits) -> None:
    """Qubits and gates of a loaded circuit."""
    if c.n_qubits > limits.max_qubits:
        raise JobRejected(
            f"the circuit has {c.n_qubits} qubits; this server accepts at most {limits.max_qubits}"
        )
    if len(c.ops) > limits.max_gates:
        raise JobRejected(
            f"the circuit has {len(c.ops)} gates; this server accepts at most {limits.max_gates}"
        )


def check_parameters(c: Circuit, limits: Limits) -> None:
    """Declared weight and input sizes (allocated per job, and per row for inputs)."""
    declared = sum(a.size for a in (*c.weights.values(), *c.inputs.values()))
    if declared > limits.max_parameters:
        raise JobRejected(
            f"the circuit declares {approx(declared)} parameter values (weights and"
            f" inputs); this server accepts at most {limits.max_parameters}"
        )


def check_rows(
    rows: int,
    n_qubits: int,
    backend: str,
    limits: Limits,
    *,
    what: str = "the batch",
    options: Mapping[str, Any] | None = None,
) -> None:
    """Rows of one evaluation against the row and amplitude caps (``options``: the backend's,
    an MPS's ``max_bond``)."""
    if rows > limits.max_rows:
        raise JobRejected(f"{what} has {rows} rows; the limit per job is {limits.max_rows}")
    amps = rows * amplitudes(n_qubits, backend, options)
    if amps > limits.max_amplitudes:
        kind = "density matrix" if backend in DENSITY_BACKENDS else "state"
        size = f"4^{n_qubits}" if backend in DENSITY_BACKENDS else f"2^{n_qubits}"
        if backend in MPS_BACKENDS:
            kind = f"MPS at max_bond={_max_bond(options)}"
            size = f"up to {amplitudes(n_qubits, backend, options)}"
        raise JobRejected(
            f"{rows} rows of a {n_qubits}-qubit {kind} ({size} amplitudes each)"
            f" exceed the {limits.max_amplitudes} amplitudes this server simulates"
            " per job; split the batch"
        )


def check_shots(shots: int | None, rows: int, limits: Limits) -> None:
    """Shots of one job, and shots x rows (what sampling draws and returns)."""
    if shots is None:
        return
    if limits.max_shots is not None and shots > limits.max_shots:
        raise JobRejected(f"shots={shots} exceeds the limit of {limits.max_shots} per job")
    if shots * rows > limits.max_samples:
        raise JobRejected(
            f"{rows} rows x {shots} shots = {approx(shots * rows)} samples exceed the"
            f" limit of {limits.max_samples} per job; split the batch or use fewer"
            " shots"
        )


def check_result(n_bytes: int, limits: Limits, what: str, base64: bool = True) -> None:
    """The stored result: ``n_bytes`` of tensor data (base64 in JSON: 4/3 of them), or of JSON
    text with ``base64=False``."""
    stored = (math.ceil(n_bytes * 4 / 3) if base64 else n_bytes) + 200
    if stored > limits.max_result_bytes:
        raise JobRejected(
            f"the result ({what}) would take {stored / 1e6:.1f} MB; this server"
            f" stores at most {limits.max_result_bytes / 1e6:.1f} MB per job;"
            " split the batch or measure fewer wires"
        )


def check_steps(steps: int, limits: Limits, what: str) -> None:
    """Evaluations of a program (iterations, epochs x batches)."""
    if steps > limits.max_program_steps:
        raise JobRejected(
            f"{what} = {approx(steps)} steps exceed the limit of"
            f" {limits.max_program_steps} per program"
        )
