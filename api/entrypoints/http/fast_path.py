"""Route classes: the key is checked before any body is read, and the decision routes' usual request takes a fast path.

FastAPI reads and parses a route's body before it solves the route's dependencies, so a stranger
without a key could make the service parse 16 MB of JSON before being told 401. :class:`AuthorizedRoute`
runs :func:`~api.entrypoints.http.deps.authorize` with the permission of the route's own
``require(...)`` dependency first (the key look-up is cached, so the dependency's second check
costs nothing), then hands the request to FastAPI.

Order systems call the decision routes thousands of times a minute, and FastAPI solving a
route's parameters (the security schemes, the query) costs ~0.1 ms a request. :class:`FastPathRoute`
handles the usual request — a JSON body and no query but ``explain=true|false`` — by doing what
FastAPI would do with the same functions: :func:`~api.entrypoints.http.deps.authorize`, then the
route's own endpoint, called with the caller, the request and ``explain``; the endpoint reads its
body itself (:func:`~api.entrypoints.http.deps.json_body`). Any other request goes through the
handler FastAPI builds from the endpoint's signature, so its problems read exactly as before; the
signature also documents the route (OpenAPI) and names its permission.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.responses import Response
from fastapi.routing import APIRoute

from api.entrypoints.http.deps import Require, authorize

__all__ = ["AuthorizedRoute", "FastPathRoute"]

# The query strings and content types the fast path takes; anything else goes through FastAPI.
_EXPLAIN_QUERIES = {b"": False, b"explain=false": False, b"explain=true": True}
_JSON_TYPES = frozenset({"application/json", "application/json; charset=utf-8"})
_FAST_PARAMETERS = ("caller", "request", "explain")
Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def permission_of(dependant: Dependant) -> str | None:
    """The permission of the route's ``caller`` parameter (its ``Depends(require(...))``), if it has one."""
    for dependency in dependant.dependencies:
        if dependency.name == "caller" and isinstance(dependency.call, Require):
            return dependency.call.permission
    return None


class AuthorizedRoute(APIRoute):
    """A route whose caller is authorized before FastAPI reads the body."""

    def get_route_handler(self) -> Handler:
        general = super().get_route_handler()
        permission = permission_of(self.dependant)
        if permission is None or self.dependant.body_params == []:
            return general  # nothing is read before the dependencies: FastAPI's order is right

        async def handle(request: Request) -> Response:
            await authorize(request, permission)
            return await general(request)

        return handle


class FastPathRoute(APIRoute):
    """A route whose usual request is authorized and answered without FastAPI's parameter machinery.

    The endpoint must take exactly ``caller``, ``request`` and ``explain``, and read its body itself.
    """

    def get_route_handler(self) -> Handler:
        general = super().get_route_handler()
        if tuple(inspect.signature(self.endpoint).parameters) != _FAST_PARAMETERS:
            raise ValueError(f"{self.path}: a fast-path endpoint takes {', '.join(_FAST_PARAMETERS)}")
        permission = permission_of(self.dependant)
        if permission is None:
            raise ValueError(f"{self.path}: a fast-path route authenticates its caller with require(...)")
        endpoint = self.endpoint

        async def handle(request: Request) -> Response:
            explain = _EXPLAIN_QUERIES.get(request.scope["query_string"])
            if explain is None or request.headers.get("content-type", "").lower() not in _JSON_TYPES:
                return await general(request)
            caller = await authorize(request, permission)
            response: Response = await endpoint(caller=caller, request=request, explain=explain)
            return response

        return handle
