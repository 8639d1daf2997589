"""``GET /v1/reports/{id}`` and ``GET /v1/reports``: the caller's tenant only.

Another tenant's report id answers exactly like a missing one (404)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from gateway.api.deps import CurrentTenant, ServicesDep
from gateway.api.problems import ProblemError

__all__ = ["router"]

router = APIRouter(tags=["reports"])


@router.get("/v1/reports/{report_id}")
async def get_report(report_id: str, svc: ServicesDep, tenant: CurrentTenant) -> dict[str, Any]:
    """One validation report of the caller's tenant."""
    found = await run_in_threadpool(svc.store.get_report, tenant.id, report_id)
    if found is None:
        raise ProblemError(404, "not-found", f"No report {report_id}.")
    return found


@router.get("/v1/reports")
async def list_reports(
    svc: ServicesDep,
    tenant: CurrentTenant,
    from_: Annotated[datetime | None, Query(alias="from")] = None,
    to: datetime | None = None,
    outcome: Literal["accepted", "accepted_with_warnings", "rejected"] | None = None,
    message_id: str | None = None,
    cursor: str | None = None,
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
