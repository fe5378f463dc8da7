import numpy as np
import pytest

import hqml
from hqml import PauliSum, X, Y, Z

P = {
    "I": np.eye(2),
    "X": np.array([[0, 1], [1, 0]]),
    "Y": np.array([[0, -1j], [1j, 0]]),
    "Z": np.diag([1, -1]),
}


def kron_word(label):
    m = np.ones((1, 1))
    for ch in label:
        m = np.kron(m, P[ch])
    return m


def test_from_list_character_i_is_wire_i():
    h = PauliSum.from_list([("ZXII", 0.5), ("IIYZ", -1.0)])
    want = 0.5 * kron_word("ZXII") - kron_word("IIYZ")
    np.testing.assert_allclose(h.to_matrix(4), want)
    assert h == 0.5 * Z(0) @ X(1) - Y(2) @ Z(3)


def test_products_track_phases_like_matrices(rng):
    for _ in range(30):
        a = PauliSum.from_list(
            [("".join(rng.choice(list("IXYZ"), 3)), complex(*rng.normal(size=2))) for _ in range(3)]
        )
        b = PauliSum.from_list(
            [("".join(rng.choice(list("IXYZ"), 3)), complex(*rng.normal(size=2))) for _ in range(2)]
        )
        np.testing.assert_allclose(
            (a @ b).to_matrix(3), a.to_matrix(3) @ b.to_matrix(3), atol=1e-12
        )
        np.testing.assert_allclose(
            (a + 2.5 * b).to_matrix(3), a.to_matrix(3) + 2.5 * b.to_matrix(3)
        )
    assert X(0) @ Y(0) == 1j * Z(0)
    assert (X(0) @ X(0)) == hqml.I()


def test_qwc_grouping_partitions_into_commuting_groups(rng):
    h = PauliSum.from_list(
        [("".join(rng.choice(list("IXYZ"), 4)), 1.0) for _ in range(25)]
    ).simplify()
    groups = h.group_qwc()
    assert sum(g.n_terms for g in groups) == h.n_terms
    np.testing.assert_allclose(sum(g.to_matrix(4) for g in groups), h.to_matrix(4))
    for g in groups:
        basis = {}
        for word in g.terms:
            for w, p in word:
                assert basis.setdefault(w, p) == p


def test_json_round_trip_and_errors():
    h = 0.5 * Z(0) @ Z(1) + X(2) - 0.25j * Y(1)
    assert PauliSum.from_json(h.to_json()) == h
    assert h.to_list(3)[0] == ("ZZI", 0.5)
    with pytest.raises(ValueError, match="only I, X, Y, Z"):
        PauliSum.from_list([("ZQ", 1.0)])
    with pytest.raises(ValueError, match="wire"):
        Z(-1)
    with pytest.raises(ValueError, match="not Hermitian"):
        hqml.expval(hqml.Circuit(1), 1j * Z(0))
    with pytest.raises(ValueError, match="outside"):
        hqml.expval(hqml.Circuit(1), Z(3))
