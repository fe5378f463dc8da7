"""Token expiry and admin tokens, per-owner quota locks, the server lease.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tokens") as batch:
        batch.add_column(sa.Column("expires_at", sa.Float, nullable=True))
        batch.add_column(sa.Column("admin", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_table(
        "owner_locks",
        sa.Column("owner", sa.String(200), primary_key=True),
        sa.Column("submits", sa.Integer, nullable=False),
    )
    op.create_table(
        "server_lease",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("holder", sa.String(32), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("heartbeat_at", sa.Float, nullable=False),
        sa.Column("ray_pids", sa.Text, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("server_lease")
    op.drop_table("owner_locks")
    with op.batch_alter_table("tokens") as batch:
        batch.drop_column("admin")
        batch.drop_column("expires_at")
