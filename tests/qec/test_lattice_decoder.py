"""The lattice (convolutional GRU) decoder: its state lives on Stim's lattice, it learns, it
refuses other experiments' shots."""

import numpy as np
import pytest
import torch

pytest.importorskip("stim")

from hqml.qec import (  # noqa: E402
    LatticeRecurrentDecoder,
    NoFlipDecoder,
    RecurrentDecoder,
    SurfaceCodeMemory,
)


@pytest.mark.parametrize("d, basis", [(3, "z"), (5, "x")])
def test_each_detector_drives_its_own_lattice_cell_and_only_its_neighbours(d, basis):
    # a lone detection event in the last syndrome round lands on the cell of Stim's coordinates
    # (x / 2, y / 2) and, through one GRU step (a 3x3 reset gate, then a 3x3 candidate on the
    # reset state), changes the state only within two cells of it
    exp = SurfaceCodeMemory(d, 0.01, basis=basis)
    coords = exp.circuit.get_detector_coordinates()
    model = LatticeRecurrentDecoder(exp.layout, channels=4, seed=0)
    n, rounds = exp.circuit.num_detectors, exp.n_rounds
    cells, far_untouched = set(), 0
    with torch.no_grad():
        empty = model.state(model.lattice(torch.zeros(1, n, dtype=torch.bool)))
        for k in range(n):
            x, y, t = coords[k]
            cells.add((int(t), int(x) // 2, int(y) // 2))
            one = torch.zeros(1, n, dtype=torch.bool)
            one[0, k] = True
            lattice = model.lattice(one)
            assert lattice.sum() == 1 and lattice[0, int(t), int(x) // 2, int(y) // 2] == 1
            if t != rounds - 1:
                continue
            changed = (model.state(lattice) - empty).abs().amax(dim=(0, 1)) > 0
            rows, cols = np.nonzero(changed.numpy())
            assert len(rows) > 0
            assert np.all(np.abs(rows - int(x) // 2) <= 2) and np.all(
                np.abs(cols - int(y) // 2) <= 2
            )
            far_untouched += not changed.all()
    assert len(cells) == n  # no two detectors share a cell
    assert far_untouched > 0  # the state is local, not all-to-all
    assert model.state(model.lattice(torch.zeros(2, n, dtype=torch.bool))).shape == (
        2,
        4,
        d + 1,
        d + 1,
    )


@pytest.fixture
def one_thread():
    """The model's small convolutions pay more for a second thread than they gain (33 s of CPU
    against 1.8 s for this test when two test workers share two cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_lattice_decoder_beats_no_flip_by_far_at_distance_3(one_thread):
    exp = SurfaceCodeMemory(3, 0.01)
    train, test = exp.sample(20_000, seed=11), exp.sample(10_000, seed=12)
    model = LatticeRecurrentDecoder(exp.layout, channels=8, hidden=32, seed=0).fit(
        train.detectors, train.flips, epochs=1, batch_size=128, lr=1e-2
    )
    neural = np.mean(model.decode(test.detectors) != test.flips)
    trivial = np.mean(NoFlipDecoder().decode(test.detectors) != test.flips)
    assert trivial > 0.15
    assert neural < 0.6 * trivial, (neural, trivial)


def test_lattice_decoder_is_seeded_and_refuses_other_shots():
    exp = SurfaceCodeMemory(3, 0.01)
    a, b = (LatticeRecurrentDecoder(exp.layout, channels=4, seed=7) for _ in range(2))
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(pa, pb, rtol=0, atol=0)
    other = SurfaceCodeMemory(3, 0.01, rounds=4).sample(10, seed=0)  # 32 detectors, not 24
    with pytest.raises(
        ValueError, match=r"expected detection events \(shots, 24\).*got \(10, 32\)"
    ):
        a.decode(other.detectors)
    with pytest.raises(ValueError, match="kernel must be odd"):
        LatticeRecurrentDecoder(exp.layout, kernel=2)


def test_lattice_decoder_reads_the_measurements_the_recurrent_decoder_reads():
    # the recurrent decoder's measurement input is checked against Stim's raw measurement record
    # (test_decoders.py); the lattice decoder must read the same values, cell by cell
    exp = SurfaceCodeMemory(5, 0.02, basis="x")
    det = torch.as_tensor(exp.sample(100, seed=3).detectors)
    lattice_model = LatticeRecurrentDecoder(exp.layout, channels=4)
    flat = RecurrentDecoder(exp.layout, hidden=8, layers=1, measurements=True)
    got = lattice_model.round_inputs(lattice_model.lattice(det))  # (B, rounds, 2, H, W)
    want = flat.round_inputs(flat.lattice(det))  # (B, rounds, 2 * H * W)
    cells = 6 * 6
    np.testing.assert_array_equal(got[:, :, 0].flatten(2).numpy(), want[:, :, :cells].numpy())
    np.testing.assert_array_equal(got[:, :, 1].flatten(2).numpy(), want[:, :, cells:].numpy())
    assert got[:, :, 1].sum() > got[:, :, 0].sum() > 0
