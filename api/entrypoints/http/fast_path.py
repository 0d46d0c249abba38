"""The decision routes' fast path: the usual request skips FastAPI's parameter solving, nothing else.

Order systems call the decision routes thousands of times a minute, and FastAPI solving a route's
parameters (the security schemes, the body validated against ``dict[str, Any]``, the query) costs
~0.3 ms a request, as much as the decision itself. :class:`FastPathRoute` handles the usual
request — a JSON object body, and no query but ``explain=true|false`` — by doing what FastAPI
would do with the same functions: :func:`~api.entrypoints.http.deps.authorize` with the
permission of the route's own ``require(...)`` dependency, ``json.loads`` of the body, and then
the route's own endpoint, called with those values. Any other request (another content type, a
body that is not a JSON object, an unusual query) goes through the handler FastAPI builds from
the endpoint's signature, so its problems read exactly as before; the signature also documents the
route (OpenAPI) and names its permission.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.responses import Response
from fastapi.routing import APIRoute

from api.entrypoints.http.deps import Require, authorize

__all__ = ["FastPathRoute"]

# The query strings and content types the fast path takes; anything else goes through FastAPI.
_EXPLAIN_QUERIES = {b"": False, b"explain=false": False, b"explain=true": True}
_JSON_TYPES = frozenset({"application/json", "application/json; charset=utf-8"})
_PARAMETERS = ("caller", "request", "body", "explain")


def _permission_of(dependant: Dependant) -> str:
    """The permission of the route's ``caller`` parameter (its ``Depends(require(...))``)."""
    for dependency in dependant.dependencies:
        if dependency.name == "caller" and isinstance(dependency.call, Require):
            return dependency.call.permission
    raise ValueError("a fast-path route authenticates with `caller: Annotated[Caller, Depends(require(...))]`")


class FastPathRoute(APIRoute):
    """A route whose usual request is authorized, parsed and answered without FastAPI's parameter machinery.

    The endpoint must take exactly ``caller``, ``request``, ``body`` (a JSON object) and ``explain``.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        general = super().get_route_handler()
        if tuple(inspect.signature(self.endpoint).parameters) != _PARAMETERS:
            raise ValueError(f"{self.path}: a fast-path endpoint takes {', '.join(_PARAMETERS)}")
        permission = _permission_of(self.dependant)
        endpoint = self.endpoint

        async def handle(request: Request) -> Response:
            explain = _EXPLAIN_QUERIES.get(request.scope["query_string"])
            if explain is None or request.headers.get("content-type", "").lower() not in _JSON_TYPES:
                return await general(request)
            caller = await authorize(request, permission)
            try:
                body = json.loads(await request.body())
            except (ValueError, RecursionError):
                body = None
            if type(body) is not dict:
                return await general(request)  # FastAPI words the problem (the body is cached on the request)
            response: Response = await endpoint(caller=caller, request=request, body=body, explain=explain)
            return response

        return handle
