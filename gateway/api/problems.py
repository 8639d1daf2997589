"""RFC 9457 problem details: every error response of the HTTP API.

``type`` is a relative URI ``/problems/<slug>`` documented in the README; each
response also carries the request's correlation id.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

__all__ = ["PROBLEM_TYPES", "ProblemError", "install_handlers", "problem_response"]

PROBLEM_JSON = "application/problem+json"

#: slug -> title. The closed list of problem types the API answers with.
PROBLEM_TYPES: dict[str, str] = {
    "bad-request": "The request is malformed",
    "idempotency-key-required": "An Idempotency-Key header is required",
    "unauthorized": "Missing or invalid credentials",
    "message-not-allowed": "This message type is not allowed for the tenant",
    "not-found": "No such resource",
    "request-in-progress": "A request with this Idempotency-Key is in progress",
    "payload-too-large": "The request body exceeds the limit",
    "unsupported-media-type": "Unsupported content type",
    "idempotency-key-reused": "The Idempotency-Key was used with another payload",
    "rate-limited": "Too many requests",
    "unavailable": "The gateway cannot accept messages right now",
    "status-message-unavailable": "No ISO 20022 status report can name this message",
    "internal": "Internal error",
}


class ProblemError(Exception):
    def __init__(
        self, status: int, slug: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.detail = detail
        self.headers = headers or {}


def problem_response(
    request: Request,
    status: int,
    slug: str,
    detail: str,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    correlation_id = getattr(request.state, "correlation_id", None)
    body: dict[str, Any] = {
        "type": f"/problems/{slug}",
        "title": PROBLEM_TYPES[slug],
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "correlation_id": correlation_id,
        **(extra or {}),
    }
    all_headers = dict(headers or {})
    if correlation_id:
        all_headers["X-Correlation-ID"] = correlation_id
    return Response(orjson.dumps(body), status, all_headers, media_type=PROBLEM_JSON)


_SLUG_BY_STATUS = {
    400: "bad-request",
    401: "unauthorized",
    404: "not-found",
    405: "bad-request",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "bad-request",
    429: "rate-limited",
    503: "unavailable",
}


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return problem_response(request, exc.status, exc.slug, exc.detail, exc.headers)


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    slug = _SLUG_BY_STATUS.get(exc.status_code, "bad-request")
    return problem_response(request, exc.status_code, slug, str(exc.detail))


async def _validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
    return problem_response(
        request, 400, "bad-request", "Invalid request parameters.", extra={"errors": errors}
    )


async def _internal(request: Request, exc: Exception) -> Response:
    return problem_response(request, 500, "internal", "An internal error occurred.")


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _problem)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(Exception, _internal)
