"""Every request is priced before anything is built (a real server process; the ``server``
fixture's caps: 12 qubits, 2^14 amplitudes, 10^5 samples, 4 MB results, 10^5 parameters,
10^6 dataset values, 10^5 gates, 10^4 shots; carol: 100 shots)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx
import psutil
import pytest

import hqml

pytestmark = pytest.mark.slow  # servers, Ray, subprocesses: `make test-fast` skips these


def headers(server, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.tokens[who]}"}


def nested_qasm(levels: int = 40) -> str:
    """About 1.3 KB that expands to 2^levels gates: each definition calls the one before twice."""
    lines = [
        "OPENQASM 3.0;",
        'include "stdgates.inc";',
        "qubit[2] q;",
        "gate g0 a, b { h a; cx a, b; }",
    ]
    lines += [f"gate g{i} a, b {{ g{i - 1} a, b; g{i - 1} b, a; }}" for i in range(1, levels)]
    return "\n".join([*lines, f"g{levels - 1} q[0], q[1];"])


def bell_job() -> dict:
    return {
        "circuit": json.loads(hqml.Circuit(2).h(0).cnot(0, 1).to_json()),
        "observables": [hqml.Z(0).to_json()],
    }


def rss(server) -> int:
    return psutil.Process(server.proc.pid).memory_info().rss


def test_nested_qasm_is_refused_by_its_expanded_size_and_floods_leave_others_answering(server):
    text = nested_qasm()
    assert len(text) < 1600
    body = {"qasm": text, "observables": [hqml.Z(0).to_json()]}
    r = httpx.post(server.url + "/v1/jobs", json=body, headers=headers(server, "alice"), timeout=10)
    assert r.status_code == 400 and "expands to at least 1.1e+12 gates" in r.json()["detail"]
    program = {"program": "vqe", "qasm": text, "hamiltonian": hqml.Z(0).to_json()}
    r = httpx.post(
        server.url + "/v1/programs", json=program, headers=headers(server, "alice"), timeout=10
    )
    assert r.status_code == 400 and "expands to" in r.json()["detail"]

    # 41 concurrent copies, sent by another process (so that its threads do not slow this
    # one's measurement): /health and another tenant's submit still answer (before the
    # budget, each copy expanded for ever inside a request thread and the service stopped)
    # bob's first submission pays the server's one-time costs (lazy imports, first queries);
    # make it before the flood so that the times below measure the flood's effect
    r = httpx.post(
        server.url + "/v1/jobs", json=bell_job(), headers=headers(server, "bob"), timeout=10
    )
    assert r.status_code == 202
    flood = start_flood(server.url, [server.tokens["alice"]], 41, body, timeout=30)
    try:
        assert flood.stdout.readline().strip() == "sending"
        time.sleep(0.05)
        t0 = time.perf_counter()
        assert httpx.get(server.url + "/health", timeout=10).status_code == 200
        t_health = time.perf_counter() - t0
        t0 = time.perf_counter()
        r = httpx.post(
            server.url + "/v1/jobs", json=bell_job(), headers=headers(server, "bob"), timeout=10
        )
        t_submit = time.perf_counter() - t0
        assert r.status_code == 202
        out, _ = flood.communicate(timeout=60)
    finally:
        flood.kill()
        flood.wait()
    assert json.loads(out) == [400] * 41
    print(
        f"\nduring 41 nested-QASM requests: /health {t_health * 1e3:.0f} ms,"
        f" another tenant's submit {t_submit * 1e3:.0f} ms"
    )
    # the bound is 1 s, met on a quiet machine (2 cores: /health 50-540 ms, submit
    # 220-450 ms); a machine loaded 5x by other work took up to 1.3 s and 2.1 s, at load 25
    # 4.5 s, so the test allows 8 s: it guards against the defect (no answer at all, a server
    # blocked by the flood), not for the last 100 ms, which the figures above record
    assert t_health < 8.0 and t_submit < 8.0, (t_health, t_submit)


FLOOD = """
import json, sys, threading, httpx
url, tokens, copies = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
body, timeout = json.loads(sys.argv[4]), float(sys.argv[5])
codes, start = [], threading.Barrier(copies * len(tokens))
def post(token):
    start.wait()
    codes.append(httpx.post(url + "/v1/jobs", json=body, timeout=timeout,
                            headers={"Authorization": "Bearer " + token}).status_code)
threads = [threading.Thread(target=post, args=(t,)) for t in tokens for _ in range(copies)]
for t in threads:
    t.start()
print("sending", flush=True)
for t in threads:
    t.join()
print(json.dumps(codes))
"""


def start_flood(
    url: str, tokens: list[str], copies: int, body: dict, timeout: float
) -> subprocess.Popen:
    """Another process (so that its threads do not slow this one's measurements) that posts
    ``copies`` copies of ``body`` per token all at once; it prints "sending" when they start
    and the status codes when they end."""
    args = [url, json.dumps(tokens), str(copies), json.dumps(body), str(timeout)]
    return subprocess.Popen([sys.executable, "-c", FLOOD, *args], stdout=subprocess.PIPE, text=True)


def test_controlled_gates_are_priced_before_their_matrix_is_built(server):
    many = hqml.Circuit(1).h(0)
    doc = json.loads(many.to_json())
    doc["n_qubits"] = 13
    doc["ops"] = [
        {
            "gate": {"name": "ctrl", "base": {"name": "x"}, "controls": 12},
            "wires": list(range(13)),
            "params": [],
        }
    ]
    qasm = (
        'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[13] q;\nctrl(12) @ x '
        + ", ".join(f"q[{i}]" for i in range(13))
        + ";\n"
    )
    before = rss(server)
    for body in ({"circuit": doc}, {"qasm": qasm}):
        body["observables"] = [hqml.Z(0).to_json()]
        t0 = time.perf_counter()
        r = httpx.post(
            server.url + "/v1/jobs", json=body, headers=headers(server, "alice"), timeout=30
        )
        elapsed = time.perf_counter() - t0
        assert r.status_code == 400, r.text
        assert "12-controlled x acts on 13 wires" in r.json()["detail"]
        print(f"\n12 controls refused in {elapsed * 1e3:.1f} ms")
        # a guard, not a benchmark: building the matrix first took 7.6 s (30-215 ms seen now)
        assert elapsed < 2.0
    # the dense 2^13 x 2^13 matrix alone is 1 GiB: nothing of that size was allocated
    assert rss(server) - before < 50 * 2**20
    doc["ops"][0]["gate"]["controls"] = 10**400  # a huge int in JSON is a 4xx, not a 500
    r = httpx.post(
        server.url + "/v1/jobs",
        json={"circuit": doc, "observables": ["Z0"]},
        headers=headers(server, "alice"),
        timeout=30,
    )
    assert 400 <= r.status_code < 500


def test_density_matrices_and_samples_are_priced_by_their_true_size(server):
    h = headers(server, "alice")
    c = hqml.Circuit(8).h(0)
    probs = {"circuit": json.loads(c.to_json()), "measurement": "probs", "wires": [0]}
    assert httpx.post(server.url + "/v1/jobs", json=probs, headers=h).status_code == 202
    r = httpx.post(
        server.url + "/v1/jobs", json={**probs, "backend": "density_matrix"}, headers=h
    )  # 4^8 = 2^16 amplitudes > 2^14
    assert r.status_code == 400 and "density matrix (4^8 amplitudes" in r.json()["detail"]
    sid = httpx.post(
        server.url + "/v1/sessions", json={"backend": "density_matrix"}, headers=h
    ).json()["id"]
    r = httpx.post(server.url + "/v1/jobs", json={**probs, "session_id": sid}, headers=h)
    assert r.status_code == 400 and "density matrix" in r.json()["detail"]
    # shots x rows: 20 rows x 10^4 shots = 2 x 10^5 samples > 10^5
    x = hqml.Circuit(1)
    x.ry(x.input("t", 1)[0], 0)
    sample = {
        "circuit": json.loads(x.to_json()),
        "measurement": "sample",
        "shots": 10_000,
        "inputs": {"t": [[0.1]] * 20},
    }
    r = httpx.post(server.url + "/v1/jobs", json=sample, headers=h)
    assert r.status_code == 400 and "20 rows x 10000 shots" in r.json()["detail"]
    # the result size is known in advance: 4 rows x 10^4 shots of 12 wires (int64) are
    # 3.84 MB, 5.1 MB in base64 > 4 MB
    c = hqml.Circuit(12)
    c.ry(c.input("t", 1)[0], 0)
    wide = {
        "circuit": json.loads(c.to_json()),
        "measurement": "sample",
        "shots": 10_000,
        "inputs": {"t": [[0.1]] * 4},
    }
    r = httpx.post(server.url + "/v1/jobs", json=wide, headers=h)
    assert r.status_code == 400 and "result (sample) would take 5.1 MB" in r.json()["detail"]
    ok = httpx.post(server.url + "/v1/jobs", json={**wide, "wires": [0, 1]}, headers=h)
    assert ok.status_code == 202


def vqe(**extra) -> dict:
    c = hqml.Circuit(1)
    c.ry(c.weight("w", 1)[0], 0)
    return {
        "program": "vqe",
        "circuit": json.loads(c.to_json()),
        "hamiltonian": hqml.Z(0).to_json(),
        "max_iterations": 5,
        **extra,
    }


def test_programs_are_priced_and_token_shot_limits_apply_to_them(server):
    ring = hqml.PauliSum.from_list([("ZZ", 1.0)])
    qaoa = {"program": "qaoa", "hamiltonian": ring.to_json(), "max_iterations": 5}
    for who, shots, code in (("alice", 20_000, 400), ("carol", 1_000, 400), ("carol", 50, 202)):
        r = httpx.post(
            server.url + "/v1/programs", json={**qaoa, "shots": shots}, headers=headers(server, who)
        )
        assert r.status_code == code, r.text
        if code == 400:
            assert f"shots={shots} exceeds the limit" in r.json()["detail"]
        else:
            httpx.delete(server.url + f"/v1/jobs/{r.json()['id']}", headers=headers(server, who))
    # declared weight shapes are priced, not allocated: 5 x 10^7 values
    big = vqe()
    big["circuit"]["weights"] = {"w": [50_000_000]}
    before = rss(server)
    r = httpx.post(server.url + "/v1/programs", json=big, headers=headers(server, "alice"))
    assert r.status_code == 400 and "declares 5e+07 parameter values" in r.json()["detail"]
    assert rss(server) - before < 50 * 2**20
    r = httpx.post(
        server.url + "/v1/programs",
        json=vqe(initial_weights={"w": [[1.0]]}),
        headers=headers(server, "alice"),
    )
    assert r.status_code == 400 and "initial weight 'w' has shape (1, 1)" in r.json()["detail"]
    r = httpx.post(
        server.url + "/v1/programs",
        json=vqe(max_iterations=100_000),
        headers=headers(server, "alice"),
    )  # its history alone: 2.4 MB
    assert r.status_code == 202
    httpx.delete(server.url + f"/v1/jobs/{r.json()['id']}", headers=headers(server, "alice"))
    # a run program's dataset and shots
    run = {
        "name": "r",
        "data": {"name": "linearly_separable", "n_samples": 500_000, "n_features": 4},
        "model": {"pattern": "head", "n_qubits": 2},
        "training": {"epochs": 1},
    }
    r = httpx.post(
        server.url + "/v1/programs",
        json={"program": "run", "config": run},
        headers=headers(server, "alice"),
    )
    assert r.status_code == 400 and "500000 samples x 4 features" in r.json()["detail"]
    run["data"]["n_samples"] = 100
    run["model"]["shots"] = 1000
    r = httpx.post(
        server.url + "/v1/programs",
        json={"program": "run", "config": run},
        headers=headers(server, "carol"),
    )
    assert r.status_code == 400 and "shots=1000 exceeds the limit of 100" in r.json()["detail"]


def test_a_result_the_database_refuses_fails_the_job_with_the_reason(start_server):
    import sqlite3

    srv = start_server(tokens=("alice",), workers=1, poll_interval_s=0.1)
    # a database that refuses large rows, as PostgreSQL does past 1 GB or MySQL past
    # max_allowed_packet: every try to store a result over 1000 characters fails
    db = sqlite3.connect(srv.db_url.removeprefix("sqlite:///"))
    db.execute(
        "CREATE TRIGGER big_rows BEFORE UPDATE OF result ON jobs"
        " WHEN length(NEW.result) > 1000 BEGIN SELECT RAISE(ABORT, 'row too big'); END"
    )
    db.commit()
    db.close()
    srv.start()
    h = headers(srv, "alice")
    probs = {"circuit": json.loads(hqml.Circuit(8).h(0).to_json()), "measurement": "probs"}
    big = httpx.post(srv.url + "/v1/jobs", json=probs, headers=h).json()["id"]
    small = httpx.post(srv.url + "/v1/jobs", json={**probs, "wires": [0]}, headers=h).json()["id"]
    r = httpx.get(srv.url + f"/v1/jobs/{big}/result?wait=20", headers=h, timeout=30).json()
    assert r["status"] == "failed" and r["result"] is None
    assert r["error"].startswith("could not store the result:") and "row too big" in r["error"]
    r = httpx.get(srv.url + f"/v1/jobs/{small}/result?wait=20", headers=h, timeout=30).json()
    assert r["status"] == "done"  # the worker goes on
    srv.stop()
    assert f"job {big}: could not store its result" in srv.log.read_text()


def test_long_qasm_text_is_refused_before_it_is_parsed(server):
    text = 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\n' + "h q[0];\n" * 13_000
    r = httpx.post(
        server.url + "/v1/jobs",
        json={"qasm": text, "observables": ["Z0"]},
        headers=headers(server, "alice"),
        timeout=30,
    )
    assert r.status_code == 400, r.text
    assert (
        r.json()["detail"].startswith("the OpenQASM text has 104")
        and "at most 100000" in r.json()["detail"]
    )


def test_many_tenants_flooding_at_once_hold_at_most_the_global_cap_of_threads(start_server):
    """Per-token slots alone let 20 tenants take 40 request threads (all of them); the global
    cap keeps their submissions to ``max_submitting`` threads, so reads of a 21st tenant still
    answer while they flood."""
    names = [f"t{i}" for i in range(20)]
    tokens = {**{n: {} for n in names}, "reader": {}, "root": {"admin": True}}
    srv = start_server(tokens=tokens, max_submitting=3, max_qubits=12).start()
    admin = srv.tokens["root"]
    body = {"qasm": nested_qasm(), "observables": [hqml.Z(0).to_json()]}
    flood = start_flood(srv.url, [srv.tokens[n] for n in names], 3, body, timeout=60)
    try:
        assert flood.stdout.readline().strip() == "sending"
        r = httpx.get(
            srv.url + "/v1/jobs",
            timeout=10,
            headers={"Authorization": f"Bearer {srv.tokens['reader']}"},
        )
        assert r.status_code == 200
        out, _ = flood.communicate(timeout=120)
    finally:
        flood.kill()
        flood.wait()
    assert json.loads(out) == [400] * 60
    status = httpx.get(
        srv.url + "/v1/status", timeout=10, headers={"Authorization": f"Bearer {admin}"}
    ).json()
    assert status["max_submitting"] == 3 and status["submissions_in_threads"] == 0
    assert 1 <= status["submissions_in_threads_peak"] <= 3, status
