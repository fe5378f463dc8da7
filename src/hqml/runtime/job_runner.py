"""Run one stored job's payload: the same code in the server's threads and in Ray actors.

``run_job`` validates the payload again (it was checked at submission; the server's limits may
have changed since), runs it on a backend from ``backend_for(name, options)`` and returns the
JSON-able result and the job's final progress.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..backends.base import Backend
from .execution import JobContext, Limits, prepare, run_circuit_job
from .plugins import PreparedPlugin, plugin
from .programs import prepare_program, run_program
from .schemas import CircuitJobRequest, ProgramRequest
from .settings import ServiceSettings

BackendFor = Callable[[str, dict[str, Any]], Backend]


def run_job(
    kind: str,
    payload: str,
    settings: ServiceSettings,
    backend_for: BackendFor,
    ctx: JobContext,
    run_dir: str | Path,
    session_backend: tuple[str, dict[str, Any]] | None = None,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Run a job; ``(result, final progress or None)``.

    Args:
        kind: ``"circuit"`` or ``"program"``.
        payload: the stored request JSON.
        settings: the service's limits.
        backend_for: a warm backend by name and options.
        ctx: progress and stop hooks.
        run_dir: where a ``run`` program writes its files.
        session_backend: the job's session backend (name, options), which replaces the payload's.
    """
    limits = Limits.of(settings)
    doc = json.loads(payload)
    if kind == "program":
        preq = ProgramRequest.model_validate(doc)
        prog = prepare_program(preq, limits, allowed_backends=settings.allowed_backends)
        if isinstance(prog, PreparedPlugin):
            return plugin(preq.program).run(prog, ctx, run_dir)
        out = run_program(prog, backend_for(preq.backend, preq.options), ctx)
        last = out["history"][-1] if out["history"] else None
        return out, {"iteration": len(out["history"]), "energy": last, "done": True}
    req = CircuitJobRequest.model_validate(doc)
    name, options = session_backend or (req.backend, req.options)
    prepared = prepare(req, limits, name)
    return run_circuit_job(prepared, backend_for(name, options)), None
