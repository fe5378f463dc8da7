"""The job service prices an MPS job by what its site tensors can hold at ``max_bond``, not by
2^n amplitudes: a 64-qubit MPS job passes where the statevector is refused, an MPS whose bonds
are too large is refused naming them, and the priced job runs (no server: the pricing and run
functions the service calls)."""

from __future__ import annotations

import json
import math

import pytest

import hqml
from hqml.backends import get_backend
from hqml.runtime.cost import JobRejected, Limits, amplitudes
from hqml.runtime.execution import prepare, run_circuit_job
from hqml.runtime.schemas import CircuitJobRequest
from hqml.runtime.wire import tensor_from_json


def _request(n: int, **kw) -> CircuitJobRequest:
    c = hqml.Circuit(n).ry(0.3, 0)
    for i in range(n - 1):
        c.cnot(i, i + 1)  # a GHZ-like chain: <Z_{n-1}> = cos 0.3, bond 2
    return CircuitJobRequest(
        circuit=json.loads(c.to_json()), observables=[hqml.Z(n - 1).to_json()], **kw
    )


def test_mps_jobs_are_priced_by_their_bonds_and_run():
    limits = Limits(max_qubits=200, max_amplitudes=2**20)
    with pytest.raises(JobRejected, match=r"2\^64 amplitudes"):
        prepare(_request(64), limits)
    req = _request(64, backend="mps", options={"max_bond": 8})
    # 2 * D_i * D_{i+1} numbers per site, D_i = min(8, 2^i, 2^(64-i))
    assert amplitudes(64, "mps", {"max_bond": 8}) == 2 * (2 + 8 + 32 + 58 * 64 + 32 + 8 + 2)
    job = prepare(req, limits)
    out = run_circuit_job(job, get_backend("mps", max_bond=8))
    value = tensor_from_json(out["value"])
    assert math.isclose(float(value.reshape(-1)[0]), math.cos(0.3), abs_tol=1e-6)
    # the backend's default bond (64) when no option is given; too large a bond is refused
    assert amplitudes(64, "mps") == amplitudes(64, "mps", {"max_bond": 64})
    with pytest.raises(JobRejected, match=r"MPS at max_bond=4096 \(up to"):
        prepare(_request(64, backend="mps", options={"max_bond": 4096}), limits)
    with pytest.raises(JobRejected, match="options.max_bond must be a positive integer"):
        prepare(_request(64, backend="mps", options={"max_bond": "big"}), limits)
