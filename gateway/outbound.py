"""The outbound service: status and execution events in, channel messages out.

A Kafka consumer group (``isogw-outbound``) reads ``{tenant}.payments.status.v1`` and
``{tenant}.payments.execution.v1`` of every tenant whose ``outbound.enabled`` is true
(canonical events in CloudEvents binary mode; the tenant is the topic's, never a
header's). For each record, in partition order:

1. the value must be a canonical event (JSON, :class:`gateway.events.PaymentEvent`),
   else it is dead-lettered (``outbound.event_invalid``);
2. its original inbound payment is looked up (UETR, else EndToEndId, else the original
   message id) and the message
   for its kind and channel is rendered and validated (:mod:`gateway.outbound_render`;
   the new message's creation time is the record's CloudEvents ``time``, so a
   redelivered record gives the very same document);
   an invalid or unroutable message is dead-lettered with its findings, never
   delivered;
3. the message is delivered: to ``{tenant}.payments.outbound.v1`` (``outbound.topic``)
   and/or the tenant's webhook (:mod:`gateway.delivery`: signed, retried with backoff
   and jitter behind a circuit breaker); a webhook that refuses or stays unreachable
   after every attempt sends the message to the DLQ (``outbound.delivery_failed``);
4. the outcome is recorded (:meth:`gateway.store.lifecycle.Lifecycle.record_outbound`)
   and only then the record's offset is committed.

So delivery is **at least once**: a crash between delivery and commit redelivers the
record, and the message carries the same id (:func:`gateway.outbound_render.
outbound_message_id`) for the receiver to de-duplicate; a message already recorded as
delivered is not posted to the webhook again. While the broker or the database is down
the record is retried (never skipped).

Dead letters go to the tenant's DLQ topic (``{tenant}.payments.dlq.v1``): the value is
a JSON object ``{stage: "outbound", reason, message_id, target, event, findings, body}``
(``event`` is the raw value as text when it was not JSON), with the source record's
``ce_*`` headers and ``x-isogw-dlq-reason``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError

from gateway.cloudevents import dlq_topic, topic_for
from gateway.delivery import Deliverer, OutboundMessage, WebhookDeliverer
from gateway.errors import GatewayError
from gateway.events import PaymentEvent
from gateway.kafka import KafkaConfig, Publisher
from gateway.outbound_render import OutboundRenderer, Rendered, outbound_message_id
from gateway.pipeline import Gateway
from gateway.report import finding
from gateway.store import Store
from gateway.store.lifecycle import Lifecycle, OutboundRecord
from gateway.tenants import Tenant, TenantRegistry

__all__ = [
    "CONSUMED_STAGES",
    "GROUP_ID",
    "OUTBOUND_STAGE",
    "ConsumedRecord",
    "OutboundService",
    "any_outbound",
]

log = logging.getLogger(__name__)

GROUP_ID = "isogw-outbound"
CONSUMED_STAGES = ("status", "execution")
OUTBOUND_STAGE = "outbound"
#: Wait between tries of a record while the broker or the database is down.
_RETRY_S = 1.0


@dataclass(frozen=True, slots=True)
class ConsumedRecord:
    """One consumed Kafka record (what :meth:`OutboundService.handle` needs of it)."""

    topic: str
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]


def any_outbound(tenants: TenantRegistry) -> bool:
    """Whether some tenant has ``outbound.enabled``."""
    return any(t.outbound.enabled for t in tenants.all())


class OutboundService:
    """Consumes the enabled tenants' status and execution topics (module docstring)."""

    def __init__(
        self,
        *,
        gateway: Gateway,
        store: Store,
        tenants: TenantRegistry,
        kafka: KafkaConfig,
        publisher: Publisher,
        deliverers: Mapping[str, Deliverer] | None = None,
        environ: Mapping[str, str] | None = None,
        group_id: str = GROUP_ID,
        session_timeout_ms: int = 10_000,
    ) -> None:
        self.gateway = gateway
        self.lifecycle = Lifecycle(store)
        self.publisher = publisher
        self.renderer = OutboundRenderer(gateway)
        self.kafka = kafka
        self.group_id = group_id
        self.session_timeout_ms = session_timeout_ms
        self.tenants: dict[str, Tenant] = {t.id: t for t in tenants.all() if t.outbound.enabled}
        self.tenant_of: dict[str, Tenant] = {}
        for tenant in self.tenants.values():
            for stage in CONSUMED_STAGES:
                self.tenant_of[topic_for(tenant.topic_template, tenant.id, stage)] = tenant
        env = os.environ if environ is None else environ
        self.deliverers: dict[str, Deliverer] = dict(deliverers or {})
        for tenant in self.tenants.values():
            webhook = tenant.outbound.webhook
            if webhook is not None and tenant.id not in self.deliverers:
                self.deliverers[tenant.id] = WebhookDeliverer(webhook.config(env, tenant.source))

    @property
    def topics(self) -> list[str]:
        return sorted(self.tenant_of)

    def _own_topics(self) -> list[str]:
        names = list(self.topics)
        for tenant in self.tenants.values():
            names.append(topic_for(tenant.topic_template, tenant.id, OUTBOUND_STAGE))
            names.append(dlq_topic(tenant.topic_template, tenant.id))
        return names

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set; commits each record's offset once handled."""
        if not self.tenant_of:
            return
        await self._retrying(stop, lambda: self.publisher.ensure_topics(self._own_topics()))
        consumer = AIOKafkaConsumer(
            *self.topics,
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=self.session_timeout_ms,
            heartbeat_interval_ms=max(100, self.session_timeout_ms // 4),
            **self.kafka.client_options(),
        )
        await consumer.start()
        try:
            while not stop.is_set():
                batch = await consumer.getmany(timeout_ms=200, max_records=50)
                for partition, records in batch.items():
                    for record in records:
                        source = ConsumedRecord(
                            record.topic,
                            record.key,
                            record.value,
                            tuple((k, bytes(v)) for k, v in record.headers or ()),
                        )
                        if not await self._retrying(stop, lambda s=source: self.handle(s)):
                            return  # stopped: the record stays uncommitted
                        tp = TopicPartition(partition.topic, partition.partition)
                        await consumer.commit({tp: record.offset + 1})
        finally:
            await consumer.stop()
            for deliverer in self.deliverers.values():
                close = getattr(deliverer, "aclose", None)
                if close is not None:
                    await close()

    async def _retrying(self, stop: asyncio.Event, action: Any) -> bool:
        """Run ``action`` until it succeeds (True) or ``stop`` is set (False); retriable
        gateway errors (broker or database down) are retried."""
        while True:
            try:
                await action()
                return True
            except GatewayError as exc:
                if not exc.retriable:
                    raise
                log.warning("outbound: %s; retrying", exc.message)
            if stop.is_set():
                return False
            try:
                await asyncio.wait_for(stop.wait(), _RETRY_S)
                return False
            except TimeoutError:
                continue

    async def handle(self, source: ConsumedRecord) -> OutboundRecord:
        """Render, validate, deliver or dead-letter one record, and record the outcome."""
        tenant = self.tenant_of[source.topic]
        try:
            raw = orjson.loads(source.value)
            event: dict[str, Any] = PaymentEvent.model_validate(raw).model_dump(
                mode="json", exclude_none=True, exclude_defaults=True
            )
        except (orjson.JSONDecodeError, ValidationError, TypeError) as exc:
            problem = finding("outbound.event_invalid", f"{source.topic}: {_first_line(exc)}")
            event_id = _header(source, "ce_id") or hashlib.sha256(source.value).hexdigest()
            rendered = Rendered(outbound_message_id(event_id, "-"), None, None, "", None, [problem])
            await self._dead_letter(tenant, source, None, rendered, "outbound.event_invalid")
            record = self._record(tenant, source, None, event_id, rendered, "dead_lettered")
            record = _with(record, attempts=0)
            await asyncio.to_thread(self.lifecycle.record_outbound, record)
            return record
        ids = event.get("ids") or {}
        refs = event.get("original") or {}
        uetr = ids.get("uetr") or refs.get("uetr")
        e2e = ids.get("end_to_end_id") or refs.get("end_to_end_id")
        original = await asyncio.to_thread(
            self.lifecycle.find_original,
            tenant.id,
            uetr=uetr,
            end_to_end_id=e2e,
            message_id=refs.get("message_id"),
        )
        now = _event_time(source) or datetime.now(UTC)
        event_id = str(event["event_id"])
        try:
            rendered = await asyncio.to_thread(
                self.renderer.render, event, tenant.outbound, original, now
            )
        except GatewayError as exc:  # e.g. the target's mapping or schema is not installed
            if exc.retriable:
                raise
            rendered = self._unrenderable(event_id, exc.message)
        except Exception as exc:  # a defect must not stop the consumer: the event is kept
            log.exception("outbound: rendering %s failed", event_id)
            rendered = self._unrenderable(event_id, f"{type(exc).__name__}: {exc}")
        if not rendered.valid:
            reason = (
                rendered.findings[-1].code if rendered.kind is None else "outbound.invalid_message"
            )
            if rendered.kind is not None:
                text = f"{rendered.target}: not delivered, it failed its validation"
                rendered.findings.append(finding(reason, text))
            await self._dead_letter(tenant, source, event, rendered, reason)
            record = self._record(tenant, source, event, event_id, rendered, "dead_lettered")
            await asyncio.to_thread(self.lifecycle.record_outbound, record)
            return record
        if await asyncio.to_thread(self.lifecycle.delivered, tenant.id, rendered.message_id):
            log.info("outbound %s already delivered; skipped", rendered.message_id)
            return self._record(tenant, source, event, event_id, rendered, "delivered")
        assert rendered.body is not None and rendered.target is not None
        message = OutboundMessage(
            message_id=rendered.message_id,
            tenant=tenant.id,
            target=rendered.target,
            content_type=rendered.content_type,
            body=rendered.body,
            source_event_id=event_id,
            uetr=uetr,
        )
        channels: list[str] = []
        attempts, error = 0, None
        if tenant.outbound.topic:
            await self._publish_message(tenant, message)
            channels.append("topic")
        deliverer = self.deliverers.get(tenant.id)
        outcome = "delivered"
        if deliverer is not None:
            result = await deliverer.deliver(message)
            attempts, error = result.attempts, result.error
            if result.delivered:
                channels.append("webhook")
            else:
                text = f"webhook: {error or 'not delivered'} after {attempts} attempt(s)"
                rendered.findings.append(finding("outbound.delivery_failed", text))
                await self._dead_letter(tenant, source, event, rendered, "outbound.delivery_failed")
                outcome = "dead_lettered"
        record = self._record(tenant, source, event, event_id, rendered, outcome)
        record = _with(record, channels=tuple(channels), attempts=attempts, error=error)
        await asyncio.to_thread(self.lifecycle.record_outbound, record)
        return record

    @staticmethod
    def _unrenderable(event_id: str, why: str) -> Rendered:
        problem = finding("outbound.invalid_message", f"not rendered: {why}"[:1000])
        return Rendered(outbound_message_id(event_id, "-"), None, None, "", None, [problem])

    async def _publish_message(self, tenant: Tenant, message: OutboundMessage) -> None:
        topic = topic_for(tenant.topic_template, tenant.id, OUTBOUND_STAGE)
        headers = [
            ("content-type", message.content_type.encode()),
            ("x-isogw-message-id", message.message_id.encode()),
            ("x-isogw-message-type", message.target.encode()),
            ("x-isogw-source-event-id", message.source_event_id.encode()),
            ("ce_tenantid", tenant.id.encode()),
        ]
        key = message.uetr.encode() if message.uetr else None
        await self.publisher.publish(topic, key, message.body, headers)

    async def _dead_letter(
        self,
        tenant: Tenant,
        source: ConsumedRecord,
        event: dict[str, Any] | None,
        rendered: Rendered,
        reason: str,
    ) -> None:
        value = {
            "stage": OUTBOUND_STAGE,
            "reason": reason,
            "message_id": rendered.message_id,
            "target": rendered.target,
            "event": event if event is not None else source.value.decode("utf-8", "replace"),
            "findings": [f.model_dump(mode="json") for f in rendered.findings],
            "body": rendered.body.decode("utf-8", "replace") if rendered.body else None,
        }
        headers = [(k, v) for k, v in source.headers if k.startswith("ce_")]
        headers += [("x-isogw-dlq-reason", reason.encode()), ("x-isogw-dlq-stage", b"outbound")]
        topic = dlq_topic(tenant.topic_template, tenant.id)
        await self.publisher.publish(topic, source.key, orjson.dumps(value), headers)

    @staticmethod
    def _record(
        tenant: Tenant,
        source: ConsumedRecord,
        event: dict[str, Any] | None,
        event_id: str,
        rendered: Rendered,
        outcome: str,
    ) -> OutboundRecord:
        ids = (event or {}).get("ids") or {}
        refs = (event or {}).get("original") or {}
        return OutboundRecord(
            tenant=tenant.id,
            message_id=rendered.message_id,
            source_event_id=event_id[:64],
            source_event_type=(event or {}).get("event_type"),
            source_topic=source.topic,
            uetr=(ids.get("uetr") or refs.get("uetr") or None),
            end_to_end_id=(ids.get("end_to_end_id") or refs.get("end_to_end_id") or None),
            target=rendered.target,
            outcome=outcome,
            channels=(),
            attempts=1 if outcome == "delivered" else 0,
            error=None,
            findings=[f.model_dump(mode="json") for f in rendered.findings],
            body_sha256=hashlib.sha256(rendered.body).hexdigest() if rendered.body else None,
        )


def _with(record: OutboundRecord, **changes: Any) -> OutboundRecord:
    return replace(record, **changes)


def _event_time(source: ConsumedRecord) -> datetime | None:
    """The record's CloudEvents ``time``: the rendered message's creation time, so that
    a redelivered record renders the very same document."""
    text = _header(source, "ce_time")
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
    except ValueError:
        return None


def _header(source: ConsumedRecord, name: str) -> str | None:
    for key, value in source.headers:
        if key == name:
            return value.decode("utf-8", "replace")
    return None


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
