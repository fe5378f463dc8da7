"""The job service: a FastAPI application built by :func:`create_app` (no import-time state).

Run it with ``hqml serve`` or ``uvicorn --factory hqml.runtime.app:app_from_env``. Every route
under ``/v1`` needs ``Authorization: Bearer <token>`` (tokens: ``hqml serve --issue-token``).
The routes are in :mod:`hqml.runtime.routes`, one router per resource.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from .backend_cache import BackendCache
from .lease import Lease
from .limits import BodySizeLimit
from .routes import admin, jobs, sessions
from .routes.common import Service, cap
from .settings import ServiceSettings
from .store import SqlJobStore, make_engine, migrate
from .worker import Notifier, WorkerPool, kill_leftover_ray


async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
    msgs = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p)[:40] for p in err.get("loc", ()) if p != "body")
        msg = str(err.get("msg"))[:200]
        msgs.append(f"{loc}: {msg}" if loc else msg)
    return JSONResponse({"detail": cap("; ".join(msgs) or "invalid request")}, status_code=422)


async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    return JSONResponse(
        {"detail": cap(str(exc.detail))},
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


async def health() -> dict[str, Any]:
    """Liveness only (answered on the event loop: never queued behind requests)."""
    return {"status": "ok"}


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

    app = FastAPI(
        title="hqml job service",
        version="1",
        lifespan=lifespan,
        description="Quantum circuit jobs, sessions and server-side hybrid programs.",
    )
    app.state.settings, app.state.store, app.state.pool = settings, store, pool
    app.state.service = Service(settings, store, pool, notifier, backends)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    app.add_exception_handler(RequestValidationError, _invalid)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_api_route("/health", health, methods=["GET"])
    for module in (jobs, sessions, admin):
        app.include_router(module.router)
    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory``: settings from ``HQML_SERVICE_*`` variables."""
    return create_app(ServiceSettings.from_env())
