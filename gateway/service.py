"""Submitting a message on behalf of a tenant: the HTTP API's use case.

:meth:`InboundService.submit` runs the idempotency protocol around the inbound
pipeline and the store's single transaction:

1. look up ``(tenant, Idempotency-Key)``: a replay answers with the stored response;
   a different payload under the same key is refused (422); the same key still
   being processed by this process is a conflict (409);
2. run the pipeline (detect, parse, validate, map, rules), with the duplicate
   business message id check (``business.duplicate_message``), the tenant's rule
   selection (its scheme packs, pack parameters, own rules and per-day totals from
   the store) and its relaxations;
3. refuse message types the tenant may not send (403) without storing anything,
   unless the tenant relaxes ``message_not_allowed``;
4. commit report + outbox rows + per-day totals + idempotent response in one
   transaction, shared with concurrent requests (group commit,
   :meth:`gateway.store.Store.commit_grouped`), then answer 202 (accepted) or 422
   (rejected, with the full report).

Nothing is written before the commit, so a request that fails or dies on the way
leaves nothing behind and its key stays free for the retry. The key itself is
claimed by the commit (the idempotency record is part of it): when another process
committed the same key first, this request answers like a replay of that one (or
422 for a different payload), and nothing of it is stored.

A commit can also lose a race on the business message id (another key accepted the
same one) or on a per-day total (another message took it close enough to its limit
that this one would cross it; the store re-checks the limit under a lock). The
message is then judged again, against the new state, and answered with that
judgement (422 with ``business.duplicate_message`` or ``tenant.daily_limit``); the
receipt time stays the same.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from gateway.cloudevents import outbox_rows
from gateway.daily_totals import DailyLimitExceeded, spent_lookup
from gateway.detect import Detection
from gateway.pipeline import Gateway, InboundResult
from gateway.report import Finding, Outcome, Severity, finding
from gateway.store import DuplicateBusinessMessage, Store
from gateway.store.inbound_write import InboundCommit
from gateway.store.lifecycle import payment_rows
from gateway.store.reads import Reads
from gateway.store.store import STALE_CLAIM, IdempotencyKeyTaken, StoreUnavailable
from gateway.tenants import Relaxation, Tenant

__all__ = ["DATASCHEMA", "InboundService", "SubmitResult"]

DATASCHEMA = "https://iso20022-gateway.example/schemas/canonical/payment-event.v1.json"
#: Judgements of one message when commits keep losing races (see the module docstring).
ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """What to answer: ``problem`` set means an RFC 9457 error (nothing stored)."""

    status: int
    body: bytes = b""
    problem: tuple[str, str] | None = None  # (slug, detail)
    replayed: bool = False
    result: InboundResult | None = None
    headers: dict[str, str] = field(default_factory=dict)


def _key_reused() -> SubmitResult:
    return SubmitResult(
        422,
        problem=(
            "idempotency-key-reused",
            "This Idempotency-Key was already used with a different payload.",
        ),
    )


def _in_progress() -> SubmitResult:
    return SubmitResult(
        409,
        problem=(
            "request-in-progress",
            "A request with this Idempotency-Key is still being processed.",
        ),
    )


class InboundService:
    def __init__(self, gateway: Gateway, store: Store, *, source: str = "/isogw") -> None:
        self.gateway = gateway
        self.store = store
        self.source = source
        self._inflight: set[tuple[str, str]] = set()  # (tenant, key) being processed here
        self._inflight_lock = threading.Lock()

    def submit(
        self,
        tenant: Tenant,
        idempotency_key: str,
        payload: bytes,
        *,
        correlation_id: str,
        channel: str = "http",
    ) -> SubmitResult:
        """The use case, blocking until the answer is durable (any thread)."""
        steps = self._steps(tenant, idempotency_key, payload, correlation_id, channel)
        try:
            commit = next(steps)
            while True:
                try:
                    self.store.commit_grouped(commit)
                except Exception as exc:  # the steps decide what a refusal means
                    commit = steps.throw(exc)
                else:
                    commit = steps.send(None)
        except StopIteration as done:
            result: SubmitResult = done.value
            return result

    async def submit_async(
        self,
        tenant: Tenant,
        idempotency_key: str,
        payload: bytes,
        *,
        correlation_id: str,
        channel: str = "http",
    ) -> SubmitResult:
        """The same on the event loop: the pipeline runs here (no thread hop, for small
        messages), the commit is awaited while the loop serves other requests."""
        steps = self._steps(tenant, idempotency_key, payload, correlation_id, channel)
        try:
            commit = next(steps)
            while True:
                try:
                    await self.store.commit_grouped_async(commit)
                except Exception as exc:
                    commit = steps.throw(exc)
                else:
                    commit = steps.send(None)
        except StopIteration as done:
            result: SubmitResult = done.value
            return result

    def _steps(
        self, tenant: Tenant, key: str, payload: bytes, correlation_id: str, channel: str
    ) -> Generator[InboundCommit, None, SubmitResult]:
        """Everything but the commit: yields each commit to make and gets its refusal
        thrown back in; returns the answer."""
        digest = hashlib.sha256(payload).hexdigest()
        with self.store.reads() as reads:  # one connection for the reads before the commit
            answered = self._answered(reads, tenant.id, key, digest)
            if answered is not None:
                return answered
            slot = (tenant.id, key)
            with self._inflight_lock:
                busy = slot in self._inflight
                self._inflight.add(slot)
            if busy:
                return _in_progress()
            try:
                return (
                    yield from self._process(
                        reads, tenant, key, digest, payload, correlation_id, channel
                    )
                )
            finally:
                with self._inflight_lock:
                    self._inflight.discard(slot)

    def _answered(self, reads: Reads, tenant: str, key: str, digest: str) -> SubmitResult | None:
        """The answer already stored under the key (a replay, or 422 for another payload);
        ``None`` when the key is free."""
        stored = reads.idempotent_answer(tenant, key)
        if stored is None:
            return None
        if stored.payload_sha256 != digest:
            return _key_reused()
        if stored.state == "done":
            assert stored.response_status is not None and stored.response_body is not None
            return SubmitResult(stored.response_status, stored.response_body, replayed=True)
        # an unfinished record of an earlier release: taken over once stale
        if datetime.now(UTC) - stored.updated_at <= STALE_CLAIM:
            return _in_progress()
        self.store.drop_stale_claim(tenant, key, datetime.now(UTC) - STALE_CLAIM)
        return None

    def _process(
        self,
        reads: Reads,
        tenant: Tenant,
        key: str,
        digest: str,
        payload: bytes,
        correlation_id: str,
        channel: str,
    ) -> Generator[InboundCommit, None, SubmitResult]:
        received_at = datetime.now(UTC)
        selection = tenant.rule_selection(spent=spent_lookup(reads, tenant.id))
        relaxed = tenant.relaxed_codes()
        refuse_unlisted = Relaxation.MESSAGE_NOT_ALLOWED not in tenant.relaxations
        for _attempt in range(ATTEMPTS):
            result = self.gateway.inbound(
                payload,
                tenant=tenant.id,
                channel=channel,
                relaxed=relaxed,
                extra_findings=lambda detection, msg_id: self._duplicates(
                    reads, tenant, detection, msg_id
                ),
                rules=selection,
                received_at=received_at,
            )
            report = result.report
            if (
                refuse_unlisted
                and report.message_id is not None
                and not tenant.allows(report.message_id)
            ):
                return SubmitResult(
                    403,
                    problem=(
                        "message-not-allowed",
                        f"Tenant {tenant.id} may not submit {report.message_id}.",
                    ),
                )
            accepted = report.outcome is not Outcome.REJECTED
            status = 202 if accepted else 422
            body = self._body(result, correlation_id, accepted)
            rows = []
            if accepted and result.events:
                rows = outbox_rows(
                    result.events,
                    tenant=tenant.id,
                    topic_template=tenant.topic_template,
                    stage=result.stage or "initiation",
                    report_id=report.report_id,
                    correlation_id=correlation_id,
                    received_at=report.received_at,
                    source=self.source,
                )
            commit = InboundCommit(
                tenant=tenant.id,
                idempotency_key=key,
                payload_sha256=digest,
                report=report,
                correlation_id=correlation_id,
                payload=payload if tenant.store_payload else None,
                response_status=status,
                response_body=body,
                rows=rows,
                register_business_id=report.business_message_id if accepted else None,
                daily=tenant.daily_amounts(result.events, received_at) if accepted else None,
                payments=payment_rows(tenant.id, report, result.events) if accepted else (),
            )
            reads.close()  # the connection goes back to the pool before the commit waits
            try:
                yield commit
            except (DuplicateBusinessMessage, DailyLimitExceeded):
                continue  # another message won the race: judge again, against the new state
            except IdempotencyKeyTaken:
                answered = self._answered(reads, tenant.id, key, digest)
                if answered is None:  # the other record was a stale claim, since dropped
                    raise StoreUnavailable(
                        f"the idempotency key of tenant {tenant.id} changed hands twice"
                    ) from None
                return answered
            return SubmitResult(status, body, result=result)
        raise StoreUnavailable(
            f"the commit lost {ATTEMPTS} races with concurrent messages of tenant {tenant.id}"
        )

    def _duplicates(
        self, reads: Reads, tenant: Tenant, detection: Detection, msg_id: str | None
    ) -> list[Finding]:
        """``business.duplicate_message`` when ``msg_id`` (GrpHdr/MsgId, MT field 20) was
        already accepted for the tenant; MX and MT ids share one namespace per tenant."""
        if msg_id is None:
            return []
        earlier = reads.seen_business_message(tenant.id, msg_id)
        if earlier is None:
            return []
        mt = detection.message_id is not None and detection.message_id.family == "mt"
        return [
            finding(
                "business.duplicate_message",
                f"Business message id {msg_id!r} was already accepted (report {earlier}).",
                xpath=None if mt else "/Document/*/GrpHdr/MsgId",
                mt_tag=":20:" if mt else None,
                context={"business_message_id": msg_id, "report_id": earlier},
            )
        ]

    @staticmethod
    def _body(result: InboundResult, correlation_id: str, accepted: bool) -> bytes:
        report = result.report
        if not accepted:
            body: dict[str, Any] = report.model_dump(mode="json")
            body["correlation_id"] = correlation_id
            return orjson.dumps(body)
        return orjson.dumps(
            {
                "report_id": report.report_id,
                "message_id": report.message_id,
                "outcome": report.outcome.value,
                "event_ids": report.event_ids,
                "warnings": [
                    f.model_dump(mode="json")
                    for f in report.findings
                    if f.severity is Severity.WARNING
                ],
                "correlation_id": correlation_id,
            }
        )
