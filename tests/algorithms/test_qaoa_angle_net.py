"""The learned-angle network and its local-structure features: cycle counts and light-cone
excess against brute force, the predicted angles' ratio against a dense statevector computed
here, invariance under relabelling, and misuse."""

import itertools
from functools import reduce

import numpy as np
import pytest

from hqml.algorithms.qaoa_angle_net import AngleNetwork
from hqml.algorithms.qaoa_angles import (
    AngleExtrapolationWarning,
    Graph,
    compare_initialisations,
    graph_family,
    ladder_graph,
    optimised_angles,
    ring_graph,
)
from hqml.algorithms.qaoa_features import light_cone_excess, structure_features

SMALL = {"n_models": 2, "epochs": 400}  # enough to fit a handful of graphs, fast


def _edge_set(g: Graph) -> set:
    return {tuple(sorted(e)) for e in g.edges}


def _brute_cycles(g: Graph, length: int) -> int:
    """Simple cycles of ``length`` by enumerating node sequences (each counted 2 * length times)."""
    edges, count = _edge_set(g), 0
    for seq in itertools.permutations(range(g.n), length):
        ring = zip(seq, seq[1:] + seq[:1], strict=True)
        count += all(tuple(sorted(e)) in edges for e in ring)
    return count // (2 * length)


def _dense_ratio(g: Graph, angles: np.ndarray) -> float:
    """<cut> / max cut of the QAOA state by dense algebra (H = sum_edges Z Z / 2)."""
    bits = (np.arange(2**g.n)[:, None] >> np.arange(g.n)) & 1
    cut = sum((bits[:, a] != bits[:, b]).astype(float) for a, b in g.edges)
    h = len(g.edges) / 2 - cut
    p = len(angles) // 2
    psi = np.full(2**g.n, 2 ** (-g.n / 2), dtype=complex)
    for gamma, beta in zip(angles[:p], angles[p:], strict=True):
        psi = psi * np.exp(-1j * gamma * h)
        rx = np.array([[np.cos(beta), -1j * np.sin(beta)], [-1j * np.sin(beta), np.cos(beta)]])
        psi = reduce(
            lambda s, q: np.moveaxis(np.tensordot(rx, s, (1, q)), 0, q),
            range(g.n),
            psi.reshape((2,) * g.n),
        ).reshape(-1)
    return float(np.real(np.vdot(psi, cut * psi))) / cut.max()


def test_structure_features_against_brute_force():
    g = graph_family("er", 8, np.random.default_rng(5))
    f = structure_features(g)
    deg = g.degrees()
    m = len(g.edges)
    assert f[0] == pytest.approx(1 / np.sqrt(deg.mean()))
    assert f[2] == pytest.approx(deg.std() / deg.mean())
    assert f[3] == pytest.approx(3 * _brute_cycles(g, 3) / m)
    assert f[4] == pytest.approx(4 * _brute_cycles(g, 4) / m)
    assert _brute_cycles(g, 4) > 0  # the 4-cycle count is exercised
    # light cones: a ring's edge ball is a path until it wraps round (2r + 2 nodes < n)
    assert light_cone_excess(ring_graph(10), 3) == 0.0
    assert light_cone_excess(ring_graph(8), 3) == pytest.approx(1 / 8)  # the whole ring
    # K4: every ball is the whole graph (6 edges, 4 nodes: excess 3, per node 3/4)
    k4 = Graph(4, tuple(itertools.combinations(range(4), 2)))
    assert light_cone_excess(k4, 1) == pytest.approx(0.75)
    # a ladder's rung sits on a square at radius 1 (or two at the middle rungs)
    lad = ladder_graph(6)
    assert 0 < light_cone_excess(lad, 1) < light_cone_excess(lad, 2)


def test_network_angles_match_a_dense_statevector_and_ignore_node_labels():
    rng = np.random.default_rng(7)
    train = [graph_family(k, n, rng) for k in ("3reg", "4reg", "er") for n in (6, 8)]
    train += [ring_graph(n) for n in (5, 7)]
    labels = [optimised_angles(g, 1, maxiter=60) for g in train]
    model = AngleNetwork(**SMALL).fit(train, labels)
    g = graph_family("3reg", 10, rng)  # held out, larger
    x = model.predict(g, 1)
    res = compare_initialisations(g, model, p=1, steps=0)
    assert res["learned"]["before"] == pytest.approx(_dense_ratio(g, x), abs=1e-9)
    best = _dense_ratio(g, optimised_angles(g, 1, maxiter=60)[1])
    assert best - 0.01 < res["learned"]["before"] <= best + 1e-9  # near the graph's own optimum
    assert res["learned"]["before"] > res["ramp"]["before"]
    # relabel the nodes: the same graph, the same prediction
    perm = rng.permutation(g.n)
    relabelled = Graph(g.n, tuple((int(perm[a]), int(perm[b])) for a, b in g.edges))
    assert np.allclose(model.predict(relabelled, 1), x, atol=1e-12)


def test_network_refuses_misuse_and_warns_outside_its_training_graphs():
    rng = np.random.default_rng(1)
    graphs = [graph_family("3reg", n, rng) for n in (6, 8)]
    angles = [{1: np.array([0.6, -0.4])}, {1: np.array([0.58, -0.39])}]
    with pytest.raises(ValueError, match="fit"):
        AngleNetwork().predict(graphs[0], 1)
    with pytest.raises(ValueError, match="one angle dict per graph"):
        AngleNetwork().fit(graphs, angles[:1])
    with pytest.raises(ValueError, match="2p"):
        AngleNetwork().fit(graphs, [{1: np.zeros(3)}, {1: np.zeros(3)}])
    model = AngleNetwork(n_models=1, epochs=50).fit(graphs, angles)
    # deterministic: the same seed, the same network; another seed, another one
    again = AngleNetwork(n_models=1, epochs=50).fit(graphs, angles).predict(graphs[0], 1)
    other = AngleNetwork(n_models=1, epochs=50, random_state=1).fit(graphs, angles)
    assert np.array_equal(model.predict(graphs[0], 1), again)
    assert not np.array_equal(other.predict(graphs[0], 1), again)
    with pytest.raises(ValueError, match="trained for p"):
        model.predict(graphs[0], 2)
    with pytest.warns(AngleExtrapolationWarning, match="1/sqrt"):
        model.predict(graph_family("5reg", 8, rng), 1)


def test_a_feature_constant_in_training_is_centred_not_blown_up():
    # 3-regular training graphs have no leaves; a tree has many. With a zero spread the leaf
    # fraction would be divided by ~1e-9 and saturate every tanh unit.
    rng = np.random.default_rng(2)
    graphs = [graph_family("3reg", n, rng) for n in (6, 8, 10)]
    angles = [{1: np.array([0.6 + 0.01 * k, -0.4])} for k in range(3)]
    model = AngleNetwork(n_models=1, epochs=50).fit(graphs, angles)
    X = np.array([structure_features(g) for g in graphs])
    constant = np.ptp(X, axis=0) == 0
    assert constant.any()
    assert np.all(model.x_scale_[constant] == 1.0)
    assert np.allclose(model.x_scale_[~constant], X.std(axis=0)[~constant] + 1e-9)
    tree = graph_family("tree", 10, rng)
    inputs = (structure_features(tree) - model.x_mean_) / model.x_scale_
    assert np.abs(inputs[constant]).max() <= 1  # fractions, centred on the training value
    with pytest.warns(AngleExtrapolationWarning):
        gamma, beta = model.predict(tree, 1)
    assert np.isfinite([gamma, beta]).all()
