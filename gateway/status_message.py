"""ISO 20022 status reports from validation reports: the gateway's answer in ISO terms.

When a channel asks for it (``isogw status-message``, ``POST /v1/messages`` with
``Accept: application/xml``, ``GET /v1/reports/{id}/status-message``), the verdict on
a message is given as

* **pacs.002.001.10** (FIToFIPaymentStatusReportV10) for FI-to-FI messages (pacs,
  camt and SWIFT MT), or
* **pain.002.001.10** (CustomerPaymentStatusReportV10) for customer initiations
  (pain.001),

built from the :class:`~gateway.report.Report` and, for an accepted message, its
canonical events:

* ``GrpHdr/MsgId`` = the report id without dashes (32 characters: the same report
  always gives the same id, so a receiver can de-duplicate); ``CreDtTm`` = the time
  the status report is produced;
* ``OrgnlGrpInfAndSts``: ``OrgnlMsgId`` = the business message id (``GrpHdr/MsgId``,
  MT field 20), ``OrgnlMsgNmId`` = the message id (``pacs.008.001.08``; ``MT103`` for
  ``fin.103``), ``OrgnlCreDtTm`` and ``OrgnlNbOfTxs`` when the message gave them;
  ``GrpSts`` = ``RJCT`` for a rejected message, else ``ACTC`` (accepted after
  technical validation: the gateway validates, it does not settle);
* ``StsRsnInf`` (rejected): one per error finding, at most :data:`MAX_REASONS`:
  ``Rsn/Cd`` = the finding's ISO 20022 ExternalStatusReason1Code (``iso_reason``),
  else ``Rsn/Prtry`` = the finding code; ``AddtlInf`` = code, location and message in
  lines of 105 characters (at most three); the first reason names the report id;
* ``TxInfAndSts`` (pacs.002) / ``OrgnlPmtInfAndSts/TxInfAndSts`` (pain.002), accepted
  messages: one per transaction with its original identifiers and ``TxSts`` ``ACTC``.

For SWIFT MT channels the same verdict is an **MT 199** (:func:`render_mt_status`,
``fin.199``): from the receiver of the original message to its sender (block 1 / 2 of
the original), ``{3:121}`` its UETR, 20 the first 16 characters of the report id, 21
the original's field 20, 79 ``/RJCT/`` or ``/ACTC/``, one ``/<ISO reason>/<finding>``
line per error finding and ``/MREF/`` (the layout of :mod:`gateway.render_mt_outbound`).
It needs the original FIN text (its headers): the request's own body, or the stored
payload of a tenant with ``store_payload``.

The gateway accepts or rejects a message as a whole, so ``PART`` (some transactions
rejected) is not produced. A status report needs the original message id and type:
for a message whose id or type is unknown (not XML, unknown namespace, no
``GrpHdr/MsgId``) :func:`status_message` raises :class:`StatusMessageUnavailable`
rather than inventing them.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from lxml import etree

from gateway.errors import GatewayError
from gateway.mapping import render_xml
from gateway.report import Finding, Outcome, Report, Severity

if TYPE_CHECKING:
    from gateway.schemas import SchemaRegistry

__all__ = [
    "MAX_REASONS",
    "STATUS_MESSAGES",
    "StatusMessageId",
    "StatusMessageUnavailable",
    "StatusReport",
    "default_status_message",
    "render_status_message",
    "status_message",
]

StatusMessageId = Literal["pacs.002.001.10", "pain.002.001.10", "fin.199"]
STATUS_MESSAGES: tuple[StatusMessageId, ...] = ("pacs.002.001.10", "pain.002.001.10", "fin.199")
#: Reasons given at most (the report has them all).
MAX_REASONS = 20
_LINE = 105
_LINES = 3


class StatusMessageUnavailable(GatewayError):
    """No ISO status report can be built for this report (original id or type unknown)."""


def default_status_message(report: Report, *, fin: bool = False) -> StatusMessageId:
    """The status report to answer with: MT 199 when ``fin`` (the caller asked for FIN
    text) and the message is SWIFT MT; else pain.002 for customer initiations (pain.*)
    and pacs.002 for everything else."""
    message_id = report.message_id or ""
    if fin and message_id.startswith("fin."):
        return "fin.199"
    return "pain.002.001.10" if message_id.startswith("pain.") else "pacs.002.001.10"


def status_message(
    report: Report,
    events: Iterable[dict[str, Any]],
    as_id: StatusMessageId,
    *,
    now: datetime,
) -> etree._Element:
    """The ``Document`` of the status report ``as_id`` for ``report`` (module docstring);
    ``events`` are the accepted message's canonical events (none for a rejection)."""
    if as_id not in STATUS_MESSAGES or as_id == "fin.199":
        raise ValueError(f"{as_id!r} is not one of pacs.002.001.10, pain.002.001.10")
    if not report.business_message_id or not report.message_id:
        what = "message id (GrpHdr/MsgId, MT field 20)" if report.message_id else "message type"
        raise StatusMessageUnavailable(
            f"report {report.report_id}: the original {what} is not known, so no "
            f"{as_id} can name the message it answers; read the report itself"
        )
    rejected = report.outcome is Outcome.REJECTED
    status = "RJCT" if rejected else "ACTC"
    events = [] if rejected else list(events)
    ns = f"urn:iso:std:iso:20022:tech:xsd:{as_id}"
    build = _Builder(ns)
    document = etree.Element(f"{{{ns}}}Document", nsmap={None: ns})
    root = build.sub(document, "FIToFIPmtStsRpt" if as_id.startswith("pacs") else "CstmrPmtStsRpt")
    header = build.sub(root, "GrpHdr")
    build.sub(header, "MsgId", report.report_id.replace("-", ""))
    build.sub(header, "CreDtTm", now.isoformat(timespec="seconds"))
    group = build.sub(root, "OrgnlGrpInfAndSts")
    build.sub(group, "OrgnlMsgId", report.business_message_id)
    build.sub(group, "OrgnlMsgNmId", _message_name(report.message_id))
    first = events[0] if events else {}
    created = (first.get("group") or {}).get("creation_datetime")
    if created:
        build.sub(group, "OrgnlCreDtTm", str(created))
    count = (first.get("group") or {}).get("number_of_transactions")
    if count:
        build.sub(group, "OrgnlNbOfTxs", str(count))
    build.sub(group, "GrpSts", status)
    if rejected:
        _reasons(build, group, report)
    if as_id.startswith("pacs"):
        for event in events:
            _transaction(build, root, event, status, with_tx_id=True)
    else:
        _payment_infos(build, root, events, status)
    return document


@dataclass(slots=True)
class StatusReport:
    """A rendered status report: its XML, and whether its XSD validated it (``validated``
    False: the schema of ``as_id`` is not installed; ``findings``: XSD errors)."""

    as_id: StatusMessageId
    xml: bytes
    validated: bool
    findings: list[Finding] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.validated and not self.findings


def render_status_message(
    schemas: SchemaRegistry,
    report: Report,
    events: Iterable[dict[str, Any]],
    as_id: StatusMessageId,
    *,
    now: datetime,
    payload: bytes | None = None,
) -> StatusReport:
    """:func:`status_message` as XML bytes, validated against the installed XSD of
    ``as_id`` (when there is one: ``isogw schemas add``); ``fin.199``:
    :func:`render_mt_status` (``payload``: the original FIN message)."""
    if as_id == "fin.199":
        text, findings = render_mt_status(report, payload)
        errors = [f for f in findings if f.severity is Severity.ERROR]
        return StatusReport(as_id, text.encode("ascii", "replace"), True, errors)
    document = status_message(report, events, as_id, now=now)
    entry = schemas.get(as_id)
    findings = schemas.validate(document, entry) if entry is not None else []
    return StatusReport(as_id, render_xml(document), entry is not None, findings)


class _Builder:
    def __init__(self, ns: str) -> None:
        self.ns = ns

    def sub(self, parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
        child = etree.SubElement(parent, f"{{{self.ns}}}{name}")
        if text is not None:
            child.text = text
        return child


def _message_name(message_id: str) -> str:
    """``fin.103.STP`` -> ``MT103``; MX ids as they are."""
    if message_id.startswith("fin."):
        return "MT" + message_id.split(".")[1]
    return message_id


def _reasons(build: _Builder, parent: etree._Element, report: Report) -> None:
    errors = [f for f in report.findings if f.severity is Severity.ERROR]
    for index, item in enumerate(errors[:MAX_REASONS]):
        info = build.sub(parent, "StsRsnInf")
        reason = build.sub(info, "Rsn")
        if item.iso_reason:
            build.sub(reason, "Cd", item.iso_reason)
        else:
            build.sub(reason, "Prtry", item.code[:35])
        text = _describe(item)
        if index == 0:
            text = f"report {report.report_id}: {text}"
        if index == MAX_REASONS - 1 and len(errors) > MAX_REASONS:
            text = f"{text} (and {len(errors) - MAX_REASONS} more in the report)"
        for line in _lines(text):
            build.sub(info, "AddtlInf", line)


def _describe(item: Finding) -> str:
    where = item.location.mt_tag or item.location.xpath
    line = f" line {item.location.line}" if item.location.line else ""
    place = f" at {where}{line}" if where else (f" at{line}" if line else "")
    return f"{item.code}{place}: {item.message}"


def _lines(text: str) -> list[str]:
    """``text`` in lines of :data:`_LINE` characters, at most :data:`_LINES` (the last
    one ends with ``...`` when cut)."""
    lines = textwrap.wrap(" ".join(text.split()), _LINE) or [""]
    if len(lines) > _LINES:
        lines = lines[:_LINES]
        lines[-1] = lines[-1][: _LINE - 3] + "..."
    return lines


def _transaction(
    build: _Builder,
    parent: etree._Element,
    event: dict[str, Any],
    status: str,
    *,
    with_tx_id: bool,
) -> None:
    ids = event.get("ids") or {}
    tx = build.sub(parent, "TxInfAndSts")
    names = [("OrgnlInstrId", "instruction_id"), ("OrgnlEndToEndId", "end_to_end_id")]
    if with_tx_id:
        names.append(("OrgnlTxId", "transaction_id"))
    names.append(("OrgnlUETR", "uetr"))
    for element, name in names:
        if ids.get(name):
            build.sub(tx, element, str(ids[name]))
    build.sub(tx, "TxSts", status)


def _payment_infos(
    build: _Builder, parent: etree._Element, events: list[dict[str, Any]], status: str
) -> None:
    """pain.002: transactions grouped by their payment information block (PmtInfId)."""
    blocks: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        block = (event.get("ids") or {}).get("payment_information_id")
        if block:
            blocks.setdefault(str(block), []).append(event)
    for block, members in blocks.items():
        info = build.sub(parent, "OrgnlPmtInfAndSts")
        build.sub(info, "OrgnlPmtInfId", block)
        build.sub(info, "PmtInfSts", status)
        for event in members:
            _transaction(build, info, event, status, with_tx_id=False)


def render_mt_status(report: Report, payload: bytes | None) -> tuple[str, list[Finding]]:
    """The MT 199 answering an MT message (module docstring) and the findings of writing
    and validating it. Raises :class:`StatusMessageUnavailable` without the original's
    sender, receiver or field 20."""
    from gateway.fin.values import mt_header
    from gateway.mt import parse_mt
    from gateway.render_mt_outbound import render_mt_outbound

    message = parse_mt(payload.decode("latin-1")).user_message if payload else None
    header = mt_header(message) if message is not None else None
    if message is None or header is None or not (header.from_bic and header.to_bic):
        raise StatusMessageUnavailable(
            f"report {report.report_id}: the original FIN message's sender and receiver are "
            "not known (it is not stored), so no MT 199 can be addressed; read the report"
        )
    if not report.business_message_id or not report.message_id:
        raise StatusMessageUnavailable(
            f"report {report.report_id}: the original message's field 20 is not known"
        )
    rejected = report.outcome is Outcome.REJECTED
    errors = [f for f in report.findings if f.severity is Severity.ERROR][:MAX_REASONS]
    reasons = [
        {
            "reason": {"code": f.iso_reason} if f.iso_reason else {"proprietary": f.code[:35]},
            "additional_info": [_describe(f)[:105]],
        }
        for f in errors
    ]
    original = {
        "message_id": report.business_message_id,
        "message_name_id": _message_name(report.message_id),
        "instruction_id": report.business_message_id,
    }
    if message.uetr:
        original["uetr"] = message.uetr.strip()
    event: dict[str, Any] = {
        "event_id": report.report_id,
        "event_type": "payment.status",
        "schema_version": "1",
        "source": {
            "message_id": report.message_id,
            "payload_sha256": report.payload_sha256,
            "transaction_index": 0,
        },
        "instructing_agent": {"bic": header.to_bic},
        "instructed_agent": {"bic": header.from_bic},
        "status": {
            "status_id": report.report_id.replace("-", "")[:16],
            "transaction_status": "RJCT" if rejected else "ACTC",
        },
        "original": original,
        "reasons": reasons,
    }
    text, findings = render_mt_outbound(event, "fin.199")
    if text is None:
        raise StatusMessageUnavailable(
            "; ".join(f.message for f in findings if f.severity is Severity.ERROR)
        )
    return text, findings
