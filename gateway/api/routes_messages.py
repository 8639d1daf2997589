"""``POST /v1/messages``: submit one ISO 20022 (XML) or SWIFT FIN (MT) message.

The content type must be one the gateway reads (``application/xml``, ``text/xml``;
FIN: ``text/plain`` or ``application/x-swift-fin``, UTF-8 or no charset), else 415;
the pipeline then sniffs the format from the payload itself. FIN bodies are capped
at ``GATEWAY_MAX_MT_BYTES`` (413) before they are read whole.

The body is read as sent: a ``Content-Encoding`` other than ``identity`` (gzip, deflate,
br: a compressed body could inflate far past every size limit) is refused with 415
before a byte of it is read. The whole body must arrive within
``GATEWAY_BODY_TIMEOUT_S`` (408 otherwise: uvicorn itself never times out a body, so a
client trickling one would hold the request open for ever). A refusal sent before the
body was read whole closes the connection.

The answer is JSON, or the verdict as an ISO 20022 status report (pacs.002.001.10 /
pain.002.001.10, :mod:`gateway.status_message`) with the same HTTP status when the
caller sends ``Accept: application/xml`` or ``?status_message=<message id>``; for a FIN
body, ``Accept: text/plain`` (or ``application/x-swift-fin``) answers with an MT 199.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any, cast

import orjson
from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from gateway.api.deps import Services, services_of, tenant_of
from gateway.api.problems import ProblemError, problem_content, problem_response
from gateway.api.routes_reports import status_response
from gateway.report import Report
from gateway.service import SubmitResult
from gateway.status_message import STATUS_MESSAGES, StatusMessageId
from gateway.store.store import StoreUnavailable

__all__ = ["router"]

router = APIRouter(tags=["messages"])

XML_TYPES = {"application/xml", "text/xml"}
#: SWIFT FIN has no registered media type: plain text, or the de-facto x-swift-fin.
FIN_TYPES = {"text/plain", "application/x-swift-fin"}
#: FIN is ASCII (the X and Z character sets); UTF-8 covers it, other charsets are refused.
FIN_CHARSETS = {"utf-8", "utf8", "us-ascii"}

_BODY_DOC = {
    "requestBody": {
        "required": True,
        "description": "One ISO 20022 message (bare Document, AppHdr + Document in any "
        "envelope, or an AppHdr), or one SWIFT FIN (MT) message (blocks 1-5, optionally "
        "after its ACK/NAK, optionally framed as one RJE entry; an RJE batch of several "
        "messages is rejected with mt.batch). The format is sniffed from the payload.",
        "content": {
            "application/xml": {"schema": {"type": "string"}},
            "text/xml": {"schema": {"type": "string"}},
            "text/plain": {"schema": {"type": "string"}},
            "application/x-swift-fin": {"schema": {"type": "string"}},
        },
    },
}
_VERDICT = {
    "application/json": {"schema": {"type": "object"}},
    "application/xml": {"schema": {"type": "string"}},
    "text/plain": {"schema": {"type": "string"}},
}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {
        "description": "Accepted: report id, message id, outcome, event ids (or the ISO "
        "20022 status report with Accept: application/xml; an MT 199 with Accept: text/plain).",
        "content": _VERDICT,
        "links": {
            "GetReport": {
                "operationRef": "#/paths/~1v1~1reports~1{report_id}/get",
                "parameters": {"report_id": "$response.body#/report_id"},
            },
            "GetStatusMessage": {
                "operationRef": "#/paths/~1v1~1reports~1{report_id}~1status-message/get",
                "parameters": {"report_id": "$response.body#/report_id"},
            },
        },
    },
    422: {
        "description": "Rejected: the full validation report (or its status report); a "
        "problem for a reused key or when no status report can name the message.",
        "content": {**_VERDICT, **problem_content()},
    },
    **{
        status: {"description": description, "content": problem_content()}
        for status, description in (
            (400, "No valid Idempotency-Key, or invalid parameters."),
            (403, "The tenant may not submit this message id."),
            (408, "The body did not arrive within GATEWAY_BODY_TIMEOUT_S."),
            (409, "The same Idempotency-Key is being processed."),
            (413, "Body over the tenant's limit (FIN: GATEWAY_MAX_MT_BYTES)."),
            (
                415,
                "Not an XML or FIN content type, FIN not in UTF-8, or a Content-Encoding "
                "other than identity.",
            ),
            (429, "Rate limit; see Retry-After."),
            (503, "The database (or, for a fail-closed tenant, the broker) is unavailable."),
        )
    },
}
#: Idempotency-Key: 1-255 characters, letters, digits and -_.:~
_KEY_PATTERN = r"^[A-Za-z0-9._:~-]{1,255}$"
_KEY = re.compile(_KEY_PATTERN)
_KEY_DOC = "1-255 characters (letters, digits, -_.:~), scoped by tenant."
_STATUS_DOC = (
    "Answer with this ISO 20022 status report instead of JSON "
    "(as Accept: application/xml does, which picks pacs.002 or pain.002)."
)
#: The route's parameters, read by :func:`_parameters` (the hot path of the gateway: a
#: handful of checks here instead of FastAPI's per-request dependency solving), and
#: documented as FastAPI documents a ``Header``/``Query`` parameter.
_PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "status_message",
        "in": "query",
        "required": False,
        "description": _STATUS_DOC,
        "schema": {
            "anyOf": [{"type": "string", "enum": list(STATUS_MESSAGES)}, {"type": "null"}],
            "title": "Status Message",
            "description": _STATUS_DOC,
        },
    },
    {
        "name": "Idempotency-Key",
        "in": "header",
        "required": True,
        "description": _KEY_DOC,
        "schema": {
            "type": "string",
            "pattern": _KEY_PATTERN,
            "title": "Idempotency-Key",
            "description": _KEY_DOC,
        },
    },
]


def _parameters(request: Request) -> tuple[str, StatusMessageId | None]:
    """The Idempotency-Key header and the ``status_message`` query parameter, refused as
    FastAPI refuses an invalid declared parameter (:class:`RequestValidationError`,
    answered by :mod:`gateway.api.problems`)."""
    errors: list[dict[str, Any]] = []
    key = request.headers.get("idempotency-key")
    if key is None:
        errors.append(_error(("header", "Idempotency-Key"), "missing", "Field required", key))
    elif not _KEY.fullmatch(key):
        message = f"String should match pattern '{_KEY_PATTERN}'"
        errors.append(
            _error(("header", "Idempotency-Key"), "string_pattern_mismatch", message, key)
        )
    status_as = request.query_params.get("status_message")
    if status_as is not None and status_as not in STATUS_MESSAGES:
        names = ", ".join(repr(name) for name in STATUS_MESSAGES[:-1])
        message = f"Input should be {names} or {STATUS_MESSAGES[-1]!r}"
        errors.append(_error(("query", "status_message"), "literal_error", message, status_as))
    if errors:
        raise RequestValidationError(errors)
    assert key is not None
    return key, cast("StatusMessageId | None", status_as)


def _error(loc: tuple[str, str], kind: str, message: str, value: str | None) -> dict[str, Any]:
    return {"type": kind, "loc": loc, "msg": message, "input": value}


#: Headers of a refusal sent before the body was read whole: the rest of it is not wanted.
_CLOSE = {"Connection": "close"}

#: Messages up to this size are validated and mapped on the event loop itself (a 1-tx
#: pacs.008 takes well under a millisecond: a thread hop and the threads' contention for
#: the GIL would cost more than they save); larger ones in the thread pool, so that a
#: 10,000-transaction file never stalls the other requests of its worker.
INLINE_MAX_BYTES = 64 * 1024


async def _read_body(request: Request, limit: int, timeout_s: float) -> bytes:
    """The whole body, at most ``limit`` bytes (413), within ``timeout_s`` (408)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ProblemError(413, "payload-too-large", f"The body exceeds {limit} bytes.", _CLOSE)
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise ProblemError(
                        413, "payload-too-large", f"The body exceeds {limit} bytes.", _CLOSE
                    )
                chunks.append(chunk)
    except TimeoutError as exc:
        raise ProblemError(
            408,
            "request-timeout",
            f"The body did not arrive within {timeout_s:g} s ({size} bytes received).",
            _CLOSE,
        ) from exc
    except ClientDisconnect as exc:  # nobody reads this answer; it is not a server error
        raise ProblemError(400, "bad-request", "The client left before the body ended.") from exc
    return b"".join(chunks)


def _check_encoding(request: Request) -> None:
    """Only ``identity`` bodies: a compressed one is refused, never inflated (415)."""
    encoding = request.headers.get("content-encoding", "identity")
    codings = [part.strip().lower() for part in encoding.split(",") if part.strip()]
    if any(coding != "identity" for coding in codings):
        raise ProblemError(
            415,
            "unsupported-media-type",
            f"Content-Encoding {encoding[:40]!r} is not accepted: send the message uncompressed.",
            {"Accept-Encoding": "identity"},
        )


def _is_fin(content_type: str) -> bool:
    """Whether the content type announces FIN (True) or XML (False); 415 otherwise."""
    media, *params = (part.strip() for part in content_type.split(";"))
    media = media.lower()
    if media in XML_TYPES:
        return False
    if media not in FIN_TYPES:
        raise ProblemError(
            415,
            "unsupported-media-type",
            "Send ISO 20022 XML as application/xml, SWIFT FIN (MT) as text/plain or "
            "application/x-swift-fin.",
        )
    for param in params:
        name, _, value = param.partition("=")
        charset = value.strip().strip('"').lower()
        if name.strip().lower() == "charset" and charset not in FIN_CHARSETS:
            raise ProblemError(
                415,
                "unsupported-media-type",
                f"SWIFT FIN is read as UTF-8: send charset=utf-8 or none, not {charset[:40]!r}.",
            )
    return True


@router.post(
    "/v1/messages",
    openapi_extra={**_BODY_DOC, "parameters": _PARAMETERS},
    responses=_RESPONSES,
    status_code=202,
)
async def submit_message(request: Request) -> Response:
    """Validate, map and durably store one message; events go to Kafka via the outbox.

    Idempotency (per tenant): the same key and payload returns the original response
    (``Idempotent-Replayed: true``); the same key with another payload is a 422; a
    key still in progress is a 409. A business message id (GrpHdr/MsgId, MT field 20)
    already accepted for the tenant is rejected with ``business.duplicate_message``.
    """
    started = time.perf_counter()
    svc = services_of(request)
    tenant = await tenant_of(request, svc)
    idempotency_key, status_as = _parameters(request)
    wait = svc.limiter.take(tenant.id, tenant.limits.rate_per_second, tenant.limits.burst)
    if wait > 0:
        raise ProblemError(
            429,
            "rate-limited",
            f"Tenant {tenant.id} exceeds {tenant.limits.rate_per_second:g} requests/s.",
            {"Retry-After": svc.limiter.retry_after(wait)},
        )
    fin = _is_fin(request.headers.get("content-type", ""))
    _check_encoding(request)
    if tenant.kafka_fail_closed and svc.broker_up() is False:
        raise ProblemError(
            503,
            "unavailable",
            "The event broker is unreachable and this tenant is configured fail-closed.",
            {"Retry-After": "5"},
        )
    limit = min(tenant.limits.max_body_bytes, svc.settings.max_payload_bytes)
    if fin:
        limit = min(limit, svc.settings.max_mt_bytes)
    payload = await _read_body(request, limit, svc.settings.body_timeout_s)
    correlation_id: str = request.state.correlation_id
    try:
        if len(payload) <= INLINE_MAX_BYTES:
            outcome = await svc.inbound.submit_async(
                tenant, idempotency_key, payload, correlation_id=correlation_id
            )
        else:
            outcome = await run_in_threadpool(
                svc.inbound.submit, tenant, idempotency_key, payload, correlation_id=correlation_id
            )
    except StoreUnavailable as exc:
        raise ProblemError(503, "unavailable", exc.message, {"Retry-After": "2"}) from exc
    if outcome.problem is not None:
        slug, detail = outcome.problem
        return problem_response(request, outcome.status, slug, detail)
    headers = {"X-Correlation-ID": correlation_id}
    if outcome.replayed:
        headers["Idempotent-Replayed"] = "true"
    if outcome.result is not None:
        report = outcome.result.report
        headers["Location"] = f"/v1/reports/{report.report_id}"
        message_id = report.message_id or "unknown"
        svc.metrics.messages.labels(tenant.id, message_id, report.outcome.value).inc()
        svc.metrics.latency.labels(tenant.id, message_id).observe(time.perf_counter() - started)
    accept = request.headers.get("accept", "")
    wants_fin = fin and _wants(accept, FIN_TYPES)
    if status_as is not None or wants_fin or _wants(accept, XML_TYPES):
        return await _status_answer(svc, tenant.id, outcome, status_as, headers, payload, wants_fin)
    return Response(outcome.body, outcome.status, headers, media_type="application/json")


def _wants(accept: str, types: set[str]) -> bool:
    """``Accept`` names one of ``types`` (XML, or FIN text) and not JSON first."""
    kinds = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    wanted = [i for i, kind in enumerate(kinds) if kind in types]
    json = [i for i, kind in enumerate(kinds) if kind.endswith("json")]
    return bool(wanted) and (not json or wanted[0] < json[0])


async def _status_answer(
    svc: Services,
    tenant: str,
    outcome: SubmitResult,
    status_as: StatusMessageId | None,
    headers: dict[str, str],
    payload: bytes,
    fin: bool,
) -> Response:
    """The stored verdict as an ISO 20022 status report (same HTTP status); a replayed
    request's report and events are read back from the store."""
    if outcome.result is not None:
        report, events = outcome.result.report, outcome.result.events
    else:
        report_id = str(orjson.loads(outcome.body).get("report_id") or "")
        found = await run_in_threadpool(svc.store.get_report, tenant, report_id)
        if found is None:
            raise ProblemError(404, "not-found", f"No report {report_id}.")
        found.pop("correlation_id", None)
        report = Report.model_validate(found)
        events = await run_in_threadpool(svc.store.report_events, tenant, report_id)
        headers["Location"] = f"/v1/reports/{report_id}"
    return status_response(
        svc, report, events, status_as, outcome.status, headers, payload=payload, fin=fin
    )
