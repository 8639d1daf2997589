"""The outbox relay: moves committed outbox rows to Kafka, at least once.

DESIGN.md §2 "store + publish": the report and its outbox rows commit in one
database transaction; this relay publishes the rows and marks them, so that a
2xx answer never loses an event. It owns the delivery policy:

* a batch of due rows (oldest first) is published concurrently, enqueued in row
  order; a row is marked sent only after the broker's ack (one ``mark_sent``
  call per batch);
* fetched rows are leased (see :meth:`OutboxSource.fetch_pending`), so relays in
  several gateway replicas never publish the same row concurrently;
* :class:`~gateway.kafka.BrokerUnavailable` — the broker is down, not the row:
  the rows stay pending, their lease released (no attempt counted, nothing dead-lettered)
  and :meth:`Relay.run_forever` backs off, probing ``healthy()`` until it is back;
* :class:`~gateway.kafka.PublishError` — the broker refuses the record: retried
  with exponential backoff and jitter; the ``max_attempts``-th failure publishes
  it to the tenant's DLQ topic (same key and value, the original headers plus
  ``ce_reportid``, ``gw_error``, ``gw_original_topic``, ``gw_attempts``) and marks
  it dead. A row whose dead-lettering fails stays pending: nothing is dropped.

Rows can reach Kafka more than once (an ack lost on the way back): consumers
de-duplicate by the CloudEvents id, which is the stable event id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from gateway.errors import GatewayError
from gateway.kafka import BrokerUnavailable, Publisher, PublishError
from gateway.outbox import OutboxRow, OutboxSource

__all__ = ["Relay", "RelayStats"]

log = logging.getLogger(__name__)

_MAX_ERROR_HEADER = 1000


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class RelayStats:
    """What one :meth:`Relay.run_once` did."""

    fetched: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    deferred: int = 0  # left pending because the broker was unavailable
    broker_down: bool = False


class Relay:
    """Publishes due outbox rows through a :class:`~gateway.kafka.Publisher`.

    ``broker_up``, ``last_error`` and the counters ``sent``, ``retried``, ``dead``,
    ``deferred`` are read by readiness and metrics.
    """

    def __init__(
        self,
        source: OutboxSource,
        publisher: Publisher,
        *,
        dlq_topic_for: Callable[[str], str],
        batch_size: int = 500,
        max_attempts: int = 5,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 60.0,
        broker_retry_cap_s: float = 5.0,
        clock: Callable[[], datetime] = _utcnow,
        rng: random.Random | None = None,
    ) -> None:
        if batch_size < 1 or max_attempts < 1:
            raise ValueError("batch_size and max_attempts must be at least 1")
        self._source = source
        self._publisher = publisher
        self._dlq_topic_for = dlq_topic_for
        self._batch_size = batch_size
        self._max_attempts = max_attempts
        self._backoff_base_s = backoff_base_s
        self._backoff_cap_s = backoff_cap_s
        self._broker_retry_cap_s = broker_retry_cap_s
        self._clock = clock
        self._rng = rng or random.Random()
        self.broker_up = True
        self.last_error: str | None = None
        self.sent = 0
        self.retried = 0
        self.dead = 0
        self.deferred = 0

    def backoff_s(self, attempt: int) -> float:
        """Delay before attempt ``attempt + 1``: exponential, capped, "equal jitter"."""
        ceiling = min(self._backoff_cap_s, self._backoff_base_s * 2.0 ** max(0, attempt - 1))
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    async def run_once(self) -> RelayStats:
        """Publish one batch of due rows; see the module docstring for the policy."""
        rows = await asyncio.to_thread(self._source.fetch_pending, self._batch_size, self._clock())
        if not rows:
            return RelayStats()
        try:
            await self._publisher.ensure_topics(sorted({row.topic for row in rows}))
        except BrokerUnavailable as exc:
            self._mark_down(exc)
            self.deferred += len(rows)
            await self._release([row.id for row in rows])
            return RelayStats(fetched=len(rows), deferred=len(rows), broker_down=True)
        except PublishError as exc:
            # e.g. no permission to create topics: they may exist or be created by the
            # broker; the publishes below tell.
            self.last_error = exc.message
            log.warning("relay: cannot ensure topics: %s", exc.message)
        tasks = [
            asyncio.create_task(self._publisher.publish(row.topic, row.key, row.value, row.headers))
            for row in rows
        ]
        results = await asyncio.gather(*tasks, return_exceptions=True)
        return await self._settle(rows, results)

    async def _settle(
        self, rows: Sequence[OutboxRow], results: Sequence[BaseException | None]
    ) -> RelayStats:
        sent_ids: list[int] = []
        unsent: list[int] = []  # not published and not settled: their lease is released
        refused: list[tuple[OutboxRow, PublishError]] = []
        unavailable: BrokerUnavailable | None = None
        unexpected: BaseException | None = None
        for row, result in zip(rows, results, strict=True):
            if result is None:
                sent_ids.append(row.id)
            elif isinstance(result, BrokerUnavailable):
                unavailable = unavailable or result
                unsent.append(row.id)
            elif isinstance(result, PublishError):
                refused.append((row, result))
            else:
                unexpected = unexpected or result
                unsent.append(row.id)
        if sent_ids:
            await asyncio.to_thread(self._source.mark_sent, sent_ids, self._clock())
            self.sent += len(sent_ids)
        if unavailable is not None:
            self._mark_down(unavailable)
        elif sent_ids:
            self._mark_up()
        outcomes = [await self._refused(row, error) for row, error in refused]
        unsent += [
            row.id for (row, _), done in zip(refused, outcomes, strict=True) if done == "deferred"
        ]
        await self._release(unsent)
        deferred = len(rows) - len(sent_ids) - len(refused) + outcomes.count("deferred")
        self.deferred += deferred
        if unexpected is not None:  # a bug, not Kafka: rows stay pending; run_forever logs it
            raise unexpected
        return RelayStats(
            fetched=len(rows),
            sent=len(sent_ids),
            retried=outcomes.count("retried"),
            dead=outcomes.count("dead"),
            deferred=deferred,
            broker_down=not self.broker_up,
        )

    async def _refused(self, row: OutboxRow, error: PublishError) -> str:
        """Retry later, or dead-letter on the last attempt; returns what was done."""
        attempt = row.attempts + 1
        self.last_error = error.message
        if attempt < self._max_attempts:
            await self._retry(row, error.message, attempt)
            return "retried"
        if not self.broker_up:
            return "deferred"  # dead-lettering needs the broker too
        try:
            topic = self._dlq_topic_for(row.tenant)
            await self._publisher.ensure_topics([topic])
            await self._publisher.publish(
                topic, row.key, row.value, _dlq_headers(row, error, attempt)
            )
        except BrokerUnavailable as exc:
            self._mark_down(exc)
            return "deferred"
        except GatewayError as exc:
            log.error("relay: dead-lettering event %s failed: %s", row.event_id, exc.message)
            await self._retry(row, f"{error.message}; dead-letter failed: {exc.message}", attempt)
            return "retried"
        await asyncio.to_thread(self._source.mark_dead, row.id, error.message, self._clock())
        self.dead += 1
        log.warning(
            "relay: event %s of tenant %s dead-lettered to %s after %d attempts: %s",
            row.event_id,
            row.tenant,
            topic,
            attempt,
            error.message,
        )
        return "dead"

    async def _release(self, ids: list[int]) -> None:
        if ids:
            await asyncio.to_thread(self._source.release, ids, self._clock())

    async def _retry(self, row: OutboxRow, error: str, attempt: int) -> None:
        due = self._clock() + timedelta(seconds=self.backoff_s(attempt))
        await asyncio.to_thread(self._source.mark_retry, row.id, error, due)
        self.retried += 1

    def _mark_down(self, exc: BrokerUnavailable) -> None:
        if self.broker_up:
            log.warning("relay: broker unavailable, rows stay pending: %s", exc.message)
        self.broker_up = False
        self.last_error = exc.message

    def _mark_up(self) -> None:
        if not self.broker_up:
            log.info("relay: broker reachable again")
        self.broker_up = True

    async def run_forever(self, stop: asyncio.Event, idle_sleep_s: float = 0.05) -> None:
        """Relay until ``stop`` is set: short sleeps when idle, backoff while the broker is down."""
        failures = 0
        while not stop.is_set():
            try:
                if not self.broker_up and not await self._publisher.healthy():
                    stats = RelayStats(broker_down=True)
                else:
                    stats = await self.run_once()
            except Exception as exc:  # the relay must outlive any one bad cycle
                log.exception("relay: cycle failed")
                self.last_error = f"{type(exc).__name__}: {exc}"
                stats = RelayStats(broker_down=True)
            if stats.broker_down:
                failures += 1
                delay = min(self._broker_retry_cap_s, self._backoff_base_s * 2.0 ** (failures - 1))
            else:
                failures = 0
                delay = 0.0 if stats.fetched >= self._batch_size else idle_sleep_s
            await _sleep_unless(stop, delay)


async def _sleep_unless(stop: asyncio.Event, delay: float) -> None:
    if delay <= 0:
        await asyncio.sleep(0)
        return
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(delay):
            await stop.wait()


def _dlq_headers(row: OutboxRow, error: PublishError, attempts: int) -> list[tuple[str, bytes]]:
    headers = list(row.headers)
    if not any(name == "ce_reportid" for name, _ in headers):
        headers.append(("ce_reportid", row.report_id.encode()))
    headers += [
        ("gw_error", error.message[:_MAX_ERROR_HEADER].encode()),
        ("gw_original_topic", row.topic.encode()),
        ("gw_attempts", str(attempts).encode()),
    ]
    return headers
