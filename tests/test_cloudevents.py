"""Unit tests for gateway.cloudevents: topics, partition key, binary-mode headers, rows."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from gateway.cloudevents import (
    DATASCHEMA,
    ce_type,
    dlq_topic,
    headers_for,
    outbox_rows,
    partition_key,
    topic_for,
    validate_template,
)
from gateway.errors import ConfigError
from gateway.events import json_schema

RECEIVED = datetime(2024, 3, 14, 9, 15, 27, 350000, tzinfo=UTC)
TEMPLATE = "{tenant}.payments.{stage}.v1"


def event(index: int = 0, **ids: str) -> dict[str, Any]:
    return {
        "event_id": f"00000000-0000-5000-8000-{index:012d}",
        "event_type": "payment.credit_transfer.fi_to_fi",
        "schema_version": "1",
        "source": {
            "message_id": "pacs.008.001.08",
            "business_message_id": "MSG-1",
            "payload_sha256": "0" * 64,
            "transaction_index": index,
        },
        "ids": dict(ids),
    }


def headers(ev: dict[str, Any], **overrides: Any) -> dict[str, bytes]:
    kwargs: dict[str, Any] = {
        "tenant": "EMEA",
        "source": "/isogw",
        "correlation_id": "corr-1",
        "report_id": "rep-1",
        "received_at": RECEIVED,
        "dataschema": DATASCHEMA,
    }
    kwargs.update(overrides)
    result = headers_for(ev, **kwargs)
    names = [name for name, _ in result]
    assert len(names) == len(set(names)), "header names must be unique"
    return dict(result)


@pytest.mark.parametrize(
    ("template", "tenant", "stage", "topic"),
    [
        (TEMPLATE, "EMEA", "initiation", "emea.payments.initiation.v1"),
        (TEMPLATE, "LATAM", "settlement", "latam.payments.settlement.v1"),
        ("bank-{tenant}-{stage}", "NA_EAST", "risk", "bank-na_east-risk"),
        ("{stage}.only", "APAC", "status", "status.only"),
    ],
)
def test_topic_for(template: str, tenant: str, stage: str, topic: str) -> None:
    assert topic_for(template, tenant, stage) == topic


def test_dlq_topic_is_per_tenant() -> None:
    assert dlq_topic(TEMPLATE, "EMEA") == "emea.payments.dlq.v1"
    assert dlq_topic(TEMPLATE, "APAC") != dlq_topic(TEMPLATE, "EMEA")


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("{tenant}.payments.{region}.v1", "unknown placeholder {region}"),
        ("{tenant}.{stage!r}.v1", "unknown placeholder {stage}"),
        ("{tenant}.{stage:>10}", "unknown placeholder {stage}"),
        ("{tenant}.payments.v1", "must contain {stage}"),
        ("{tenant}.payments.{stage", "malformed"),
        ("{tenant} payments {stage}", "not a legal Kafka topic name"),
    ],
)
def test_bad_templates_are_config_errors(template: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match="topic template") as info:
        validate_template(template)
    assert fragment in str(info.value)
    assert repr(template) in str(info.value)


def test_bad_stage_is_config_error() -> None:
    with pytest.raises(ConfigError, match="stage 'Risk Check'"):
        topic_for(TEMPLATE, "EMEA", "Risk Check")


@pytest.mark.parametrize(
    ("ids", "key"),
    [
        ({"uetr": "u-1", "end_to_end_id": "e2e", "transaction_id": "tx"}, b"u-1"),
        ({"end_to_end_id": "e2e", "transaction_id": "tx"}, b"e2e"),
        ({"transaction_id": "tx"}, b"tx"),
        ({"end_to_end_id": "NOTPROVIDED", "transaction_id": "tx"}, b"tx"),
        ({"instruction_id": "only-instr"}, None),
        ({}, None),
    ],
)
def test_partition_key(ids: dict[str, str], key: bytes | None) -> None:
    assert partition_key(event(**ids)) == key


def test_partition_key_without_ids_block() -> None:
    ev = event()
    del ev["ids"]
    assert partition_key(ev) is None


def test_headers_binary_mode() -> None:
    ev = event(uetr="846d3bc3-b6e3-4a8e-b329-1fce3ad2d4c3")
    got = headers(ev)
    assert got == {
        "ce_specversion": b"1.0",
        "ce_id": ev["event_id"].encode(),
        "ce_source": b"/isogw",
        "ce_type": b"org.iso20022gw.payment.credit_transfer.fi_to_fi.v1",
        "ce_time": b"2024-03-14T09:15:27.350Z",
        "ce_subject": b"846d3bc3-b6e3-4a8e-b329-1fce3ad2d4c3",
        "content-type": b"application/json",
        "ce_dataschema": DATASCHEMA.encode(),
        "ce_tenantid": b"EMEA",
        "ce_correlationid": b"corr-1",
        "ce_sourcemessageid": b"MSG-1",
        "ce_reportid": b"rep-1",
    }


def test_headers_omit_absent_optional_attributes() -> None:
    ev = event()
    del ev["source"]["business_message_id"]
    got = headers(ev)
    assert "ce_subject" not in got
    assert "ce_sourcemessageid" not in got


def test_ce_time_is_utc_rfc3339() -> None:
    cet = timezone(timedelta(hours=1))
    got = headers(event(), received_at=datetime(2024, 3, 14, 10, 15, 27, tzinfo=cet))
    assert got["ce_time"] == b"2024-03-14T09:15:27.000Z"
    with pytest.raises(ValueError, match="time-zone aware"):
        headers(event(), received_at=datetime(2024, 3, 14, 10, 15, 27))


def test_ce_type_rejects_malformed_event_types() -> None:
    assert ce_type({"event_type": "payment.fi_credit_transfer", "schema_version": "1"}) == (
        "org.iso20022gw.payment.fi_credit_transfer.v1"
    )
    with pytest.raises(ValueError, match="malformed"):
        ce_type({"event_type": "Payment Initiated", "schema_version": "1"})


def test_dataschema_is_the_committed_schema_id() -> None:
    assert json_schema()["$id"] == DATASCHEMA


def test_outbox_rows() -> None:
    events = [event(0, uetr="u-0"), event(1, end_to_end_id="e2e-1")]
    rows = outbox_rows(
        events,
        tenant="EMEA",
        topic_template=TEMPLATE,
        stage="initiation",
        report_id="rep-1",
        correlation_id="corr-1",
        received_at=RECEIVED,
        source="/isogw",
    )
    assert [row.event_id for row in rows] == [e["event_id"] for e in events]
    assert {row.topic for row in rows} == {"emea.payments.initiation.v1"}
    assert [row.key for row in rows] == [b"u-0", b"e2e-1"]
    assert all(row.tenant == "EMEA" and row.report_id == "rep-1" for row in rows)
    assert [orjson.loads(row.value) for row in rows] == events
    assert dict(rows[1].headers)["ce_subject"] == b"e2e-1"
    assert dict(rows[0].headers)["ce_id"] == events[0]["event_id"].encode()


def test_outbox_rows_are_deterministic() -> None:
    def build() -> list[Any]:
        return outbox_rows(
            [event(0, uetr="u")],
            tenant="NA",
            topic_template=TEMPLATE,
            stage="initiation",
            report_id="r",
            correlation_id="c",
            received_at=RECEIVED,
            source="/isogw",
        )

    assert build() == build()


def test_outbox_rows_reject_bad_template() -> None:
    with pytest.raises(ConfigError):
        outbox_rows(
            [event()],
            tenant="NA",
            topic_template="{tenant}.{oops}",
            stage="initiation",
            report_id="r",
            correlation_id="c",
            received_at=RECEIVED,
            source="/isogw",
        )


def test_asyncapi_document_matches_the_code() -> None:
    from gateway.outbound import OUTBOUND_STAGE

    doc_path = Path(__file__).resolve().parents[1] / "docs" / "asyncapi.yaml"
    doc = yaml.safe_load(doc_path.read_text(encoding="utf-8"))
    assert doc["asyncapi"] == "3.0.0"
    stages = ["initiation", "risk", "execution", "status", "settlement", OUTBOUND_STAGE]
    for stage in stages:
        address = doc["channels"][stage]["address"]
        assert address.format(tenant="emea") == topic_for(TEMPLATE, "EMEA", stage)
    assert doc["channels"]["dlq"]["address"].format(tenant="emea") == dlq_topic(TEMPLATE, "EMEA")
    for operation in doc["operations"].values():
        channel = operation["channel"]["$ref"].removeprefix("#/channels/")
        for message in operation["messages"]:
            assert message["$ref"].startswith(f"#/channels/{channel}/messages/")
    message = doc["components"]["messages"]["paymentEvent"]
    assert (doc_path.parent / message["payload"]["$ref"]).resolve().is_file()
    schema = doc["components"]["schemas"]["cloudEventHeaders"]
    produced = headers(event(uetr="u"))
    assert set(produced) == set(schema["properties"])
    assert set(schema["required"]) <= set(headers(event()))
    assert schema["properties"]["ce_dataschema"]["const"] == DATASCHEMA
    assert re.fullmatch(schema["properties"]["ce_type"]["pattern"], produced["ce_type"].decode())
