"""Durable state: reports, the outbox, idempotency records (SQLAlchemy; SQLite by
default, PostgreSQL in production). See :class:`gateway.store.store.Store`."""

from __future__ import annotations

from gateway.store.store import Claim, DuplicateBusinessMessage, ReportPage, Store

__all__ = ["Claim", "DuplicateBusinessMessage", "ReportPage", "Store"]
