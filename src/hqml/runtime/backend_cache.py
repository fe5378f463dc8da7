"""Warm backend instances of the job service, shared by the server's worker threads and the Ray
actors that run jobs: one per (name, options), and one per open session."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from ..backends.base import Backend
from ..backends.registry import get_backend
from .store import SessionRecord


class BackendCache:
    """Warm backend instances: one per (name, options), and one per open session."""

    def __init__(self, ttl_s: float, max_shared: int = 16):
        self.ttl_s, self.max_shared = ttl_s, max_shared
        self._lock = threading.Lock()
        self._shared: dict[str, Backend] = {}
        self._sessions: dict[str, tuple[Backend, float]] = {}

    def shared(self, name: str, options: dict[str, Any]) -> Backend:
        key = name + json.dumps(options, sort_keys=True)
        with self._lock:
            be = self._shared.pop(key, None)
            if be is None:
                be = get_backend(name, **options)
                if len(self._shared) >= self.max_shared:  # drop the least recently used
                    close_backend(self._shared.pop(next(iter(self._shared))))
            self._shared[key] = be
            return be

    def session(self, rec: SessionRecord) -> Backend:
        now = time.monotonic()
        with self._lock:
            for sid, (_, used) in list(self._sessions.items()):
                if now - used > self.ttl_s:
                    self._drop(sid)
            be = self._sessions[rec.id][0] if rec.id in self._sessions else None
            if be is None:
                be = get_backend(rec.backend, **rec.options)
            self._sessions[rec.id] = (be, now)
            return be

    def close_session(self, session_id: str) -> None:
        with self._lock:
            self._drop(session_id)

    def _drop(self, session_id: str) -> None:
        close_backend(self._sessions.pop(session_id, (None, 0))[0])


def close_backend(backend: Any) -> None:
    """Close a backend that holds resources (its ``close()``, when it has one)."""
    close = getattr(backend, "close", None)
    if callable(close):
        close()
