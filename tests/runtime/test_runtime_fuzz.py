"""Malformed bodies: every one gets a 4xx with a short message, never a 500 or a hang (a real
server process over HTTP on 127.0.0.1)."""

from __future__ import annotations

import http.client
import json

import httpx
import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hqml

pytestmark = pytest.mark.slow  # servers, Ray, subprocesses: `make test-fast` skips these

HUGE = st.sampled_from([10**400, -(10**400), 2**64, 2**63, -1, 0, 2**31])
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), HUGE, st.floats(), st.text(max_size=12)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
SHAPES = st.one_of(JSON, st.lists(st.integers(-3, 2**40), max_size=4))
TENSOR = st.builds(
    lambda shape, dtype, data: {
        "format": "hqml.tensor/1",
        "dtype": dtype,
        "shape": shape,
        "data": data,
    },
    SHAPES,
    st.sampled_from(["float64", "float32", "int64", "complex128", "x"]),
    st.sampled_from(["", "AAAAAAAA8D8=", "!!", "AAAAAAAA+H8="]),
)  # 1.0, NaN
VALUES = st.one_of(JSON, TENSOR, st.lists(st.lists(st.floats(), max_size=3), max_size=3))


def base_job() -> dict:
    c = hqml.Circuit(2)
    x, w = c.input("x", 2), c.weight("w", 2)
    c.ry(x[0], 0).ry(x[1], 1).rz(w[0], 0).cnot(0, 1).rx(w[1], 1)
    return {
        "circuit": json.loads(c.to_json()),
        "inputs": {"x": [[0.1, 0.2]]},
        "weights": {"w": [0.3, 0.4]},
        "observables": [hqml.Z(0).to_json()],
        "timeout_s": 5,
    }


def base_program() -> dict:
    c = hqml.Circuit(2)
    w = c.weight("w", 2)
    c.ry(w[0], 0).ry(w[1], 1).cnot(0, 1)
    return {
        "program": "vqe",
        "circuit": json.loads(c.to_json()),
        "hamiltonian": hqml.Z(0).to_json(),
        "max_iterations": 3,
        "timeout_s": 5,
    }


JOB_KEYS = [
    "circuit",
    "qasm",
    "inputs",
    "weights",
    "theta",
    "varying",
    "cotangent",
    "measurement",
    "observables",
    "wires",
    "shots",
    "seed",
    "dtype",
    "backend",
    "options",
    "session_id",
    "idempotency_key",
    "timeout_s",
    "unknown",
]
PROGRAM_KEYS = [
    "program",
    "config",
    "circuit",
    "hamiltonian",
    "observables",
    "data_x",
    "data_y",
    "epochs",
    "batch_size",
    "initial_weights",
    "seed",
    "optimizer",
    "learning_rate",
    "max_iterations",
    "tolerance",
    "layers",
    "shots",
    "dtype",
]
CIRCUIT_PARTS = ["n_qubits", "inputs", "weights", "ops", "format"]


@st.composite
def bodies(draw: st.DrawFn) -> tuple[str, dict]:
    program = draw(st.booleans())
    body = base_program() if program else base_job()
    keys = PROGRAM_KEYS if program else JOB_KEYS
    for key in draw(st.lists(st.sampled_from(keys), min_size=1, max_size=3, unique=True)):
        body[key] = draw(VALUES)
    if draw(st.booleans()) and isinstance(body.get("circuit"), dict):
        part = draw(st.sampled_from(CIRCUIT_PARTS))
        if part == "ops" and draw(st.booleans()):
            op = {
                "gate": draw(
                    st.one_of(
                        JSON,
                        st.fixed_dictionaries(
                            {
                                "name": st.sampled_from(["ctrl", "rx", "unitary", "gate"]),
                                "base": st.just({"name": "x"}),
                                "controls": st.one_of(HUGE, JSON),
                            }
                        ),
                    )
                ),
                "wires": draw(JSON),
                "params": draw(JSON),
            }
            body["circuit"]["ops"] = [op]
        else:
            body["circuit"][part] = draw(VALUES)
    return ("/v1/programs" if program else "/v1/jobs"), body


@pytest.fixture(scope="module")
def fuzz_token(server):
    store = server.store()
    token = store.create_token("fuzzer")
    store.engine.dispose()
    yield token
    h = {"Authorization": f"Bearer {token}"}
    for job in httpx.get(server.url + "/v1/jobs?limit=1000", headers=h).json()["jobs"]:
        if job["status"] in ("queued", "running"):
            httpx.delete(server.url + f"/v1/jobs/{job['id']}", headers=h)


def test_fuzzed_bodies_get_4xx_or_success_never_5xx(server, fuzz_token):
    proc = psutil.Process(server.proc.pid)
    before = proc.memory_info().rss
    h = {"Authorization": f"Bearer {fuzz_token}"}
    seen: dict[int, int] = {}

    @settings(
        max_examples=100,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(bodies())
    def check(case: tuple[str, dict]) -> None:
        path, body = case
        text = json.dumps(body)  # NaN and Infinity as Python writes them
        r = httpx.post(
            server.url + path,
            content=text,
            timeout=10,
            headers={**h, "content-type": "application/json"},
        )
        seen[r.status_code] = seen.get(r.status_code, 0) + 1
        assert r.status_code < 500, (r.status_code, r.text[:300], text[:300])
        if r.status_code >= 400:
            detail = r.json()["detail"]
            assert isinstance(detail, str) and 0 < len(detail) <= 320, detail
        # the connection is still usable: the next request on it answers
        if r.status_code in (200, 202):
            httpx.delete(server.url + f"/v1/jobs/{r.json()['id']}", headers=h, timeout=10)

    check()
    assert httpx.get(server.url + "/health", timeout=5).status_code == 200
    assert proc.memory_info().rss - before < 300 * 2**20
    assert sum(n for code, n in seen.items() if 400 <= code < 500) > 50, seen


def test_error_details_do_not_echo_the_input(server, fuzz_token):
    h = {"Authorization": f"Bearer {fuzz_token}"}
    big = "x" * 150_000
    for body in (
        {**base_job(), "circuit": {"format": big}},
        {**base_job(), "observables": [big]},
        {**base_job(), "inputs": {big: [[1.0]]}},
        {**base_job(), "circuit": None, "qasm": big},
    ):
        r = httpx.post(server.url + "/v1/jobs", json=body, headers=h, timeout=10)
        assert 400 <= r.status_code < 500 and len(r.text) < 400, r.text[:500]
    nan = json.dumps({**base_job(), "inputs": {"x": [[float("nan"), 1.0]]}})
    r = httpx.post(
        server.url + "/v1/jobs",
        content=nan,
        timeout=10,
        headers={**h, "content-type": "application/json"},
    )
    assert r.status_code == 422 and "inputs.x[0][0]: nan is not a finite number" in r.text


def _tensor(shape: object, data: str = "AAAAAAAA8D8=") -> dict:
    return {"format": "hqml.tensor/1", "dtype": "float64", "shape": shape, "data": data}


def _program(**fields: object) -> dict:
    return {**base_program(), **fields}


# The ten kinds of body the issue found answered with a 500 (and a reset connection), named.
TEN_KINDS = [
    ("/v1/jobs", {**base_job(), "weights": {"w": _tensor(2)}}, "shape as an int"),
    ("/v1/jobs", {**base_job(), "weights": {"w": _tensor(None)}}, "shape as null"),
    ("/v1/jobs", {**base_job(), "weights": {"w": _tensor([[2]])}}, "shape as a nested list"),
    ("/v1/jobs", {**base_job(), "shots": 10**400}, "integer 10^400 as shots"),
    ("/v1/jobs", {**base_job(), "timeout_s": 10**400}, "integer 10^400 as a timeout"),
    ("/v1/jobs", {**base_job(), "shots": 10, "seed": 2**64}, "seed 2^64"),
    ("/v1/programs", _program(seed=2**64 + 5), "program seed above 2^64"),
    ("/v1/programs", _program(initial_weights={"w": "abc"}), "initial_weights as a string"),
    ("/v1/programs", _program(initial_weights={"w": [[1.0, 2.0], [3.0]]}), "ragged weights"),
    ("/v1/programs", _program(initial_weights=[1.0, 2.0]), "initial_weights as a list"),
]


def test_the_ten_malformed_kinds_get_4xx_and_keep_the_connection(server, fuzz_token):
    """Each named kind answers 4xx with a short detail, and the kept-alive connection survives:
    all ten go over one socket, which must still be the same object at the end."""
    host, port = server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    h = {"Authorization": f"Bearer {fuzz_token}", "Content-Type": "application/json"}
    try:
        conn.request("GET", "/health")
        conn.getresponse().read()
        sock = conn.sock
        for path, body, what in TEN_KINDS:
            conn.request("POST", path, body=json.dumps(body), headers=h)
            r = conn.getresponse()
            text = r.read().decode()
            assert 400 <= r.status < 500, (what, r.status, text[:300])
            assert 0 < len(json.loads(text)["detail"]) <= 320, (what, text[:400])
            assert (r.getheader("connection") or "").lower() != "close", what
            assert conn.sock is sock, f"{what}: the server closed the kept-alive connection"
    finally:
        conn.close()
