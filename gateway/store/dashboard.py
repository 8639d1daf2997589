"""Aggregates for the compliance dashboard and the report detail page's lifecycle.

* :func:`volume_by_day` / :func:`volume_by_message`: report counts per UTC day and per
  message id, split by outcome, over a receipt-time range (the ``reports`` indexes on
  ``(tenant, received_at, ...)`` bound the rows read);
* :func:`top_terms`: the finding codes and rule ids found with severity ``error`` in
  most reports of the range (the findings index);
* :func:`report_lifecycle`: the events a report emitted (outbox rows, with their
  delivery state) and the outbound messages sent for its payments (``outbound``, by
  the UETRs and EndToEndIds of the ``payments`` rows written with the report).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, func, or_, select

from gateway.store.tables import outbound, outbox, payments, report_findings, reports

__all__ = ["Volume", "report_lifecycle", "top_terms", "volume_by_day", "volume_by_message"]


@dataclass(frozen=True, slots=True)
class Volume:
    key: str  # a day (YYYY-MM-DD) or a message id
    accepted: int = 0
    accepted_with_warnings: int = 0
    rejected: int = 0

    @property
    def total(self) -> int:
        return self.accepted + self.accepted_with_warnings + self.rejected

    def rate(self, outcome: str) -> float:
        """Share of ``outcome`` among the total (0.0 when there is none)."""
        return getattr(self, outcome) / self.total if self.total else 0.0


def _range(
    column: Any, tenant_column: Any, tenant: str | None, start: datetime, end: datetime
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [column >= start, column < end]
    if tenant is not None:
        conditions.append(tenant_column == tenant)
    return conditions


def _volumes(rows: Sequence[Any]) -> list[Volume]:
    counts: dict[str, dict[str, int]] = {}
    for key, outcome, count in rows:
        label = key.isoformat() if isinstance(key, date) else str(key if key is not None else "-")
        counts.setdefault(label, {})[str(outcome)] = int(count)
    return [
        Volume(
            key,
            accepted=by.get("accepted", 0),
            accepted_with_warnings=by.get("accepted_with_warnings", 0),
            rejected=by.get("rejected", 0),
        )
        for key, by in counts.items()
    ]


def volume_by_day(
    engine: Engine, tenant: str | None, start: datetime, end: datetime
) -> list[Volume]:
    """One :class:`Volume` per UTC day with reports, oldest first."""
    if engine.dialect.name == "postgresql":
        day = func.date(func.timezone("UTC", reports.c.received_at))
    else:  # stored as naive UTC text: its date part
        day = func.substr(reports.c.received_at, 1, 10)
    query = (
        select(day.label("day"), reports.c.outcome, func.count())
        .where(*_range(reports.c.received_at, reports.c.tenant, tenant, start, end))
        .group_by(day, reports.c.outcome)
        .order_by(day)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return _volumes(rows)


def volume_by_message(
    engine: Engine, tenant: str | None, start: datetime, end: datetime
) -> list[Volume]:
    """One :class:`Volume` per message id, largest first."""
    query = (
        select(reports.c.message_id, reports.c.outcome, func.count())
        .where(*_range(reports.c.received_at, reports.c.tenant, tenant, start, end))
        .group_by(reports.c.message_id, reports.c.outcome)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return sorted(_volumes(rows), key=lambda v: (-v.total, v.key))


def top_terms(
    engine: Engine, tenant: str | None, start: datetime, end: datetime, limit: int = 10
) -> list[tuple[str, int]]:
    """(finding code or rule id, reports) for the error terms found most often."""
    count = func.count().label("n")
    query = (
        select(report_findings.c.term, count)
        .where(
            report_findings.c.severity == "error",
            *_range(report_findings.c.received_at, report_findings.c.tenant, tenant, start, end),
        )
        .group_by(report_findings.c.term)
        .order_by(count.desc(), report_findings.c.term)
        .limit(limit)
    )
    with engine.connect() as connection:
        return [(str(term), int(n)) for term, n in connection.execute(query).all()]


def _event_summary(value: bytes) -> dict[str, Any]:
    try:
        event = json.loads(value)
    except ValueError:
        return {}
    ids = event.get("ids") or {}
    return {
        "event_type": event.get("event_type"),
        "uetr": ids.get("uetr"),
        "end_to_end_id": ids.get("end_to_end_id"),
    }


def report_lifecycle(
    engine: Engine, tenant: str, report_id: str
) -> dict[str, list[dict[str, Any]]]:
    """``events``: what the report emitted; ``outbound``: what was sent for its payments."""
    with engine.connect() as connection:
        event_rows = connection.execute(
            select(
                outbox.c.event_id,
                outbox.c.topic,
                outbox.c.status,
                outbox.c.attempts,
                outbox.c.sent_at,
                outbox.c.value,
            )
            .where(outbox.c.tenant == tenant, outbox.c.report_id == report_id)
            .order_by(outbox.c.id)
        ).all()
        ids = connection.execute(
            select(payments.c.uetr, payments.c.end_to_end_id).where(
                payments.c.tenant == tenant, payments.c.report_id == report_id
            )
        ).all()
        uetrs = sorted({row.uetr for row in ids if row.uetr})
        e2e = sorted({row.end_to_end_id for row in ids if row.end_to_end_id})
        sent_rows = []
        if uetrs or e2e:
            sent_rows = list(
                connection.execute(
                    select(outbound)
                    .where(
                        outbound.c.tenant == tenant,
                        or_(outbound.c.uetr.in_(uetrs), outbound.c.end_to_end_id.in_(e2e)),
                    )
                    .order_by(outbound.c.id)
                ).all()
            )
    events = [
        {
            "event_id": row.event_id,
            "topic": row.topic,
            "status": row.status,
            "attempts": row.attempts,
            "sent_at": row.sent_at,
            **_event_summary(row.value),
        }
        for row in event_rows
    ]
    sent = [
        {
            "message_id": row.message_id,
            "target": row.target,
            "outcome": row.outcome,
            "channels": [c for c in row.channels.split(",") if c],
            "attempts": row.attempts,
            "source_event_type": row.source_event_type,
            "uetr": row.uetr,
            "end_to_end_id": row.end_to_end_id,
            "updated_at": row.updated_at,
            "error": row.error,
        }
        for row in sent_rows
    ]
    return {"events": events, "outbound": sent}
