"""Front-door calls built on the others: ``counts`` (from :func:`hqml.sample`) and
``overlaps`` (:meth:`Backend.overlaps`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from .backends.base import Backend, State, Task
from .backends.registry import get_backend
from .circuit.circuit import Circuit
from .circuit.gates import complex_dtype, real_dtype
from .circuit.params import bind_parameters
from .execute import _carry, sample
from .limits import check_state_memory

_COMPLEX = (torch.complex64, torch.complex128)


def overlaps(
    circuit: Circuit,
    inputs_bra: Mapping[str, Any],
    inputs_ket: Mapping[str, Any],
    *,
    weights: Mapping[str, Any] | None = None,
    backend: str | Backend = "statevector",
    dtype: torch.dtype | None = None,
    device: Any = None,
) -> torch.Tensor:
    """``<psi(x_i)|psi(y_j)>`` for the rows of two input batches: ``(N, M)`` complex.

    A backend that holds no statevector (``"mps"``) contracts the two states directly, so the
    Gram matrix of a 100-qubit feature map needs no ``2^n`` vector. Differentiable by backprop.
    """
    be = get_backend(backend)
    if dtype is not None and dtype not in _COMPLEX:
        raise ValueError(f"dtype must be torch.complex64 or torch.complex128, got {dtype}")
    rdt = real_dtype(dtype) if dtype else None
    tasks = []
    for inputs in (inputs_bra, inputs_ket):
        b = bind_parameters(circuit, inputs, weights, rdt, device)
        cdt = dtype or complex_dtype(b.theta.dtype)
        if be.capabilities.holds_state:
            check_state_memory(circuit.n_qubits, b.theta.shape[0], cdt, b.theta.device)
        tasks.append(Task(circuit, b.theta, State(), cdt, varying=b.varying))
    out = be.overlaps(tasks[0], tasks[1])
    return _carry(out, out)


def counts(
    circuit: Circuit, shots: int, wires: Sequence[int] | int | None = None, **kwargs: Any
) -> dict[str, int]:
    """Bitstring counts of an unbatched circuit, e.g. ``{"00": 498, "11": 502}`` (wire order).

    A dynamic circuit's keys are its classical record as Qiskit prints it (registers separated
    by spaces, the last declared first, each with its highest bit first), then, when ``wires``
    are given, a space and the final readout of ``wires`` in wire order."""
    bits = sample(circuit, shots, wires, **kwargs)
    if bits.dim() != 2:
        raise ValueError("counts needs one sample, not a batch; use hqml.sample for batches")
    fmt = _record_format(circuit) if circuit.is_dynamic else None
    out: dict[str, int] = {}
    for row in bits.tolist():
        key = "".join(map(str, row)) if fmt is None else fmt(row)
        out[key] = out.get(key, 0) + 1
    return dict(sorted(out.items()))


def _record_format(circuit: Circuit) -> Any:
    spans, start = [], 0
    for size in circuit.cregs.values():
        spans.append((start, size))
        start += size

    def fmt(row: list[int]) -> str:
        groups = ["".join(map(str, row[s : s + k][::-1])) for s, k in reversed(spans)]
        if len(row) > start:
            groups.append("".join(map(str, row[start:])))
        return " ".join(groups)

    return fmt
