"""Readout mitigation with tensored (per-qubit) confusion matrices.

Calibrate by preparing |0...0> and |1...1> (two circuits give every qubit's confusion matrix
under the tensored assumption), then undo the confusion on measured probabilities: apply each
qubit's inverse matrix and project the result onto the probability simplex (the closest
distribution in least squares), so mitigated results stay probabilities.

>>> import hqml
>>> from hqml.noise import NoiseModel, ReadoutError
>>> nm = NoiseModel().add_readout_error(ReadoutError.from_flips(0.05, 0.1))
>>> mit = ReadoutMitigator.calibrate(2, "density_matrix", noise_model=nm)
>>> c = hqml.Circuit(2).h(0).cnot(0, 1)
>>> p = mit.correct_probs(hqml.probs(c, backend="density_matrix", noise_model=nm), wires=[0, 1])
>>> [round(v, 4) for v in p.tolist()]
[0.5, 0.0, 0.0, 0.5]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from ..backends.base import Backend, Expval, Probs, Sample, Task
from ..circuit.circuit import Circuit
from ..circuit.observables import PauliSum, observable_terms
from ..execute import probs as run_probs
from .tasks import WrappingBackend


def project_to_simplex(v: torch.Tensor) -> torch.Tensor:
    """The closest probability vector (Euclidean) to each row of ``v`` ``(B, D)``."""
    d = v.shape[-1]
    u, _ = torch.sort(v, dim=-1, descending=True)
    css = torch.cumsum(u, dim=-1) - 1
    k = torch.arange(1, d + 1, dtype=v.dtype, device=v.device)
    cond = (u - css / k) > 0
    rho = (cond * torch.arange(d, device=v.device)).amax(dim=-1, keepdim=True)
    tau = css.gather(-1, rho) / (rho + 1).to(v.dtype)
    return (v - tau).clamp_min(0)


class ReadoutMitigator:
    """Per-qubit confusion matrices ``A[read, true]`` and their correction.

    Args:
        confusions: ``wire -> A`` (2x2, columns sum to one).
    """

    def __init__(self, confusions: Mapping[int, Any]):
        self.confusions: dict[int, np.ndarray] = {}
        for w, a in confusions.items():
            a = np.asarray(a, dtype=np.float64)
            if a.shape != (2, 2) or not np.allclose(a.sum(axis=0), 1) or (a < -1e-12).any():
                raise ValueError(
                    f"confusion matrix of wire {w} must be 2x2 A[read, true] with columns"
                    f" summing to 1, got {a.tolist()}"
                )
            if abs(np.linalg.det(a)) < 1e-9:
                raise ValueError(
                    f"confusion matrix of wire {w} is singular; the readout carries no"
                    " information to undo"
                )
            self.confusions[int(w)] = a

    @classmethod
    def calibrate(
        cls,
        wires: int | Sequence[int],
        backend: Backend | str = "density_matrix",
        *,
        noise_model: Any = None,
        shots: int | None = None,
        seed: int | None = None,
        n_qubits: int | None = None,
    ) -> ReadoutMitigator:
        """Measure the confusion matrices by preparing |0...0> and |1...1>.

        Args:
            wires: the wires to calibrate, or their number (wires ``0..n-1``).
            backend: where to run (any backend; a real device adapter too).
            noise_model: passed through to the runs.
            shots: ``None`` for exact probabilities, else the shots per calibration circuit.
            seed: seeds the sampling.
            n_qubits: the register size (default: one more than the largest wire).
        """
        ws = list(range(wires)) if isinstance(wires, int) else [int(w) for w in wires]
        n = n_qubits or max(ws) + 1
        zeros = Circuit(n)
        for w in ws:
            zeros.id(w)
        ones = Circuit(n)
        for w in ws:
            ones.x(w)
        conf = {w: np.zeros((2, 2)) for w in ws}
        for true_bit, circ in ((0, zeros), (1, ones)):
            p = run_probs(
                circ,
                wires=ws,
                backend=backend,
                noise_model=noise_model,
                shots=shots,
                seed=seed,
                dtype=torch.complex128,
            )
            p = p.detach().double().reshape((2,) * len(ws)).cpu().numpy()
            for j, w in enumerate(ws):
                marg = p.sum(axis=tuple(i for i in range(len(ws)) if i != j))
                conf[w][:, true_bit] = marg
        return cls(conf)

    def inverse_confusions(self, wires: Sequence[int]) -> list[np.ndarray | None]:
        return [
            None if w not in self.confusions else np.linalg.inv(self.confusions[w]) for w in wires
        ]

    def correct_probs(
        self, probs: torch.Tensor, wires: Sequence[int], project: bool = True
    ) -> torch.Tensor:
        """Undo the readout errors of ``probs`` ``(..., 2**k)`` over ``wires`` (in that order).

        With ``project`` (default) the result is projected onto the probability simplex.
        """
        p = torch.as_tensor(probs)
        k = len(wires)
        if p.shape[-1] != 2**k:
            raise ValueError(f"probabilities over {k} wires need 2**{k} entries, got {p.shape[-1]}")
        shape = p.shape
        flat = p.reshape(-1, 2**k).to(torch.float64 if p.dtype == torch.float64 else p.dtype)
        for j, inv in enumerate(self.inverse_confusions(wires)):
            if inv is not None:  # on bit j of the index (wires[0] the most significant)
                m = torch.as_tensor(inv, dtype=flat.dtype, device=flat.device)
                t = flat.reshape(flat.shape[0], 2**j, 2, 2 ** (k - 1 - j))
                flat = torch.einsum("ab,rxby->rxay", m, t).reshape(flat.shape)
        if project:
            flat = project_to_simplex(flat)
        return flat.reshape(shape)

    def backend(self, base: Backend | str, **options: Any) -> ReadoutMitigatedBackend:
        """A backend whose probabilities and expectation values are readout-corrected."""
        return ReadoutMitigatedBackend(base, self, **options)


class ReadoutMitigatedBackend(WrappingBackend):
    """Wraps a backend: probabilities are corrected; expectation values are measured per qubit-wise
    commuting group in its basis (rotation gates appended), corrected, then reduced to parities."""

    label = "readout_mitigated"
    keeps = frozenset({"backprop", "parameter-shift", "finite-diff", "spsa"})
    answers = frozenset({"expval", "probs"})

    def __init__(self, base: Backend | str, mitigator: ReadoutMitigator, **options: Any):
        super().__init__(base, **options)
        self.mitigator = mitigator

    def _probs(self, task: Task, circuit: Circuit, wires: list[int]) -> torch.Tensor:
        if task.shots is None:
            t = Task(
                circuit,
                task.theta,
                Probs(tuple(wires)),
                task.dtype,
                None,
                task.generator,
                task.varying,
                task.options,
            )
            return self.run_base([t])[0]
        t = Task(
            circuit,
            task.theta,
            Sample(tuple(wires)),
            task.dtype,
            task.shots,
            task.generator,
            task.varying,
            task.options,
        )
        bits = self.run_base([t])[0]
        idx = (bits * (2 ** torch.arange(len(wires) - 1, -1, -1, device=bits.device))).sum(-1)
        counts = torch.nn.functional.one_hot(idx, 2 ** len(wires)).sum(-2)
        return counts.to(task.theta.dtype) / task.shots

    def execute_one(self, task: Task) -> torch.Tensor:
        m = task.measurement
        if isinstance(m, Probs):
            p = self._probs(task, task.circuit, list(m.wires))
            return self.mitigator.correct_probs(p, list(m.wires))
        if isinstance(m, Expval):
            return self._expval(task, m)
        raise ValueError(f"{self.name} corrects probabilities and expectation values only")

    def _expval(self, task: Task, m: Expval) -> torch.Tensor:
        words, coeffs = observable_terms(m.observables)
        bs = task.theta.shape[0]
        rdt = task.theta.dtype
        values: dict[int, torch.Tensor] = {}
        index = {w: i for i, w in enumerate(words)}
        if () in index:
            values[index[()]] = torch.ones(bs, dtype=rdt, device=task.theta.device)
        for group in PauliSum({w: 1.0 for w in words if w}).group_qwc():
            basis: dict[int, str] = {}
            for word in group.terms:
                basis.update(word)
            wires = sorted(basis)
            circ = task.circuit.copy()
            for w in wires:
                if basis[w] == "Y":
                    circ.sdg(w)
                if basis[w] in "XY":
                    circ.h(w)
            p = self.mitigator.correct_probs(self._probs(task, circ, wires), wires).to(rdt)
            shifts = torch.arange(len(wires) - 1, -1, -1, device=p.device)
            bits = (torch.arange(2 ** len(wires), device=p.device)[:, None] >> shifts) & 1
            for word in group.terms:
                sel = [wires.index(w) for w, _ in word]
                signs = (1 - 2 * (bits[:, sel].sum(-1) % 2)).to(rdt)
                values[index[word]] = (p * signs).sum(-1).expand(bs)
        stacked = torch.stack([values[t] for t in range(len(words))], dim=1)
        return stacked @ torch.as_tensor(coeffs, dtype=rdt, device=stacked.device)
