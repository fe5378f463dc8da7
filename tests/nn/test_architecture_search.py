"""Architecture search: candidate circuits against dense matrix algebra, the equal-size
baseline, mutations, and the evolution's bookkeeping."""

import numpy as np
import pytest
import torch

import hqml
from hqml.circuit.templates import angle_encoding, hardware_efficient
from hqml.nn.search import (
    Architecture,
    LayerGene,
    evolutionary_search,
    fixed_ansatz,
    mutate,
    random_architecture,
    train_classifier,
)

I2 = np.eye(2)
X = np.array([[0, 1], [1, 0]], dtype=complex)
Y = np.array([[0, -1j], [1j, 0]])
Zm = np.diag([1.0, -1.0]).astype(complex)
AX = {"x": X, "y": Y, "z": Zm}


def rot(axis, t):
    return np.cos(t / 2) * I2 - 1j * np.sin(t / 2) * AX[axis]


def test_candidate_circuit_matches_dense_algebra():
    arch = Architecture(
        2,
        (
            LayerGene(("x", "z"), "cnot_chain", False),
            LayerGene(("y", "x"), "cz_all", True),
        ),
    )
    rng = np.random.default_rng(0)
    x = rng.uniform(0, np.pi, 2)
    w = rng.uniform(-np.pi, np.pi, (2, 2, 2))
    cnot = np.eye(4)[[0, 1, 3, 2]]
    cz = np.diag([1, 1, 1, -1])
    psi = np.zeros(4, dtype=complex)
    psi[0] = 1
    for layer, ent in ((0, cnot), (1, cz)):
        gene = arch.layers[layer]
        if layer == 0 or gene.reupload:
            psi = np.kron(rot("y", x[0]), rot("y", x[1])) @ psi
        ops = []
        for q in range(2):
            u = rot(gene.axes[1], w[layer, q, 1]) @ rot(gene.axes[0], w[layer, q, 0])
            ops.append(u)
        psi = ent @ (np.kron(ops[0], ops[1]) @ psi)
    z0 = np.kron(Zm, I2)
    expected = np.real(psi.conj() @ z0 @ psi)
    got = hqml.expval(
        arch.circuit(),
        hqml.Z(0),
        inputs={"x": torch.tensor(x)},
        weights={"w": torch.tensor(w)},
    )
    assert float(got.reshape(-1)[0]) == pytest.approx(expected, abs=1e-10)


def test_fixed_ansatz_is_hardware_efficient_at_equal_size():
    arch = fixed_ansatz(4, 3)
    ref = angle_encoding(4).compose(hardware_efficient(4, 3))
    assert arch.circuit().count_ops() == ref.count_ops()
    assert arch.num_parameters == ref.num_parameters == 24
    rng = np.random.default_rng(1)
    for _ in range(5):
        assert random_architecture(4, 3, rng).num_parameters == 24


def test_mutation_changes_exactly_one_gene():
    rng = np.random.default_rng(2)
    arch = random_architecture(3, 3, rng)
    for _ in range(40):
        child = mutate(arch, rng)
        diffs = sum(
            (a.axes[0] != b.axes[0]) + (a.axes[1] != b.axes[1])
            + (a.entangler != b.entangler) + (a.reupload != b.reupload)
            for a, b in zip(arch.layers, child.layers, strict=True)
        )  # fmt: skip
        assert diffs == 1
        arch = child


def test_search_bookkeeping_and_reproducibility():
    rng = np.random.default_rng(3)
    x = rng.uniform(0, np.pi, (40, 2))
    y = (x[:, 0] > np.pi / 2).astype(int)
    runs = [
        evolutionary_search(x, y, n_layers=1, population=3, cycles=2, epochs=5, seed=4)
        for _ in range(2)
    ]
    res = runs[0]
    assert res.best == runs[1].best and res.best_fitness == runs[1].best_fitness
    assert 3 <= res.n_candidates == len(res.history) <= 5
    assert res.n_trainings == 2 * res.n_candidates  # two initialisations per candidate
    assert res.best_fitness == max(f for _, f in res.history)
    assert res.n_circuit_evaluations == res.n_trainings * 6 and res.seconds > 0


def test_a_trained_candidate_learns_a_separable_rule():
    rng = np.random.default_rng(5)
    x = rng.uniform(0, np.pi, (60, 2))
    y = (x[:, 0] > np.pi / 2).astype(int)
    model = train_classifier(fixed_ansatz(2, 1), x, y, epochs=60, lr=0.1, seed=0)
    with torch.no_grad():
        pred = model(torch.tensor(x, dtype=torch.float32)).argmax(1).numpy()
    assert np.mean(pred == y) >= 0.9


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="axes"):
        LayerGene(("x", "w"))
    with pytest.raises(ValueError, match="entangler"):
        LayerGene(entangler="swap")
    with pytest.raises(ValueError, match="PCA"):
        train_classifier(fixed_ansatz(3, 1), np.zeros((4, 5)), np.zeros(4, dtype=int))
    with pytest.raises(ValueError, match="population"):
        evolutionary_search(np.zeros((10, 2)), np.zeros(10, dtype=int), population=1)


def test_search_can_start_from_the_baseline_and_keeps_it_unless_beaten():
    rng = np.random.default_rng(6)
    x = rng.uniform(0, np.pi, (40, 2))
    y = (x[:, 0] > np.pi / 2).astype(int)
    base = fixed_ansatz(2, 1)
    res = evolutionary_search(
        x, y, n_layers=1, population=3, cycles=2, epochs=5, seed=4, start=(base,)
    )
    assert res.history[0][0] == base  # scored first
    baseline_fitness = res.history[0][1]
    assert res.best_fitness >= baseline_fitness
    assert res.best == base or res.best_fitness > baseline_fitness
    with pytest.raises(ValueError, match="n_layers=1"):
        evolutionary_search(x, y, n_layers=1, population=3, start=(fixed_ansatz(2, 2),))
    with pytest.raises(ValueError, match="at most population=2"):
        evolutionary_search(x, y, n_layers=1, population=2, tournament=1, start=(base, base, base))


def test_log_likelihood_fitness_is_the_best_mean_validation_log_likelihood():
    from sklearn.model_selection import train_test_split

    rng = np.random.default_rng(7)
    x = rng.uniform(0, np.pi, (40, 2))
    y = (x[:, 0] > np.pi / 2).astype(int)
    base = fixed_ansatz(2, 1)
    res = evolutionary_search(
        x, y, n_layers=1, population=2, cycles=0, tournament=1, epochs=(2, 6), seed=1,
        start=(base,), fitness="log_likelihood",
    )  # fmt: skip
    xs, xv, ys, yv = train_test_split(x, y, test_size=0.3, random_state=1, stratify=y)
    ll = []  # fresh trainings of each length and seed, scored here
    for e in (2, 6):
        per_seed = []
        for s in (1, 2):  # seed + k for the fitness_seeds=2 initialisations
            model = train_classifier(base, xs, ys, e, 0.05, s)
            with torch.no_grad():
                logits = model(torch.tensor(xv).float())
            per_seed.append(-torch.nn.functional.cross_entropy(logits, torch.tensor(yv)).item())
        ll.append(np.mean(per_seed))
    assert res.history[0][1] == pytest.approx(max(ll), rel=1e-5)
    assert res.n_circuit_evaluations == res.n_trainings * (6 + 2)  # training steps + 2 scorings
    with pytest.raises(ValueError, match="criterion must be one of"):
        evolutionary_search(x, y, n_layers=1, population=2, tournament=1, fitness="auc")
