"""The app's own ASGI middleware: :class:`CorrelationMiddleware`.

Plain ASGI (no ``BaseHTTPMiddleware``): a request costs one call and a wrapped ``send``,
with no extra task, memory stream or event per request. Values for the request's
handlers go into ``scope["state"]``, which is what ``request.state`` reads and writes.

An exception a handler does not turn into a response passes through untouched:
``ServerErrorMiddleware`` (outside every middleware of the app) answers the 500, whose
problem body and ``X-Correlation-ID`` come from :func:`gateway.api.problems.problem_response`
(the correlation id is already in the request's state); such a request is not counted.
"""

from __future__ import annotations

import uuid

from prometheus_client import Counter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.api.deps import valid_correlation_id

__all__ = ["CorrelationMiddleware"]

_HEADER = b"x-correlation-id"


class CorrelationMiddleware:
    """Every HTTP request gets a correlation id: the caller's ``X-Correlation-ID`` when
    valid, else a new UUID, in ``request.state.correlation_id``. The response carries it
    in ``X-Correlation-ID`` (unless the handler set that header itself), and is counted
    in ``requests`` by tenant (``request.state.tenant``, set by the tenant dependency;
    ``-`` without one), route path (``unmatched`` without a route) and status."""

    def __init__(self, app: ASGIApp, requests: Counter) -> None:
        self.app = app
        self.requests = requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given: str | None = None
        for name, value in scope["headers"]:
            if name == _HEADER:
                given = value.decode("latin-1")
                break
        correlation_id = given if valid_correlation_id(given) else str(uuid.uuid4())
        state = scope.setdefault("state", {})
        state["correlation_id"] = correlation_id
        started = False

        async def send_with_correlation(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", ()))
                if not any(name == _HEADER for name, _ in headers):
                    headers.append((_HEADER, correlation_id.encode("latin-1")))
                message["headers"] = headers
                route = scope.get("route")
                self.requests.labels(
                    state.get("tenant", "-"),
                    getattr(route, "path", "unmatched"),
                    str(message["status"]),
                ).inc()
            await send(message)

        await self.app(scope, receive, send_with_correlation)
        if not started:  # as BaseHTTPMiddleware did: ServerErrorMiddleware answers 500
            raise RuntimeError("No response returned.")
