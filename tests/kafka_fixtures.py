"""Pytest plugin for tests against the real dev broker (Tansu, memory-only).

Load with ``pytest_plugins = ["tests.kafka_fixtures"]`` in ``tests/conftest.py``
(or ``-p tests.kafka_fixtures``). Provides:

* ``broker`` — one :class:`~gateway.devbroker.DevBroker` for the session
  (never restarted: tests that stop a broker use ``own_broker``);
* ``own_broker`` — a broker for one test, free to be stopped and restarted;
* ``kafka_config`` — a :class:`~gateway.kafka.KafkaConfig` for ``broker``
  (idempotence off: the dev broker refuses aiokafka's idempotent producer);
* :func:`consume` — read N records from topics with a fresh consumer group,
  then keep polling briefly so that duplicates would show. Events are counted
  by consuming them, never from end offsets (DESIGN.md §4: the dev broker's
  end-offset answers can run a few records short).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from aiokafka import AIOKafkaConsumer

from gateway.devbroker import DevBroker
from gateway.kafka import KafkaConfig

__all__ = ["Consumed", "broker_config", "consume"]


@dataclass(frozen=True)
class Consumed:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, bytes]


def broker_config(broker: DevBroker, **overrides: object) -> KafkaConfig:
    """Settings for a dev broker: no idempotence, short timeouts (quick outage tests)."""
    values: dict[str, object] = {
        "bootstrap_servers": broker.bootstrap,
        "idempotence": False,
        "request_timeout_ms": 2000,
        "topic_partitions": 3,
    }
    values.update(overrides)
    return KafkaConfig.model_validate(values)


async def consume(
    bootstrap: str,
    topics: list[str],
    n: int,
    *,
    timeout_s: float = 20.0,
    settle_s: float = 0.5,
) -> list[Consumed]:
    """At least ``n`` records of ``topics`` (from the beginning) with a fresh group.

    Returns early only after ``n`` records and ``settle_s`` seconds without more;
    raises AssertionError when fewer than ``n`` arrive within ``timeout_s``.
    """
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=f"test-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        # The dev broker answers JoinGroup after about half the session timeout.
        session_timeout_ms=2000,
        heartbeat_interval_ms=500,
    )
    await consumer.start()
    records: list[Consumed] = []
    deadline = time.monotonic() + timeout_s
    quiet_since: float | None = None
    try:
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            fresh = [record for part in batches.values() for record in part]
            records += [
                Consumed(
                    r.topic, r.partition, r.offset, r.key, r.value, {k: v for k, v in r.headers}
                )
                for r in fresh
            ]
            if len(records) < n:
                continue
            if fresh or quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= settle_s:
                break
    finally:
        await consumer.stop()
    assert len(records) >= n, f"consumed {len(records)} of {n} records from {topics}"
    return records


@pytest.fixture(scope="session")
def broker() -> Iterator[DevBroker]:
    with DevBroker() as running:
        yield running


@pytest.fixture
def own_broker() -> Iterator[DevBroker]:
    with DevBroker() as running:
        yield running


@pytest.fixture
def kafka_config(broker: DevBroker) -> KafkaConfig:
    return broker_config(broker)
