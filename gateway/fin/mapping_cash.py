"""Parts of the cash-management and exception fields that MT mapping files read.

The typed values come from :func:`gateway.fin.fields.parse_field` (SWIFT Standards MT
November 2025 field specifications of MT 900 / 910, MT 940 / 950 and the common group
messages n92 / n96); this module only says which *parts* a mapping file may name for
them, what each yields and which *units* it consumes (see
:mod:`gateway.fin.mapping_parts`, which merges these into its closed vocabulary):

====================  ===================================================================
kind (fields)         parts
====================  ===================================================================
``account_id``        ``iban`` (the account when IBAN-shaped), ``account_other`` (any other
(25, 25P)             account), ``bic`` (25P: the Identifier Code of the account owner)
``statement_number``  ``number`` (statement number), ``page`` (sequence number), both as
(28C)                 numbers: ``00062`` -> ``62`` (5n: digits, leading zeros carry nothing)
``balance``           ``mark`` (``C``/``D``), ``date``, ``currency``, ``value``, ``amount``
(60F/M, 62F/M, 64,    (value and currency)
65)
``statement_line``    ``value_date``; ``entry_date`` (MMDD with the year that puts it
(61)                  nearest the value date, across a year end: value date 2024-12-30,
                      entry 0102 -> 2025-01-02); ``mark`` (``C``, ``D``, ``RC``, ``RD``);
                      ``reversal`` (true for ``RC``/``RD``, absent otherwise: a reversal
                      indicator is stated, never assumed false); ``funds_code``; ``value``
                      (the amount, which has no currency in field 61); ``type`` (the
                      transaction type identification code, 4 characters: ``NTRF``,
                      ``FMSC``, ``S103``); ``reference`` (for the account owner, as written:
                      ``NONREF`` is data); ``servicer_reference`` (after ``//``);
                      ``details`` (supplementary details, line 2)
``date_time`` (13D)   ``datetime`` (ISO 8601 with the UTC offset:
                      ``2024-01-31T13:15:00+01:00``), ``date``
``message_reference`` ``message_name`` (``MT`` + the MT number: ``MT103``), ``date`` (the
(11R, 11S)            date of the original message), ``session`` (session and ISN)
====================  ===================================================================

Amounts are canonical decimals (``"12500,00"`` -> ``"12500.00"``), dates ISO
``YYYY-MM-DD`` (the SWIFT century rule of :mod:`gateway.fin.field_base`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Literal

from gateway.fin.fields import (
    AccountId,
    Balance,
    DateTimeIndication,
    MessageReference,
    StatementLine,
    StatementNumber,
)
from gateway.fin.values import looks_like_iban

__all__ = [
    "CASH_KINDS",
    "CASH_PARTS",
    "CASH_UNITS",
    "CashKind",
    "CashPart",
    "canonical_decimal",
    "cash_units",
]

CashKind = Literal[
    "account_id", "statement_number", "balance", "statement_line", "date_time",
    "message_reference",
]  # fmt: skip
#: (what the part yields, the units it consumes, how it reads the typed value)
CashPart = tuple[Literal["str", "bool", "amount"], tuple[str, ...], Callable[[Any], Any]]

_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")

#: The typed value of each kind.
CASH_KINDS: Mapping[type[Any], CashKind] = {
    AccountId: "account_id",
    StatementNumber: "statement_number",
    Balance: "balance",
    StatementLine: "statement_line",
    DateTimeIndication: "date_time",
    MessageReference: "message_reference",
}

#: How coverage names the units of these kinds (``Field 61 has the funds code``).
CASH_UNITS: Mapping[str, str] = {
    "bic": "the Identifier Code",
    "number": "the statement number",
    "page": "the sequence number",
    "mark": "the D/C mark",
    "value_date": "the value date",
    "entry_date": "the entry date",
    "funds_code": "the funds code",
    "type": "the transaction type",
    "reference": "the reference for the account owner",
    "servicer_reference": "the reference of the account servicing institution",
    "details": "the supplementary details",
    "mt": "the MT number",
    "session": "the session number and ISN",
}


def _number(text: str | None) -> str | None:
    return (text.lstrip("0") or "0") if text else None


def canonical_decimal(text: str) -> str:
    """``"0012500.50"`` -> ``"12500.50"``: the xs:decimal canonical form the MX engine
    gives amounts (fraction digits kept as written)."""
    if not _DECIMAL.fullmatch(text):
        return text
    whole, dot, fraction = text.partition(".")
    return (whole.lstrip("0") or "0") + dot + fraction


def _typed(kind: type[Any], read: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda v: read(v) if isinstance(v, kind) else None


def _account_iban(v: AccountId) -> str | None:
    return v.account if looks_like_iban(v.account) else None


def _account_other(v: AccountId) -> str | None:
    return None if looks_like_iban(v.account) else v.account


def _datetime(v: DateTimeIndication) -> str:
    """``2024-01-31`` ``1315`` ``+0100`` -> ``2024-01-31T13:15:00+01:00``."""
    offset = f"{v.offset[:3]}:{v.offset[3:]}"
    return f"{v.date}T{v.time[:2]}:{v.time[2:]}:00{offset}"


def _session(v: MessageReference) -> str | None:
    return f"{v.session or ''}{v.isn or ''}" or None


def _balance(read: Callable[[Balance], Any], kind: Any = "str", *units: str) -> CashPart:
    return (kind, units, _typed(Balance, read))


def _line(read: Callable[[StatementLine], Any], *units: str, kind: Any = "str") -> CashPart:
    return (kind, units, _typed(StatementLine, read))


CASH_PARTS: Mapping[CashKind, Mapping[str, CashPart]] = {
    "account_id": {
        "iban": ("str", ("account",), _typed(AccountId, _account_iban)),
        "account_other": ("str", ("account",), _typed(AccountId, _account_other)),
        "bic": ("str", ("bic",), _typed(AccountId, lambda v: v.bic)),
    },
    "statement_number": {
        "number": ("str", ("number",), _typed(StatementNumber, lambda v: _number(v.number))),
        "page": ("str", ("page",), _typed(StatementNumber, lambda v: _number(v.sequence))),
    },
    "balance": {
        "mark": _balance(lambda v: v.mark, "str", "mark"),
        "date": _balance(lambda v: v.date, "str", "date"),
        "currency": _balance(lambda v: v.currency, "str", "currency"),
        "value": _balance(lambda v: canonical_decimal(v.amount), "str", "value"),
        "amount": _balance(
            lambda v: {"value": canonical_decimal(v.amount), "currency": v.currency},
            "amount",
            "value",
            "currency",
        ),
    },
    "statement_line": {
        "value_date": _line(lambda v: v.value_date, "value_date"),
        "entry_date": _line(lambda v: v.entry_date, "entry_date"),
        "mark": _line(lambda v: v.mark, "mark"),
        "reversal": _line(lambda v: True if v.mark in ("RC", "RD") else None, "mark", kind="bool"),
        "funds_code": _line(lambda v: v.funds_code, "funds_code"),
        "value": _line(lambda v: canonical_decimal(v.amount), "value"),
        "type": _line(lambda v: v.transaction_type, "type"),
        "reference": _line(lambda v: v.reference, "reference"),
        "servicer_reference": _line(lambda v: v.bank_reference, "servicer_reference"),
        "details": _line(lambda v: v.details, "details"),
    },
    "date_time": {
        "datetime": ("str", ("date", "time", "offset"), _typed(DateTimeIndication, _datetime)),
        "date": ("str", ("date",), _typed(DateTimeIndication, lambda v: v.date)),
    },
    "message_reference": {
        "message_name": ("str", ("mt",), _typed(MessageReference, lambda v: f"MT{v.mt}")),
        "date": ("str", ("date",), _typed(MessageReference, lambda v: v.date)),
        "session": ("str", ("session",), _typed(MessageReference, _session)),
    },
}


def cash_units(value: Any) -> set[str] | None:
    """The units a typed cash-management value carries (None: not one of these kinds)."""
    if isinstance(value, AccountId):
        return {"account"} | ({"bic"} if value.bic else set())
    if isinstance(value, StatementNumber):
        return {"number"} | ({"page"} if value.sequence else set())
    if isinstance(value, Balance):
        return {"mark", "date", "currency", "value"}
    if isinstance(value, StatementLine):
        present = {
            "entry_date": value.entry_date,
            "funds_code": value.funds_code,
            "reference": value.reference,
            "servicer_reference": value.bank_reference,
            "details": value.details,
        }
        return {"value_date", "mark", "value", "type"} | {k for k, v in present.items() if v}
    if isinstance(value, DateTimeIndication):
        return {"date", "time", "offset"}
    if isinstance(value, MessageReference):
        return {"mt", "date"} | ({"session"} if _session(value) else set())
    return None
