"""Durable storage of tokens, jobs and sessions on SQLAlchemy (SQLite file or PostgreSQL).

:class:`JobStore` is the interface the service uses; :class:`SqlJobStore` implements it. Every
state change is one transaction, and the transitions are guarded (``UPDATE ... WHERE
status = 'running'``), so a job's result is recorded exactly once even when a job runs again
after a crash.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from .sessions import SessionRecord, SessionStore
from .tables import jobs, metadata, owner_locks, server_lease, sessions, tokens
from .tokens import TokenInfo, TokenRecord, TokenStore, hash_token

__all__ = [
    "FINISHED",
    "UNFINISHED",
    "JobRecord",
    "JobStore",
    "QuotaExceeded",
    "SessionRecord",
    "SqlJobStore",
    "TokenInfo",
    "TokenRecord",
    "hash_token",
    "jobs",
    "make_engine",
    "metadata",
    "migrate",
    "owner_locks",
    "server_lease",
    "sessions",
    "tokens",
]

UNFINISHED = ("queued", "running")
FINISHED = ("done", "failed", "cancelled")


class QuotaExceeded(Exception):
    """The token has too many unfinished jobs."""


@dataclass(frozen=True)
class JobRecord:
    id: str
    owner: str
    kind: str
    status: str
    idempotency_key: str | None
    session_id: str | None
    payload: str
    result: str | None
    error: str | None
    progress: str | None
    timeout_s: float
    attempts: int
    completions: int
    created_at: float
    started_at: float | None
    finished_at: float | None


class JobStore(Protocol):
    """What the service needs from storage."""

    def create_token(
        self,
        owner: str,
        max_queued: int | None = None,
        max_shots: int | None = None,
        *,
        expires_at: float | None = None,
        admin: bool = False,
    ) -> str: ...
    def authenticate(self, token: str) -> TokenRecord | None: ...
    def list_tokens(self, owner: str | None = None) -> list[TokenInfo]: ...
    def update_token(
        self, token_id: str, *, revoked: bool | None = None, expires_at: float | None = None
    ) -> TokenInfo | None: ...
    def submit(
        self,
        owner: str,
        kind: str,
        payload: str,
        *,
        timeout_s: float,
        idempotency_key: str | None = None,
        session_id: str | None = None,
        max_unfinished: int | None = None,
    ) -> tuple[JobRecord, bool]: ...
    def get(self, job_id: str, owner: str | None = None) -> JobRecord | None: ...
    def list(self, owner: str, status: str | None = None, limit: int = 100) -> list[JobRecord]: ...
    def cancel(self, job_id: str, owner: str) -> JobRecord | None: ...
    def claim(self, limit: int) -> list[JobRecord]:
        """Move up to ``limit`` of the oldest queued jobs to running and return them.

        One guarded ``UPDATE ... RETURNING``: a job claimed by a concurrent worker no longer
        matches ``status = 'queued'`` and is not returned twice.
        """
        if limit <= 0:
            return []
        oldest = (
            sa.select(jobs.c.id)
            .where(jobs.c.status == "queued")
            .order_by(jobs.c.created_at)
            .limit(limit)
            .scalar_subquery()
        )
        stmt = (
            jobs.update()
            .where(jobs.c.id.in_(oldest), jobs.c.status == "queued")
            .values(status="running", started_at=time.time(), attempts=jobs.c.attempts + 1)
            .returning(*jobs.c)
        )
        with self.engine.begin() as conn:
            claimed = [JobRecord(**r._asdict()) for r in conn.execute(stmt)]
        return sorted(claimed, key=lambda j: j.created_at)

    def finish(
        self, job_id: str, status: str, result: str | None = None, error: str | None = None
    ) -> bool: ...
    def set_progress(self, job_id: str, progress: str) -> None: ...
    def requeue_running(self) -> int: ...


class SqlJobStore(TokenStore, SessionStore):
    """:class:`JobStore` on a SQLAlchemy engine (see :func:`make_engine`)."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine

    # --- jobs --------------------------------------------------------------------------------
    def submit(
        self,
        owner: str,
        kind: str,
        payload: str,
        *,
        timeout_s: float,
        idempotency_key: str | None = None,
        session_id: str | None = None,
        max_unfinished: int | None = None,
    ) -> tuple[JobRecord, bool]:
        """Write a queued job (committed before returning). Returns ``(job, created)``.

        With an ``idempotency_key`` already used by ``owner``, the earlier job is returned and
        nothing is written.

        Raises:
            QuotaExceeded: ``owner`` already has ``max_unfinished`` queued or running jobs.
        """
        now = time.time()
        values = dict(
            id=uuid.uuid4().hex,
            owner=owner,
            kind=kind,
            status="queued",
            idempotency_key=idempotency_key,
            session_id=session_id,
            payload=payload,
            result=None,
            error=None,
            progress=None,
            timeout_s=timeout_s,
            attempts=0,
            completions=0,
            created_at=now,
            started_at=None,
            finished_at=None,
        )
        try:
            with self.engine.begin() as conn:
                self._lock_owner(conn, owner)
                if idempotency_key is not None:
                    row = conn.execute(
                        sa.select(jobs).where(
                            jobs.c.owner == owner, jobs.c.idempotency_key == idempotency_key
                        )
                    ).first()
                    if row is not None:
                        return JobRecord(**row._asdict()), False
                if max_unfinished is not None:
                    n = conn.execute(
                        sa.select(sa.func.count())
                        .select_from(jobs)
                        .where(jobs.c.owner == owner, jobs.c.status.in_(UNFINISHED))
                    ).scalar_one()
                    if n >= max_unfinished:
                        raise QuotaExceeded(
                            f"{n} unfinished jobs; the limit of this token is"
                            f" {max_unfinished}; wait for some to finish"
                        )
                conn.execute(jobs.insert().values(**values))
        except IntegrityError:
            found = self._by_key(owner, idempotency_key) if idempotency_key else None
            if found is None:
                raise
            return found, False  # a concurrent request with the same key won
        return JobRecord(**values), True

    def _lock_owner(self, conn: sa.Connection, owner: str) -> None:
        """Serialise one owner's submissions (the first statement of the transaction is a write:
        a row lock on PostgreSQL, the database's write lock on SQLite)."""
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
        conn.execute(
            insert(owner_locks)
            .values(owner=owner, submits=0)
            .on_conflict_do_nothing(index_elements=["owner"])
        )
        conn.execute(
            owner_locks.update()
            .where(owner_locks.c.owner == owner)
            .values(submits=owner_locks.c.submits + 1)
        )

    def _by_key(self, owner: str, key: str) -> JobRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(jobs).where(jobs.c.owner == owner, jobs.c.idempotency_key == key)
            ).first()
        return None if row is None else JobRecord(**row._asdict())

    def get(self, job_id: str, owner: str | None = None) -> JobRecord | None:
        """The job, or None when it does not exist or belongs to someone else."""
        q = sa.select(jobs).where(jobs.c.id == job_id)
        if owner is not None:
            q = q.where(jobs.c.owner == owner)
        with self.engine.connect() as conn:
            row = conn.execute(q).first()
        return None if row is None else JobRecord(**row._asdict())

    def list(self, owner: str, status: str | None = None, limit: int = 100) -> list[JobRecord]:
        q = sa.select(jobs).where(jobs.c.owner == owner)
        if status is not None:
            q = q.where(jobs.c.status == status)
        q = q.order_by(jobs.c.created_at.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [JobRecord(**r._asdict()) for r in conn.execute(q)]

    def cancel(self, job_id: str, owner: str) -> JobRecord | None:
        """Cancel a queued or running job (a finished one stays as it is)."""
        with self.engine.begin() as conn:
            conn.execute(
                jobs.update()
                .where(jobs.c.id == job_id, jobs.c.owner == owner, jobs.c.status.in_(UNFINISHED))
                .values(status="cancelled", finished_at=time.time(), error="cancelled by the owner")
            )
        return self.get(job_id, owner)

    def claim(self, limit: int) -> list[JobRecord]:
        """Move up to ``limit`` of the oldest queued jobs to running and return them."""
        with self.engine.connect() as conn:
            ids = (
                conn.execute(
                    sa.select(jobs.c.id)
                    .where(jobs.c.status == "queued")
                    .order_by(jobs.c.created_at)
                    .limit(limit)
                )
                .scalars()
                .all()
            )
        claimed = []
        for job_id in ids:
            with self.engine.begin() as conn:
                n = conn.execute(
                    jobs.update()
                    .where(jobs.c.id == job_id, jobs.c.status == "queued")
                    .values(status="running", started_at=time.time(), attempts=jobs.c.attempts + 1)
                ).rowcount
            if n == 1:  # another worker may have taken it in between
                job = self.get(job_id)
                if job is not None:
                    claimed.append(job)
        return claimed

    def finish(
        self, job_id: str, status: str, result: str | None = None, error: str | None = None
    ) -> bool:
        """Record the outcome of a running job; False when it is no longer running."""
        if status not in FINISHED:
            raise ValueError(f"finish status must be one of {FINISHED}, got {status!r}")
        with self.engine.begin() as conn:
            n = conn.execute(
                jobs.update()
                .where(jobs.c.id == job_id, jobs.c.status == "running")
                .values(
                    status=status,
                    result=result,
                    error=error,
                    finished_at=time.time(),
                    completions=jobs.c.completions + 1,
                )
            ).rowcount
        return n == 1

    def set_progress(self, job_id: str, progress: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(jobs.update().where(jobs.c.id == job_id).values(progress=progress))

    def requeue_running(self) -> int:
        """After a restart: jobs left running by a dead server go back to the queue."""
        with self.engine.begin() as conn:
            return conn.execute(
                jobs.update().where(jobs.c.status == "running").values(status="queued")
            ).rowcount

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(jobs.c.status, sa.func.count()).group_by(jobs.c.status))
            return {s: n for s, n in rows}


def make_engine(url: str, sqlite_synchronous: str = "FULL") -> sa.Engine:
    """An engine for ``url``; SQLite files get WAL mode, a busy timeout and thread sharing."""
    if url.startswith("sqlite"):
        args = {"check_same_thread": False, "timeout": 30}
        if url in ("sqlite://", "sqlite:///:memory:"):  # one shared in-memory database
            engine = sa.create_engine(url, connect_args=args, poolclass=sa.pool.StaticPool)
        else:
            engine = sa.create_engine(url, connect_args=args, pool_size=10, max_overflow=20)

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={sqlite_synchronous}")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def migrate(engine: sa.Engine) -> None:
    """Bring the database schema to the newest Alembic revision."""
    from pathlib import Path

    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
