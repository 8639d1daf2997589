"""The inbound pipeline: detect -> parse -> validate -> map, one report per message.

:class:`Gateway` holds what is loaded once per process (settings, schema
registry, mappings); :meth:`Gateway.inbound` runs one message through every
step and returns an :class:`InboundResult` (the report and, unless the message
was rejected, its canonical events as JSON-ready dicts). The CLI and the HTTP
API are thin layers over it.

The format is sniffed from the payload (:func:`gateway.pipeline_mt.sniff_format`):
XML runs the steps below; SWIFT FIN (MT) runs :mod:`gateway.pipeline_mt`, which
also explains how RJE batches are handled (:meth:`Gateway.inbound_each`).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lxml import etree

from gateway.detect import Detection, detect_tree
from gateway.fin.mapping import FinMappingRegistry
from gateway.ids import uuid4_text
from gateway.mapping import MappingRegistry, map_inbound, mapping_use
from gateway.mapping.locate import FieldLocator
from gateway.mx import parse_xml
from gateway.pipeline_mt import ExtraFindings, inbound_fin, sniff_format
from gateway.report import Finding, Outcome, Report, SchemaUse, Severity, finding, outcome_of
from gateway.rules import PackRegistry, RuleEngine, Subject, mx_header, mx_values
from gateway.rules.engine import Locator, RuleSelection
from gateway.schemas import SchemaRegistry
from gateway.settings import Settings

__all__ = ["Gateway", "InboundResult", "RuleSelection", "business_message_id"]


@dataclass(slots=True)
class InboundResult:
    report: Report
    events: list[dict[str, Any]] = field(default_factory=list)
    stage: str | None = None  # orchestration stage of the events (from the mapping file)

    @property
    def accepted(self) -> bool:
        return self.report.outcome is not Outcome.REJECTED

    def report_json(self) -> dict[str, Any]:
        return self.report.model_dump(mode="json")


#: Default: the business pack only (no scheme or tenant packs).
_ALL_RULES = RuleSelection()


class Clock:
    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = round((now - self._last) * 1000, 3)
        self._last = now


def relax(item: Finding) -> Finding:
    if item.severity is not Severity.ERROR:
        return item
    context = {**item.context, "relaxed": True}
    return item.model_copy(update={"severity": Severity.WARNING, "context": context})


#: A finding names a problem; it never carries the payload. Messages and context texts
#: longer than these (values quoted by libxml2, by rules, by the MT parser: a 5 MB BIC
#: was copied whole into both the message and the context) are cut, their length noted.
MAX_FINDING_TEXT = 1_000
MAX_CONTEXT_TEXT = 256
MAX_CONTEXT_ITEMS = 100


def _cut(value: Any, limit: int) -> Any:
    if isinstance(value, str):
        return value if len(value) <= limit else f"{value[:limit]}... ({len(value)} characters)"
    if isinstance(value, list | tuple):
        return [_cut(item, limit) for item in value[:MAX_CONTEXT_ITEMS]]
    if isinstance(value, dict):
        return {key: _cut(item, limit) for key, item in value.items()}
    return value


def bounded(item: Finding) -> Finding:
    """``item`` with every text within :data:`MAX_FINDING_TEXT` / :data:`MAX_CONTEXT_TEXT`."""
    xpath = item.location.xpath or ""
    context = item.context
    if (
        len(item.message) <= MAX_FINDING_TEXT
        and len(xpath) <= MAX_FINDING_TEXT
        and _cut(context, MAX_CONTEXT_TEXT) == context
    ):
        return item
    location = item.location.model_copy(update={"xpath": _cut(item.location.xpath, 1_000)})
    update = {"message": _cut(item.message, MAX_FINDING_TEXT), "location": location}
    return item.model_copy(update={**update, "context": _cut(context, MAX_CONTEXT_TEXT)})


def has_error(findings: list[Finding], relaxed: frozenset[str]) -> bool:
    """Any error that no relaxation downgrades."""
    return any(f.severity is Severity.ERROR and f.code not in relaxed for f in findings)


#: ISO 20022 MsgId is Max35Text: a longer value is the XSD's finding, not an id to keep.
MAX_BUSINESS_ID = 35
#: Where a Document names itself: its group header's MsgId, or, in the exceptions and
#: investigations messages that have no group header (camt.056 cancellation requests,
#: camt.029 resolutions, ...), the assignment's Id.
_MESSAGE_IDS = {"GrpHdr": "MsgId", "Assgnmt": "Id"}


def business_message_id(document: etree._Element | None) -> str | None:
    """GrpHdr/MsgId (Assgnmt/Id without a group header) of the Document; None when
    absent or longer than any valid one.

    Every accepted message must have one: it is what makes the same message under a
    new Idempotency-Key a ``business.duplicate_message`` instead of a second commit of
    the very same events (whose ids are derived from the payload)."""
    if document is None:
        return None
    for top in document:
        for child in top:
            if not isinstance(child.tag, str):
                continue
            ns, _, local = child.tag.rpartition("}")  # ns: "{urn:...", or "" without one
            if local in _MESSAGE_IDS:
                wanted = f"{ns}}}{_MESSAGE_IDS[local]}" if ns else _MESSAGE_IDS[local]
                # child.findtext(wanted), without the ElementPath machinery
                found = next((c.text or "" for c in child if c.tag == wanted), None)
                if found is None or len(found) > MAX_BUSINESS_ID:
                    return None
                return str(found)
    return None


def init_xsd_types() -> None:
    """Compile one empty schema. libxml2 builds its table of XSD built-in types on the
    first schema compiled: worker threads compiling their first schemas at once (a fresh
    process under load, each thread compiles its own copy) could all fail with "Document
    is not valid XML Schema" (a 500). Done here, before any worker runs."""
    etree.XMLSchema(etree.XML(b'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"/>'))


class Gateway:
    """Loaded resources and the inbound pipeline."""

    def __init__(
        self,
        settings: Settings,
        schemas: SchemaRegistry,
        mappings: MappingRegistry,
        rules: RuleEngine | None = None,
        fin_mappings: FinMappingRegistry | None = None,
    ) -> None:
        self.settings = settings
        self.schemas = schemas
        self.mappings = mappings
        #: None: no rule packs loaded (schema and mapping only)
        self.rules = rules
        #: MT -> canonical mapping files (``<mapping dir>/fin``), loaded here when not given
        self.fin_mappings = fin_mappings or FinMappingRegistry.load(settings.mapping_dir / "fin")
        init_xsd_types()

    @classmethod
    def from_settings(cls, settings: Settings) -> Gateway:
        return cls(
            settings,
            SchemaRegistry.load(settings),
            MappingRegistry.load(settings.mapping_dir),
            RuleEngine(PackRegistry.load(settings.rule_packs_dir)),
            FinMappingRegistry.load(settings.mapping_dir / "fin"),
        )

    def inbound(
        self,
        payload: bytes,
        *,
        tenant: str | None = None,
        channel: str | None = None,
        relaxed: frozenset[str] = frozenset(),
        extra_findings: ExtraFindings | None = None,
        rules: RuleSelection | None = _ALL_RULES,
        received_at: datetime | None = None,
    ) -> InboundResult:
        """Run one message (XML or FIN, sniffed from the payload) through every step.

        ``relaxed``: finding codes a tenant relaxation downgrades from error to warning
        (recorded in the finding's context). ``extra_findings``: a hook for checks that
        need state outside the message (e.g. duplicate business message ids), called with
        the detection and the business message id after validation, before mapping.
        ``rules``: the packs that judge the message besides the business pack; None
        judges by schema (and mapping) only. ``received_at``: the receipt time rules
        judge dates and cut-offs against (now unless replaying). An RJE batch of
        several FIN messages is one ``mt.batch`` error: see :meth:`inbound_each`.
        """
        received_at = received_at or datetime.now(UTC)
        if sniff_format(payload) == "fin":
            fin = inbound_fin(
                self,
                payload,
                split=False,
                tenant=tenant,
                channel=channel,
                relaxed=relaxed,
                extra_findings=extra_findings,
                rules=rules,
                received_at=received_at,
            )
            return next(fin)
        clock = Clock()
        digest = hashlib.sha256(payload).hexdigest()
        findings: list[Finding] = []
        judged_by: list[SchemaUse] = []
        events: list[dict[str, Any]] = []
        stage: str | None = None
        msg_id: str | None = None

        parsed = parse_xml(payload, max_bytes=self.settings.max_payload_bytes)
        findings.extend(parsed.findings)
        clock.lap("parse")
        detection = Detection(None)
        if parsed.tree is not None:
            detection = detect_tree(parsed.tree.getroot())
            msg_id = business_message_id(detection.document)
            findings.extend(detection.findings)
            clock.lap("detect")
            findings.extend(self._validate(detection, judged_by))
            clock.lap("schema")
            if extra_findings is not None:
                findings.extend(extra_findings(detection, msg_id))
            locate: Locator | None = None
            mapped = False
            if not has_error(findings, relaxed) and detection.document is not None:
                events, stage, locate = self._map(
                    detection, msg_id, digest, tenant, findings, judged_by
                )
                mapped = locate is not None
                clock.lap("map")
            if rules is not None and self.rules is not None and detection.document is not None:
                subject = Subject(
                    message_id=str(detection.message_id) if detection.message_id else None,
                    events=events,
                    values=mx_values(detection.document, detection.apphdr),
                    header=mx_header(detection.apphdr),
                    business_message_id=msg_id,
                    received_at=received_at,
                    tenant=tenant,
                    channel=channel,
                    document=detection.document,
                    mapped=mapped,
                    spent=rules.spent,
                )
                judged = self.rules.run(subject, rules, locate)
                findings.extend(judged.findings)
                judged_by.extend(judged.applied)
                clock.lap("rules")
        if relaxed:
            findings[:] = [relax(f) if f.code in relaxed else f for f in findings]
        findings[:] = [bounded(f) for f in findings]
        outcome = outcome_of(findings)
        if outcome is Outcome.REJECTED:
            events = []
        report = Report(
            report_id=uuid4_text(),
            tenant=tenant,
            channel=channel,
            received_at=received_at,
            message_id=str(detection.message_id) if detection.message_id else None,
            envelope=detection.envelope,
            business_message_id=msg_id,
            payload_sha256=digest,
            payload_size=len(payload),
            outcome=outcome,
            findings=findings,
            judged_by=judged_by,
            event_ids=[event["event_id"] for event in events],
            transaction_count=len(events),
            timings_ms=clock.timings,
        )
        return InboundResult(report, events, stage if events else None)

    def inbound_each(
        self,
        payload: bytes,
        *,
        tenant: str | None = None,
        channel: str | None = None,
        relaxed: frozenset[str] = frozenset(),
        rules: RuleSelection | None = _ALL_RULES,
        received_at: datetime | None = None,
    ) -> Iterator[InboundResult]:
        """One result per message: each entry of an RJE batch judged on its own (in
        order, lines counted in the whole payload); any other payload as :meth:`inbound`."""
        received_at = received_at or datetime.now(UTC)
        if sniff_format(payload) == "fin":
            return inbound_fin(
                self,
                payload,
                split=True,
                tenant=tenant,
                channel=channel,
                relaxed=relaxed,
                extra_findings=None,
                rules=rules,
                received_at=received_at,
            )
        one = self.inbound(
            payload, tenant=tenant, channel=channel, relaxed=relaxed, rules=rules,
            received_at=received_at,
        )  # fmt: skip
        return iter((one,))

    def _validate(self, detection: Detection, judged_by: list[SchemaUse]) -> list[Finding]:
        findings: list[Finding] = []
        targets: list[tuple[etree._Element, str, str]] = []
        if detection.document is not None and detection.message_id is not None:
            targets.append((detection.document, str(detection.message_id), "schema"))
        if detection.apphdr is not None and detection.apphdr_id is not None:
            kind = "schema" if detection.document is None else "apphdr_schema"
            targets.append((detection.apphdr, str(detection.apphdr_id), kind))
        for element, message_id, kind in targets:
            entry = self.schemas.get(message_id)
            if entry is None:
                findings.append(
                    finding(
                        "schema.not_installed",
                        f"No schema is installed for {message_id}; add it with "
                        f"`isogw schemas add` or GATEWAY_SCHEMA_DIRS.",
                        line=element.sourceline,
                        severity=Severity.ERROR if kind == "schema" else Severity.WARNING,
                        context={"message_id": message_id},
                    )
                )
                continue
            judged_by.append(entry.use(kind))
            findings.extend(self.schemas.validate(element, entry))
        return findings

    def _map(
        self,
        detection: Detection,
        msg_id: str | None,
        digest: str,
        tenant: str | None,
        findings: list[Finding],
        judged_by: list[SchemaUse],
    ) -> tuple[list[dict[str, Any]], str | None, Locator | None]:
        """The events, their orchestration stage (from the mapping file) and a locator
        from their fields back to the elements (None when no mapping exists)."""
        assert detection.document is not None
        assert detection.message_id is not None
        mapping = self.mappings.get(str(detection.message_id))
        if mapping is None:
            findings.append(
                finding(
                    "mapping.not_available",
                    f"No mapping file for {detection.message_id}: validated, no events produced.",
                )
            )
            return [], None, None
        judged_by.append(mapping_use(mapping))
        source = {
            "message_id": str(detection.message_id),
            "business_message_id": msg_id,
            "payload_sha256": digest,
            "envelope": detection.envelope,
        }
        result = map_inbound(
            detection.document, mapping, seed=f"{tenant or '-'}:{digest}", source=source
        )
        findings.extend(result.findings)
        return result.events, mapping.stage, FieldLocator(mapping, result.scopes)
