"""QAOA: the quantum approximate optimisation algorithm on a BQM or a diagonal Pauli sum.

The state is ``prod_l exp(-i beta_l B) exp(-i gamma_l H) |+...+>`` with ``B = sum_i X_i`` and
``H`` the cost Hamiltonian (see :mod:`hqml.algorithms.ising` for the bit and wire convention).
QAOA *minimises* ``<H>``. Parameters are ordered ``[gamma_0..gamma_{p-1}, beta_0..beta_{p-1}]``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..backends.mps import Truncation, worst
from ..circuit.circuit import Circuit
from ..circuit.observables import PauliSum
from ..execute import expval, sample
from ..provenance import provenance
from .ising import bits_to_sample, bqm_to_pauli, diagonal_energies, pauli_to_ising
from .optimizers import minimize

# Wurtz & Lykov, "The fixed angle conjecture for QAOA on regular MaxCut graphs" (2021), D = 3,
# for U = exp(-i gamma C) exp(-i beta B) maximising C = sum_edges (1 - Z Z) / 2. Our cost is
# H = -C (J = +1/2 per edge), so the same state comes from (gamma, -beta).
FIXED_ANGLES_3REGULAR = {
    1: ([0.616], [0.393]),
    2: ([0.488, 0.898], [0.555, 0.293]),
    3: ([0.422, 0.798, 0.937], [0.609, 0.459, 0.235]),
}
INIT_STRATEGIES = ("ramp", "interp", "fixed")


@dataclass
class QAOAResult:
    """Outcome of :meth:`QAOA.run`.

    Attributes:
        params: optimal ``[gammas..., betas...]``.
        expectation: ``<H>`` at ``params`` (offset included: the BQM energy in expectation).
        best_bitstring: lowest-energy bitstring among the samples, ``"0101"`` (wire 0 first).
        best_sample: the same as a dimod sample ``{variable: value}`` (BQM problems) or
            ``{wire: bit}`` (Pauli-sum problems).
        best_energy: its energy.
        approximation_ratio: ``(E_max - <H>) / (E_max - E_min)`` when the spectrum is known
            (``optimum`` given or ``n <= exact_max``); for max-cut this is ``<cut> / max cut``.
        history: objective value at every evaluation (all stages of an INTERP run).
        n_evaluations: circuit evaluations for the expectation (sampling not counted).
        provenance: hqml version, commit, seed, backend, diff method, noise, machine, versions.
        truncation: on an MPS backend, the report of the evaluation (or the final sampling)
            whose truncations discarded most; ``None`` on other backends.
    """

    params: np.ndarray
    expectation: float
    best_bitstring: str
    best_sample: dict
    best_energy: float
    approximation_ratio: float | None
    history: list[float] = field(default_factory=list)
    n_evaluations: int = 0
    provenance: dict[str, Any] = field(default_factory=dict)
    truncation: Truncation | None = None

    @property
    def gammas(self) -> np.ndarray:
        return self.params[: len(self.params) // 2]

    @property
    def betas(self) -> np.ndarray:
        return self.params[len(self.params) // 2 :]


class QAOA:
    """QAOA for a ``dimod.BinaryQuadraticModel`` or a diagonal (Z/ZZ) ``PauliSum``.

    Args:
        problem: the cost; a BQM's variables go on wires in ``list(bqm.variables)`` order.
        p: number of layers.
        mixer: ``"x"`` (the transverse-field mixer, the only one implemented).
        initial_point: ``"ramp"`` (linear ramp: ``gamma_l = (l+1/2)/p * dt``,
            ``beta_l = -(1 - (l+1/2)/p) * dt``, ``dt = 0.75 / max|coefficient|``), ``"interp"``
            (optimise p = 1, 2, ... and warm-start each depth by INTERP, Zhou et al. 2020),
            ``"fixed"`` (the fixed angles for 3-regular max-cut, scaled by ``0.5 / max|J|``), or
            an explicit array of ``2 p`` angles.
        optimizer: a method of :func:`hqml.algorithms.optimizers.minimize`.
        maxiter: optimiser iterations per stage; ``0`` evaluates the initial point (fixed angles).
        shots: samples drawn to find the best bitstring.
        seed: seeds sampling (and SPSA).
        optimum: ``(E_min, E_max)`` of the cost, if known, for the approximation ratio.
        exact_max: compute the spectrum by enumeration up to this many qubits.
        backend, diff_method: passed to :func:`hqml.expval`.
        noise_model: a ``hqml.noise.NoiseModel`` (with a backend that simulates noise).

    >>> import dimod
    >>> bqm = dimod.BinaryQuadraticModel({}, {(0, 1): 1.0, (1, 2): 1.0}, 0.0, "SPIN")
    >>> res = QAOA(bqm, p=1, seed=0).run()
    >>> res.best_bitstring in ("010", "101"), round(res.best_energy, 6)
    (True, -2.0)
    """

    def __init__(
        self,
        problem: Any,
        p: int = 1,
        mixer: str = "x",
        initial_point: str | Sequence[float] = "ramp",
        optimizer: str = "L-BFGS-B",
        maxiter: int = 200,
        shots: int = 1024,
        seed: int | None = None,
        optimum: tuple[float, float] | None = None,
        exact_max: int = 20,
        backend: str = "statevector",
        diff_method: str = "best",
        callback: Callable[[np.ndarray, float], Any] | None = None,
        noise_model: Any = None,
    ):
        if isinstance(p, bool) or not isinstance(p, int) or p < 1:
            raise ValueError(f"p must be a positive integer, got {p!r}")
        if mixer != "x":
            raise ValueError(f"mixer {mixer!r} is not implemented; use mixer='x'")
        if isinstance(initial_point, str) and initial_point not in INIT_STRATEGIES:
            raise ValueError(
                f"initial_point must be one of {INIT_STRATEGIES} or 2*p angles,"
                f" got {initial_point!r}"
            )
        if not isinstance(initial_point, str) and np.asarray(initial_point).size != 2 * p:
            raise ValueError(f"initial_point must hold 2*p = {2 * p} angles (gammas then betas)")
        self.p, self.mixer, self.initial_point = p, mixer, initial_point
        self.optimizer, self.maxiter, self.shots, self.seed = optimizer, maxiter, shots, seed
        self.backend, self.diff_method, self.callback = backend, diff_method, callback
        self.noise_model = noise_model
        self.exact_max = exact_max
        self.truncation: Truncation | None = None  # the worst MPS report since run() started
        self.bqm = None
        if isinstance(problem, PauliSum):
            self.hamiltonian = problem.simplify()
            n = max(self.hamiltonian.wires) + 1 if self.hamiltonian.wires else 1
            self.variables: list[Hashable] = list(range(n))
        else:
            self.hamiltonian, self.variables = bqm_to_pauli(problem)
            self.bqm = problem
            if not self.variables:
                raise ValueError("the BQM has no variables")
        self.n_qubits = len(self.variables)
        self.h, self.J, self.offset = pauli_to_ising(self.hamiltonian)
        self.optimum = optimum
        if optimum is None and self.n_qubits <= exact_max:
            e = diagonal_energies(self.hamiltonian, self.n_qubits)
            self.optimum = (float(e.min()), float(e.max()))
        self._circuits: dict[int, Circuit] = {}

    # --- circuit and expectation -------------------------------------------------------------
    def circuit(self, p: int | None = None) -> Circuit:
        """The depth-``p`` QAOA circuit with weights ``gamma`` (p,) and ``beta`` (p,)."""
        p = self.p if p is None else p
        if p not in self._circuits:
            c = Circuit(self.n_qubits)
            gamma, beta = c.weight("gamma", p), c.weight("beta", p)
            for q in range(self.n_qubits):
                c.h(q)
            for layer in range(p):
                for q, hq in self.h.items():
                    if hq:
                        c.rz(gamma[layer] * (2.0 * hq), q)
                for (a, b), jab in self.J.items():
                    if jab:
                        c.rzz(gamma[layer] * (2.0 * jab), a, b)
                for q in range(self.n_qubits):
                    c.rx(beta[layer] * 2.0, q)
            self._circuits[p] = c
        return self._circuits[p]

    def expectation(self, params: Any) -> torch.Tensor:
        """``<H>`` (offset included) at ``[gammas..., betas...]``; differentiable."""
        t = torch.as_tensor(params, dtype=torch.float64)
        p = t.numel() // 2
        value = expval(
            self.circuit(p),
            self.hamiltonian,
            weights={"gamma": t[:p], "beta": t[p:]},
            backend=self.backend,
            diff_method=self.diff_method,
            noise_model=self.noise_model,
        )
        self.truncation = worst(self.truncation, getattr(value, "truncation", None))
        return value

    # --- initial points ----------------------------------------------------------------------
    def _scale(self) -> float:
        coeffs = [abs(v) for v in list(self.h.values()) + list(self.J.values()) if v]
        return max(coeffs) if coeffs else 1.0

    def ramp(self, p: int, dt: float = 0.75) -> np.ndarray:
        """Linear-ramp angles (a discretised anneal from ``-B`` to ``H``)."""
        s = (np.arange(p) + 0.5) / p
        dt_g = dt / self._scale()
        return np.concatenate([s * dt_g, -(1 - s) * dt])

    def fixed(self, p: int) -> np.ndarray:
        """Fixed angles for 3-regular max-cut (p <= 3), rescaled to this cost's largest |J|."""
        if p not in FIXED_ANGLES_3REGULAR:
            raise ValueError(f"fixed angles are tabulated for p <= 3, not p={p}")
        g, b = FIXED_ANGLES_3REGULAR[p]
        return np.concatenate([np.asarray(g) * 0.5 / self._scale(), -np.asarray(b)])

    @staticmethod
    def interp(params: np.ndarray) -> np.ndarray:
        """INTERP: angles for depth ``p + 1`` from optimal depth-``p`` angles."""
        p = len(params) // 2
        out = []
        for part in (params[:p], params[p:]):
            padded = np.concatenate([[0.0], part, [0.0]])
            i = np.arange(1, p + 2)
            out.append((i - 1) / p * padded[i - 1] + (p - i + 1) / p * padded[i])
        return np.concatenate(out)

    # --- optimisation ------------------------------------------------------------------------
    def _optimise(self, x0: np.ndarray, history: list[float]) -> tuple[np.ndarray, float, int]:
        res = minimize(
            self.expectation,
            x0,
            method=self.optimizer,
            maxiter=self.maxiter,
            callback=self.callback,
            seed=self.seed,
        )
        history.extend(res.history)
        return res.x, res.fun, res.n_evaluations

    def run(self) -> QAOAResult:
        """Optimise the angles, then sample the best bitstring."""
        self.truncation = None
        history: list[float] = []
        n_eval = 0
        if isinstance(self.initial_point, str) and self.initial_point == "interp":
            x, value, k = self._optimise(self.ramp(1), history)
            n_eval += k
            for _ in range(2, self.p + 1):
                x, value, k = self._optimise(self.interp(x), history)
                n_eval += k
        else:
            if isinstance(self.initial_point, str):
                x0 = self.ramp(self.p) if self.initial_point == "ramp" else self.fixed(self.p)
            else:
                x0 = np.asarray(self.initial_point, dtype=float).ravel()
            x, value, n_eval = self._optimise(x0, history)
        bits, energy = self.best_sample(x)
        ratio = None
        if self.optimum is not None and self.optimum[1] > self.optimum[0]:
            e_min, e_max = self.optimum
            ratio = (e_max - value) / (e_max - e_min)
        sample_ = (
            bits_to_sample(bits, self.variables, self.bqm.vartype)
            if self.bqm is not None
            else {w: int(b) for w, b in zip(self.variables, bits, strict=False)}
        )
        prov = provenance(
            seeds={"seed": self.seed},
            backend=str(self.backend),
            diff_method=self.diff_method,
            shots=self.shots,
            noise=repr(self.noise_model) if self.noise_model is not None else None,
            optimizer=self.optimizer,
            p=self.p,
        )
        return QAOAResult(
            np.asarray(x),
            float(value),
            "".join(map(str, bits)),
            sample_,
            float(energy),
            ratio,
            history,
            n_eval,
            prov,
            self.truncation,
        )

    def best_sample(self, params: Any) -> tuple[list[int], float]:
        """The lowest-energy bitstring among ``shots`` seeded samples at ``params``."""
        t = torch.as_tensor(params, dtype=torch.float64)
        p = t.numel() // 2
        shots = sample(
            self.circuit(p),
            self.shots,
            weights={"gamma": t[:p], "beta": t[p:]},
            backend=self.backend,
            seed=self.seed,
            noise_model=self.noise_model,
        )
        self.truncation = worst(self.truncation, getattr(shots, "truncation", None))
        unique = torch.unique(shots.reshape(-1, self.n_qubits), dim=0).numpy()
        z = 1 - 2 * unique
        energy = np.full(len(unique), self.offset)
        for q, hq in self.h.items():
            energy += hq * z[:, q]
        for (a, b), jab in self.J.items():
            energy += jab * z[:, a] * z[:, b]
        k = int(np.argmin(energy))
        return [int(b) for b in unique[k]], float(energy[k])
