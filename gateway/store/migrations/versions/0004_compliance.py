"""Compliance review: findings index, review actions, the per-tenant hash chain, UI
sessions; report list indexes; append-only triggers on reviews and chain entries.

Reports stored before this revision are indexed and chained here, per tenant in
receipt order (gateway.store.chain, format isogw-chain-v1), so that ``isogw reports
verify`` covers them from now on.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)
_APPEND_ONLY = ("reviews", "chain_entries")


def upgrade() -> None:
    op.create_table(
        "report_findings",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(32), nullable=False),
        sa.Column("report_id", sa.String(36), nullable=False),
        sa.Column("received_at", _TS, nullable=False),
        sa.Column("term", sa.String(128), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.UniqueConstraint("report_id", "term", name="uq_report_findings_term"),
    )
    op.create_index(
        "ix_report_findings_term",
        "report_findings",
        ["tenant", "term", "received_at", "report_id"],
    )
    op.create_index(
        "ix_report_findings_term_all", "report_findings", ["term", "received_at", "report_id"]
    )
    op.create_table(
        "reviews",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant", sa.String(32), nullable=False),
        sa.Column("report_id", sa.String(36), nullable=False),
        sa.Column("finding_index", sa.Integer),
        sa.Column("finding_code", sa.String(128)),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("reviewer", sa.String(64), nullable=False),
        sa.Column("reviewer_tenant", sa.String(32), nullable=False),
        sa.Column("reviewer_role", sa.String(16), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_index("ix_reviews_report", "reviews", ["tenant", "report_id", "created_at"])
    op.create_table(
        "chain_entries",
        sa.Column("tenant", sa.String(32), primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("record_id", sa.String(36), nullable=False),
        sa.Column("record_sha256", sa.String(64), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.UniqueConstraint("tenant", "kind", "record_id", name="uq_chain_record"),
    )
    op.create_table(
        "chain_heads",
        sa.Column("tenant", sa.String(32), primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(128)),
        sa.Column("key_id", sa.String(16)),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_table(
        "ui_sessions",
        sa.Column("token_sha256", sa.String(64), primary_key=True),
        sa.Column("tenant", sa.String(32), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("last_seen", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
    )
    op.create_index(
        "ix_reports_tenant_outcome", "reports", ["tenant", "outcome", "received_at", "id"]
    )
    op.create_index(
        "ix_reports_tenant_message", "reports", ["tenant", "message_id", "received_at", "id"]
    )
    op.create_index("ix_reports_tenant_business_id", "reports", ["tenant", "business_message_id"])
    op.create_index("ix_reports_received", "reports", ["received_at", "id"])
    _append_only_triggers()
    _backfill()


def _append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION isogw_append_only() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP "
            "USING ERRCODE = 'insufficient_privilege'; END $$"
        )
        for table in _APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION isogw_append_only()"
            )
        return
    for table in _APPEND_ONLY:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END"
            )


def _backfill() -> None:
    """Index and chain the reports stored before this revision."""
    from gateway.store.chain import GENESIS, entry_hash, record_sha256, report_record
    from gateway.store.findings_index import index_rows
    from gateway.store.tables import chain_entries, chain_heads, report_findings, reports

    bind = op.get_bind()
    tenants = list(bind.execute(sa.select(reports.c.tenant).distinct()).scalars())
    now = datetime.now(UTC)
    for tenant in sorted(tenants):
        seq, prev = 0, GENESIS
        last: tuple[datetime, str] | None = None
        while True:
            query = sa.select(reports).where(reports.c.tenant == tenant)
            if last is not None:
                query = query.where(
                    sa.or_(
                        reports.c.received_at > last[0],
                        sa.and_(reports.c.received_at == last[0], reports.c.id > last[1]),
                    )
                )
            rows = bind.execute(
                query.order_by(reports.c.received_at, reports.c.id).limit(1000)
            ).all()
            if not rows:
                break
            entries, terms = [], []
            for row in rows:
                seq += 1
                digest = record_sha256(report_record(row))
                current = entry_hash(tenant, seq, "report", row.id, digest, prev)
                entries.append(
                    {
                        "tenant": tenant,
                        "seq": seq,
                        "kind": "report",
                        "record_id": row.id,
                        "record_sha256": digest,
                        "prev_hash": prev,
                        "hash": current,
                        "created_at": now,
                    }
                )
                prev = current
                findings = json.loads(row.report).get("findings") or []
                terms += index_rows(tenant, row.id, row.received_at, findings)
            bind.execute(chain_entries.insert(), entries)
            if terms:
                bind.execute(report_findings.insert(), terms)
            last = (rows[-1].received_at, rows[-1].id)
        if seq:
            bind.execute(
                chain_heads.insert().values(tenant=tenant, seq=seq, hash=prev, updated_at=now)
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS isogw_append_only()")
    for name in (
        "ix_reports_received",
        "ix_reports_tenant_business_id",
        "ix_reports_tenant_message",
        "ix_reports_tenant_outcome",
    ):
        op.drop_index(name, "reports")
    for table in ("ui_sessions", "chain_heads", "chain_entries", "reviews", "report_findings"):
        op.drop_table(table)
