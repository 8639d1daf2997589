"""Unit tests for gateway.relay with the in-memory outbox and publisher."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.cloudevents import dlq_topic, outbox_rows
from gateway.kafka import MemoryPublisher, PublishError
from gateway.outbox import MemoryOutbox, NewOutboxRow
from gateway.relay import Relay

TEMPLATE = "{tenant}.payments.{stage}.v1"
TOPIC = "emea.payments.initiation.v1"
DLQ = "emea.payments.dlq.v1"


class Clock:
    """A clock the test moves; starts just after now (MemoryOutbox rows are due at creation)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC) + timedelta(seconds=1)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def rows(n: int, *, tenant: str = "EMEA", start: int = 0) -> list[NewOutboxRow]:
    events: list[dict[str, Any]] = [
        {
            "event_id": f"evt-{i:04d}",
            "event_type": "payment.credit_transfer.fi_to_fi",
            "schema_version": "1",
            "source": {"message_id": "pacs.008.001.08", "payload_sha256": "0" * 64},
            "ids": {"uetr": f"uetr-{i % 3}"},
        }
        for i in range(start, start + n)
    ]
    return outbox_rows(
        events,
        tenant=tenant,
        topic_template=TEMPLATE,
        stage="initiation",
        report_id="rep-1",
        correlation_id="corr-1",
        received_at=datetime(2026, 1, 1, tzinfo=UTC),
        source="/isogw",
    )


def make(outbox: MemoryOutbox, publisher: MemoryPublisher, clock: Clock, **options: Any) -> Relay:
    options.setdefault("rng", random.Random(7))
    return Relay(
        outbox,
        publisher,
        dlq_topic_for=lambda tenant: dlq_topic(TEMPLATE, tenant),
        clock=clock,
        **options,
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_sends_and_marks_in_order(clock: Clock) -> None:
    outbox, publisher = MemoryOutbox(), MemoryPublisher()
    outbox.add(rows(50))
    relay = make(outbox, publisher, clock)
    stats = asyncio.run(relay.run_once())
    assert (stats.fetched, stats.sent, stats.retried, stats.dead) == (50, 50, 0, 0)
    assert [r.header("ce_id") for r in publisher.records] == [
        f"evt-{i:04d}".encode() for i in range(50)
    ]
    assert publisher.topics == {TOPIC}
    assert {row.status for row in outbox.rows()} == {"sent"}
    assert relay.sent == 50
    assert relay.broker_up
    assert asyncio.run(relay.run_once()).fetched == 0


def test_batch_size_limits_one_run(clock: Clock) -> None:
    outbox, publisher = MemoryOutbox(), MemoryPublisher()
    outbox.add(rows(7))
    relay = make(outbox, publisher, clock, batch_size=5)
    assert asyncio.run(relay.run_once()).sent == 5
    assert asyncio.run(relay.run_once()).sent == 2
    assert [r.header("ce_id") for r in publisher.records] == [
        f"evt-{i:04d}".encode() for i in range(7)
    ]


def test_backoff_is_exponential_capped_and_jittered() -> None:
    relay = Relay(
        MemoryOutbox(),
        MemoryPublisher(),
        dlq_topic_for=str,
        backoff_base_s=0.5,
        backoff_cap_s=4.0,
        rng=random.Random(1),
    )
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (9, 4.0)]:
        delays = {relay.backoff_s(attempt) for _ in range(20)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jitter


def test_refused_record_is_retried_with_backoff(clock: Clock) -> None:
    outbox, publisher = MemoryOutbox(), MemoryPublisher()
    outbox.add(rows(3))
    publisher.reject("evt-0001", topic=TOPIC, reason="record too large")
    relay = make(outbox, publisher, clock, backoff_base_s=10, backoff_cap_s=100)
    stats = asyncio.run(relay.run_once())
    assert (stats.sent, stats.retried, stats.dead) == (2, 1, 0)
    refused = outbox.rows()[1]
    assert (refused.status, refused.attempts) == ("pending", 1)
    assert refused.last_error is not None and "record too large" in refused.last_error
    assert outbox.fetch_pending(10, clock.now) == []  # not due before the backoff
    assert outbox.fetch_pending(10, clock.now + timedelta(seconds=5)) == []
    assert [r.id for r in outbox.fetch_pending(10, clock.now + timedelta(seconds=10))] == [2]
    outbox.release([2], clock.now)  # end the lease this probe took
    publisher.accept("evt-0001")
    clock.advance(10)
    assert asyncio.run(relay.run_once()).sent == 1
    assert {row.status for row in outbox.rows()} == {"sent"}


def test_poison_goes_to_dlq_after_max_attempts(clock: Clock) -> None:
    outbox, publisher = MemoryOutbox(), MemoryPublisher()
    outbox.add(rows(2))
    publisher.reject("evt-0000", topic=TOPIC, reason="record too large")
    relay = make(outbox, publisher, clock, max_attempts=3, backoff_base_s=1, backoff_cap_s=1)
    results = []
    for _ in range(4):
        results.append(asyncio.run(relay.run_once()))
        clock.advance(1)
    assert [(s.retried, s.dead) for s in results] == [(1, 0), (1, 0), (0, 1), (0, 0)]
    poison = outbox.rows()[0]
    assert (poison.status, poison.attempts) == ("dead", 3)
    (dead,) = publisher.on(DLQ)
    original = rows(1)[0]
    assert (dead.key, dead.value) == (original.key, original.value)
    assert dead.headers[: len(original.headers)] == original.headers
    assert dead.header("ce_reportid") == b"rep-1"
    assert b"record too large" in (dead.header("gw_error") or b"")
    assert dead.header("gw_original_topic") == TOPIC.encode()
    assert dead.header("gw_attempts") == b"3"
    assert DLQ in publisher.topics
    assert (relay.dead, relay.retried, relay.sent) == (1, 2, 1)


def test_dlq_adds_report_id_when_headers_lack_it(clock: Clock) -> None:
    outbox, publisher = MemoryOutbox(), MemoryPublisher()
    bare = NewOutboxRow("EMEA", "evt-x", TOPIC, None, (("ce_id", b"evt-x"),), b"{}", "rep-9")
    outbox.add([bare])
    publisher.reject("evt-x", topic=TOPIC)
    relay = make(outbox, publisher, clock, max_attempts=1)
    assert asyncio.run(relay.run_once()).dead == 1
    (dead,) = publisher.on(DLQ)
    assert dead.header("ce_reportid") == b"rep-9"
    assert dead.key is None


def test_failed_dead_lettering_keeps_the_row(clock: Clock) -> None:
    outbox, publisher = MemoryOutbox(), MemoryPublisher()
    outbox.add(rows(1))
    publisher.reject("evt-0000")  # on every topic, the DLQ too
    relay = make(outbox, publisher, clock, max_attempts=1)
    stats = asyncio.run(relay.run_once())
    assert (stats.dead, stats.retried) == (0, 1)
    (row,) = outbox.rows()
    assert row.status == "pending"
    assert row.last_error is not None and "dead-letter failed" in row.last_error


def test_broker_down_leaves_rows_pending_and_dead_letters_nothing(clock: Clock) -> None:
    outbox, publisher = MemoryOutbox(), MemoryPublisher()
    outbox.add(rows(5))
    publisher.reject("evt-0002", topic=TOPIC)
    relay = make(outbox, publisher, clock, max_attempts=1)
    publisher.set_down()
    for _ in range(3):
        stats = asyncio.run(relay.run_once())
        assert stats.broker_down
        assert (stats.sent, stats.dead, stats.deferred) == (0, 0, 5)
    assert not relay.broker_up
    assert relay.last_error is not None and "down" in relay.last_error
    assert [(r.status, r.attempts) for r in outbox.rows()] == [("pending", 0)] * 5
    assert publisher.records == []
    publisher.set_down(False)
    stats = asyncio.run(relay.run_once())
    assert (stats.sent, stats.dead) == (4, 1)  # the poison row only now, broker up
    assert relay.broker_up
    assert [r.header("ce_id") for r in publisher.on(TOPIC)] == [
        b"evt-0000",
        b"evt-0001",
        b"evt-0003",
        b"evt-0004",
    ]


def test_run_forever_drains_rides_out_an_outage_and_stops() -> None:
    outbox, publisher = MemoryOutbox(), MemoryPublisher()
    relay = Relay(
        outbox,
        publisher,
        dlq_topic_for=lambda tenant: dlq_topic(TEMPLATE, tenant),
        batch_size=10,
        backoff_base_s=0.01,
        broker_retry_cap_s=0.02,
    )

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run_forever(stop, idle_sleep_s=0.01))
        outbox.add(rows(25))
        await _until(lambda: relay.sent == 25)
        publisher.set_down()
        outbox.add(rows(5, start=25))
        await _until(lambda: not relay.broker_up)
        assert relay.sent == 25
        publisher.set_down(False)
        await _until(lambda: relay.sent == 30)
        assert relay.broker_up
        stop.set()
        await asyncio.wait_for(task, 1)

    asyncio.run(scenario())
    assert [r.header("ce_id") for r in publisher.records] == [
        f"evt-{i:04d}".encode() for i in range(30)
    ]
    assert {row.status for row in outbox.rows()} == {"sent"}


async def _until(condition: Any, timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.005)


def test_memory_publisher_rejects_only_where_told() -> None:
    publisher = MemoryPublisher()

    async def scenario() -> None:
        publisher.reject("a", topic="t1")
        await publisher.publish("t2", None, b"v", [("ce_id", b"a")])
        with pytest.raises(PublishError, match="rejected"):
            await publisher.publish("t1", None, b"v", [("ce_id", b"a")])
        assert await publisher.healthy()
        publisher.set_down()
        assert not await publisher.healthy()

    asyncio.run(scenario())
    assert [r.topic for r in publisher.records] == ["t2"]
