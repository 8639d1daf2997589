"""The inbound pipeline for SWIFT FIN (MT): sniff, cap, parse, validate, rules.

:func:`sniff_format` tells FIN from XML by the first bytes; :meth:`Gateway.inbound`
sends FIN payloads here. One FIN transmission (a user message, with any ACK/NAK
service message before it) runs through:

1. **size cap** (``GATEWAY_MAX_MT_BYTES``, checked before parsing: ``mt.too_large``);
2. **parse** (:func:`gateway.mt.parse_mt`) and **structure** (blocks, X character set,
   10,000-character text limit: :func:`gateway.mt.validate_mt_structure`);
3. **message definitions** (field formats, fields and sequences, network rules:
   :func:`gateway.fin.validate_fin`), recorded in ``judged_by`` as ``mt_definitions``
   of the SWIFT Standards release :data:`gateway.fin.STANDARDS_RELEASE`; skipped
   when the text block is over FIN's 10,000-character limit (``mt.text_too_long``);
4. the ``extra_findings`` hook (duplicate business message id: field 20);
5. **mapping**: a message without errors is mapped to its canonical event by the MT
   mapping file of its message id (``mappings/fin/<message id>.yaml``,
   :func:`gateway.fin.mapping.map_mt`), recorded in ``judged_by`` (kind ``mapping``);
   without a mapping file: ``mapping.not_available`` and no events, as for MX;
6. **rules**: the business pack and the selected scheme/tenant packs on the event
   (``mapped``: event rules apply, located by MT tag through the mapping's locator),
   the typed values (:func:`gateway.fin.values.mt_values`) and header (``mt_header``).

An accepted message's event goes to the outbox like an MX message's; a rejected one
has none.

Findings are located by MT tag (``":32A:"``, ``"{2:}"``, ``"{3:121}"``) and line;
a finding that names a tag occurring once in the message but carries no line (rule
findings on typed values) gets that tag's line.

**RJE batches** (entries separated by ``$``): every ``$`` separates entries (as in
:func:`gateway.mt.parse_mt_batch`); blank entries are ignored. When two or more
entries each start with ``{``, the payload is a batch: :meth:`Gateway.inbound` (one
report per payload: the HTTP API) answers with one ``mt.batch`` error without parsing,
:meth:`Gateway.inbound_each` (the CLI) judges each entry on its own (its own size cap,
sha256 and size; lines stay those of the whole file). A single entry framed by ``$``
(a message followed by ``$``) is judged as that message. A ``$`` anywhere else (inside
a message) leaves the payload one transmission, and the ``$`` is reported where it is.

``envelope`` says what framed the message: ``FIN`` (the message alone) or ``RJE``
(an RJE entry), followed, when service messages precede the user message in the same
transmission, by ``/ACK+message``, ``/NAK+message`` (a block 4 ``{451:0}`` or ``{451:1}``)
or ``/service+message``; ``FIN/ACK`` when there is only the service message.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from gateway import fin
from gateway.detect import Detection
from gateway.fin import STANDARDS_RELEASE, validate_fin
from gateway.fin.mapping import map_mt
from gateway.fin.mapping_run import MtMapResult
from gateway.fin.values import mt_header, mt_values
from gateway.mt import (
    MtMessage,
    ParsedMt,
    TagBlock,
    TextBlock,
    detect_mt,
    parse_mt,
    validate_mt_structure,
)
from gateway.report import (
    Finding,
    Location,
    Outcome,
    Report,
    SchemaUse,
    finding,
    outcome_of,
)
from gateway.rules import Subject
from gateway.rules.engine import RuleSelection

if TYPE_CHECKING:
    from gateway.pipeline import Gateway, InboundResult

__all__ = ["SNIFF_BYTES", "ExtraFindings", "inbound_fin", "sniff_format"]

#: How much of a payload that starts with neither ``<`` nor ``{n:`` is searched for
#: FIN headers (:func:`gateway.mt.detect_mt`) before it is left to the XML parser.
SNIFF_BYTES = 4096

ExtraFindings = Callable[[Detection, str | None], list[Finding]]

_BOM = b"\xef\xbb\xbf"
_LEAD = re.compile(rb"(?:\xef\xbb\xbf)?[ \t\r\n]*")
#: A block start, after any RJE separators (a batch file may start with "$").
_FIN_START = re.compile(rb"(?:\$[ \t\r\n]*)*\{[0-9A-Z]:")
#: Field 20 as a business message id: SWIFT X characters on one line, at most as long
#: as an ISO 20022 MsgId (Max35Text; field 20 itself is 16x).
_BUSINESS_ID = re.compile(r"[A-Za-z0-9/\-?:().,'+ ]{1,35}")
#: Message ids of a rejected batch listed in the ``mt.batch`` finding (the first ones).
_BATCH_IDS = 20


def sniff_format(payload: bytes) -> Literal["fin", "xml"]:
    """Which parser reads ``payload``: after an optional UTF-8 BOM and whitespace,
    ``<`` is XML and ``{`` + block id + ``:`` (after any RJE ``$``) is FIN; anything
    else is FIN only when :func:`gateway.mt.detect_mt` finds a FIN header in the first
    :data:`SNIFF_BYTES` (e.g. text before ``{1:``), else XML (whose parser reports
    what is wrong)."""
    match = _LEAD.match(payload)
    start = match.end() if match is not None else 0
    if payload.startswith(b"<", start):
        return "xml"
    if _FIN_START.match(payload, start):
        return "fin"
    return "fin" if detect_mt(payload[start : start + SNIFF_BYTES]) is not None else "xml"


@dataclass(frozen=True, slots=True)
class _Entry:
    data: bytes
    line_offset: int = 0  # lines of the payload before the entry's first line


def _entries(payload: bytes) -> tuple[list[_Entry], bool]:
    """The transmissions of a FIN payload and whether it is RJE-framed (see module doc)."""
    if b"$" not in payload:
        return [_Entry(payload)], False
    entries: list[_Entry] = []
    offset = 0
    for chunk in payload.split(b"$"):
        if chunk.strip():
            entries.append(_Entry(chunk, offset))
        offset += chunk.count(b"\n")
    if entries and all(_starts_block(e.data) for e in entries):
        return entries, True
    return [_Entry(payload)], False


def _starts_block(data: bytes) -> bool:
    match = _LEAD.match(data)
    return data.startswith(b"{", match.end() if match is not None else 0)


def inbound_fin(
    gateway: Gateway,
    payload: bytes,
    *,
    split: bool,
    tenant: str | None,
    channel: str | None,
    relaxed: frozenset[str],
    extra_findings: ExtraFindings | None,
    rules: RuleSelection | None,
    received_at: datetime,
) -> Iterator[InboundResult]:
    """Judge a FIN payload: one result, or with ``split`` one per RJE entry, each
    judged when the previous one has been consumed (per-day totals count it)."""
    judge = _Judge(gateway, tenant, channel, relaxed, extra_findings, rules, received_at)
    cap = min(gateway.settings.max_mt_bytes, gateway.settings.max_payload_bytes)
    if not split and len(payload) > cap:  # before anything that reads the whole payload
        yield judge.too_large(payload, "FIN", cap)
        return
    entries, rje = _entries(payload)
    if len(entries) > 1 and not split:
        yield judge.batch(payload, entries)
        return
    base = "RJE" if rje else "FIN"
    for entry in entries:
        # One report per payload (not split): its sha256 and size are the payload's, as
        # for XML, even when the message is one RJE entry framed by "$".
        whole = None if split else payload
        yield judge.entry(entry.data, entry.line_offset, base, cap, whole)


class _Judge:
    """One message's judgement; the arguments of :meth:`Gateway.inbound`."""

    def __init__(
        self,
        gateway: Gateway,
        tenant: str | None,
        channel: str | None,
        relaxed: frozenset[str],
        extra_findings: ExtraFindings | None,
        rules: RuleSelection | None,
        received_at: datetime,
    ) -> None:
        self.gateway = gateway
        self.tenant = tenant
        self.channel = channel
        self.relaxed = relaxed
        self.extra_findings = extra_findings
        self.rules = rules
        self.received_at = received_at

    def too_large(self, data: bytes, envelope: str, cap: int) -> InboundResult:
        message = f"The FIN payload has {len(data)} bytes; at most {cap} are parsed."
        context = {"size": len(data), "limit": cap}
        found = [finding("mt.too_large", message, context=context)]
        return self._result(data, None, envelope, None, found, [], {})

    def batch(self, payload: bytes, entries: list[_Entry]) -> InboundResult:
        ids = [detect_mt(e.data[:SNIFF_BYTES]) for e in entries[:_BATCH_IDS]]
        message = (
            f"An RJE batch of {len(entries)} messages: send one message per request "
            "(`isogw validate` judges each message of a batch file)."
        )
        context = {"messages": len(entries), "message_ids": [str(i) if i else None for i in ids]}
        found = [finding("mt.batch", message, line=1, context=context)]
        return self._result(payload, None, "RJE", None, found, [], {})

    def entry(
        self, data: bytes, line_offset: int, base: str, cap: int, whole: bytes | None = None
    ) -> InboundResult:
        """Judge one message; ``whole``: the payload it came in, when the report is the
        payload's (its sha256 and size), else the entry's own."""
        from gateway.pipeline import Clock, has_error

        if len(data) > cap:
            return self.too_large(data, base, cap)
        clock = Clock()
        parsed = parse_mt(data[len(_BOM) :] if data.startswith(_BOM) else data)
        clock.lap("parse")
        findings = validate_mt_structure(parsed)
        judged_by: list[SchemaUse] = []
        message = parsed.user_message
        message_id = message.message_id if message is not None else None
        envelope = _envelope(base, parsed)
        # The definitions judge FIN messages: a text block over FIN's 10,000-character
        # limit is not one (and would let hostile input buy field checks by the byte).
        too_long = any(f.code == "mt.text_too_long" for f in findings)
        if message is not None and message.text is not None and not too_long:
            findings.extend(validate_fin(message))
            if message_id is not None:
                judged_by.append(_definitions_use(str(message_id)))
        clock.lap("schema")
        business_id = _business_message_id(message)
        if self.extra_findings is not None:
            findings.extend(self.extra_findings(Detection(message_id, envelope), business_id))
        mapped: MtMapResult | None = None
        stage: str | None = None
        if message is not None and not has_error(findings, self.relaxed):
            mapped, stage = self._map(
                message, whole or data, envelope, business_id, findings, judged_by
            )
            clock.lap("map")
        events = mapped.events if mapped is not None else []
        gw, rules = self.gateway, self.rules
        if rules is not None and gw.rules is not None and message is not None:
            subject = Subject(
                message_id=str(message_id) if message_id is not None else None,
                events=events,
                values=mt_values(message),
                header=mt_header(message),
                business_message_id=business_id,
                received_at=self.received_at,
                tenant=self.tenant,
                channel=self.channel,
                document=None,
                mapped=mapped is not None,
                spent=rules.spent,
            )
            judged = gw.rules.run(subject, rules, mapped.locate if mapped is not None else None)
            findings.extend(judged.findings)
            judged_by.extend(judged.applied)
            clock.lap("rules")
        findings = _locate(findings, _tag_lines(message), line_offset)
        mid = str(message_id) if message_id is not None else None
        result = self._result(
            whole or data, mid, envelope, business_id, findings, judged_by, clock.timings, events
        )
        if result.accepted and events:
            result.stage = stage
        return result

    def _map(
        self,
        message: MtMessage,
        data: bytes,
        envelope: str,
        business_id: str | None,
        findings: list[Finding],
        judged_by: list[SchemaUse],
    ) -> tuple[MtMapResult | None, str | None]:
        """The message's canonical event through its MT mapping file (None, with
        ``mapping.not_available``, when there is none), and the events' stage."""
        message_id = str(message.message_id)
        mapping = self.gateway.fin_mappings.get(message_id)
        if mapping is None:
            text = f"No mapping file for {message_id}: validated, no events produced."
            findings.append(finding("mapping.not_available", text))
            return None, None
        judged_by.append(
            SchemaUse(
                kind="mapping",
                id=message_id,
                origin=f"fin/{mapping.file.name}",
                sha256=mapping.sha256,
                version=mapping.version,
            )
        )
        digest = hashlib.sha256(data).hexdigest()
        source = {
            "message_id": message_id,
            "business_message_id": business_id,
            "payload_sha256": digest,
            "envelope": envelope,
        }
        result = map_mt(message, mapping, seed=f"{self.tenant or '-'}:{digest}", source=source)
        findings.extend(result.findings)
        return result, mapping.stage

    def _result(
        self,
        data: bytes,
        message_id: str | None,
        envelope: str,
        business_id: str | None,
        findings: list[Finding],
        judged_by: list[SchemaUse],
        timings: dict[str, float],
        events: list[dict[str, Any]] | None = None,
    ) -> InboundResult:
        from gateway.pipeline import InboundResult, bounded, relax

        if self.relaxed:
            findings = [relax(f) if f.code in self.relaxed else f for f in findings]
        findings = [bounded(f) for f in findings]
        outcome = outcome_of(findings)
        events = events if events and outcome is not Outcome.REJECTED else []
        report = Report(
            report_id=str(uuid.uuid4()),
            tenant=self.tenant,
            channel=self.channel,
            received_at=self.received_at,
            message_id=message_id,
            envelope=envelope,
            business_message_id=business_id,
            payload_sha256=hashlib.sha256(data).hexdigest(),
            payload_size=len(data),
            outcome=outcome,
            findings=findings,
            judged_by=judged_by,
            event_ids=[event["event_id"] for event in events],
            transaction_count=len(events),
            timings_ms=timings,
        )
        return InboundResult(report, events)


def _envelope(base: str, parsed: ParsedMt) -> str:
    parts = [_service_kind(m) for m in parsed.service_messages]
    if parsed.user_message is not None:
        parts.append("message")
    return base if parts in ([], ["message"]) else f"{base}/{'+'.join(parts)}"


def _service_kind(message: MtMessage) -> str:
    block = message.block("4")
    flag = block.get("451") if isinstance(block, TagBlock) else None
    return {"0": "ACK", "1": "NAK"}.get(flag or "", "service")


def _business_message_id(message: MtMessage | None) -> str | None:
    """Field 20 (sender's / transaction reference) when it is one line of at most 35
    X characters; anything else is a field-format error, not an id to register (and
    could not be stored: PostgreSQL text refuses NUL)."""
    text = message.text if message is not None else None
    field = text.get("20") if text is not None else None
    if field is None:
        return None
    value = field.value.strip()
    return value if _BUSINESS_ID.fullmatch(value) else None


def _tag_lines(message: MtMessage | None) -> dict[str, int | None]:
    """MT tag -> its line, None when the tag occurs more than once (ambiguous)."""
    lines: dict[str, int | None] = {}

    def add(tag: str, line: int) -> None:
        lines[tag] = None if tag in lines else line

    for block in message.blocks if message is not None else ():
        add(f"{{{block.name}:}}", block.line)
        if isinstance(block, TagBlock):
            for item in block.items:
                add(f"{{{block.name}:{item.tag}}}", item.line)
        elif isinstance(block, TextBlock):
            for field in block.fields:
                add(field.location, field.line)
    return lines


def _locate(findings: list[Finding], lines: dict[str, int | None], offset: int) -> list[Finding]:
    """Give tag-located findings without a line their tag's line; shift every line by
    ``offset`` (an RJE entry's position in its file)."""
    out: list[Finding] = []
    for item in findings:
        loc = item.location
        line = loc.line
        if line is None and loc.mt_tag is not None:
            line = lines.get(loc.mt_tag)
        if line is not None:
            line += offset
        if line == loc.line:
            out.append(item)
            continue
        location = Location(line=line, column=loc.column, xpath=loc.xpath, mt_tag=loc.mt_tag)
        out.append(item.model_copy(update={"location": location}))
    return out


@cache
def _definitions_sha256() -> str:
    """The MT definitions are code (:mod:`gateway.fin`): their identity in a report is
    the sha256 of its source files (names and contents, in name order). The MT mapping
    modules are not definitions: a mapping is identified by its file's sha256."""
    digest = hashlib.sha256()
    for path in sorted(Path(fin.__file__).parent.glob("*.py")):
        if path.name.startswith("mapping"):
            continue
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _definitions_use(message_id: str) -> SchemaUse:
    return SchemaUse(
        kind="mt_definitions",
        id=message_id,
        origin="gateway.fin",
        sha256=_definitions_sha256(),
        version=STANDARDS_RELEASE,
    )
