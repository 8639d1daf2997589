"""The outbound service record by record (real store, in-memory publisher and webhook):
rendering, correlation with the inbound payment, delivery, dead letters, the lifecycle.

The consumer loop against the real broker and a real webhook receiver is tested in
tests/test_outbound_e2e.py."""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import func, select

from gateway.api.app import create_app
from gateway.delivery import MemoryDeliverer
from gateway.fin import validate_fin
from gateway.kafka import KafkaConfig, MemoryPublisher
from gateway.mt import parse_mt
from gateway.outbound import ConsumedRecord, OutboundService
from gateway.outbound_config import DEFAULT_TARGETS, OutboundSettings, kind_of
from gateway.outbound_render import outbound_message_id
from gateway.pipeline import Gateway
from gateway.service import InboundService
from gateway.settings import Settings
from gateway.store import Store
from gateway.store.tables import outbound
from gateway.tenants import TenantRegistry
from tests.api_fixtures import make_tenants
from tests.conftest import FIXTURES

PACS = FIXTURES / "mx/pacs.008.001.08/valid/three_transactions.xml"
STATUS_TOPIC = "emea.payments.status.v1"
EXECUTION_TOPIC = "emea.payments.execution.v1"
P002 = {"s": "urn:iso:std:iso:20022:tech:xsd:pacs.002.001.10"}


class Env:
    def __init__(self, gateway: Gateway, store: Store, tmp_path: Path) -> None:
        folder, self.keys = make_tenants(tmp_path)
        self.folder = folder
        self.tenants = TenantRegistry.load(folder)
        self.store = store
        self.gateway = gateway
        self.publisher = MemoryPublisher()
        self.webhook = MemoryDeliverer(max_attempts=3)
        self.service = OutboundService(
            gateway=gateway,
            store=store,
            tenants=self.tenants,
            kafka=KafkaConfig(bootstrap_servers="127.0.0.1:9"),
            publisher=self.publisher,
            deliverers={"EMEA": self.webhook},
        )

    def submit(self, payload: bytes) -> list[dict[str, Any]]:
        # fresh UETRs and message ids: the PostgreSQL test database outlives a test
        for found in set(
            re.findall(
                rb"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", payload
            )
        ):
            payload = payload.replace(found, str(uuid.uuid4()).encode())
        tenant = self.tenants.get("EMEA")
        assert tenant is not None
        result = InboundService(self.gateway, self.store).submit(
            tenant, str(uuid.uuid4()), payload, correlation_id="c-1"
        )
        assert result.result is not None and result.result.accepted
        return result.result.events

    def handle(self, value: bytes, topic: str = STATUS_TOPIC) -> Any:
        record = ConsumedRecord(topic, None, value, (("ce_id", b"x"),))
        return asyncio.run(self.service.handle(record))


@pytest.fixture
def env(gateway: Gateway, store: Store, tmp_path: Path) -> Env:
    if (
        gateway.mappings.get("pacs.002.001.10") is None
        or gateway.schemas.get("pacs.002.001.10") is None
    ):
        pytest.skip("pacs.002.001.10 mapping or XSD (../shared/samples/xsd) not installed")
    return Env(gateway, store, tmp_path)


def status_event(uetr: str, status: str = "ACSC", **extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "event_type": "payment.status",
        "schema_version": "1",
        "source": {
            "message_id": "orchestration",
            "payload_sha256": "0" * 64,
            "transaction_index": 0,
        },
        "original": {"uetr": uetr},
        "status": {"transaction_status": status},
    }
    event.update(extra)
    return event


def test_kinds_and_default_targets() -> None:
    assert kind_of("payment.status") == "status"
    assert kind_of("payment.status.rejected") == "status"
    assert kind_of("account.notification") == "notification"
    assert kind_of("payment.fi_credit_transfer") == "fi_transfer"
    assert kind_of("payment.credit_transfer.fi_to_fi") == "transfer"
    assert kind_of("payment.statusx") is None
    settings = OutboundSettings(enabled=True, messages={"status": {"mt": "fin.199"}})
    assert settings.target("status", "mx") == DEFAULT_TARGETS["status"]["mx"]
    with pytest.raises(ValueError, match="topic: true or a webhook"):
        OutboundSettings(enabled=True, topic=False)
    with pytest.raises(ValueError, match=r"outbound\.messages\.status\.mx"):
        OutboundSettings(messages={"status": {"mx": "pacs.2"}})


def test_status_event_becomes_a_delivered_pacs002_correlated_with_the_inbound(env: Env) -> None:
    inbound = env.submit(PACS.read_bytes())
    uetr = inbound[1]["ids"]["uetr"]
    event = status_event(uetr, reasons=[{"reason": {"code": "G000"}}])
    record = env.handle(orjson.dumps(event))
    assert record.outcome == "delivered", record.findings
    assert record.target == "pacs.002.001.10"
    assert set(record.channels) == {"topic", "webhook"}
    message_id = outbound_message_id(event["event_id"], "pacs.002.001.10")
    assert record.message_id == message_id
    (delivered,) = env.webhook.delivered
    assert delivered.message_id == message_id and delivered.uetr == uetr
    doc = etree.fromstring(delivered.body)
    text = lambda path: doc.xpath(f"string({path})", namespaces=P002)  # noqa: E731
    assert text("//s:GrpHdr/s:MsgId") == message_id
    # from the store: the original message's id and name, its EndToEndId and InstrId
    assert (
        text("//s:OrgnlGrpInf/s:OrgnlMsgId | //s:OrgnlGrpInfAndSts/s:OrgnlMsgId")
        == (inbound[1]["source"]["business_message_id"])
    )
    assert text("//s:TxInfAndSts/s:OrgnlEndToEndId") == inbound[1]["ids"]["end_to_end_id"]
    assert text("//s:TxInfAndSts/s:OrgnlUETR") == uetr
    assert text("//s:TxInfAndSts/s:TxSts") == "ACSC"
    (on_topic,) = env.publisher.on("emea.payments.outbound.v1")
    assert on_topic.value == delivered.body
    assert on_topic.header("x-isogw-message-id") == message_id.encode()
    assert on_topic.key == uetr.encode()


def test_redelivered_event_keeps_its_message_id_and_is_not_posted_twice(env: Env) -> None:
    uetr = env.submit(PACS.read_bytes())[0]["ids"]["uetr"]
    value = orjson.dumps(status_event(uetr))
    first = env.handle(value)
    second = env.handle(value)
    assert first.message_id == second.message_id
    assert len(env.webhook.delivered) == 1
    with env.store.engine.connect() as connection:
        rows = connection.execute(
            select(func.count())
            .select_from(outbound)
            .where(outbound.c.message_id == first.message_id)
        ).scalar_one()
    assert rows == 1


def test_invalid_records_and_unroutable_events_are_dead_lettered(env: Env) -> None:
    junk = env.handle(b"{not json")
    assert junk.outcome == "dead_lettered"
    unroutable = env.handle(orjson.dumps(status_event(str(uuid.uuid4()), event_type="x.y")))
    assert unroutable.outcome == "dead_lettered"
    not_canonical = env.handle(orjson.dumps({"event_id": "1", "event_type": "payment.status"}))
    assert not_canonical.outcome == "dead_lettered"
    dlq = env.publisher.on("emea.payments.dlq.v1")
    reasons = [r.header("x-isogw-dlq-reason") for r in dlq]
    assert reasons == [b"outbound.event_invalid", b"outbound.no_route", b"outbound.event_invalid"]
    first = orjson.loads(dlq[0].value)
    assert first["stage"] == "outbound" and first["event"] == "{not json"
    assert first["findings"][0]["code"] == "outbound.event_invalid"
    assert env.webhook.attempted == []
    assert env.publisher.on("emea.payments.outbound.v1") == []


def test_a_message_failing_its_xsd_goes_to_the_dlq_never_to_the_channel(env: Env) -> None:
    uetr = env.submit(PACS.read_bytes())[0]["ids"]["uetr"]
    record = env.handle(orjson.dumps(status_event(uetr, status="NOT-A-STATUS-CODE")))
    assert record.outcome == "dead_lettered"
    assert any(f["code"].startswith("schema.") for f in record.findings)
    assert env.webhook.attempted == []
    (dead,) = env.publisher.on("emea.payments.dlq.v1")
    assert dead.header("x-isogw-dlq-reason") == b"outbound.invalid_message"
    body = orjson.loads(dead.value)
    assert body["target"] == "pacs.002.001.10" and body["body"].startswith("<?xml")


def test_undeliverable_webhook_dead_letters_after_its_attempts(env: Env) -> None:
    uetr = env.submit(PACS.read_bytes())[0]["ids"]["uetr"]
    env.webhook.fail_always()
    value = orjson.dumps(status_event(uetr))
    record = env.handle(value)
    assert record.outcome == "dead_lettered"
    assert record.attempts == 3 and "503" in (record.error or "")
    assert record.channels == ("topic",)
    (dead,) = env.publisher.on("emea.payments.dlq.v1")
    assert dead.header("x-isogw-dlq-reason") == b"outbound.delivery_failed"
    # recovered: the same event (redelivered) is delivered with the same message id
    env.webhook.recover()
    again = env.handle(value)
    assert again.outcome == "delivered"
    assert again.message_id == record.message_id
    assert [m.message_id for m in env.webhook.delivered] == [record.message_id]


def test_payment_lifecycle_endpoint(env: Env, settings: Settings, tmp_path: Path) -> None:
    inbound = env.submit(PACS.read_bytes())
    uetr = inbound[2]["ids"]["uetr"]
    env.handle(orjson.dumps(status_event(uetr, status="ACSP")))
    env.handle(orjson.dumps(status_event(uetr, status="ACSC")))
    app = create_app(settings, env.tenants, gateway=env.gateway, store=env.store)
    with TestClient(app, raise_server_exceptions=False) as client:
        auth = {"Authorization": f"Bearer {env.keys['EMEA']}"}
        found = client.get(f"/v1/payments/{uetr}", headers=auth)
        assert found.status_code == 200, found.text
        body = found.json()
        assert [r["message_id"] for r in body["inbound"]] == ["pacs.008.001.08"]
        assert [e["event_id"] for e in body["events"]] == [inbound[2]["event_id"]]
        assert [r["event_type"] for r in body["received"]] == ["payment.status"] * 2
        assert [o["outcome"] for o in body["outbound"]] == ["delivered", "delivered"]
        assert {o["target"] for o in body["outbound"]} == {"pacs.002.001.10"}
        other = client.get(
            f"/v1/payments/{uetr}", headers={"Authorization": f"Bearer {env.keys['NA']}"}
        )
        unknown = client.get(f"/v1/payments/{uuid.uuid4()}", headers=auth)
        assert other.status_code == unknown.status_code == 404
        assert other.json()["type"] == unknown.json()["type"]
        assert client.get("/v1/payments/not-a-uetr", headers=auth).status_code == 400


def test_a_payment_that_came_in_as_mt_gets_its_status_as_mt199(env: Env) -> None:
    mt103 = (FIXTURES / "mt/mapping/fin.103.equivalent.txt").read_bytes()
    (inbound,) = env.submit(mt103)
    uetr = inbound["ids"]["uetr"]
    record = env.handle(orjson.dumps(status_event(uetr, status="RJCT")))
    assert record.outcome == "delivered", record.findings
    assert record.target == "fin.199"
    (delivered,) = env.webhook.delivered
    assert delivered.content_type == "text/plain"
    parsed = parse_mt(delivered.body.decode())
    assert parsed.user_message is not None
    assert validate_fin(parsed.user_message) == []
    text = delivered.body.decode()
    assert "{121:" + uetr + "}" in text
    assert "/RJCT/" in text


@pytest.mark.parametrize(
    ("fixture", "topic", "target"),
    [
        ("mx/camt.054.001.08/valid/credit_and_debit.xml", EXECUTION_TOPIC, "camt.054.001.08"),
        ("mx/pacs.004.001.09/valid/customer_return.xml", EXECUTION_TOPIC, "pacs.004.001.09"),
        ("mx/pacs.008.001.08/valid/rich.xml", EXECUTION_TOPIC, "pacs.008.001.08"),
    ],
)
def test_execution_events_render_their_iso_message(
    env: Env, fixture: str, topic: str, target: str
) -> None:
    if env.gateway.schemas.get(target) is None:
        pytest.skip(f"{target} XSD not installed")
    source = env.gateway.inbound((FIXTURES / fixture).read_bytes())
    assert source.accepted and source.events
    event = {**source.events[0], "event_id": str(uuid.uuid4())}
    record = env.handle(orjson.dumps(event), topic=topic)
    assert record.outcome == "delivered", record.findings
    assert record.target == target
    (delivered,) = env.webhook.delivered
    back = env.gateway.inbound(delivered.body)
    assert back.report.message_id == target
    assert back.accepted, [(f.code, f.message) for f in back.report.findings]


def test_mt_channel_gets_mt103_for_a_transfer_and_mt900_910_for_notifications(
    env: Env,
) -> None:
    mt103 = (FIXTURES / "mt/mapping/fin.103.equivalent.txt").read_bytes()
    (inbound,) = env.submit(mt103)
    uetr = inbound["ids"]["uetr"]
    transfer = {**inbound, "event_id": str(uuid.uuid4())}
    record = env.handle(orjson.dumps(transfer), topic=EXECUTION_TOPIC)
    assert record.outcome == "delivered", record.findings
    assert record.target == "fin.103"
    notice = env.gateway.inbound((FIXTURES / "mt/fin.910/valid/credit.txt").read_bytes())
    assert notice.accepted
    credit = {**notice.events[0], "event_id": str(uuid.uuid4())}
    credit["statement"]["entries"][0]["details"][0]["ids"]["uetr"] = uetr
    credit["ids"] = {"uetr": uetr}
    record = env.handle(orjson.dumps(credit), topic=EXECUTION_TOPIC)
    assert record.outcome == "delivered", record.findings
    assert record.target == "fin.910"  # the entry is a credit
    bodies = [m.body.decode() for m in env.webhook.delivered]
    assert bodies[0].startswith("{1:F01") and "{2:I103" in bodies[0]
    assert "{2:I910" in bodies[1]
    for body in bodies:
        parsed = parse_mt(body)
        assert parsed.user_message is not None
        assert validate_fin(parsed.user_message) == []


def test_a_target_that_cannot_be_rendered_is_dead_lettered_and_the_consumer_goes_on(
    env: Env,
) -> None:
    tenant = env.service.tenant_of[STATUS_TOPIC]
    settings = OutboundSettings(enabled=True, messages={"status": {"mx": "pacs.002.001.12"}})
    env.service.tenant_of[STATUS_TOPIC] = tenant.model_copy(update={"outbound": settings})
    uetr = env.submit(PACS.read_bytes())[0]["ids"]["uetr"]
    record = env.handle(orjson.dumps(status_event(uetr)))
    assert record.outcome == "dead_lettered"
    (finding,) = record.findings
    assert finding["code"] == "outbound.invalid_message"
    assert "pacs.002.001.12" in finding["message"]
    (dead,) = env.publisher.on("emea.payments.dlq.v1")
    assert dead.header("x-isogw-dlq-reason") == b"outbound.invalid_message"
    assert env.webhook.attempted == []


def test_a_status_naming_only_the_original_message_id_is_correlated(env: Env) -> None:
    inbound = env.submit(PACS.read_bytes())
    message_id = inbound[0]["source"]["business_message_id"]
    event = status_event("unused")
    event["original"] = {"message_id": message_id}
    record = env.handle(orjson.dumps(event))
    assert record.outcome == "delivered", record.findings
    doc = etree.fromstring(env.webhook.delivered[0].body)
    assert doc.xpath("string(//s:OrgnlMsgNmId)", namespaces=P002) == "pacs.008.001.08"
