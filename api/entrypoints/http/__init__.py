"""The HTTP API: the FastAPI app (app.py), its dependencies (deps.py), problems, metrics and routes."""
