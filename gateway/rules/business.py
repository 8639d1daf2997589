"""Consistency checks of the ``business`` rule pack, on the canonical events.

Owns the checks of ``packs/business.yaml`` (issue #4, layer 1) that read the
message's transactions as the mapping produced them, as ISO 20022 defines pain.001
and pacs.008: NbOfTxs and CtrlSum of the group header and of every pain.001 payment
information block, TtlIntrBkSttlmAmt, unique InstrId / TxId / UETR / PmtInfId /
EndToEndId, positive transaction amounts, execution and settlement dates within a
window around receipt, and the charge bearer a service level implies. The code-set
checks (IBAN, BIC, LEI, country, currency, amount digits, UETR) are in
:mod:`gateway.rules.codes`.

Event checks settle the clean case in bulk (see below): with the code-set checks, the
whole pack judges a 10,000-transaction pain.001 in about 0.1 s.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from itertools import groupby
from typing import Any, cast

from gateway.rules.model import Hit, Subject, check, int_param

__all__: list[str] = []

# --------------------------------------------------------------------------- events
#
# Where they can, checks read one column of the events with a list comprehension and
# decide the clean case with set operations, walking the events one by one only to
# locate hits: a clean 10,000-transaction file costs a few milliseconds per check.

#: The amount a transaction moves: pacs.008 the interbank settlement amount, pain.001
#: the instructed amount or (Amt is a choice) the equivalent amount.
_TX_AMOUNTS = ("interbank_settlement", "instructed", "equivalent")
#: First digit of a canonical decimal string that is certainly above zero.
_LEADING = frozenset("123456789")


def _decimal(text: object) -> Decimal | None:
    try:
        return Decimal(str(text)) if text is not None else None
    except InvalidOperation:
        return None


def _column(events: list[dict[str, Any]], part: str, name: str) -> list[Any]:
    """``event[part][name]`` of every event (None where absent)."""
    return [(event.get(part) or {}).get(name) for event in events]


def _tx_amounts(events: list[dict[str, Any]]) -> list[Decimal | None]:
    """Per event, the amount it moves (None where the mapping could not read one)."""
    texts = [  # (one-item tuple: binds ``amount`` inside the comprehension)
        amount.get("value") if amount else None
        for amounts in (event.get("amounts") or {} for event in events)
        for amount in (
            amounts.get("interbank_settlement")
            or amounts.get("instructed")
            or amounts.get("equivalent"),
        )
    ]
    try:  # canonical amounts are decimal strings
        return [Decimal(text) if text is not None else None for text in texts]
    except (InvalidOperation, TypeError):
        return [_decimal(text) for text in texts]


def _blocks(events: list[dict[str, Any]]) -> list[tuple[int, int, Mapping[str, Any]]]:
    """pain.001 payment information blocks as (first event, end, block data).

    Events of one block are contiguous and carry equal ``payment_information``; two
    adjacent blocks with the same id, NbOfTxs and CtrlSum are indistinguishable and
    count as one (their NbOfTxs then fails)."""
    blocks: list[tuple[int, int, Mapping[str, Any]]] = []
    start = 0
    for info, members in groupby(event.get("payment_information") for event in events):
        size = sum(1 for _ in members)
        if info:
            blocks.append((start, start + size, info))
        start += size
    return blocks


def _group(subject: Subject) -> Mapping[str, Any]:
    return (subject.events[0].get("group") or {}) if subject.events else {}


def _spans(subject: Subject) -> list[tuple[int, int, Mapping[str, Any], str, str]]:
    """The group header and every payment information block: (first event, end, data,
    canonical prefix, label)."""
    spans = [(0, len(subject.events), _group(subject), "group", "group header")]
    spans += [
        (start, end, info, "payment_information", f"payment information {info.get('id')!r}")
        for start, end, info in _blocks(subject.events)
    ]
    return spans


@check(
    "amount_positive",
    "The amount each transaction moves is greater than zero.",
    params={"fields": "amount fields (default: interbank_settlement, instructed, equivalent)"},
)
def amount_positive(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    names = frozenset(str(f).removeprefix("amounts.") for f in params.get("fields") or _TX_AMOUNTS)
    for index, event in enumerate(subject.events):
        for name, amount in (event.get("amounts") or {}).items():
            if name not in names or not amount or _clearly_positive(amount.get("value")):
                continue
            value = _decimal(amount.get("value"))
            if value is not None and value <= 0:  # not a number: amount_digits reports it
                yield Hit(
                    f"amounts.{name} is {amount.get('value')} {amount.get('currency')}; a "
                    "transaction must move more than zero.",
                    event=index,
                    field=f"amounts.{name}",
                    context={"value": str(amount.get("value"))},
                )


def _clearly_positive(text: object) -> bool:
    """A canonical decimal string such as "1250.00" or "0.50" (cheap string test)."""
    if not isinstance(text, str) or "-" in text:
        return False
    digits = text.lstrip("+").lstrip("0.")
    return bool(digits) and digits[0] in _LEADING


@check(
    "number_of_transactions",
    "NbOfTxs of the group header and of each payment information block counts its "
    "transactions (only when the events are the complete transaction list).",
)
def number_of_transactions(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    if not subject.mapped or not subject.events:
        return
    for start, end, data, prefix, label in _spans(subject):
        stated = data.get("number_of_transactions")
        text = str(stated)
        if stated is None or (text.isascii() and text.isdigit() and int(text) == end - start):
            continue
        yield Hit(
            f"NbOfTxs of the {label} is {stated}, but it holds {end - start} transaction(s).",
            event=start,
            field=f"{prefix}.number_of_transactions",
            context={"stated": str(stated), "counted": end - start},
        )


@check(
    "control_sum",
    "CtrlSum of the group header and of each payment information block equals the sum of "
    "its transaction amounts (pacs.008 IntrBkSttlmAmt, pain.001 InstdAmt or EqvtAmt), "
    "irrespective of currencies.",
)
def control_sum(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    if not subject.mapped or not subject.events:
        return
    spans = [span for span in _spans(subject) if span[2].get("control_sum") is not None]
    if not spans:
        return
    amounts = _tx_amounts(subject.events)
    for start, end, data, prefix, label in spans:
        stated = _decimal(data.get("control_sum"))
        parts = amounts[start:end]
        if stated is None or None in parts:
            continue  # an amount the mapping could not read: nothing to compare
        total = sum(cast(list[Decimal], parts), Decimal(0))  # no None left
        if total != stated:
            yield Hit(
                f"CtrlSum of the {label} is {data.get('control_sum')}, but its "
                f"{end - start} transaction amount(s) add up to {total}.",
                event=start,
                field=f"{prefix}.control_sum",
                context={"stated": str(data.get("control_sum")), "computed": str(total)},
            )


@check(
    "total_settlement_amount",
    "TtlIntrBkSttlmAmt equals the sum of the interbank settlement amounts, in their currency.",
)
def total_settlement_amount(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    total = _group(subject).get("total_interbank_settlement_amount") if subject.mapped else None
    if not total:
        return
    field = "group.total_interbank_settlement_amount"
    currency = total.get("currency")
    column = _column(subject.events, "amounts", "interbank_settlement")
    if None in column:
        return  # an amount the mapping could not read: nothing to compare
    for index, amount in enumerate(column):
        if amount.get("currency") != currency:
            yield Hit(
                f"TtlIntrBkSttlmAmt is in {currency}, but transaction {index + 1} settles in "
                f"{amount.get('currency')}.",
                event=0,
                field=field,
                context={"currency": currency, "transaction_currency": amount.get("currency")},
            )
            return
    values = [_decimal(amount.get("value")) for amount in column]
    stated = _decimal(total.get("value"))
    if stated is None or None in values:
        return
    computed = sum(cast(list[Decimal], values), Decimal(0))
    if computed != stated:
        yield Hit(
            f"TtlIntrBkSttlmAmt is {total.get('value')} {currency}, but the interbank "
            f"settlement amounts add up to {computed} {currency}.",
            event=0,
            field=field,
            context={"stated": str(total.get("value")), "computed": str(computed)},
        )


@check(
    "duplicate_ids",
    "No two transactions of the message carry the same value in a listed identifier field.",
    params={
        "fields": "dotted canonical fields of the form ids.<name>",
        "ignore": "values that are no reference (e.g. NOTPROVIDED)",
    },
    required=("fields",),
)
def duplicate_ids(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    """Repeated identifiers. The pack makes InstrId, TxId and UETR errors (ISO 20022:
    the instructing party's point-to-point reference, the first instructing agent's
    reference, a universally unique id) and EndToEndId a warning: ISO 20022 makes it
    the initiating party's own reference, which no agent relies on being unique, and
    the EPC rulebooks send NOTPROVIDED when the originator gives none."""
    ignore = frozenset(params.get("ignore") or ())
    for field in map(str, params["fields"]):
        column = _column(subject.events, "ids", field.removeprefix("ids."))
        present = [value for value in column if value and value not in ignore]
        if len(set(present)) == len(present):
            continue  # no value repeats: the usual case, decided without a Python loop
        first: dict[str, int] = {}
        for index, value in enumerate(column):
            if not value or value in ignore:
                continue
            seen = first.setdefault(value, index)
            if seen != index:
                yield Hit(
                    f"{field} {value!r} of transaction {index + 1} repeats that of "
                    f"transaction {seen + 1}.",
                    event=index,
                    field=field,
                    context={"value": value, "first_transaction_index": seen},
                )


@check(
    "duplicate_payment_information_id",
    "No two payment information blocks of the message share a PmtInfId.",
)
def duplicate_payment_information_id(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    first: dict[str, int] = {}
    for start, _end, info in _blocks(subject.events):
        block_id = info.get("id")
        if not block_id:
            continue
        seen = first.setdefault(block_id, start)
        if seen != start:
            yield Hit(
                f"PmtInfId {block_id!r} is used by more than one payment information block.",
                event=start,
                field="payment_information.id",
                context={"value": block_id, "first_transaction_index": seen},
            )


@lru_cache(maxsize=1024)
def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def _window(params: Mapping[str, Any]) -> None:
    int_param(params, "past_days")
    int_param(params, "future_days")


@check(
    "date_window",
    "Execution and settlement dates lie within a window around the day of receipt.",
    params={
        "fields": "dotted canonical date fields (dates.<name>)",
        "past_days": "days before receipt still accepted (absent: no lower bound)",
        "future_days": "days after receipt still accepted (absent: no upper bound)",
    },
    required=("fields",),
    validate=_window,
)
def date_window(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    """Dates compared by calendar day (a date-time by its own local date) with the UTC
    day of receipt; a day's difference of time zone is lost in any sensible window.
    The pack makes both directions warnings: real and replayed messages are old, and
    their verdict is the schema's. Dates that do not parse are the XSD's to report."""
    if subject.received_at is None:
        return
    today = subject.received_at.date()
    past, future = params.get("past_days"), params.get("future_days")
    earliest = today - timedelta(days=int(past)) if past is not None else date.min
    latest = today + timedelta(days=int(future)) if future is not None else date.max
    dates = [event.get("dates") or {} for event in subject.events]
    fields = [str(field) for field in params["fields"]]
    names = [field.removeprefix("dates.") for field in fields]
    every = {entry.get(name) for entry in dates for name in names}
    if not any(
        text and (day := _date(text)) is not None and not earliest <= day <= latest
        for text in every
    ):
        return  # the usual case: every date within the window, decided once
    for field in fields:
        name = field.removeprefix("dates.")
        # A pain.001 block shares one date: judge each distinct date once.
        outside = {
            text
            for text in {entry.get(name) for entry in dates}
            if text and (day := _date(text)) is not None and not earliest <= day <= latest
        }
        column = [entry.get(name) for entry in dates] if outside else []
        for text in sorted(outside):
            index = column.index(text)
            off = (cast(date, _date(text)) - today).days
            if off < 0:
                where, limit = f"{-off} days before", f"at most {past} days before"
            else:
                where, limit = f"{off} days after", f"at most {future} days after"
            yield Hit(
                f"{field} {text} is {where} the day of receipt ({today}); accepted: {limit}.",
                event=index,
                field=field,
                context={
                    "date": text,
                    "received": today.isoformat(),
                    "transactions": column.count(text),
                },
            )


@check(
    "charge_bearer",
    "The charge bearer is one the transaction's service level (ISO code) allows.",
    params={"by_service_level": "service level code -> allowed charge bearers"},
    required=("by_service_level",),
)
def charge_bearer(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    """The generic rule: a service level code (ExternalServiceLevel1Code) that fixes the
    charges fixes the charge bearer; the pack gives SEPA -> SLEV (EPC SCT and SCT Inst).
    A proprietary service level or an absent ChrgBr is left alone."""
    allowed = {str(k): frozenset(v) for k, v in params["by_service_level"].items()}
    bearers = [event.get("charge_bearer") for event in subject.events]
    levels = _column(subject.events, "payment_type", "service_level")
    pairs = {
        (bearer, level.get("code"))
        for bearer, listed in zip(bearers, levels, strict=True)
        if bearer and listed
        for level in listed
    }
    if not any(code in allowed and bearer not in allowed[code] for bearer, code in pairs):
        return
    for index, (bearer, listed) in enumerate(zip(bearers, levels, strict=True)):
        if not bearer or not listed:
            continue
        for level in listed:
            code = level.get("code")
            if code in allowed and bearer not in allowed[code]:
                yield Hit(
                    f"Charge bearer {bearer} does not fit service level {code}, which "
                    f"allows {', '.join(sorted(allowed[code]))}.",
                    event=index,
                    field="charge_bearer",
                    context={"charge_bearer": bearer, "service_level": code},
                )
                break
