"""``GET /v1/reports/{id}``, ``GET /v1/reports/{id}/status-message`` and
``GET /v1/reports``: the caller's tenant only.

Another tenant's report id answers exactly like a missing one (404)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BeforeValidator
from starlette.concurrency import run_in_threadpool

from gateway.api.deps import CurrentTenant, Services, ServicesDep
from gateway.api.problems import ProblemError
from gateway.report import Report
from gateway.status_message import (
    StatusMessageId,
    StatusMessageUnavailable,
    StatusReport,
    default_status_message,
    render_status_message,
)

__all__ = ["router", "status_response"]

StatusAs = Literal["pacs.002.001.10", "pain.002.001.10", "fin.199"]

router = APIRouter(tags=["reports"])


@router.get("/v1/reports/{report_id}")
async def get_report(report_id: str, svc: ServicesDep, tenant: CurrentTenant) -> dict[str, Any]:
    """One validation report of the caller's tenant."""
    found = await run_in_threadpool(svc.store.get_report, tenant.id, report_id)
    if found is None:
        raise ProblemError(404, "not-found", f"No report {report_id}.")
    return found


@router.get(
    "/v1/reports/{report_id}/status-message",
    responses={200: {"content": {"application/xml": {}}, "description": "pacs.002 / pain.002"}},
)
async def get_status_message(
    report_id: str,
    svc: ServicesDep,
    tenant: CurrentTenant,
    as_: Annotated[StatusAs | None, Query(alias="as")] = None,
) -> Response:
    """The ISO 20022 status report (pacs.002.001.10, or pain.002.001.10 for pain.*
    messages; ``as`` chooses; ``fin.199``: the MT 199 answering an MT message, which
    needs the stored payload) for one report of the caller's tenant."""
    found = await run_in_threadpool(svc.store.get_report, tenant.id, report_id)
    if found is None:
        raise ProblemError(404, "not-found", f"No report {report_id}.")
    found.pop("correlation_id", None)
    report = Report.model_validate(found)
    events = await run_in_threadpool(svc.store.report_events, tenant.id, report_id)
    payload = None
    if as_ == "fin.199":
        payload = await run_in_threadpool(svc.store.report_payload, tenant.id, report_id)
    return status_response(svc, report, events, as_, 200, {}, payload=payload)


def status_response(
    svc: Services,
    report: Report,
    events: list[dict[str, Any]],
    as_id: StatusMessageId | None,
    status: int,
    headers: dict[str, str],
    *,
    payload: bytes | None = None,
    fin: bool = False,
) -> Response:
    """The status report of ``report`` as an ``application/xml`` response, or FIN text for
    ``fin.199`` (``payload``: the original FIN message); 422 when the original message's
    id, type (or for MT 199 its sender and receiver) is unknown; 500 if it fails its own
    validation."""
    chosen = as_id or default_status_message(report, fin=fin)
    try:
        rendered: StatusReport = render_status_message(
            svc.gateway.schemas, report, events, chosen, now=datetime.now(UTC), payload=payload
        )
    except StatusMessageUnavailable as exc:
        raise ProblemError(
            422,
            "status-message-unavailable",
            exc.message,
            {**headers, "X-Report-ID": report.report_id},
        ) from exc
    if rendered.findings:
        raise ProblemError(500, "internal", f"the {chosen} status report failed its XSD")
    all_headers = {**headers, "X-Status-Message": chosen, "X-Report-ID": report.report_id}
    if not rendered.validated:
        all_headers["X-Status-Message-Validated"] = "false"
    media_type = "text/plain" if chosen == "fin.199" else "application/xml"
    return Response(rendered.xml, status, all_headers, media_type=media_type)


def _iso_only(value: object) -> object:
    """An ISO 8601 text, nothing else (pydantic would also read numbers as Unix times)."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError("expected an ISO 8601 date-time with a time zone, e.g. 2026-01-31T00:00:00Z")


#: ``from``/``to``: ISO 8601 date-times (the time zone is checked by the route).
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_only)]


@router.get("/v1/reports")
async def list_reports(
    svc: ServicesDep,
    tenant: CurrentTenant,
    from_: Annotated[IsoDateTime | None, Query(alias="from")] = None,
    to: IsoDateTime | None = None,
    outcome: Literal["accepted", "accepted_with_warnings", "rejected"] | None = None,
    message_id: str | None = None,
    cursor: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]+$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Reports newest first; pass ``next_cursor`` back as ``cursor`` for the next page.

    ``from``/``to`` are ISO 8601 date-times with a time zone (``from`` inclusive,
    ``to`` exclusive)."""
    for name, value in (("from", from_), ("to", to)):
        if value is not None and value.tzinfo is None:
            raise ProblemError(400, "bad-request", f"'{name}' needs a time zone (e.g. Z).")
    try:
        page = await run_in_threadpool(
            lambda: svc.store.list_reports(
                tenant.id,
                start=from_,
                end=to,
                outcome=outcome,
                message_id=message_id,
                cursor=cursor,
                limit=limit,
            )
        )
    except ValueError as exc:
        raise ProblemError(400, "bad-request", str(exc)) from exc
    return {"items": page.items, "next_cursor": page.next_cursor}
