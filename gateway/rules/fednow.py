"""Checks of the ``fednow`` scheme pack (issue #4, layer 2), and the network maximum
amount check that the instant schemes share.

Implements the message rules of the Federal Reserve Banks' FedNow Service, ISO
20022 edition of its message specifications (the FedNow-restricted XSDs of
pacs.008.001.08, pacs.009.001.08, pacs.002.001.10, pacs.004.001.10, pacs.028.001.03,
camt.056.001.08 and camt.029.001.09, published on the FedNow MyStandards group and
mirrored by moov-io/fednow20022) and the FedNow Service Operating Procedures and
announcements for the transaction limit. The rules that are plain data (USD only,
one transaction per message, FDN clearing system, CLRG, SLEV, mandatory elements)
use the generic checks of :mod:`gateway.rules.generic` from ``packs/fednow/*.yaml``.
This module owns the checks that need logic:

* ``fednow_routing_numbers``: every clearing system member id of the USABA system
  is a 9-digit ABA routing transit number with a valid check digit (weights 3, 7, 1
  mod 10, ``stdnum.us.rtn``); the FedNow XSDs only say ``[0-9]{9}``;
* ``fednow_agent_clearing_ids``: the agents FedNow requires are identified by a
  USABA ClrSysMmbId (``BranchAndFinancialInstitutionIdentification6`` restricted
  to ClrSysMmbId in the FedNow XSDs);
* ``fednow_message_id``: the message identification follows the FedNow pattern
  ``MessageIdentificationFedNow1`` (8 digits, 9 alphanumerics, then 1 to 18);
* ``fednow_settlement_currency``: interbank settlement amounts are in USD (the FedNow
  XSDs fix the ``Ccy`` of these amounts), on every FedNow message, mapped or not;
* ``network_max_amount``: the per-transaction network maximum of an instant scheme
  (FedNow; SCT Inst until its 2025 rulebook) with the participant's own lower limit
  on top (:attr:`RuleSelection.overrides`, parameter ``limit``). A participant
  limit above the network maximum cannot raise it: the network maximum applies and
  the finding says the participant limit was capped.

Sources: https://www.frbservices.org/financial-services/fednow (operating procedures,
ISO 20022 specifications); press release of 24 June 2025 (limit USD 1,000,000) and
the September 2025 announcement (USD 10,000,000 from November 2025);
https://github.com/moov-io/fednow20022 (the FedNow XSDs as Go models).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree
from stdnum.us import rtn

from gateway.errors import ConfigError
from gateway.rules.generic import event_amount, get_field
from gateway.rules.model import Hit, Subject, check, decimal_param

__all__ = ["MESSAGE_ID_PATTERN", "effective_limit", "routing_number_problem"]

#: ``MessageIdentificationFedNow1`` of the FedNow XSDs (length 18 to 35).
MESSAGE_ID_PATTERN = re.compile(r"[0-9]{8}[a-zA-Z0-9]{9}[a-zA-Z0-9]{1,18}")
#: The clearing system of ABA routing numbers (ExternalClearingSystemIdentification1Code).
USABA = "USABA"
#: Amounts whose currency the FedNow XSDs fix to USD.
_SETTLEMENT_AMOUNTS = (
    "IntrBkSttlmAmt",
    "TtlIntrBkSttlmAmt",
    "OrgnlIntrBkSttlmAmt",
    "RtrdIntrBkSttlmAmt",
    "CompstnAmt",
)


def _local(element: etree._Element) -> str:
    tag = element.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _decimal(value: Any, name: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ConfigError(f"network_max_amount: {name} {value!r} is not a decimal amount") from None


def effective_limit(
    network_max: Decimal | None, limit: Decimal | None
) -> tuple[Decimal | None, bool]:
    """The limit that applies and whether a participant limit was capped by the
    network maximum (a participant may lower the network maximum, never raise it)."""
    if limit is None:
        return network_max, False
    if network_max is not None and limit > network_max:
        return network_max, True
    return limit, False


def _limits(params: Mapping[str, Any]) -> None:
    decimal_param(params, "network_max")
    decimal_param(params, "limit")


@check(
    "network_max_amount",
    "The transaction amount is within the scheme's network maximum and the participant's "
    "own lower limit.",
    params={
        "currency": "the scheme's currency (amounts in others are another rule's business)",
        "network_max": "the scheme's per-transaction maximum (decimal string); "
        "absent or null: the scheme sets none",
        "limit": "the participant's own per-transaction limit (tenant override); "
        "above the network maximum it is capped to it",
    },
    required=("currency",),
    validate=_limits,
)
def network_max_amount(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    currency = str(params["currency"])
    network_max = _decimal(params.get("network_max"), "network_max")
    limit = _decimal(params.get("limit"), "limit")
    applied, capped = effective_limit(network_max, limit)
    if applied is None:
        return
    for index, event in enumerate(subject.events):
        found = event_amount(event)
        if found is None or found[2] != currency:
            continue
        name, amount, _ = found
        if amount <= applied:
            continue
        if limit is not None and not capped:
            what = f"the participant limit of {applied} {currency}"
        else:
            what = f"the scheme maximum of {applied} {currency}"
            if capped:
                what += f" (the participant limit of {limit} cannot raise it)"
        context: dict[str, Any] = {"amount": str(amount), "limit": str(applied)}
        if network_max is not None:
            context["network_max"] = str(network_max)
        if limit is not None:
            context["participant_limit"] = str(limit)
            context["participant_limit_capped"] = capped
        yield Hit(
            f"Amount {amount} {currency} exceeds {what}.",
            event=index,
            field=name,
            context=context,
        )


def routing_number_problem(text: str) -> str | None:
    """Why ``text`` is not an ABA routing transit number, or None."""
    if len(text) != 9 or not text.isdigit():
        return "is not 9 digits"
    if not rtn.is_valid(text):
        return "fails the ABA check digit (weights 3, 7, 1, modulo 10)"
    return None


def _children(element: etree._Element, name: str) -> list[etree._Element]:
    return [child for child in element if _local(child) == name]


def _member_ids(
    root: etree._Element, systems: frozenset[str], unqualified: bool
) -> Iterator[etree._Element]:
    """MmbId elements of ClrSysMmbId whose ClrSysId/Cd is in ``systems`` (and, with
    ``unqualified``, those without a ClrSysId)."""
    for member in root.iter():
        if not isinstance(member.tag, str) or _local(member) != "ClrSysMmbId":
            continue
        codes = [
            (code.text or "").strip()
            for system in _children(member, "ClrSysId")
            for code in _children(system, "Cd")
        ]
        has_system = bool(_children(member, "ClrSysId"))
        if any(code in systems for code in codes) or (unqualified and not has_system):
            yield from _children(member, "MmbId")


@check(
    "fednow_routing_numbers",
    "Every USABA clearing system member id is an ABA routing number with a valid check digit.",
    params={
        "clearing_systems": "ClrSysId codes whose member ids are routing numbers "
        "(default: [USABA])",
        "apphdr_unqualified": "also judge AppHdr member ids that name no clearing system "
        "(FedNow's AppHdr carries routing numbers that way); default true",
    },
)
def fednow_routing_numbers(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    systems = frozenset(str(s) for s in params.get("clearing_systems") or (USABA,))
    roots: list[tuple[etree._Element, bool]] = []
    if subject.document is not None:
        roots.append((subject.document, False))
    if subject.header is not None and subject.header.element is not None:
        roots.append((subject.header.element, bool(params.get("apphdr_unqualified", True))))
    for root, unqualified in roots:
        for element in _member_ids(root, systems, unqualified):
            text = (element.text or "").strip()
            problem = routing_number_problem(text)
            if problem:
                yield Hit(
                    f"Member id {text!r} {problem}.",
                    element=element,
                    context={"member_id": text},
                )


def _agents_for(agents: Any, message_id: str | None) -> list[str]:
    """The agent fields to judge: a list for every message, or message id -> list."""
    if isinstance(agents, Mapping):
        return [str(a) for a in agents.get(message_id or "", ())]
    return [str(a) for a in agents]


@check(
    "fednow_agent_clearing_ids",
    "Each listed agent is identified by a clearing system member id of the given system.",
    params={
        "agents": "canonical agent fields, e.g. [instructing_agent, debtor_agent], or a "
        "mapping message id -> such a list (pacs.009 names its FIs debtor_institution...)",
        "clearing_system": "the ClrSysId code required (default: USABA)",
    },
    required=("agents",),
)
def fednow_agent_clearing_ids(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    system = str(params.get("clearing_system") or USABA)
    agents = _agents_for(params["agents"], subject.message_id)
    for index, event in enumerate(subject.events):
        for agent in agents:
            member = get_field(event, f"{agent}.clearing_member") or {}
            code = get_field(member, "clearing_system.code")
            if code == system and member.get("member_id"):
                continue
            found = f"clearing system {code!r}" if code else "no clearing system member id"
            yield Hit(
                f"{agent} must be identified by a {system} member id; found {found}.",
                event=index,
                field=f"{agent}.clearing_member",
                context={"agent": agent, "clearing_system": code},
            )


@check(
    "fednow_message_id",
    "The message identification (GrpHdr/MsgId, Assgnmt/Id) follows the FedNow pattern.",
)
def fednow_message_id(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    if subject.document is None:
        return
    for message in subject.document:  # the message element under Document
        for block, name in (("GrpHdr", "MsgId"), ("Assgnmt", "Id")):
            for holder in _children(message, block):
                for element in _children(holder, name):
                    text = (element.text or "").strip()
                    if not MESSAGE_ID_PATTERN.fullmatch(text):
                        yield Hit(
                            f"{block}/{name} {text!r} does not follow the FedNow message "
                            "identification pattern (8 digits, 9 letters or digits, then "
                            "1 to 18 letters or digits).",
                            element=element,
                            context={"value": text},
                        )


@check(
    "fednow_settlement_currency",
    "Interbank settlement amounts (original, returned, total, compensation) are in the "
    "scheme's currency.",
    params={
        "currency": "the currency, e.g. USD",
        "elements": "amount element names judged (default: IntrBkSttlmAmt, "
        "TtlIntrBkSttlmAmt, OrgnlIntrBkSttlmAmt, RtrdIntrBkSttlmAmt, CompstnAmt)",
    },
    required=("currency",),
)
def fednow_settlement_currency(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    currency = str(params["currency"])
    names = frozenset(str(n) for n in params.get("elements") or _SETTLEMENT_AMOUNTS)
    for value in subject.of_kind("amount"):
        if value.name in names and value.currency != currency:
            yield Hit(
                f"{value.name} is in {value.currency}; the scheme settles in {currency} only.",
                element=value.element,
                mt_tag=value.mt_tag,
                context={"currency": value.currency},
            )
