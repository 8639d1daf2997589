"""RFC 9457 problem details: every error response of the HTTP API.

``type`` is a relative URI ``/problems/<slug>`` documented in the README; each
response also carries the request's correlation id.

:func:`install_handlers` also writes these answers into the app's OpenAPI document
(:func:`document_problems`): the ``Problem`` schema, the bearer API key, and on every
operation the problems it can answer (400, 401, 404, any other as ``default``), in
place of FastAPI's generated 422 "Validation Error", which this API never sends
(invalid parameters are a 400 problem).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

__all__ = [
    "PROBLEM_TYPES",
    "ProblemError",
    "document_problems",
    "install_handlers",
    "problem_content",
    "problem_response",
]

PROBLEM_JSON = "application/problem+json"

#: slug -> title. The closed list of problem types the API answers with.
PROBLEM_TYPES: dict[str, str] = {
    "bad-request": "The request is malformed",
    "idempotency-key-required": "An Idempotency-Key header is required",
    "unauthorized": "Missing or invalid credentials",
    "message-not-allowed": "This message type is not allowed for the tenant",
    "not-found": "No such resource",
    "request-in-progress": "A request with this Idempotency-Key is in progress",
    "request-timeout": "The request body was not received in time",
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
    408: "request-timeout",
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
    # e.g. Allow on a 405 (RFC 9110 section 15.5.6)
    headers = dict(exc.headers or {})
    return problem_response(request, exc.status_code, slug, str(exc.detail), headers)


#: Parameters whose invalid value has a problem type of its own (declared by the routes,
#: validated by FastAPI).
_PARAMETER_PROBLEMS = {
    ("header", "Idempotency-Key"): (
        "idempotency-key-required",
        "Send an Idempotency-Key header (1-255 characters: letters, digits, -_.:~).",
    ),
    ("path", "uetr"): ("bad-request", "A UETR is a lower-case UUID v4."),
}


async def _validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
    named = {_PARAMETER_PROBLEMS.get(tuple(e["loc"][:2])) for e in errors}
    only = named.pop() if len(named) == 1 else None
    if only is not None:
        slug, detail = only
        return problem_response(request, 400, slug, detail)
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
    app.openapi = _documented(app.openapi)  # type: ignore[method-assign]


def _documented(generate: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    def openapi() -> dict[str, Any]:
        schema = generate()  # cached by FastAPI; documenting it again changes nothing
        document_problems(schema)
        return schema

    return openapi


_PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; `type` is `/problems/<slug>` (see the README).",
    "type": "object",
    "required": ["type", "title", "status", "detail", "instance"],
    "properties": {
        "type": {"type": "string", "enum": [f"/problems/{slug}" for slug in PROBLEM_TYPES]},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "correlation_id": {"type": ["string", "null"]},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}
_VALIDATION_REF = "#/components/schemas/HTTPValidationError"


def problem_content() -> dict[str, Any]:
    return {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def document_problems(schema: dict[str, Any]) -> None:
    """Add the problem answers to every operation of an OpenAPI document (in place;
    idempotent)."""
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {})["Problem"] = _PROBLEM_SCHEMA
    components.setdefault("securitySchemes", {})["apiKey"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key: it alone selects the tenant.",
    }
    for path, item in schema.get("paths", {}).items():
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            generated = responses.get("422", {}).get("content", {}).get("application/json", {})
            if generated.get("schema", {}).get("$ref") == _VALIDATION_REF:
                del responses["422"]  # never sent: invalid parameters are a 400 problem
            if operation.get("parameters") or "requestBody" in operation:
                responses.setdefault(
                    "400", {"description": "Invalid parameters.", "content": problem_content()}
                )
            if path.startswith("/v1/"):
                operation["security"] = [{"apiKey": []}]
                responses.setdefault(
                    "401",
                    {"description": "Missing or invalid API key.", "content": problem_content()},
                )
            if "{" in path:
                responses.setdefault(
                    "404",
                    {
                        "description": "No such resource for the caller's tenant (another "
                        "tenant's id answers the same).",
                        "content": problem_content(),
                    },
                )
            responses.setdefault(
                "default", {"description": "Any other refusal.", "content": problem_content()}
            )
    if not any(
        _VALIDATION_REF in str(operation.get("responses", {}))
        for item in schema.get("paths", {}).values()
        for operation in item.values()
    ):
        components["schemas"].pop("HTTPValidationError", None)
        components["schemas"].pop("ValidationError", None)
