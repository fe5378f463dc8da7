"""``braket:<device>`` offline on Braket's local simulators: exact values equal hqml's
statevector for every translated gate, shots go in one program set per call (one task for a
batch, one for its whole gradient), samples keep hqml's wire order, and a managed device
without AWS credentials is refused before any network call."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import hqml
from hqml import accounting
from hqml.backends.providers import CredentialsMissing, UnsupportedRequest

pytest.importorskip("braket.devices", reason="needs the hardware extra")

F64 = torch.float64


def every_gate_circuit() -> hqml.Circuit:
    rng = np.random.default_rng(3)
    c = hqml.Circuit(3)
    w = c.weight("w", (12,))
    for name in ["h", "x", "y", "z", "s", "sdg", "t", "tdg", "sx", "sxdg"]:
        c.append(name, [int(rng.integers(3))])
    c.rx(w[0], 0).ry(w[1], 1).rz(w[2] * 0.5 + 0.1, 2).p(w[3], 0).u(w[4], w[5], w[6], 1)
    c.swap(0, 2).iswap(1, 2).rxx(w[7], 0, 1).ryy(w[8], 1, 2).rzz(w[9], 2, 0)
    c.cx(2, 0).cy(0, 1).cz(1, 2).append("ch", [2, 1]).cp(w[10], 1, 0)
    c.crx(w[11], 0, 2).append("cu", [1, 2], [w[0], 0.2, -0.4]).ccx(0, 1, 2).cswap(2, 0, 1)
    q, _ = np.linalg.qr(rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4)))
    return c.unitary(q, [2, 0])


OBS = [hqml.Z(0), hqml.X(1) @ hqml.Y(2), 0.5 * hqml.Z(1) @ hqml.Z(2) - hqml.Y(0) + 0.25]


def test_exact_values_equal_hqmls_statevector_for_every_translated_gate():
    c = every_gate_circuit()
    w = torch.tensor(np.random.default_rng(4).uniform(-3, 3, 12))
    ref = hqml.expval(c, OBS, weights={"w": w})
    got = hqml.expval(c, OBS, weights={"w": w}, backend="braket:braket_sv")
    torch.testing.assert_close(got, ref, atol=1e-9, rtol=0)


def circuit() -> hqml.Circuit:
    c = hqml.Circuit(2)
    x, w = c.input("x", 2), c.weight("w", (2,))
    return c.ry(x[0], 0).ry(x[1], 1).cnot(0, 1).ry(w[0], 0).rx(w[1], 1)


def test_a_batch_and_its_gradient_are_one_program_set_each():
    c, shots = circuit(), 4000
    x = torch.tensor([[0.3, 1.2], [-0.9, 0.4]], dtype=F64)
    w = torch.tensor([0.5, -0.7], dtype=F64, requires_grad=True)
    obs = [hqml.Z(0), hqml.Z(0) @ hqml.Z(1)]
    be = hqml.get_backend("braket:braket_sv", seed=3)
    with accounting.track() as run:
        got = hqml.expval(c, obs, inputs={"x": x}, weights={"w": w}, backend=be, shots=shots)
        got.sum().backward()
    ref_w = w.detach().clone().requires_grad_(True)
    ref = hqml.expval(c, obs, inputs={"x": x}, weights={"w": ref_w})
    ref.sum().backward()
    se = np.sqrt((1 - ref.detach().numpy() ** 2) / shots) + 1e-3
    assert np.all(np.abs(got.detach().numpy() - ref.detach().numpy()) < 4 * se)
    # each gradient entry: 2 rows x 2 observables x (f+ - f-)/2 of +-1 outcomes
    assert (w.grad - ref_w.grad).abs().max() < 4 * 2 / np.sqrt(shots)
    t = run.totals()
    assert t["jobs"] == 2  # one quantum task for the values, one for the gradient
    # values: 2 rows x 2 Pauli words; gradient: 2 rows x 4 shifts x 2 words
    assert t["circuits"] == 2 * 2 + 2 * 4 * 2 and t["shots"] == t["circuits"] * shots


def test_program_sets_keep_to_the_devices_limits_and_devices_without_them_get_a_batch():
    """A call is split into as few program sets as the device's limits (executables and total
    shots per set) allow; a device without program sets runs one task per executable; a row
    that no program set can hold is refused before sending. Values equal hqml's within shot
    noise, samples keep the wire order."""
    c, shots = circuit(), 500
    x = torch.tensor([[0.3, 1.2], [-0.9, 0.4], [1.4, -0.2], [0.1, 0.8]], dtype=F64)
    w = torch.tensor([0.5, -0.7], dtype=F64)
    obs = [hqml.Z(0), hqml.X(0) @ hqml.Z(1) + 0.5 * hqml.Y(1)]  # 3 Pauli words
    ref = hqml.expval(c, obs, inputs={"x": x}, weights={"w": w})
    be = hqml.get_backend("braket:braket_sv", seed=5)
    assert be.program_set_limits == (100, 200_000)  # the local simulator's properties
    be.program_set_limits = (7, 10 * shots)  # as a small device would declare them
    probs = hqml.probs(c, wires=[1, 0], inputs={"x": x[:2]}, weights={"w": w})
    for limits, jobs in (((7, 10 * shots), 2 + 1), ((100, 3 * shots), 4 + 1), (None, 12 + 2)):
        be.program_set_limits = limits
        with accounting.track() as run:
            got = hqml.expval(c, obs, inputs={"x": x}, weights={"w": w}, backend=be, shots=shots)
            bits = hqml.sample(c, shots, wires=[1, 0], inputs={"x": x[:2]}, weights={"w": w},
                               backend=be)  # fmt: skip
        # 4 rows x 3 words, then (another call) 2 rows of samples: 2 rows (6 executables) per
        # set of 7, or one row per set of 3 x 500 shots; or one task each without program sets
        assert run.totals()["jobs"] == jobs and run.totals()["circuits"] == 4 * 3 + 2
        # each value: at most 1 + 0.5 of +-1 words measured with `shots` shots each
        assert (got - ref).abs().max() < 4 * 1.5 / np.sqrt(shots)
        counts = (bits[..., 0] * 2 + bits[..., 1]).long()
        emp = torch.stack([torch.bincount(r, minlength=4) / shots for r in counts])
        assert (emp - probs).abs().max() < 4 * 0.5 / np.sqrt(shots)
    be.program_set_limits = (2, 10 * shots)
    with accounting.track() as run, pytest.raises(UnsupportedRequest, match="program set"):
        hqml.expval(c, obs, inputs={"x": x}, weights={"w": w}, backend=be, shots=shots)
    assert run.calls == []


def test_samples_keep_hqmls_wire_order_and_exact_values_need_a_local_simulator():
    c = hqml.Circuit(3).x(0)
    bits = hqml.sample(c, 4, wires=[2, 0], backend="braket:braket_sv", seed=1)
    assert bits.tolist() == [[0, 1]] * 4
    with pytest.raises(UnsupportedRequest, match="cannot return probs"):
        hqml.probs(c, backend="braket:braket_sv")


@pytest.mark.filterwarnings("ignore:You are running a noise-free circuit:UserWarning")
def test_the_density_matrix_simulator_gives_the_same_values():
    c = circuit()
    x, w = torch.tensor([0.3, 1.2], dtype=F64), torch.tensor([0.5, -0.7], dtype=F64)
    obs = [hqml.Z(0), hqml.X(0) @ hqml.Y(1) + 0.5 * hqml.Z(1)]
    ref = hqml.expval(c, obs, inputs={"x": x}, weights={"w": w})
    got = hqml.expval(c, obs, inputs={"x": x}, weights={"w": w}, backend="braket:braket_dm")
    torch.testing.assert_close(got, ref, atol=1e-9, rtol=0)


def test_managed_devices_need_aws_credentials(monkeypatch, tmp_path):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance-metadata lookup
    arn = "arn:aws:braket:us-east-1::device/qpu/ionq/Aria-1"
    with pytest.raises(CredentialsMissing) as info:
        hqml.get_backend(f"braket:{arn}", shots=100)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(f"braket:{arn}: no credentials")
    assert "aws configure" in msg and "braket_sv" in msg
    with pytest.raises(ValueError, match="unknown Braket device 'sv1'"):
        hqml.get_backend("braket:sv1")
