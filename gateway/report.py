"""Findings and validation reports (DESIGN.md §3, "Validation report").

A :class:`Finding` is one content problem: a stable ``code`` from the closed
:data:`CATALOGUE`, a severity, the validation ``layer`` that found it, a
location (line/column and an XPath-like path for XML, the tag for MT), a
human message and, where one applies, an ISO 20022 ``ExternalStatusReason1Code``
(``iso_reason``) that a pacs.002/pain.002 rejection would carry.

The catalogue is the single documented list of codes; ``docs/findings.md`` is
generated from it and a test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CATALOGUE",
    "CodeSpec",
    "Finding",
    "Layer",
    "Location",
    "Outcome",
    "Report",
    "SchemaUse",
    "Severity",
    "finding",
    "outcome_of",
]


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Layer(StrEnum):
    INPUT = "input"  # size, encoding, well-formedness, hostile constructs
    DETECT = "detect"  # message type and envelope
    SCHEMA = "schema"  # official XSD
    BUSINESS = "business"
    SCHEME = "scheme"
    TENANT = "tenant"
    MAPPING = "mapping"


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    ACCEPTED_WITH_WARNINGS = "accepted_with_warnings"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class CodeSpec:
    severity: Severity
    layer: Layer
    iso_reason: str | None
    summary: str


_E, _W, _I = Severity.ERROR, Severity.WARNING, Severity.INFO
_IN, _DET, _SCH = Layer.INPUT, Layer.DETECT, Layer.SCHEMA

#: The closed catalogue of finding codes. Adding a code is a documented change.
CATALOGUE: dict[str, CodeSpec] = {
    # input layer: the bytes cannot be trusted or read
    "xml.too_large": CodeSpec(
        _E, Layer.INPUT, "FF01", "Payload exceeds the configured size limit."
    ),
    "xml.malformed": CodeSpec(_E, Layer.INPUT, "FF01", "Payload is not well-formed XML."),
    "xml.too_deep": CodeSpec(_E, Layer.INPUT, "FF01", "Element nesting exceeds the depth limit."),
    "xml.doctype_forbidden": CodeSpec(
        _E, Layer.INPUT, "FF01", "A DOCTYPE (DTD, entity declarations) is present; never processed."
    ),
    "xml.entity_forbidden": CodeSpec(
        _E, Layer.INPUT, "FF01", "An entity reference is present; entities are never expanded."
    ),
    "xml.processing_instruction": CodeSpec(
        _W, Layer.INPUT, None, "A processing instruction is present; it was ignored."
    ),
    "xml.empty": CodeSpec(_E, Layer.INPUT, "FF01", "Payload is empty."),
    # detect layer: which message, which envelope
    "detect.no_document": CodeSpec(
        _E, Layer.DETECT, "FF01", "No ISO 20022 Document element was found."
    ),
    "detect.unknown_namespace": CodeSpec(
        _E, Layer.DETECT, "FF01", "The Document namespace is not an ISO 20022 message namespace."
    ),
    "detect.multiple_documents": CodeSpec(
        _E, Layer.DETECT, "FF01", "More than one Document element was found in the envelope."
    ),
    "detect.apphdr_mismatch": CodeSpec(
        _E,
        Layer.DETECT,
        "FF01",
        "The AppHdr MsgDefIdr does not name the message carried by the Document.",
    ),
    "detect.apphdr_unknown": CodeSpec(
        _W, Layer.DETECT, None, "The AppHdr namespace is not a known head.001 version."
    ),
    # schema layer: official XSD
    "schema.not_installed": CodeSpec(
        _E, Layer.SCHEMA, "FF02", "No schema is installed for this message id."
    ),
    "schema.element_content": CodeSpec(
        _E, Layer.SCHEMA, "FF01", "Unexpected, missing or misplaced child element."
    ),
    "schema.pattern": CodeSpec(
        _E, Layer.SCHEMA, "FF01", "Value does not match the required pattern."
    ),
    "schema.enumeration": CodeSpec(
        _E, Layer.SCHEMA, "FF01", "Value is not one of the allowed codes."
    ),
    "schema.length": CodeSpec(_E, Layer.SCHEMA, "FF01", "Value is too short or too long."),
    "schema.digits": CodeSpec(_E, Layer.SCHEMA, "FF01", "Too many total or fraction digits."),
    "schema.range": CodeSpec(_E, Layer.SCHEMA, "FF01", "Value outside the allowed range."),
    "schema.datatype": CodeSpec(
        _E, Layer.SCHEMA, "FF01", "Value is not of the required type (date, decimal, boolean...)."
    ),
    "schema.attribute": CodeSpec(
        _E, Layer.SCHEMA, "FF01", "Attribute missing, unknown or invalid."
    ),
    "schema.root": CodeSpec(_E, Layer.SCHEMA, "FF01", "Root element not declared by the schema."),
    "schema.invalid": CodeSpec(_E, Layer.SCHEMA, "FF01", "Other XSD validity violation."),
    "schema.too_many_errors": CodeSpec(
        _E, Layer.SCHEMA, "FF01", "More XSD violations than the report lists (500); counted."
    ),
    # business layer (rules that need more than the message itself)
    "business.duplicate_message": CodeSpec(
        _E,
        Layer.BUSINESS,
        "AM05",
        "The tenant already submitted an accepted message with this business message id.",
    ),
    # SWIFT FIN (MT) structure, located by MT tag or block (gateway.mt)
    # input: the text cannot be read as FIN blocks
    "mt.empty": CodeSpec(_E, _IN, "FF01", "No FIN block ({1:...}) found in the payload."),
    "mt.encoding": CodeSpec(
        _E, _IN, "FF01", "Payload is not UTF-8/ASCII text; it was read as Latin-1."
    ),
    "mt.unbalanced_braces": CodeSpec(
        _E,
        _IN,
        "FF01",
        "A block or header tag is not closed by '}', or a '}' closes nothing.",
    ),
    "mt.text_outside_blocks": CodeSpec(
        _E, _IN, "FF01", "Text outside any {n:...} block; kept as unparsed."
    ),
    "mt.block_malformed": CodeSpec(
        _E,
        _IN,
        "FF01",
        "A block's content is not in its form (block name, {tag:value} items).",
    ),
    "mt.mixed_line_endings": CodeSpec(
        _W,
        _IN,
        None,
        "CrLf and Lf line breaks are mixed; rendered with the first one seen.",
    ),
    # detect: which message
    "mt.no_user_message": CodeSpec(
        _E,
        _DET,
        "FF01",
        "No user message (block 1 service 01 with a block 2 message type).",
    ),
    # schema: FIN message structure
    "mt.block_unknown": CodeSpec(_W, _SCH, None, "A block other than 1-5 and S; kept as is."),
    "mt.block_missing": CodeSpec(_E, _SCH, "FF01", "A mandatory block (1, 2 or 4) is missing."),
    "mt.block_duplicate": CodeSpec(_E, _SCH, "FF01", "A block occurs more than once."),
    "mt.block_order": CodeSpec(_E, _SCH, "FF01", "Blocks are not in the order 1, 2, 3, 4, 5."),
    "mt.block1_malformed": CodeSpec(
        _E,
        _SCH,
        "FF01",
        "Basic header is not <F|A|L><2!n service><12 LT address><4!n><6!n>.",
    ),
    "mt.block2_malformed": CodeSpec(
        _E, _SCH, "FF01", "Application header is in neither the input nor the output form."
    ),
    "mt.text_start": CodeSpec(_E, _SCH, "FF01", "The text block does not start with CrLf."),
    "mt.text_unterminated": CodeSpec(
        _E, _SCH, "FF01", "The text block does not end with CrLf followed by '-'."
    ),
    "mt.text_no_fields": CodeSpec(_E, _SCH, "FF01", "The text block holds no field."),
    "mt.text_field_line": CodeSpec(
        _E,
        _SCH,
        "FF01",
        "A text block line belongs to no field (does not start with :tag:).",
    ),
    "mt.text_reserved_line_start": CodeSpec(
        _W,
        _SCH,
        None,
        "A continuation line starts with '-' or ':' (FIN field/end delimiters).",
    ),
    "mt.text_too_long": CodeSpec(
        _E, _SCH, "FF01", "The text block is longer than 10,000 characters."
    ),
    "mt.too_many_findings": CodeSpec(
        _E, _IN, "FF01", "More structure findings than the report lists (500)."
    ),
    "mt.text_charset": CodeSpec(
        _E, _SCH, "FF01", "A character outside the SWIFT X character set in the text block."
    ),
    "mt.too_large": CodeSpec(_E, _IN, "FF01", "FIN payload exceeds the MT size limit; not parsed."),
    "mt.batch": CodeSpec(
        _E, _IN, "FF01", "An RJE batch of several messages where one message is expected."
    ),
    # schema: the message type's definition (SWIFT Standards MT, by message type); the
    # SWIFT error code (T.., C.., D.., E..) is in the finding's context as ``swift_error``
    "mt.type_unsupported": CodeSpec(
        _W, _SCH, None, "No definition for this message type: only the FIN structure is checked."
    ),
    "mt.field_format": CodeSpec(
        _E, _SCH, "CH16", "A field's content does not match its format (SWIFT T-codes)."
    ),
    "mt.field_unexpected": CodeSpec(
        _E, _SCH, "FF01", "A field that the message type (or this sequence) does not define."
    ),
    "mt.field_missing": CodeSpec(
        _E, _SCH, "CH21", "A mandatory field or sequence of the message type is absent."
    ),
    "mt.field_repeated": CodeSpec(
        _E, _SCH, "FF01", "A field or sequence occurs more often than the message type allows."
    ),
    "mt.field_order": CodeSpec(
        _E, _SCH, "FF01", "Fields are not in the order the message type defines."
    ),
    "mt.network_rule": CodeSpec(
        _E,
        _SCH,
        "CH16",
        "A network validated rule of the message type is violated (SWIFT C/D/E-codes).",
    ),
    # mapping layer
    "mapping.not_available": CodeSpec(
        _W, Layer.MAPPING, None, "No mapping file for this message id: no events produced."
    ),
    "mapping.missing_mandatory": CodeSpec(
        _E, Layer.MAPPING, "FF01", "Data the canonical event requires is absent; never defaulted."
    ),
    "mapping.invalid_value": CodeSpec(
        _E, Layer.MAPPING, "FF01", "A value could not be converted to its canonical type."
    ),
    "mapping.unmapped": CodeSpec(
        _W,
        Layer.MAPPING,
        None,
        "Elements present in the message that no mapping rule consumes (data not carried on).",
    ),
    # outbound (gateway.outbound): status and execution events to the channels
    "outbound.no_route": CodeSpec(
        _E,
        Layer.MAPPING,
        None,
        "No outbound message is configured for this event type and channel; dead-lettered.",
    ),
    "outbound.event_invalid": CodeSpec(
        _E,
        Layer.MAPPING,
        None,
        "A consumed record is not a canonical event (JSON, event schema); dead-lettered.",
    ),
    "outbound.invalid_message": CodeSpec(
        _E,
        Layer.MAPPING,
        None,
        "The rendered message failed its validation (XSD or FIN rules); dead-lettered.",
    ),
    "outbound.delivery_failed": CodeSpec(
        _E,
        Layer.MAPPING,
        None,
        "The rendered message was refused or undeliverable after every attempt; dead-lettered.",
    ),
    # translation (isogw translate; gateway.translate_report): data lost or written
    "translate.truncated": CodeSpec(
        _W, Layer.MAPPING, None, "A value was cut to fit the target field; it ends with '+'."
    ),
    "translate.dropped": CodeSpec(
        _W, Layer.MAPPING, None, "Source data the target message cannot carry; not translated."
    ),
    "translate.replaced": CodeSpec(
        _W,
        Layer.MAPPING,
        None,
        "Characters the target's character set lacks were replaced (SWIFT X set).",
    ),
    "translate.defaulted": CodeSpec(
        Severity.INFO,
        Layer.MAPPING,
        None,
        "A value the translator wrote by a rule of the target format; not source data.",
    ),
    "translate.regenerated": CodeSpec(
        Severity.INFO,
        Layer.MAPPING,
        None,
        "Message-level source data the target replaces with its own or says by its structure.",
    ),
}


class Location(BaseModel):
    """Where a finding points. Any field may be absent when unknown."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    line: int | None = None
    column: int | None = None
    xpath: str | None = None
    mt_tag: str | None = None


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    severity: Severity
    layer: Layer
    location: Location = Field(default_factory=Location)
    message: str
    iso_reason: str | None = None
    rule: str | None = None
    context: dict[str, Any] = Field(default_factory=dict)


def finding(
    code: str,
    message: str,
    *,
    line: int | None = None,
    column: int | None = None,
    xpath: str | None = None,
    mt_tag: str | None = None,
    severity: Severity | None = None,
    rule: str | None = None,
    context: dict[str, Any] | None = None,
) -> Finding:
    """Build a finding for a catalogued ``code`` (unknown codes are a programming error)."""
    spec = CATALOGUE[code]
    return Finding(
        code=code,
        severity=severity or spec.severity,
        layer=spec.layer,
        location=Location(line=line, column=column, xpath=xpath, mt_tag=mt_tag),
        message=message,
        iso_reason=spec.iso_reason,
        rule=rule,
        context=context or {},
    )


def outcome_of(findings: list[Finding]) -> Outcome:
    severities = {f.severity for f in findings}
    if Severity.ERROR in severities:
        return Outcome.REJECTED
    if Severity.WARNING in severities:
        return Outcome.ACCEPTED_WITH_WARNINGS
    return Outcome.ACCEPTED


class SchemaUse(BaseModel):
    """Which artefact judged the message: schema, AppHdr schema or mapping file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str  # "schema" | "apphdr_schema" | "mapping"
    id: str
    origin: str
    sha256: str
    version: str | None = None


class Report(BaseModel):
    """One validation report: the verdict on one message."""

    model_config = ConfigDict(extra="forbid")

    report_id: str
    tenant: str | None = None
    channel: str | None = None
    received_at: datetime
    message_id: str | None
    envelope: str | None = None
    business_message_id: str | None = None
    payload_sha256: str
    payload_size: int
    outcome: Outcome
    findings: list[Finding]
    judged_by: list[SchemaUse] = Field(default_factory=list)
    event_ids: list[str] = Field(default_factory=list)
    transaction_count: int = 0
    timings_ms: dict[str, float] = Field(default_factory=dict)
