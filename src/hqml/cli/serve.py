"""``hqml serve``: run the job service (or issue an API token with ``--issue-token OWNER``)."""

from __future__ import annotations

import typer


def serve(host: str = typer.Option("127.0.0.1", help="interface to listen on"),
          port: int = typer.Option(8000, help="TCP port"),
          db: str = typer.Option("sqlite:///hqml-jobs.db", envvar="HQML_SERVICE_DATABASE_URL",
                                 help="SQLAlchemy URL: a SQLite file or postgresql+psycopg://..."),
          workers: int = typer.Option(2, help="jobs run at the same time"),
          job_timeout: float = typer.Option(600.0, help="per-job time limit in seconds"),
          max_request_bytes: int = typer.Option(2_000_000, help="largest request body"),
          max_qubits: int = typer.Option(24, help="largest circuit accepted"),
          issue_token: str = typer.Option(None, metavar="OWNER",
                                          help="print a new API token for OWNER and exit"),
          max_queued: int = typer.Option(None, help="with --issue-token: unfinished-job limit"),
          max_shots: int = typer.Option(None, help="with --issue-token: shots-per-job limit"),
          executor: str = typer.Option("local", envvar="HQML_SERVICE_EXECUTOR",
                                       help="where jobs run: local (threads) or ray"),
          ray_address: str = typer.Option(None, envvar="HQML_SERVICE_RAY_ADDRESS",
                                          help="with --executor ray: a Ray cluster address"
                                          " (default: start Ray on this machine)"),
          ray_workers: int = typer.Option(2, help="with --executor ray: Ray actors (jobs at"
                                          " the same time)"),
          output_dir: str = typer.Option("hqml-service-runs",
                                         help="where run programs write their files"),
          log_level: str = typer.Option("info", help="uvicorn log level")) -> None:
    """Serve quantum jobs, sessions and programs over HTTP (OpenAPI at /openapi.json)."""
    try:
        from hqml.runtime.settings import ServiceSettings
        from hqml.runtime.store import SqlJobStore, make_engine, migrate
    except ModuleNotFoundError as e:
        raise typer.BadParameter(f"the job service needs {e.name};"
                                 " pip install 'hqml[runtime]'") from None
    if issue_token:
        engine = make_engine(db)
        migrate(engine)
        token = SqlJobStore(engine).create_token(issue_token, max_queued, max_shots)
        engine.dispose()
        typer.echo(token)
        typer.echo(f"token for {issue_token!r} stored (hashed) in {db}; it is shown only once."
                   " Use it as HQML_TOKEN.", err=True)
        return
    import uvicorn

    from hqml.runtime.app import create_app

    try:
        settings = ServiceSettings.from_env(
            database_url=db, workers=workers, job_timeout_s=job_timeout,
            max_request_bytes=max_request_bytes, max_qubits=max_qubits, executor=executor,
            ray_address=ray_address, ray_workers=ray_workers, output_dir=output_dir)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None
    if executor == "ray":
        try:
            import ray  # noqa: F401
        except ModuleNotFoundError:
            raise typer.BadParameter("--executor ray needs ray; pip install 'hqml[runtime]'"
                                     ) from None
    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
