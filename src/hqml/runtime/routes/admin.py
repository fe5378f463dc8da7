"""Admin routes (admin tokens only): the service's status, and the token lifecycle (issue, list,
revoke, expire)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, HTTPException, Query

from ..schemas import IssuedToken, TokenList, TokenOut, TokenRequest, TokenUpdate
from .common import ERRORS, Admin, Svc, token_out

router = APIRouter(prefix="/v1")


@router.get("/status", responses=ERRORS)
def status(_admin: Admin, svc: Svc) -> dict[str, Any]:
    """The executor, its workers and counters, jobs by status, submissions in request threads
    (now and at most so far)."""
    return {
        "status": "ok",
        "recovered_jobs": svc.pool.recovered,
        "jobs": svc.store.counts(),
        "submissions_in_threads": svc.in_threads["now"],
        "submissions_in_threads_peak": svc.in_threads["peak"],
        "max_submitting": svc.settings.max_submitting,
        **svc.pool.describe(),
    }


@router.post("/admin/tokens", status_code=201, response_model=IssuedToken, responses=ERRORS)
def issue_token(req: TokenRequest, _admin: Admin, svc: Svc) -> IssuedToken:
    """Issue a token; it is shown in this answer only (the store keeps its hash)."""
    expires = time.time() + req.expires_in_s if req.expires_in_s is not None else None
    token = svc.store.create_token(
        req.owner, req.max_queued, req.max_shots, expires_at=expires, admin=req.admin
    )
    rec = svc.store.authenticate(token)
    assert rec is not None
    info = next(t for t in svc.store.list_tokens(req.owner) if t.id == rec.id)
    return IssuedToken(token=token, **token_out(info).model_dump())


@router.get("/admin/tokens", response_model=TokenList, responses=ERRORS)
def list_tokens(
    _admin: Admin, svc: Svc, owner: str | None = Query(None, max_length=200)
) -> TokenList:
    return TokenList(tokens=[token_out(t) for t in svc.store.list_tokens(owner)])


@router.patch("/admin/tokens/{token_id}", response_model=TokenOut, responses=ERRORS)
def update_token(token_id: str, req: TokenUpdate, _admin: Admin, svc: Svc) -> TokenOut:
    """Revoke a token (``revoked: true``) or set its expiry (``expires_in_s`` from now)."""
    expires = time.time() + req.expires_in_s if req.expires_in_s is not None else None
    info = svc.store.update_token(token_id, revoked=req.revoked, expires_at=expires)
    if info is None:
        raise HTTPException(404, f"no token with id (or unique id prefix) {token_id!r}")
    return token_out(info)


@router.delete("/admin/tokens/{token_id}", response_model=TokenOut, responses=ERRORS)
def revoke_token(token_id: str, _admin: Admin, svc: Svc) -> TokenOut:
    """Revoke a token at once."""
    info = svc.store.update_token(token_id, revoked=True)
    if info is None:
        raise HTTPException(404, f"no token with id (or unique id prefix) {token_id!r}")
    return token_out(info)
