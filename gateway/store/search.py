"""Report search for the compliance UI and its exports: filters and keyset pages.

Filters (:class:`ReportFilter`): tenant (None: every tenant, the admin view), receipt
time range, outcome, message id, finding code or rule id (``term``), and a text
search on the business message id (``GrpHdr/MsgId``, MT field 20), EndToEndId, UETR
or report id (exact values). Pages are newest first and continue from a cursor (the
last item's receipt time and id), never from an offset, so page 2,000 costs what page
1 costs:

* without ``term`` the walk follows a ``reports`` index: ``(tenant, received_at,
  id)``, or ``(tenant, outcome, ...)`` / ``(tenant, message_id, ...)`` when those
  filters are set (migration 0004);
* with ``term`` it follows ``report_findings (tenant, term, received_at, report_id)``
  and joins each row's report;
* the text search first resolves its (few) report ids through the indexes on
  ``reports.business_message_id`` and ``payments`` (UETR, EndToEndId: known for the
  accepted payments that emitted events), then pages over those.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, Select, select, tuple_

from gateway.store.tables import payments, report_findings, reports

__all__ = [
    "ReportFilter",
    "SearchPage",
    "decode_cursor",
    "encode_cursor",
    "find_report",
    "iter_reports",
    "search_reports",
]

#: Most report ids a text search resolves to (an exact id rarely names more).
MAX_TEXT_MATCHES = 1000


@dataclass(frozen=True, slots=True)
class ReportFilter:
    tenant: str | None
    start: datetime | None = None
    end: datetime | None = None
    outcome: str | None = None
    message_id: str | None = None
    term: str | None = None
    text: str | None = None


@dataclass(frozen=True, slots=True)
class SearchPage:
    items: list[dict[str, Any]]
    next_cursor: str | None


def encode_cursor(received_at: datetime, report_id: str) -> str:
    raw = f"{received_at.isoformat()}|{report_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, report_id = raw.split("|", 1)
        value = datetime.fromisoformat(stamp)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("invalid cursor") from exc
    if value.tzinfo is None:
        raise ValueError("invalid cursor")
    return value, report_id


def _text_matches(engine: Engine, tenants: list[str] | None, text: str) -> list[str]:
    """Report ids whose MsgId, EndToEndId, UETR or own id is ``text``, among
    ``tenants`` (None: any tenant, read without the tenant-led indexes). One query per
    index - an OR across columns would make the database scan instead."""
    values = list(dict.fromkeys([text, text.lower()]))
    queries = [
        (select(reports.c.id).where(reports.c.id.in_(values)), reports.c.tenant),
        (select(reports.c.id).where(reports.c.business_message_id == text), reports.c.tenant),
        (select(payments.c.report_id).where(payments.c.uetr.in_(values)), payments.c.tenant),
        (
            select(payments.c.report_id).where(payments.c.end_to_end_id == text),
            payments.c.tenant,
        ),
    ]
    found: dict[str, None] = {}
    with engine.connect() as connection:
        for query, tenant_column in queries:
            scoped = query if tenants is None else query.where(tenant_column.in_(tenants))
            for report_id in connection.execute(scoped.limit(MAX_TEXT_MATCHES)).scalars():
                found[str(report_id)] = None
    return list(found)[:MAX_TEXT_MATCHES]


def _query(
    flt: ReportFilter, text_ids: list[str] | None, cursor: str | None, limit: int
) -> Select[Any]:
    columns = (
        reports.c.id,
        reports.c.tenant,
        reports.c.received_at,
        reports.c.correlation_id,
        reports.c.report,
        reports.c.payload_size,
    )
    conditions: list[ColumnElement[bool]] = []
    if flt.term:
        # walk the findings index; its received_at/report_id are the report's
        stamp, key = report_findings.c.received_at, report_findings.c.report_id
        query = select(*columns).select_from(
            report_findings.join(reports, reports.c.id == report_findings.c.report_id)
        )
        conditions.append(report_findings.c.term == flt.term)
        if flt.tenant is not None:
            conditions.append(report_findings.c.tenant == flt.tenant)
    else:
        stamp, key = reports.c.received_at, reports.c.id
        query = select(*columns)
    if flt.tenant is not None:
        conditions.append(reports.c.tenant == flt.tenant)
    if flt.start is not None:
        conditions.append(stamp >= flt.start)
    if flt.end is not None:
        conditions.append(stamp < flt.end)
    if flt.outcome:
        conditions.append(reports.c.outcome == flt.outcome)
    if flt.message_id:
        conditions.append(reports.c.message_id == flt.message_id)
    if text_ids is not None:
        conditions.append(reports.c.id.in_(text_ids))
    if cursor is not None:
        last_stamp, last_id = decode_cursor(cursor)
        conditions.append(tuple_(stamp, key) < tuple_(last_stamp, last_id))
    return query.where(*conditions).order_by(stamp.desc(), key.desc()).limit(limit + 1)


def _item(row: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(row.report)
    data["tenant"] = row.tenant
    data["correlation_id"] = row.correlation_id
    return data


def search_reports(
    engine: Engine,
    flt: ReportFilter,
    *,
    cursor: str | None = None,
    limit: int = 50,
    tenants: list[str] | None = None,
) -> SearchPage:
    """One page, newest first (``ValueError`` for a malformed cursor). ``tenants``: the
    tenant ids an every-tenant (``flt.tenant`` None) text search looks in."""
    text_ids = None
    if flt.text:
        scope = [flt.tenant] if flt.tenant is not None else tenants
        text_ids = _text_matches(engine, scope, flt.text.strip())
        if not text_ids:
            return SearchPage([], None)
    query = _query(flt, text_ids, cursor, limit)
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    items = [_item(row) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(last.received_at, last.id)
    return SearchPage(items, next_cursor)


def iter_reports(
    engine: Engine, flt: ReportFilter, *, page_size: int = 500, tenants: list[str] | None = None
) -> Iterator[list[dict[str, Any]]]:
    """Every matching report, page by page (each page its own short read)."""
    cursor: str | None = None
    while True:
        page = search_reports(engine, flt, cursor=cursor, limit=page_size, tenants=tenants)
        if page.items:
            yield page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def find_report(
    engine: Engine, report_id: str, tenant: str | None
) -> tuple[dict[str, Any], bytes | None] | None:
    """A report (with ``tenant``) and its stored payload; ``tenant`` None: any tenant.
    Another tenant's report is None, exactly like a missing one."""
    query = select(
        reports.c.id,
        reports.c.tenant,
        reports.c.received_at,
        reports.c.correlation_id,
        reports.c.report,
        reports.c.payload_size,
        reports.c.payload,
    ).where(reports.c.id == report_id)
    if tenant is not None:
        query = query.where(reports.c.tenant == tenant)
    with engine.connect() as connection:
        row = connection.execute(query).first()
    if row is None:
        return None
    return _item(row), (bytes(row.payload) if row.payload is not None else None)
