"""Payments index (inbound correlation) and outbound deliveries.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "payments",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(32), nullable=False),
        sa.Column("uetr", sa.String(36)),
        sa.Column("end_to_end_id", sa.String(35)),
        sa.Column("instruction_id", sa.String(35)),
        sa.Column("report_id", sa.String(36), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("message_id", sa.String(32)),
        sa.Column("business_message_id", sa.String(64)),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_payments_uetr", "payments", ["tenant", "uetr"])
    op.create_index("ix_payments_e2e", "payments", ["tenant", "end_to_end_id"])
    op.create_table(
        "outbound",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(32), nullable=False),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("source_event_id", sa.String(64), nullable=False),
        sa.Column("source_event_type", sa.String(128)),
        sa.Column("source_topic", sa.String(255), nullable=False),
        sa.Column("uetr", sa.String(36)),
        sa.Column("end_to_end_id", sa.String(35)),
        sa.Column("target", sa.String(32)),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("channels", sa.String(64), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("findings", sa.Text, nullable=False),
        sa.Column("body_sha256", sa.String(64)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tenant", "message_id", name="uq_outbound_message"),
    )
    op.create_index("ix_outbound_uetr", "outbound", ["tenant", "uetr"])


def downgrade() -> None:
    op.drop_table("outbound")
    op.drop_table("payments")
