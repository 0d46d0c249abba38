"""Where requests come in: the HTTP API (FastAPI) and the command line (Typer)."""
