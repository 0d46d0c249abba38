"""CLI: `creditpolicy serve` — the HTTP API under uvicorn."""

from __future__ import annotations

import typer

from api.settings import get_settings

__all__ = ["register"]


def serve_command(
    host: str | None = typer.Option(None, "--host", help="Address to listen on (default CREDITPOLICY_HOST)."),
    port: int | None = typer.Option(None, "--port", min=1, max=65535, help="Port (default CREDITPOLICY_PORT)."),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="Worker processes; decisions scale with them."),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn log level."),
) -> None:
    """Serve the API: migrate the database and, on first start, activate the shipped policy and print keys."""
    import uvicorn  # only this command needs the server

    from api.bootstrap import bootstrap_database
    from api.entrypoints.http.app import create_app

    settings = get_settings()
    settings = settings.model_copy(update={"host": host or settings.host, "port": port or settings.port})
    host, port = settings.host, settings.port  # the start-up banner shows where it really listens
    if workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level)
        return
    # Once here, so the workers' own start-up finds everything done instead of racing to do it.
    bootstrap_database(settings)
    uvicorn.run(
        "api.entrypoints.http.app:create_app", factory=True, host=host, port=port, workers=workers, log_level=log_level
    )


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
