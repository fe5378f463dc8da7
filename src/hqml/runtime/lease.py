"""One server per database: a lease row with a heartbeat.

A server takes the lease at start-up, before it re-queues the jobs a dead server left running.
The lease is free when no row exists, when its heartbeat is older than ``ttl_s``, or when its
holder ran on this host and its process is gone (a SIGKILLed server restarts at once). A live
holder makes the second server refuse to start with :class:`LeaseHeld`. The holder renews the
heartbeat every ``ttl_s / 3`` seconds and deletes the row when it stops.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from .tables import server_lease

LEASE_ID = 1


class LeaseHeld(RuntimeError):
    """Another live server holds this database's lease."""


@dataclass(frozen=True)
class Previous:
    """The holder a new lease replaced (a dead server), and the Ray processes it started."""

    host: str
    pid: int
    ray_pids: tuple[int, ...]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Lease:
    """This server's hold on a database (see the module docstring)."""

    def __init__(self, engine: sa.Engine, ttl_s: float = 15.0):
        self.engine, self.ttl_s = engine, ttl_s
        self.holder = uuid.uuid4().hex
        self.host, self.pid = socket.gethostname()[:255], os.getpid()

    def acquire(self) -> Previous | None:
        """Take the lease; returns the dead holder it replaced (None if the lease was free).

        Raises:
            LeaseHeld: a live server holds it; the message names its host and process.
        """
        now = time.time()
        mine = dict(
            holder=self.holder,
            host=self.host,
            pid=self.pid,
            started_at=now,
            heartbeat_at=now,
            ray_pids=None,
        )
        with self.engine.begin() as conn:
            row = self._held(conn, now)
            if row is None:
                try:
                    conn.execute(server_lease.insert().values(id=LEASE_ID, **mine))
                except sa.exc.IntegrityError:
                    raise LeaseHeld(
                        "another hqml server started on this database at the same"
                        " moment; stop it first"
                    ) from None
                return None
            n = conn.execute(
                server_lease.update()
                .where(
                    server_lease.c.id == LEASE_ID,
                    server_lease.c.holder == row.holder,
                    server_lease.c.heartbeat_at == row.heartbeat_at,
                )
                .values(**mine)
            ).rowcount
            if n != 1:
                raise LeaseHeld(
                    "another hqml server took this database's lease at the same"
                    " moment; stop it first"
                )
        pids = tuple(json.loads(row.ray_pids)) if row.ray_pids else ()
        return Previous(row.host, row.pid, pids)

    def _held(self, conn: sa.Connection, now: float) -> Any:
        """The lease row (None: no lease); LeaseHeld when a live server holds it."""
        row = conn.execute(sa.select(server_lease).where(server_lease.c.id == LEASE_ID)).first()
        if row is None:
            return None
        age = now - row.heartbeat_at
        dead = row.host == self.host and not _alive(row.pid)
        if age < self.ttl_s and not dead:
            raise LeaseHeld(
                f"another hqml server (pid {row.pid} on {row.host}, heartbeat {age:.1f} s ago)"
                " serves this database; stop it first, or use another database (a stale lease"
                f" expires {self.ttl_s:g} s after its last heartbeat)"
            )
        return row

    def check(self) -> None:
        """Raise LeaseHeld when a live server holds the lease (takes nothing)."""
        with self.engine.connect() as conn:
            self._held(conn, time.time())

    def renew(self) -> bool:
        """Refresh the heartbeat; False when the lease was lost (taken over as stale)."""
        with self.engine.begin() as conn:
            return (
                conn.execute(
                    server_lease.update()
                    .where(server_lease.c.id == LEASE_ID, server_lease.c.holder == self.holder)
                    .values(heartbeat_at=time.time())
                ).rowcount
                == 1
            )

    def record_ray(self, pids: list[int]) -> None:
        """The Ray processes this server started (killed by the next server if left behind)."""
        with self.engine.begin() as conn:
            conn.execute(
                server_lease.update()
                .where(server_lease.c.id == LEASE_ID, server_lease.c.holder == self.holder)
                .values(ray_pids=json.dumps(pids))
            )

    def release(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                server_lease.delete().where(
                    server_lease.c.id == LEASE_ID, server_lease.c.holder == self.holder
                )
            )
