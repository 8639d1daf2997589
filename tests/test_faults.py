"""Load with verification, and faults during the load (DESIGN.md §5: a 2xx means the
report and the events are durable; no acknowledged message is lost or duplicated).

The gateway runs on real uvicorn (loopback) with the real dev broker and a real store;
clients submit :data:`N` unique messages (pacs.008 with three transactions, MT 103), each
keeping its Idempotency-Key across retries; a fresh consumer reads the events back and
counts them by ``ce_id`` against the acknowledged answers: every acknowledged event
arrives, none of another message, none twice (or, where a fault allows it, twice only as
the very same event). Every acknowledged report is in the database.

* the broker stopped while the load goes on and restarted: the answers stay 202 (a
  fail-open tenant: durable in the outbox) and the backlog drains after the restart. The
  dev broker keeps records in memory only, so what it held before the stop is read before
  it (the load pauses for that instant) and compared apart;
* PostgreSQL refusing connections (``ALLOW_CONNECTIONS false``, every session of the
  gateway terminated) while the load goes on: 503, never a 2xx without a commit; after
  recovery every message is retried with its key and all of them end accepted;
* SQLite locked by another writer for a while: the gateway waits (busy timeout), then
  commits; nothing is refused, nothing lost.

The gateway killed with SIGKILL is in ``test_faults_kill.py``. ``N`` grows with
``ISOGW_RELIABILITY_TIER=long`` (``make reliability``).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from gateway.api.app import create_app
from gateway.devbroker import DevBroker
from gateway.kafka import AioKafkaPublisher
from gateway.pipeline import Gateway
from gateway.settings import Settings
from gateway.store import Store
from gateway.tenants import TenantRegistry
from tests.api_fixtures import make_tenants, serving
from tests.kafka_fixtures import broker_config, consume
from tests.reliability_support import (
    LONG,
    Load,
    acknowledged_ids,
    check_delivery,
    check_durable,
    finish,
    mixed_messages,
    outbox_pending,
    summary,
    wait_until,
)

TOPIC = "emea.payments.initiation.v1"
N = 3_000 if LONG else 240
UNLIMITED = {"rate_per_second: 200": "rate_per_second: 100000", "burst: 400": "burst: 100000"}


@contextmanager
def gateway_app(
    tmp_path: Path, gateway: Gateway, settings: Settings, broker: DevBroker, url: str
) -> Iterator[tuple[str, str, Store, Any]]:
    folder, keys = make_tenants(tmp_path, {"EMEA": UNLIMITED})
    store = Store(url)
    app = create_app(
        settings, TenantRegistry.load(folder), gateway=gateway, store=store,
        publisher=AioKafkaPublisher(broker_config(broker)), relay_interval_s=0.02,
    )  # fmt: skip
    try:
        with serving(app) as base:
            yield base, keys["EMEA"], store, app
    finally:
        store.close()


def read_back(broker: DevBroker, n: int) -> list[Any]:
    return asyncio.run(consume(broker.bootstrap, [TOPIC], n, timeout_s=120, settle_s=1.5))


def test_broker_stopped_and_restarted_during_load(
    tmp_path: Path, own_broker: DevBroker, gateway: Gateway, settings: Settings
) -> None:
    messages = mixed_messages(N, f"B{uuid.uuid4().hex[:6]}")
    url = f"sqlite:///{tmp_path / 'faults.db'}"
    with gateway_app(tmp_path, gateway, settings, own_broker, url) as (base, key, store, app):
        relay = app.state.services.relay
        load = Load(base, key)
        runner = load.run_in_background(messages)
        wait_until(lambda: load.done >= N // 3, 300, "a third of the load")
        load.pause()  # the memory-only broker's records are read before it stops
        wait_until(lambda: outbox_pending(store.engine) == 0, 60, "the outbox to drain")
        before_ids = acknowledged_ids(messages)
        before = read_back(own_broker, len(before_ids))
        own_broker.stop()
        load.resume()
        at_stop = load.done
        wait_until(lambda: relay.broker_up is False, 60, "the relay to see the broker down")
        wait_until(lambda: load.done >= max(2 * N // 3, at_stop + 20), 300, "load in the outage")
        backlog = outbox_pending(store.engine)
        own_broker.start()  # same port, empty
        runner.join(timeout=600)
        assert backlog > 0, "the outage held nothing back: it was not during the load"
        assert all(m.answers == [202] for m in messages), "a fail-open tenant answers 202"
        wait_until(lambda: outbox_pending(store.engine) == 0, 120, "the outbox to drain")
        after = read_back(own_broker, len(acknowledged_ids(messages) - before_ids))
        check_durable(store.engine, messages)
    assert {r.headers["ce_id"].decode() for r in before} == before_ids
    counts = check_delivery(before + after, messages, redelivery=False)
    assert counts["events"] == sum(len(m.event_ids) for m in messages)
    summary("broker restart", messages, backlog=backlog, before=len(before), **counts)


@pytest.fixture
def outage_database(postgres_url: str) -> Iterator[tuple[str, Callable[[bool], None]]]:
    """A database of its own on the PostgreSQL server, and a switch that refuses its
    connections (and ends the open ones) or lets them in again."""
    base = make_url(postgres_url)
    name = f"isogw_outage_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")

    def run(statement: str) -> None:
        with admin.connect() as connection:
            connection.execute(text(statement))

    def available(yes: bool) -> None:
        run(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(yes).lower()}')
        if not yes:
            run(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")

    run(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False), available
    finally:
        available(True)
        available(False)  # ends the gateway's last sessions
        run(f'DROP DATABASE IF EXISTS "{name}"')
        admin.dispose()


def test_database_unavailable_during_load_answers_503_never_2xx(
    tmp_path: Path,
    own_broker: DevBroker,
    gateway: Gateway,
    settings: Settings,
    outage_database: tuple[str, Callable[[bool], None]],
) -> None:
    url, available = outage_database
    messages = mixed_messages(N, f"D{uuid.uuid4().hex[:6]}")
    with gateway_app(tmp_path, gateway, settings, own_broker, url) as (base, key, store, _app):
        load = Load(base, key)
        runner = load.run_in_background(messages)
        wait_until(lambda: load.done >= N // 3, 300, "a third of the load")
        available(False)

        def refused() -> int:
            return sum(a == 503 for m in messages for a in m.answers)

        wait_until(lambda: refused() >= 10, 60, "503 answers while the database is down")
        time.sleep(3.0 if LONG else 0.5)  # the load goes on against the outage
        ready = httpx2.get(f"{base}/readyz", timeout=10)
        available(True)
        runner.join(timeout=600)
        assert ready.status_code == 503 and ready.json()["checks"]["database"] is False
        assert {a for m in messages for a in m.answers} <= {202, 409, 503}, "never a 5xx else"
        finish(load, messages, store.engine)
        check_durable(store.engine, messages)
    records = read_back(own_broker, len(acknowledged_ids(messages)))
    counts = check_delivery(records, messages, redelivery=True)
    summary("database outage", messages, **counts)


def test_sqlite_locked_for_a_while_waits_then_commits(
    tmp_path: Path, own_broker: DevBroker, gateway: Gateway, settings: Settings
) -> None:
    messages = mixed_messages(N // 2, f"L{uuid.uuid4().hex[:6]}")
    path = tmp_path / "locked.db"
    with gateway_app(tmp_path, gateway, settings, own_broker, f"sqlite:///{path}") as (
        base, key, store, _app,
    ):  # fmt: skip
        load = Load(base, key)
        runner = load.run_in_background(messages)
        wait_until(lambda: load.done >= N // 6, 300, "a third of the load")
        holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN EXCLUSIVE")  # another writer holds the database
        locked_at = load.done
        time.sleep(1.5)
        stalled = load.done - locked_at
        holder.execute("ROLLBACK")
        holder.close()
        runner.join(timeout=600)
        assert stalled <= 8, "requests were answered without a commit while locked"
        assert all(m.answers == [202] for m in messages)
        assert max(m.slowest for m in messages) >= 1.0  # they waited for the lock
        wait_until(lambda: outbox_pending(store.engine) == 0, 120, "the outbox to drain")
        check_durable(store.engine, messages)
    records = read_back(own_broker, len(acknowledged_ids(messages)))
    counts = check_delivery(records, messages, redelivery=False)
    summary("sqlite locked", messages, stalled=stalled, **counts)
