"""Programs the job service runs from layers above it, found by name.

The service's own programs (``vqe``, ``qaoa``, ``train``) live in :mod:`.programs`. A program
that belongs to a higher layer (``run``: an ``hqml run`` config, :mod:`hqml.experiment`) is a
module named in :data:`PROGRAMS` and imported on its first use, as the backends' registry
imports a backend: the runtime never imports the layer above it. The module defines
``prepare(req, limits, allowed_backends) -> PreparedPlugin`` (price and validate; raise
``JobRejected``) and ``run(prepared, ctx, run_dir) -> (result, final progress)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from types import ModuleType

from .schemas import ProgramRequest

PROGRAMS: dict[str, str] = {"run": "hqml.experiment.service_run"}


@dataclass
class PreparedPlugin:
    """A plug-in program's validated request (its module adds what it prepared)."""

    request: ProgramRequest


def plugin(program: str) -> ModuleType:
    """The module of a plug-in program."""
    return import_module(PROGRAMS[program])
