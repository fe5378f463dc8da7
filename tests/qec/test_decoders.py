"""Decoders: PyMatching corrects every single fault; neural decoders learn, seeded, batched."""

import numpy as np
import pytest
import torch

stim = pytest.importorskip("stim")
pytest.importorskip("pymatching")

from hqml.qec import (  # noqa: E402
    ConvDecoder,
    LatticeRecurrentDecoder,
    MatchingDecoder,
    NoFlipDecoder,
    RecurrentDecoder,
    SurfaceCodeMemory,
)


def _single_faults(exp):
    """Every error mechanism of the detector error model as (detection events, flip)."""
    n = exp.circuit.num_detectors
    for inst in exp.detector_error_model().flattened():
        if inst.type != "error":
            continue
        det = np.zeros(n, dtype=bool)
        flip = False
        for t in inst.targets_copy():
            if t.is_relative_detector_id():
                det[t.val] ^= True
            elif t.is_logical_observable_id():
                flip ^= True
        yield det, flip


@pytest.mark.parametrize(
    "d, basis, noise, correlated",
    [
        (3, "z", "depolarizing", False),
        (3, "x", "depolarizing", False),
        (3, "z", "biased", False),
        (5, "x", "depolarizing", False),
        # at d = 3 PyMatching 2.4's correlated mode miscorrects a few single faults (6 of 286 at
        # p = 0.001: decomposed hyperedges re-weighted onto the wrong pair); at d = 5 it must not
        (5, "z", "depolarizing", True),
    ],
)
def test_matching_corrects_every_single_fault(d, basis, noise, correlated):
    # every fault mechanism of the detector error model, decoded alone, is corrected: the
    # X-basis and biased circuits' observables and detectors are wired as the decoder expects
    exp = SurfaceCodeMemory(d, 0.004, basis=basis, noise=noise)
    faults = list(_single_faults(exp))
    assert len(faults) > 100
    det = np.array([f[0] for f in faults])
    want = np.array([f[1] for f in faults])
    assert want.any() and not want.all()
    np.testing.assert_array_equal(MatchingDecoder(exp, correlated).decode(det), want)


def test_correlated_matching_decodes_as_well_as_plain_matching():
    # correlated matching reweights edges, so it may miss a rare single fault (2 of 286 at
    # d = 3) but must not be worse on sampled shots than plain matching beyond noise
    exp = SurfaceCodeMemory(3, 0.01)
    s = exp.sample(20_000, seed=4)
    plain = np.mean(MatchingDecoder(exp).decode(s.detectors) != s.flips)
    corr = np.mean(MatchingDecoder(exp, correlated=True).decode(s.detectors) != s.flips)
    assert corr < plain + 4 * np.sqrt(plain * (1 - plain) / len(s))
    assert corr < 0.5 * np.mean(s.flips)


def test_recurrent_decoder_beats_no_flip_by_far_at_distance_3():
    torch.manual_seed(0)
    exp = SurfaceCodeMemory(3, 0.01)
    train, test = exp.sample(60_000, seed=11), exp.sample(20_000, seed=12)
    model = RecurrentDecoder(exp.layout, hidden=64, layers=1, seed=0).fit(
        train.detectors, train.flips, epochs=4, batch_size=512, lr=1e-2
    )
    neural = np.mean(model.decode(test.detectors) != test.flips)
    trivial = np.mean(NoFlipDecoder().decode(test.detectors) != test.flips)
    matching = np.mean(MatchingDecoder(exp).decode(test.detectors) != test.flips)
    assert trivial > 0.15
    assert neural < 0.6 * trivial, (neural, trivial, matching)


def test_conv_decoder_beats_no_flip_by_far_at_distance_3():
    exp = SurfaceCodeMemory(3, 0.01)
    train, test = exp.sample(40_000, seed=11), exp.sample(20_000, seed=12)
    model = ConvDecoder(exp.layout, channels=8, depth=1, hidden=64, seed=0).fit(
        train.detectors, train.flips, epochs=3, batch_size=256, lr=1e-2
    )
    neural = np.mean(model.decode(test.detectors) != test.flips)
    trivial = np.mean(NoFlipDecoder().decode(test.detectors) != test.flips)
    assert trivial > 0.15
    assert neural < 0.65 * trivial, (neural, trivial)


@pytest.mark.parametrize("d, basis", [(3, "z"), (5, "x")])
def test_recurrent_decoder_reads_the_stabiliser_measurements_stim_records(d, basis):
    # with measurements=True the LSTM reads, beside each round's detection events, the measured
    # stabiliser values XOR their first round's: checked against Stim's raw measurement record
    exp = SurfaceCodeMemory(d, 0.02, basis=basis)
    circuit = exp.circuit
    meas = circuit.compile_sampler(seed=3).sample(200)
    det = circuit.compile_m2d_converter().convert(measurements=meas, separate_observables=True)[0]
    coords = circuit.get_final_qubit_coordinates()
    ancillas = [  # (record index, lattice cell) of every mid-circuit (ancilla) measurement
        (k, (int(coords[t.value][0]) // 2, int(coords[t.value][1]) // 2))
        for k, t in enumerate(
            t
            for inst in circuit.flattened()
            if inst.name in ("M", "MR", "MX", "MRX")
            for t in inst.targets_copy()
        )
    ][: exp.n_rounds * (d * d - 1)]
    _, h, w = exp.layout.shape
    want = np.zeros((200, exp.n_rounds, h, w), dtype=np.float32)
    first = {}
    for n, (k, (i, j)) in enumerate(ancillas):
        r = n // (d * d - 1)
        first.setdefault((i, j), k)
        # a stabiliser with a first-round detector is compared with its reset value, 0; the
        # others (random in the first round) with their own first-round outcome
        ref = 0 if exp.layout.mask()[0, i, j] else meas[:, first[(i, j)]]
        want[:, r, i, j] = meas[:, k] ^ ref
    model = RecurrentDecoder(exp.layout, hidden=8, layers=1, measurements=True)
    got = model.round_inputs(model.lattice(torch.as_tensor(det))).numpy()
    cells = h * w
    np.testing.assert_array_equal(got[:, :, cells:], want.reshape(200, exp.n_rounds, cells))
    events = exp.layout.to_lattice(det)[:, :-1].reshape(200, exp.n_rounds, cells)
    np.testing.assert_array_equal(got[:, :, :cells], events)
    assert want.any() and events.any()
    plain = RecurrentDecoder(exp.layout, hidden=8, layers=1)
    assert plain.round_inputs(plain.lattice(torch.as_tensor(det))).shape[2] == cells


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_neural_decoders_fit_and_decode_on_cuda_as_on_cpu():
    exp = SurfaceCodeMemory(3, 0.01)
    s = exp.sample(4_000, seed=6)
    for cls in (ConvDecoder, RecurrentDecoder, LatticeRecurrentDecoder):
        gpu = cls(exp.layout, seed=1).to("cuda").fit(s.detectors, s.flips, epochs=1)
        assert all(p.is_cuda for p in gpu.parameters())
        cpu = cls(exp.layout, seed=2)
        cpu.load_state_dict({k: v.cpu() for k, v in gpu.state_dict().items()})
        with torch.no_grad():  # cuDNN may use TF32: agreement to 1e-2, not bitwise
            logits_gpu = gpu(torch.as_tensor(s.detectors)).cpu()
            logits_cpu = cpu(torch.as_tensor(s.detectors))
        torch.testing.assert_close(logits_gpu, logits_cpu, rtol=1e-2, atol=1e-2)
        out = gpu.decode(s.detectors)
        assert isinstance(out, np.ndarray) and out.dtype == bool and out.shape == (4_000,)
        # decisions agree except where a logit sits within float noise of zero
        near_zero = logits_cpu.abs().numpy() < 2e-2
        np.testing.assert_array_equal(out[~near_zero], (logits_cpu > 0).numpy()[~near_zero])


def test_decode_refuses_shots_of_another_experiment():
    model = RecurrentDecoder(SurfaceCodeMemory(3, 0.01).layout, hidden=8, layers=1)
    other = SurfaceCodeMemory(3, 0.01, rounds=4).sample(10, seed=0)  # 32 detectors, not 24
    with pytest.raises(
        ValueError, match=r"expected detection events \(shots, 24\).*got \(10, 32\)"
    ):
        model.decode(other.detectors)


def test_conv_decoder_is_seeded_batched_and_round_trips():
    exp = SurfaceCodeMemory(3, 0.01)
    s = exp.sample(2_000, seed=5)
    a = ConvDecoder(exp.layout, seed=3).fit(s.detectors, s.flips, epochs=1, batch_size=256)
    b = ConvDecoder(exp.layout, seed=3).fit(s.detectors, s.flips, epochs=1, batch_size=256)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(pa, pb, rtol=0, atol=0)
    whole = a.decode(s.detectors)
    pieces = a.decode(s.detectors, batch_size=300)
    assert whole.dtype == bool and whole.shape == (2_000,)
    np.testing.assert_array_equal(whole, pieces)
    c = ConvDecoder(exp.layout, seed=99)
    c.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(c.decode(s.detectors), whole)


def test_fit_names_the_expected_shapes():
    exp = SurfaceCodeMemory(3, 0.01)
    with pytest.raises(ValueError, match=r"expected detectors \(shots, 24\)"):
        RecurrentDecoder(exp.layout).fit(np.zeros((10, 23), bool), np.zeros(10, bool))
