"""Amount, rate, balance and statement-line fields: format, checks, parse and render.

SWIFT Standards MT November 2025 field specifications: 32A (MT 103, 202, 900,
910), 32B, 33B, 36, 71F, 71G (MT 103), 60F/60M, 61, 62F/62M, 64, 65 (MT 940/950).
Network validated rules and their error codes (all confirmed in the handbook):

* dates: T50; currencies: T52; 32A also C08 (no XAU, XAG, XPD, XPT);
* amounts and the rate: T40/T43 (integer digit, decimal comma, maximum length with
  the comma), C03 (no more decimals than the currency has);
* balances: D/C mark C or D (T51);
* 61: value date T50; D/C mark C, D, RC or RD (T51; EC/ED belong to MT 942);
  transaction type ``S3!n``, ``N3!c`` or ``F3!c`` (T53). Its amount has no currency
  in the field: C03 against the statement currency is a message check.

Amounts are given in canonical form: ``"1000,50"`` -> ``"1000.50"``, ``"1000,"`` ->
``"1000"``; dates as ISO ``YYYY-MM-DD`` (SWIFT century rule). The entry date of a
statement line (MMDD) takes the year that puts it nearest to the value date.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gateway.fin.field_base import (
    AMOUNT,
    CURRENCY,
    DATE,
    Context,
    FieldSpec,
    Groups,
    Problem,
    amount_check,
    code_check,
    currency_check,
    date_check,
    decimal_text,
    iso_date,
    swift_date,
    swift_decimal,
)

__all__ = ["AMOUNT_SPECS", "Amount", "Balance", "Rate", "StatementLine"]

_MARKS_61 = ("RC", "RD", "C", "D")
# The first line of field 61 split the way the handbook's subfield table reads it:
# the D/C mark is a code (not any two letters), the reference ends at the first '//'.
_LINE_61 = re.compile(
    r"(?P<value_date>[0-9]{6})(?P<entry_date>[0-9]{4})?(?P<mark>RC|RD|C|D)"
    r"(?P<funds_code>[A-Z])?(?P<amount>[0-9,]{1,15})(?P<type>[A-Z][A-Z0-9]{3})"
    r"(?P<reference>[^\n]{1,16}?)(?://(?P<bank_reference>[^\n]{1,16}))?"
    r"(?:\n(?P<details>[^\n]{1,34}))?"
)


@dataclass(frozen=True, slots=True)
class Amount:
    """32A (with its value ``date``), 32B, 33B, 71F, 71G: currency and amount."""

    currency: str
    amount: str
    date: str | None = None

    @property
    def decimal(self) -> Decimal:
        return Decimal(self.amount)


@dataclass(frozen=True, slots=True)
class Rate:
    """36: the exchange rate, canonical (``"0,9"`` -> ``"0.9"``)."""

    rate: str


@dataclass(frozen=True, slots=True)
class Balance:
    """60F/60M/62F/62M/64/65: D/C ``mark``, ``date``, ``currency``, ``amount``."""

    mark: str
    date: str
    currency: str
    amount: str


@dataclass(frozen=True, slots=True)
class StatementLine:
    """61: one statement entry (``transaction_type`` is the 4 characters ``NTRF``)."""

    value_date: str
    mark: str
    amount: str
    transaction_type: str
    reference: str
    entry_date: str | None = None
    funds_code: str | None = None
    bank_reference: str | None = None
    details: str | None = None


# ------------------------------------------------------------------ statement line


def _line_61(m: re.Match[str], ctx: Context) -> Iterator[Problem]:
    if _LINE_61.fullmatch(m.string) is None:
        mark = m.group("mark") + (m.group("funds_code") or "")
        message = f"D/C mark in {mark!r} must be C, D, RC or RD (then the funds code)."
        yield Problem("T51", message, "mark")
    kind, code = m.group("type"), m.group("code")
    if kind not in ("S", "N", "F") or (kind == "S" and not code.isdigit()):
        message = f"Transaction type {kind}{code} must be S3!n, N3!c or F3!c."
        yield Problem("T53", message, "type")


def _entry_date(value_date: str, mmdd: str) -> str:
    year, month = int(value_date[:4]), int(value_date[5:7])
    entry_month = int(mmdd[:2])
    if entry_month - month > 6:
        year -= 1
    elif month - entry_month > 6:
        year += 1
    return f"{year:04d}-{mmdd[:2]}-{mmdd[2:]}"


def _statement_line(groups: Groups) -> StatementLine | None:
    m = _LINE_61.fullmatch(groups.match.string)
    amount = decimal_text(m.group("amount")) if m else None
    if m is None or amount is None:
        return None
    # spans of the match (on the value with non-X characters replaced) index the value
    text = groups.text
    part = {name: (text[s:e] if s >= 0 else None) for name, (s, e) in _spans(m).items()}
    value_date = iso_date(m.group("value_date"))
    entry = m.group("entry_date")
    return StatementLine(
        value_date=value_date,
        mark=m.group("mark"),
        amount=amount,
        transaction_type=m.group("type"),
        reference=part["reference"] or "",
        entry_date=_entry_date(value_date, entry) if entry else None,
        funds_code=m.group("funds_code"),
        bank_reference=part["bank_reference"],
        details=part["details"],
    )


def _spans(m: re.Match[str]) -> dict[str, tuple[int, int]]:
    return {name: m.span(name) for name in ("reference", "bank_reference", "details")}


def _render_statement_line(v: StatementLine) -> str:
    entry = v.entry_date[5:7] + v.entry_date[8:10] if v.entry_date else ""
    text = (
        f"{swift_date(v.value_date)}{entry}{v.mark}{v.funds_code or ''}"
        f"{swift_decimal(v.amount)}{v.transaction_type}{v.reference}"
    )
    if v.bank_reference is not None:
        text += f"//{v.bank_reference}"
    return text + (f"\n{v.details}" if v.details is not None else "")


# ------------------------------------------------------------------ parse / render


def _amount(groups: Groups) -> Amount | None:
    amount = decimal_text(groups.required("amount"))
    if amount is None:
        return None
    date = groups["date"]
    return Amount(groups.required("currency"), amount, iso_date(date) if date else None)


def _render_amount(v: Amount) -> str:
    date = swift_date(v.date) if v.date is not None else ""
    return f"{date}{v.currency}{swift_decimal(v.amount)}"


def _balance(groups: Groups) -> Balance | None:
    amount = decimal_text(groups.required("amount"))
    if amount is None:
        return None
    date, currency = iso_date(groups.required("date")), groups.required("currency")
    return Balance(groups.required("mark"), date, currency, amount)


def _render_balance(v: Balance) -> str:
    return f"{v.mark}{swift_date(v.date)}{v.currency}{swift_decimal(v.amount)}"


def _rate(groups: Groups) -> Rate | None:
    rate = decimal_text(groups.required("rate"))
    return Rate(rate) if rate is not None else None


def _currency_amount(tag: str, title: str) -> FieldSpec[Amount]:
    return FieldSpec(
        tag,
        title,
        "3!a15d",
        ("currency", "amount"),
        Amount,
        _amount,
        _render_amount,
        (currency_check(), amount_check()),
        {**CURRENCY, **AMOUNT},
    )


def _balance_spec(tag: str, title: str) -> FieldSpec[Balance]:
    return FieldSpec(
        tag,
        title,
        "1!a6!n3!a15d",
        ("mark", "date", "currency", "amount"),
        Balance,
        _balance,
        _render_balance,
        (
            code_check("mark", ("C", "D"), "T51", "D/C mark"),
            date_check(),
            currency_check(),
            amount_check(),
        ),
        {"mark": ("T51", "T51"), **DATE, **CURRENCY, **AMOUNT},
    )


AMOUNT_SPECS: tuple[FieldSpec[Any], ...] = (
    FieldSpec(
        "32A",
        "Value Date/Currency/Interbank Settled Amount",
        "6!n3!a15d",
        ("date", "currency", "amount"),
        Amount,
        _amount,
        _render_amount,
        (date_check(label="Value date"), currency_check(commodities=False), amount_check()),
        {**DATE, **CURRENCY, **AMOUNT},
    ),
    _currency_amount("32B", "Currency/Transaction Amount"),
    _currency_amount("33B", "Currency/Instructed Amount"),
    _currency_amount("71F", "Sender's Charges"),
    _currency_amount("71G", "Receiver's Charges"),
    FieldSpec(
        "36",
        "Exchange Rate",
        "12d",
        ("rate",),
        Rate,
        _rate,
        lambda v: swift_decimal(v.rate),
        (amount_check("rate", None),),
        {"rate": ("T40", "T43")},
    ),
    _balance_spec("60F", "First Opening Balance"),
    _balance_spec("60M", "Intermediate Opening Balance"),
    _balance_spec("62F", "Final Closing Balance (Booked Funds)"),
    _balance_spec("62M", "Intermediate Closing Balance"),
    _balance_spec("64", "Closing Available Balance (Available Funds)"),
    _balance_spec("65", "Forward Available Balance"),
    FieldSpec(
        "61",
        "Statement Line",
        "6!n[4!n]2a[1!a]15d1!a3!c16x[//16x]$[34x]",
        (
            "value_date",
            "entry_date",
            "mark",
            "funds_code",
            "amount",
            "type",
            "code",
            "reference",
            "bank_reference",
            "details",
        ),
        StatementLine,
        _statement_line,
        _render_statement_line,
        (date_check("value_date", "Value date"), _line_61, amount_check(currency=None)),
        {"value_date": ("T50", "T50"), "mark": ("T51", "T51"), **AMOUNT},
    ),
)
