"""Canonical payment event -> CBPR+ MX: Business Application Header + Document (MT -> MX).

The Document is written by the mapping file of the target message read backwards
(:func:`gateway.mapping.map_outbound`, ``mappings/pacs.008.001.08.yaml`` ...), from
the event the MT mapping file gave, after the translator has added what the CBPR+
MT to MX translation rules (SWIFT, "CBPR+ translation rules", MT 103 to pacs.008 and
MT 202 / 202 COV to pacs.009, SR 2025) set and the canonical event deliberately
does not carry (``mappings/fin/``: "these belong to the MX rendering step"). Each
is the translator's own value, reported ``translate.defaulted``, never source data:

* ``GrpHdr/CreDtTm`` = the translation time (ISO 8601 with its UTC offset);
* ``GrpHdr/NbOfTxs`` = ``1`` (an MT 103/202 is one transaction; CBPR+ fixes it);
* ``PmtId/EndToEndId`` = ``NOTPROVIDED`` when the MT has no ``/ROC/`` in 70 (TR013);
* ``GrpHdr/SttlmInf/SttlmMtd`` by METAFCT001 as we read it: ``COVE`` when a
  reimbursement agent (53A/53D, 54a, 55a) is present, else ``INDA`` (the receiver
  services the sender's account, 53B naming that account ``SttlmAcct``). The D/C mark
  of 53B (``/C/``: INGA) is not in the canonical event (reported unmapped by the MT
  mapping) and BIC comparisons of the published four-table rule are not made;
* ``ChrgsInf/Agt`` of a 71F charge (its agent is not known): name ``NOTPROVIDED`` and
  address line ``NOTPROVIDED`` (TR004);
* ``PstlAdr/AdrLine`` ``NOTPROVIDED`` for an agent the MT names without an address
  (e.g. 72 ``/INS/`` with a name): CBPR+ identifies an agent without BIC by name and
  postal address (rule ``cbpr.agent_identification`` of ``packs/cbpr-plus``).

The Business Application Header is head.001.001.02 as CBPR+ requires (CBPR+ User
Handbook, "message structure"): ``Fr``/``To`` ``FIId/FinInstnId/BICFI`` = the MT
sender/receiver (instructing/instructed agent), ``BizMsgIdr`` = ``GrpHdr/MsgId`` (MT
field 20), ``MsgDefIdr`` = the target message id, ``BizSvc`` per the SR2025 usage
guidelines (``packs/cbpr-plus/sr2025.yaml``, rule ``cbpr.business_service_version``:
``swift.cbprplus.03``, ``.stp.03`` for MT 103 STP, ``.cov.03`` for MT 202 COV),
``CreDt`` = the translation time. Header and Document are wrapped in
``<BizMsgEnvlp>`` (no namespace), which the gateway's detection accepts as an envelope
(``BizMsgEnvlp/AppHdr+Document``); replace it with your transport's own header.

Both parts are validated against their installed XSDs before they are returned.
"""

from __future__ import annotations

import copy
import re
import typing
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from lxml import etree
from pydantic import BaseModel

from gateway.detect import detect_tree
from gateway.errors import ConfigError
from gateway.events import Agent, Party, PaymentEvent
from gateway.mapping import Mapping, map_outbound, render_xml
from gateway.report import Finding
from gateway.translate_mx_cash import CASH_TARGETS, enrich_cash
from gateway.translate_report import Ledger
from gateway.xsdmodel import XsdModel

if TYPE_CHECKING:
    from gateway.pipeline import Gateway

__all__ = [
    "APPHDR_ID",
    "BUSINESS_SERVICES",
    "ENVELOPE",
    "MxRendered",
    "element_path",
    "render_mx_event",
]

APPHDR_ID = "head.001.001.02"
ENVELOPE = "BizMsgEnvlp"
#: CBPR+ SR2025 business service per source MT (the usage guideline the MX follows).
BUSINESS_SERVICES = {
    "fin.103": "swift.cbprplus.03",
    "fin.103.STP": "swift.cbprplus.stp.03",
    "fin.202": "swift.cbprplus.03",
    "fin.202.COV": "swift.cbprplus.cov.03",
    "fin.940": "swift.cbprplus.03",
    "fin.950": "swift.cbprplus.03",
    "fin.900": "swift.cbprplus.03",
    "fin.910": "swift.cbprplus.03",
    "fin.192": "swift.cbprplus.03",
    "fin.196": "swift.cbprplus.03",
}
NOT_PROVIDED = "NOTPROVIDED"
_INDEX = re.compile(r"\[\d+\]")


@dataclass(slots=True)
class MxRendered:
    """The envelope (AppHdr + Document), its bytes, and the problems found rendering
    and validating it (errors make it invalid)."""

    envelope: etree._Element
    document: etree._Element
    apphdr: etree._Element
    xml: bytes
    findings: list[Finding] = field(default_factory=list)


def element_path(mapping: Mapping, dotted: str) -> str | None:
    """The element path (``/Document/FIToFICstmrCdtTrf/CdtTrfTxInf/Dbtr/Nm``) the
    canonical field ``dotted`` maps to in ``mapping``: the innermost scope mapping all
    of it, else the nearest mapped parent; None when nothing of it is mapped."""
    parts = _INDEX.sub("", dotted).split(".")
    chain: list[tuple[tuple[str, ...], Any]] = []
    scope: Any = mapping.root
    prefix: tuple[str, ...] = ()
    while scope is not None:
        prefix = prefix + tuple(scope.path)
        chain.append((prefix, scope.fields))
        scope = scope.each
    partial: str | None = None
    for scope_path, fields in reversed(chain):
        found, complete = _resolve(fields, parts)
        if found is None:
            continue
        path = "/" + "/".join(("Document", *scope_path, *found))
        if complete:
            return path
        partial = partial or path
    return partial


def _resolve(fields: Any, parts: list[str]) -> tuple[tuple[str, ...] | None, bool]:
    """(element path relative to the scope, whether all of ``parts`` is mapped)."""
    path: tuple[str, ...] = ()
    current = fields
    for index, part in enumerate(parts):
        spec = next((f for f in current if f.target == part), None)
        if spec is None:
            return (path or None) if index else None, False
        path = path + tuple(spec.path)
        if spec.many or not spec.children:
            return path, True
        current = spec.children
    return path, True


def enrich(
    event: dict[str, Any], source_id: str, mapping: Mapping, ledger: Ledger, now: datetime
) -> dict[str, Any]:
    """``event`` with the translator's own values for the target of ``mapping`` (module
    docstring; camt targets: :mod:`gateway.translate_mx_cash`), each reported."""
    out = copy.deepcopy(event)

    def default(path: str, value: Any, rule: str) -> None:
        _put(out, path, value)
        ledger.defaulted(path, str(value), rule, xpath=element_path(mapping, path))

    target = str(mapping.message_id)
    if target in CASH_TARGETS:

        def drop(path: str, rule: str) -> None:
            ledger.dropped(path, rule, xpath=element_path(mapping, path))

        enrich_cash(out, source_id, target, default, now, drop)
        return out
    group = out.get("group") or {}
    if not group.get("creation_datetime"):
        stamp = now.isoformat(timespec="seconds")
        default("group.creation_datetime", stamp, "CBPR+ MT to MX: the translation time")
    if not group.get("number_of_transactions"):
        default("group.number_of_transactions", "1", "CBPR+: one transaction per message")
    if not (out.get("ids") or {}).get("end_to_end_id"):
        default("ids.end_to_end_id", NOT_PROVIDED, "CBPR+ TR013: no /ROC/ in field 70")
    settlement = out.get("settlement") or {}
    if not settlement.get("method"):
        agents = ("instructing", "instructed", "third")
        cover = any(settlement.get(f"{a}_reimbursement_agent") for a in agents)
        rule = (
            "METAFCT001: a reimbursement agent (53A/53D, 54a, 55a) is present"
            if cover
            else "METAFCT001: no reimbursement agent; the receiver services the account"
        )
        default("settlement.method", "COVE" if cover else "INDA", rule)
    for path in _agent_paths(PaymentEvent):
        agent = _at(out, path)
        if (
            isinstance(agent, dict)
            and agent.get("name")
            and not (agent.get("bic") or agent.get("postal_address"))
            and not agent.get("clearing_member")
        ):
            agent["postal_address"] = {"address_lines": [NOT_PROVIDED]}
            rule = "CBPR+: an agent without BIC is identified by name and postal address"
            ledger.defaulted(
                f"{path}.postal_address.address_lines",
                NOT_PROVIDED,
                rule,
                xpath=element_path(mapping, f"{path}.postal_address"),
            )
    charges = (out.get("amounts") or {}).get("charges") or []
    for index, charge in enumerate(charges):
        if charge.get("amount") and not charge.get("agent"):
            agent = {"name": NOT_PROVIDED, "postal_address": {"address_lines": [NOT_PROVIDED]}}
            charge["agent"] = agent
            ledger.defaulted(
                f"amounts.charges[{index}].agent",
                f"{NOT_PROVIDED} (name and address line)",
                f"CBPR+ TR004: the agent of {source_id} 71F is not known",
                xpath=element_path(mapping, "amounts.charges.agent"),
            )
    return out


def _put(event: dict[str, Any], path: str, value: Any) -> None:
    """Set ``value`` at the dotted ``path`` (``statement.entries[0].status.code``),
    creating the objects on the way (list items must exist)."""
    *parents, last = path.split(".")
    node: Any = event
    for part in parents:
        name, _, index = part.partition("[")
        if index:
            node = node[name][int(index.rstrip("]"))]
            continue
        if not isinstance(node.get(name), dict):
            node[name] = {}
        node = node[name]
    node[last] = value


def _header_only(event: dict[str, Any], mapping: Mapping) -> dict[str, Any]:
    """``event`` without the values the AppHdr carries and the Document has no element
    for (camt targets): the sender and receiver BICs (``Fr``/``To``) and the message
    id (``BizMsgIdr``). They are not lost, so they are not offered to the Document."""
    out = dict(event)
    for name in ("instructing_agent", "instructed_agent"):
        agent = out.get(name)
        if isinstance(agent, dict) and set(agent) <= {"bic"} and not element_path(mapping, name):
            del out[name]
    business_id = (out.get("group") or {}).get("message_id")
    ids = out.get("ids")
    if (
        isinstance(ids, dict)
        and ids.get("message_id") == business_id
        and not element_path(mapping, "ids.message_id")
    ):
        out["ids"] = {k: v for k, v in ids.items() if k != "message_id"} or None
    group = out.get("group")
    if (
        isinstance(group, dict)
        and set(group) <= {"message_id"}
        and not element_path(mapping, "group.message_id")
    ):
        del out["group"]
    return {k: v for k, v in out.items() if v is not None}


@cache
def _agent_paths(model: type[BaseModel], prefix: str = "") -> tuple[str, ...]:
    """The dotted paths of every single (not list) :class:`Agent` field of ``model``."""
    out: list[str] = []
    for name, info in model.model_fields.items():
        kinds = [a for a in typing.get_args(info.annotation) if a is not type(None)]
        kind = kinds[0] if kinds else info.annotation
        if kind is Agent:
            out.append(prefix + name)
        elif isinstance(kind, type) and issubclass(kind, BaseModel) and kind is not Party:
            out.extend(_agent_paths(kind, f"{prefix}{name}."))
    return tuple(out)


def _at(event: dict[str, Any], path: str) -> Any:
    node: Any = event
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _apphdr(event: dict[str, Any], target: str, service: str, now: datetime) -> etree._Element:
    ns = f"urn:iso:std:iso:20022:tech:xsd:{APPHDR_ID}"

    def sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
        child = etree.SubElement(parent, f"{{{ns}}}{name}")
        if text is not None:
            child.text = text
        return child

    root = etree.Element(f"{{{ns}}}AppHdr", nsmap={None: ns})
    for name, agent in (("Fr", "instructing_agent"), ("To", "instructed_agent")):
        bic = (event.get(agent) or {}).get("bic") or ""
        sub(sub(sub(sub(root, name), "FIId"), "FinInstnId"), "BICFI", str(bic))
    group = event.get("group") or {}
    ids = event.get("ids") or {}
    sub(root, "BizMsgIdr", str(group.get("message_id") or ids.get("message_id") or ""))
    sub(root, "MsgDefIdr", target)
    sub(root, "BizSvc", service)
    sub(root, "CreDt", now.isoformat(timespec="seconds"))
    return root


def render_mx_event(
    event: dict[str, Any],
    target: str,
    source_id: str,
    gateway: Gateway,
    ledger: Ledger,
    now: datetime,
    models: dict[str, XsdModel] | None = None,
) -> MxRendered:
    """AppHdr + Document of ``target`` for the event (see module docstring);
    ``models`` caches the target's XSD model between calls (the render plan is
    compiled once per model). Raises :class:`~gateway.errors.ConfigError` when the
    target's mapping file, its schema or the AppHdr schema is not installed."""
    mapping = gateway.mappings.get(target)
    entry = gateway.schemas.get(target)
    head = gateway.schemas.get(APPHDR_ID)
    if mapping is None or entry is None or head is None:
        what = "mapping file" if mapping is None else "schema"
        name = APPHDR_ID if entry is not None and head is None else target
        raise ConfigError(
            f"no {what} installed for {name}: run `isogw schemas sync`, or add it with "
            "`isogw schemas add` or GATEWAY_SCHEMA_DIRS"
        )
    cache = models if models is not None else {}
    model = cache.get(entry.sha256)
    if model is None:
        model = cache[entry.sha256] = XsdModel.load(entry.path)
    enriched = enrich(event, source_id, mapping, ledger, now)
    rendered = map_outbound([_header_only(enriched, mapping)], mapping, model)
    findings: list[Finding] = []
    for item in rendered.findings:
        if item.code == "mapping.unmapped":
            label = str(item.context.get("target", "?"))
            ledger.dropped(label, f"{target} has no element for it ({mapping.file.name})")
        else:
            findings.append(item)
    apphdr = _apphdr(enriched, target, BUSINESS_SERVICES[source_id], now)
    envelope = etree.Element(ENVELOPE)
    envelope.append(apphdr)
    envelope.append(rendered.document)
    findings += gateway.schemas.validate(rendered.document, entry)
    findings += gateway.schemas.validate(apphdr, head)
    findings += detect_tree(envelope).findings
    return MxRendered(envelope, rendered.document, apphdr, render_xml(envelope), findings)
