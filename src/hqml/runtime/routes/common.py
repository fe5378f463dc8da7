"""What the routers share: the running service (store, worker pool, submission slots), token
authentication, and the JSON views of store records."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool

from ..backend_cache import BackendCache
from ..execution import JobRejected
from ..schemas import ErrorResponse, JobInfo, SessionInfo, TokenOut
from ..settings import ServiceSettings
from ..store import (
    FINISHED,
    JobRecord,
    QuotaExceeded,
    SessionRecord,
    SqlJobStore,
    TokenInfo,
    TokenRecord,
)
from ..worker import Notifier, WorkerPool

log = logging.getLogger("hqml.runtime")
MAX_DETAIL = 300  # characters of an error message: they may quote the request

# what reading a malformed request can raise besides JobRejected: still the client's input
BAD_INPUT = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    OverflowError,
    RuntimeError,
    RecursionError,
    AttributeError,
)

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 403, 404, 413, 422, 429)
}


def cap(text: str, limit: int = MAX_DETAIL) -> str:
    """An error message cut to ``limit`` characters (never echo megabytes of input back)."""
    return text if len(text) <= limit else text[:limit] + "... (cut)"


def job_info(job: JobRecord) -> JobInfo:
    return JobInfo(
        id=job.id,
        kind=job.kind,
        status=job.status,  # type: ignore[arg-type]
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        attempts=job.attempts,
        error=job.error,
        progress=json.loads(job.progress) if job.progress else None,
        session_id=job.session_id,
        idempotency_key=job.idempotency_key,
    )


def session_info(rec: SessionRecord) -> SessionInfo:
    return SessionInfo(
        id=rec.id,
        backend=rec.backend,
        options=rec.options,
        created_at=rec.created_at,
        closed=rec.closed,
    )


def token_out(t: TokenInfo) -> TokenOut:
    return TokenOut(
        id=t.id,
        owner=t.owner,
        max_queued=t.max_queued,
        max_shots=t.max_shots,
        created_at=t.created_at,
        expires_at=t.expires_at,
        revoked=t.revoked,
        admin=t.admin,
    )


@dataclass
class Service:
    """The running service as its routes see it.

    Each owner has at most two submissions in the request threads at once, and all owners
    together at most ``settings.max_submitting``; the rest of a flood waits on the event loop
    (holding no thread, not contending for the GIL), so it leaves /health, reads and other
    tenants' requests responsive however many tenants flood at once.
    """

    settings: ServiceSettings
    store: SqlJobStore
    pool: WorkerPool
    notifier: Notifier
    backends: BackendCache
    in_threads: dict[str, int] = field(default_factory=lambda: {"now": 0, "peak": 0})
    _slots: dict[str, asyncio.Semaphore] = field(default_factory=dict)
    _everyone: asyncio.Semaphore | None = None

    async def in_turn(self, owner: str, work: Any, *args: Any) -> Any:
        """``work(*args)`` in a request thread once this owner and the service have a slot."""
        if self._everyone is None:
            self._everyone = asyncio.Semaphore(self.settings.max_submitting)
        slots = self._slots.setdefault(owner, asyncio.Semaphore(2))
        async with slots, self._everyone:
            self.in_threads["now"] += 1
            self.in_threads["peak"] = max(self.in_threads["peak"], self.in_threads["now"])
            try:
                return await run_in_threadpool(work, *args)
            finally:
                self.in_threads["now"] -= 1

    @staticmethod
    def priced(check: Any, *args: Any, **kwargs: Any) -> None:
        """Run a submission check; any failure to read the request is a 400 naming it."""
        try:
            check(*args, **kwargs)
        except JobRejected as e:
            raise HTTPException(400, str(e)) from None
        except BAD_INPUT as e:
            log.warning("request refused by an unexpected %s: %s", type(e).__name__, cap(str(e)))
            raise HTTPException(
                400, f"could not read the request: {type(e).__name__}: {cap(str(e), 200)}"
            ) from None

    def owned(self, job_id: str, token: TokenRecord) -> JobRecord:
        job = self.store.get(job_id, token.owner)
        if job is None:  # someone else's job looks exactly like a missing one
            raise HTTPException(404, f"no job {job_id!r} for this token")
        return job

    def check_backend(self, name: str, session_id: str | None, token: TokenRecord) -> str:
        """The backend the job will run on (its session's, else ``name``)."""
        if session_id is not None:
            rec = self.store.get_session(session_id, token.owner)
            if rec is None or rec.closed:
                raise HTTPException(404, f"no open session {session_id!r} for this token")
            return rec.backend
        if name not in self.settings.allowed_backends:
            raise HTTPException(
                400,
                f"backend {name!r} is not offered here; use one of"
                f" {', '.join(self.settings.allowed_backends)}",
            )
        return name

    def enqueue(
        self,
        token: TokenRecord,
        kind: str,
        payload: str,
        key: str | None,
        session_id: str | None,
        timeout_s: float | None,
        response: Response,
    ) -> JobInfo:
        limit = self.settings.job_timeout_s
        try:
            job, created = self.store.submit(
                token.owner,
                kind,
                payload,
                timeout_s=min(timeout_s or limit, limit),
                idempotency_key=key,
                session_id=session_id,
                max_unfinished=token.max_queued or self.settings.max_queued_per_token,
            )
        except QuotaExceeded as e:
            raise HTTPException(429, str(e)) from None
        self.pool.wake()
        response.status_code = 202 if created else 200
        response.headers["Location"] = f"/v1/jobs/{job.id}"
        return job_info(job)

    async def wait_for(self, job_id: str, token: TokenRecord, wait: float) -> JobRecord:
        """The job, once finished or after ``wait`` seconds."""
        job = await run_in_threadpool(self.owned, job_id, token)
        deadline = time.monotonic() + wait
        while job.status not in FINISHED and time.monotonic() < deadline:
            ev = self.notifier.register(job_id)
            try:
                job = await run_in_threadpool(self.owned, job_id, token)
                if job.status in FINISHED:
                    break
                await asyncio.wait_for(ev.wait(), max(0.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                pass
            finally:
                self.notifier.unregister(job_id, ev)
            job = await run_in_threadpool(self.owned, job_id, token)
        return job


def service(request: Request) -> Service:
    return request.app.state.service


Svc = Annotated[Service, Depends(service)]


def authenticate(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> TokenRecord:
    """The token record of ``Authorization: Bearer <token>``; 401 without a valid one."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise HTTPException(
            401,
            "missing API token: send the header 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    rec = request.app.state.store.authenticate(authorization[7:].strip())
    if rec is None:
        raise HTTPException(
            401, "invalid or revoked API token", headers={"WWW-Authenticate": "Bearer"}
        )
    return rec


Token = Annotated[TokenRecord, Depends(authenticate)]


def authenticate_admin(token: Token) -> TokenRecord:
    if not token.admin:
        raise HTTPException(
            403, "this needs an admin token (hqml serve --issue-token OWNER --admin)"
        )
    return token


Admin = Annotated[TokenRecord, Depends(authenticate_admin)]
