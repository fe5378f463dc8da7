"""Surface-code experiments from Stim: geometry, seeded sampling, the biased variant, rates."""

import numpy as np
import pytest

stim = pytest.importorskip("stim")

from hqml.qec import SurfaceCodeMemory, logical_error_per_round  # noqa: E402


@pytest.mark.parametrize("d, basis", [(3, "z"), (5, "x")])
def test_layout_places_every_detector_on_its_own_cell(d, basis):
    exp = SurfaceCodeMemory(d, 0.003, basis=basis)
    lay = exp.layout
    assert lay.shape == (d + 1, d + 1, d + 1)
    cells = set(zip(lay.t.tolist(), lay.i.tolist(), lay.j.tolist(), strict=True))
    assert len(cells) == exp.circuit.num_detectors
    coords = exp.circuit.get_detector_coordinates()  # Stim's own coordinates
    for k in (0, len(coords) // 2, len(coords) - 1):
        x, y, t = coords[k]
        assert (lay.t[k], 2 * lay.i[k], 2 * lay.j[k]) == (t, x, y)
    s = exp.sample(50, seed=3)
    lattice = lay.to_lattice(s.detectors)
    np.testing.assert_array_equal(lattice[:, lay.t, lay.i, lay.j], s.detectors)
    assert lattice.sum() == s.detectors.sum()
    assert lay.mask().sum() == exp.circuit.num_detectors


def test_sampling_is_seeded_and_noiseless_circuits_are_silent():
    exp = SurfaceCodeMemory(3, 0.01)
    a, b, c = exp.sample(500, seed=1), exp.sample(500, seed=1), exp.sample(500, seed=2)
    np.testing.assert_array_equal(a.detectors, b.detectors)
    assert (a.detectors != c.detectors).any()
    quiet = SurfaceCodeMemory(3, 0.0).sample(200, seed=0)
    assert not quiet.detectors.any() and not quiet.flips.any()


def test_biased_variant_keeps_the_rate_and_tilts_it_to_z():
    exp = SurfaceCodeMemory(3, 0.006, noise="biased", bias=5.0)
    text = str(exp.circuit)
    assert "DEPOLARIZE1" not in text and "PAULI_CHANNEL_1" in text
    for inst in exp.circuit.flattened():
        if inst.name == "PAULI_CHANNEL_1":
            px, py, pz = inst.gate_args_copy()
            # eta = pz / (px + py)
            assert px == pytest.approx(py) and pz == pytest.approx(5.0 * (px + py))
            assert px + py + pz == pytest.approx(0.006)
    plain = SurfaceCodeMemory(3, 0.006)
    assert str(exp.detector_error_model()) != str(plain.detector_error_model())


def test_logical_error_per_round_inverts_the_repeated_flip_formula():
    e, rounds, shots = 0.013, 7, 10**6
    total = (1 - (1 - 2 * e) ** rounds) / 2
    per_round, err = logical_error_per_round(round(total * shots), shots, rounds)
    assert per_round == pytest.approx(e, rel=1e-4)
    # the error bar is the binomial sigma carried through d(per_round)/d(total)
    h = 1e-4
    slope = (
        logical_error_per_round(round((total + h) * shots), shots, rounds)[0]
        - logical_error_per_round(round((total - h) * shots), shots, rounds)[0]
    ) / (2 * h)
    assert err == pytest.approx(np.sqrt(total * (1 - total) / shots) * slope, rel=1e-3)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"distance": 4, "p": 0.01}, "odd"),
        ({"distance": 3, "p": 0.6}, "p must be"),
        ({"distance": 3, "p": 0.01, "basis": "y"}, "basis"),
        ({"distance": 3, "p": 0.01, "noise": "weird"}, "noise must be"),
    ],
)
def test_bad_experiments_are_refused(kwargs, words):
    with pytest.raises(ValueError, match=words):
        SurfaceCodeMemory(**kwargs)


def test_logical_error_per_round_refuses_to_clamp_a_worse_than_coin_decoder():
    # P > 1/2 has no per-round rate in [0, 1/2]: nan, not a clamped 0.5 with a finite bar
    e, err = logical_error_per_round(600, 1000, 3)
    assert np.isnan(e) and np.isnan(err)
    e, err = logical_error_per_round(500, 1000, 3)
    assert e == 0.5 and np.isnan(err)
    assert logical_error_per_round(0, 1000, 3) == (0.0, pytest.approx(np.sqrt(1e-3 / 1000) / 3))
    with pytest.raises(ValueError, match="failures must be in"):
        logical_error_per_round(1001, 1000, 3)
