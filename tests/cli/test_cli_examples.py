"""The example job files the docs use (examples/bell.json, examples/vqe.json) are valid and give
the values worked out by hand (the service itself is tested in tests/runtime)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import hqml
from hqml.cli.jobs import _payload

ROOT = Path(__file__).resolve().parents[2]


def test_bell_json_is_a_bell_circuit_and_the_cli_payload_holds_the_observables():
    c = hqml.Circuit.from_json((ROOT / "examples" / "bell.json").read_text())
    psi = hqml.state(c).numpy()
    np.testing.assert_allclose(psi, np.array([1, 0, 0, 1]) / np.sqrt(2), atol=1e-6)
    body = _payload(
        ROOT / "examples" / "bell.json", ["ZZ", "0.5*XX"], "expval", None, "statevector"
    )
    obs = [hqml.PauliSum.from_json(o) for o in body["observables"]]
    vals = hqml.expval(hqml.Circuit.from_json(json.dumps(body["circuit"])), obs)
    np.testing.assert_allclose(vals.numpy(), [1.0, 0.5], atol=1e-6)


def test_vqe_json_program_reaches_the_ground_energy():
    from hqml.backends import get_backend
    from hqml.runtime.cost import Limits
    from hqml.runtime.execution import JobContext
    from hqml.runtime.programs import prepare_program, run_program
    from hqml.runtime.schemas import ProgramRequest

    doc = json.loads((ROOT / "examples" / "vqe.json").read_text())
    prepared = prepare_program(ProgramRequest(**doc), Limits(max_qubits=10))
    out = run_program(
        prepared,
        get_backend("statevector"),
        JobContext(report=lambda *a, **k: None, should_stop=lambda: None),
    )
    z, x, i = np.diag([1.0, -1.0]), np.array([[0.0, 1.0], [1.0, 0.0]]), np.eye(2)
    h = np.kron(z, z) + 0.5 * np.kron(x, i) + 0.5 * np.kron(i, x)
    ground = np.linalg.eigvalsh(h)[0]  # -sqrt(2)
    assert out["energy"] == pytest.approx(ground, abs=1e-2)
