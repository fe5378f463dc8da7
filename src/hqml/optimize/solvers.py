"""QUBO solvers behind one signature.

``solver(bqm, deadline, seed, **options) -> (sample, energy)``.

``deadline`` is a ``time.perf_counter()`` value or ``None``; a solver that passes it raises
:class:`~hqml.optimize.exact.SolverTimeout` (checked between chunks, sweeps batches or optimiser
steps, so a solver stops at most one batch late).
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..algorithms.qaoa import QAOA
from .exact import MAX_VARIABLES, SolverTimeout, exact_minimize

SolverFn = Callable[..., tuple[dict, float]]


def _check_deadline(deadline: float | None, what: str) -> None:
    if deadline is not None and time.perf_counter() > deadline:
        raise SolverTimeout(f"{what}: deadline reached")


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else deadline - time.perf_counter()


def solve_exact(
    bqm: Any, deadline: float | None = None, seed: int | None = None, **options: Any
) -> tuple[dict, float]:
    """Exact enumeration (:func:`~hqml.optimize.exact.exact_minimize`); ``seed`` is unused."""
    return exact_minimize(bqm, deadline=deadline, **options)


def _best(sampleset: Any) -> tuple[dict, float]:
    first = sampleset.first
    return dict(first.sample), float(first.energy)


def solve_sa(
    bqm: Any,
    deadline: float | None = None,
    seed: int | None = None,
    num_reads: int = 64,
    num_sweeps: int = 1000,
    batch: int = 16,
    **options: Any,
) -> tuple[dict, float]:
    """Simulated annealing (dwave-samplers) in batches of reads; anytime: at the deadline it
    returns the best of the batches done (always at least one batch)."""
    from dwave.samplers import SimulatedAnnealingSampler

    sampler = SimulatedAnnealingSampler()
    rng = np.random.default_rng(seed)
    best: tuple[dict, float] | None = None
    done = 0
    while done < num_reads:
        if best is not None and deadline is not None and time.perf_counter() > deadline:
            break
        k = min(batch, num_reads - done)
        s = _best(
            sampler.sample(
                bqm,
                num_reads=k,
                num_sweeps=num_sweeps,
                seed=int(rng.integers(2**31 - 1)),
                **options,
            )
        )
        best = s if best is None or s[1] < best[1] else best
        done += k
    assert best is not None
    return best


def solve_tabu(
    bqm: Any,
    deadline: float | None = None,
    seed: int | None = None,
    num_reads: int = 8,
    timeout_ms: int = 50,
    **options: Any,
) -> tuple[dict, float]:
    """Tabu search (dwave-samplers); each read runs ``timeout_ms`` or until the deadline."""
    from dwave.samplers import TabuSampler

    left = _remaining(deadline)
    if left is not None:
        if left <= 0:
            raise SolverTimeout("tabu search: no time left")
        timeout_ms = max(1, min(timeout_ms, int(1000 * left / max(num_reads, 1))))
    rng = np.random.default_rng(seed)
    ss = TabuSampler().sample(
        bqm, num_reads=num_reads, timeout=timeout_ms, seed=int(rng.integers(2**31 - 1)), **options
    )
    _check_deadline(deadline, "tabu search")
    return _best(ss)


def solve_steepest(
    bqm: Any,
    deadline: float | None = None,
    seed: int | None = None,
    num_reads: int = 64,
    **options: Any,
) -> tuple[dict, float]:
    """Steepest descent from ``num_reads`` seeded random states (dwave-samplers)."""
    from dwave.samplers import SteepestDescentSolver

    ss = SteepestDescentSolver().sample(bqm, num_reads=num_reads, seed=seed, **options)
    _check_deadline(deadline, "steepest descent")
    return _best(ss)


QAOA_MAX_QUBITS = 16


def solve_qaoa(
    bqm: Any, deadline: float | None = None, seed: int | None = None, p: int = 2, **options: Any
) -> tuple[dict, float]:
    """QAOA on the statevector simulator (at most :data:`QAOA_MAX_QUBITS` variables)."""
    n = len(bqm.variables)
    if n > QAOA_MAX_QUBITS:
        raise ValueError(
            f"QAOA simulation is limited to {QAOA_MAX_QUBITS} variables here, the BQM has {n}"
        )

    def stop_at_deadline(x: np.ndarray, value: float) -> None:
        _check_deadline(deadline, "QAOA optimisation")

    options.setdefault("initial_point", "interp")
    result = QAOA(bqm, p=p, seed=seed, callback=stop_at_deadline, **options).run()
    return result.best_sample, float(bqm.energy(result.best_sample))


SOLVERS: dict[str, SolverFn] = {
    "exact": solve_exact,
    "sa": solve_sa,
    "tabu": solve_tabu,
    "steepest": solve_steepest,
    "qaoa": solve_qaoa,
}
_REQUIRES = {"sa": "dwave.samplers", "tabu": "dwave.samplers", "steepest": "dwave.samplers"}
SIZE_LIMITS = {"exact": MAX_VARIABLES, "qaoa": QAOA_MAX_QUBITS}
ANYTIME = frozenset({"sa"})  # return their best so far at the deadline instead of timing out


def available(name: str) -> tuple[bool, str]:
    """Whether solver ``name`` can run here, and why not if it cannot."""
    if name not in SOLVERS:
        return False, f"unknown solver {name!r}; known: {', '.join(SOLVERS)}"
    module = _REQUIRES.get(name)
    if module:
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:  # the parent package is missing too
            found = False
        if not found:
            return False, f"{module} is not installed (pip install 'hqml[optimize]')"
    return True, ""
