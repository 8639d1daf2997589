"""Payments index by the original message's business id (outbound correlation by MsgId).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_payments_msgid", "payments", ["tenant", "business_message_id"])


def downgrade() -> None:
    op.drop_index("ix_payments_msgid", "payments")
