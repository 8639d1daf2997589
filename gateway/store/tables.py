"""Database tables (SQLAlchemy Core). The schema is created by Alembic migrations
(``gateway/store/migrations``); these definitions are the code's view of it and a
test checks that a migrated database matches them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Dialect,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

__all__ = [
    "business_messages",
    "chain_entries",
    "chain_heads",
    "daily_totals",
    "idempotency",
    "metadata",
    "outbound",
    "outbox",
    "payments",
    "report_findings",
    "reports",
    "reviews",
    "ui_sessions",
]

metadata = MetaData()


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps are UTC everywhere: aware in Python, ``timestamptz`` in PostgreSQL,
    naive-UTC text in SQLite (which has no time zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class DecimalText(TypeDecorator[Decimal]):
    """Exact decimals as text: SQLite has no exact decimal type, and totals are only
    ever added to in Python under a lock (never summed in SQL)."""

    impl = String(64)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> str | None:
        return None if value is None else str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


_ID = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements INTEGER PKs only

reports = Table(
    "reports",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant", String(32), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("channel", String(64)),
    Column("correlation_id", String(64)),
    Column("message_id", String(32)),
    Column("business_message_id", String(64)),
    Column("outcome", String(32), nullable=False),
    Column("payload_sha256", String(64), nullable=False),
    Column("payload_size", BigInteger, nullable=False),
    Column("report", Text, nullable=False),  # the report as JSON
    Column("payload", LargeBinary),  # only when the tenant stores payloads
    Index("ix_reports_tenant_received", "tenant", "received_at", "id"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("tenant", String(32), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("topic", String(255), nullable=False),
    Column("key", LargeBinary),
    Column("headers", Text, nullable=False),  # JSON [[name, base64 value], ...]
    Column("value", LargeBinary, nullable=False),
    Column("report_id", String(36), nullable=False),
    Column("status", String(16), nullable=False),  # pending | sent | dead
    Column("attempts", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("sent_at", UTCDateTime()),
    Column("last_error", Text),
    UniqueConstraint("event_id", name="uq_outbox_event_id"),
    Index("ix_outbox_due", "status", "next_attempt_at", "id"),
)

idempotency = Table(
    "idempotency",
    metadata,
    Column("tenant", String(32), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("payload_sha256", String(64), nullable=False),
    Column("state", String(16), nullable=False),  # processing | done
    Column("response_status", Integer),
    Column("response_body", LargeBinary),
    Column("report_id", String(36)),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

business_messages = Table(
    "business_messages",
    metadata,
    Column("tenant", String(32), primary_key=True),
    Column("business_message_id", String(64), primary_key=True),
    Column("report_id", String(36), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

#: Per-day totals of accepted amounts (tenant per-day limits): one row per tenant,
#: receipt day (in the tenant's time zone) and currency.
daily_totals = Table(
    "daily_totals",
    metadata,
    Column("tenant", String(32), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("amount", DecimalText(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

#: Which accepted inbound message and event carried a payment (by UETR, EndToEndId):
#: how outbound status and execution events find their original (``GET /v1/payments``).
payments = Table(
    "payments",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("tenant", String(32), nullable=False),
    Column("uetr", String(36)),
    Column("end_to_end_id", String(35)),
    Column("instruction_id", String(35)),
    Column("report_id", String(36), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("message_id", String(32)),
    Column("business_message_id", String(64)),
    Column("received_at", UTCDateTime(), nullable=False),
    Index("ix_payments_uetr", "tenant", "uetr"),
    Index("ix_payments_e2e", "tenant", "end_to_end_id"),
    Index("ix_payments_msgid", "tenant", "business_message_id"),
)

#: One row per outbound event handled (a status or execution event consumed) and the
#: message rendered for it: delivered, dead-lettered, or not renderable.
outbound = Table(
    "outbound",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("tenant", String(32), nullable=False),
    Column("message_id", String(64), nullable=False),  # the rendered message's stable id
    Column("source_event_id", String(64), nullable=False),
    Column("source_event_type", String(128)),
    Column("source_topic", String(255), nullable=False),
    Column("uetr", String(36)),
    Column("end_to_end_id", String(35)),
    Column("target", String(32)),
    Column("outcome", String(16), nullable=False),  # delivered | dead_lettered
    Column("channels", String(64), nullable=False),  # e.g. "topic,webhook"
    Column("attempts", Integer, nullable=False),
    Column("error", Text),
    Column("findings", Text, nullable=False),  # JSON list
    Column("body_sha256", String(64)),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("tenant", "message_id", name="uq_outbound_message"),
    Index("ix_outbound_uetr", "tenant", "uetr"),
)

# -- compliance review (migration 0004): findings index, review actions, the per-tenant
# hash chain over reports and review actions, and web sessions ------------------------

#: One row per distinct finding code or rule id of a report (the report list's "rule
#: code" filter and the dashboard's top failing rules), written with the report.
report_findings = Table(
    "report_findings",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("tenant", String(32), nullable=False),
    Column("report_id", String(36), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("term", String(128), nullable=False),  # a finding code or a rule id
    Column("severity", String(16), nullable=False),  # the worst severity under this term
    UniqueConstraint("report_id", "term", name="uq_report_findings_term"),
    Index("ix_report_findings_term", "tenant", "term", "received_at", "report_id"),
    Index("ix_report_findings_term_all", "term", "received_at", "report_id"),
)

#: Review actions on a report or one of its findings: append-only (database triggers
#: refuse UPDATE and DELETE; the hash chain detects edits anyway).
reviews = Table(
    "reviews",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant", String(32), nullable=False),  # the report's tenant
    Column("report_id", String(36), nullable=False),
    Column("finding_index", Integer),  # None: the whole report
    Column("finding_code", String(128)),
    Column("action", String(16), nullable=False),  # acknowledge | waive | annotate
    Column("text", Text, nullable=False),
    Column("reviewer", String(64), nullable=False),
    Column("reviewer_tenant", String(32), nullable=False),
    Column("reviewer_role", String(16), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_reviews_report", "tenant", "report_id", "created_at"),
)

#: The per-tenant hash chain: entry ``seq`` covers a report or a review action and the
#: previous entry's hash (gateway.store.chain). Append-only like ``reviews``.
chain_entries = Table(
    "chain_entries",
    metadata,
    Column("tenant", String(32), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", String(16), nullable=False),  # report | review
    Column("record_id", String(36), nullable=False),
    Column("record_sha256", String(64), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("tenant", "kind", "record_id", name="uq_chain_record"),
)

#: The head of each tenant's chain: the row every append locks (one writer at a time
#: per tenant), with the optional Ed25519 signature of the head.
chain_heads = Table(
    "chain_heads",
    metadata,
    Column("tenant", String(32), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("signature", String(128)),  # base64 Ed25519 over gateway.store.chain.head_message
    Column("key_id", String(16)),
    Column("updated_at", UTCDateTime(), nullable=False),
)

#: Compliance UI sessions (server side: expiry and sign-out do not depend on the cookie).
ui_sessions = Table(
    "ui_sessions",
    metadata,
    Column("token_sha256", String(64), primary_key=True),
    Column("tenant", String(32), nullable=False),
    Column("username", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_seen", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
)

# Report list filters (migration 0004): keyset pages by outcome, by message id, by
# business message id (MsgId search) and across tenants (the admin view).
Index(
    "ix_reports_tenant_outcome",
    reports.c.tenant,
    reports.c.outcome,
    reports.c.received_at,
    reports.c.id,
)
Index(
    "ix_reports_tenant_message",
    reports.c.tenant,
    reports.c.message_id,
    reports.c.received_at,
    reports.c.id,
)
Index("ix_reports_tenant_business_id", reports.c.tenant, reports.c.business_message_id)
Index("ix_reports_received", reports.c.received_at, reports.c.id)
