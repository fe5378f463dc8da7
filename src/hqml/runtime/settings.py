"""Configuration of the job service, passed to :func:`hqml.runtime.app.create_app`."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import Any

LOCAL_BACKENDS = ("statevector", "density_matrix")


@dataclass(frozen=True)
class ServiceSettings:
    """Everything the service needs; no module-level state.

    Args:
        database_url: SQLAlchemy URL; a SQLite file by default (WAL mode), or
            ``postgresql+psycopg://user:pw@host/db``.
        workers: jobs run at the same time (threads of the in-process worker pool).
        job_timeout_s: default and maximum time a job may run before it fails with a timeout.
        max_request_bytes: larger request bodies are refused with 413.
        max_queued_per_token: unfinished jobs one token may have (a token's own limit wins).
        max_shots_per_job: largest ``shots`` of one job (a token's own limit wins).
        max_qubits: largest circuit accepted.
        max_batch_rows: largest batch (rows of inputs / theta) of one job.
        max_amplitudes: largest ``rows * 2**n_qubits`` of one job (``rows * 4**n_qubits`` on
            the density-matrix backend), which bounds its memory.
        max_gates: most gates of one circuit, after the expansion of QASM gate definitions.
        parse_time_s: most seconds reading one OpenQASM program may take.
        max_submitting: submissions read and priced in request threads at once, over all
            tokens (each token also has at most two); the others wait without holding a thread.
        max_qasm_bytes: longest OpenQASM text (its tokenizer and parser take about a second
            per 150 KB; larger circuits travel as hqml JSON).
        max_samples: largest ``shots * rows`` of one job.
        max_result_bytes: largest stored result of one job (known before it runs).
        max_parameters: most declared weight and input values of one circuit.
        max_dataset_values: largest dataset of a program (``N * features`` of ``train``, the
            product of a ``run`` config's dataset sizes).
        max_program_steps: most evaluations of one program (iterations, epochs x batches).
        allowed_backends: backend names jobs may ask for (the executors ``"process_pool"`` and
            ``"ray"`` are opt-in: their options start processes).
        poll_interval_s: how often idle workers look for new jobs in the store.
        session_ttl_s: idle time after which a session's warm backend is dropped.
        torch_threads: intra-op threads of the worker pool.
        sqlite_synchronous: SQLite ``synchronous`` pragma (FULL: an acknowledged job survives
            power loss; NORMAL: it survives a crash of the process).
        executor: where claimed jobs run: ``"local"`` (threads of the server process) or
            ``"ray"`` (Ray actors holding warm backends; store, claiming, progress and timeouts
            stay in the server).
        ray_address: with ``executor="ray"``: a Ray cluster address; None starts Ray locally.
        ray_workers: with ``executor="ray"``: actors, i.e. jobs run at the same time.
        ray_max_retries: re-runs of a job whose Ray actor was lost.
        output_dir: where ``run`` programs write their files (``<dir>/<owner>/<job id>``).
        lease_ttl_s: one server per database: a server whose lease heartbeat is older than
            this is presumed dead and replaced (a dead one on the same host at once).
    """

    database_url: str = "sqlite:///hqml-jobs.db"
    workers: int = 2
    job_timeout_s: float = 600.0
    max_request_bytes: int = 2_000_000
    max_queued_per_token: int = 10_000
    max_shots_per_job: int = 1_000_000
    max_qubits: int = 24
    max_batch_rows: int = 100_000
    max_amplitudes: int = 2**28
    max_gates: int = 1_000_000
    parse_time_s: float = 2.0
    max_submitting: int = 8
    max_qasm_bytes: int = 256_000
    max_samples: int = 10_000_000
    max_result_bytes: int = 64_000_000
    max_parameters: int = 1_000_000
    max_dataset_values: int = 10_000_000
    max_program_steps: int = 1_000_000
    allowed_backends: tuple[str, ...] = LOCAL_BACKENDS
    poll_interval_s: float = 0.2
    session_ttl_s: float = 900.0
    torch_threads: int = 1
    sqlite_synchronous: str = "FULL"
    executor: str = "local"
    ray_address: str | None = None
    ray_workers: int = 2
    ray_max_retries: int = 2
    output_dir: str = "hqml-service-runs"
    lease_ttl_s: float = 15.0
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, prefix: str = "HQML_SERVICE_", **overrides: Any) -> ServiceSettings:
        """Settings from environment variables ``HQML_SERVICE_<FIELD>`` plus ``overrides``."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = os.environ.get(prefix + f.name.upper())
            if raw is None or f.name == "extra":
                continue
            if f.name == "allowed_backends":
                values[f.name] = tuple(s.strip() for s in raw.split(",") if s.strip())
            elif isinstance(f.default, bool):
                values[f.name] = raw.lower() in ("1", "true", "yes")
            elif isinstance(f.default, int):
                values[f.name] = int(raw)
            elif isinstance(f.default, float):
                values[f.name] = float(raw)
            else:
                values[f.name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def __post_init__(self) -> None:
        if self.executor not in ("local", "ray"):
            raise ValueError(f"executor must be 'local' or 'ray', got {self.executor!r}")
        if self.workers < 1 or self.ray_workers < 1:
            raise ValueError("workers and ray_workers must be at least 1")
        if self.max_submitting < 1:
            raise ValueError(f"max_submitting must be at least 1, got {self.max_submitting}")
