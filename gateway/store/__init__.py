"""Durable state: reports, the outbox, idempotency records (SQLAlchemy; SQLite by
default, PostgreSQL in production). See :class:`gateway.store.store.Store`."""

from __future__ import annotations

from gateway.store.inbound_write import InboundCommit
from gateway.store.store import DuplicateBusinessMessage, IdempotencyKeyTaken, ReportPage, Store

__all__ = [
    "DuplicateBusinessMessage",
    "IdempotencyKeyTaken",
    "InboundCommit",
    "ReportPage",
    "Store",
]
