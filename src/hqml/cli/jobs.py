"""``hqml jobs submit|status|result|cancel|list``: the job service from the command line.

The service URL comes from ``--url`` or ``HQML_URL``, the token from ``--token`` or ``HQML_TOKEN``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from hqml.circuit.observables import PauliSum
from hqml.runtime.client import JobClient, JobFailed, JobServiceError, ServiceUnavailable
from hqml.runtime.wire import TENSOR_FORMAT, tensor_from_json

jobs_app = typer.Typer(help="Submit and follow jobs on an hqml job service.", no_args_is_help=True)
URL = typer.Option("http://127.0.0.1:8000", "--url", envvar="HQML_URL", help="service URL")
TOKEN = typer.Option(None, "--token", envvar="HQML_TOKEN", help="API token")


def _client(url: str, token: str | None) -> Any:

    try:
        return JobClient(url, token)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None


def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:

    try:
        return fn(*args, **kwargs)
    except (JobServiceError, ServiceUnavailable, JobFailed, TimeoutError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None


_HEX = frozenset("0123456789abcdef")
ID_LENGTH = 32  # job ids are uuid4 hex


def _resolve(client: Any, job_id: str) -> str:
    """A unique prefix of one of your job ids (as a narrow ``hqml jobs list`` may show) becomes
    the whole id; anything else is passed on as given (the service answers 404 for no job)."""
    job_id = job_id.strip().lower()
    if not job_id or len(job_id) >= ID_LENGTH or not set(job_id) <= _HEX:
        return job_id
    matches = [j["id"] for j in _call(client.list, None, 1000) if j["id"].startswith(job_id)]
    if len(matches) > 1:
        raise typer.BadParameter(
            f"{job_id!r} is the start of {len(matches)} job ids"
            f" ({', '.join(m[:12] + '...' for m in matches[:3])});"
            " give more characters",
            param_hint="JOB_ID",
        )
    return matches[0] if matches else job_id


def _readable(obj: Any) -> Any:
    """Tensor documents as nested lists, for people."""

    if isinstance(obj, dict):
        if obj.get("format") == TENSOR_FORMAT:
            t = tensor_from_json(obj)
            return torch_to_list(t)
        return {k: _readable(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_readable(v) for v in obj]
    return obj


def torch_to_list(t: Any) -> Any:
    """Complex entries become ``[re, im]`` pairs."""
    import torch

    return torch.view_as_real(t).tolist() if t.is_complex() else t.tolist()


def _payload(
    path: Path, observables: list[str], measurement: str, shots: int | None, backend: str
) -> dict[str, Any]:

    text = path.read_text()
    if path.suffix.lower() == ".qasm":
        body: dict[str, Any] = {"qasm": text}
    else:
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as e:
            raise typer.BadParameter(f"{path} is not JSON: {e}") from None
        if doc.get("format") != "hqml.circuit/1":
            return doc  # a complete job payload
        body = {"circuit": doc}
    obs = []
    for spec in observables:
        coeff, _, word = spec.rpartition("*")
        try:
            obs.append(PauliSum.from_list([(word, float(coeff) if coeff else 1.0)]).to_json())
        except ValueError as e:
            raise typer.BadParameter(
                f"{spec!r}: {e} (e.g. ZZI or 0.5*XIX)", param_hint="--observable"
            ) from None
    body.update(measurement=measurement, backend=backend)
    if obs:
        body["observables"] = obs
    if shots:
        body["shots"] = shots
    return body


def _follow_run(client: Any, job_id: str) -> None:
    """Print a run program's epochs as they finish, then its summary."""
    import time

    shown: tuple = ()
    while True:
        info = _call(client.status, job_id, wait=1.0)
        p = info.get("progress") or {}
        key = (p.get("model"), p.get("epoch"))
        if p.get("epoch") and key != shown and not p.get("done"):
            shown = key
            typer.echo(
                f"{p['model']} epoch {p['epoch']}/{p.get('epochs')}: train loss"
                f" {p.get('train_loss', float('nan')):.4f}, test accuracy"
                f" {p.get('test_acc', float('nan')):.3f}"
            )
        if info["status"] in ("done", "failed", "cancelled"):
            break
        time.sleep(0.2)
    out = _call(client.wait, job_id, timeout=30)  # a failed job: its error, exit status 1
    accs = ", ".join(f"{k} {m['test_acc']:.3f}" for k, m in out["models"].items())
    typer.echo(f"test accuracy: {accs}; files on the server: {out['run_dir']}")
    typer.echo(out["report"])


@jobs_app.command("submit")
def submit(
    path: Annotated[
        Path,
        typer.Argument(
            exists=True, help="job JSON, circuit JSON, .qasm, or an hqml run config .toml"
        ),
    ],
    observable: Annotated[
        list[str] | None,
        typer.Option("--observable", "-o", help="Pauli string, e.g. ZZI or 0.5*XIX"),
    ] = None,
    measurement: str = typer.Option("expval", help="expval, probs, sample or state"),
    shots: int = typer.Option(None, help="shots (sampling)"),
    backend: str = typer.Option("statevector", help="backend on the service"),
    program: bool = typer.Option(False, help="the file is a program request (VQE)"),
    wait: bool = typer.Option(False, help="wait for the result and print it"),
    url: str = URL,
    token: str = TOKEN,
) -> None:
    """Submit a job; prints its id (or, with --wait, its result). A .toml file is an ``hqml run``
    config: it trains on the server as a ``run`` program (--wait follows its epochs)."""
    if path.suffix.lower() == ".toml":
        with _client(url, token) as client:
            info = _call(client.submit_run, path)
            typer.echo(info["id"])
            if wait:
                _follow_run(client, info["id"])
        return
    body = _payload(path, observable or [], measurement, shots, backend)
    with _client(url, token) as client:
        info = _call(client.submit, body, program=program)
        if not wait:
            typer.echo(info["id"])
            return
        typer.echo(json.dumps(_readable(_call(client.wait, info["id"])), indent=1))


@jobs_app.command("status")
def status(
    job_id: Annotated[str, typer.Argument(help="job id or a unique start of one")],
    url: str = URL,
    token: str = TOKEN,
) -> None:
    """Status and progress of a job (JSON)."""
    with _client(url, token) as client:
        typer.echo(json.dumps(_call(client.status, _resolve(client, job_id)), indent=1))


@jobs_app.command("result")
def result(
    job_id: Annotated[str, typer.Argument(help="job id or a unique start of one")],
    wait: float = typer.Option(0.0, help="seconds to wait for it"),
    url: str = URL,
    token: str = TOKEN,
) -> None:
    """The result of a job (tensors as nested lists)."""
    with _client(url, token) as client:
        job_id = _resolve(client, job_id)
        r = _call(client.result, job_id, wait=wait)
    if r["status"] != "done":
        typer.echo(
            f"job {job_id} is {r['status']}" + (f": {r['error']}" if r.get("error") else ""),
            err=True,
        )
        raise typer.Exit(1 if r["status"] in ("failed", "cancelled") else 2)
    typer.echo(json.dumps(_readable(r["result"]), indent=1))


@jobs_app.command("cancel")
def cancel(
    job_id: Annotated[str, typer.Argument(help="job id or a unique start of one")],
    url: str = URL,
    token: str = TOKEN,
) -> None:
    """Cancel a queued or running job."""
    with _client(url, token) as client:
        typer.echo(_call(client.cancel, _resolve(client, job_id))["status"])


@jobs_app.command("list")
def list_jobs(
    status: str = typer.Option(None, help="only jobs with this status"),
    limit: int = typer.Option(50, help="at most this many"),
    url: str = URL,
    token: str = TOKEN,
) -> None:
    """Your jobs, newest first, as a table."""
    from rich.console import Console
    from rich.table import Column, Table

    with _client(url, token) as client:
        rows = _call(client.list, status, limit)
    # whole ids, never cut to a prefix by a narrow terminal (the other columns wrap instead)
    table = Table(
        Column("id", no_wrap=True, min_width=ID_LENGTH),
        "kind",
        "status",
        "attempts",
        "created",
        "error",
    )
    import datetime as dt

    for j in rows:
        created = dt.datetime.fromtimestamp(j["created_at"]).strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(
            j["id"],
            j["kind"],
            j["status"],
            str(j["attempts"]),
            created,
            (j.get("error") or "")[:60],
        )
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(jobs_app, name="jobs")
