"""The exact enumerator against independent references, and the router's plan and fallbacks."""

import time

import dimod
import numpy as np
import pytest

from hqml.optimize import Knapsack, MaxCut, SolveError, exact_minimize, plan, solve


@pytest.mark.parametrize("vartype", ["BINARY", "SPIN"])
def test_exact_matches_dimod_exact_solver(vartype):
    for seed in range(3):
        bqm = dimod.generators.gnp_random_bqm(11, 0.6, vartype, random_state=seed)
        sample, energy = exact_minimize(bqm, low_bits=5, chunk=4)  # several chunks
        ref = dimod.ExactSolver().sample(bqm).first
        assert energy == pytest.approx(ref.energy)
        assert bqm.energy(sample) == pytest.approx(energy)


def test_exact_24_variable_chain_matches_dynamic_programming():
    rng = np.random.default_rng(0)
    n = 24
    a, b = rng.normal(size=n), rng.normal(size=n - 1)
    bqm = dimod.BinaryQuadraticModel(
        dict(enumerate(a)), {(i, i + 1): b[i] for i in range(n - 1)}, 0.3, "BINARY"
    )
    best = np.array([0.0, a[0]])  # best energy of the prefix ending in x_i = 0 / 1
    for i in range(1, n):
        best = np.array([best.min(), a[i] + min(best[0], best[1] + b[i - 1])])
    t0 = time.perf_counter()
    _, energy = exact_minimize(bqm)
    assert energy == pytest.approx(best.min() + 0.3)
    assert time.perf_counter() - t0 < 10


def test_auto_plan_records_reason():
    order, reason = plan(10)
    assert order[0] == "exact" and "exact enumeration" in reason
    order, reason = plan(60)
    assert "exact" not in order and "too many to enumerate" in reason
    order, _ = plan(10, "tabu")
    assert order[0] == "tabu" and "exact" in order


def test_router_falls_back_when_a_solver_fails():
    def broken(bqm, deadline=None, seed=None):
        raise RuntimeError("device offline")

    problem = MaxCut([(0, 1), (1, 2), (2, 3), (3, 0)])
    sol = solve(problem, solver=[broken, "exact"])
    assert [a.status for a in sol.attempts] == ["error", "ok"]
    assert "device offline" in sol.attempts[0].error
    assert sol.solver == "exact" and sol.answer.value == 4
    assert set(sol.timing) >= {"total", "broken", "exact"}


def test_router_falls_back_on_timeout():
    bqm = dimod.generators.gnp_random_bqm(27, 0.3, "BINARY", random_state=1)
    sol = solve(
        bqm,
        solver=["exact", "sa"],
        time_limit={"exact": 0.05},
        seed=3,
        options={"sa": {"num_reads": 16, "num_sweeps": 200}},
    )
    assert sol.attempts[0].solver == "exact" and sol.attempts[0].status == "timeout"
    assert "deadline" in sol.attempts[0].error
    assert sol.solver == "sa" and sol.attempts[-1].status == "ok"


def test_router_falls_back_on_infeasible_answer():
    problem = Knapsack([5, 4, 3], [4, 3, 2], 5)

    def greedy_overfill(bqm, deadline=None, seed=None):
        sample = {v: 1 for v in bqm.variables}  # every item: over capacity
        return sample, bqm.energy(sample)

    sol = solve(problem, solver=[greedy_overfill, "exact"])
    assert [a.status for a in sol.attempts] == ["infeasible", "ok"]
    assert sol.feasible and sol.answer.value == 7 and sol.answer.items == [1, 2]


def test_annealing_is_anytime_at_its_limit():
    bqm = dimod.generators.gnp_random_bqm(30, 0.3, "BINARY", random_state=2)
    t0 = time.perf_counter()
    sol = solve(
        bqm,
        solver=["sa"],
        time_limit=0.2,
        seed=1,
        options={"sa": {"num_reads": 10_000, "batch": 4, "num_sweeps": 500}},
    )
    assert sol.solver == "sa" and sol.attempts[0].status == "ok"
    assert time.perf_counter() - t0 < 5  # far from 10 000 reads


def test_router_raises_with_attempts_when_all_fail():
    def broken(bqm, deadline=None, seed=None):
        raise ValueError("nope")

    with pytest.raises(SolveError, match="broken: error"):
        solve(MaxCut([(0, 1)]), solver=[broken])


@pytest.mark.parametrize("name", ["sa", "tabu", "steepest", "qaoa"])
def test_each_solver_finds_a_small_optimum(name):
    problem = MaxCut([(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 0), (0, 3)])
    sol = solve(problem, solver=[name], seed=0, options={"qaoa": {"p": 1, "shots": 256}})
    assert sol.solver == name and sol.answer.value == 7


def test_bad_arguments():
    with pytest.raises(ValueError, match="time_limit"):
        solve(MaxCut([(0, 1)]), time_limit=0)
    with pytest.raises(ValueError, match="time_limit"):
        solve(MaxCut([(0, 1)]), time_limit={"sa": -1.0})
    with pytest.raises(TypeError, match="BinaryQuadraticModel"):
        solve({"a": 1})
    with pytest.raises(ValueError, match="unknown solver"):
        solve(MaxCut([(0, 1)]), solver="gurobi")
