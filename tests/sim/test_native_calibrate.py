"""The one-time check that the compiled kernels beat the torch path on the running CPU: what it
compares is the same computation (checked against NumPy), its verdicts are cached per build,
torch version and thread count, and a compiled path that loses (or disagrees) is never chosen."""

import json
import types

import numpy as np
import pytest
import torch
from helpers import np_apply

import hqml
from hqml.backends.statevector import interpreter
from hqml.sim import native
from hqml.sim.native import calibrate

pytestmark = pytest.mark.skipif(not native.available(), reason="native kernels not built")

WIN = {
    "layer": {"c64": True, "c128": True},
    "interpreter": {"c64": True, "c128": True},
    "trajectories": {"c64": True, "c128": True},
    "perm_layer": {"c64": True, "c128": True},
}


def _verdict(layer64=True, layer128=True, interp=True, traj=True, perm=True):
    return {
        "layer": {"c64": layer64, "c128": layer128},
        "interpreter": {"c64": interp, "c128": interp},
        "trajectories": {"c64": traj, "c128": traj},
        "perm_layer": {"c64": perm, "c128": perm},
        "seconds": {},
    }


@pytest.fixture
def fresh(monkeypatch):
    """The real library, with no verdict remembered by this process."""
    monkeypatch.setenv("HQML_NATIVE", "1")
    monkeypatch.delenv("HQML_NATIVE_CALIBRATE", raising=False)
    monkeypatch.setattr(native, "_state", {"lib": native._load(), "tried": True})


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
def test_both_paths_compute_the_same_circuit_as_numpy(dtype):
    """The interpreter case: the compiled program and its torch counterpart both equal two layers
    of RY(theta) on every wire and a CNOT ring, computed in NumPy."""
    n, batch = 6, 5
    gen = torch.Generator().manual_seed(3)
    run_native, run_torch = calibrate._interpreter_case(native._load(), dtype, n, batch, gen)
    gen = torch.Generator().manual_seed(3)  # the same angles again
    real = torch.float32 if dtype == torch.complex64 else torch.float64
    theta = (torch.rand(batch, 2 * n, dtype=torch.float64, generator=gen) * 6).to(real).double()
    state = np.zeros((batch, 2**n), dtype=complex)
    state[:, 0] = 1
    index = np.arange(2**n)
    for layer in range(2):
        for w in range(n):
            t = theta[:, layer * n + w].numpy() / 2
            ry = np.stack(
                [np.stack([np.cos(t), -np.sin(t)], -1), np.stack([np.sin(t), np.cos(t)], -1)], -2
            )
            state = np_apply(state, n, w, ry)
        for i in range(n):  # CNOT(i, i + 1 mod n)
            ctrl, tgt = n - 1 - i, n - 1 - (i + 1) % n
            state = state[:, np.where(index >> ctrl & 1, index ^ (1 << tgt), index)]
    tol = 1e-5 if dtype == torch.complex64 else 1e-12
    np.testing.assert_allclose(run_native().numpy(), state, atol=tol)
    np.testing.assert_allclose(run_torch().numpy(), state, atol=tol)


def test_measure_gives_a_verdict_for_every_kind_and_dtype(capsys):
    old = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        got = calibrate.measure(native._load())
    finally:
        torch.set_num_threads(old)
    for kind in calibrate.KINDS:
        assert set(got[kind]) == {"c64", "c128"}
        assert all(isinstance(v, bool) for v in got[kind].values())
    cases = (
        len(calibrate.LAYER_CASES)
        + len(calibrate.INTERPRETER_CASES)
        + len(calibrate.TRAJECTORY_CASES)
        + len(calibrate.PERM_LAYER_CASES)
    )
    assert len(got["seconds"]) == 2 * cases
    for key, (t_native, t_torch) in got["seconds"].items():
        assert 0 < t_native < 1 and 0 < t_torch < 1, key
        kind, suf = key.rsplit("_", 3)[:2]
        if t_native > t_torch:  # a loss at any case decides the kind
            assert not got[kind][suf]
    assert capsys.readouterr().err == ""  # the two paths agreed


def test_verdicts_are_cached_per_build_torch_and_threads(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(calibrate, "measure", lambda lib: calls.append(1) or _verdict())
    lib = types.SimpleNamespace(hqml_path=str(tmp_path / "_hqml_kernels-abc.so"))
    old = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert calibrate.calibration(lib)["layer"]["c64"] and len(calls) == 1
        assert calibrate.calibration(lib)["layer"]["c64"] and len(calls) == 1  # from the file
        stored = json.loads((tmp_path / "_hqml_kernels-abc.so.calibration.json").read_text())
        abi = native.ABI_VERSION  # a new interface is measured again
        assert list(stored) == [f"abi={abi};build=?;torch={torch.__version__};threads=1"]
        torch.set_num_threads(2)
        calibrate.calibration(lib)
        assert len(calls) == 2  # another thread count is measured again, and kept beside
        assert (
            len(json.loads((tmp_path / "_hqml_kernels-abc.so.calibration.json").read_text())) == 2
        )
    finally:
        torch.set_num_threads(old)
    (tmp_path / "_hqml_kernels-abc.so.calibration.json").write_text("{not json")
    calibrate.calibration(lib)
    assert len(calls) == 3  # a damaged file is measured again
    other = types.SimpleNamespace(hqml_path=str(tmp_path / "_hqml_kernels-def.so"))
    calibrate.calibration(other)
    assert len(calls) == 4  # another build (a rebuilt library is a new file) too


def test_a_library_rebuilt_in_place_is_measured_again(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(calibrate, "measure", lambda lib: calls.append(1) or _verdict())
    so = tmp_path / "_hqml_kernels-abc.so"
    so.write_bytes(b"first build")
    lib = types.SimpleNamespace(hqml_path=str(so))
    calibrate.calibration(lib)
    calibrate.calibration(lib)
    assert len(calls) == 1
    so.write_bytes(b"second build, new sources")  # same name, other size and time
    calibrate.calibration(lib)
    assert len(calls) == 2
    stored = json.loads((tmp_path / "_hqml_kernels-abc.so.calibration.json").read_text())
    assert len(stored) == 1 and f"build={so.stat().st_size}-" in next(iter(stored))


def test_a_path_slower_than_torch_is_not_chosen(fresh, monkeypatch):
    monkeypatch.setattr(calibrate, "calibration", lambda lib: _verdict(layer64=False, interp=False))
    assert not native.usable("cpu", torch.complex64, 20)
    assert native.usable("cpu", torch.complex128, 20)
    assert not native.interpreter_usable()
    calls = []
    forward = interpreter.kernel_forward
    monkeypatch.setattr(
        interpreter, "kernel_forward", lambda *a, **k: calls.append(1) or forward(*a, **k)
    )
    c = hqml.Circuit(3)
    x = c.input("x", 3)
    for i in range(3):
        c.ry(x[i], i)
    c.cnot(0, 1).cnot(1, 2)
    xs = torch.tensor([[0.3, 1.1, -0.4], [2.0, 0.1, 0.7]], dtype=torch.float64)
    want = torch.cos(xs).prod(dim=1).numpy()  # <Z_2> after the CNOT chain
    got = hqml.expval(c, [hqml.Z(2)], inputs={"x": xs})
    np.testing.assert_allclose(got[:, 0].numpy(), want, atol=1e-12)
    assert calls == []  # the interpreter was not used
    monkeypatch.setattr(calibrate, "calibration", lambda lib: _verdict())
    lib = native._state["lib"]
    native._state.clear()  # forget the verdict
    native._state.update({"lib": lib, "tried": True})
    # a request's engine is chosen when it is first made: a new circuit makes a new request
    got = hqml.expval(c.copy(), [hqml.Z(2)], inputs={"x": xs})
    np.testing.assert_allclose(got[:, 0].numpy(), want, atol=1e-12)
    assert calls  # where it wins, it is


def test_a_build_that_disagrees_with_torch_is_refused(monkeypatch, capsys):
    real_case = calibrate._layer_case

    def wrong(lib, dtype, n, batch, gen):
        run_native, run_torch = real_case(lib, dtype, n, batch, gen)
        return (lambda: run_native() * 1.01), run_torch

    monkeypatch.setattr(calibrate, "_layer_case", wrong)
    got = calibrate.measure(native._load())
    assert got["layer"] == {"c64": False, "c128": False}
    assert "disagree with the torch kernels" in capsys.readouterr().err


def test_the_check_can_be_skipped(fresh, monkeypatch):
    monkeypatch.setattr(calibrate, "calibration", lambda lib: pytest.fail("measured"))
    monkeypatch.setenv("HQML_NATIVE_CALIBRATE", "0")
    assert native.beats_torch("layer", torch.complex64)
    assert native.interpreter_usable()


def test_a_folded_permutation_slower_than_the_gather_is_not_used(fresh, monkeypatch):
    """Where folding a CNOT chain into the layer measured slower than the gather then the layer,
    the fold declines (None, nothing written) and the caller gathers; where it wins, it runs."""
    n = 8
    cols = [(1 << j) | (1 << j >> 1) for j in range(n)]  # the CNOT chain's gather y ^ (y >> 1)
    psi = torch.randn(1, 2**n, dtype=torch.complex64)
    out = torch.zeros_like(psi)
    monkeypatch.setattr(calibrate, "calibration", lambda lib: _verdict(perm=False))
    assert native.apply_layer_permuted(psi, n, cols, [], None, out) is None
    assert not out.any()
    monkeypatch.setattr(calibrate, "calibration", lambda lib: _verdict())
    native._state.pop(("calibration", torch.get_num_threads()))  # forget the verdict
    y = torch.arange(2**n)
    assert native.apply_layer_permuted(psi, n, cols, [], None, out) is out
    assert torch.equal(out, psi[:, y ^ (y >> 1)])
