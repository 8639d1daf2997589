"""``GET /ui/dashboard``: volume, acceptance and rejection rates per UTC day and per
message id, and the top failing rules, over a day range (default: the last 14 days).

The charts are SVG drawn here (:mod:`gateway.web.svg`): reports per day stacked by
outcome with the acceptance rate as a line, and the error codes / rule ids found in
most reports as horizontal bars.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from fastapi import APIRouter, Request
from starlette.responses import Response

from gateway.store.dashboard import Volume, top_terms, volume_by_day, volume_by_message
from gateway.web.context import SessionDep, WebDep
from gateway.web.filters import day_range
from gateway.web.svg import Series, horizontal_bars, stacked_bars

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
DEFAULT_DAYS = 14
MAX_DAYS = 366
COLORS = {"accepted": "#2da44e", "accepted_with_warnings": "#d4a72c", "rejected": "#cf222e"}


def _days(start: date, end: date) -> list[str]:
    return [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]


@router.get("/ui/dashboard")
def dashboard(request: Request, web: WebDep, session: SessionDep) -> Response:
    params = request.query_params
    errors: list[str] = []
    today = datetime.now(UTC).date()
    try:
        end = date.fromisoformat(params.get("to") or today.isoformat())
        start = date.fromisoformat(
            params.get("from") or (end - timedelta(days=DEFAULT_DAYS - 1)).isoformat()
        )
    except ValueError:
        errors.append("Days are written YYYY-MM-DD; showing the last 14 days.")
        end, start = today, today - timedelta(days=DEFAULT_DAYS - 1)
    if start > end or (end - start).days >= MAX_DAYS:
        errors.append(f"A range is 1 to {MAX_DAYS} days; showing the last 14 days.")
        end, start = today, today - timedelta(days=DEFAULT_DAYS - 1)
    requested = (params.get("tenant") or "").strip()
    known = [t.id for t in web.tenants.all()]
    if session.admin and requested and requested not in known:
        errors.append(f"unknown tenant {requested!r}")
        requested = ""
    tenant = web.visible_tenant(session, requested)
    first, last = day_range(start, end)
    assert first is not None and last is not None
    engine = web.store.engine
    per_day = {v.key: v for v in volume_by_day(engine, tenant, first, last)}
    days = _days(start, end)
    volumes = [per_day.get(day, Volume(day)) for day in days]
    per_message = volume_by_message(engine, tenant, first, last)
    failing = top_terms(engine, tenant, first, last)
    totals = Volume(
        "total",
        accepted=sum(v.accepted for v in volumes),
        accepted_with_warnings=sum(v.accepted_with_warnings for v in volumes),
        rejected=sum(v.rejected for v in volumes),
    )
    chart = stacked_bars(
        days,
        [
            Series("accepted", COLORS["accepted"], [v.accepted for v in volumes]),
            Series(
                "with warnings",
                COLORS["accepted_with_warnings"],
                [v.accepted_with_warnings for v in volumes],
            ),
            Series("rejected", COLORS["rejected"], [v.rejected for v in volumes]),
        ],
        title="Reports per day (UTC) by outcome",
        rate=[
            v.rate("accepted") + v.rate("accepted_with_warnings") if v.total else None
            for v in volumes
        ],
        rate_name="acceptance rate",
    )
    rules_chart = horizontal_bars(
        [(term, float(count)) for term, count in failing],
        title="Top failing rules (reports with the error)",
    )
    return web.render(
        request,
        "dashboard.html",
        session=session,
        errors=errors,
        start=start.isoformat(),
        end=end.isoformat(),
        tenant=tenant or "",
        volumes=list(reversed(volumes)),
        per_message=per_message,
        failing=failing,
        totals=totals,
        chart=chart,
        rules_chart=rules_chart,
    )
