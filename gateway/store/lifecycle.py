"""A payment's lifecycle in the store: the inbound message that carried it, the events
emitted for it, the status and execution events received for it and the messages the
gateway delivered in answer.

* ``payments`` rows are written with the inbound report, in the same transaction
  (:meth:`gateway.store.Store.commit_inbound`, from :func:`payment_rows`): one per
  accepted event, keyed by UETR and EndToEndId. They let an outbound status event find
  its original message (:meth:`Lifecycle.find_original`).
* ``outbound`` rows record each status/execution event handled by the outbound service
  (:mod:`gateway.outbound`) and what became of the message rendered for it
  (:meth:`Lifecycle.record_outbound`): ``delivered`` or ``dead_lettered``, with the
  attempts, the error and the rendering/validation findings. One row per rendered
  message id: a redelivered event updates its row, never adds a second.
* :meth:`Lifecycle.payment` assembles ``GET /v1/payments/{uetr}``.

Every query is scoped by tenant.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import IntegrityError

from gateway.store.tables import outbound, outbox, payments, reports

if TYPE_CHECKING:
    from gateway.report import Report
    from gateway.store.store import Store

__all__ = ["Lifecycle", "OriginalPayment", "OutboundRecord", "insert_payments", "payment_rows"]


@dataclass(frozen=True, slots=True)
class OriginalPayment:
    """The accepted inbound message and event a payment came in with."""

    report_id: str
    event_id: str
    message_id: str | None
    business_message_id: str | None
    uetr: str | None
    end_to_end_id: str | None
    instruction_id: str | None
    received_at: datetime
    #: the canonical event the inbound message gave (from the outbox), when kept
    event: Mapping[str, Any] | None = None

    @property
    def family(self) -> str:
        """``mt`` (SWIFT FIN), ``pain`` (customer initiation) or ``mx``."""
        message_id = self.message_id or ""
        if message_id.startswith("fin."):
            return "mt"
        return "pain" if message_id.startswith("pain.") else "mx"


@dataclass(frozen=True, slots=True)
class OutboundRecord:
    tenant: str
    message_id: str
    source_event_id: str
    source_event_type: str | None
    source_topic: str
    uetr: str | None
    end_to_end_id: str | None
    target: str | None
    outcome: str  # delivered | dead_lettered
    channels: tuple[str, ...]
    attempts: int
    error: str | None
    findings: list[dict[str, Any]]
    body_sha256: str | None


def _cut(value: Any, size: int) -> str | None:
    return str(value)[:size] if isinstance(value, str) and value else None


def payment_rows(
    tenant: str, report: Report, events: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The ``payments`` rows of an accepted message's events (those with a UETR or an
    EndToEndId: nothing else can find them again)."""
    rows = []
    for event in events:
        ids = event.get("ids") or {}
        uetr, e2e = _cut(ids.get("uetr"), 36), _cut(ids.get("end_to_end_id"), 35)
        if uetr is None and e2e is None:
            continue
        rows.append(
            {
                "tenant": tenant,
                "uetr": uetr,
                "end_to_end_id": e2e,
                "instruction_id": _cut(ids.get("instruction_id"), 35),
                "report_id": report.report_id,
                "event_id": str(event["event_id"]),
                "message_id": report.message_id,
                "business_message_id": report.business_message_id,
                "received_at": report.received_at,
            }
        )
    return rows


def insert_payments(connection: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert ``payments`` rows inside the caller's transaction."""
    if rows:
        connection.execute(payments.insert(), rows)


class Lifecycle:
    """Reads and writes the lifecycle tables of one :class:`~gateway.store.Store`."""

    def __init__(self, store: Store) -> None:
        self.engine = store.engine

    def find_original(
        self,
        tenant: str,
        *,
        uetr: str | None,
        end_to_end_id: str | None,
        message_id: str | None = None,
    ) -> OriginalPayment | None:
        """The newest inbound payment of ``tenant`` with this UETR, else EndToEndId, else
        original message id (``GrpHdr/MsgId`` or MT field 20)."""
        searches = [
            (payments.c.uetr == uetr,) if uetr else None,
            (payments.c.end_to_end_id == end_to_end_id,) if end_to_end_id else None,
            (payments.c.business_message_id == message_id,) if message_id else None,
        ]
        with self.engine.connect() as connection:
            row = None
            for search in searches:
                if search is None:
                    continue
                row = connection.execute(
                    select(payments)
                    .where(payments.c.tenant == tenant, *search)
                    .order_by(payments.c.id.desc())
                    .limit(1)
                ).first()
                if row is not None:
                    break
            if row is None:
                return None
            stored = connection.execute(
                select(outbox.c.value).where(
                    outbox.c.tenant == tenant, outbox.c.event_id == row.event_id
                )
            ).scalar_one_or_none()
        return OriginalPayment(
            report_id=row.report_id,
            event_id=row.event_id,
            message_id=row.message_id,
            business_message_id=row.business_message_id,
            uetr=row.uetr,
            end_to_end_id=row.end_to_end_id,
            instruction_id=row.instruction_id,
            received_at=row.received_at,
            event=json.loads(stored) if stored is not None else None,
        )

    def delivered(self, tenant: str, message_id: str) -> bool:
        """Whether the message was already delivered (a redelivered event is skipped)."""
        with self.engine.connect() as connection:
            outcome = connection.execute(
                select(outbound.c.outcome).where(
                    outbound.c.tenant == tenant, outbound.c.message_id == message_id
                )
            ).scalar_one_or_none()
        return outcome == "delivered"

    def record_outbound(self, record: OutboundRecord) -> None:
        """Insert the record, or update the row of the same message id."""
        now = datetime.now(UTC)
        values = {
            "source_event_id": record.source_event_id,
            "source_event_type": record.source_event_type,
            "source_topic": record.source_topic,
            "uetr": record.uetr,
            "end_to_end_id": record.end_to_end_id,
            "target": record.target,
            "outcome": record.outcome,
            "channels": ",".join(record.channels),
            "attempts": record.attempts,
            "error": record.error,
            "findings": json.dumps(record.findings),
            "body_sha256": record.body_sha256,
            "updated_at": now,
        }
        key = (outbound.c.tenant == record.tenant, outbound.c.message_id == record.message_id)
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    outbound.insert().values(
                        tenant=record.tenant,
                        message_id=record.message_id,
                        created_at=now,
                        **values,
                    )
                )
        except IntegrityError:
            with self.engine.begin() as connection:
                row = connection.execute(select(outbound.c.attempts).where(*key)).first()
                attempts = (row.attempts if row is not None else 0) + record.attempts
                connection.execute(
                    update(outbound).where(*key).values(**{**values, "attempts": attempts})
                )

    def payment(self, tenant: str, uetr: str) -> dict[str, Any] | None:
        """``GET /v1/payments/{uetr}``: the inbound reports, the events emitted, the
        status/execution events received and the messages delivered; None when the
        tenant has nothing under this UETR."""
        with self.engine.connect() as connection:
            inbound_rows = connection.execute(
                select(payments)
                .where(payments.c.tenant == tenant, payments.c.uetr == uetr)
                .order_by(payments.c.id)
            ).all()
            report_ids = sorted({row.report_id for row in inbound_rows})
            event_ids = [row.event_id for row in inbound_rows]
            report_rows = (
                connection.execute(
                    select(reports.c.id, reports.c.report).where(
                        reports.c.tenant == tenant, reports.c.id.in_(report_ids)
                    )
                ).all()
                if report_ids
                else []
            )
            event_rows = (
                connection.execute(
                    select(outbox.c.event_id, outbox.c.topic, outbox.c.status, outbox.c.sent_at)
                    .where(outbox.c.tenant == tenant, outbox.c.event_id.in_(event_ids))
                    .order_by(outbox.c.id)
                ).all()
                if event_ids
                else []
            )
            outbound_rows = connection.execute(
                select(outbound)
                .where(outbound.c.tenant == tenant, outbound.c.uetr == uetr)
                .order_by(outbound.c.id)
            ).all()
        if not inbound_rows and not outbound_rows:
            return None
        inbound_reports = []
        for row in report_rows:
            data = json.loads(row.report)
            inbound_reports.append(
                {
                    key: data.get(key)
                    for key in (
                        "report_id",
                        "received_at",
                        "channel",
                        "message_id",
                        "business_message_id",
                        "outcome",
                        "event_ids",
                    )
                }
            )
        return {
            "uetr": uetr,
            "tenant": tenant,
            "inbound": inbound_reports,
            "events": [
                {
                    "event_id": row.event_id,
                    "topic": row.topic,
                    "status": row.status,
                    "sent_at": row.sent_at.isoformat() if row.sent_at else None,
                }
                for row in event_rows
            ],
            "received": [
                {
                    "event_id": row.source_event_id,
                    "event_type": row.source_event_type,
                    "topic": row.source_topic,
                    "received_at": row.created_at.isoformat(),
                }
                for row in outbound_rows
            ],
            "outbound": [
                {
                    "message_id": row.message_id,
                    "source_event_id": row.source_event_id,
                    "target": row.target,
                    "outcome": row.outcome,
                    "channels": [c for c in row.channels.split(",") if c],
                    "attempts": row.attempts,
                    "error": row.error,
                    "findings": json.loads(row.findings),
                    "body_sha256": row.body_sha256,
                    "updated_at": row.updated_at.isoformat(),
                }
                for row in outbound_rows
            ],
        }
