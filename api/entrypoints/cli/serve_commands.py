"""CLI: `creditpolicy serve` — the HTTP API under uvicorn."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import typer

from api.settings import get_settings

__all__ = ["metrics_directory", "register"]

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's own variable, read by api.settings


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
    with metrics_directory():
        uvicorn.run(
            "api.entrypoints.http.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
        )


@contextlib.contextmanager
def metrics_directory() -> Iterator[Path]:
    """A fresh ``PROMETHEUS_MULTIPROC_DIR`` for the workers about to start, removed when they stop.

    Each worker writes its metrics there and ``/metrics`` adds them up (prometheus_client's
    multiprocess mode). Fresh at every start, as prometheus_client requires: files left by an
    earlier run would be counted again. The workers are new interpreters (uvicorn spawns them)
    and read it from their environment, before prometheus_client is imported.
    """
    before = os.environ.get(MULTIPROC_DIR)
    with tempfile.TemporaryDirectory(prefix="creditpolicy-metrics-") as directory:
        os.environ[MULTIPROC_DIR] = directory
        try:
            yield Path(directory)
        finally:
            if before is None:
                del os.environ[MULTIPROC_DIR]
            else:
                os.environ[MULTIPROC_DIR] = before


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
