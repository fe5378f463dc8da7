"""ADAPT-VQE: batched pool gradients against dense finite differences, pools, and molecules
against exact diagonalisation (FCI in the active space)."""

import numpy as np
import pytest
import scipy.linalg
import torch

import hqml
from hqml.algorithms import AdaptVQE, PoolOperator, minimal_complete_pool
from hqml.algorithms.adapt import apply_words, commutator_observables, pool_gradients_from_state
from hqml.algorithms.adapt_linalg import AnsatzLinalg, pauli_sum_matrix
from hqml.algorithms.optimizers import minimize
from hqml.circuit import PauliSum

PAULI = {
    "I": np.eye(2),
    "X": np.array([[0, 1], [1, 0]]),
    "Y": np.array([[0, -1j], [1j, 0]]),
    "Z": np.diag([1.0, -1.0]),
}


def dense(word_string: str) -> np.ndarray:
    m = np.ones((1, 1))
    for ch in word_string:  # character i = wire i = i-th Kronecker factor (wire 0 = MSB)
        m = np.kron(m, PAULI[ch])
    return m


def dense_sum(items) -> np.ndarray:
    return sum(c * dense(s) for s, c in items)


def dense_ansatz_energy(start, operators, n, Hd):
    """``E(t) = <psi(t)|Hd|psi(t)>``, ``psi(t) = prod_k expm(i t_k G_k) start`` by dense algebra."""
    gens = [dense_sum(op.generator.to_list(n)) for op in operators]

    def energy(t):
        psi = start.copy()
        for g, a in zip(gens, t, strict=True):
            psi = scipy.linalg.expm(1j * a * g) @ psi
        return float(np.real(psi.conj() @ Hd @ psi))

    return energy


def random_hamiltonian(n, n_terms, seed):
    rng = np.random.default_rng(seed)
    items = ["".join(rng.choice(list("IXYZ"), n)) for _ in range(n_terms)]
    coeffs = rng.normal(size=n_terms)
    return [(s, float(c)) for s, c in zip(items, coeffs, strict=True)]


def test_apply_words_matches_kronecker_products():
    rng = np.random.default_rng(1)
    n = 4
    psi = rng.normal(size=16) + 1j * rng.normal(size=16)
    strings = ["XIZY", "YYII", "IIIZ", "ZXYX", "IIII"]
    words = [next(iter(PauliSum.from_list([(s, 1.0)]).terms)) for s in strings]
    out = apply_words(words, psi, n)
    for s, row in zip(strings, out, strict=True):
        assert np.allclose(row, dense(s) @ psi)


@pytest.mark.parametrize("method", ["state", "commutator"])
def test_pool_gradients_equal_finite_differences_of_the_dense_energy(method):
    n = 3
    items = random_hamiltonian(n, 12, seed=2)
    H = PauliSum.from_list(items)
    Hd = dense_sum(items)
    pool = minimal_complete_pool(n) + [
        PoolOperator("xy", PauliSum.from_list([("XYI", 0.5), ("YXI", -0.5)]))
    ]
    rng = np.random.default_rng(3)
    psi = rng.normal(size=8) + 1j * rng.normal(size=8)
    psi /= np.linalg.norm(psi)
    if method == "state":
        grads = pool_gradients_from_state(H, pool, psi, n)
    else:
        grads = [
            np.real(psi.conj() @ o.to_matrix(n) @ psi) for o in commutator_observables(H, pool)
        ]
    eps = 1e-6
    for op, g in zip(pool, grads, strict=True):
        A = 1j * dense_sum(op.generator.to_list(n))

        def energy(t, A=A):
            phi = scipy.linalg.expm(t * A) @ psi
            return float(np.real(phi.conj() @ Hd @ phi))

        assert g == pytest.approx((energy(eps) - energy(-eps)) / (2 * eps), abs=1e-6)


def test_gradients_through_the_circuit_match_both_methods():
    items = random_hamiltonian(3, 10, seed=4)
    H = PauliSum.from_list(items)
    pool = minimal_complete_pool(3)
    adapt = AdaptVQE(H, pool, reference=[0, 1, 0])
    params = np.array([0.3, -0.7])
    g_state = adapt.pool_gradients([0, 3], params)
    adapt_c = AdaptVQE(H, pool, reference=[0, 1, 0], gradients="commutator")
    assert np.allclose(g_state, adapt_c.pool_gradients([0, 3], params), atol=1e-10)
    # and the circuit is exp(theta_1 A_3) exp(theta_0 A_0) |010>
    psi = np.zeros(8, dtype=complex)
    psi[0b010] = 1
    for k, t in zip([0, 3], params, strict=True):
        psi = scipy.linalg.expm(1j * t * dense_sum(pool[k].generator.to_list(3))) @ psi
    assert np.allclose(g_state, pool_gradients_from_state(H, pool, psi, 3), atol=1e-10)


def test_minimal_complete_pool_size_and_transitivity():
    assert len(minimal_complete_pool(6)) == 10
    n = 3
    pool = minimal_complete_pool(n)
    assert len(pool) == 2 * n - 2
    # the Lie closure must move a random real state in every direction of the real sphere
    mats = [1j * dense_sum(op.generator.to_list(n)) for op in pool]
    assert all(np.allclose(m.imag, 0) for m in mats)  # one Y each: real generators
    basis = [m.real for m in mats]
    frontier = list(basis)
    while frontier:
        new = []
        for a in frontier:
            for b in list(basis):
                c = a @ b - b @ a
                stack = np.array([x.ravel() for x in basis + [c]])
                if np.linalg.matrix_rank(stack, tol=1e-8) > len(basis):
                    basis.append(c)
                    new.append(c)
        frontier = new
    psi = np.random.default_rng(5).normal(size=2**n)
    tangent = np.array([m @ psi for m in basis])
    assert np.linalg.matrix_rank(tangent, tol=1e-8) == 2**n - 1


def test_minimal_pool_reaches_the_exact_ground_state_of_a_real_hamiltonian():
    items = [(s, c) for s, c in random_hamiltonian(3, 14, seed=7) if s.count("Y") % 2 == 0]
    H = PauliSum.from_list(items)
    exact = np.linalg.eigvalsh(dense_sum(items))[0]
    adapt = AdaptVQE(H, minimal_complete_pool(3), [0, 0, 0], gradient_tol=1e-4)
    saved = []
    res = adapt.run(callback=lambda ops, angles, e: saved.append((ops, angles, e)))
    assert res.converged
    assert res.energy == pytest.approx(exact, abs=1e-6)
    assert res.n_parameters == len(res.operators) == len(res.parameters)
    # a checkpoint per appended operator; continuing from the first one regrows the same ansatz
    assert len(saved) == len(res.operators) >= 2 and saved[-1][0] == res.operators
    assert saved[-1][2] == res.energy
    again = adapt.run(start=saved[0][:2])
    assert again.operators == res.operators and again.energy == pytest.approx(res.energy)
    with pytest.raises(ValueError, match="start must be"):
        adapt.run(start=(["no such operator"], [0.0]))


def test_bad_inputs_are_refused_in_one_line():
    H = PauliSum.from_list([("ZI", 1.0)])
    pool = minimal_complete_pool(2)
    with pytest.raises(ValueError, match="non-commuting"):
        PoolOperator("bad", PauliSum.from_list([("XI", 1.0), ("ZI", 1.0)]))
    with pytest.raises(ValueError, match="Hermitian"):
        PoolOperator("bad", PauliSum.from_list([("XI", 1.0j)]))
    with pytest.raises(ValueError, match="gradients='commutator'"):
        AdaptVQE(H, pool, [0, 0], shots=100)
    with pytest.raises(ValueError, match="gradients must be"):
        AdaptVQE(H, pool, [0, 0], gradients="shift")
    with pytest.raises(ValueError, match="outside"):
        AdaptVQE(PauliSum.from_list([("ZIZ", 1.0)]), pool, [0, 0])
    with pytest.raises(ValueError, match="n_qubits >= 2"):
        minimal_complete_pool(1)


# --- molecules (the chem extra) ---------------------------------------------------------------


@pytest.fixture(scope="module")
def chem():
    pytest.importorskip("pyscf", reason="pyscf is not installed (pip install 'hqml[chem]')")
    pytest.importorskip("openfermion", reason="openfermion is not installed")
    from hqml.algorithms import fermionic_pool, qubit_excitation_pool
    from hqml.chem import molecular_hamiltonian, uccsd

    return molecular_hamiltonian, uccsd, fermionic_pool, qubit_excitation_pool


def fock_sector_ground(molecule) -> float:
    """Exact ground energy with the molecule's electron count (JW: number of set bits)."""
    H = molecule.hamiltonian.to_matrix(molecule.n_qubits)
    n = molecule.n_qubits
    keep = [i for i in range(2**n) if bin(i).count("1") == molecule.n_electrons]
    return float(np.linalg.eigvalsh(H[np.ix_(keep, keep)])[0])


def lih(r):
    return [("Li", (0, 0, 0)), ("H", (0, 0, r))]


def h2(r):
    return [("H", (0, 0, 0)), ("H", (0, 0, r))]


@pytest.mark.parametrize(
    "name, geometry, active_space",
    [
        ("H2 0.735", h2(0.735), None),
        ("H2 2.5 (stretched)", h2(2.5), None),
        ("LiH 1.6", lih(1.6), (2, 3)),
        pytest.param("LiH 3.4 (stretched)", lih(3.4), (2, 3), marks=pytest.mark.slow),
    ],
)
def test_adapt_matches_full_ci_with_fewer_parameters_and_cnots_than_uccsd(
    chem, name, geometry, active_space
):
    molecular_hamiltonian, uccsd, fermionic_pool, qubit_excitation_pool = chem
    mol = molecular_hamiltonian(geometry, active_space=active_space)
    exact = fock_sector_ground(mol)
    assert exact == pytest.approx(mol.fci_energy, abs=1e-8)  # PySCF's CASCI agrees
    ucc = uccsd(mol)
    ucc_cnots = ucc.count_ops()["cx"]
    runs = [("fermionic", fermionic_pool, "state"), ("qubit", qubit_excitation_pool, "state")]
    if name.startswith("H2"):  # the gate-by-gate re-optimiser on the small one
        runs.append(("fermionic", fermionic_pool, "circuit"))
    for pool_name, build, how in runs:
        res = AdaptVQE(
            mol.hamiltonian, build(mol), mol.hf_bits, gradient_tol=1e-4, reoptimize=how
        ).run()
        assert res.converged, (name, pool_name, res.message)
        assert abs(res.energy - exact) < 1e-6, (name, pool_name)
        assert res.n_parameters < ucc.num_parameters and res.n_cnots < ucc_cnots
        assert res.n_cnots == res.circuit.count_ops()["cx"]


def test_adapt_on_a_parity_reduced_molecule_and_the_symmetry_roadblock(chem):
    molecular_hamiltonian, _, fermionic_pool, qubit_excitation_pool = chem
    lih = molecular_hamiltonian(
        [("Li", (0, 0, 0)), ("H", (0, 0, 1.6))],
        active_space=(2, 3),
        mapping="parity",
        two_qubit_reduction=True,
    )
    out = AdaptVQE(lih.hamiltonian, fermionic_pool(lih), lih.hf_bits, gradient_tol=1e-4).run()
    assert abs(out.energy - lih.fci_energy) < 1e-6
    with pytest.raises(ValueError, match="jordan_wigner"):
        qubit_excitation_pool(lih)
    h2 = molecular_hamiltonian([("H", (0, 0, 0)), ("H", (0, 0, 0.735))])
    stuck = AdaptVQE(h2.hamiltonian, minimal_complete_pool(4), h2.hf_bits).run()
    # the minimal pool changes the electron number: at Hartree-Fock every gradient is zero
    assert stuck.n_parameters == 0 and "symmetry" in stuck.message
    assert stuck.energy == pytest.approx(h2.hf_energy, abs=1e-10)


# --- the exact linear-algebra re-optimisation (reoptimize="state") ----------------------------


def test_sparse_hamiltonian_equals_the_dense_kronecker_sum():
    items = random_hamiltonian(4, 20, seed=8) + [("XXYY", 0.3), ("XXYY", 0.2)]
    H = PauliSum.from_list(items)
    assert np.allclose(pauli_sum_matrix(H, 4).toarray(), dense_sum(items))


def test_linalg_state_energy_and_gradient_match_the_circuit_and_finite_differences():
    n = 3
    items = random_hamiltonian(n, 12, seed=9)
    H = PauliSum.from_list(items)
    pool = minimal_complete_pool(n) + [
        PoolOperator("xy", PauliSum.from_list([("XYI", 0.5), ("YXI", -0.5)])),
        PoolOperator("zzy", PauliSum.from_list([("ZZY", 0.7), ("IIY", 0.2)])),
    ]
    selected = [4, 0, 5, 4, 2]  # a repeat included
    theta = np.array([0.4, -1.1, 0.8, 0.3, -0.6])
    adapt = AdaptVQE(H, pool, reference=[1, 0, 1])
    circuit_state = hqml.state(
        adapt.ansatz(selected),
        weights={"theta": torch.tensor(theta)},
        dtype=torch.complex128,
    ).numpy()
    ref = np.zeros(8, dtype=complex)
    ref[0b101] = 1
    model = AnsatzLinalg(H, [pool[k].generator for k in selected], ref, n)
    # both ways of applying a factor are exercised: the closed form (G^3 = G: "xy" and the
    # single words) and the product of word rotations ("zzy")
    assert {part.closed for parts, _ in model.factors for part in parts} == {True, False}
    assert np.allclose(model.state(theta), circuit_state, atol=1e-12)
    Hd = dense_sum(items)

    start = np.zeros(8, dtype=complex)
    start[0b101] = 1
    energy = dense_ansatz_energy(start, [pool[k] for k in selected], n, Hd)

    e, g = model.energy_and_gradient(theta)
    assert e == pytest.approx(energy(theta), abs=1e-12)
    eps = 1e-6
    for i in range(theta.size):
        step = np.eye(theta.size)[i] * eps
        fd = (energy(theta + step) - energy(theta - step)) / (2 * eps)
        assert g[i] == pytest.approx(fd, abs=1e-6)


def test_number_conserving_ansatz_runs_on_the_reference_sector_exactly():
    # hopping Hamiltonian and excitation generators conserve the number of ones, so the linear
    # algebra keeps only the reference's sector (6 of 16 amplitudes here), with the same
    # state, energy and gradient as the full vector (circuit and dense finite differences)
    n, rng = 4, np.random.default_rng(3)
    items = [(s, float(rng.normal())) for s in ("ZIII", "IZII", "IIZI", "ZZII", "IZIZ", "IIZZ")]
    for i, j in ((0, 1), (1, 2), (2, 3), (0, 3)):
        c = float(rng.normal())
        for p in ("XX", "YY"):
            word = ["I"] * n
            word[i], word[j] = p[0], p[1]
            items.append(("".join(word), c))
    H = PauliSum.from_list(items)
    pool = [
        PoolOperator("s02", PauliSum.from_list([("XZYI", 0.5), ("YZXI", -0.5)])),  # JW single
        PoolOperator("q13", PauliSum.from_list([("IXIY", 0.5), ("IYIX", -0.5)])),  # qubit single
        PoolOperator("s01", PauliSum.from_list([("XYII", 0.5), ("YXII", -0.5)])),
    ]
    selected, theta = [0, 1, 2, 0], np.array([0.7, -0.4, 1.2, -0.9])
    ref = np.zeros(16, dtype=complex)
    ref[0b1100] = 1
    model = AnsatzLinalg(H, [pool[k].generator for k in selected], ref, n)
    two_ones = [i for i in range(16) if bin(i).count("1") == 2]
    assert model.support is not None and model.support.tolist() == two_ones
    circuit_state = hqml.state(
        AdaptVQE(H, pool, reference=[1, 1, 0, 0]).ansatz(selected),
        weights={"theta": torch.tensor(theta)},
        dtype=torch.complex128,
    ).numpy()
    assert np.allclose(model.state(theta), circuit_state, atol=1e-12)
    Hd = dense_sum(items)

    energy = dense_ansatz_energy(ref, [pool[k] for k in selected], n, Hd)

    e, g = model.energy_and_gradient(theta)
    assert e == pytest.approx(energy(theta), abs=1e-12)
    eps = 1e-6
    fd = [(energy(theta + eps * d) - energy(theta - eps * d)) / (2 * eps) for d in np.eye(4)]
    assert g == pytest.approx(fd, abs=1e-6)
    # a generator that changes the number of ones (a single Y) needs the whole vector
    flip = PauliSum.from_list([("YIII", 1.0)])
    assert AnsatzLinalg(H, [pool[0].generator, flip], ref, n).support is None


def test_pair_flipping_generators_run_on_their_parity_sector():
    # generators that create and destroy pairs change the number of ones by 2: the reachable
    # amplitudes are one parity sector (8 of 16), a strict subset that is not a number sector
    n = 4
    # a parity-conserving Hamiltonian (an even number of X and Y in every word), as the support
    # is closed under H too
    items = [
        (w, c) for w, c in random_hamiltonian(n, 30, seed=5) if sum(x in "XY" for x in w) % 2 == 0
    ]
    H = PauliSum.from_list(items)
    gens = [
        PauliSum.from_list([("XYII", 0.5), ("YXII", 0.5)]),  # pair on wires 0, 1
        PauliSum.from_list([("IIXY", 0.5), ("IIYX", 0.5)]),  # pair on wires 2, 3
        PauliSum.from_list([("XZYI", 0.5), ("YZXI", -0.5)]),  # a number-conserving hop
    ]
    ref = np.zeros(16, dtype=complex)
    ref[0b0000] = 1
    model = AnsatzLinalg(H, gens, ref, n)
    even = [i for i in range(16) if bin(i).count("1") % 2 == 0]
    assert model.support is not None and model.support.tolist() == even
    Hd = dense_sum(items)

    def state(t):
        psi = ref.copy()
        for gen, a in zip(gens, t, strict=True):
            psi = scipy.linalg.expm(1j * a * dense_sum(gen.to_list(n))) @ psi
        return psi

    theta = np.array([0.8, -0.5, 1.1])
    assert np.allclose(model.state(theta), state(theta), atol=1e-12)
    e, g = model.energy_and_gradient(theta)
    energy = lambda t: float(np.real(state(t).conj() @ Hd @ state(t)))  # noqa: E731
    assert e == pytest.approx(energy(theta), abs=1e-12)
    eps = 1e-6
    fd = [(energy(theta + eps * d) - energy(theta - eps * d)) / (2 * eps) for d in np.eye(3)]
    assert g == pytest.approx(fd, abs=1e-6)


def test_both_reoptimisers_grow_the_same_ansatz_to_the_same_energy():
    items = [(s, c) for s, c in random_hamiltonian(3, 14, seed=7) if s.count("Y") % 2 == 0]
    H = PauliSum.from_list(items)
    exact = np.linalg.eigvalsh(dense_sum(items))[0]
    runs = {
        how: AdaptVQE(H, minimal_complete_pool(3), [0, 0, 0], gradient_tol=1e-4, reoptimize=how)
        for how in ("state", "circuit")
    }
    assert runs["state"].reoptimize == "state"  # what "auto" chooses for gradients="state"
    res = {how: a.run() for how, a in runs.items()}
    assert res["state"].operators == res["circuit"].operators
    for r in res.values():
        assert r.converged and r.energy == pytest.approx(exact, abs=1e-6)
    assert np.allclose(res["state"].parameters, res["circuit"].parameters, atol=1e-4)
    # the returned circuit reproduces the linear-algebra energy
    e = hqml.expval(
        res["state"].circuit,
        H,
        weights={"theta": torch.tensor(res["state"].parameters)},
        dtype=torch.complex128,
    )
    assert float(e) == pytest.approx(res["state"].energy, abs=1e-10)


def test_cold_start_keeps_the_lower_of_the_warm_and_zero_start_optima():
    # on this Hamiltonian the warm start (previous angles plus 0) settles in a worse local
    # minimum at the fifth operator than re-optimising from zero angles
    items = [(s, c) for s, c in random_hamiltonian(3, 14, seed=20) if s.count("Y") % 2 == 0]
    H = PauliSum.from_list(items)
    runs = {
        cold: AdaptVQE(H, minimal_complete_pool(3), [0, 0, 0], max_operators=5, cold_start=cold)
        for cold in (False, True)
    }
    res = {cold: a.run() for cold, a in runs.items()}
    adapt = runs[True]
    index = {op.name: k for k, op in enumerate(adapt.pool)}
    for k, step in enumerate(res[True].iterations[: len(res[True].operators)], start=1):
        model = adapt._linalg([index[name] for name in res[True].operators[:k]])
        from_zero = minimize(model.objective, np.zeros(k), maxiter=500).fun
        assert step.energy <= from_zero + 1e-8  # never worse than the zero start
    assert res[True].energy < res[False].energy - 1e-2
    assert np.linalg.eigvalsh(dense_sum(items))[0] <= res[True].energy + 1e-9


def test_reoptimize_choices_are_checked():
    H = PauliSum.from_list([("ZI", 1.0)])
    pool = minimal_complete_pool(2)
    with pytest.raises(ValueError, match="reoptimize must be"):
        AdaptVQE(H, pool, [0, 0], reoptimize="fast")
    with pytest.raises(ValueError, match="reoptimize='circuit'"):
        AdaptVQE(H, pool, [0, 0], gradients="commutator", reoptimize="state", shots=100)
    assert AdaptVQE(H, pool, [0, 0], gradients="commutator").reoptimize == "circuit"


def test_shot_based_adapt_is_reproducible_with_a_seed():
    H = PauliSum.from_list([("ZI", 1.0), ("XX", 0.5), ("IZ", 0.3)])
    runs = [
        AdaptVQE(
            H,
            minimal_complete_pool(2),
            [0, 0],
            gradients="commutator",
            shots=4000,
            seed=11,
            optimizer="COBYLA",
            maxiter=40,
            max_operators=2,
            gradient_tol=1e-6,
        ).run()
        for _ in range(2)
    ]
    assert runs[0].energy == runs[1].energy and runs[0].operators == runs[1].operators
    assert [it.energy for it in runs[0].iterations] == [it.energy for it in runs[1].iterations]
