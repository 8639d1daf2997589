"""The report list's filter form: query parameters -> :class:`ReportFilter`.

Parameters (all optional, all strings so a bad value is shown on the page rather
than answered with a JSON error): ``from`` / ``to`` (UTC days ``YYYY-MM-DD``, both
inclusive), ``outcome``, ``message_id``, ``code`` (a finding code or rule id), ``q``
(MsgId, EndToEndId, UETR or report id), ``tenant`` (admins only; empty: every
tenant) and ``cursor``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from starlette.datastructures import QueryParams

from gateway.store.search import ReportFilter
from gateway.web.sessions import Session

__all__ = ["OUTCOMES", "FilterForm", "day_range", "parse_filter"]

OUTCOMES = ("accepted", "accepted_with_warnings", "rejected")
_LIMITS = {"message_id": 32, "code": 128, "q": 100, "tenant": 32, "cursor": 512}


@dataclass
class FilterForm:
    """The form's values as typed, the filter they give, and what was wrong."""

    values: dict[str, str]
    filter: ReportFilter
    errors: list[str] = field(default_factory=list)
    cursor: str | None = None

    def query(self, **changes: str) -> dict[str, str]:
        """The form's values (no cursor) with ``changes``, for links."""
        params = {k: v for k, v in self.values.items() if v and k != "cursor"}
        params.update(changes)
        return params


def _day(raw: str, name: str, errors: list[str]) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors.append(f"'{name}' is not a day (YYYY-MM-DD): {raw!r}")
        return None


def day_range(start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
    """UTC instants of [start day 00:00, the day after ``end`` 00:00)."""
    first = datetime.combine(start, time(), UTC) if start else None
    last = datetime.combine(end + timedelta(days=1), time(), UTC) if end else None
    return first, last


def parse_filter(params: QueryParams, session: Session, known_tenants: list[str]) -> FilterForm:
    values = {
        name: params.get(name, "").strip()[:limit]
        for name, limit in {"from": 10, "to": 10, "outcome": 32, **_LIMITS}.items()
    }
    errors: list[str] = []
    start, end = day_range(_day(values["from"], "from", errors), _day(values["to"], "to", errors))
    if start and end and start >= end:
        errors.append("'from' is after 'to'")
    outcome = values["outcome"]
    if outcome and outcome not in OUTCOMES:
        errors.append(f"unknown outcome {outcome!r}")
        outcome = ""
    tenant: str | None = session.tenant
    if session.admin:
        tenant = values["tenant"] or None
        if tenant is not None and tenant not in known_tenants:
            errors.append(f"unknown tenant {tenant!r}")
    else:
        values["tenant"] = ""
    flt = ReportFilter(
        tenant=tenant,
        start=start,
        end=end,
        outcome=outcome or None,
        message_id=values["message_id"] or None,
        term=values["code"] or None,
        text=values["q"] or None,
    )
    return FilterForm(values, flt, errors, values["cursor"] or None)
