"""VQE: minimise ``<psi(theta)|H|psi(theta)>`` over the weights of an ansatz circuit."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..backends.mps import Truncation, worst
from ..circuit.circuit import Circuit
from ..circuit.observables import PauliSum
from ..execute import expval
from ..provenance import provenance
from .optimizers import minimize


@dataclass
class VQEResult:
    """Outcome of :meth:`VQE.run`.

    Attributes:
        energy: the lowest energy found.
        optimal_parameters: the flat parameter vector at that energy.
        optimal_weights: the same as ``{weight name: tensor}`` for the ansatz.
        history: energy at every evaluation.
        n_evaluations: energy evaluations (circuit runs of the full Hamiltonian).
        n_gradient_evaluations: exact gradient evaluations (each one adjoint/backprop pass).
        message: the optimiser's stopping message.
        provenance: hqml version, commit, seed, backend, diff method, noise, machine, versions
            (:func:`hqml.provenance.provenance`).
        truncation: on an MPS backend, the report of the evaluation whose truncations discarded
            most (``truncation.exact``: none discarded anything); ``None`` on other backends.
    """

    energy: float
    optimal_parameters: np.ndarray
    optimal_weights: dict[str, torch.Tensor]
    history: list[float] = field(default_factory=list)
    n_evaluations: int = 0
    n_gradient_evaluations: int = 0
    message: str = ""
    provenance: dict[str, Any] = field(default_factory=dict)
    truncation: Truncation | None = None


class VQE:
    """The variational quantum eigensolver.

    Args:
        hamiltonian: a Hermitian ``PauliSum``.
        ansatz: a circuit with weights only (no inputs); all its weights are optimised, flattened
            in declaration order.
        optimizer: ``"L-BFGS-B"``, ``"BFGS"``, ``"SLSQP"`` (exact gradients), ``"COBYLA"``,
            ``"Nelder-Mead"``, ``"Powell"`` (gradient-free), ``"adam"`` or ``"spsa"``.
        initial_point: a vector, ``"zeros"`` (the reference state for chemistry ansaetze) or
            ``"random"`` (uniform in ``[-pi, pi)``, seeded).
        callback: ``callback(parameters, energy)`` after every evaluation.
        maxiter: optimiser iterations.
        seed: seeds the random initial point, SPSA and shot noise.
        backend, diff_method, shots: passed to :func:`hqml.expval` (gradient methods need
            ``shots=None`` and an exact ``diff_method``).
        options: extra optimiser settings (see :func:`hqml.algorithms.optimizers.minimize`).
        noise_model: a ``hqml.noise.NoiseModel``; use a backend that simulates noise
            (``"density_matrix"``, or ``"statevector"`` trajectories).

    >>> from hqml.circuit import Circuit, X, Z
    >>> c = Circuit(1)
    >>> _ = c.ry(c.weight("t", 1)[0], 0)
    >>> round(VQE(Z(0) + 0.5 * X(0), c).run().energy, 6)  # -sqrt(1 + 1/4)
    -1.118034
    """

    def __init__(
        self,
        hamiltonian: PauliSum,
        ansatz: Circuit,
        optimizer: str = "L-BFGS-B",
        initial_point: Any = "zeros",
        callback: Callable[[np.ndarray, float], Any] | None = None,
        maxiter: int = 200,
        seed: int | None = None,
        backend: str = "statevector",
        diff_method: str = "best",
        shots: int | None = None,
        options: dict[str, Any] | None = None,
        noise_model: Any = None,
    ):
        if not isinstance(hamiltonian, PauliSum):
            raise TypeError(f"hamiltonian must be a PauliSum, got {type(hamiltonian).__name__}")
        if not hamiltonian.is_hermitian():
            raise ValueError("the Hamiltonian has complex coefficients; VQE needs a Hermitian one")
        if not isinstance(ansatz, Circuit):
            raise TypeError(f"ansatz must be an hqml Circuit, got {type(ansatz).__name__}")
        if ansatz.inputs:
            raise ValueError(
                f"the ansatz declares inputs {list(ansatz.inputs)}; bind them first"
                " (circuit.bind(inputs=...)) so only weights remain"
            )
        if not ansatz.weights:
            raise ValueError("the ansatz has no weights to optimise")
        if hamiltonian.wires and max(hamiltonian.wires) >= ansatz.n_qubits:
            raise ValueError(
                f"the Hamiltonian acts on wire {max(hamiltonian.wires)}, outside the"
                f" {ansatz.n_qubits}-qubit ansatz"
            )
        self.hamiltonian, self.ansatz = hamiltonian, ansatz
        self.optimizer, self.maxiter, self.seed, self.callback = optimizer, maxiter, seed, callback
        self.backend, self.diff_method, self.shots = backend, diff_method, shots
        self.options, self.noise_model = options, noise_model
        self.shapes = {name: arr.shape for name, arr in ansatz.weights.items()}
        self.num_parameters = sum(math.prod(s) for s in self.shapes.values())
        self.initial_point = self._initial(initial_point)
        self.truncation: Truncation | None = None  # the worst MPS report since run() started

    def _initial(self, point: Any) -> np.ndarray:
        if isinstance(point, str):
            if point == "zeros":
                return np.zeros(self.num_parameters)
            if point == "random":
                rng = np.random.default_rng(self.seed)
                return rng.uniform(-math.pi, math.pi, self.num_parameters)
            raise ValueError(f"initial_point must be 'zeros', 'random' or a vector, got {point!r}")
        x = np.asarray(point, dtype=float).ravel()
        if x.size != self.num_parameters:
            raise ValueError(
                f"initial_point has {x.size} values; the ansatz has"
                f" {self.num_parameters} parameters"
            )
        return x

    def unflatten(self, theta: torch.Tensor) -> dict[str, torch.Tensor]:
        """Split a flat vector into the ansatz's named weight tensors."""
        out, start = {}, 0
        for name, shape in self.shapes.items():
            size = math.prod(shape)
            out[name] = theta[start : start + size].reshape(shape)
            start += size
        return out

    def energy(self, theta: Any) -> torch.Tensor:
        """``<H>`` at the flat parameters ``theta`` (complex128 simulation; differentiable)."""
        t = torch.as_tensor(theta, dtype=torch.float64)
        value = expval(
            self.ansatz,
            self.hamiltonian,
            weights=self.unflatten(t),
            backend=self.backend,
            diff_method=self.diff_method,
            shots=self.shots,
            seed=self.seed,
            noise_model=self.noise_model,
        )
        self.truncation = worst(self.truncation, getattr(value, "truncation", None))
        return value

    def run(self) -> VQEResult:
        """Optimise and return the lowest energy seen."""
        self.truncation = None
        res = minimize(
            self.energy,
            self.initial_point,
            method=self.optimizer,
            maxiter=self.maxiter,
            callback=self.callback,
            seed=self.seed,
            options=self.options,
        )
        weights = {
            k: v.detach().clone()
            for k, v in self.unflatten(torch.as_tensor(res.x, dtype=torch.float64)).items()
        }
        prov = provenance(
            seeds={"seed": self.seed},
            backend=str(self.backend),
            diff_method=self.diff_method,
            shots=self.shots,
            noise=repr(self.noise_model) if self.noise_model is not None else None,
            optimizer=self.optimizer,
        )
        return VQEResult(
            res.fun,
            res.x,
            weights,
            res.history,
            res.n_evaluations,
            res.n_gradient_evaluations,
            res.message,
            prov,
            self.truncation,
        )
