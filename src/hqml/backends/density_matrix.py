"""Exact noisy simulation with batched density matrices (``"density_matrix"``).

Each circuit operation becomes ``rho -> U rho U^dagger``; the noise model's channels follow it as
superoperators, and readout errors act on the measured probabilities through their confusion
matrices. Everything is a torch operation, so results are differentiable by backprop (noise-aware
training). Memory grows as ``4**n`` per sample: about 10-12 qubits is the useful range.

>>> import hqml
>>> from hqml.noise import NoiseModel, depolarizing
>>> c = hqml.Circuit(1).x(0)
>>> nm = NoiseModel().add_channel(depolarizing(0.3))
>>> round(float(hqml.expval(c, hqml.Z(0), backend="density_matrix", noise_model=nm)), 6)
-0.6
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from ..circuit.observables import PauliSum, observable_terms
from ..sim import density, density_adjoint, density_fused, measure
from ..sim.program import Instruction
from .base import Backend, Capabilities, Expval, Probs, Sample, State, Task
from .dynamic_density import record_densities, sample_records
from .instructions import build_program

ProbsFn = Callable[[dict[int, str], list[int]], torch.Tensor]


def basis_rotation(pauli: str, dtype: torch.dtype, device: Any) -> torch.Tensor:
    """The one-qubit unitary that maps the eigenbasis of ``"X"`` or ``"Y"`` onto Z's."""
    h = torch.tensor([[1, 1], [1, -1]], dtype=dtype, device=device) / 2**0.5
    if pauli == "X":
        return h
    return h @ torch.tensor([[1, 0], [0, -1j]], dtype=dtype, device=device)


def measured_words(
    probs_fn: ProbsFn,
    words: list[tuple],
    batch: int,
    dtype: torch.dtype,
    device: Any,
    shots: int | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Pauli word values ``(B, T)`` as measured: per qubit-wise commuting group, rotate into its
    basis, read the (noisy) probabilities ``probs_fn(basis, wires)`` and take parities; exact
    with ``shots=None``, else estimated from ``shots`` samples per group."""
    out = torch.zeros(batch, len(words), dtype=dtype, device=device)
    cols: list[torch.Tensor] = []
    index = {w: i for i, w in enumerate(words)}
    values: dict[int, torch.Tensor] = {}
    if () in index:
        values[index[()]] = torch.ones(batch, dtype=dtype, device=device)
    for group in PauliSum({w: 1.0 for w in words if w}).group_qwc():
        basis: dict[int, str] = {}
        for word in group.terms:
            basis.update(word)
        wires = sorted(basis)
        p = probs_fn(basis, wires).to(dtype)
        k = len(wires)
        if shots is not None:
            idx = measure.sample_indices(p, shots, generator)
            p = measure.counts_from_indices(idx, 2**k).to(dtype) / shots
        bits = measure.indices_to_bits(torch.arange(2**k, device=device), k)  # (2^k, k)
        for word in group.terms:
            sel = [wires.index(w) for w, _ in word]
            signs = (1 - 2 * (bits[:, sel].sum(-1) % 2)).to(dtype)
            values[index[word]] = (p * signs).sum(-1).expand(batch)
    for t in range(len(words)):
        cols.append(values[t])
    return torch.stack(cols, dim=1) if cols else out


class DensityMatrixBackend(Backend):
    """Batched density-matrix simulation with noise models, differentiable by backprop."""

    name = "density_matrix"
    capabilities = Capabilities(
        max_qubits=14,
        diff_methods=frozenset({"backprop", "parameter-shift", "finite-diff", "spsa"}),
        supports_noise=True,
        dynamic=True,
        reusable=True,
    )

    def __init__(self, **options: Any):
        self.options = options

    def execute(self, tasks: Sequence[Task]) -> list[torch.Tensor]:
        return [self._execute_one(t) for t in tasks]

    def rows_per_call(self, task: Task) -> int | None:
        """A row holds a ``4^n`` density matrix: the stacked-amplitude budget counts that."""
        return max(1, (super().rows_per_call(task) or 1) // 2**task.circuit.n_qubits)

    def final_density(self, task: Task) -> torch.Tensor:
        """The density matrix after the circuit and its noise: ``(B or 1, 2**n, 2**n)``."""
        if task.circuit.is_dynamic:
            return sum(self.dynamic_records(task).values())
        return self._evolve(task, lambda rho: rho)

    def _evolve(self, task: Task, readout: Any) -> torch.Tensor:
        """``readout`` (a function of the final density matrices, or Pauli words: their values)
        by :func:`hqml.sim.density_adjoint.evolve` (rows chunked; gradients by its adjoint
        sweep, not autograd through every step)."""
        blocks = density_fused.fuse(self._items(task))
        n = task.circuit.n_qubits
        return density_adjoint.evolve(n, blocks, readout, task.dtype, task.theta.device)

    @staticmethod
    def _items(task: Task) -> list[tuple[tuple[int, ...], torch.Tensor]]:
        """Each operation and its noise as one superoperator (interleaved, ascending wires); a
        channel on wires outside its operation's stays an item of its own."""
        c, dt, dev = task.circuit, task.dtype, task.theta.device
        nm = task.options.get("noise_model")
        program = build_program(c, task.theta, dt, task.varying)
        # the channels' superoperators, each gate kind's noise after it, and permutation gates
        # with their noise: built once per noise model (while it lives and keeps its rules)
        cache = _model_cache(nm, dt, dev)
        superops: dict[int, torch.Tensor] = cache["superops"]
        noise: dict[tuple, Any] = cache["noise"]
        fixed: dict[tuple, list] = cache["fixed"]
        items: list[tuple[tuple[int, ...], torch.Tensor]] = []
        for op, ins in zip(c.ops, program, strict=True):
            key = (op.gate.name, tuple(op.wires))
            mono = None
            if ins.kind == "monomial":
                perm, phases = ins.data
                mono = (key, tuple(ins.wires), tuple(perm), phases and tuple(phases))
            if mono in fixed:
                items.extend(fixed[mono])
                continue
            start = len(items)
            wires, s = density_fused.unitary_superop(dense_matrix(ins, dt, dev), ins.wires)
            if nm is not None and key not in noise:
                chans = []
                for ch, w in nm.channels_for(op.gate.name, op.wires):
                    if id(ch) not in superops:
                        superops[id(ch)] = torch.as_tensor(ch.superoperator(), dtype=dt, device=dev)
                    chans.append(density_fused.to_interleaved(superops[id(ch)], w))
                noise[key] = _noise_after(wires, chans)
            after = noise.get(key)
            if isinstance(after, torch.Tensor):
                items.append((wires, after @ s))
            else:
                items.append((wires, s))
                items.extend(after or [])
            if mono is not None:
                fixed[mono] = items[start:]
        return items

    def dynamic_records(self, task: Task) -> dict[int, torch.Tensor]:
        """A dynamic circuit's unnormalised density matrices by classical record."""
        nm = task.options.get("noise_model")
        if nm is None:
            return record_densities(task)
        cache: dict[int, torch.Tensor] = {}

        def noise(rho: torch.Tensor, op: Any) -> torch.Tensor:
            for channel, wires in dynamic_channels(nm, op):
                s = cache.get(id(channel))
                if s is None:
                    s = cache[id(channel)] = torch.as_tensor(
                        channel.superoperator(), dtype=task.dtype, device=rho.device
                    )
                rho = density.apply_superoperator(rho, task.circuit.n_qubits, s, wires)
            return rho

        def confusion(wire: int) -> Any:
            a = nm.confusions([wire])[0]
            return None if a is None else np.asarray(a)

        return record_densities(task, noise, confusion)

    def _execute_one(self, task: Task) -> torch.Tensor:
        n = task.circuit.n_qubits
        if task.circuit.is_dynamic and isinstance(task.measurement, Sample):
            nm = task.options.get("noise_model")
            readout = nm if nm is not None and nm.has_readout_errors else None
            return sample_records(
                self.dynamic_records(task), n, len(task.circuit.clbits),
                list(task.measurement.wires), task.shots or 1, task.generator,
                lambda r, w: self._noisy_probs(r, n, w, readout),
            )  # fmt: skip
        bs = task.theta.shape[0]
        m = task.measurement
        nm = task.options.get("noise_model")
        readout = nm is not None and nm.has_readout_errors
        exact = task.shots is None and not readout and not task.circuit.is_dynamic
        if isinstance(m, Expval) and exact:
            words, coeffs = observable_terms(m.observables)
            values = self._evolve(task, words)
            values = values.expand(bs, -1) if values.shape[0] != bs else values
            return values @ torch.as_tensor(coeffs, dtype=values.dtype, device=values.device)
        rho = self.final_density(task)
        if rho.shape[0] != bs:
            rho = rho.expand(bs, -1, -1)
        if isinstance(m, State):
            return rho
        if isinstance(m, (Probs, Sample)):
            p = self._noisy_probs(rho, n, list(m.wires), nm if readout else None)
            if isinstance(m, Probs):
                return p
            idx = measure.sample_indices(p, task.shots or 1, task.generator)
            return measure.indices_to_bits(idx, len(m.wires))
        if isinstance(m, Expval):
            words, coeffs = observable_terms(m.observables)
            if task.shots is None and not readout:
                values = density.expval_words(rho, n, words)
            else:

                def probs_fn(basis: dict[int, str], wires: list[int]) -> torch.Tensor:
                    r = rho
                    for w, pauli in basis.items():
                        if pauli != "Z":
                            r = density.apply_unitary(
                                r, n, basis_rotation(pauli, r.dtype, r.device), [w]
                            )
                    return self._noisy_probs(r, n, wires, nm if readout else None)

                values = measured_words(
                    probs_fn, words, bs, rho.real.dtype, rho.device, task.shots, task.generator
                )
            return values @ torch.as_tensor(coeffs, dtype=values.dtype, device=values.device)
        raise TypeError(f"unknown measurement {m!r}")

    @staticmethod
    def _noisy_probs(rho: torch.Tensor, n: int, wires: list[int], nm: Any) -> torch.Tensor:
        p = density.probabilities(rho, n, wires)
        if nm is None:
            return p
        conf = [
            None if a is None else torch.as_tensor(np.asarray(a), device=p.device)
            for a in nm.confusions(wires)
        ]
        return density.apply_confusion(p, conf)


_MODEL_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _model_cache(nm: Any, dt: torch.dtype, dev: Any) -> dict[str, dict]:
    """What :meth:`DensityMatrixBackend._items` keeps between calls for noise model ``nm``
    (fresh for ``None``), per dtype and device and the model's rules as they are now (the entry
    holds them, so their ids cannot be reused while it lives)."""
    fresh: dict[str, dict] = {"superops": {}, "noise": {}, "fixed": {}}
    if nm is None:
        return fresh
    per = _MODEL_CACHE.setdefault(nm, {})
    key = (tuple(id(rule) for rule in nm.rules), dt, str(dev))
    if key not in per:
        if len(per) >= 8:  # the model's rules changed often: keep the newest
            per.pop(next(iter(per)))
        per[key] = {**fresh, "rules": tuple(nm.rules)}
    return per[key]


def _noise_after(wires: tuple[int, ...], chans: list) -> Any:
    """The channels after an operation on ``wires`` as one superoperator on those wires, or
    the list itself when one acts on other wires (or ``None`` when there are none)."""
    if not chans:
        return None
    if any(not set(w) <= set(wires) for w, _ in chans):
        return chans
    d = 4 ** len(wires)
    m = torch.eye(d, dtype=chans[0][1].dtype, device=chans[0][1].device)
    for w, s in chans:
        m = density_fused.act(m, wires, s, w)
    return m


def dense_matrix(ins: Instruction, dtype: torch.dtype, device: Any) -> torch.Tensor:
    """An instruction's matrix ``(d, d)`` or ``(B, d, d)``."""
    if ins.kind == "matrix":
        return ins.data
    if ins.kind == "diagonal":
        return torch.diag_embed(ins.data)
    perm, phases = ins.data
    u = torch.zeros(len(perm), len(perm), dtype=dtype, device=device)
    for j, pj in enumerate(perm):
        u[pj, j] = 1 if phases is None else phases[j]
    return u


def dynamic_channels(nm: Any, op: Any) -> list[tuple[Any, tuple[int, ...]]]:
    """The noise after ``op``: a gate's channels; after a reset, the channels of rules that
    name ``"reset"`` (a reset error); none after a measurement (its readout error acts on the
    bit written)."""
    name = op.gate.name if hasattr(op, "gate") else op.name
    if name == "measure":
        if any(rule.gates is not None and "measure" in rule.gates for rule in nm.rules):
            raise ValueError(
                "noise channels attached to 'measure' are not simulated; model measurement"
                " errors with NoiseModel.add_readout_error"
            )
        return []
    if name != "reset":
        return nm.channels_for(name, op.wires)
    return [
        (rule.channel, t)
        for rule in nm.rules
        if rule.gates is not None and "reset" in rule.gates
        for t in rule.targets("reset", op.wires) or []
    ]
