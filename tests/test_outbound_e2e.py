"""The outbound service against the real broker (Tansu) and a real local webhook receiver:
status events in -> signed webhook deliveries out; receiver down -> retries, then the
DLQ; the service stopped mid-stream and started again -> nothing lost, duplicates only
with the same message id."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest

from gateway.cloudevents import headers_for, partition_key
from gateway.delivery import verify
from gateway.devbroker import DevBroker
from gateway.kafka import AioKafkaPublisher
from gateway.outbound import OutboundService
from gateway.outbound_render import outbound_message_id
from gateway.pipeline import Gateway
from gateway.service import InboundService
from gateway.store import Store
from gateway.tenants import TenantRegistry
from tests.api_fixtures import make_tenants
from tests.conftest import FIXTURES
from tests.kafka_fixtures import broker_config, consume

SECRET = "test-webhook-secret-0123456789"
PACS = FIXTURES / "mx/pacs.008.001.08/valid/three_transactions.xml"


@dataclass
class Receiver:
    """A webhook endpoint on loopback: answers ``status`` (or the next of ``script``)."""

    status: int = 200
    delay_s: float = 0.0
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.requests.append(({k: v for k, v in self.headers.items()}, body))
                    status = receiver.status
                time.sleep(receiver.delay_s)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def ok(self) -> list[tuple[dict[str, str], bytes]]:
        with self.lock:
            return list(self.requests)


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, int]]:
    state = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), state.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, server.server_address[1]
    server.shutdown()
    server.server_close()


@dataclass
class Setup:
    tenants: TenantRegistry
    store: Store
    gateway: Gateway
    broker: DevBroker
    prefix: str

    def topic(self, stage: str) -> str:
        return f"{self.prefix}-emea.payments.{stage}.v1"

    def service(self, **overrides: Any) -> OutboundService:
        return OutboundService(
            gateway=self.gateway,
            store=self.store,
            tenants=self.tenants,
            kafka=broker_config(self.broker),
            publisher=AioKafkaPublisher(broker_config(self.broker)),
            environ={"TEST_WEBHOOK_SECRET": SECRET},
            group_id=f"{self.prefix}-outbound",
            session_timeout_ms=2000,
            **overrides,
        )


def setup(tmp_path: Path, broker: DevBroker, gateway: Gateway, port: int, **webhook: Any) -> Setup:
    if (
        gateway.mappings.get("pacs.002.001.10") is None
        or gateway.schemas.get("pacs.002.001.10") is None
    ):
        pytest.skip("pacs.002.001.10 mapping or XSD (../shared/samples/xsd) not installed")
    prefix = f"t{uuid.uuid4().hex[:8]}"
    settings = {"max_attempts": 4, "backoff_initial_s": 0.01, "backoff_max_s": 0.05}
    settings.update(webhook)
    extra = "".join(f"\n    {key}: {value}" for key, value in settings.items())
    folder, _keys = make_tenants(
        tmp_path,
        {
            "EMEA": {
                'topic_template: "{tenant}.payments.{stage}.v1"': (
                    f'topic_template: "{prefix}-{{tenant}}.payments.{{stage}}.v1"'
                ),
                "outbound:\n  enabled: true\n  topic: true\n": (
                    "outbound:\n  enabled: true\n  topic: true\n  webhook:\n"
                    f"    url: http://127.0.0.1:{port}/hook\n"
                    f"    secret_env: TEST_WEBHOOK_SECRET{extra}\n"
                ),
            }
        },
    )
    for other in ("NA", "LATAM", "APAC"):  # only EMEA's topics in these tests
        path = folder / f"{other}.yaml"
        path.write_text(path.read_text().replace("  enabled: true\n", "  enabled: false\n"))
    store = Store(f"sqlite:///{tmp_path / 'gw.sqlite'}")
    store.migrate()
    return Setup(TenantRegistry.load(folder), store, gateway, broker, prefix)


def inbound_uetrs(env: Setup) -> list[str]:
    tenant = env.tenants.get("EMEA")
    assert tenant is not None
    result = InboundService(env.gateway, env.store).submit(
        tenant, str(uuid.uuid4()), PACS.read_bytes(), correlation_id="c"
    )
    assert result.result is not None
    return [e["ids"]["uetr"] for e in result.result.events]


def status_events(uetrs: list[str], n: int) -> list[dict[str, Any]]:
    return [
        {
            "event_id": str(uuid.uuid4()),
            "event_type": "payment.status",
            "schema_version": "1",
            "source": {
                "message_id": "orchestration",
                "payload_sha256": "0" * 64,
                "transaction_index": 0,
            },
            "original": {"uetr": uetrs[i % len(uetrs)]},
            "status": {"transaction_status": "ACSC" if i % 2 else "ACSP"},
        }
        for i in range(n)
    ]


async def publish(env: Setup, events: list[dict[str, Any]]) -> None:
    publisher = AioKafkaPublisher(broker_config(env.broker))
    await publisher.start()
    try:
        await publisher.ensure_topics([env.topic("status")])
        for event in events:
            headers = headers_for(
                event,
                tenant="EMEA",
                source="/orchestration",
                correlation_id="c",
                report_id=str(uuid.uuid4()),
                received_at=datetime.now(UTC),
            )
            await publisher.publish(
                env.topic("status"), partition_key(event), orjson.dumps(event), headers
            )
    finally:
        await publisher.stop()


async def run_until(service: OutboundService, done: Any, *, timeout_s: float = 40.0) -> None:
    """Run the service until ``done()`` holds (or the timeout), then stop it."""
    stop = asyncio.Event()
    await service.publisher.start()
    try:
        task = asyncio.create_task(service.run(stop))
        deadline = time.monotonic() + timeout_s
        while not done() and time.monotonic() < deadline and not task.done():
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, 20)
    finally:
        await service.publisher.stop()


def expected_ids(events: list[dict[str, Any]]) -> set[str]:
    return {outbound_message_id(e["event_id"], "pacs.002.001.10") for e in events}


def test_status_events_become_signed_webhook_deliveries(
    tmp_path: Path, broker: DevBroker, gateway: Gateway, receiver: tuple[Receiver, int]
) -> None:
    state, port = receiver
    env = setup(tmp_path, broker, gateway, port)
    events = status_events(inbound_uetrs(env), 5)
    asyncio.run(publish(env, events))
    service = env.service()
    asyncio.run(run_until(service, lambda: len(state.ok()) >= 5))
    received = state.ok()
    assert {h["X-Isogw-Message-Id"] for h, _ in received} == expected_ids(events)
    for headers, body in received:
        assert verify(SECRET.encode(), headers, body, now=time.time())
        assert not verify(b"another-secret-0123456789", headers, body, now=time.time())
        assert headers["X-Isogw-Tenant"] == "EMEA"
        assert headers["X-Isogw-Message-Type"] == "pacs.002.001.10"
        assert b"<TxSts>AC" in body
    on_topic = asyncio.run(consume(broker.bootstrap, [env.topic("outbound")], 5))
    assert {r.headers["x-isogw-message-id"].decode() for r in on_topic} == expected_ids(events)


def test_receiver_down_retries_then_dead_letters(
    tmp_path: Path, broker: DevBroker, gateway: Gateway, receiver: tuple[Receiver, int]
) -> None:
    state, port = receiver
    state.status = 503
    env = setup(tmp_path, broker, gateway, port, max_attempts=3)
    events = status_events(inbound_uetrs(env), 1)
    asyncio.run(publish(env, events))
    dlq: list[Any] = []

    async def scenario() -> None:
        service = env.service()
        stop = asyncio.Event()
        await service.publisher.start()
        task = asyncio.create_task(service.run(stop))
        try:
            dlq.extend(await consume(broker.bootstrap, [env.topic("dlq")], 1, timeout_s=40))
        finally:
            stop.set()
            await asyncio.wait_for(task, 20)
            await service.publisher.stop()

    asyncio.run(scenario())
    attempts = state.ok()
    assert len(attempts) == 3
    assert {h["X-Isogw-Message-Id"] for h, _ in attempts} == expected_ids(events)
    assert [h["X-Isogw-Attempt"] for h, _ in attempts] == ["1", "2", "3"]
    (dead,) = dlq
    assert dead.headers["x-isogw-dlq-reason"] == b"outbound.delivery_failed"
    value = orjson.loads(dead.value)
    assert value["event"]["event_id"] == events[0]["event_id"]
    assert value["findings"][-1]["code"] == "outbound.delivery_failed"


def test_restart_mid_stream_loses_nothing(
    tmp_path: Path, broker: DevBroker, gateway: Gateway, receiver: tuple[Receiver, int]
) -> None:
    state, port = receiver
    state.delay_s = 0.05
    env = setup(tmp_path, broker, gateway, port)
    events = status_events(inbound_uetrs(env), 12)
    asyncio.run(publish(env, events))

    async def crash_after(n: int) -> None:
        """Run until ``n`` deliveries arrived, then kill the service (task cancelled:
        no graceful finish of the record in hand)."""
        service = env.service()
        await service.publisher.start()
        task = asyncio.create_task(service.run(asyncio.Event()))
        deadline = time.monotonic() + 40
        while len(state.ok()) < n and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await service.publisher.stop()

    asyncio.run(crash_after(4))
    assert 4 <= len(state.ok()) < 12
    asyncio.run(run_until(env.service(), lambda: expected_ids(events) <= ids_of(state)))
    assert ids_of(state) == expected_ids(events)  # nothing lost
    bodies: dict[str, set[bytes]] = {}
    for headers, body in state.ok():
        bodies.setdefault(headers["X-Isogw-Message-Id"], set()).add(body)
    # a duplicate is a redelivery of the same message: same id, same document
    assert all(len(found) == 1 for found in bodies.values())


def ids_of(state: Receiver) -> set[str]:
    return {h["X-Isogw-Message-Id"] for h, _ in state.ok()}
