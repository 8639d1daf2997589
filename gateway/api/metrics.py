"""Prometheus metrics of one app instance (its own registry, served at /metrics).

Requests, message outcomes and latency per tenant and message id; the outbox
lag (pending rows and the age of the oldest) read from the store at scrape time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from gateway.store import Store

__all__ = ["Metrics"]

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _OutboxCollector(Collector):
    def __init__(self, store: Store, broker_up: Callable[[], bool | None]) -> None:
        self._store = store
        self._broker_up = broker_up

    def collect(self) -> Iterator[GaugeMetricFamily]:
        rows = GaugeMetricFamily(
            "isogw_outbox_rows", "Outbox rows by tenant and status.", labels=["tenant", "status"]
        )
        lag = GaugeMetricFamily(
            "isogw_outbox_oldest_pending_seconds",
            "Age of the oldest unpublished outbox row (the outbox lag).",
            labels=["tenant"],
        )
        try:
            stats = self._store.outbox_stats(datetime.now(UTC))
        except Exception:  # a scrape must not fail because the database is down
            stats = []
        for tenant, status, count, age in stats:
            rows.add_metric([tenant, status], count)
            if status == "pending":
                lag.add_metric([tenant], age)
        yield rows
        yield lag
        broker = self._broker_up()
        if broker is not None:
            up = GaugeMetricFamily("isogw_broker_up", "1 when the relay reaches the broker.")
            up.add_metric([], 1.0 if broker else 0.0)
            yield up


class Metrics:
    def __init__(self, store: Store, broker_up: Callable[[], bool | None]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "isogw_http_requests",
            "HTTP requests by tenant, route and status.",
            ["tenant", "route", "status"],
            registry=self.registry,
        )
        self.messages = Counter(
            "isogw_messages",
            "Submitted messages by tenant, message id and outcome.",
            ["tenant", "message_id", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "isogw_message_seconds",
            "Time to answer POST /v1/messages, by tenant and message id.",
            ["tenant", "message_id"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_OutboxCollector(store, broker_up))

    def render(self) -> bytes:
        return generate_latest(self.registry)
