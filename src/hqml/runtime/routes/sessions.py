"""Sessions: jobs of one session share one warm backend instance."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from ..schemas import SessionInfo, SessionRequest
from .common import ERRORS, Svc, Token, session_info

router = APIRouter(prefix="/v1/sessions")


@router.post("", status_code=201, response_model=SessionInfo, responses=ERRORS)
def open_session(req: SessionRequest, token: Token, svc: Svc) -> SessionInfo:
    """Open a session: its jobs share one warm backend instance."""
    svc.check_backend(req.backend, None, token)
    svc.priced(svc.backends.shared, req.backend, req.options)
    return session_info(svc.store.create_session(token.owner, req.backend, req.options))


@router.get("/{session_id}", response_model=SessionInfo, responses=ERRORS)
def get_session(session_id: str, token: Token, svc: Svc) -> SessionInfo:
    rec = svc.store.get_session(session_id, token.owner)
    if rec is None:
        raise HTTPException(404, f"no session {session_id!r} for this token")
    return session_info(rec)


@router.delete("/{session_id}", response_model=SessionInfo, responses=ERRORS)
def close_session(session_id: str, token: Token, svc: Svc) -> SessionInfo:
    rec = svc.store.close_session(session_id, token.owner)
    if rec is None:
        raise HTTPException(404, f"no session {session_id!r} for this token")
    svc.backends.close_session(session_id)
    return session_info(rec)
