"""The job service against a real server process (uvicorn subprocess, SQLite file)."""

from __future__ import annotations

import json

import httpx
import numpy as np
import pytest
import torch

import hqml
from hqml.runtime.client import JobClient, JobFailed, JobServiceError, RemoteBackend
from hqml.runtime.wire import tensor_from_json
from hqml.testing import reference_state


def small_circuit() -> hqml.Circuit:
    c = hqml.Circuit(3)
    x = c.input("x", 3)
    w = c.weight("w", 3)
    for i in range(3):
        c.ry(x[i], i)
    for i in range(3):
        c.rz(w[i] * 0.5 + x[i], i).rx(w[i], i)
    c.cnot(0, 1).cnot(1, 2)
    return c


def dense_expval(c: hqml.Circuit, x: np.ndarray, w: np.ndarray, pauli: str) -> float:
    psi = reference_state(c, {"x": x}, {"w": w})
    mats = {"I": np.eye(2), "Z": np.diag([1.0, -1.0]), "X": np.array([[0, 1], [1, 0.0]])}
    op = np.array([[1.0]])
    for ch in pauli:
        op = np.kron(op, mats[ch])
    return float(np.real(psi.conj() @ op @ psi))


def headers(server, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.tokens[who]}"}


def job_body(c: hqml.Circuit, x: torch.Tensor, w: torch.Tensor, **extra) -> dict:
    body = {
        "circuit": json.loads(c.to_json()),
        "inputs": {"x": x.tolist()},
        "weights": {"w": w.tolist()},
        "measurement": "expval",
        "observables": [hqml.PauliSum.from_list([("ZZI", 1.0)]).to_json(), hqml.X(2).to_json()],
        "dtype": "complex128",
    }
    body.update(extra)
    return body


def test_submit_poll_result_matches_dense_reference(server):
    c = small_circuit()
    rng = np.random.default_rng(0)
    x, w = rng.uniform(-2, 2, (5, 3)), rng.uniform(-2, 2, 3)
    with JobClient(server.url, server.tokens["alice"]) as client:
        info = client.submit(job_body(c, torch.tensor(x), torch.tensor(w)))
        assert info["status"] in ("queued", "running", "done")
        status = client.status(info["id"], wait=10)
        assert status["status"] == "done" and status["attempts"] == 1
        value = tensor_from_json(client.wait(info["id"], timeout=10)["value"])
        result, server_s = client.wait_timed(info["id"], timeout=10)
        assert torch.equal(tensor_from_json(result["value"]), value) and 0 <= server_s < 10
    expected = [
        [dense_expval(c, x[b], w, "ZZI"), dense_expval(c, x[b], w, "IIX")] for b in range(5)
    ]
    np.testing.assert_allclose(value.numpy(), expected, atol=1e-10)
    schema = httpx.get(server.url + "/openapi.json").json()
    assert {"/v1/jobs", "/v1/jobs/{job_id}/result", "/v1/programs"} <= set(schema["paths"])
    assert {"CircuitJobRequest", "JobInfo", "JobResult"} <= set(schema["components"]["schemas"])


def test_remote_backend_equals_in_process_with_adjoint_gradients(server):
    c = small_circuit()
    x = torch.rand(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    obs = [hqml.Z(0) @ hqml.Z(1), hqml.X(2)]
    w_local = torch.tensor([0.3, -0.7, 1.1], dtype=torch.float64, requires_grad=True)
    w_remote = w_local.detach().clone().requires_grad_(True)
    local = hqml.expval(c, obs, inputs={"x": x}, weights={"w": w_local}, diff_method="adjoint")
    remote = hqml.expval(
        c,
        obs,
        inputs={"x": x},
        weights={"w": w_remote},
        diff_method="adjoint",
        backend=RemoteBackend(server.url, server.tokens["alice"], session=True),
    )
    torch.testing.assert_close(remote, local, atol=1e-12, rtol=0)
    (local**2).sum().backward()
    (remote**2).sum().backward()
    torch.testing.assert_close(w_remote.grad, w_local.grad, atol=1e-12, rtol=0)
    # the registry name works too, with the token from the environment
    probs = hqml.probs(
        c,
        [0, 2],
        inputs={"x": x},
        weights={"w": w_local.detach()},
        backend=RemoteBackend(server.url, server.tokens["alice"]),
    )
    torch.testing.assert_close(
        probs, hqml.probs(c, [0, 2], inputs={"x": x}, weights={"w": w_local.detach()})
    )


def test_registry_name_and_seeded_sampling(server, monkeypatch):
    monkeypatch.setenv("HQML_TOKEN", server.tokens["bob"])
    c = hqml.Circuit(2).h(0).cnot(0, 1)
    bits = hqml.sample(c, 200, seed=3, backend=f"remote+{server.url}")
    again = hqml.sample(c, 200, seed=3, backend=f"remote+{server.url}")
    assert bits.shape == (200, 2) and torch.equal(bits, again)
    assert torch.equal(bits[:, 0], bits[:, 1])  # a Bell pair: outcomes agree
    assert 60 < int(bits[:, 0].sum()) < 140


def test_unauthenticated_and_cross_tenant_requests_are_refused(server):
    c = small_circuit()
    body = job_body(c, torch.rand(2, 3), torch.rand(3))
    r = httpx.post(server.url + "/v1/jobs", json=body)
    assert r.status_code == 401 and "Authorization: Bearer" in r.json()["detail"]
    r = httpx.post(server.url + "/v1/jobs", json=body, headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and "invalid" in r.json()["detail"]
    r = httpx.post(server.url + "/v1/jobs", json=body, headers=headers(server, "alice"))
    assert r.status_code == 202
    job_id = r.json()["id"]
    for method, path in (
        ("GET", f"/v1/jobs/{job_id}"),
        ("GET", f"/v1/jobs/{job_id}/result"),
        ("DELETE", f"/v1/jobs/{job_id}"),
    ):
        r = httpx.request(method, server.url + path, headers=headers(server, "bob"))
        assert r.status_code == 404, (method, path)
        assert httpx.request(method, server.url + path).status_code == 401
    bob_jobs = httpx.get(server.url + "/v1/jobs", headers=headers(server, "bob")).json()["jobs"]
    assert job_id not in {j["id"] for j in bob_jobs}
    alice_jobs = httpx.get(server.url + "/v1/jobs", headers=headers(server, "alice")).json()["jobs"]
    assert job_id in {j["id"] for j in alice_jobs}
    # the token is stored hashed only
    store = server.store()
    with store.engine.connect() as conn:
        dump = "\n".join(str(r) for r in conn.exec_driver_sql("SELECT * FROM tokens"))
    store.engine.dispose()
    assert server.tokens["alice"] not in dump


def test_bad_requests_get_4xx_with_a_message_and_do_not_disturb_other_jobs(server):
    c = small_circuit()
    h = headers(server, "alice")
    good = httpx.post(
        server.url + "/v1/jobs", json=job_body(c, torch.rand(3, 3), torch.rand(3)), headers=h
    ).json()["id"]
    bad_circuit = job_body(c, torch.rand(1, 3), torch.rand(3))
    bad_circuit["circuit"]["ops"][0]["gate"] = "no_such_gate"
    big = job_body(c, torch.rand(1, 3), torch.rand(3))
    big["options"] = {"padding": "x" * 300_000}
    wide = hqml.Circuit(13).h(0)
    deep = hqml.Circuit(11)
    deep.ry(deep.input("x", 1)[0], 0)
    cases = [
        (bad_circuit, 400, "bad circuit"),
        ({**bad_circuit, "circuit": {"format": "nope"}}, 400, "not an hqml circuit"),
        ({**job_body(c, torch.rand(1, 3), torch.rand(3)), "observables": None}, 422, "observables"),
        ({**job_body(c, torch.rand(1, 3), torch.rand(3)), "inputs": {"x": [[1, 2]]}}, 400, "x"),
        ({**job_body(c, torch.rand(1, 3), torch.rand(3)), "shots": 0}, 422, "shots"),
        ({**job_body(c, torch.rand(1, 3), torch.rand(3)), "shots": 20_000}, 400, "limit"),
        (
            {**job_body(c, torch.rand(1, 3), torch.rand(3)), "backend": "remote+http://x"},
            400,
            "not offered",
        ),
        ({"circuit": json.loads(wide.to_json()), "measurement": "probs"}, 400, "at most 12"),
        (
            {
                "circuit": json.loads(deep.to_json()),
                "measurement": "probs",
                "inputs": {"x": torch.rand(9, 1).tolist()},
            },
            400,
            "amplitudes",
        ),
        (big, 413, "too large"),
    ]
    for body, code, words in cases:
        r = httpx.post(server.url + "/v1/jobs", json=body, headers=h)
        assert r.status_code == code, (words, r.text)
        assert words in r.json()["detail"], r.json()
    r = httpx.post(server.url + "/v1/jobs", content=b"{not json", headers=h)
    assert r.status_code == 422 and r.json()["detail"]
    with JobClient(server.url, server.tokens["alice"]) as client:
        assert tensor_from_json(client.wait(good, timeout=10)["value"]).shape == (3, 2)


def test_idempotency_quota_cancel_and_timeout(server):
    c = small_circuit()
    body = job_body(c, torch.rand(2, 3), torch.rand(3), idempotency_key="same-key")
    with JobClient(server.url, server.tokens["alice"]) as alice:
        first, second = alice.submit(body), alice.submit(body)
        assert first["id"] == second["id"]
        assert sum(j["idempotency_key"] == "same-key" for j in alice.list(limit=1000)) == 1
    vqe = vqe_body(max_iterations=100_000)
    with JobClient(server.url, server.tokens["carol"]) as carol:
        long_job = carol.submit(vqe, program=True)["id"]
        with pytest.raises(JobServiceError) as e:  # carol may have one unfinished job
            carol.submit(job_body(c, torch.rand(1, 3), torch.rand(3)))
        assert e.value.status_code == 429 and "limit" in e.value.detail
        assert carol.cancel(long_job)["status"] == "cancelled"
        with pytest.raises(JobFailed, match="cancelled"):
            carol.wait(long_job, timeout=5)
        timed = carol.submit({**vqe, "timeout_s": 0.5}, program=True)["id"]
        with pytest.raises(JobFailed, match="timed out"):
            carol.wait(timed, timeout=10)


def vqe_body(**extra) -> dict:
    c = hqml.Circuit(2)
    w = c.weight("w", (2, 2))
    c.ry(w[0, 0], 0).ry(w[0, 1], 1).cnot(0, 1).ry(w[1, 0], 0).ry(w[1, 1], 1)
    h = hqml.PauliSum.from_list([("ZZ", 1.0), ("XI", 0.5), ("IX", 0.5)])
    body = {
        "program": "vqe",
        "circuit": json.loads(c.to_json()),
        "hamiltonian": h.to_json(),
        "optimizer": "adam",
        "learning_rate": 0.1,
        "max_iterations": 40,
        "seed": 1,
    }
    body.update(extra)
    return body


def test_vqe_program_runs_server_side_with_readable_progress(server):
    h = hqml.PauliSum.from_list([("ZZ", 1.0), ("XI", 0.5), ("IX", 0.5)])
    exact = float(np.linalg.eigvalsh(np.asarray(h.to_matrix(2)))[0])
    with JobClient(server.url, server.tokens["bob"]) as bob:
        job = bob.submit(vqe_body(), program=True)["id"]
        seen = []
        while True:
            info = bob.status(job, wait=0.2)
            if info["progress"]:
                seen.append(info["progress"]["iteration"])
            if info["status"] in ("done", "failed"):
                break
        result = bob.wait(job, timeout=30)
        lbfgs = bob.wait(bob.submit(vqe_body(optimizer="l-bfgs-b"), program=True)["id"], timeout=30)
        ring = hqml.PauliSum.from_list([("ZZII", 1.0), ("IZZI", 1.0), ("IIZZ", 1.0), ("ZIIZ", 1.0)])
        qaoa_body = {
            "program": "qaoa",
            "hamiltonian": ring.to_json(),
            "layers": 2,
            "optimizer": "l-bfgs-b",
            "max_iterations": 50,
            "seed": 4,
        }
        qaoa = bob.wait(bob.submit(qaoa_body, program=True)["id"], timeout=30)
        with pytest.raises(JobServiceError, match="diagonal"):
            bob.submit({**qaoa_body, "hamiltonian": hqml.X(0).to_json()}, program=True)
    assert seen and seen[-1] >= 1
    assert result["iterations"] == 40 and len(result["history"]) == 40
    assert result["history"][-1] < result["history"][0] - 0.5 and result["energy"] >= exact - 1e-9
    assert lbfgs["energy"] == pytest.approx(exact, abs=1e-6)
    # a training run: <Z> of ry(x) ry(w) is cos(x + w); the targets use w = 0.7
    tc = hqml.Circuit(1)
    tc.ry(tc.input("x", 1)[0], 0).ry(tc.weight("w", 1)[0], 0)
    xs = torch.linspace(-1.5, 1.5, 40, dtype=torch.float64)[:, None]
    train = {
        "program": "train",
        "circuit": json.loads(tc.to_json()),
        "observables": [hqml.Z(0).to_json()],
        "data_x": xs.tolist(),
        "data_y": torch.cos(xs[:, 0] + 0.7).tolist(),
        "epochs": 25,
        "batch_size": 10,
        "learning_rate": 0.1,
        "initial_weights": {"w": [0.0]},
        "seed": 2,
    }
    with JobClient(server.url, server.tokens["bob"]) as bob:
        trained = bob.wait(bob.submit(train, program=True)["id"], timeout=60)
        with pytest.raises(JobServiceError, match="data_y must have shape"):
            bob.submit({**train, "data_y": [1.0, 2.0]}, program=True)
    assert trained["iterations"] == 100 and trained["epoch_losses"][-1] < 1e-4
    assert trained["epoch_losses"][-1] < trained["epoch_losses"][0] / 100
    w_fit = tensor_from_json(trained["weights"]["w"])
    assert float(w_fit[0]) == pytest.approx(0.7, abs=2e-2)
    # max-cut of a 4-ring: the alternating colourings cut every edge
    assert qaoa["best_bitstring"] in ("0101", "1010") and qaoa["best_energy"] == -4.0
    from hqml.algorithms.qaoa import QAOA

    local = QAOA(ring, p=2, optimizer="L-BFGS-B", maxiter=50, seed=4).run()
    assert qaoa["expectation"] == pytest.approx(local.expectation, abs=1e-9)
    # the returned weights reproduce the energy in-process
    c = hqml.Circuit.from_json(json.dumps(vqe_body()["circuit"]))
    w = tensor_from_json(result["weights"]["w"])
    assert float(hqml.expval(c, h, weights={"w": w})) == pytest.approx(result["energy"], abs=1e-9)


def test_jobs_command_line(server, tmp_path, monkeypatch):
    import typer
    from typer.testing import CliRunner

    from hqml.cli import jobs, serve

    app = typer.Typer()
    jobs.register(app)
    serve.register(app)
    monkeypatch.setenv("HQML_URL", server.url)
    monkeypatch.setenv("HQML_TOKEN", server.tokens["bob"])
    path = tmp_path / "bell.json"
    path.write_text(hqml.Circuit(2).h(0).cnot(0, 1).to_json())
    runner = CliRunner()
    r = runner.invoke(app, ["jobs", "submit", str(path), "-o", "ZZ", "-o", "0.5*XX", "--wait"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["value"] == pytest.approx([1.0, 0.5], abs=1e-6)
    r = runner.invoke(app, ["jobs", "submit", str(path), "--measurement", "probs"])
    job_id = r.output.strip()
    r = runner.invoke(app, ["jobs", "result", job_id, "--wait", "10"])
    assert json.loads(r.output)["value"] == pytest.approx([0.5, 0, 0, 0.5], abs=1e-6)
    assert json.loads(runner.invoke(app, ["jobs", "status", job_id]).output)["status"] == "done"
    assert job_id in runner.invoke(app, ["jobs", "list"], env={"COLUMNS": "200"}).output
    assert runner.invoke(app, ["jobs", "cancel", job_id]).output.strip() == "done"
    r = runner.invoke(app, ["jobs", "status", "nope"])
    assert r.exit_code == 1 and "404" in r.output
    db = tmp_path / "tokens.db"
    r = runner.invoke(app, ["serve", "--db", f"sqlite:///{db}", "--issue-token", "dave"])
    assert r.exit_code == 0 and r.output.startswith("hqml_")


def test_sessions_keep_a_backend_and_qasm_input(server):
    c = small_circuit()
    x, w = torch.rand(2, 3, dtype=torch.float64), torch.rand(3, dtype=torch.float64)
    expected = hqml.expval(c, [hqml.Z(0) @ hqml.Z(1), hqml.X(2)], inputs={"x": x}, weights={"w": w})
    with JobClient(server.url, server.tokens["alice"]) as client:
        sid = client.open_session("statevector")
        ids = [client.submit(job_body(c, x, w, session_id=sid))["id"] for _ in range(3)]
        for j in ids:
            torch.testing.assert_close(
                tensor_from_json(client.wait(j, timeout=10)["value"]), expected
            )
        assert client.request("GET", f"/v1/sessions/{sid}")["closed"] is False
        client.close_session(sid)
        with pytest.raises(JobServiceError, match="no open session"):
            client.submit(job_body(c, x, w, session_id=sid))
        with JobClient(server.url, server.tokens["bob"]) as bob, pytest.raises(JobServiceError):
            bob.request("GET", f"/v1/sessions/{sid}")
        qasm = 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nh q[0];\ncx q[0], q[1];\n'
        body = {
            "qasm": qasm,
            "observables": [hqml.PauliSum.from_list([("ZZ", 1.0)]).to_json(), hqml.Z(0).to_json()],
            "dtype": "complex128",
        }
        value = tensor_from_json(client.wait(client.submit(body)["id"], timeout=10)["value"])
        np.testing.assert_allclose(value.numpy(), [1.0, 0.0], atol=1e-12)
        with pytest.raises(JobServiceError, match="bad OpenQASM") as e:
            client.submit({**body, "qasm": "OPENQASM 3.0;\nqubit[2] q;\nfoo q[0];\n"})
        assert e.value.status_code == 400
