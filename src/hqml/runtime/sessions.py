"""Sessions: a backend and its options that several jobs share (a base of
:class:`hqml.runtime.store.SqlJobStore`)."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from .tables import sessions


@dataclass(frozen=True)
class SessionRecord:
    id: str
    owner: str
    backend: str
    options: dict[str, Any]
    created_at: float
    closed: bool


class SessionStore:
    """Session records on ``self.engine``."""

    engine: sa.Engine

    def create_session(self, owner: str, backend: str, options: dict[str, Any]) -> SessionRecord:
        rec = SessionRecord(uuid.uuid4().hex, owner, backend, dict(options), time.time(), False)
        with self.engine.begin() as conn:
            conn.execute(
                sessions.insert().values(
                    id=rec.id,
                    owner=owner,
                    backend=backend,
                    options=json.dumps(options),
                    created_at=rec.created_at,
                    closed=False,
                )
            )
        return rec

    def get_session(self, session_id: str, owner: str | None = None) -> SessionRecord | None:
        q = sa.select(sessions).where(sessions.c.id == session_id)
        if owner is not None:
            q = q.where(sessions.c.owner == owner)
        with self.engine.connect() as conn:
            row = conn.execute(q).first()
        if row is None:
            return None
        return SessionRecord(
            row.id,
            row.owner,
            row.backend,
            json.loads(row.options),
            row.created_at,
            bool(row.closed),
        )

    def close_session(self, session_id: str, owner: str) -> SessionRecord | None:
        with self.engine.begin() as conn:
            conn.execute(
                sessions.update()
                .where(sessions.c.id == session_id, sessions.c.owner == owner)
                .values(closed=True)
            )
        return self.get_session(session_id, owner)
