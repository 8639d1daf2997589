"""The inbound transaction's writes, for one message or a group of them.

:class:`InboundCommit` is everything one accepted or rejected message stores: its
report, outbox rows, accepted business message id, per-day amounts, payments index
rows and the idempotent answer. :func:`write_inbound` writes a group of them inside
the caller's transaction with one statement per table (``executemany``), the per-day
totals locked and re-checked once per tenant, day and currency, and one hash chain
append per tenant (entries in the group's order; the head moves and is signed once).

Nothing here decides what happens when a write is refused: a unique key taken (the
idempotency key or the business message id, by a concurrent writer) or a per-day
limit crossed raises out of the transaction, which the caller rolls back whole
(:meth:`gateway.store.Store.commit_inbound_group` then retries each message alone, so
only the message concerned is refused).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from gateway.daily_totals import DailyAmounts, check_limits
from gateway.outbox import NewOutboxRow, encode_headers
from gateway.report import Report
from gateway.store.bulk import insert_rows
from gateway.store.chain import (
    ChainKind,
    ChainSigner,
    append_many,
    record_sha256,
    report_record,
)
from gateway.store.findings_index import index_rows
from gateway.store.tables import (
    business_messages,
    daily_totals,
    idempotency,
    outbox,
    payments,
    report_findings,
    reports,
)

__all__ = ["InboundCommit", "add_daily", "write_inbound"]


@dataclass(frozen=True, slots=True)
class InboundCommit:
    """One message's share of the inbound transaction."""

    tenant: str
    idempotency_key: str
    payload_sha256: str  # of the request body: what a replay under the key must match
    report: Report
    correlation_id: str
    payload: bytes | None  # stored only when the tenant stores payloads
    response_status: int
    response_body: bytes
    rows: Sequence[NewOutboxRow] = ()
    register_business_id: str | None = None  # accepted messages only
    daily: DailyAmounts | None = None  # accepted messages' amounts
    payments: Sequence[dict[str, Any]] = field(default_factory=tuple)


def _report_values(commit: InboundCommit) -> dict[str, Any]:
    report = commit.report
    return {
        "id": report.report_id,
        "tenant": commit.tenant,
        "received_at": report.received_at,
        "channel": report.channel,
        "correlation_id": commit.correlation_id,
        "message_id": report.message_id,
        "business_message_id": report.business_message_id,
        "outcome": report.outcome.value,
        "payload_sha256": report.payload_sha256,
        "payload_size": report.payload_size,
        "report": report.model_dump_json(),
        "payload": commit.payload,
    }


def write_inbound(
    connection: Connection,
    commits: Sequence[InboundCommit],
    *,
    signer: ChainSigner | None = None,
    now: datetime | None = None,
) -> None:
    """All writes of ``commits`` inside the caller's (write) transaction."""
    if not commits:
        return
    now = now or datetime.now(UTC)
    report_values = [_report_values(commit) for commit in commits]
    insert_rows(connection, reports, report_values)
    owned = [c for c in commits if c.register_business_id is not None]
    if owned:
        insert_rows(
            connection,
            business_messages,
            [
                {
                    "tenant": c.tenant,
                    "business_message_id": c.register_business_id,
                    "report_id": c.report.report_id,
                    "created_at": now,
                }
                for c in owned
            ],
        )
    outbox_values = [
        {
            "tenant": row.tenant,
            "event_id": row.event_id,
            "topic": row.topic,
            "key": row.key,
            "headers": encode_headers(row.headers),
            "value": row.value,
            "report_id": row.report_id,
            "status": "pending",
            "attempts": 0,
            "created_at": now,
            "next_attempt_at": now,
        }
        for commit in commits
        for row in commit.rows
    ]
    if outbox_values:
        insert_rows(connection, outbox, outbox_values)
    add_daily(connection, [(c.tenant, c.daily) for c in commits if c.daily is not None], now)
    payment_values = [row for commit in commits for row in commit.payments]
    if payment_values:
        insert_rows(connection, payments, payment_values)
    finding_values = [
        row
        for commit in commits
        for row in index_rows(
            commit.tenant,
            commit.report.report_id,
            commit.report.received_at,
            [item.model_dump() for item in commit.report.findings],
        )
    ]
    if finding_values:
        insert_rows(connection, report_findings, finding_values)
    chained: dict[str, list[tuple[ChainKind, str, str]]] = defaultdict(list)
    for values in report_values:
        chained[values["tenant"]].append(
            # the record as chain.report_record reads it back from the stored row
            ("report", values["id"], record_sha256(report_record(SimpleNamespace(**values))))
        )
    for tenant in sorted(chained):  # one lock order across writers
        append_many(connection, tenant, chained[tenant], signer=signer, now=now)
    insert_rows(
        connection,
        idempotency,
        [
            {
                "tenant": c.tenant,
                "key": c.idempotency_key,
                "payload_sha256": c.payload_sha256,
                "state": "done",
                "response_status": c.response_status,
                "response_body": c.response_body,
                "report_id": c.report.report_id,
                "created_at": now,
                "updated_at": now,
            }
            for c in commits
        ],
    )


def add_daily(
    connection: Connection, items: Sequence[tuple[str, DailyAmounts]], now: datetime
) -> None:
    """Add ``(tenant, amounts)`` to the per-day totals: create the day's rows if missing,
    lock them, re-check each item's limits in order
    (:class:`~gateway.daily_totals.DailyLimitExceeded` for the first that would cross
    one: the caller rolls back), then write the new totals."""
    wanted: dict[tuple[str, date], set[str]] = defaultdict(set)
    for tenant, amounts in items:
        if amounts.amounts:
            wanted[(tenant, amounts.day)].update(amounts.amounts)
    if not wanted:
        return
    keys = sorted((tenant, day, ccy) for (tenant, day), ccys in wanted.items() for ccy in ccys)
    current = _lock_totals(connection, wanted)
    if len(current) < len(keys):  # a first amount of the day: create the rows, lock again
        insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
        connection.execute(
            insert(daily_totals)
            .values(
                [
                    {"tenant": t, "day": d, "currency": c, "amount": Decimal(0), "updated_at": now}
                    for t, d, c in keys
                ]
            )
            .on_conflict_do_nothing()
        )
        current = _lock_totals(connection, wanted)
    for tenant, amounts in items:
        mine = {ccy: current[(tenant, amounts.day, ccy)] for ccy in amounts.amounts}
        for currency, total in check_limits(mine.__getitem__, amounts).items():
            current[(tenant, amounts.day, currency)] = total
    connection.execute(
        _SET_TOTAL,
        [
            {"k_tenant": t, "k_day": d, "k_currency": c, "amount": current[(t, d, c)], "now": now}
            for t, d, c in keys
        ],
    )


_SET_TOTAL = (
    update(daily_totals)
    .where(
        daily_totals.c.tenant == bindparam("k_tenant"),
        daily_totals.c.day == bindparam("k_day"),
        daily_totals.c.currency == bindparam("k_currency"),
    )
    .values(amount=bindparam("amount"), updated_at=bindparam("now"))
)


_LOCK_TOTALS = (
    select(daily_totals.c.currency, daily_totals.c.amount)
    .where(
        daily_totals.c.tenant == bindparam("tenant"),
        daily_totals.c.day == bindparam("day"),
        daily_totals.c.currency.in_(bindparam("currencies", expanding=True)),
    )
    .order_by(daily_totals.c.currency)
    .with_for_update()
)


def _lock_totals(
    connection: Connection, wanted: dict[tuple[str, date], set[str]]
) -> dict[tuple[str, date, str], Decimal]:
    """The existing rows of ``wanted``, locked (PostgreSQL ``FOR UPDATE``) in one order."""
    current: dict[tuple[str, date, str], Decimal] = {}
    for tenant, day in sorted(wanted):  # one lock order: no deadlock between writers
        params = {"tenant": tenant, "day": day, "currencies": sorted(wanted[(tenant, day)])}
        for row in connection.execute(_LOCK_TOTALS, params):
            current[(tenant, day, row.currency)] = row.amount
    return current
