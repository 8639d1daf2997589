"""Exports of the filtered report list: CSV and JSON Lines, streamed page by page.

Both read the reports a keyset page at a time (:func:`gateway.store.search.iter_reports`)
with the page's review actions, and yield bytes as they go: memory stays flat however
many reports match.

* **CSV** (RFC 4180, UTF-8, header row): one row per finding, the report's columns
  repeated (a report without findings: one row, finding columns empty), with the
  latest review action on the finding (or on the whole report). Cells that a
  spreadsheet would run as a formula (starting ``= + - @``, tab or CR) get a leading
  ``'`` (OWASP CSV injection).
* **JSON Lines**: one report per line as stored (findings included) plus ``tenant``
  and ``reviews`` (every action, oldest first).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import orjson

from gateway.store import Store
from gateway.store.reviews import Review, Reviews
from gateway.store.search import ReportFilter, iter_reports

__all__ = ["CSV_COLUMNS", "csv_rows", "jsonl_lines"]

CSV_COLUMNS = (
    "report_id",
    "tenant",
    "received_at",
    "channel",
    "message_id",
    "business_message_id",
    "outcome",
    "payload_sha256",
    "payload_size",
    "transaction_count",
    "event_count",
    "finding_index",
    "code",
    "severity",
    "layer",
    "rule",
    "iso_reason",
    "line",
    "column",
    "xpath",
    "mt_tag",
    "message",
    "review_action",
    "review_text",
    "reviewer",
    "reviewed_at",
)
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def _pages(
    store: Store, flt: ReportFilter, tenants: list[str] | None
) -> Iterator[tuple[list[dict[str, Any]], dict[str, list[Review]]]]:
    reviews = Reviews(store)
    for items in iter_reports(store.engine, flt, tenants=tenants):
        yield items, reviews.for_reports(flt.tenant, [item["report_id"] for item in items])


def _latest(actions: list[Review], index: int | None) -> Review | None:
    chosen = [a for a in actions if a.finding_index == index]
    if not chosen and index is not None:
        chosen = [a for a in actions if a.finding_index is None]
    return chosen[-1] if chosen else None


def csv_rows(store: Store, flt: ReportFilter, tenants: list[str] | None = None) -> Iterator[bytes]:
    """CSV bytes; ``tenants``: where an every-tenant text search looks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> bytes:
        data = buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
        return data

    writer.writerow(CSV_COLUMNS)
    yield b"\xef\xbb\xbf" + flush()  # BOM: spreadsheets read UTF-8 as such
    for items, reviews in _pages(store, flt, tenants):
        for item in items:
            report = [
                item.get("report_id"),
                item.get("tenant"),
                item.get("received_at"),
                item.get("channel"),
                item.get("message_id"),
                item.get("business_message_id"),
                item.get("outcome"),
                item.get("payload_sha256"),
                item.get("payload_size"),
                item.get("transaction_count"),
                len(item.get("event_ids") or []),
            ]
            actions = reviews.get(str(item.get("report_id")), [])
            findings: list[dict[str, Any] | None] = list(item.get("findings") or []) or [None]
            for index, found in enumerate(findings):
                row = report.copy()
                if found is None:
                    row += [None] * 11
                    latest = _latest(actions, None)
                else:
                    location = found.get("location") or {}
                    row += [
                        index,
                        found.get("code"),
                        found.get("severity"),
                        found.get("layer"),
                        found.get("rule"),
                        found.get("iso_reason"),
                        location.get("line"),
                        location.get("column"),
                        location.get("xpath"),
                        location.get("mt_tag"),
                        found.get("message"),
                    ]
                    latest = _latest(actions, index)
                if latest is None:
                    row += [None] * 4
                else:
                    row += [
                        latest.action,
                        latest.text,
                        f"{latest.reviewer}@{latest.reviewer_tenant}",
                        latest.created_at.isoformat(),
                    ]
                writer.writerow([_cell(value) for value in row])
        yield flush()


def jsonl_lines(
    store: Store, flt: ReportFilter, tenants: list[str] | None = None
) -> Iterator[bytes]:
    """JSON Lines bytes, a page of reports per chunk."""
    for items, reviews in _pages(store, flt, tenants):
        chunk = bytearray()
        for item in items:
            item["reviews"] = [
                {
                    "id": a.id,
                    "finding_index": a.finding_index,
                    "finding_code": a.finding_code,
                    "action": a.action,
                    "text": a.text,
                    "reviewer": a.reviewer,
                    "reviewer_tenant": a.reviewer_tenant,
                    "reviewer_role": a.reviewer_role,
                    "created_at": a.created_at.isoformat(),
                }
                for a in reviews.get(str(item.get("report_id")), [])
            ]
            chunk += orjson.dumps(item) + b"\n"
        yield bytes(chunk)
