"""The SQLAlchemy store's guarantees, on a SQLite file and on a throwaway PostgreSQL cluster
(the ``db_url`` fixture of conftest.py)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from hqml.runtime.store import QuotaExceeded, SqlJobStore, make_engine, metadata, migrate

pytestmark = pytest.mark.slow  # servers, Ray, subprocesses: `make test-fast` skips these


@pytest.fixture
def store(db_url):
    engine = make_engine(db_url)
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


def test_service_process_on_postgresql(start_server, postgres_url):
    url = postgres_url
    import torch

    import hqml
    from hqml.runtime.client import RemoteBackend

    server = start_server(db_url=url, tokens=("pg-user",), workers=2).start()
    token = server.tokens["pg-user"]
    c = hqml.Circuit(2)
    c.ry(c.input("t", 1)[0], 0).cnot(0, 1)
    t = torch.linspace(0, 3, 7, dtype=torch.float64)[:, None]
    got = hqml.expval(
        c, hqml.Z(0) @ hqml.Z(1), inputs={"t": t}, backend=RemoteBackend(server.url, token)
    )
    torch.testing.assert_close(got, torch.ones(7, dtype=torch.float64), atol=1e-12, rtol=0)
    got = hqml.expval(c, hqml.Z(1), inputs={"t": t}, backend=RemoteBackend(server.url, token))
    torch.testing.assert_close(got, torch.cos(t[:, 0]), atol=1e-12, rtol=0)


def test_quota_holds_under_concurrent_submissions(store):
    """24 submissions at once against a limit of 3: exactly 3 are accepted (count-then-insert
    without a lock let 6 through)."""
    import threading

    barrier = threading.Barrier(24)

    def submit(i: int) -> bool:
        barrier.wait()
        try:
            store.submit(
                "alice", "circuit", "{}", timeout_s=5, max_unfinished=3, idempotency_key=f"k{i}"
            )
            return True
        except QuotaExceeded:
            return False

    for _ in range(3):  # a race is a matter of luck: give it several chances
        with ThreadPoolExecutor(24) as pool:
            accepted = sum(pool.map(submit, range(24)))
        assert accepted == 3
        assert store.counts() == {"queued": 3}
        with store.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM jobs")


def test_tokens_expire_and_are_revoked(store):
    import time

    token = store.create_token("alice", max_queued=2, expires_at=time.time() + 60)
    old = store.create_token("alice", expires_at=time.time() - 1)
    admin = store.create_token("root", admin=True)
    assert store.authenticate(token).owner == "alice" and store.authenticate(old) is None
    assert store.authenticate(admin).admin and not store.authenticate(token).admin
    infos = store.list_tokens("alice")
    assert [t.max_queued for t in infos] == [2, None] and len(store.list_tokens()) == 3
    first = infos[0]
    assert store.update_token(first.id[:8], revoked=True).revoked
    assert store.authenticate(token) is None
    assert store.update_token("nope") is None and store.update_token("") is None
    second = infos[1]
    store.update_token(second.id, expires_at=time.time() + 60)
    assert store.authenticate(old).owner == "alice"  # expiry moved into the future
