"""Outbound rendering: a status or execution event -> the message its channel expects.

:class:`OutboundRenderer` chooses the target (:mod:`gateway.outbound_config`: the kind
of event from its type, the family of the original message's channel - ``mt`` when the
payment came in as SWIFT FIN, ``pain`` for a customer initiation, else ``mx`` - and the
tenant's overrides), writes it and validates it:

* **ISO 20022** targets are written by the target's mapping file read backwards
  (:func:`gateway.mapping.map_outbound`: elements in XSD order, nothing invented) and
  validated against the installed XSD; the bare ``Document`` is delivered.
* **SWIFT MT** targets: MT 199 (status), MT 900/910 (notification: by the entry's
  debit/credit mark) by :mod:`gateway.render_mt_outbound`; MT 103/202 (transfers and
  returns) by the translator's MT writers (:meth:`gateway.translate.Translator.render_mt`);
  each validated by the FIN rules (structure, field formats, network rules).

Before rendering, the event gets what a new message needs of its own and what the store
knows of the original - never payment data nobody gave:

* ``group.message_id`` = the outbound message id (:func:`outbound_message_id`: stable
  per event and target, 32 hex characters, so a redelivery carries the same id) and
  ``group.creation_datetime`` = the rendering time, when the event has none;
* for a status event, ``original.*`` (message id, message name, UETR, EndToEndId,
  InstrId) from the accepted inbound message with the same UETR (else EndToEndId)
  when the event lacks them (:meth:`gateway.store.lifecycle.Lifecycle.find_original`),
  and the instructing/instructed agents (the sender/receiver of an MT answer) as the
  original's reversed - the answer goes back from the payment's receiver to its sender.

A result with an error finding is not :attr:`Rendered.valid`: the caller dead-letters it
with its findings, never delivers it.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from gateway.errors import ConfigError
from gateway.mapping import map_outbound, render_xml
from gateway.mapping.render import Placement
from gateway.outbound_config import Family, Kind, OutboundSettings, kind_of
from gateway.report import Finding, Severity, finding
from gateway.xsdmodel import XsdModel

if TYPE_CHECKING:
    from gateway.pipeline import Gateway
    from gateway.store.lifecycle import OriginalPayment

__all__ = ["OutboundRenderer", "Rendered", "family_of", "outbound_message_id"]

_NAMESPACE = uuid.UUID("8f9d2c1e-4b7a-5e3f-9a6d-0c1b2a3f4e5d")


def outbound_message_id(event_id: str, target: str) -> str:
    """The stable id of the message rendered for ``event_id`` as ``target``."""
    return uuid.uuid5(_NAMESPACE, f"{event_id}|{target}").hex


def family_of(original: OriginalPayment | None, event: dict[str, Any]) -> Family:
    """The channel family of the payment: its original inbound message's, else the
    family of the message the event itself names as its source."""
    if original is not None:
        family = original.family
    else:
        source = str((event.get("source") or {}).get("message_id") or "")
        family = (
            "mt" if source.startswith("fin.") else "pain" if source.startswith("pain.") else "mx"
        )
    return "mt" if family == "mt" else "pain" if family == "pain" else "mx"


@dataclass(slots=True)
class Rendered:
    """The message rendered for one event (``body`` None when it could not be written)."""

    message_id: str
    kind: Kind | None
    target: str | None
    content_type: str
    body: bytes | None
    findings: list[Finding] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.body is not None and not any(
            f.severity is Severity.ERROR for f in self.findings
        )


class OutboundRenderer:
    """Renders events with one :class:`~gateway.pipeline.Gateway`'s mappings and schemas."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self._models: dict[str, XsdModel] = {}
        self._translator: Any = None

    def render(
        self,
        event: dict[str, Any],
        settings: OutboundSettings,
        original: OriginalPayment | None,
        now: datetime,
    ) -> Rendered:
        event_type = str(event.get("event_type") or "")
        kind = kind_of(event_type)
        event_id = str(event.get("event_id") or "")
        if kind is None:
            message = f"event type {event_type!r} has no outbound message"
            return Rendered(
                outbound_message_id(event_id, "-"),
                None,
                None,
                "application/xml",
                None,
                [finding("outbound.no_route", message, context={"event_type": event_type})],
            )
        target = settings.target(kind, family_of(original, event))
        target = _mt_variant(target, kind, event)
        message_id = outbound_message_id(event_id, target)
        prepared = _prepare(event, kind, original, message_id, now)
        if target.startswith("fin."):
            return self._render_mt(prepared, kind, target, message_id)
        return self._render_mx(prepared, kind, target, message_id)

    def _render_mx(
        self, event: dict[str, Any], kind: Kind, target: str, message_id: str
    ) -> Rendered:
        mapping = self.gateway.mappings.get(target)
        entry = self.gateway.schemas.get(target)
        if mapping is None or entry is None:
            what = "mapping file" if mapping is None else "schema"
            raise ConfigError(f"outbound {kind} messages need the {what} of {target}")
        model = self._models.get(entry.sha256)
        if model is None:
            model = self._models[entry.sha256] = XsdModel.load(entry.path)
        # a status report states the original group once (OrgnlGrpInfAndSts), not per
        # transaction: values shared by the events go to the outermost level
        placement: Placement = "outermost" if kind == "status" else "innermost"
        rendered = map_outbound([event], mapping, model, placement=placement)
        findings = list(rendered.findings)
        findings += self.gateway.schemas.validate(rendered.document, entry)
        body = render_xml(rendered.document)
        return Rendered(message_id, kind, target, "application/xml", body, findings)

    def _render_mt(
        self, event: dict[str, Any], kind: Kind, target: str, message_id: str
    ) -> Rendered:
        text: str | None
        if kind in ("status", "notification"):
            from gateway.render_mt_outbound import render_mt_outbound

            text, findings = render_mt_outbound(event, target)
        else:
            if self._translator is None:
                from gateway.translate import Translator

                self._translator = Translator(self.gateway)
            text, findings = self._translator.render_mt(event, target)
        body = text.encode("ascii", "replace") if text is not None else None
        return Rendered(message_id, kind, target, "text/plain", body, findings)


def _mt_variant(target: str, kind: Kind, event: dict[str, Any]) -> str:
    """MT 900 or 910 by the notified entry's debit/credit mark."""
    if kind == "notification" and target in ("fin.900", "fin.910"):
        entries = (event.get("statement") or {}).get("entries") or [{}]
        mark = (entries[0] or {}).get("credit_debit")
        return "fin.910" if mark == "CRDT" else "fin.900" if mark == "DBIT" else target
    return target


def _prepare(
    event: dict[str, Any],
    kind: Kind,
    original: OriginalPayment | None,
    message_id: str,
    now: datetime,
) -> dict[str, Any]:
    """The event with the new message's own header values and, for a status, what
    the store knows of the original (module docstring)."""
    out = copy.deepcopy(event)
    group = dict(out.get("group") or {})
    group.setdefault("message_id", message_id)
    group.setdefault("creation_datetime", now.isoformat(timespec="seconds"))
    out["group"] = group
    if kind == "status" and original is not None:
        known = dict(out.get("original") or {})
        name = original.message_id or ""
        values = {
            "message_id": original.business_message_id,
            "message_name_id": "MT" + name.split(".")[1] if name.startswith("fin.") else name,
            "uetr": original.uetr,
            "end_to_end_id": original.end_to_end_id,
            "instruction_id": original.instruction_id,
        }
        for key, value in values.items():
            if value and not known.get(key):
                known[key] = value
        out["original"] = known
    if kind == "status" and original is not None and original.event is not None:
        # the answer goes back the way the payment came: from its receiver to its sender
        for mine, theirs in (
            ("instructing_agent", "instructed_agent"),
            ("instructed_agent", "instructing_agent"),
        ):
            agent = original.event.get(theirs)
            if not out.get(mine) and isinstance(agent, dict) and agent.get("bic"):
                out[mine] = {"bic": agent["bic"]}
    return out
