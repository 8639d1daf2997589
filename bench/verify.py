"""After the load: is every accepted message durable and published, exactly once?

* durable: every report id answered with 202 is a row of ``reports``; every event id
  answered is an ``outbox`` row, and each such row is ``sent``;
* published: the events are counted by consuming the tenant's topic from the start
  with a fresh consumer group (DESIGN.md §4: never the dev broker's end offsets) and
  compared by ``ce_id`` with the event ids answered: lost, duplicated, unexpected.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer
from sqlalchemy import select

from gateway.store import Store
from gateway.store.tables import outbox, reports


def pending_rows(store: Store) -> int:
    stats = store.outbox_stats(datetime.now(UTC))
    return sum(count for _tenant, status, count, _age in stats if status == "pending")


def wait_drained(store: Store, timeout_s: float) -> float | None:
    """Seconds until no outbox row is pending (None: still pending after ``timeout_s``)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        if pending_rows(store) == 0:
            return round(time.monotonic() - start, 2)
        time.sleep(0.1)
    return None


def durable(store: Store, report_ids: set[str], event_ids: set[str]) -> dict[str, int]:
    with store.engine.connect() as connection:
        stored_reports = {row[0] for row in connection.execute(select(reports.c.id))}
        rows = connection.execute(select(outbox.c.event_id, outbox.c.status)).all()
    status = {event_id: state for event_id, state in rows}
    return {
        "reports_missing": len(report_ids - stored_reports),
        "outbox_missing": len(event_ids - set(status)),
        "outbox_not_sent": sum(1 for e in event_ids if status.get(e, "sent") != "sent"),
    }


async def consume_ids(
    bootstrap: str, topic: str, expected: int, timeout_s: float = 120.0, settle_s: float = 2.0
) -> Counter[str]:
    """``ce_id`` of every record on ``topic``: until ``expected`` arrived and it stays quiet."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"bench-verify-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=2000,  # the dev broker answers JoinGroup after ~half of it
        heartbeat_interval_ms=500,
        max_poll_records=5000,
    )
    await consumer.start()
    seen: Counter[str] = Counter()
    deadline = time.monotonic() + timeout_s
    quiet_since: float | None = None
    try:
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=250, max_records=5000)
            fresh = [record for part in batches.values() for record in part]
            for record in fresh:
                headers = dict(record.headers)
                seen[headers.get("ce_id", b"").decode()] += 1
            if sum(seen.values()) < expected:
                continue
            if fresh or quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= settle_s:
                break
    finally:
        await consumer.stop()
    return seen


def published(accepted: set[str], seen: Counter[str]) -> dict[str, Any]:
    return {
        "consumed": sum(seen.values()),
        "lost": len(accepted - set(seen)),
        "duplicated": sum(n - 1 for n in seen.values() if n > 1),
        "unexpected": len(set(seen) - accepted),
    }
