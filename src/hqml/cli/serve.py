"""``hqml serve``: run the job service, or manage its API tokens (``--issue-token OWNER``,
``--list-tokens``, ``--revoke-token ID``, ``--expire-token ID --expires-in S``)."""

from __future__ import annotations

import datetime
import socket
import time

import typer

from hqml.runtime.settings import ServiceSettings


def _when(t: float | None) -> str:
    if t is None:
        return "never"
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def _tokens(
    store,
    issue: str | None,
    max_queued: int | None,
    max_shots: int | None,
    expires_in: float | None,
    admin: bool,
    list_all: bool,
    revoke: str | None,
    expire: str | None,
    db: str,
) -> None:
    """The token commands of ``hqml serve`` (one of them per call)."""
    if issue:
        expires = time.time() + expires_in if expires_in is not None else None
        token = store.create_token(issue, max_queued, max_shots, expires_at=expires, admin=admin)
        typer.echo(token)
        typer.echo(
            f"token for {issue!r} stored (hashed) in {db}; it is shown only once"
            f" (expires: {_when(expires)}). Use it as HQML_TOKEN.",
            err=True,
        )
    elif list_all:
        for t in store.list_tokens():
            state = (
                "revoked"
                if t.revoked
                else (
                    "expired"
                    if t.expires_at is not None and t.expires_at <= time.time()
                    else "active"
                )
            )
            typer.echo(
                f"{t.id}  {t.owner}  {state}  expires {_when(t.expires_at)}"
                f"  max_queued={t.max_queued} max_shots={t.max_shots}"
                + ("  admin" if t.admin else "")
            )
    else:
        token_id = revoke or expire
        if expire is not None and expires_in is None:
            raise typer.BadParameter("--expire-token needs --expires-in SECONDS (0: now)")
        info = store.update_token(
            token_id,
            revoked=True if revoke else None,
            expires_at=time.time() + expires_in if expire else None,
        )
        if info is None:
            raise typer.BadParameter(
                f"no token with id (or unique id prefix) {token_id!r}; see --list-tokens"
            )
        what = "revoked" if revoke else f"expires {_when(info.expires_at)}"
        typer.echo(f"{info.id} ({info.owner}): {what}")


def serve(
    host: str = typer.Option("127.0.0.1", help="interface to listen on"),
    port: int = typer.Option(8000, min=0, max=65535, help="TCP port (0: any free one)"),
    db: str = typer.Option(
        "sqlite:///hqml-jobs.db",
        envvar="HQML_SERVICE_DATABASE_URL",
        help="SQLAlchemy URL: a SQLite file or postgresql+psycopg://...",
    ),
    workers: int = typer.Option(2, help="jobs run at the same time"),
    job_timeout: float = typer.Option(600.0, help="per-job time limit in seconds"),
    max_request_bytes: int = typer.Option(2_000_000, help="largest request body"),
    max_qubits: int = typer.Option(24, help="largest circuit accepted"),
    issue_token: str = typer.Option(
        None, metavar="OWNER", help="print a new API token for OWNER and exit"
    ),
    max_queued: int = typer.Option(None, help="with --issue-token: unfinished-job limit"),
    max_shots: int = typer.Option(None, help="with --issue-token: shots-per-job limit"),
    expires_in: float = typer.Option(
        None,
        min=0,
        metavar="SECONDS",
        help="with --issue-token or --expire-token: the token expires this many seconds from now",
    ),
    admin: bool = typer.Option(
        False,
        "--admin",
        help="with --issue-token: the token may manage tokens (/v1/admin) and see /v1/status",
    ),
    list_tokens: bool = typer.Option(False, "--list-tokens", help="list tokens and exit"),
    revoke_token: str = typer.Option(
        None,
        metavar="ID",
        help="revoke a token (its id or a unique prefix, from --list-tokens) and exit",
    ),
    expire_token: str = typer.Option(
        None, metavar="ID", help="set a token's expiry (--expires-in) and exit"
    ),
    executor: str = typer.Option(
        "local", envvar="HQML_SERVICE_EXECUTOR", help="where jobs run: local (threads) or ray"
    ),
    ray_address: str = typer.Option(
        None,
        envvar="HQML_SERVICE_RAY_ADDRESS",
        help="with --executor ray: a Ray cluster address (default: start Ray on this machine)",
    ),
    ray_workers: int = typer.Option(
        2, help="with --executor ray: Ray actors (jobs at the same time)"
    ),
    output_dir: str = typer.Option(
        "hqml-service-runs", help="where run programs write their files"
    ),
    log_level: str = typer.Option("info", help="uvicorn log level"),
) -> None:
    """Serve quantum jobs, sessions and programs over HTTP (OpenAPI at /openapi.json)."""
    try:
        from hqml.runtime.store import SqlJobStore, make_engine, migrate
    except ModuleNotFoundError as e:
        raise typer.BadParameter(
            f"the job service needs {e.name}; pip install 'hqml[runtime]'"
        ) from None
    if sum(bool(x) for x in (issue_token, list_tokens, revoke_token, expire_token)) > 1:
        raise typer.BadParameter(
            "give one of --issue-token, --list-tokens, --revoke-token, --expire-token"
        )
    if issue_token or list_tokens or revoke_token or expire_token:
        engine = make_engine(db)
        try:
            migrate(engine)
            _tokens(
                SqlJobStore(engine),
                issue_token,
                max_queued,
                max_shots,
                expires_in,
                admin,
                list_tokens,
                revoke_token,
                expire_token,
                db,
            )
        finally:
            engine.dispose()
        return
    _run_server(
        host,
        port,
        db,
        log_level,
        database_url=db,
        workers=workers,
        job_timeout_s=job_timeout,
        max_request_bytes=max_request_bytes,
        max_qubits=max_qubits,
        executor=executor,
        ray_address=ray_address,
        ray_workers=ray_workers,
        output_dir=output_dir,
    )


def _run_server(host: str, port: int, db: str, log_level: str, **settings_args: object) -> None:
    """Check the settings, bind the socket, check the database's lease, then serve."""
    import uvicorn

    from hqml.runtime.app import create_app
    from hqml.runtime.lease import Lease, LeaseHeld
    from hqml.runtime.store import make_engine, migrate

    try:
        settings = ServiceSettings.from_env(**settings_args)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None
    if settings.executor == "ray":
        try:
            import ray  # noqa: F401
        except ModuleNotFoundError:
            raise typer.BadParameter(
                "--executor ray needs ray; pip install 'hqml[runtime]'"
            ) from None
    sock = _listen(host, port)  # before the database: a bad address leaves no file behind
    engine = make_engine(db)
    try:  # a one-line refusal here; the server checks again when it starts
        migrate(engine)
        Lease(engine, settings.lease_ttl_s).check()
    except LeaseHeld as e:
        sock.close()
        raise typer.BadParameter(str(e)) from None
    finally:
        engine.dispose()
    with sock:  # uvicorn serves the socket bound here (no second bind that could fail or race)
        uvicorn.run(create_app(settings), fd=sock.fileno(), log_level=log_level)


def _listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port``, or a one-line error naming why not."""
    try:
        family, kind, proto, _, addr = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except (OSError, UnicodeError) as e:
        raise typer.BadParameter(f"cannot listen on {host}:{port}: {e}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
        sock.listen(2048)
    except OSError as e:
        sock.close()
        raise typer.BadParameter(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    return sock


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
