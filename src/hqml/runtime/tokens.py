"""API tokens: issued with a random 256-bit value of which only the SHA-256 is stored,
optionally expiring, revocable, some of them admin tokens."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from .tables import tokens


@dataclass(frozen=True)
class TokenRecord:
    id: str
    owner: str
    max_queued: int | None
    max_shots: int | None
    admin: bool = False


@dataclass(frozen=True)
class TokenInfo:
    """What an admin sees of a token (never the token itself)."""

    id: str
    owner: str
    max_queued: int | None
    max_shots: int | None
    created_at: float
    expires_at: float | None
    revoked: bool
    admin: bool


def hash_token(token: str) -> str:
    """Tokens are 256-bit random strings, so one SHA-256 is a safe one-way hash for them."""
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    """Token records on ``self.engine`` (a base of :class:`hqml.runtime.store.SqlJobStore`)."""

    engine: sa.Engine

    def create_token(
        self,
        owner: str,
        max_queued: int | None = None,
        max_shots: int | None = None,
        *,
        expires_at: float | None = None,
        admin: bool = False,
    ) -> str:
        """Issue a new API token for ``owner``; only its hash is stored. Returns the token.

        ``expires_at`` (Unix time) ends it; ``admin`` lets it manage tokens (``/v1/admin``).
        """
        if not owner or len(owner) > 200:
            raise ValueError("a token needs an owner name of 1 to 200 characters")
        token = "hqml_" + secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(
                tokens.insert().values(
                    id=uuid.uuid4().hex,
                    owner=owner,
                    token_hash=hash_token(token),
                    max_queued=max_queued,
                    max_shots=max_shots,
                    created_at=time.time(),
                    revoked=False,
                    expires_at=expires_at,
                    admin=admin,
                )
            )
        return token

    def authenticate(self, token: str) -> TokenRecord | None:
        """The record of a valid token: known, not revoked, not expired."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(tokens).where(
                    tokens.c.token_hash == hash_token(token),
                    tokens.c.revoked.is_(False),
                    sa.or_(tokens.c.expires_at.is_(None), tokens.c.expires_at > time.time()),
                )
            ).first()
        return (
            None
            if row is None
            else TokenRecord(row.id, row.owner, row.max_queued, row.max_shots, bool(row.admin))
        )

    def list_tokens(self, owner: str | None = None) -> list[TokenInfo]:
        q = sa.select(tokens).order_by(tokens.c.created_at)
        if owner is not None:
            q = q.where(tokens.c.owner == owner)
        with self.engine.connect() as conn:
            return [
                TokenInfo(
                    r.id,
                    r.owner,
                    r.max_queued,
                    r.max_shots,
                    r.created_at,
                    r.expires_at,
                    bool(r.revoked),
                    bool(r.admin),
                )
                for r in conn.execute(q)
            ]

    def update_token(
        self, token_id: str, *, revoked: bool | None = None, expires_at: float | None = None
    ) -> TokenInfo | None:
        """Revoke a token or set its expiry (Unix time); None when no token has that id (or
        unique id prefix)."""
        with self.engine.begin() as conn:
            ids = (
                conn.execute(
                    sa.select(tokens.c.id).where(tokens.c.id.startswith(token_id, autoescape=True))
                )
                .scalars()
                .all()
            )
            if len(ids) != 1 or not token_id:
                return None
            values: dict[str, Any] = {}
            if revoked is not None:
                values["revoked"] = revoked
            if expires_at is not None:
                values["expires_at"] = expires_at
            if values:
                conn.execute(tokens.update().where(tokens.c.id == ids[0]).values(**values))
        return next(t for t in self.list_tokens() if t.id == ids[0])
