"""``solve``: pick a QUBO solver, record why, fall back on failure, timeout or infeasibility.

The default plan (``solver="auto"``):

* ``n <= exact_max`` (24): ``exact`` first (certain and, at this size, about a second), then
  simulated annealing and tabu;
* larger: simulated annealing, tabu, steepest descent (whichever are installed).

Naming a solver puts it first and keeps the rest of the plan as fallbacks; a list is used as
given (names or callables ``fn(bqm, deadline, seed, **options) -> (sample, energy)``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .exact import SolverTimeout
from .formulations.base import Formulation
from .solvers import ANYTIME, SIZE_LIMITS, SOLVERS, available

_GRACE_S = 0.05  # an answer this soon after the deadline still counts (one batch of checks)


@dataclass
class Attempt:
    """One solver run: ``status`` is ok, error, timeout, infeasible or skipped."""

    solver: str
    status: str
    seconds: float = 0.0
    energy: float | None = None
    error: str | None = None


@dataclass
class Solution:
    """What :func:`solve` returns.

    Attributes:
        sample: the best assignment ``{variable: value}`` in the BQM's vartype.
        energy: its BQM energy.
        solver: the solver that produced it.
        feasible: whether it passed the feasibility check (True when there is none).
        answer: the decoded domain answer when a formulation was given, else ``None``.
        attempts: every solver tried, in order, with status, time, energy and error.
        reason: why the plan was chosen.
        timing: ``{"total": s, <solver>: s, ...}`` wall-clock seconds.
    """

    sample: dict
    energy: float
    solver: str
    feasible: bool
    answer: Any
    attempts: list[Attempt] = field(default_factory=list)
    reason: str = ""
    timing: dict[str, float] = field(default_factory=dict)


class SolveError(RuntimeError):
    """No solver produced an answer; the message lists every attempt."""

    def __init__(self, attempts: list[Attempt]):
        self.attempts = attempts
        lines = "; ".join(f"{a.solver}: {a.status} ({a.error})" for a in attempts)
        super().__init__(f"no solver produced an answer: {lines}")


def plan(
    n_variables: int,
    solver: str | Sequence[Any] = "auto",
    exact_max: int = 24,
) -> tuple[list[Any], str]:
    """The ordered solvers to try and the reason, before any runs."""
    installed = [s for s in ("sa", "tabu", "steepest") if available(s)[0]]
    if n_variables <= exact_max:
        auto = ["exact"] + installed[:2]
        reason = (
            f"{n_variables} variables <= {exact_max}: exact enumeration is certain and cheap"
            f" (2**{n_variables} states); fallbacks {installed[:2]}"
        )
    else:
        auto = installed or ["exact"]
        reason = (
            f"{n_variables} variables > {exact_max}: too many to enumerate; heuristics {installed}"
            if installed
            else "dwave-samplers is not installed; only exact enumeration is left"
        )
    if isinstance(solver, str):
        if solver == "auto":
            return auto, reason
        ok, why = available(solver)
        if not ok:
            raise ValueError(f"solver {solver!r} cannot run: {why}")
        return [solver] + [s for s in auto if s != solver], f"{solver!r} requested; then {reason}"
    order = list(solver)
    if not order:
        raise ValueError("give at least one solver")
    return order, "solvers given explicitly, tried in order"


def solve(
    problem: Any,
    solver: str | Sequence[Any] = "auto",
    time_limit: float | Mapping[str, float] | None = None,
    seed: int | None = None,
    feasible: Callable[[dict], bool] | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    exact_max: int = 24,
) -> Solution:
    """Minimise a BQM (or a :class:`Formulation`) with an automatically chosen solver.

    Args:
        problem: a ``dimod.BinaryQuadraticModel`` or a formulation (its ``to_bqm()``, its
            ``is_feasible`` and ``decode`` are used).
        solver: ``"auto"``, a solver name (``exact``, ``sa``, ``tabu``, ``steepest``, ``qaoa``)
            or a list of names / callables.
        time_limit: seconds allowed to *each* attempt (or ``{solver: seconds}``); one that
            runs over is recorded as a timeout and the next solver is tried. Anytime solvers
            (simulated annealing) return their best so far at the limit once they have one.
        seed: passed to every solver.
        feasible: ``sample -> bool``; an infeasible answer makes the router try the next solver.
        options: per-solver keyword arguments, e.g. ``{"sa": {"num_reads": 200}}``.
        exact_max: the largest problem the auto plan enumerates exactly.

    Returns:
        The best feasible :class:`Solution` found by the first solver that succeeds; if every
        answer was infeasible, the lowest-energy infeasible one with ``feasible=False``.

    Raises:
        SolveError: no solver returned any answer.

    >>> import dimod
    >>> bqm = dimod.BinaryQuadraticModel({"a": -1, "b": 1}, {("a", "b"): -3}, 0, "BINARY")
    >>> s = solve(bqm)
    >>> s.sample, s.energy, s.solver
    ({'a': 1, 'b': 1}, -3.0, 'exact')
    """
    formulation = problem if isinstance(problem, Formulation) else None
    bqm = formulation.to_bqm() if formulation else problem
    if not hasattr(bqm, "vartype") or not hasattr(bqm, "energy"):
        raise TypeError(
            f"solve needs a dimod BinaryQuadraticModel or a Formulation, got"
            f" {type(problem).__name__}"
        )
    limits = dict(time_limit) if isinstance(time_limit, Mapping) else {}
    for value in limits.values() if limits else [time_limit]:
        if value is not None and not value > 0:
            raise ValueError(f"time_limit must be positive seconds or None, got {value!r}")
    check = feasible or (formulation.is_feasible if formulation else None)
    order, reason = plan(len(bqm.variables), solver, exact_max)
    options = options or {}
    attempts: list[Attempt] = []
    fallback: tuple[dict, float, str] | None = None
    t_start = time.perf_counter()
    for entry in order:
        name, sample, seconds, failed = _run_one(entry, bqm, limits, time_limit, seed, options)
        if failed is not None:
            attempts.append(failed)
            continue
        energy = float(bqm.energy(sample))  # trust no solver's own bookkeeping
        if check is not None and not check(sample):
            attempts.append(
                Attempt(
                    name,
                    "infeasible",
                    seconds,
                    energy,
                    "the answer violates the problem's constraints",
                )
            )
            if fallback is None or energy < fallback[1]:
                fallback = (sample, energy, name)
            continue
        attempts.append(Attempt(name, "ok", seconds, energy))
        return _solution(sample, energy, name, True, formulation, attempts, reason, t_start)
    if fallback is not None:
        return _solution(*fallback, False, formulation, attempts, reason, t_start)
    raise SolveError(attempts)


def _run_one(
    entry: Any,
    bqm: Any,
    limits: dict,
    time_limit: float | None,
    seed: int | None,
    options: Mapping[str, Mapping[str, Any]],
) -> tuple[str, dict | None, float, Attempt | None]:
    """Run one solver of the plan: ``(name, sample, seconds, None)``, or the failed
    :class:`Attempt` (unknown, unavailable, too large, timed out, raised) in the last place."""
    name = entry if isinstance(entry, str) else getattr(entry, "__name__", repr(entry))
    fn = SOLVERS.get(entry) if isinstance(entry, str) else entry
    if fn is None or not callable(fn):
        return name, None, 0.0, Attempt(name, "skipped", error=f"unknown solver {entry!r}")
    ok, why = available(name) if isinstance(entry, str) else (True, "")
    limit = SIZE_LIMITS.get(name) if isinstance(entry, str) else None
    if not ok or (limit is not None and len(bqm.variables) > limit):
        why = why or f"{len(bqm.variables)} variables exceed its limit of {limit}"
        return name, None, 0.0, Attempt(name, "skipped", error=why)
    limit_s = limits.get(name) if limits else time_limit
    t0 = time.perf_counter()
    deadline = None if limit_s is None else t0 + limit_s
    try:
        sample, energy = fn(bqm, deadline=deadline, seed=seed, **dict(options.get(name, {})))
    except SolverTimeout as e:
        return name, None, 0.0, Attempt(name, "timeout", time.perf_counter() - t0, error=str(e))
    except Exception as e:  # noqa: BLE001 - any solver failure means: try the next one
        return (
            name,
            None,
            0.0,
            Attempt(name, "error", time.perf_counter() - t0, error=f"{type(e).__name__}: {e}"),
        )
    seconds = time.perf_counter() - t0
    late = deadline is not None and time.perf_counter() > deadline + _GRACE_S
    if late and name not in ANYTIME:
        return (
            name,
            None,
            0.0,
            Attempt(
                name,
                "timeout",
                seconds,
                float(energy),
                f"took {seconds:.3f} s, over the {limit_s} s limit",
            ),
        )
    return name, sample, seconds, None


def _solution(
    sample: dict,
    energy: float,
    name: str,
    ok: bool,
    formulation: Formulation | None,
    attempts: list[Attempt],
    reason: str,
    t_start: float,
) -> Solution:
    timing = {"total": time.perf_counter() - t_start}
    for a in attempts:
        timing[a.solver] = timing.get(a.solver, 0.0) + a.seconds
    answer = formulation.decode(sample) if formulation is not None else None
    return Solution(dict(sample), energy, name, ok, answer, attempts, reason, timing)
