"""The job service: a FastAPI application built by :func:`create_app` (no import-time state).

Run it with ``hqml serve`` or ``uvicorn --factory hqml.runtime.app:app_from_env``. Every route
under ``/v1`` needs ``Authorization: Bearer <token>`` (tokens: ``hqml serve --issue-token``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from .execution import JobRejected, Limits, prepare
from .lease import Lease
from .limits import BodySizeLimit
from .programs import prepare_program
from .schemas import (
    CircuitJobRequest,
    ErrorResponse,
    IssuedToken,
    JobInfo,
    JobList,
    JobResult,
    ProgramRequest,
    SessionInfo,
    SessionRequest,
    TokenList,
    TokenOut,
    TokenRequest,
    TokenUpdate,
)
from .settings import ServiceSettings
from .store import (
    FINISHED,
    JobRecord,
    QuotaExceeded,
    SessionRecord,
    SqlJobStore,
    TokenInfo,
    TokenRecord,
    make_engine,
    migrate,
)
from .worker import BackendCache, Notifier, WorkerPool, kill_leftover_ray

log = logging.getLogger("hqml.runtime")
MAX_DETAIL = 300  # characters of an error message: they may quote the request


def cap(text: str, limit: int = MAX_DETAIL) -> str:
    """An error message cut to ``limit`` characters (never echo megabytes of input back)."""
    return text if len(text) <= limit else text[:limit] + "... (cut)"


# what reading a malformed request can raise besides JobRejected: still the client's input
_BAD_INPUT = (ValueError, TypeError, KeyError, IndexError, OverflowError, RuntimeError,
              RecursionError, AttributeError)

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 403, 404, 413, 422, 429)}


def job_info(job: JobRecord) -> JobInfo:
    return JobInfo(id=job.id, kind=job.kind, status=job.status, created_at=job.created_at,  # type: ignore[arg-type]
                   started_at=job.started_at, finished_at=job.finished_at, attempts=job.attempts,
                   error=job.error, progress=json.loads(job.progress) if job.progress else None,
                   session_id=job.session_id, idempotency_key=job.idempotency_key)


def session_info(rec: SessionRecord) -> SessionInfo:
    return SessionInfo(id=rec.id, backend=rec.backend, options=rec.options,
                       created_at=rec.created_at, closed=rec.closed)


def authenticate(request: Request,
                 authorization: Annotated[str | None, Header()] = None) -> TokenRecord:
    """The token record of ``Authorization: Bearer <token>``; 401 without a valid one."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise HTTPException(401, "missing API token: send the header 'Authorization: Bearer"
                            " <token>'", headers={"WWW-Authenticate": "Bearer"})
    rec = request.app.state.store.authenticate(authorization[7:].strip())
    if rec is None:
        raise HTTPException(401, "invalid or revoked API token",
                            headers={"WWW-Authenticate": "Bearer"})
    return rec


Token = Annotated[TokenRecord, Depends(authenticate)]


def authenticate_admin(token: Token) -> TokenRecord:
    if not token.admin:
        raise HTTPException(403, "this needs an admin token (hqml serve --issue-token OWNER"
                            " --admin)")
    return token


Admin = Annotated[TokenRecord, Depends(authenticate_admin)]


def token_out(t: TokenInfo) -> TokenOut:
    return TokenOut(id=t.id, owner=t.owner, max_queued=t.max_queued, max_shots=t.max_shots,
                    created_at=t.created_at, expires_at=t.expires_at, revoked=t.revoked,
                    admin=t.admin)


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """Build the service: store (migrated at start-up), worker pool, routes.

    >>> from hqml.runtime.app import create_app
    >>> from hqml.runtime.settings import ServiceSettings
    >>> app = create_app(ServiceSettings(database_url="sqlite://"))
    >>> "/v1/jobs" in app.openapi()["paths"]
    True
    """
    settings = settings or ServiceSettings()
    store = SqlJobStore(make_engine(settings.database_url, settings.sqlite_synchronous))
    notifier = Notifier()
    backends = BackendCache(settings.session_ttl_s)
    lease = Lease(store.engine, settings.lease_ttl_s)
    pool = WorkerPool(store, settings, notifier, backends, lease)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> Any:
        migrate(store.engine)
        previous = lease.acquire()  # LeaseHeld: another live server; this one does not start
        if previous is not None and previous.host == lease.host:
            kill_leftover_ray(previous.ray_pids)
        try:
            pool.start()
            yield
        finally:
            pool.stop()
            lease.release()
            store.engine.dispose()

    app = FastAPI(title="hqml job service", version="1", lifespan=lifespan,
                  description="Quantum circuit jobs, sessions and server-side hybrid programs.")
    app.state.settings, app.state.store, app.state.pool = settings, store, pool
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        msgs = []
        for err in exc.errors()[:5]:
            loc = ".".join(str(p)[:40] for p in err.get("loc", ()) if p != "body")
            msg = str(err.get("msg"))[:200]
            msgs.append(f"{loc}: {msg}" if loc else msg)
        return JSONResponse({"detail": cap("; ".join(msgs) or "invalid request")},
                            status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": cap(str(exc.detail))}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    # each owner has at most two submissions in the request threads at once, and all owners
    # together at most ``max_submitting``; the rest of a flood waits on the event loop (holding
    # no thread, not contending for the GIL), so it leaves /health, reads and other tenants'
    # requests responsive however many tenants flood at once
    submitting: dict[str, asyncio.Semaphore] = {}
    everyone = asyncio.Semaphore(settings.max_submitting)
    in_threads = {"now": 0, "peak": 0}

    async def in_turn(owner: str, work: Any, *args: Any) -> Any:
        slots = submitting.setdefault(owner, asyncio.Semaphore(2))
        async with slots, everyone:
            in_threads["now"] += 1
            in_threads["peak"] = max(in_threads["peak"], in_threads["now"])
            try:
                return await run_in_threadpool(work, *args)
            finally:
                in_threads["now"] -= 1

    def priced(check: Any, *args: Any, **kwargs: Any) -> None:
        """Run a submission check; any failure to read the request is a 400 naming it."""
        try:
            check(*args, **kwargs)
        except JobRejected as e:
            raise HTTPException(400, str(e)) from None
        except _BAD_INPUT as e:
            log.warning("request refused by an unexpected %s: %s", type(e).__name__,
                        cap(str(e)))
            raise HTTPException(400, f"could not read the request: {type(e).__name__}:"
                                f" {cap(str(e), 200)}") from None

    def owned(job_id: str, token: TokenRecord) -> JobRecord:
        job = store.get(job_id, token.owner)
        if job is None:  # someone else's job looks exactly like a missing one
            raise HTTPException(404, f"no job {job_id!r} for this token")
        return job

    def check_backend(name: str, session_id: str | None, token: TokenRecord) -> str:
        """The backend the job will run on (its session's, else ``name``)."""
        if session_id is not None:
            rec = store.get_session(session_id, token.owner)
            if rec is None or rec.closed:
                raise HTTPException(404, f"no open session {session_id!r} for this token")
            return rec.backend
        if name not in settings.allowed_backends:
            raise HTTPException(400, f"backend {name!r} is not offered here; use one of"
                                f" {', '.join(settings.allowed_backends)}")
        return name

    def enqueue(token: TokenRecord, kind: str, payload: str, key: str | None,
                session_id: str | None, timeout_s: float | None, response: Response) -> JobInfo:
        limit = settings.job_timeout_s
        try:
            job, created = store.submit(
                token.owner, kind, payload, timeout_s=min(timeout_s or limit, limit),
                idempotency_key=key, session_id=session_id,
                max_unfinished=token.max_queued or settings.max_queued_per_token)
        except QuotaExceeded as e:
            raise HTTPException(429, str(e)) from None
        pool.wake()
        response.status_code = 202 if created else 200
        response.headers["Location"] = f"/v1/jobs/{job.id}"
        return job_info(job)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        """Liveness only (answered on the event loop: never queued behind requests)."""
        return {"status": "ok"}

    @app.get("/v1/status", responses=_ERRORS)
    def status(_admin: Admin) -> dict[str, Any]:
        """The executor, its workers and counters, jobs by status (admin tokens only)."""
        return {"status": "ok", "recovered_jobs": pool.recovered, "jobs": store.counts(),
                "submissions_in_threads": in_threads["now"],
                "submissions_in_threads_peak": in_threads["peak"],
                "max_submitting": settings.max_submitting, **pool.describe()}

    @app.post("/v1/admin/tokens", status_code=201, response_model=IssuedToken,
              responses=_ERRORS)
    def issue_token(req: TokenRequest, _admin: Admin) -> IssuedToken:
        """Issue a token; it is shown in this answer only (the store keeps its hash)."""
        expires = time.time() + req.expires_in_s if req.expires_in_s is not None else None
        token = store.create_token(req.owner, req.max_queued, req.max_shots,
                                   expires_at=expires, admin=req.admin)
        rec = store.authenticate(token)
        assert rec is not None
        info = next(t for t in store.list_tokens(req.owner) if t.id == rec.id)
        return IssuedToken(token=token, **token_out(info).model_dump())

    @app.get("/v1/admin/tokens", response_model=TokenList, responses=_ERRORS)
    def list_tokens(_admin: Admin, owner: str | None = Query(None, max_length=200)) -> TokenList:
        return TokenList(tokens=[token_out(t) for t in store.list_tokens(owner)])

    @app.patch("/v1/admin/tokens/{token_id}", response_model=TokenOut, responses=_ERRORS)
    def update_token(token_id: str, req: TokenUpdate, _admin: Admin) -> TokenOut:
        """Revoke a token (``revoked: true``) or set its expiry (``expires_in_s`` from now)."""
        expires = time.time() + req.expires_in_s if req.expires_in_s is not None else None
        info = store.update_token(token_id, revoked=req.revoked, expires_at=expires)
        if info is None:
            raise HTTPException(404, f"no token with id (or unique id prefix) {token_id!r}")
        return token_out(info)

    @app.delete("/v1/admin/tokens/{token_id}", response_model=TokenOut, responses=_ERRORS)
    def revoke_token(token_id: str, _admin: Admin) -> TokenOut:
        """Revoke a token at once."""
        info = store.update_token(token_id, revoked=True)
        if info is None:
            raise HTTPException(404, f"no token with id (or unique id prefix) {token_id!r}")
        return token_out(info)

    def store_job(req: CircuitJobRequest, response: Response, token: TokenRecord,
                  idempotency_key: str | None) -> JobInfo:
        backend = check_backend(req.backend, req.session_id, token)
        priced(prepare, req, Limits.of(settings, token.max_shots), backend)
        if req.session_id is None:  # options the backend does not take are the client's to fix
            priced(backends.shared, req.backend, req.options)
        key = req.idempotency_key or idempotency_key
        return enqueue(token, "circuit", req.model_dump_json(), key, req.session_id,
                       req.timeout_s, response)

    def store_program(req: ProgramRequest, response: Response, token: TokenRecord,
                      idempotency_key: str | None) -> JobInfo:
        check_backend(req.backend, None, token)
        priced(prepare_program, req, Limits.of(settings, token.max_shots),
               allowed_backends=settings.allowed_backends)
        priced(backends.shared, req.backend, req.options)
        key = req.idempotency_key or idempotency_key
        return enqueue(token, "program", req.model_dump_json(), key, None, req.timeout_s, response)

    @app.post("/v1/jobs", status_code=202, response_model=JobInfo, responses=_ERRORS)
    async def submit_job(req: CircuitJobRequest, response: Response,
                         token: Token,
                         idempotency_key: str | None = Header(None, max_length=200)) -> JobInfo:
        """Submit a circuit job; it is stored before this returns (202, or 200 for a repeat)."""
        return await in_turn(token.owner, store_job, req, response, token, idempotency_key)

    @app.post("/v1/programs", status_code=202, response_model=JobInfo, responses=_ERRORS)
    async def submit_program(req: ProgramRequest, response: Response,
                             token: Token,
                             idempotency_key: str | None = Header(None, max_length=200)
                             ) -> JobInfo:
        """Submit a server-side program (VQE, QAOA, training, an ``hqml run`` config); progress
        is in the job's ``progress``."""
        return await in_turn(token.owner, store_program, req, response, token, idempotency_key)

    async def wait_for(job_id: str, token: TokenRecord, wait: float) -> JobRecord:
        job = await run_in_threadpool(owned, job_id, token)
        deadline = time.monotonic() + wait
        while job.status not in FINISHED and time.monotonic() < deadline:
            ev = notifier.register(job_id)
            try:
                job = await run_in_threadpool(owned, job_id, token)
                if job.status in FINISHED:
                    break
                await asyncio.wait_for(ev.wait(), max(0.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                pass
            finally:
                notifier.unregister(job_id, ev)
            job = await run_in_threadpool(owned, job_id, token)
        return job

    @app.get("/v1/jobs/{job_id}", response_model=JobInfo, responses=_ERRORS)
    async def get_job(job_id: str, token: Token,
                      wait: float = Query(0.0, ge=0, le=60)) -> JobInfo:
        """Status and progress; with ``wait`` seconds, returns as soon as the job finishes."""
        return job_info(await wait_for(job_id, token, wait))

    @app.get("/v1/jobs/{job_id}/result", response_model=JobResult, responses=_ERRORS)
    async def get_result(job_id: str, token: Token,
                         wait: float = Query(0.0, ge=0, le=60)) -> JobResult:
        """The result once done (``status`` tells whether it is there yet)."""
        job = await wait_for(job_id, token, wait)
        return JobResult(id=job.id, status=job.status,  # type: ignore[arg-type]
                         result=json.loads(job.result) if job.result else None, error=job.error)

    @app.delete("/v1/jobs/{job_id}", response_model=JobInfo, responses=_ERRORS)
    def cancel_job(job_id: str, token: Token) -> JobInfo:
        """Cancel a queued or running job; a finished job is returned unchanged."""
        owned(job_id, token)
        job = store.cancel(job_id, token.owner)
        pool.cancel(job_id)
        assert job is not None
        return job_info(job)

    @app.get("/v1/jobs", response_model=JobList, responses=_ERRORS)
    def list_jobs(token: Token,
                  status: str | None = Query(
                      None, pattern="^(queued|running|done|failed|cancelled)$"),
                  limit: int = Query(100, ge=1, le=1000)) -> JobList:
        """This token owner's jobs, newest first."""
        return JobList(jobs=[job_info(j) for j in store.list(token.owner, status, limit)])

    @app.post("/v1/sessions", status_code=201, response_model=SessionInfo, responses=_ERRORS)
    def open_session(req: SessionRequest, token: Token) -> SessionInfo:
        """Open a session: its jobs share one warm backend instance."""
        check_backend(req.backend, None, token)
        priced(backends.shared, req.backend, req.options)
        return session_info(store.create_session(token.owner, req.backend, req.options))

    @app.get("/v1/sessions/{session_id}", response_model=SessionInfo, responses=_ERRORS)
    def get_session(session_id: str, token: Token) -> SessionInfo:
        rec = store.get_session(session_id, token.owner)
        if rec is None:
            raise HTTPException(404, f"no session {session_id!r} for this token")
        return session_info(rec)

    @app.delete("/v1/sessions/{session_id}", response_model=SessionInfo, responses=_ERRORS)
    def close_session(session_id: str, token: Token) -> SessionInfo:
        rec = store.close_session(session_id, token.owner)
        if rec is None:
            raise HTTPException(404, f"no session {session_id!r} for this token")
        backends.close_session(session_id)
        return session_info(rec)

    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory``: settings from ``HQML_SERVICE_*`` variables."""
    return create_app(ServiceSettings.from_env())
