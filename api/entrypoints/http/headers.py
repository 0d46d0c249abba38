"""Headers every response carries, problems and the server's own 500 included.

* ``X-Content-Type-Options: nosniff``: a browser never reads a JSON or problem body (which echoes
  what the caller sent) as HTML or script.
* ``Cache-Control: no-store``, unless the route set its own: nothing this service answers may be
  kept by a browser or a proxy. Decisions, the log, cases and grades are per caller and change;
  the webhook registration carries its signing secret, shown once; health and metrics must be
  fresh. One rule for every response is simpler to trust than a list of the cacheable ones, and
  the only candidates (``/docs``, ``/openapi.json``) are a few kilobytes fetched by hand.

:class:`SecurityHeaders` wraps the whole application (:meth:`CreditPolicyApp.build_middleware_stack
<api.entrypoints.http.app.CreditPolicyApp.build_middleware_stack>`), outside Starlette's error
middleware, so no response leaves without them.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SecurityHeaders"]

_NOSNIFF = (b"x-content-type-options", b"nosniff")
_NO_STORE = (b"cache-control", b"no-store")


class SecurityHeaders:
    """Add ``X-Content-Type-Options: nosniff`` and (unless set) ``Cache-Control: no-store`` to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                added = [_NOSNIFF]
                if not any(name.lower() == b"cache-control" for name, _ in headers):
                    added.append(_NO_STORE)
                message = {**message, "headers": [*headers, *added]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
