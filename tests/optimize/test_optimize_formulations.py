"""Every formulation, solved exactly, reaches the brute-force optimum of the original problem."""

import itertools

import numpy as np
import pytest

from hqml.optimize import (
    BayesNetStructure,
    FeatureSelection,
    Knapsack,
    MaxCut,
    PortfolioSelection,
    solve,
)
from hqml.optimize.formulations import bic_local_score, mutual_information_matrix


def test_maxcut_matches_brute_force():
    rng = np.random.default_rng(1)
    edges = [
        (u, v, float(rng.integers(1, 5)))
        for u, v in itertools.combinations(range(8), 2)
        if rng.random() < 0.5
    ]
    best = max(
        sum(w for u, v, w in edges if bits[u] != bits[v])
        for bits in itertools.product((0, 1), repeat=8)
    )
    problem = MaxCut(edges)
    sol = solve(problem, solver="exact")
    assert sol.answer.value == pytest.approx(best)
    assert sol.energy == pytest.approx(-best)
    assert sol.answer.left | sol.answer.right == set(range(8))


def test_knapsack_matches_brute_force():
    values, weights, capacity = [6, 5, 8, 9, 6, 7], [2, 3, 6, 7, 5, 9], 16
    best = max(
        sum(values[i] for i in s)
        for r in range(7)
        for s in itertools.combinations(range(6), r)
        if sum(weights[i] for i in s) <= capacity
    )
    problem = Knapsack(values, weights, capacity)
    sol = solve(problem, solver="exact")
    assert sol.feasible and sol.answer.fits
    assert sol.answer.value == best
    assert sol.energy == pytest.approx(-best)  # the slack closes the constraint exactly


def test_portfolio_matches_brute_force():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(7, 7))
    cov, mu = a @ a.T / 7, rng.normal(0.1, 0.2, size=7)
    q, budget = 0.8, 3
    best = min(
        (q * cov[np.ix_(s, s)].sum() - mu[list(s)].sum(), s)
        for s in itertools.combinations(range(7), budget)
    )
    problem = PortfolioSelection(mu, cov, budget, risk_aversion=q)
    sol = solve(problem, solver="exact")
    assert tuple(sol.answer.assets) == best[1]
    assert sol.answer.objective == pytest.approx(best[0])


def test_feature_selection_matches_brute_force():
    rng = np.random.default_rng(3)
    r = rng.random(9)
    R = rng.random((9, 9))
    R = (R + R.T) / 2
    alpha, k = 0.6, 4
    best = min(
        (
            -alpha * r[list(s)].sum()
            + (1 - alpha) * sum(R[i, j] for i, j in itertools.combinations(s, 2)),
            s,
        )
        for s in itertools.combinations(range(9), k)
    )
    sol = solve(FeatureSelection(r, R, k, alpha), solver="exact")
    assert tuple(sol.answer) == best[1]


def test_mutual_information_matches_plugin_estimate():
    rng = np.random.default_rng(4)
    X = rng.integers(0, 3, size=(300, 3)).astype(float)
    y = (X[:, 0] + rng.integers(0, 2, 300)) % 3
    rel, red = mutual_information_matrix(X, y, n_bins=4)

    def mi(a, b):  # plug-in estimate from the joint histogram
        joint = np.zeros((3, 3))
        np.add.at(joint, (a.astype(int), b.astype(int)), 1)
        joint /= joint.sum()
        pa, pb = joint.sum(1, keepdims=True), joint.sum(0, keepdims=True)
        nz = joint > 0
        return float((joint[nz] * np.log(joint[nz] / (pa @ pb)[nz])).sum())

    assert rel[0] == pytest.approx(mi(X[:, 0], y))
    assert red[1, 2] == pytest.approx(mi(X[:, 1], X[:, 2]))
    assert rel.argmax() == 0


def _dag_brute_force(scores, n, max_parents):
    def acyclic(parents):
        order, placed = [], set()
        while len(order) < n:
            free = [i for i in range(n) if i not in placed and set(parents[i]) <= placed]
            if not free:
                return False
            order.append(free[0])
            placed.add(free[0])
        return True

    options = [
        [
            S
            for size in range(max_parents + 1)
            for S in itertools.combinations([j for j in range(n) if j != i], size)
        ]
        for i in range(n)
    ]
    best = -np.inf
    for choice in itertools.product(*options):
        if acyclic(choice):
            best = max(best, sum(scores[(i, S)] for i, S in enumerate(choice)))
    return best


@pytest.mark.parametrize("n, max_parents, seed", [(4, 1, 5), (3, 2, 6), (4, 2, 7)])
def test_bayesnet_random_scores_match_dag_brute_force(n, max_parents, seed):
    rng = np.random.default_rng(seed)
    scores = {}
    for i in range(n):
        others = [j for j in range(n) if j != i]
        for size in range(max_parents + 1):
            for S in itertools.combinations(others, size):
                scores[(i, S)] = -10.0 + 2.5 * size * rng.random() + rng.random()
    problem = BayesNetStructure(scores, n, max_parents)
    sol = solve(problem, solver="exact")
    assert sol.feasible and sol.answer.acyclic
    assert sol.answer.score == pytest.approx(_dag_brute_force(scores, n, max_parents))
    assert all(len(S) <= max_parents for S in sol.answer.parents.values())


def test_bayesnet_from_data_recovers_best_bic_dag():
    rng = np.random.default_rng(8)
    a = rng.integers(0, 2, 400)
    b = np.where(rng.random(400) < 0.85, a, 1 - a)
    c = np.where(rng.random(400) < 0.85, b, 1 - b)
    data = np.stack([a, b, c], axis=1)
    problem = BayesNetStructure.from_data(data, max_parents=2)
    sol = solve(problem, solver="exact")
    assert sol.answer.score == pytest.approx(_dag_brute_force(problem.scores, 3, 2))
    skeleton = {frozenset(e) for e in sol.answer.edges}
    assert skeleton == {frozenset((0, 1)), frozenset((1, 2))}  # the chain a - b - c
    # BIC by hand for a binary child with no parents: N log-likelihood - log(N)/2
    p1 = a.mean()
    expected = 400 * (p1 * np.log(p1) + (1 - p1) * np.log(1 - p1)) - 0.5 * np.log(400)
    assert bic_local_score(data, 0, ()) == pytest.approx(expected)


@pytest.mark.parametrize(
    "bad, match",
    [
        (lambda: Knapsack([1, 2], [1.5, 2], 3), "integers"),
        (lambda: PortfolioSelection([0.1, 0.2], np.eye(2), 3), "budget"),
        (lambda: FeatureSelection([0.1], [[0.0]], 1, alpha=2), "alpha"),
        (lambda: MaxCut([(0, 0)]), "self-loop"),
        (lambda: BayesNetStructure({(0, ()): 0.0}, 2), "empty parent set of node 1"),
    ],
)
def test_bad_input_is_named(bad, match):
    with pytest.raises(ValueError, match=match):
        bad()
