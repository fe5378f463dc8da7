"""The job service's tables (SQLAlchemy Core); the schema itself is made by the Alembic
migrations, and a test holds the two equal."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()
tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("owner", sa.String(200), nullable=False, index=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("max_queued", sa.Integer, nullable=True),
    sa.Column("max_shots", sa.Integer, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("revoked", sa.Boolean, nullable=False, default=False),
    sa.Column("expires_at", sa.Float, nullable=True),
    sa.Column("admin", sa.Boolean, nullable=False, default=False, server_default=sa.false()),
)
jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("idempotency_key", sa.String(200), nullable=True),
    sa.Column("session_id", sa.String(32), nullable=True),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("result", sa.Text, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("progress", sa.Text, nullable=True),
    sa.Column("timeout_s", sa.Float, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("completions", sa.Integer, nullable=False, default=0),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("started_at", sa.Float, nullable=True),
    sa.Column("finished_at", sa.Float, nullable=True),
    sa.UniqueConstraint("owner", "idempotency_key", name="uq_jobs_owner_key"),
    sa.Index("ix_jobs_owner_status", "owner", "status"),
    sa.Index("ix_jobs_status_created", "status", "created_at"),
)
sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("owner", sa.String(200), nullable=False, index=True),
    sa.Column("backend", sa.String(100), nullable=False),
    sa.Column("options", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("closed", sa.Boolean, nullable=False, default=False),
)

# one row per owner, updated first by each submission: the row lock (PostgreSQL) or the write
# lock it takes (SQLite) makes the quota's count-then-insert atomic
owner_locks = sa.Table(
    "owner_locks",
    metadata,
    sa.Column("owner", sa.String(200), primary_key=True),
    sa.Column("submits", sa.Integer, nullable=False),
)
server_lease = sa.Table(  # one row (id 1): the server that runs this database's jobs
    "server_lease",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("holder", sa.String(32), nullable=False),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("heartbeat_at", sa.Float, nullable=False),
    sa.Column("ray_pids", sa.Text, nullable=True),
)
