"""End to end over real HTTP (uvicorn on loopback) with the real broker (Tansu).

A valid pacs.008 yields 202, a stored report and one CloudEvent per transaction on
the tenant's topic with the right headers and key; a rejected one yields 422 and no
event; a broker stopped mid-run and restarted loses nothing and duplicates nothing
(counted by consuming the events and comparing ids).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2

from gateway.api.app import create_app
from gateway.devbroker import DevBroker
from gateway.kafka import AioKafkaPublisher
from gateway.pipeline import Gateway
from gateway.settings import Settings
from gateway.store import Store
from gateway.tenants import TenantRegistry
from tests.api_fixtures import make_tenants, post, serving
from tests.conftest import FIXTURES
from tests.kafka_fixtures import Consumed, broker_config, consume

THREE = (FIXTURES / "mx/pacs.008.001.08/valid/three_transactions.xml").read_bytes()
INVALID = (FIXTURES / "mx/pacs.008.001.08/invalid/bad_enum_chrgbr.xml").read_bytes()
TOPIC = "emea.payments.initiation.v1"


@contextmanager
def running_gateway(
    tmp_path: Path, broker: DevBroker, gateway: Gateway, settings: Settings
) -> Iterator[tuple[str, dict[str, str]]]:
    folder, keys = make_tenants(tmp_path)
    store = Store(f"sqlite:///{tmp_path / 'e2e.db'}")
    app = create_app(
        settings,
        TenantRegistry.load(folder),
        gateway=gateway,
        store=store,
        publisher=AioKafkaPublisher(broker_config(broker)),
        relay_interval_s=0.02,
    )
    try:
        with serving(app) as base:
            yield base, keys
    finally:
        store.close()


def unique_message(n: int) -> bytes:
    """The 3-transaction fixture with its own MsgId and EndToEndIds (no duplicates)."""
    text = THREE.decode()
    start = text.index("<MsgId>") + len("<MsgId>")
    end = text.index("</MsgId>", start)
    text = text[:start] + f"E2E-RUN-{n}-{uuid.uuid4().hex[:8]}" + text[end:]
    return text.replace("<UETR>", "<UETR>").encode()


def by_id(records: list[Consumed]) -> dict[str, Consumed]:
    return {r.headers["ce_id"].decode(): r for r in records}


def test_valid_message_reaches_the_topic_with_cloudevents_headers(
    tmp_path: Path, broker: DevBroker, gateway: Gateway, settings: Settings
) -> None:
    with running_gateway(tmp_path, broker, gateway, settings) as (base, keys):
        rejected = post(base, keys["EMEA"], INVALID)
        assert rejected.status_code == 422
        response = post(base, keys["EMEA"], unique_message(0))
        assert response.status_code == 202, response.text
        body = response.json()
        records = asyncio.run(consume(broker.bootstrap, [TOPIC], 3))
        assert len(records) == 3  # the rejected message produced nothing
        got = by_id(records)
        assert set(got) == set(body["event_ids"])
        for event_id, record in got.items():
            event = json.loads(record.value)
            assert event["event_id"] == event_id
            headers = record.headers
            assert headers["ce_specversion"] == b"1.0"
            assert headers["ce_type"].decode().endswith(".v1")
            assert headers["content-type"] == b"application/json"
            assert headers["ce_tenantid"] == b"EMEA"
            assert headers["ce_reportid"].decode() == body["report_id"]
            assert headers["ce_correlationid"].decode() == response.headers["X-Correlation-ID"]
            ids = event["ids"]
            expected_key = ids.get("uetr") or ids.get("end_to_end_id") or ids.get("transaction_id")
            assert record.key == expected_key.encode()
            assert headers["ce_subject"] == record.key
        report = httpx2.get(
            f"{base}/v1/reports/{body['report_id']}",
            headers={"Authorization": f"Bearer {keys['EMEA']}"},
        )
        assert report.json()["event_ids"] == body["event_ids"]
        ready = httpx2.get(f"{base}/readyz")
        assert ready.status_code == 200, ready.text
    tail = subprocess.run(
        [sys.executable, "-m", "gateway", "events", "tail", "--tenant", "EMEA",
         "--from-beginning", "--count", "3", "--timeout", "30"],
        capture_output=True, timeout=90, check=False,
        env={**os.environ, "GATEWAY_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
             "GATEWAY_TENANTS_DIR": str(tmp_path / "tenants")},
    )  # fmt: skip
    assert tail.returncode == 0, tail.stderr
    lines = [json.loads(line) for line in tail.stdout.splitlines()]
    assert {line["event"]["event_id"] for line in lines} == set(body["event_ids"])
    assert {line["topic"] for line in lines} == {TOPIC}


def test_broker_restart_loses_and_duplicates_nothing(
    tmp_path: Path, own_broker: DevBroker, gateway: Gateway, settings: Settings
) -> None:
    accepted: list[str] = []
    with running_gateway(tmp_path, own_broker, gateway, settings) as (base, keys):
        for n in range(3):
            response = post(base, keys["EMEA"], unique_message(n))
            assert response.status_code == 202
            accepted += response.json()["event_ids"]
        before = asyncio.run(consume(own_broker.bootstrap, [TOPIC], 9))
        own_broker.stop()  # memory-only: what it held is gone with it
        during: list[str] = []
        for n in range(3, 6):
            response = post(base, keys["EMEA"], unique_message(n))
            assert response.status_code == 202  # fail-open tenant: durable in the outbox
            during += response.json()["event_ids"]
        accepted += during
        time.sleep(1.0)  # the relay meets the outage
        own_broker.start()  # same port
        after = asyncio.run(consume(own_broker.bootstrap, [TOPIC], 9, timeout_s=40))
    seen = [r.headers["ce_id"].decode() for r in before + after]
    assert len(seen) == len(set(seen)), "an event was published twice"
    assert sorted(seen) == sorted(accepted), "an accepted event was lost"
    assert {r.headers["ce_id"].decode() for r in after} == set(during)
