"""Circuit jobs and server-side programs: submit, read, wait for, cancel, list."""

from __future__ import annotations

import json

from fastapi import APIRouter, Header, Query, Response

from ..execution import Limits, prepare
from ..programs import prepare_program
from ..schemas import CircuitJobRequest, JobInfo, JobList, JobResult, ProgramRequest
from ..store import TokenRecord
from .common import ERRORS, Service, Svc, Token, job_info

router = APIRouter(prefix="/v1")


def _store_job(
    svc: Service,
    req: CircuitJobRequest,
    response: Response,
    token: TokenRecord,
    idempotency_key: str | None,
) -> JobInfo:
    backend = svc.check_backend(req.backend, req.session_id, token)
    svc.priced(prepare, req, Limits.of(svc.settings, token.max_shots), backend)
    if req.session_id is None:  # options the backend does not take are the client's to fix
        svc.priced(svc.backends.shared, req.backend, req.options)
    key = req.idempotency_key or idempotency_key
    return svc.enqueue(
        token, "circuit", req.model_dump_json(), key, req.session_id, req.timeout_s, response
    )


def _store_program(
    svc: Service,
    req: ProgramRequest,
    response: Response,
    token: TokenRecord,
    idempotency_key: str | None,
) -> JobInfo:
    svc.check_backend(req.backend, None, token)
    svc.priced(
        prepare_program,
        req,
        Limits.of(svc.settings, token.max_shots),
        allowed_backends=svc.settings.allowed_backends,
    )
    svc.priced(svc.backends.shared, req.backend, req.options)
    key = req.idempotency_key or idempotency_key
    return svc.enqueue(token, "program", req.model_dump_json(), key, None, req.timeout_s, response)


@router.post("/jobs", status_code=202, response_model=JobInfo, responses=ERRORS)
async def submit_job(
    req: CircuitJobRequest,
    response: Response,
    token: Token,
    svc: Svc,
    idempotency_key: str | None = Header(None, max_length=200),
) -> JobInfo:
    """Submit a circuit job; it is stored before this returns (202, or 200 for a repeat)."""
    return await svc.in_turn(token.owner, _store_job, svc, req, response, token, idempotency_key)


@router.post("/programs", status_code=202, response_model=JobInfo, responses=ERRORS)
async def submit_program(
    req: ProgramRequest,
    response: Response,
    token: Token,
    svc: Svc,
    idempotency_key: str | None = Header(None, max_length=200),
) -> JobInfo:
    """Submit a server-side program (VQE, QAOA, training, an ``hqml run`` config); progress
    is in the job's ``progress``."""
    return await svc.in_turn(
        token.owner, _store_program, svc, req, response, token, idempotency_key
    )


@router.get("/jobs/{job_id}", response_model=JobInfo, responses=ERRORS)
async def get_job(
    job_id: str, token: Token, svc: Svc, wait: float = Query(0.0, ge=0, le=60)
) -> JobInfo:
    """Status and progress; with ``wait`` seconds, returns as soon as the job finishes."""
    return job_info(await svc.wait_for(job_id, token, wait))


@router.get("/jobs/{job_id}/result", response_model=JobResult, responses=ERRORS)
async def get_result(
    job_id: str, token: Token, svc: Svc, wait: float = Query(0.0, ge=0, le=60)
) -> JobResult:
    """The result once done (``status`` tells whether it is there yet)."""
    job = await svc.wait_for(job_id, token, wait)
    return JobResult(
        id=job.id,
        status=job.status,  # type: ignore[arg-type]
        result=json.loads(job.result) if job.result else None,
        error=job.error,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


@router.delete("/jobs/{job_id}", response_model=JobInfo, responses=ERRORS)
def cancel_job(job_id: str, token: Token, svc: Svc) -> JobInfo:
    """Cancel a queued or running job; a finished job is returned unchanged."""
    svc.owned(job_id, token)
    job = svc.store.cancel(job_id, token.owner)
    svc.pool.cancel(job_id)
    assert job is not None
    return job_info(job)


@router.get("/jobs", response_model=JobList, responses=ERRORS)
def list_jobs(
    token: Token,
    svc: Svc,
    status: str | None = Query(None, pattern="^(queued|running|done|failed|cancelled)$"),
    limit: int = Query(100, ge=1, le=1000),
) -> JobList:
    """This token owner's jobs, newest first."""
    return JobList(jobs=[job_info(j) for j in svc.store.list(token.owner, status, limit)])
