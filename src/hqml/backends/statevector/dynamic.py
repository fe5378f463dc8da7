"""Dynamic circuits on the statevector: deferred measurement, branch enumeration, shots.

- **Deferred measurement** (:mod:`hqml.circuit.deferred`): where every measured qubit is left
  alone after its measurement, the circuit is run as the equivalent unitary circuit by the
  ordinary engines (exact; adjoint and backprop apply).
- **Branch enumeration**: every outcome of every measurement and reset is a branch, an
  unnormalised pure state with its classical record; outcome-averaged probabilities and
  expectation values are sums over branches. Exact, for up to :data:`MAX_BRANCHES` branches.
- **Per-shot sampling**: each shot draws its outcomes as it goes (the state collapses and is
  renormalised), batched over shots and samples and seeded; :func:`sample_shots` returns the
  classical record and the final readout.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from ...circuit.deferred import defer_measurements
from ...circuit.observables import PauliSum, observable_terms
from ...sim import measure
from ...sim.program import Instruction, apply
from ...sim.statevector import apply_diagonal, apply_monomial, zero_state
from ..base import Expval, Probs, Sample, State, Task
from ..density_matrix import basis_rotation, measured_words
from ..dynamic_program import DynStep, count_branches, dynamic_program, record_bits

MAX_BRANCHES = 2**12  # pure-state branches of enumeration
MAX_AMPLITUDES = 2**25  # branches (or shots) x samples x 2**n held at once


def deferred_task(task: Task) -> Task | str:
    """The task on the deferred-measurement circuit, or why it does not apply."""
    m = task.measurement
    if task.shots is not None or not isinstance(m, (Expval, Probs)):
        return "it gives exact expectation values and probabilities only"
    if task.options.get("noise_model") is not None:
        return "a noise model acts on the measurements"
    rewritten = defer_measurements(task.circuit)
    if isinstance(rewritten, str):
        return rewritten
    circuit, measured = rewritten
    if isinstance(m, Expval):
        m = Expval(tuple(_dephased(o, measured) for o in m.observables))
    return dataclasses.replace(task, circuit=circuit, measurement=m)


def _dephased(obs: PauliSum, measured: frozenset[int]) -> PauliSum:
    # a measured qubit is dephased: X and Y on it average to zero
    def kept(word: Any) -> bool:
        return not any(q in measured and p != "Z" for q, p in word)

    return PauliSum({w: c for w, c in obs.terms.items() if kept(w)})


def execute_dynamic(task: Task) -> torch.Tensor:
    """Probabilities, expectation values or samples of a dynamic circuit, without the deferred
    rewrite (the backend tries that first)."""
    m = task.measurement
    if task.options.get("noise_model") is not None:
        raise ValueError("noise on a dynamic circuit is simulated by backend='density_matrix' only")
    if isinstance(m, State):
        raise ValueError(
            "a dynamic circuit ends in a mixture of states, not one statevector; use"
            " backend='density_matrix' for its density matrix, or probs/expval"
        )
    steps = dynamic_program(task.circuit, task.theta, task.dtype, task.varying)
    if isinstance(m, Sample):
        return sample_shots(task, steps)
    states, _ = enumerate_branches(task, steps)
    n, bs = task.circuit.n_qubits, task.theta.shape[0]
    if isinstance(m, Probs):
        p = measure.probabilities(states, n, list(m.wires))
        return p.reshape(-1, bs, p.shape[-1]).sum(0)
    words, coeffs = observable_terms(m.observables)
    if task.shots is None:
        values = measure.expval_words(states, n, words).reshape(-1, bs, len(words)).sum(0)
    else:

        def probs_fn(basis: dict[int, str], wires: list[int]) -> torch.Tensor:
            s = states
            for w, pauli in basis.items():
                if pauli != "Z":
                    s = apply(
                        s, n, Instruction("matrix", (w,), basis_rotation(pauli, s.dtype, s.device))
                    )
            p = measure.probabilities(s, n, wires)
            return p.reshape(-1, bs, p.shape[-1]).sum(0)

        values = measured_words(probs_fn, words, bs, states.real.dtype, states.device,
                                task.shots, task.generator)  # fmt: skip
    return values @ torch.as_tensor(coeffs, dtype=values.dtype, device=values.device)


def _tiled(ins: Instruction, reps: int, interleave: bool) -> Instruction:
    """``ins`` with batched data repeated for ``reps`` copies of each sample's rows."""
    if ins.kind == "monomial" or reps == 1:
        return ins
    unbatched = 2 if ins.kind == "matrix" else 1
    if ins.data.dim() == unbatched or ins.data.shape[0] == 1:
        return ins
    data = (
        ins.data.repeat_interleave(reps, 0)
        if interleave
        else ins.data.repeat((reps,) + (1,) * (ins.data.dim() - 1))
    )
    return Instruction(ins.kind, ins.wires, data)


def _project(state: torch.Tensor, n: int, wire: int, outcome: int) -> torch.Tensor:
    diag = torch.zeros(2, dtype=state.dtype, device=state.device)
    diag[outcome] = 1
    return apply_diagonal(state, n, diag, [wire])


def _flip(state: torch.Tensor, n: int, wire: int) -> torch.Tensor:
    return apply_monomial(state, n, (1, 0), None, [wire])


def enumerate_branches(task: Task, steps: list[DynStep]) -> tuple[torch.Tensor, torch.Tensor]:
    """Every branch's unnormalised final state, ``(R * B, 2**n)`` branch-major, and its record
    ``(R,)`` (int64, bit j = clbit j). Branches of zero weight are dropped as they appear.

    Raises:
        ValueError: when the branches would exceed :data:`MAX_BRANCHES` or the memory cap.
    """
    n, bs = task.circuit.n_qubits, task.theta.shape[0]
    bound = count_branches(steps)
    if bound > MAX_BRANCHES or bound * bs * 2**n > MAX_AMPLITUDES:
        raise ValueError(
            f"exact statevector simulation of this dynamic circuit may need {bound} branches"
            f" of {bs} x 2^{n} amplitudes (at most {MAX_BRANCHES} branches and"
            f" {MAX_AMPLITUDES} amplitudes); use backend='density_matrix' or shots="
        )
    state = zero_state(n, bs, task.dtype, task.theta.device)
    records = torch.zeros(1, dtype=torch.int64)
    for step in steps:
        r = records.shape[0]
        if step.kind == "gate":
            state = apply(state, n, _tiled(step.gates[0], r, False))
        elif step.kind == "cond":
            where = step.holds(records).repeat_interleave(bs).to(state.device)[:, None]
            if bool(where.any()):
                new = state
                for ins in step.gates:
                    new = apply(new, n, _tiled(ins, r, False))
                state = torch.where(where, new, state)
        else:
            zero, one = _project(state, n, step.wire, 0), _project(state, n, step.wire, 1)
            if step.kind == "reset":
                one = _flip(one, n, step.wire)
                recs = (records, records)
            else:
                clear = records & ~(1 << step.bit)
                recs = (clear, clear | (1 << step.bit))
            state, records = _prune(torch.cat([zero, one]), torch.cat(recs), bs)
    return state, records


def _prune(state: torch.Tensor, records: torch.Tensor, bs: int) -> tuple[torch.Tensor, Any]:
    weight = (state.real.square() + state.imag.square()).sum(-1).reshape(-1, bs).amax(1)
    keep = weight > 1e-26
    if bool(keep.all()):
        return state, records
    rows = keep.repeat_interleave(bs)
    return state[rows], records[keep.cpu()]


def sample_shots(task: Task, steps: list[DynStep]) -> torch.Tensor:
    """``(B, shots, m + k)``: each shot's classical record (``circuit.clbits`` order) and its
    final readout of the measurement's wires, shots drawn one outcome at a time."""
    n, bs = task.circuit.n_qubits, task.theta.shape[0]
    shots = task.shots or 1
    chunk = max(1, MAX_AMPLITUDES // (bs * 2**n))
    parts = [_shots(task, steps, min(chunk, shots - s)) for s in range(0, shots, chunk)]
    return torch.cat(parts, dim=1)


def _uniform(task: Task, rows: int, device: Any) -> torch.Tensor:
    gen = task.generator
    dev = gen.device if gen is not None else torch.device("cpu")
    return torch.rand(rows, generator=gen, dtype=torch.float64, device=dev).to(device)


def _collapse(task: Task, state: torch.Tensor, n: int, wire: int) -> tuple[torch.Tensor, Any]:
    p1 = measure.probabilities(state, n, [wire])[:, 1].to(torch.float64)
    norm = (state.real.square() + state.imag.square()).sum(-1).to(torch.float64)
    one = _uniform(task, state.shape[0], state.device) * norm < p1
    kept = torch.where(one[:, None], _project(state, n, wire, 1), _project(state, n, wire, 0))
    scale = torch.where(one, p1, norm - p1).clamp_min(1e-300).rsqrt()
    return kept * scale.to(state.real.dtype)[:, None], one


def _shots(task: Task, steps: list[DynStep], shots: int) -> torch.Tensor:
    n, bs = task.circuit.n_qubits, task.theta.shape[0]
    state = zero_state(n, bs * shots, task.dtype, task.theta.device)  # rows b * shots + s
    records = torch.zeros(bs * shots, dtype=torch.int64, device=state.device)
    for step in steps:
        if step.kind == "gate":
            state = apply(state, n, _tiled(step.gates[0], shots, True))
        elif step.kind == "cond":
            where = step.holds(records)[:, None]
            if bool(where.any()):
                new = state
                for ins in step.gates:
                    new = apply(new, n, _tiled(ins, shots, True))
                state = torch.where(where, new, state)
        else:
            state, one = _collapse(task, state, n, step.wire)
            if step.kind == "reset":
                state = torch.where(one[:, None], _flip(state, n, step.wire), state)
            else:
                bit = one.to(torch.int64) << step.bit
                records = (records & ~(1 << step.bit)) | bit
    m = len(task.circuit.clbits)
    out = [record_bits(records, m)]
    wires = list(task.measurement.wires)
    if wires:
        p = measure.probabilities(state, n, wires)
        idx = measure.sample_indices(p, 1, task.generator)[:, 0]
        out.append(measure.indices_to_bits(idx, len(wires)))
    return torch.cat(out, dim=-1).reshape(bs, shots, -1)
