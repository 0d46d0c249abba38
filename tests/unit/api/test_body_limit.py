"""The body limit: declared lengths are refused before the body is read, chunked bodies as they pass it."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, Request

from api.entrypoints.http.problems import BodyLimit, install_problem_handlers

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

LIMIT = 10


def app() -> FastAPI:
    application = FastAPI()
    install_problem_handlers(application)
    application.add_middleware(BodyLimit, limit=LIMIT)

    @application.post("/echo")
    async def echo(request: Request) -> dict[str, Any]:
        return {"received": len(await request.body())}

    return application


def chunks(*parts: bytes) -> Iterator[bytes]:
    yield from parts  # sent chunked: no Content-Length


def test_a_declared_length_within_the_limit_passes() -> None:
    with TestClient(app()) as client:
        assert client.post("/echo", content=b"x" * LIMIT).json() == {"received": LIMIT}


def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    with TestClient(app()) as client:
        response = client.post("/echo", content=b"x" * (LIMIT + 1))
    assert (response.status_code, response.json()["code"]) == (413, "body_too_large")
    assert response.headers["content-type"] == "application/problem+json"


def test_a_chunked_body_is_counted_and_refused_once_over_the_limit() -> None:
    with TestClient(app()) as client:
        assert client.post("/echo", content=chunks(b"x" * 4, b"y" * 6)).json() == {"received": LIMIT}
        response = client.post("/echo", content=chunks(b"x" * 6, b"y" * 6))
    assert response.status_code == 413 and response.json()["code"] == "body_too_large"
