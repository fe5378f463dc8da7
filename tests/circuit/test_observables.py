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


def test_in_place_edits_of_terms_reach_the_key_wires_and_values():
    """``key()`` and ``wires`` are cached: an in-place edit of ``terms`` (same length) or a new
    ``terms`` dict must rebuild them, and the next expectation value must use the edit."""
    import pickle

    import torch

    import hqml

    c = hqml.Circuit(3).ry(0.4, 0).ry(1.1, 2)
    obs = 1.0 * hqml.Z(0)
    before = obs.key()
    assert float(hqml.expval(c, obs, dtype=torch.complex128)) == pytest.approx(np.cos(0.4))
    obs.terms[((0, "Z"),)] = 2.0  # coefficient edit, same number of terms
    assert obs.key() != before
    assert float(hqml.expval(c, obs, dtype=torch.complex128)) == pytest.approx(2 * np.cos(0.4))
    del obs.terms[((0, "Z"),)]
    obs.terms[((2, "Z"),)] = 1.0  # word swap
    assert obs.wires == [2]
    assert float(hqml.expval(c, obs, dtype=torch.complex128)) == pytest.approx(np.cos(1.1))
    obs.terms = {((0, "Z"), (2, "Z")): 0.5}
    assert obs.wires == [0, 2]
    assert float(hqml.expval(c, obs, dtype=torch.complex128)) == pytest.approx(
        0.5 * np.cos(0.4) * np.cos(1.1)
    )
    back = pickle.loads(pickle.dumps(obs))
    assert back == obs and back.key() == obs.key()
    back.terms.update({((1, "Z"),): 1.0})
    assert back.wires == [0, 1, 2] and obs.wires == [0, 2]


def test_terms_pickle_alone_and_sums_pickled_before_terms_counted_edits_load():
    import pickle

    obs = 0.5 * X(0) @ Z(2) + Y(1)
    terms = pickle.loads(pickle.dumps(obs.terms))
    assert terms == obs.terms
    terms[((0, "Z"),)] = 1.0  # still counts edits after the round trip
    assert terms.version > 0
    old = PauliSum.__new__(PauliSum)
    old.__setstate__((None, {"terms": dict(obs.terms), "_memo": None}))  # the older layout
    assert old == obs and old.wires == [0, 1, 2]
