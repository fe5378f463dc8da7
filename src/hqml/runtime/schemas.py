"""Request and response schemas of the job service (separate models for each direction)."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Status = Literal["queued", "running", "done", "failed", "cancelled"]
Seed = Annotated[int, Field(ge=0, le=2**63 - 1, description="0 to 2^63 - 1")]
Wire = Annotated[int, Field(ge=0, le=1_000_000)]
MAX_DEPTH = 64  # nesting of JSON values (tensors are at most a few levels deep)


def _finite(value: Any, path: str = "", depth: int = 0) -> None:
    """Refuse NaN and infinities anywhere in a request (JSON has no such numbers; Python's
    parser accepts them), and absurd nesting."""
    if depth > MAX_DEPTH:
        raise ValueError(f"{path or 'body'}: nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{path or 'body'}: {value} is not a finite number")
    elif isinstance(value, dict):
        for k, v in value.items():
            _finite(v, f"{path}.{str(k)[:40]}" if path else str(k)[:40], depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _finite(v, f"{path}[{i}]", depth + 1)


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_nan(cls, data: Any) -> Any:
        _finite(data)
        return data


class CircuitJobRequest(_Request):
    """One circuit evaluation.

    Give the circuit as hqml JSON (``circuit``) or OpenQASM 3 (``qasm``), and either parameter
    bindings (``inputs`` / ``weights``: nested lists or tensor documents) or the gate parameters
    ``theta`` (B, P) directly. With ``cotangent`` (and ``theta``) the job returns the adjoint
    vector-Jacobian product instead of the values.
    """

    circuit: dict[str, Any] | str | None = Field(None, description="hqml circuit JSON")
    qasm: str | None = Field(None, description="OpenQASM 3 text (instead of circuit)")
    inputs: dict[str, Any] = Field(default_factory=dict)
    weights: dict[str, Any] = Field(default_factory=dict)
    theta: Any = Field(None, description="gate parameters (B, P), instead of bindings")
    varying: list[bool] | None = None
    cotangent: Any = Field(None, description="with theta: return the adjoint VJP")
    measurement: Literal["expval", "probs", "sample", "state"] = "expval"
    observables: list[dict[str, Any] | str] | None = Field(None, description="PauliSum JSON")
    wires: list[Wire] | None = None
    shots: int | None = Field(None, ge=1, le=2**53)
    seed: Seed | None = None
    dtype: Literal["complex64", "complex128"] = "complex64"
    backend: str = "statevector"
    options: dict[str, Any] = Field(default_factory=dict)
    session_id: str | None = None
    idempotency_key: str | None = Field(None, max_length=200)
    timeout_s: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _check(self) -> CircuitJobRequest:
        if (self.circuit is None) == (self.qasm is None):
            raise ValueError("give exactly one of 'circuit' (hqml JSON) or 'qasm' (OpenQASM 3)")
        if self.measurement == "expval" and not self.observables:
            raise ValueError("measurement 'expval' needs 'observables' (a list of PauliSum JSON)")
        if self.measurement == "sample" and self.shots is None:
            raise ValueError("measurement 'sample' needs 'shots'")
        if self.cotangent is not None and self.theta is None:
            raise ValueError("'cotangent' (a VJP request) needs 'theta'")
        if self.theta is not None and (self.inputs or self.weights):
            raise ValueError("give either 'theta' or 'inputs'/'weights', not both")
        return self


class ProgramRequest(_Request):
    """A whole hybrid loop run next to the simulator.

    ``program="vqe"`` minimises ``<hamiltonian>`` over the weights of ``circuit``/``qasm``.
    ``program="qaoa"`` runs QAOA with ``layers`` layers on a diagonal (Z/ZZ) ``hamiltonian``
    (no circuit needed) and samples the best bitstring with ``shots``.
    ``program="train"`` fits the circuit's weights so that the expectations of ``observables``
    on the rows of ``data_x`` match ``data_y`` (mean squared error), for ``epochs`` epochs of
    mini-batches of ``batch_size``.
    ``program="run"`` trains the hybrid model of an ``hqml run`` ``config`` (TOML text or its
    dict) and its classical baseline; the result holds the metrics and the report.
    """

    program: Literal["vqe", "qaoa", "train", "run"] = "vqe"
    config: dict[str, Any] | str | None = Field(None, description="run: an hqml run config")
    circuit: dict[str, Any] | str | None = None
    qasm: str | None = None
    hamiltonian: dict[str, Any] | str | None = None
    observables: list[dict[str, Any] | str] | None = None
    data_x: Any = Field(None, description="training inputs (N, n_inputs)")
    data_y: Any = Field(None, description="targets (N,) or (N, n_observables)")
    epochs: int = Field(1, ge=1, le=10_000)
    batch_size: int = Field(32, ge=1, le=2**31)
    shuffle: bool = Field(True, description="train: reshuffle the rows every epoch")
    initial_weights: dict[str, Any] = Field(default_factory=dict)
    seed: Seed = 0
    optimizer: Literal["adam", "sgd", "l-bfgs-b", "cobyla"] = "adam"
    learning_rate: float = Field(0.1, gt=0)
    max_iterations: int = Field(100, ge=1, le=100_000)
    tolerance: float = Field(0.0, ge=0)
    diff_method: Literal["adjoint", "backprop", "parameter-shift"] = "adjoint"
    dtype: Literal["complex64", "complex128"] = "complex128"
    layers: int = Field(1, ge=1, le=50, description="QAOA depth p")
    shots: int = Field(1024, ge=1, le=2**53, description="QAOA samples for the best bitstring")
    backend: str = "statevector"
    options: dict[str, Any] = Field(default_factory=dict)
    idempotency_key: str | None = Field(None, max_length=200)
    timeout_s: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _check(self) -> ProgramRequest:
        if self.program == "run":
            if self.config is None or self.circuit is not None or self.qasm is not None:
                raise ValueError(
                    "a run program needs 'config' (an hqml run config as TOML text"
                    " or a dict) and no circuit"
                )
            return self
        if self.config is not None:
            raise ValueError(f"'config' belongs to program 'run', not {self.program!r}")
        if self.program != "qaoa" and (self.circuit is None) == (self.qasm is None):
            raise ValueError(
                f"a {self.program} program needs exactly one of 'circuit' (hqml JSON) or 'qasm'"
            )
        if self.program == "train" and (
            self.data_x is None or self.data_y is None or not self.observables
        ):
            raise ValueError("a train program needs 'data_x', 'data_y' and 'observables'")
        if self.program == "qaoa" and (self.circuit is not None or self.qasm is not None):
            raise ValueError("a QAOA program builds its own circuit; give only 'hamiltonian'")
        return self


class SessionRequest(_Request):
    backend: str = "statevector"
    options: dict[str, Any] = Field(default_factory=dict)


class JobInfo(BaseModel):
    """Status of a job (no payload, no result)."""

    id: str
    kind: str
    status: Status
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    attempts: int
    error: str | None = None
    progress: dict[str, Any] | None = None
    session_id: str | None = None
    idempotency_key: str | None = None


class JobResult(BaseModel):
    """Outcome of a job: ``result`` when done, ``error`` when failed or cancelled."""

    id: str
    status: Status
    result: dict[str, Any] | None = None
    error: str | None = None
    started_at: float | None = None  # the server's clock: its time on the job is the difference
    finished_at: float | None = None


class JobList(BaseModel):
    jobs: list[JobInfo]


class SessionInfo(BaseModel):
    id: str
    backend: str
    options: dict[str, Any]
    created_at: float
    closed: bool


class ErrorResponse(BaseModel):
    detail: str


class TokenRequest(_Request):
    """Issue a token (admin)."""

    owner: str = Field(min_length=1, max_length=200)
    max_queued: int | None = Field(None, ge=1, le=2**31 - 1)
    max_shots: int | None = Field(None, ge=1, le=2**53)
    expires_in_s: float | None = Field(
        None, gt=0, le=100 * 365 * 86400, description="seconds until it expires (None: never)"
    )
    admin: bool = Field(False, description="may manage tokens and see the server's status")


class TokenUpdate(_Request):
    """Revoke a token or change its expiry (admin)."""

    revoked: bool | None = None
    expires_in_s: float | None = Field(
        None, ge=0, le=100 * 365 * 86400, description="seconds from now (0: expire it now)"
    )


class TokenOut(BaseModel):
    """A token's record (the token itself is shown once, when issued)."""

    id: str
    owner: str
    max_queued: int | None
    max_shots: int | None
    created_at: float
    expires_at: float | None
    revoked: bool
    admin: bool


class IssuedToken(TokenOut):
    token: str


class TokenList(BaseModel):
    tokens: list[TokenOut]
