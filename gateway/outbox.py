"""The transactional outbox: rows the relay publishes to Kafka.

The store writes :class:`NewOutboxRow` objects in the same database transaction
as the report (DESIGN.md §2 "store + publish"); the relay reads them back as
:class:`OutboxRow` through the small :class:`OutboxSource` port, publishes,
and marks each row sent, scheduled for retry, or dead (dead-lettered).
:class:`MemoryOutbox` is a real in-memory implementation for unit tests.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

__all__ = [
    "LEASE",
    "MemoryOutbox",
    "NewOutboxRow",
    "OutboxRow",
    "OutboxSource",
    "OutboxStatus",
    "decode_headers",
    "encode_headers",
]

OutboxStatus = Literal["pending", "sent", "dead"]

#: How long fetched rows stay reserved for the relay that fetched them.
LEASE = timedelta(seconds=30)


def encode_headers(headers: tuple[tuple[str, bytes], ...]) -> str:
    """Kafka headers as stored in the outbox (JSON of name and base64 value pairs)."""
    return json.dumps([[name, base64.b64encode(value).decode()] for name, value in headers])


def decode_headers(text: str) -> tuple[tuple[str, bytes], ...]:
    return tuple((name, base64.b64decode(value)) for name, value in json.loads(text))


@dataclass(frozen=True, slots=True)
class NewOutboxRow:
    tenant: str
    event_id: str  # stable; the de-duplication key downstream (CloudEvents id)
    topic: str
    key: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    value: bytes
    report_id: str


@dataclass(frozen=True, slots=True)
class OutboxRow(NewOutboxRow):
    id: int = 0
    attempts: int = 0
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    status: OutboxStatus = "pending"
    last_error: str | None = None


class OutboxSource(Protocol):
    """What the relay needs from the store."""

    def fetch_pending(self, limit: int, now: datetime) -> list[OutboxRow]:
        """Pending rows due at ``now``, oldest first, *leased*: until :data:`LEASE`
        has passed (or :meth:`release`), no other relay fetches them, so several
        gateway replicas can each run a relay over one database."""

    def release(self, ids: list[int], now: datetime) -> None:
        """End the lease of rows that were not published (the broker was down)."""

    def mark_sent(self, ids: list[int], now: datetime) -> None: ...

    def mark_retry(self, row_id: int, error: str, next_attempt_at: datetime) -> None:
        """Count one failed attempt and schedule the next."""

    def mark_dead(self, row_id: int, error: str, now: datetime) -> None:
        """The row was dead-lettered (published to the tenant's DLQ topic)."""


class MemoryOutbox:
    """An in-memory :class:`OutboxSource` (and writer) for unit tests."""

    def __init__(self) -> None:
        self._rows: dict[int, OutboxRow] = {}
        self._due: dict[int, datetime] = {}
        self._next = 1
        self._lock = threading.Lock()

    def add(self, rows: list[NewOutboxRow]) -> list[int]:
        ids = []
        with self._lock:
            for row in rows:
                stored = OutboxRow(
                    **{f: getattr(row, f) for f in NewOutboxRow.__slots__}, id=self._next
                )
                self._rows[self._next] = stored
                self._due[self._next] = stored.created_at
                ids.append(self._next)
                self._next += 1
        return ids

    def rows(self) -> list[OutboxRow]:
        with self._lock:
            return [self._rows[k] for k in sorted(self._rows)]

    def fetch_pending(self, limit: int, now: datetime) -> list[OutboxRow]:
        with self._lock:
            due = [
                row
                for key, row in sorted(self._rows.items())
                if row.status == "pending" and self._due[key] <= now
            ][:limit]
            for row in due:
                self._due[row.id] = now + LEASE
            return due

    def release(self, ids: list[int], now: datetime) -> None:
        with self._lock:
            for row_id in ids:
                if self._rows[row_id].status == "pending":
                    self._due[row_id] = now

    def mark_sent(self, ids: list[int], now: datetime) -> None:
        with self._lock:
            for row_id in ids:
                self._rows[row_id] = replace(self._rows[row_id], status="sent")

    def mark_retry(self, row_id: int, error: str, next_attempt_at: datetime) -> None:
        with self._lock:
            row = self._rows[row_id]
            self._rows[row_id] = replace(row, attempts=row.attempts + 1, last_error=error)
            self._due[row_id] = next_attempt_at

    def mark_dead(self, row_id: int, error: str, now: datetime) -> None:
        with self._lock:
            row = self._rows[row_id]
            self._rows[row_id] = replace(
                row, status="dead", attempts=row.attempts + 1, last_error=error
            )
