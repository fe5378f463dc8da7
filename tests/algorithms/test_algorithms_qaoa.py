"""QAOA against brute-force statevectors and the analytic p=1 max-cut value on 3-regular graphs."""

import itertools
import math

import dimod
import networkx as nx
import numpy as np
import pytest
import scipy.linalg

from hqml.algorithms import QAOA, bqm_to_pauli, pauli_to_bqm
from hqml.circuit import Z
from hqml.optimize import MaxCut

P1_TRIANGLE_FREE = 0.5 + 1 / (3 * math.sqrt(3))  # optimal p=1 cut fraction per edge, ~0.6925


def _graphs():
    cube = nx.convert_node_labels_to_integers(nx.hypercube_graph(3))
    return {"K33": nx.complete_bipartite_graph(3, 3), "cube": cube, "petersen": nx.petersen_graph()}


def _brute_force_expected_cut(graph, gammas, betas):
    """<cut> of prod_l exp(-i b_l sum X) exp(+i g_l C) |+>, C = cut function (dense numpy)."""
    n = graph.number_of_nodes()
    bits = (np.arange(2**n)[:, None] >> np.arange(n - 1, -1, -1)) & 1
    cut = sum((bits[:, u] != bits[:, v]).astype(float) for u, v in graph.edges)
    psi = np.full(2**n, 2 ** (-n / 2), dtype=complex)
    X = np.array([[0, 1], [1, 0]])
    for g, b in zip(gammas, betas, strict=False):
        psi = np.exp(1j * g * cut) * psi  # our cost is H = -C: exp(-i g H) = exp(+i g C)
        rx = scipy.linalg.expm(-1j * b * X)
        full = np.ones((1, 1))
        for _ in range(n):
            full = np.kron(full, rx)
        psi = full @ psi
    return float(np.real(np.vdot(psi, cut * psi)))


def test_bqm_to_pauli_energies_match_dimod():
    for vartype in ("BINARY", "SPIN"):
        bqm = dimod.generators.gnp_random_bqm(5, 0.7, vartype, random_state=3)
        bqm.offset = 0.7
        H, order = bqm_to_pauli(bqm)
        diag = np.real(np.diag(H.to_matrix(5)))
        for idx, bits in enumerate(itertools.product((0, 1), repeat=5)):
            # bit 1 <-> Z = -1: BINARY x = bit, SPIN s = 1 - 2 bit
            values = bits if vartype == "BINARY" else [1 - 2 * b for b in bits]
            assert diag[idx] == pytest.approx(bqm.energy(dict(zip(order, values, strict=False))))
    back = pauli_to_bqm(0.5 * Z(0) @ Z(1) - Z(2) + 1.0)
    assert back.energy({0: 1, 1: -1, 2: -1}) == pytest.approx(-0.5 + 1 + 1)


@pytest.mark.parametrize("name", ["K33", "cube"])
def test_expectation_matches_brute_force(name):
    graph = _graphs()[name]
    qaoa = QAOA(MaxCut(graph).to_bqm(), p=2)
    rng = np.random.default_rng(0)
    for _ in range(2):
        params = rng.uniform(-1, 1, 4)
        expected = _brute_force_expected_cut(graph, params[:2], params[2:])
        assert -float(qaoa.expectation(params)) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("name", ["K33", "cube", "petersen"])
def test_p1_optimum_on_triangle_free_3_regular_graphs(name):
    graph = _graphs()[name]
    assert all(d == 3 for _, d in graph.degree) and sum(nx.triangles(graph).values()) == 0
    problem = MaxCut(graph)
    result = QAOA(problem.to_bqm(), p=1, seed=0).run()
    ratio = -result.expectation / graph.number_of_edges()
    assert ratio == pytest.approx(P1_TRIANGLE_FREE, abs=0.01)
    g, b = result.gammas, result.betas
    assert _brute_force_expected_cut(graph, g, b) / graph.number_of_edges() == pytest.approx(
        ratio, abs=1e-9
    )
    # the best sampled bitstring is an optimal cut on these small graphs
    best = max(
        problem.cut_value(dict(enumerate(bits)))
        for bits in itertools.product((0, 1), repeat=graph.number_of_nodes())
    )
    assert -result.best_energy == pytest.approx(best)
    assert result.approximation_ratio == pytest.approx(-result.expectation / best)


def test_fixed_angles_and_interp_warm_start():
    graph = _graphs()["cube"]
    bqm = MaxCut(graph).to_bqm()
    fixed = QAOA(bqm, p=1, initial_point="fixed", maxiter=0).run()
    assert -fixed.expectation / 12 == pytest.approx(P1_TRIANGLE_FREE, abs=1e-3)
    assert fixed.n_evaluations == 1
    deep = QAOA(bqm, p=2, initial_point="interp", seed=0).run()
    assert -deep.expectation / 12 > P1_TRIANGLE_FREE + 0.05  # p=2 beats p=1
    assert len(deep.params) == 4


def test_spin_bqm_and_pauli_sum_problems_decode_consistently():
    bqm = dimod.BinaryQuadraticModel(
        {0: 0.4, 1: -0.3, 2: 0.2}, {(0, 1): 1.0, (1, 2): -0.7}, 0.5, "SPIN"
    )
    result = QAOA(bqm, p=2, initial_point="interp", seed=4).run()
    assert bqm.energy(result.best_sample) == pytest.approx(result.best_energy)
    assert result.best_energy == pytest.approx(dimod.ExactSolver().sample(bqm).first.energy)
    H, _ = bqm_to_pauli(bqm)
    from_pauli = QAOA(H, p=2, initial_point=result.params, maxiter=0, seed=4).run()
    assert from_pauli.expectation == pytest.approx(result.expectation, abs=1e-10)
    assert from_pauli.best_sample == {w: int(b) for w, b in enumerate(result.best_bitstring)}


def test_interp_rule():
    assert np.allclose(QAOA.interp(np.array([0.4, -0.2])), [0.4, 0.4, -0.2, -0.2])
    p2 = QAOA.interp(np.array([1.0, 2.0, 3.0, 4.0]))  # gammas (1, 2), betas (3, 4)
    assert np.allclose(p2, [1.0, 1.5, 2.0, 3.0, 3.5, 4.0])


def test_bad_arguments_are_named():
    bqm = MaxCut([(0, 1)]).to_bqm()
    with pytest.raises(ValueError, match="mixer"):
        QAOA(bqm, mixer="xy")
    with pytest.raises(ValueError, match="2\\*p"):
        QAOA(bqm, p=2, initial_point=[0.1, 0.2])
    from hqml.circuit import X

    with pytest.raises(ValueError, match="only Z and ZZ"):
        QAOA(X(0) + Z(1))
