"""ADAPT-VQE (Grimsley et al., Nat. Commun. 10, 3007, 2019): grow the ansatz one operator at a time.

Each pool operator is ``A_k = i G_k`` with ``G_k = sum_j c_kj P_j`` Hermitian and its Pauli words
mutually commuting, so ``exp(theta A_k) = prod_j exp(i theta c_kj P_j)`` exactly. At the current
state ``|psi>`` the energy gradient of appending ``exp(theta A_k)`` is
``dE/dtheta|_0 = <psi|[H, A_k]|psi> = -2 Im <H psi|G_k psi>``; every pool gradient comes from one
simulated state (``gradients="state"``), or from one batched :func:`hqml.expval` of the
observables ``i [H, G_k]`` (``gradients="commutator"``, any backend, shots allowed). The
operator of largest ``|gradient|`` is appended, all parameters are re-optimised with
:class:`~hqml.algorithms.vqe.VQE`, and the loop stops when the gradient norm falls below
``gradient_tol``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..circuit.circuit import Circuit
from ..circuit.observables import PauliSum, Word
from ..circuit.pauli_rotation import pauli_rotation
from ..execute import expval, state
from ..provenance import provenance
from .adapt_linalg import AnsatzLinalg, apply_words, pool_gradients_from_state
from .optimizers import minimize
from .vqe import VQE

__all__ = [
    "AdaptIteration",
    "AdaptVQE",
    "AdaptVQEResult",
    "PoolOperator",
    "apply_words",
    "commutator_observables",
    "pool_gradients_from_state",
]


@dataclass(frozen=True)
class PoolOperator:
    """One pool element ``A = i G``: a name and the Hermitian generator ``G`` (a ``PauliSum``)."""

    name: str
    generator: PauliSum

    def __post_init__(self) -> None:
        if not self.generator.terms:
            raise ValueError(f"pool operator {self.name!r} has an empty generator")
        if not self.generator.is_hermitian():
            raise ValueError(f"pool operator {self.name!r}: the generator G must be Hermitian")
        words = list(self.generator.terms)
        for a in range(len(words)):
            for b in range(a + 1, len(words)):
                if not _commute(words[a], words[b]):
                    raise ValueError(
                        f"pool operator {self.name!r} has non-commuting Pauli terms, so"
                        " exp(theta A) is not a product of Pauli rotations; split it"
                    )

    def append_to(self, circuit: Circuit, theta: Any) -> Circuit:
        """Append ``exp(i theta G)`` as one Pauli rotation per word."""
        for word, coeff in self.generator.terms.items():
            pauli_rotation(circuit, theta * (-2.0 * coeff.real), word)
        return circuit


def _commute(a: Word, b: Word) -> bool:
    da, db = dict(a), dict(b)
    clashes = sum(1 for w, p in da.items() if w in db and db[w] != p)
    return clashes % 2 == 0


def commutator_observables(hamiltonian: PauliSum, pool: Sequence[PoolOperator]) -> list[PauliSum]:
    """The Hermitian observables ``i [H, G_k]`` whose expectations are the pool gradients."""
    out = []
    for op in pool:
        g = op.generator
        out.append((1j * (hamiltonian @ g - g @ hamiltonian)).simplify(1e-12))
    return out


@dataclass
class AdaptIteration:
    """One ADAPT step: the gradient norm and largest gradient before growing, what was added,
    and the energy after re-optimising."""

    gradient_norm: float
    max_gradient: float
    operator: str | None
    energy: float | None
    n_evaluations: int = 0


@dataclass
class AdaptVQEResult:
    """Outcome of :meth:`AdaptVQE.run`.

    Attributes:
        energy: the final energy (Hartree for molecules).
        parameters: one angle per selected operator, in circuit order.
        operators: names of the selected pool operators (repeats allowed).
        circuit: the grown ansatz with one weight vector ``"theta"``.
        converged: the gradient norm fell below ``gradient_tol``.
        message: why the loop stopped.
        iterations: one :class:`AdaptIteration` per step.
        n_parameters, n_cnots: the grown circuit's parameter and CNOT counts.
        n_gradient_calls: batched pool-gradient calls (one per step).
        provenance: versions, seed, backend, optimiser.
    """

    energy: float
    parameters: np.ndarray
    operators: list[str]
    circuit: Circuit
    converged: bool
    message: str
    iterations: list[AdaptIteration] = field(default_factory=list)
    n_parameters: int = 0
    n_cnots: int = 0
    n_gradient_calls: int = 0
    provenance: dict[str, Any] = field(default_factory=dict)


class AdaptVQE:
    """ADAPT-VQE: grow an ansatz from ``pool`` on ``reference`` until the pool gradients vanish.

    Args:
        hamiltonian: a Hermitian ``PauliSum``.
        pool: the :class:`PoolOperator` list (see :mod:`hqml.algorithms.adapt_pools`).
        reference: the start state: a circuit without weights, or its bits (wire 0 first),
            e.g. ``molecule.hf_bits``.
        gradient_tol: stop when the pool gradient norm is below this.
        max_operators: stop after this many operators have been appended.
        energy_tol: stop (not converged) when appending an operator lowers the energy by
            less than this: the re-optimiser's own tolerance has been reached.
        optimizer, maxiter, options: the re-optimisation (:class:`~hqml.algorithms.vqe.VQE`).
        cold_start: also re-optimise every angle from zero (the reference state) after each
            appended operator and keep the lower energy. ADAPT's warm start (the previous
            angles plus 0) can settle in a local minimum of the grown ansatz; this costs a
            second optimisation per step.
        gradients: ``"state"`` (one statevector simulation, then linear algebra) or
            ``"commutator"`` (one batched ``expval`` of ``i [H, G_k]``, any backend and shots).
        reoptimize: ``"circuit"`` (:class:`~hqml.algorithms.vqe.VQE` on the grown circuit,
            any backend) or ``"state"`` (the same unitary applied to the exact state vector
            by linear algebra, adjoint gradient: no gates simulated, much faster for long
            ansätze; statevector without shots only). ``"auto"``: ``"state"`` when
            ``gradients="state"``, else ``"circuit"``.
        backend, diff_method, shots, seed: passed to the energy and gradient evaluations.

    >>> from hqml.circuit import X, Z
    >>> pool = [PoolOperator("Y0", 1.0 * PauliSum.from_list([("Y", 1.0)]))]
    >>> res = AdaptVQE(Z(0) + X(0), pool, reference=[0]).run()
    >>> round(res.energy, 6), res.operators  # -sqrt(2)
    (-1.414214, ['Y0'])
    """

    GRADIENTS = ("state", "commutator")
    REOPTIMIZE = ("auto", "state", "circuit")

    def __init__(
        self,
        hamiltonian: PauliSum,
        pool: Sequence[PoolOperator],
        reference: Circuit | Sequence[int],
        gradient_tol: float = 1e-3,
        max_operators: int = 50,
        energy_tol: float = 1e-10,
        optimizer: str = "L-BFGS-B",
        maxiter: int = 500,
        options: dict[str, Any] | None = None,
        cold_start: bool = False,
        gradients: str = "state",
        reoptimize: str = "auto",
        backend: str = "statevector",
        diff_method: str = "best",
        shots: int | None = None,
        seed: int | None = None,
    ):
        if not isinstance(hamiltonian, PauliSum) or not hamiltonian.is_hermitian():
            raise ValueError("hamiltonian must be a Hermitian PauliSum")
        if not pool or not all(isinstance(op, PoolOperator) for op in pool):
            raise ValueError("pool must be a non-empty list of PoolOperator")
        if gradients not in self.GRADIENTS:
            raise ValueError(f"gradients must be one of {self.GRADIENTS}, got {gradients!r}")
        if gradients == "state" and (shots is not None or backend != "statevector"):
            raise ValueError(
                "gradients='state' reads the exact statevector; use gradients='commutator'"
                " for shots or another backend"
            )
        if reoptimize not in self.REOPTIMIZE:
            raise ValueError(f"reoptimize must be one of {self.REOPTIMIZE}, got {reoptimize!r}")
        if reoptimize == "auto":
            reoptimize = "state" if gradients == "state" else "circuit"
        if reoptimize == "state" and (shots is not None or backend != "statevector"):
            raise ValueError(
                "reoptimize='state' works on the exact statevector; use reoptimize='circuit'"
                " for shots or another backend"
            )
        if isinstance(reference, Circuit):
            if reference.weights or reference.inputs:
                raise ValueError("the reference circuit must have no weights or inputs")
            self.reference = reference
        else:
            self.reference = Circuit(len(reference))
            for w, b in enumerate(reference):
                if b not in (0, 1):
                    raise ValueError(f"reference bits must be 0 or 1, got {b!r}")
                if b:
                    self.reference.x(w)
        self.n_qubits = self.reference.n_qubits
        wires = set(hamiltonian.wires).union(*(op.generator.wires for op in pool))
        if wires and max(wires) >= self.n_qubits:
            raise ValueError(
                f"the Hamiltonian or pool acts on wire {max(wires)}, outside the"
                f" {self.n_qubits}-qubit reference"
            )
        if gradient_tol <= 0 or max_operators < 1:
            raise ValueError("gradient_tol must be positive and max_operators at least 1")
        self.hamiltonian, self.pool = hamiltonian, list(pool)
        self.gradient_tol, self.max_operators = float(gradient_tol), int(max_operators)
        self.energy_tol = float(energy_tol)
        self.optimizer, self.maxiter, self.options = optimizer, maxiter, options
        self.cold_start = bool(cold_start)
        self.gradients, self.backend, self.diff_method = gradients, backend, diff_method
        self.reoptimize = reoptimize
        self._h_matrix: Any = None
        self._parts: dict[int, Any] = {}
        self.shots, self.seed = shots, seed
        self._observables: list[PauliSum] | None = None

    def ansatz(self, selected: Sequence[int]) -> Circuit:
        """The reference followed by ``exp(theta_i A_{selected[i]})``, weight ``"theta"``."""
        c = self.reference.copy()
        if selected:
            theta = c.weight("theta", len(selected))
            for i, k in enumerate(selected):
                self.pool[k].append_to(c, theta[i])
        return c

    def pool_gradients(self, selected: Sequence[int], params: np.ndarray) -> np.ndarray:
        """Every pool gradient at the current state, in one batched call."""
        c = self.ansatz(selected)
        weights = {"theta": torch.as_tensor(params, dtype=torch.float64)} if selected else None
        if self.gradients == "state":
            with torch.no_grad():
                psi = state(c, weights=weights, dtype=torch.complex128)
            return pool_gradients_from_state(
                self.hamiltonian, self.pool, psi.numpy(), self.n_qubits
            )
        if self._observables is None:
            self._observables = commutator_observables(self.hamiltonian, self.pool)
        with torch.no_grad():
            vals = expval(
                c,
                self._observables,
                weights=weights,
                backend=self.backend,
                shots=self.shots,
                seed=self.seed,
                dtype=torch.complex128,
            )
        return np.asarray(vals, dtype=float).reshape(-1)

    def _reoptimise(self, selected: list[int], x0: np.ndarray) -> tuple[np.ndarray, float, int]:
        """Re-optimise every angle from ``x0`` (and from zero with ``cold_start``): ``(angles,
        energy, energy evaluations)`` of the lower optimum."""
        best = self._reoptimise_from(selected, x0)
        if self.cold_start and np.any(x0):
            cold = self._reoptimise_from(selected, np.zeros_like(x0))
            n_eval = best[2] + cold[2]
            best = (*(cold if cold[1] < best[1] else best)[:2], n_eval)
        return best

    def _reoptimise_from(
        self, selected: list[int], x0: np.ndarray
    ) -> tuple[np.ndarray, float, int]:
        if self.reoptimize == "state":
            model = self._linalg(selected)
            res = minimize(
                model.objective,
                x0,
                method=self.optimizer,
                maxiter=self.maxiter,
                seed=self.seed,
                options=self.options,
            )
            return np.asarray(res.x, dtype=float), float(res.fun), res.n_evaluations
        out = VQE(
            self.hamiltonian,
            self.ansatz(selected),
            optimizer=self.optimizer,
            initial_point=x0,
            maxiter=self.maxiter,
            seed=self.seed,
            backend=self.backend,
            diff_method=self.diff_method,
            shots=self.shots,
            options=self.options,
        ).run()
        return np.asarray(out.optimal_parameters, dtype=float), float(out.energy), out.n_evaluations

    def _linalg(self, selected: Sequence[int]) -> AnsatzLinalg:
        with torch.no_grad():
            ref = state(self.reference, dtype=torch.complex128).numpy()
        model = AnsatzLinalg(
            self.hamiltonian,
            [self.pool[k].generator for k in selected],
            ref,
            self.n_qubits,
            self._h_matrix,
            self._parts,
        )
        self._h_matrix = model.h_full  # built once per run, as each operator's factor
        return model

    def _gradients(self, selected: list[int], params: np.ndarray) -> np.ndarray:
        if self.reoptimize == "state":  # the state without simulating the grown circuit
            psi = self._linalg(selected).state(params)
            return pool_gradients_from_state(self.hamiltonian, self.pool, psi, self.n_qubits)
        return self.pool_gradients(selected, params)

    def run(
        self,
        start: tuple[Sequence[str], Sequence[float]] | None = None,
        callback: Any = None,
    ) -> AdaptVQEResult:
        """Grow, re-optimise, repeat; return the final ansatz, energy and the step log.

        ``callback(operators, angles, energy)`` is called after each appended operator (e.g.
        to save a checkpoint); ``start=(operators, angles)`` continues from such a checkpoint
        (operator names of this pool and their angles, used as given)."""
        names = {op.name: k for k, op in enumerate(self.pool)}
        ops, params = start if start is not None else ((), ())
        if any(name not in names for name in ops) or len(ops) != len(params):
            raise ValueError("start must be (operator names of this pool, one angle each)")
        selected, params = [names[name] for name in ops], np.asarray(params, dtype=float)
        weights = {"theta": torch.as_tensor(params)} if selected else None
        with torch.no_grad():
            energy = float(
                expval(self.ansatz(selected), self.hamiltonian, weights=weights,
                       backend=self.backend, shots=self.shots, seed=self.seed,
                       dtype=torch.complex128)
            )  # fmt: skip
        log: list[AdaptIteration] = []
        converged, message = False, f"stopped at max_operators={self.max_operators}"
        while True:
            grads = self._gradients(selected, params)
            norm, k = float(np.linalg.norm(grads)), int(np.argmax(np.abs(grads)))
            if norm < self.gradient_tol:
                log.append(AdaptIteration(norm, float(abs(grads[k])), None, None))
                converged = True
                message = f"gradient norm {norm:.2e} < gradient_tol {self.gradient_tol:.0e}"
                if not selected:
                    message += " at the reference: no pool operator couples to it (a symmetry?)"
                break
            if len(selected) >= self.max_operators:
                log.append(AdaptIteration(norm, float(abs(grads[k])), None, None))
                break
            selected.append(k)
            new_params, new_energy, n_eval = self._reoptimise(selected, np.append(params, 0.0))
            drop = energy - new_energy
            params, energy = new_params, new_energy
            log.append(
                AdaptIteration(norm, float(abs(grads[k])), self.pool[k].name, energy, n_eval)
            )
            if callback is not None:
                callback([self.pool[j].name for j in selected], params.copy(), energy)
            if drop < self.energy_tol:
                message = f"energy fell by {drop:.1e} < energy_tol; gradient norm {norm:.2e}"
                break
        circuit = self.ansatz(selected)
        prov = provenance(
            seeds={"seed": self.seed},
            backend=str(self.backend),
            diff_method=self.diff_method,
            shots=self.shots,
            optimizer=self.optimizer,
            gradients=self.gradients,
            reoptimize=self.reoptimize,
        )
        return AdaptVQEResult(
            energy, params, [self.pool[k].name for k in selected], circuit, converged, message,
            log, len(selected), circuit.count_ops().get("cx", 0), len(log), prov,
        )  # fmt: skip
