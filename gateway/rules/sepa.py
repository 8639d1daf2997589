"""Checks of the SEPA scheme packs ``sepa-sct`` and ``sepa-inst`` (issue #4, layer 2).

Implements the message rules of the European Payments Council's SEPA Credit
Transfer (SCT, EPC125-05) and SEPA Instant Credit Transfer (SCT Inst, EPC004-16)
rulebooks, 2023 version 1.x (in force from 19 November 2023, the move to the 2019
ISO 20022 messages) and 2025 version 1.0 (in force from 5 October 2025), and
their implementation guidelines (IGs): Customer-to-PSP (pain.001; EPC132-08 for
SCT) and Inter-PSP (pacs.008; EPC115-06 for SCT), and the SCT Inst IGs of the
same names.

The rules that are plain data (EUR only, SLEV, the SEPA service level, the INST
local instrument, mandatory elements, amount limits) use the generic checks of
:mod:`gateway.rules.generic` from the pack files ``packs/sepa-sct/*.yaml`` and
``packs/sepa-inst/*.yaml``. This module owns the checks that need logic:

* ``sepa_iban_country``: account IBANs belong to the schemes' geographical scope
  (the EPC list of SEPA scheme countries and territories, EPC409-09; the country
  codes themselves are pack data, one list per pack version);
* ``sepa_non_eea_required``: what a transaction involving a non-EEA SEPA country or
  territory must carry besides (BIC of the beneficiary PSP, address of the
  originator: rulebook section on the data sets, and EPC guidance of 2 September
  2019 on non-EEA participants);
* ``sepa_service_level``: the service level code is ``SEPA`` (AT "identification
  code of the scheme");
* ``sepa_charset``: the Latin character set of the IGs (section "Character set"):
  ``a-z A-Z 0-9 / - ? : ( ) . , ' +`` and space;
* ``sepa_reference_slashes``: references, identifications and identifiers neither
  start nor end with ``/`` nor contain ``//`` (IG rule; EPC "Clarification Paper on
  the Use of Slashes in References, Identifications and Identifiers").

IBAN and BIC validity themselves are the business pack's (``business.iban``,
``business.bic``); these checks only read the country codes.

Sources: https://www.europeanpaymentscouncil.eu/what-we-do/epc-payment-schemes/
sepa-credit-transfer and .../sepa-instant-credit-transfer (rulebooks and IGs);
https://www.europeanpaymentscouncil.eu/document-library/guidance-documents/
clarification-paper-use-slashes-references-identifications-and.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from lxml import etree

from gateway.rules.generic import get_field
from gateway.rules.model import Hit, Subject, check

__all__ = ["LATIN_CHARACTERS", "involved_countries", "latin_problem"]

#: The SEPA (Latin) character set of the EPC implementation guidelines.
LATIN_CHARACTERS: frozenset[str] = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-?:().,'+ "
)

#: Where a transaction's parties are, for the non-EEA rules: account IBANs (country
#: = first two letters) and agent BICs (country = letters 5-6). The BIC catches the
#: territories that use another country's IBAN (Jersey, Guernsey and the Isle of Man
#: use GB IBANs, Saint Pierre and Miquelon FR IBANs).
_IBAN_FIELDS = ("debtor_account.iban", "creditor_account.iban")
_BIC_FIELDS = ("debtor_agent.bic", "creditor_agent.bic")


def _local(element: etree._Element) -> str:
    tag = element.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _text(value: Any) -> str | None:
    return value.strip().upper() if isinstance(value, str) and value.strip() else None


def involved_countries(event: Mapping[str, Any]) -> set[str]:
    """Country codes of the transaction's accounts (IBAN) and agents (BIC)."""
    found: set[str] = set()
    for name in _IBAN_FIELDS:
        iban = _text(get_field(event, name))
        if iban and len(iban) >= 2:
            found.add(iban[:2])
    for name in _BIC_FIELDS:
        bic = _text(get_field(event, name))
        if bic and len(bic) >= 6:
            found.add(bic[4:6])
    return found


@lru_cache(maxsize=16)
def _outside(extra: frozenset[str]) -> re.Pattern[str]:
    """A character outside the Latin set and ``extra`` (one regex search per text keeps
    the check cheap on 10,000-transaction files)."""
    allowed = "".join(sorted(LATIN_CHARACTERS | extra))
    return re.compile(f"[^{re.escape(allowed)}]")


def latin_problem(text: str, extra: frozenset[str] = frozenset()) -> str | None:
    """The characters of ``text`` outside the SEPA character set (plus ``extra``),
    as a short readable list, or None."""
    if _outside(extra).search(text) is None:
        return None
    bad = sorted({c for c in text if c not in LATIN_CHARACTERS and c not in extra})
    return ", ".join(repr(c) if c.isprintable() else f"U+{ord(c):04X}" for c in bad[:10])


@check(
    "sepa_iban_country",
    "Account IBANs belong to a country or territory of the SEPA schemes' geographical scope.",
    params={
        "countries": "IBAN country codes in the schemes' scope (EPC409-09)",
        "fields": "canonical IBAN fields to judge (default: debtor and creditor account)",
    },
    required=("countries",),
)
def sepa_iban_country(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    scope = frozenset(str(c) for c in params["countries"])
    fields = tuple(params.get("fields") or _IBAN_FIELDS)
    for index, event in enumerate(subject.events):
        for name in fields:
            iban = _text(get_field(event, name))
            if iban is None or iban[:2] in scope:
                continue
            # the IBAN itself is never quoted: its country says what is wrong
            yield Hit(
                f"{name} is an IBAN of {iban[:2]}, which is not in the SEPA schemes' "
                "geographical scope.",
                event=index,
                field=name,
                context={"country": iban[:2]},
            )


def _present(value: Any) -> bool:
    return value not in (None, "", [], {})


@check(
    "sepa_non_eea_required",
    "A transaction involving a non-EEA SEPA country or territory carries the listed fields.",
    params={
        "non_eea": "country codes (IBAN or BIC) of the non-EEA SEPA countries and territories",
        "fields": "canonical fields required then; an item that is a list needs any one of them",
    },
    required=("non_eea", "fields"),
)
def sepa_non_eea_required(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    non_eea = frozenset(str(c) for c in params["non_eea"])
    wanted = [
        tuple(str(f) for f in item) if isinstance(item, list | tuple) else (str(item),)
        for item in params["fields"]
    ]
    for index, event in enumerate(subject.events):
        involved = sorted(involved_countries(event) & non_eea)
        if not involved:
            continue
        missing = [
            options
            for options in wanted
            if not any(_present(get_field(event, name)) for name in options)
        ]
        if missing:
            names = [" or ".join(options) for options in missing]
            yield Hit(
                f"{'; '.join(names)}: required when a non-EEA SEPA country or territory is "
                f"involved ({', '.join(involved)}).",
                event=index,
                field=missing[0][0],
                context={"non_eea": involved, "missing": names},
            )


@check(
    "sepa_service_level",
    "The service level, when given, names the scheme (code SEPA).",
    params={"codes": "service level codes the scheme accepts, e.g. [SEPA]"},
    required=("codes",),
)
def sepa_service_level(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    codes = [str(c) for c in params["codes"]]
    for index, event in enumerate(subject.events):
        levels = get_field(event, "payment_type.service_level")
        if not isinstance(levels, list) or not levels:
            continue  # absence is a required-fields rule's business
        given = [str(lv.get("code") or lv.get("proprietary")) for lv in levels if lv]
        if any(level.get("code") in codes for level in levels if level):
            continue
        yield Hit(
            f"Service level {', '.join(given)} is not the scheme's ({', '.join(codes)}).",
            event=index,
            field="payment_type.service_level",
            context={"service_level": given},
        )


def _namespace(root: etree._Element) -> str:
    tag = root.tag
    return tag[: tag.index("}") + 1] if isinstance(tag, str) and tag.startswith("{") else ""


@check(
    "sepa_charset",
    "Every text value of the Document uses the SEPA (Latin) character set.",
    params={
        "extra": "characters accepted besides the Latin set (a community's extended set)",
        "exempt": "element names not judged (e.g. EmailAdr where a community allows it)",
    },
)
def sepa_charset(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    if subject.document is None:
        return
    extra = frozenset(str(params.get("extra") or ""))
    exempt = frozenset(str(name) for name in params.get("exempt") or ())
    outside = _outside(extra)
    for element in subject.document.iter():
        # one C-level regex search per text; the rest only for the rare offender
        text = element.text
        if not text or outside.search(text) is None:
            continue
        text = text.strip()
        if not text or len(element) or not isinstance(element.tag, str):
            continue  # indentation between child elements, comments
        name = _local(element)
        bad = latin_problem(text, extra)
        if bad and name not in exempt:
            yield Hit(
                f"{name} holds characters outside the SEPA character set: {bad}.",
                element=element,
                context={"characters": bad},
            )


#: Identifications and references the slash rule covers (see the clarification paper).
_REFERENCES = ("MsgId", "PmtInfId", "InstrId", "EndToEndId", "TxId")


@check(
    "sepa_reference_slashes",
    "References and identifiers neither start nor end with '/' nor contain '//'.",
    params={"elements": "element names judged (default: MsgId, PmtInfId, InstrId, "
            "EndToEndId, TxId)"},
)  # fmt: skip
def sepa_reference_slashes(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    if subject.document is None:
        return
    ns = _namespace(subject.document)
    names = [f"{ns}{n}" for n in params.get("elements") or _REFERENCES]
    for element in subject.document.iter(*names):
        text = (element.text or "").strip()
        if text.startswith("/") or text.endswith("/") or "//" in text:
            yield Hit(
                f"{_local(element)} {text!r} starts or ends with '/' or contains '//'.",
                element=element,
                context={"value": text},
            )
