"""``POST /v1/messages``: submit one ISO 20022 message (SWIFT MT comes later)."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Header, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from gateway.api.deps import CurrentTenant, ServicesDep
from gateway.api.problems import ProblemError, problem_response
from gateway.store.store import StoreUnavailable

__all__ = ["router"]

router = APIRouter(tags=["messages"])

XML_TYPES = {"application/xml", "text/xml"}
_KEY_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:~")

_BODY_DOC = {
    "requestBody": {
        "required": True,
        "description": "One ISO 20022 message (bare Document, AppHdr + Document in any "
        "envelope, or an AppHdr). SWIFT MT (text/plain) arrives with MT support.",
        "content": {"application/xml": {"schema": {"type": "string"}}},
    },
    "responses": {
        "202": {"description": "Accepted: report id, message id, outcome, event ids."},
        "422": {"description": "Rejected: the full validation report (or a reused key)."},
        "409": {"description": "The same Idempotency-Key is being processed."},
        "413": {"description": "Body over the tenant's limit."},
        "415": {"description": "Not application/xml."},
        "429": {"description": "Rate limit; see Retry-After."},
    },
}


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ProblemError(413, "payload-too-large", f"The body exceeds {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ProblemError(413, "payload-too-large", f"The body exceeds {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/v1/messages", openapi_extra=_BODY_DOC, status_code=202)
async def submit_message(
    request: Request,
    svc: ServicesDep,
    tenant: CurrentTenant,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response:
    """Validate, map and durably store one message; events go to Kafka via the outbox.

    Idempotency (per tenant): the same key and payload returns the original response
    (``Idempotent-Replayed: true``); the same key with another payload is a 422; a
    key still in progress is a 409. A business message id (GrpHdr/MsgId) already
    accepted for the tenant is rejected with ``business.duplicate_message``.
    """
    started = time.perf_counter()
    wait = svc.limiter.take(tenant.id, tenant.limits.rate_per_second, tenant.limits.burst)
    if wait > 0:
        raise ProblemError(
            429,
            "rate-limited",
            f"Tenant {tenant.id} exceeds {tenant.limits.rate_per_second:g} requests/s.",
            {"Retry-After": svc.limiter.retry_after(wait)},
        )
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media == "text/plain":
        raise ProblemError(
            415, "unsupported-media-type", "SWIFT MT (text/plain) is not supported yet."
        )
    if media not in XML_TYPES:
        raise ProblemError(415, "unsupported-media-type", "Send ISO 20022 XML as application/xml.")
    if not idempotency_key or len(idempotency_key) > 255 or set(idempotency_key) - _KEY_CHARS:
        raise ProblemError(
            400,
            "idempotency-key-required",
            "Send an Idempotency-Key header (1-255 characters: letters, digits, -_.:~).",
        )
    if tenant.kafka_fail_closed and svc.broker_up() is False:
        raise ProblemError(
            503,
            "unavailable",
            "The event broker is unreachable and this tenant is configured fail-closed.",
            {"Retry-After": "5"},
        )
    limit = min(tenant.limits.max_body_bytes, svc.settings.max_payload_bytes)
    payload = await _read_body(request, limit)
    correlation_id: str = request.state.correlation_id
    try:
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
    return Response(outcome.body, outcome.status, headers, media_type="application/json")
