"""The SQLAlchemy store's guarantees, on a SQLite file and on PostgreSQL when one is reachable
(set HQML_TEST_POSTGRES_URL, e.g. postgresql+psycopg://user:pw@127.0.0.1/hqml_test)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from hqml.runtime.store import QuotaExceeded, SqlJobStore, make_engine, metadata, migrate


def _postgres_url() -> str | None:
    url = os.environ.get("HQML_TEST_POSTGRES_URL")
    if not url:
        return None
    try:
        engine = sa.create_engine(url)
        with engine.connect():
            pass
        engine.dispose()
    except Exception:  # noqa: BLE001 - no driver or no server: skip
        return None
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        url = _postgres_url()
        if url is None:
            pytest.skip("no PostgreSQL reachable (set HQML_TEST_POSTGRES_URL)")
    engine = make_engine(url)
    if request.param == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
            metadata.drop_all(conn)
    migrate(engine)
    yield SqlJobStore(engine)
    engine.dispose()


def test_schema_from_migration_matches_the_tables(store):
    inspected = sa.inspect(store.engine)
    for table in metadata.sorted_tables:
        assert {c["name"] for c in inspected.get_columns(table.name)} == set(table.c.keys())
    if store.engine.dialect.name == "sqlite":
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_idempotency_quota_and_exactly_once_transitions(store):
    token = store.create_token("alice", max_queued=3)
    rec = store.authenticate(token)
    assert rec is not None and rec.owner == "alice" and rec.max_queued == 3
    assert store.authenticate(token + "x") is None
    a, created = store.submit("alice", "circuit", "{}", timeout_s=5, idempotency_key="k")
    b, again = store.submit("alice", "circuit", "{}", timeout_s=5, idempotency_key="k")
    assert created and not again and a.id == b.id
    other, created = store.submit("bob", "circuit", "{}", timeout_s=5, idempotency_key="k")
    assert created and other.id != a.id  # keys are per owner
    store.submit("alice", "circuit", "{}", timeout_s=5, max_unfinished=3)
    store.submit("alice", "circuit", "{}", timeout_s=5, max_unfinished=3)
    with pytest.raises(QuotaExceeded, match="limit"):
        store.submit("alice", "circuit", "{}", timeout_s=5, max_unfinished=3)
    assert store.get(a.id, "bob") is None and store.get(a.id, "alice") is not None
    # concurrent claims never hand one job to two workers, and leave none half-claimed
    claimed: list[str] = []
    with ThreadPoolExecutor(4) as pool:
        for _ in range(50):
            claimed += [j.id for part in pool.map(lambda _: store.claim(2), range(4)) for j in part]
            if store.counts().get("queued", 0) == 0:
                break
    assert len(claimed) == len(set(claimed)) == 4
    assert store.finish(a.id, "done", "1") and not store.finish(a.id, "done", "2")
    assert store.get(a.id).result == "1" and store.get(a.id).completions == 1
    # a crash leaves jobs running; a restart puts them back in the queue, results kept once
    assert store.requeue_running() == 3
    again = store.claim(10)
    assert len(again) == 3 and all(j.attempts == 2 for j in again)
    assert store.counts() == {"done": 1, "running": 3}


def test_service_process_on_postgresql(tmp_path):
    url = _postgres_url()
    if url is None:
        pytest.skip("no PostgreSQL reachable (set HQML_TEST_POSTGRES_URL)")
    import importlib.util
    import pathlib

    import torch

    import hqml
    from hqml.runtime.client import RemoteBackend

    spec = importlib.util.spec_from_file_location(
        "runtime_conftest", pathlib.Path(__file__).with_name("conftest.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    server = mod.ServerProcess(tmp_path / "unused.db", db_url=url, workers=2)
    store = server.store()
    token = store.create_token("pg-user")
    store.engine.dispose()
    server.start()
    try:
        c = hqml.Circuit(2)
        c.ry(c.input("t", 1)[0], 0).cnot(0, 1)
        t = torch.linspace(0, 3, 7, dtype=torch.float64)[:, None]
        got = hqml.expval(c, hqml.Z(0) @ hqml.Z(1), inputs={"t": t},
                          backend=RemoteBackend(server.url, token))
        torch.testing.assert_close(got, torch.ones(7, dtype=torch.float64), atol=1e-12, rtol=0)
        got = hqml.expval(c, hqml.Z(1), inputs={"t": t}, backend=RemoteBackend(server.url, token))
        torch.testing.assert_close(got, torch.cos(t[:, 0]), atol=1e-12, rtol=0)
    finally:
        server.stop()
