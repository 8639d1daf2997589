"""References, codes, times, accounts and narratives: format, checks, parse, render.

SWIFT Standards MT November 2025, field specifications of MT 103 / 103 STP (13C,
20, 23B, 23E, 26T, 71A), MT 202 / 202 COV (20, 21, 13C), MT 900 / 910 (13D, 25a),
MT 940 / 950 (20, 21, 25a, 28C) and the common group messages n92 / n95 / n96
(11S, 11R), with the error codes their "Network validated rules" give:

* 20, 21: T26 (no leading/trailing ``/``, no ``//``) - confirmed for MT 103, 202,
  900, 910, 940; applied to n9x alike;
* 13C, 13D: T38 time ``HHMM``, T15 sign ``+``/``-``, T16 offset (hours 00-13,
  minutes 00-59), T50 date - confirmed;
* 23B: T36 (CRED, CRTS, SPAY, SPRI, SSTD) - confirmed (MT 103 and 103 STP);
* 23E: T47 in MT 103 (12 codes), T48 in MT 103 STP (CORT, INTC, REPA, SDVA); D97
  additional information only after the codes that allow it - confirmed. The
  order and combination rules of repeated 23E (D98, D67, E46) span several fields
  and belong to the message checks;
* 71A: T08 (BEN, OUR, SHA) - confirmed;
* 11S, 11R: T50 date - confirmed; "MT Number must be in the range 100-999" has no
  published error code: reported as T34 (our choice);
* 26T (3!c), 25 (35x), 25P (35x + Identifier Code), 28C (5n[/5n]): format only;
* narratives, format only: 70 (4*35x), 72 (6*35x), 77B (3*35x) of MT 103 / 202 COV;
  75, 76 (6*35x), 77A (20*35x), 79 (35*50x) of n92 / n95 / n96 / n99; 86 (6*65x) of
  MT 940. The structured line formats of 72 and 77B (``/8c/...`` codes) carry no
  error code in MT 103 / 202 and are left to usage rules;
* 121, the UETR of block 3 (``8!x-4!x-4!x-4!x-12!x``), for translations that write
  it; its version-4 form is a business rule (``gateway.rules.codes``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from gateway.fin.field_base import (
    BIC,
    DATE,
    Context,
    FieldSpec,
    Groups,
    Problem,
    Text,
    bic_check,
    code_check,
    date_check,
    iso_date,
    line_of,
    slash_check,
    swift_date,
)

__all__ = [
    "REFERENCE_SPECS",
    "TEXT_SPECS",
    "AccountId",
    "Code",
    "DateTimeIndication",
    "MessageReference",
    "StatementNumber",
    "TimeIndication",
]

BANK_OPERATION_CODES = frozenset({"CRED", "CRTS", "SPAY", "SPRI", "SSTD"})
CHARGES_CODES = frozenset({"BEN", "OUR", "SHA"})
INSTRUCTION_CODES = frozenset(
    {"CHQB", "CORT", "HOLD", "INTC", "PHOB", "PHOI", "PHON", "REPA", "SDVA", "TELB", "TELE", "TELI"}
)
INSTRUCTION_CODES_STP = frozenset({"CORT", "INTC", "REPA", "SDVA"})
#: 23E codes that may carry additional information (D97).
INSTRUCTION_INFO = frozenset({"HOLD", "PHOB", "PHOI", "PHON", "REPA", "TELB", "TELE", "TELI"})


@dataclass(frozen=True, slots=True)
class Code:
    """A coded field: 23B, 26T, 71A; 23E with its additional ``info``."""

    code: str
    info: str | None = None


@dataclass(frozen=True, slots=True)
class MessageReference:
    """11S/11R: the original message's type, date (ISO) and optional session/ISN."""

    mt: str
    date: str
    session: str | None = None
    isn: str | None = None


@dataclass(frozen=True, slots=True)
class TimeIndication:
    """13C: ``code`` (CLSTIME, RNCTIME, SNDTIME...), ``time`` HHMM, ``offset`` +HHMM."""

    code: str
    time: str
    offset: str


@dataclass(frozen=True, slots=True)
class DateTimeIndication:
    """13D: ``date`` (ISO), ``time`` HHMM, UTC ``offset`` +HHMM."""

    date: str
    time: str
    offset: str


@dataclass(frozen=True, slots=True)
class AccountId:
    """25 (account) and 25P (account and the BIC of the account owner)."""

    account: str
    bic: str | None = None


@dataclass(frozen=True, slots=True)
class StatementNumber:
    """28C: statement number and optional sequence (page) number, as written."""

    number: str
    sequence: str | None = None


# ------------------------------------------------------------------ checks


def _hhmm(value: str, max_hours: int) -> bool:
    return value.isdigit() and int(value[:2]) <= max_hours and int(value[2:]) <= 59


def _time_checks(m: re.Match[str], ctx: Context) -> Iterator[Problem]:
    if not _hhmm(m.group("time"), 23):
        yield Problem("T38", f"Time {m.group('time')} is not a valid time HHMM.", "time")
    if m.group("sign") not in ("+", "-"):
        yield Problem("T15", "The sign of the UTC offset must be '+' or '-'.", "sign")
    if not _hhmm(m.group("offset"), 13):
        message = f"Offset {m.group('offset')}: hours must be 00-13 and minutes 00-59."
        yield Problem("T16", message, "offset")


def _mt_number(m: re.Match[str], ctx: Context) -> Iterator[Problem]:
    if not 100 <= int(m.group("mt")) <= 999:
        yield Problem("T34", f"MT number {m.group('mt')} is not in 100-999.", "mt")


def _instruction(m: re.Match[str], ctx: Context) -> Iterator[Problem]:
    code, info = m.group("code"), m.group("info")
    stp = ctx.message_id == "fin.103.STP"
    codes, error = (INSTRUCTION_CODES_STP, "T48") if stp else (INSTRUCTION_CODES, "T47")
    if code not in codes:
        message = f"Instruction code {code} is not one of {', '.join(sorted(codes))}."
        yield Problem(error, message, "code")
    elif info is not None and code not in ({"REPA"} if stp else INSTRUCTION_INFO):
        message = f"Instruction code {code} takes no additional information."
        yield Problem("D97", message, "info", line_of(m, "info"))


# ------------------------------------------------------------------ parse / render


def _text(groups: Groups) -> Text:
    return Text(groups.text)


def _code(groups: Groups) -> Code:
    return Code(groups.required("code"), groups["info"])


def _render_code(value: Code) -> str:
    return value.code + (f"/{value.info}" if value.info is not None else "")


def _message_reference(groups: Groups) -> MessageReference:
    date = iso_date(groups.required("date"))
    return MessageReference(groups.required("mt"), date, groups["session"], groups["isn"])


def _render_message_reference(value: MessageReference) -> str:
    lines = [value.mt, swift_date(value.date)]
    if value.session is not None or value.isn is not None:
        lines.append(f"{value.session or ''}{value.isn or ''}")
    return "\n".join(lines)


def _time(groups: Groups) -> TimeIndication:
    offset = groups.required("sign") + groups.required("offset")
    return TimeIndication(groups.required("code"), groups.required("time"), offset)


def _date_time(groups: Groups) -> DateTimeIndication:
    offset = groups.required("sign") + groups.required("offset")
    return DateTimeIndication(iso_date(groups.required("date")), groups.required("time"), offset)


def _account(groups: Groups) -> AccountId:
    return AccountId(groups.required("account"), groups["bic"])


def _render_account(value: AccountId) -> str:
    return value.account + (f"\n{value.bic}" if value.bic is not None else "")


def _statement(groups: Groups) -> StatementNumber:
    return StatementNumber(groups.required("number"), groups["sequence"])


def _reference(tag: str, title: str) -> FieldSpec[Text]:
    return FieldSpec(
        tag, title, "16x", ("reference",), Text, _text, lambda v: v.text, (slash_check(),)
    )


def _message_ref(tag: str) -> FieldSpec[MessageReference]:
    return FieldSpec(
        tag,
        "MT and Date of the Original Message",
        "3!n$6!n$[4!n6!n]",
        ("mt", "date", "session", "isn"),
        MessageReference,
        _message_reference,
        _render_message_reference,
        (_mt_number, date_check()),
        {**DATE, "mt": ("T34", "T33")},
    )


REFERENCE_SPECS: tuple[FieldSpec[Any], ...] = (
    _reference("20", "Transaction Reference Number"),
    _reference("21", "Related Reference"),
    _message_ref("11S"),
    _message_ref("11R"),
    FieldSpec(
        "13C",
        "Time Indication",
        "/8c/4!n1!x4!n",
        ("code", "time", "sign", "offset"),
        TimeIndication,
        _time,
        lambda v: f"/{v.code}/{v.time}{v.offset}",
        (_time_checks,),
        {"time": ("T38", "T38"), "offset": ("T16", "T16")},
    ),
    FieldSpec(
        "13D",
        "Date/Time Indication",
        "6!n4!n1!x4!n",
        ("date", "time", "sign", "offset"),
        DateTimeIndication,
        _date_time,
        lambda v: f"{swift_date(v.date)}{v.time}{v.offset}",
        (date_check(), _time_checks),
        {**DATE, "time": ("T38", "T38"), "offset": ("T16", "T16")},
    ),
    FieldSpec(
        "23B",
        "Bank Operation Code",
        "4!c",
        ("code",),
        Code,
        _code,
        _render_code,
        (code_check("code", BANK_OPERATION_CODES, "T36", "Bank operation code"),),
        {"code": ("T36", "T36")},
    ),
    FieldSpec(
        "23E",
        "Instruction Code",
        "4!c[/30x]",
        ("code", "info"),
        Code,
        _code,
        _render_code,
        (_instruction,),
    ),
    FieldSpec("26T", "Transaction Type Code", "3!c", ("code",), Code, _code, _render_code),
    FieldSpec(
        "71A",
        "Details of Charges",
        "3!a",
        ("code",),
        Code,
        _code,
        _render_code,
        (code_check("code", CHARGES_CODES, "T08", "Details of charges"),),
        {"code": ("T08", "T08")},
    ),
    FieldSpec(
        "25", "Account Identification", "35x", ("account",), AccountId, _account, _render_account
    ),
    FieldSpec(
        "25P",
        "Account Identification",
        "35x$4!a2!a2!c[3!c]",
        ("account", *BIC),
        AccountId,
        _account,
        _render_account,
        (bic_check(),),
        {"bic": ("T27", "T27")},
    ),
    FieldSpec(
        "28C",
        "Statement Number/Sequence Number",
        "5n[/5n]",
        ("number", "sequence"),
        StatementNumber,
        _statement,
        lambda v: v.number + (f"/{v.sequence}" if v.sequence is not None else ""),
    ),
)


def _narrative(tag: str, title: str, notation: str) -> FieldSpec[Text]:
    return FieldSpec(tag, title, notation, ("text",), Text, _text, lambda v: v.text)


TEXT_SPECS: tuple[FieldSpec[Any], ...] = (
    _narrative("70", "Remittance Information", "4*35x"),
    _narrative("72", "Sender to Receiver Information", "6*35x"),
    _narrative("75", "Queries", "6*35x"),
    _narrative("76", "Answers", "6*35x"),
    _narrative("77A", "Narrative", "20*35x"),
    _narrative("77B", "Regulatory Reporting", "3*35x"),
    _narrative("79", "Narrative", "35*50x"),
    _narrative("86", "Information to Account Owner", "6*65x"),
    _narrative("121", "Unique End-to-End Transaction Reference", "8!x-4!x-4!x-4!x-12!x"),
)
