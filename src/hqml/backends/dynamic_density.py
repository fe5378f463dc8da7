"""Dynamic circuits on density matrices: exact, outcome-averaged.

The state is a set of unnormalised density matrices, one per classical record that later steps
still read: a measurement splits each into ``P0 rho P0`` and ``P1 rho P1`` (its bit 0 and 1), a
reset maps ``rho`` to ``P0 rho P0 + X P1 rho P1 X``, and a condition applies its gates to the
records where it holds (a classically controlled channel). Records nothing reads any more are
summed, so the cost is that of the bits conditions still need, not of every outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ..sim import density, measure
from .base import Sample, Task
from .dynamic_program import DynStep, dynamic_program, record_bits

Noise = Callable[[torch.Tensor, Any], torch.Tensor]  # rho, op -> rho after its noise


def _apply(rho: torch.Tensor, n: int, ins: Any) -> torch.Tensor:
    if ins.kind == "matrix":
        return density.apply_unitary(rho, n, ins.data, ins.wires)
    if ins.kind == "diagonal":
        return density.apply_unitary_diagonal(rho, n, ins.data, ins.wires)
    perm, phases = ins.data
    return density.apply_unitary_monomial(rho, n, perm, phases, ins.wires)


def _project(rho: torch.Tensor, n: int, wire: int, outcome: int) -> torch.Tensor:
    diag = torch.zeros(2, dtype=rho.dtype, device=rho.device)
    diag[outcome] = 1
    return density.apply_unitary_diagonal(rho, n, diag, [wire])


def _add(records: dict[int, torch.Tensor], key: int, rho: torch.Tensor) -> None:
    have = records.get(key)
    records[key] = rho if have is None else have + rho


def _measure(
    records: dict[int, torch.Tensor], n: int, step: DynStep, keep: int, confusion: Any
) -> dict[int, torch.Tensor]:
    out: dict[int, torch.Tensor] = {}
    clear = ~(1 << step.bit)
    for key, rho in records.items():
        parts = [_project(rho, n, step.wire, o) for o in (0, 1)]
        for read in (0, 1):
            if confusion is None:
                part = parts[read]
            else:  # readout error: the bit written is ``read`` with probability A[read, true]
                part = confusion[read, 0] * parts[0] + confusion[read, 1] * parts[1]
            _add(out, ((key & clear) | (read << step.bit)) & keep, part)
    return out


def _reset(rho: torch.Tensor, n: int, wire: int) -> torch.Tensor:
    one = _project(rho, n, wire, 1)
    return _project(rho, n, wire, 0) + density.apply_unitary_monomial(one, n, (1, 0), None, [wire])


def record_densities(
    task: Task, noise: Noise | None = None, confusion: Callable[[int], Any] | None = None
) -> dict[int, torch.Tensor]:
    """Unnormalised density matrices ``(B or 1, d, d)`` by classical record (an int, bit j =
    clbit j); a :class:`Sample` keeps every bit, other measurements only what conditions read.
    ``noise(rho, op)`` applies the noise after each operation; ``confusion(wire)`` gives the
    readout confusion ``A[read, true]`` of a mid-circuit measurement (or ``None``)."""
    c = task.circuit
    n = c.n_qubits
    steps = dynamic_program(c, task.theta, task.dtype, task.varying)
    keep_all = isinstance(task.measurement, Sample)
    _price(steps, keep_all, n, task)
    records = {0: density.zero_density(n, 1, task.dtype, task.theta.device)}
    for step in steps:
        keep = -1 if keep_all else step.live
        if step.kind == "gate":
            records = {k: _apply(r, n, step.gates[0]) for k, r in records.items()}
        elif step.kind == "measure":
            a = None if confusion is None else confusion(step.wire)
            records = _measure(records, n, step, keep, a)
        elif step.kind == "reset":
            records = {k: _reset(r, n, step.wire) for k, r in records.items()}
        else:
            holds = step.holds(torch.tensor(list(records), dtype=torch.int64)).tolist()
            for (k, r), yes in zip(list(records.items()), holds, strict=True):
                if yes:
                    for ins, op in zip(step.gates, step.ops, strict=True):
                        r = _apply(r, n, ins)
                        r = r if noise is None else noise(r, op)
                    records[k] = r
        if noise is not None and step.kind != "cond":
            records = {k: noise(r, step.ops[0]) for k, r in records.items()}
        if not keep_all and step.kind != "measure":
            merged: dict[int, torch.Tensor] = {}
            for k, r in records.items():
                _add(merged, k & keep, r)
            records = merged
    return records


MAX_RECORD_AMPLITUDES = 2**27  # density-matrix entries held over every classical record


def _price(steps: list[DynStep], keep_all: bool, n: int, task: Task) -> None:
    measures = sum(1 for s in steps if s.kind == "measure")
    live = max([bin(s.live).count("1") for s in steps] + [0])
    records = 2 ** min(measures, len(task.circuit.clbits) if keep_all else live + 1)
    size = records * task.theta.shape[0] * 4**n
    if size > MAX_RECORD_AMPLITUDES:
        raise ValueError(
            f"this dynamic circuit may hold {records} classical records of {task.theta.shape[0]}"
            f" x 4^{n} density-matrix entries ({size:.3g}, at most {MAX_RECORD_AMPLITUDES:.3g});"
            " use fewer qubits or samples, or backend='statevector' with shots="
        )


def sample_records(
    records: dict[int, torch.Tensor],
    n: int,
    m: int,
    wires: list[int],
    shots: int,
    generator: torch.Generator | None,
    probs_fn: Callable[[torch.Tensor, list[int]], torch.Tensor] | None = None,
) -> torch.Tensor:
    """``shots`` draws of (record, final readout of ``wires``) from the exact joint
    distribution: ``(B, shots, m + k)``, the ``m`` classical bits first."""
    keys = list(records)
    k = len(wires)
    probs_fn = probs_fn or (lambda r, w: density.probabilities(r, n, w))
    bs = max(r.shape[0] for r in records.values())
    joint = torch.cat([probs_fn(records[key], wires).expand(bs, -1) for key in keys], dim=1)
    joint = joint.clamp_min(0)
    idx = measure.sample_indices(joint, shots, generator)  # (B, shots)
    which, rest = idx // 2**k, idx % 2**k
    rec = torch.as_tensor(np.array(keys, dtype=np.int64), device=idx.device)[which]
    out = [record_bits(rec, m)]
    if k:
        out.append(measure.indices_to_bits(rest, k))
    return torch.cat(out, dim=-1)
