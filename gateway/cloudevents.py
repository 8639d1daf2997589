"""The Kafka record of one canonical event: topic, partition key, CloudEvents headers.

Implements CloudEvents 1.0 with its Kafka protocol binding in *binary content
mode* (https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/kafka-protocol-binding.md):
the record value is the event data itself (the canonical payment event v1 as
JSON), every context attribute is a ``ce_<name>`` header, and ``datacontenttype``
maps to the ``content-type`` header. Extensions (DESIGN.md §3): ``tenantid``,
``correlationid``, ``sourcemessageid``, ``reportid``.

Also owns the naming rules (DESIGN.md §3 "Topics"): ``{tenant}.payments.{stage}.v1``
by default, a template per tenant, tenant lower-cased, one DLQ topic per tenant
(stage ``dlq``); the partition key is the UETR, else the EndToEndId, else the
TxId (of the original payment for a return, status or cancellation request), so that
one payment stays on one partition. The topics are documented in
``docs/asyncapi.yaml``.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from gateway.errors import ConfigError
from gateway.outbox import NewOutboxRow

__all__ = [
    "CONTENT_TYPE",
    "DATASCHEMA",
    "DLQ_STAGE",
    "SPECVERSION",
    "TYPE_PREFIX",
    "ce_type",
    "dlq_topic",
    "headers_for",
    "outbox_rows",
    "partition_key",
    "topic_for",
    "validate_template",
]

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"
TYPE_PREFIX = "org.iso20022gw"
DLQ_STAGE = "dlq"
# The $id of the committed JSON Schema (gateway.events.json_schema); a test keeps them equal.
DATASCHEMA = "https://iso20022-gateway.example/schemas/canonical/payment-event.v1.json"

_PLACEHOLDERS = frozenset({"tenant", "stage"})
_TOPIC = re.compile(r"^[a-zA-Z0-9._-]{1,249}$")  # Kafka's legal topic names
_STAGE = re.compile(r"^[a-z][a-z0-9_-]*$")
_EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
# ISO 20022's "no reference given" value: keying on it would put unrelated payments on
# one partition, so the next identifier is used instead.
_NO_REFERENCE = "NOTPROVIDED"
_KEY_FIELDS = ("uetr", "end_to_end_id", "transaction_id")


def validate_template(template: str) -> str:
    """``template`` when it is a usable topic template, else ConfigError naming it."""
    try:
        fields = [
            (name, spec, conversion)
            for _, name, spec, conversion in string.Formatter().parse(template)
            if name is not None
        ]
    except ValueError as exc:
        raise ConfigError(f"topic template {template!r} is malformed: {exc}") from exc
    for name, spec, conversion in fields:
        if name not in _PLACEHOLDERS or spec or conversion:
            raise ConfigError(
                f"topic template {template!r}: unknown placeholder {{{name}}} "
                f"(allowed: {{tenant}}, {{stage}})"
            )
    if "stage" not in {name for name, _, _ in fields}:
        raise ConfigError(f"topic template {template!r} must contain {{stage}}")
    example = template.format(tenant="t", stage="s")
    if not _TOPIC.fullmatch(example):
        raise ConfigError(
            f"topic template {template!r} gives {example!r}, which is not a legal Kafka "
            "topic name (letters, digits, '.', '_', '-')"
        )
    return template


def topic_for(template: str, tenant: str, stage: str) -> str:
    """The topic of ``stage`` for ``tenant`` (lower-cased) under ``template``."""
    validate_template(template)
    if not _STAGE.fullmatch(stage):
        raise ConfigError(f"stage {stage!r} is not a valid stage name")
    topic = template.format(tenant=tenant.lower(), stage=stage)
    if not _TOPIC.fullmatch(topic):
        raise ConfigError(f"topic {topic!r} (template {template!r}, tenant {tenant!r}) is illegal")
    return topic


def dlq_topic(template: str, tenant: str) -> str:
    """The tenant's dead-letter topic: what could not be mapped or published."""
    return topic_for(template, tenant, DLQ_STAGE)


def _ids(event: Mapping[str, Any]) -> Mapping[str, Any]:
    ids = event.get("ids")
    return ids if isinstance(ids, Mapping) else {}


def partition_key(event: Mapping[str, Any]) -> bytes | None:
    """UETR, else EndToEndId, else TxId (UTF-8); for an event about an earlier payment
    (a return, a status, a cancellation request: ``original``) without its own, the
    original's - so that it lands on the payment's partition. None when there is none."""
    original = event.get("original")
    for ids in (_ids(event), original if isinstance(original, Mapping) else {}):
        for name in _KEY_FIELDS:
            value = ids.get(name)
            if isinstance(value, str) and value.strip() and value.strip() != _NO_REFERENCE:
                return value.encode()
    return None


def ce_type(event: Mapping[str, Any]) -> str:
    """Reverse-DNS CloudEvents type, e.g. ``org.iso20022gw.payment.credit_transfer.fi_to_fi.v1``."""
    event_type = str(event.get("event_type", ""))
    version = str(event.get("schema_version", ""))
    if not _EVENT_TYPE.fullmatch(event_type) or not version.isdigit():
        raise ValueError(f"event type {event_type!r} / schema version {version!r} is malformed")
    return f"{TYPE_PREFIX}.{event_type}.v{version}"


def _rfc3339(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("received_at must be time-zone aware")
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def headers_for(
    event: Mapping[str, Any],
    *,
    tenant: str,
    source: str,
    correlation_id: str,
    report_id: str,
    received_at: datetime,
    dataschema: str = DATASCHEMA,
) -> tuple[tuple[str, bytes], ...]:
    """CloudEvents 1.0 binary-mode Kafka headers for one canonical event."""
    key = partition_key(event)
    origin = event.get("source")
    business_id = origin.get("business_message_id") if isinstance(origin, Mapping) else None
    attributes: list[tuple[str, str | None]] = [
        ("ce_specversion", SPECVERSION),
        ("ce_id", str(event["event_id"])),
        ("ce_source", source),
        ("ce_type", ce_type(event)),
        ("ce_time", _rfc3339(received_at)),
        ("ce_subject", key.decode() if key is not None else None),
        ("content-type", CONTENT_TYPE),
        ("ce_dataschema", dataschema),
        ("ce_tenantid", tenant),
        ("ce_correlationid", correlation_id),
        ("ce_sourcemessageid", business_id if isinstance(business_id, str) else None),
        ("ce_reportid", report_id),
    ]
    return tuple((name, value.encode()) for name, value in attributes if value)


def outbox_rows(
    events: Iterable[Mapping[str, Any]],
    *,
    tenant: str,
    topic_template: str,
    stage: str,
    report_id: str,
    correlation_id: str,
    received_at: datetime,
    source: str,
    dataschema: str = DATASCHEMA,
) -> list[NewOutboxRow]:
    """One outbox row per event: topic, key, CloudEvents headers, the event as JSON."""
    topic = topic_for(topic_template, tenant, stage)
    return [
        NewOutboxRow(
            tenant=tenant,
            event_id=str(event["event_id"]),
            topic=topic,
            key=partition_key(event),
            headers=headers_for(
                event,
                tenant=tenant,
                source=source,
                correlation_id=correlation_id,
                report_id=report_id,
                received_at=received_at,
                dataschema=dataschema,
            ),
            value=orjson.dumps(event if isinstance(event, dict) else dict(event)),
            report_id=report_id,
        )
        for event in events
    ]
