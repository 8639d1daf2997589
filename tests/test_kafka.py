"""gateway.kafka, gateway.devbroker, gateway.events_tail and the relay against a real broker.

The broker is the memory-only dev broker (Tansu) the project starts itself; the
``broker``/``own_broker`` fixtures come from ``tests.kafka_fixtures``. Events are
counted by consuming them, by id.
"""

from __future__ import annotations

import asyncio
import io
import os
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from gateway.cloudevents import dlq_topic, outbox_rows
from gateway.devbroker import DevBroker, DevBrokerError
from gateway.errors import ConfigError
from gateway.events_tail import tail
from gateway.kafka import (
    AioKafkaPublisher,
    BrokerUnavailable,
    KafkaConfig,
    PublishError,
)
from gateway.outbox import MemoryOutbox, NewOutboxRow
from gateway.relay import Relay
from tests.kafka_fixtures import broker_config, consume

TEMPLATE = "{tenant}.payments.{stage}.v1"


def unique_tenant() -> str:
    return f"T{uuid.uuid4().hex[:10].upper()}"


def rows(tenant: str, n: int, *, start: int = 0) -> list[NewOutboxRow]:
    events: list[dict[str, Any]] = [
        {
            "event_id": f"{tenant}-evt-{i:05d}",
            "event_type": "payment.credit_transfer.fi_to_fi",
            "schema_version": "1",
            "source": {"message_id": "pacs.008.001.08", "business_message_id": f"MSG-{i // 10}"},
            "ids": {"uetr": f"{tenant}-uetr-{i % 7}"},
        }
        for i in range(start, start + n)
    ]
    return outbox_rows(
        events,
        tenant=tenant,
        topic_template=TEMPLATE,
        stage="initiation",
        report_id=f"rep-{tenant}",
        correlation_id="corr",
        received_at=datetime.now(UTC),
        source="/isogw",
    )


def relay_for(outbox: MemoryOutbox, publisher: AioKafkaPublisher) -> Relay:
    return Relay(
        outbox,
        publisher,
        dlq_topic_for=lambda tenant: dlq_topic(TEMPLATE, tenant),
        backoff_base_s=0.05,
        broker_retry_cap_s=0.2,
    )


# -- configuration (no broker) ---------------------------------------------------------


def test_config_defaults_mean_not_configured() -> None:
    config = KafkaConfig.from_env({})
    assert not config.configured
    assert (config.security_protocol, config.idempotence, config.client_id) == (
        "PLAINTEXT",
        True,
        "isogw",
    )
    assert config.request_timeout_ms == 10000
    with pytest.raises(ConfigError, match="GATEWAY_KAFKA_BOOTSTRAP_SERVERS is not set"):
        config.client_options()


def test_config_from_env_sasl_ssl(tmp_path: Path) -> None:
    cafile = tmp_path / "ca.pem"
    cafile.write_text("not really a certificate")
    config = KafkaConfig.from_env(
        {
            "GATEWAY_KAFKA_BOOTSTRAP_SERVERS": "b-1.msk:9096,b-2.msk:9096",
            "GATEWAY_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "GATEWAY_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "GATEWAY_KAFKA_SASL_USERNAME": "gw",
            "GATEWAY_KAFKA_SASL_PASSWORD": "s3cret",
            "GATEWAY_KAFKA_SSL_CAFILE": str(cafile),
            "GATEWAY_KAFKA_IDEMPOTENCE": "false",
            "GATEWAY_KAFKA_REQUEST_TIMEOUT_MS": "5000",
        }
    )
    assert config.sasl_password is not None
    assert "s3cret" not in repr(config)
    assert not config.idempotence
    assert config.request_timeout_ms == 5000
    with pytest.raises(ConfigError, match="cannot be loaded"):
        config.client_options()  # the CA file is not PEM


@pytest.mark.parametrize(
    ("env", "fragments"),
    [
        ({"GATEWAY_KAFKA_SECURITY_PROTOCOL": "TLS"}, ["GATEWAY_KAFKA_SECURITY_PROTOCOL", "'TLS'"]),
        ({"GATEWAY_KAFKA_IDEMPOTENCE": "perhaps"}, ["GATEWAY_KAFKA_IDEMPOTENCE", "'perhaps'"]),
        ({"GATEWAY_KAFKA_REQUEST_TIMEOUT_MS": "10s"}, ["GATEWAY_KAFKA_REQUEST_TIMEOUT_MS", "10s"]),
        ({"GATEWAY_KAFKA_BOOTSTRAP_SERVERS": "localhost"}, ["BOOTSTRAP_SERVERS", "'localhost'"]),
        ({"GATEWAY_KAFKA_SASL_MECHANISM": "GSSAPI"}, ["GATEWAY_KAFKA_SASL_MECHANISM", "GSSAPI"]),
        (
            {"GATEWAY_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"},
            ["SASL_PLAINTEXT", "needs GATEWAY_KAFKA_SASL_MECHANISM"],
        ),
        (
            {"GATEWAY_KAFKA_SASL_USERNAME": "gw"},
            ["GATEWAY_KAFKA_SASL_USERNAME is set", "does not use SASL"],
        ),
        (
            {"GATEWAY_KAFKA_SECURITY_PROTOCOL": "SSL", "GATEWAY_KAFKA_SSL_CAFILE": "/no/ca.pem"},
            ["GATEWAY_KAFKA_SSL_CAFILE='/no/ca.pem'", "no such file"],
        ),
        ({"GATEWAY_KAFKA_SSL_CAFILE": "/etc/hostname"}, ["does not use TLS"]),
    ],
)
def test_config_errors_name_variable_and_value(env: dict[str, str], fragments: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        KafkaConfig.from_env(env)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_config_error_never_shows_the_password() -> None:
    with pytest.raises(ConfigError) as info:
        KafkaConfig.from_env({"GATEWAY_KAFKA_SASL_PASSWORD": "hunter2"})
    assert "hunter2" not in str(info.value)


# -- the dev broker process --------------------------------------------------------------


def test_devbroker_restart_keeps_the_port_and_stop_leaves_no_process() -> None:
    broker = DevBroker().start()
    try:
        port, pid = broker.port, broker.pid
        assert pid is not None
        broker.restart()
        assert broker.port == port and broker.pid != pid
        broker.stop()
        broker.start()
        assert broker.port == port
        last = broker.pid
    finally:
        broker.stop()
    assert not broker.running
    for gone in (pid, last):
        assert gone is not None
        with pytest.raises(ProcessLookupError):
            os.killpg(gone, 0)


def test_devbroker_refuses_a_port_in_use(broker: DevBroker) -> None:
    with pytest.raises(DevBrokerError, match="in use"):
        DevBroker(port=broker.port, startup_timeout_s=2).start()


# -- publishing against the real broker --------------------------------------------------


def test_publish_and_consume_with_headers_and_key(kafka_config: KafkaConfig) -> None:
    topic = f"t-{uuid.uuid4().hex}"
    headers = [("ce_id", b"e-1"), ("ce_type", b"org.iso20022gw.x.v1")]

    async def scenario() -> list[Any]:
        publisher = AioKafkaPublisher(kafka_config)
        await publisher.start()
        try:
            assert await publisher.healthy()
            await publisher.ensure_topics([topic])
            for i in range(6):
                await publisher.publish(topic, b"payment-1", b'{"n":%d}' % i, headers)
            await publisher.publish(topic, None, b"{}", [])
        finally:
            await publisher.stop()
        return await consume(kafka_config.bootstrap_servers or "", [topic], 7)

    records = asyncio.run(scenario())
    assert len(records) == 7
    keyed = [r for r in records if r.key == b"payment-1"]
    assert len({r.partition for r in keyed}) == 1  # one payment, one partition
    assert [orjson.loads(r.value)["n"] for r in sorted(keyed, key=lambda r: r.offset)] == list(
        range(6)
    )
    assert all(r.headers == dict(headers) for r in keyed)


def test_ensure_topics_creates_once(kafka_config: KafkaConfig) -> None:
    names = [f"t-{uuid.uuid4().hex}", f"t-{uuid.uuid4().hex}"]

    async def scenario() -> list[Any]:
        publisher, other = AioKafkaPublisher(kafka_config), AioKafkaPublisher(kafka_config)
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_config.bootstrap_servers)
        await admin.start()
        try:
            await publisher.ensure_topics(names)
            await publisher.ensure_topics(names)  # remembered
            await other.ensure_topics(names[:1])  # exists already: fine
            return list(await admin.describe_topics(names))
        finally:
            await admin.close()
            await publisher.stop()
            await other.stop()

    described = asyncio.run(scenario())
    assert sorted(t["topic"] for t in described) == sorted(names)
    assert all(len(t["partitions"]) == kafka_config.topic_partitions for t in described)


def test_oversized_record_is_a_publish_error(kafka_config: KafkaConfig) -> None:
    async def scenario() -> None:
        publisher = AioKafkaPublisher(kafka_config)
        try:
            with pytest.raises(PublishError, match="MessageSizeTooLarge"):
                await publisher.publish("t-big", None, b"x" * 1_100_000, [])
        finally:
            await publisher.stop()

    asyncio.run(scenario())


def test_idempotent_producer_on_dev_broker_says_what_to_do(broker: DevBroker) -> None:
    async def scenario() -> None:
        publisher = AioKafkaPublisher(broker_config(broker, idempotence=True))
        try:
            with pytest.raises(BrokerUnavailable, match="GATEWAY_KAFKA_IDEMPOTENCE=false"):
                await publisher.publish(f"t-{uuid.uuid4().hex}", None, b"{}", [])
        finally:
            await publisher.stop()

    asyncio.run(scenario())


def test_publisher_survives_the_broker_going_away(own_broker: DevBroker) -> None:
    topic = f"t-{uuid.uuid4().hex}"

    async def scenario() -> None:
        publisher = AioKafkaPublisher(broker_config(own_broker, request_timeout_ms=1000))
        await publisher.start()
        try:
            await publisher.publish(topic, b"k", b"before", [])
            await asyncio.to_thread(own_broker.stop)
            assert not await publisher.healthy()
            for _ in range(2):  # the established producer, then a rebuilt one
                started = time.monotonic()
                with pytest.raises(BrokerUnavailable):
                    await publisher.publish(topic, b"k", b"during", [])
                assert time.monotonic() - started < 1.5
            await asyncio.to_thread(own_broker.start)
            assert await publisher.healthy()
            await publisher.ensure_topics([topic])
            await publisher.publish(topic, b"k", b"after", [])
        finally:
            await publisher.stop()
        (record,) = await consume(own_broker.bootstrap, [topic], 1)
        assert record.value == b"after"  # memory-only: "before" went with the old process

    asyncio.run(scenario())


def test_publisher_after_an_idle_broker_restart_loses_nothing(own_broker: DevBroker) -> None:
    """The restarted dev broker acks records for topics it forgot and drops them.

    A producer holding the old metadata would lose every record; the publisher drops
    its producer when the connection breaks, so the next publish starts afresh.
    """
    topic = f"t-{uuid.uuid4().hex}"

    async def scenario() -> list[Any]:
        publisher = AioKafkaPublisher(broker_config(own_broker))
        try:
            await publisher.ensure_topics([topic])
            await publisher.publish(topic, b"k", b"before", [])
            await asyncio.to_thread(own_broker.restart)  # nothing in flight
            await asyncio.sleep(0.3)
            for i in range(3):
                await publisher.ensure_topics([topic])
                await publisher.publish(topic, b"k%d" % i, b"after", [])
        finally:
            await publisher.stop()
        return await consume(own_broker.bootstrap, [topic], 3)

    records = asyncio.run(scenario())
    assert sorted(r.key for r in records) == [b"k0", b"k1", b"k2"]


def test_relay_drains_outbox_to_broker(kafka_config: KafkaConfig) -> None:
    tenants = [unique_tenant(), unique_tenant()]
    outbox = MemoryOutbox()
    for tenant in tenants:
        outbox.add(rows(tenant, 150))
    topics = [f"{t.lower()}.payments.initiation.v1" for t in tenants]

    async def scenario() -> list[Any]:
        publisher = AioKafkaPublisher(kafka_config)
        await publisher.start()
        try:
            relay = relay_for(outbox, publisher)
            stats = await relay.run_once()
            assert (stats.fetched, stats.sent, stats.deferred) == (300, 300, 0)
        finally:
            await publisher.stop()
        return await consume(kafka_config.bootstrap_servers or "", topics, 300)

    records = asyncio.run(scenario())
    ids = Counter(r.headers["ce_id"].decode() for r in records)
    assert set(ids) == {row.event_id for row in outbox.rows()}
    assert max(ids.values()) == 1
    assert {row.status for row in outbox.rows()} == {"sent"}
    for key in {r.key for r in records}:  # per payment: broker order == outbox order
        same = sorted((r for r in records if r.key == key), key=lambda r: r.offset)
        assert len({r.partition for r in same}) == 1
        assert [r.headers["ce_id"] for r in same] == sorted(r.headers["ce_id"] for r in same)
    first = next(r for r in records if r.headers["ce_id"].endswith(b"-evt-00000"))
    assert first.headers["ce_specversion"] == b"1.0"
    assert first.headers["content-type"] == b"application/json"
    assert first.key is not None and first.headers["ce_subject"] == first.key


def test_relay_rides_out_a_broker_outage(own_broker: DevBroker) -> None:
    tenant = unique_tenant()
    topic = f"{tenant.lower()}.payments.initiation.v1"
    config = broker_config(own_broker, request_timeout_ms=1000)
    outbox = MemoryOutbox()

    async def scenario() -> tuple[list[Any], list[Any]]:
        publisher = AioKafkaPublisher(config)
        await publisher.start()
        relay = relay_for(outbox, publisher)
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run_forever(stop, idle_sleep_s=0.02))
        try:
            outbox.add(rows(tenant, 120))
            await until(lambda: relay.sent == 120)
            before = await consume(own_broker.bootstrap, [topic], 120)

            await asyncio.to_thread(own_broker.stop)  # the broker goes away mid-run
            outbox.add(rows(tenant, 80, start=120))
            await until(lambda: not relay.broker_up)
            assert not await publisher.healthy()
            await asyncio.sleep(0.5)  # several relay cycles during the outage
            pending = [row for row in outbox.rows() if row.status == "pending"]
            assert len(pending) == 80
            assert all(row.attempts == 0 for row in pending)  # not counted as poison
            assert relay.dead == 0 and relay.sent == 120

            await asyncio.to_thread(own_broker.start)  # back on the same address
            await until(lambda: relay.sent == 200, timeout_s=20)
            assert relay.broker_up
            # The memory-only broker forgot everything: what it holds now is the backlog.
            after = await consume(own_broker.bootstrap, [topic], 80)
        finally:
            stop.set()
            await task
            await publisher.stop()
        return before, after

    before, after = asyncio.run(scenario())
    ids = Counter(r.headers["ce_id"].decode() for r in before + after)
    assert set(ids) == {row.event_id for row in outbox.rows()}
    assert len(ids) == 200
    assert max(ids.values()) == 1  # no duplicates
    assert {row.status for row in outbox.rows()} == {"sent"}
    assert not any(t.endswith(".dlq.v1") for t in {r.topic for r in before + after})


async def until(condition: Any, timeout_s: float = 10.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.01)


# -- reading events back ------------------------------------------------------------------


def test_tail_writes_one_json_object_per_record(kafka_config: KafkaConfig) -> None:
    tenant = unique_tenant()
    topic = f"{tenant.lower()}.payments.initiation.v1"
    out = io.BytesIO()

    async def scenario() -> int:
        publisher = AioKafkaPublisher(kafka_config)
        try:
            for row in rows(tenant, 3):
                await publisher.publish(row.topic, row.key, row.value, row.headers)
            await publisher.publish(topic, None, b"not json", [])
        finally:
            await publisher.stop()
        return await tail(
            kafka_config, [topic], from_beginning=True, count=4, timeout_s=10, out=out
        )

    assert asyncio.run(scenario()) == 4
    lines = [orjson.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == 4
    events = [line for line in lines if line["event"] is not None]
    assert sorted(line["event"]["event_id"] for line in events) == [
        f"{tenant}-evt-{i:05d}" for i in range(3)
    ]
    sample = events[0]
    assert set(sample) == {"topic", "partition", "offset", "timestamp", "key", "headers", "event"}
    assert sample["topic"] == topic
    assert sample["headers"]["ce_tenantid"] == tenant
    assert sample["key"] == sample["headers"]["ce_subject"]
    (raw,) = [line for line in lines if line["event"] is None]
    assert raw["value"] == "not json"


def test_tail_stops_at_its_timeout(kafka_config: KafkaConfig) -> None:
    out = io.BytesIO()
    written = asyncio.run(
        tail(
            kafka_config,
            [f"t-{uuid.uuid4().hex}"],
            from_beginning=False,
            count=None,
            timeout_s=0.5,
            out=out,
        )
    )
    assert written == 0 and out.getvalue() == b""
