"""Checks of the ``business`` rule pack: what every payment message must get right.

Owns the checks that ``packs/business.yaml`` configures (issue #4, layer 1). They
implement:

* identifiers and codes, on the typed values found in the message
  (:attr:`Subject.values`): IBAN structure and check digits per country
  (ISO 13616-1, SWIFT IBAN registry, via ``schwifty``); BIC structure and country
  (ISO 9362:2022, via ``schwifty``; the BIC need not be in any bank directory);
  LEI check digits (ISO 17442, ISO 7064 MOD 97-10, via ``python-stdnum``); country
  codes (ISO 3166-1 alpha-2, via ``pycountry``); currency codes and their minor units
  (ISO 4217 list one, via ``iso4217``); amount digits (the ISO 20022
  ``ActiveOrHistoricCurrencyAndAmount`` facets); UETR format (UUID version 4);
* the message's own consistency as ISO 20022 defines it (pain.001, pacs.008), on
  the canonical events: NbOfTxs and CtrlSum of the group header and of every pain.001
  payment information block, TtlIntrBkSttlmAmt, unique InstrId / TxId / UETR /
  PmtInfId / EndToEndId, positive transaction amounts, execution and settlement
  dates within a window around receipt, and the charge bearer a service level
  implies.

Identifier checks are memoised per distinct value (a 10,000-transaction file
repeats a handful of BICs), IBANs take a fast path built on schwifty's registry
data, and event checks settle the clean case in bulk (see the events section):
the whole pack judges a 10,000-transaction pain.001 in about 0.1 s. Messages never
quote an IBAN in clear (:func:`gateway.masking.mask`).
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterator, Mapping
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from itertools import groupby
from typing import Any, cast

import iso4217
import pycountry
from schwifty import BIC, IBAN
from schwifty import exceptions as schwifty_errors
from schwifty import registry as schwifty_registry
from schwifty.domain import IBANSpec
from stdnum import lei as stdnum_lei
from stdnum.exceptions import ValidationError as StdnumError

from gateway.masking import mask
from gateway.rules.model import Hit, Subject, ValueKind, check

__all__ = [
    "COUNTRIES",
    "CURRENCIES",
    "bic_problem",
    "country_problem",
    "iban_problem",
    "lei_problem",
    "minor_units",
    "uetr_problem",
]

#: Kosovo: a user-assigned ISO 3166 code (not in ISO 3166-1, so not in pycountry),
#: but the code the SWIFT IBAN registry and BIC directory use for Kosovo.
KOSOVO = "XK"
#: ISO 3166-1 alpha-2 codes in force (pycountry), plus XK.
COUNTRIES: frozenset[str] = frozenset(c.alpha_2 for c in pycountry.countries) | {KOSOVO}
#: ISO 4217 list one (codes in force) -> minor unit; None where ISO gives none (N.A.).
CURRENCIES: Mapping[str, int | None] = {c.code: c.exponent for c in iso4217.Currency}

_IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Za-z0-9]{1,30}")
_BIC_SHAPE = re.compile(r"[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?")
_LEI_SHAPE = re.compile(r"[A-Z0-9]{18}[0-9]{2}")
_UUID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-([0-9a-fA-F])[0-9a-fA-F]{3}-([0-9a-fA-F])"
    r"[0-9a-fA-F]{3}-[0-9a-fA-F]{12}"
)
#: The UUIDv4Identifier pattern of ISO 20022 (lower-case UUID version 4).
_UETR = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
_DECIMAL = re.compile(r"[+-]?([0-9]*)(?:\.([0-9]*))?")
_CACHE = 16384


#: ISO 7064 MOD 97-10 letter values (A=10 ... Z=35, either case).
_LETTER_VALUES = {ord(ch): str(int(ch, 36)) for ch in string.ascii_letters}


@lru_cache(maxsize=512)
def _iban_spec(country: str) -> IBANSpec | None:
    try:
        return schwifty_registry.get_iban_spec(country)
    except schwifty_errors.SchwiftyException:
        return None


def _iban_passes(text: str) -> bool:
    """The acceptance test of schwifty's ``IBAN.validate`` (length and BBAN format of
    the country's registry entry, check digits) on the value as written, without
    building IBAN objects: about 2 us instead of 10 us, for files with 10,000
    distinct IBANs. Anything it refuses goes through schwifty itself for the diagnosis; a
    test keeps the two in agreement."""
    spec = _iban_spec(text[:2])
    if spec is None or len(text) != spec.iban_length or not spec.regex.match(text[4:]):
        return False
    remainder = int((text[4:] + text[:2]).translate(_LETTER_VALUES) + "00") % 97
    return f"{98 - remainder:02d}" == text[2:4]


def _iban_fast(text: str) -> bool:
    return _IBAN_SHAPE.fullmatch(text) is not None and _iban_passes(text)


@lru_cache(maxsize=_CACHE)
def iban_problem(text: str) -> str | None:
    """Why ``text`` is not an IBAN in electronic format, or None.

    The electronic format (ISO 13616-1) has no spaces and an upper-case country
    code; the print format ``DE89 3704 ...`` is refused. Letters in the BBAN follow
    the SWIFT IBAN registry: upper case where it says ``a``, either case where it
    says ``c`` (as the ISO 20022 IBAN2007Identifier pattern also allows). Countries
    schwifty lists as aspirational (IBANs in national use, not yet in the SWIFT
    registry: MA, SN, CI...) are accepted with the format schwifty gives them.
    """
    if not _IBAN_SHAPE.fullmatch(text):
        if any(ch.isspace() for ch in text):
            return "is written with spaces; the electronic format (ISO 13616-1) has none"
        return "does not have the shape of an IBAN (country code, 2 check digits, BBAN)"
    if _iban_passes(text):
        return None
    try:
        IBAN(text)
    except schwifty_errors.InvalidCountryCode:
        return f"country code {text[:2]} has no IBAN format in the SWIFT IBAN registry"
    except schwifty_errors.InvalidLength:
        return f"has {len(text)} characters; an IBAN of {text[:2]} has a different length"
    except schwifty_errors.InvalidChecksumDigits:
        return "check digits are incorrect (ISO 7064 MOD 97-10)"
    except schwifty_errors.SchwiftyException:
        return f"does not match the BBAN format of {text[:2]} (SWIFT IBAN registry)"
    # schwifty judged it upper-cased; the registry's format refuses it as written.
    return f"has lower-case letters where the BBAN format of {text[:2]} has upper case"


@lru_cache(maxsize=_CACHE)
def bic_problem(text: str) -> str | None:
    """Why ``text`` is not a BIC (ISO 9362:2022: 8 or 11 characters, letters and
    digits, a known country code), or None. A Kosovo BIC (country XK) is accepted."""
    try:
        BIC(text)
    except schwifty_errors.InvalidLength:
        return f"has {len(text)} characters; a BIC has 8 or 11"
    except schwifty_errors.InvalidCountryCode:
        # schwifty checks the length and structure first: only the country is left.
        if text[4:6] != KOSOVO:
            return f"country code {text[4:6]} is not an ISO 3166 country"
    except schwifty_errors.SchwiftyException:
        return "does not have the ISO 9362 structure (4 + 2 letters + 2 + optional 3)"
    if not _BIC_SHAPE.fullmatch(text):  # schwifty upper-cases and strips spaces first
        return "must be written in upper case without spaces"
    return None


@lru_cache(maxsize=_CACHE)
def lei_problem(text: str) -> str | None:
    """Why ``text`` is not an LEI (ISO 17442: 18 upper-case letters or digits and two
    check digits, ISO 7064 MOD 97-10), or None."""
    if not _LEI_SHAPE.fullmatch(text):
        return "does not have the shape of an LEI (20 characters: 18 letters or digits, 2 digits)"
    try:
        stdnum_lei.validate(text)
    except StdnumError:
        return "check digits are incorrect (ISO 7064 MOD 97-10)"
    return None


def country_problem(text: str) -> str | None:
    """Why ``text`` is not an ISO 3166-1 alpha-2 country code, or None.

    XK (Kosovo) is accepted: it is a user-assigned code, not part of ISO 3166-1, but
    the SWIFT IBAN registry and the BIC directory use it for Kosovo, so payments to
    and from Kosovo carry it in every country field.
    """
    return None if text in COUNTRIES else "is not an ISO 3166-1 alpha-2 country code"


def uetr_problem(text: str) -> str | None:
    """Why ``text`` is not a UETR, or None: a UUID version 4 (RFC 9562) in the lower
    case the ISO 20022 UUIDv4Identifier pattern and SWIFT gpi prescribe."""
    if _UETR.fullmatch(text):
        return None
    match = _UUID.fullmatch(text)
    if match is None:
        return "is not a UUID (8-4-4-4-12 hexadecimal digits)"
    if match.group(1) != "4":
        return f"is a UUID of version {match.group(1)}, not version 4"
    if match.group(2) not in "89abAB":
        return "is not an RFC 9562 UUID (variant digit must be 8, 9, a or b)"
    return "must be written in lower case"


def minor_units(currency: str) -> int | None:
    """The ISO 4217 minor unit of ``currency``; None when unknown or not defined."""
    return CURRENCIES.get(currency)


def _digits(text: str) -> tuple[int, int] | None:
    """(total, fraction) digits of a decimal as XSD counts them (value space: leading
    and trailing zeros do not count), or None when ``text`` is not a decimal."""
    match = _DECIMAL.fullmatch(text)
    if match is None or not (match.group(1) or match.group(2)):
        return None
    whole = match.group(1).lstrip("0")
    fraction = (match.group(2) or "").rstrip("0")
    return len(whole) + len(fraction), len(fraction)


# --------------------------------------------------------------------------- values


def _value_hits(
    subject: Subject,
    kind: ValueKind,
    problem: Callable[[str], str | None],
    label: str,
    passes: Callable[[str], object] | None = None,
) -> Iterator[Hit]:
    """Hits for the values of ``kind`` that have a ``problem``. ``passes``: a cheap,
    uncached acceptance test run once per distinct value before ``problem``."""
    texts = {value.text for value in subject.values if value.kind == kind}
    if passes is not None:
        texts = {text for text in texts if not passes(text)}
    suspects = {text for text in texts if problem(text) is not None}
    if not suspects:
        return
    for value in subject.values:
        if value.kind != kind or value.text not in suspects:
            continue
        found = problem(value.text)
        if found is not None:
            shown = mask(value.text) if kind == "iban" else value.text
            context = {} if kind == "iban" else {"value": value.text}
            yield Hit(
                f"{label} {shown!r}: {found}.",
                element=value.element,
                mt_tag=value.mt_tag,
                context=context,
            )


@check("iban", "Every IBAN has the structure, length and check digits of its country.")
def iban(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    return _value_hits(subject, "iban", iban_problem, "IBAN", passes=_iban_fast)


@check("bic", "Every BIC has the ISO 9362 structure and a valid country code.")
def bic(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    return _value_hits(subject, "bic", bic_problem, "BIC")


@check("lei", "Every LEI has the ISO 17442 structure and check digits.")
def lei(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    return _value_hits(subject, "lei", lei_problem, "LEI")


@check("country_code", "Every country code is an ISO 3166-1 alpha-2 code (or XK).")
def country_code(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    return _value_hits(subject, "country", country_problem, "Country code")


@check("uetr", "Every UETR is a lower-case UUID version 4.")
def uetr(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    seen: set[str] = set()
    for value in subject.of_kind("uetr"):
        seen.add(value.text)
        found = uetr_problem(value.text)
        if found is not None:
            yield Hit(
                f"UETR {value.text!r}: {found}.",
                element=value.element,
                mt_tag=value.mt_tag,
                context={"value": value.text},
            )
    if subject.document is not None:
        return  # MX: the values list every UETR element of the message
    # Formats whose values may not list the UETR (MT block 3 field 121) judge the event.
    for index, event in enumerate(subject.events):
        text = (event.get("ids") or {}).get("uetr")
        if isinstance(text, str) and text not in seen and (found := uetr_problem(text)):
            yield Hit(f"UETR {text!r}: {found}.", event=index, field="ids.uetr")


@check(
    "currency_code",
    "Every currency code (Ccy attributes and currency elements) is in ISO 4217 list one.",
    params={"exclude": "ISO 4217 codes that are still no payment currency, e.g. [XTS, XXX]"},
)
def currency_code(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    excluded = frozenset(params.get("exclude") or ())
    for value in subject.values:
        if value.kind == "currency":
            code, where = value.text, value.name
        elif value.kind == "amount" and value.currency is not None:
            code, where = value.currency, f"the Ccy of {value.name}"
        else:
            continue
        if code in CURRENCIES and code not in excluded:
            continue
        why = "is not a payment currency" if code in excluded else "is not an active ISO 4217 code"
        yield Hit(
            f"Currency {code!r} in {where} {why}.",
            element=value.element,
            mt_tag=value.mt_tag,
            context={"currency": code},
        )


@check(
    "minor_units",
    "No amount has more fraction digits than the minor unit of its currency (ISO 4217).",
)
def minor_units_check(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    """Decimals are counted as written ("15000.00 JPY" fails): the written form is what
    a receiver and an MT translation (field 32A) see. Currencies without a minor unit
    in ISO 4217 (XAU, XAG, XPT, XPD, XDR...: "N.A.") are quantities that may carry
    decimals; only ``amount_digits`` (5 fraction digits) limits them."""
    for value in subject.values:
        if value.kind != "amount":
            continue
        units = CURRENCIES.get(value.currency or "")
        if units is None:  # unknown (currency_code reports it) or no minor unit (XAU)
            continue
        written = len(value.text.partition(".")[2])
        if written > units:
            yield Hit(
                f"{value.name} {value.text} {value.currency} has {written} decimal(s); "
                f"{value.currency} has {units}.",
                element=value.element,
                mt_tag=value.mt_tag,
                context={"currency": value.currency, "minor_units": units, "decimals": written},
            )


@check(
    "amount_digits",
    "Every amount is a decimal within the ISO 20022 amount's total and fraction digits.",
    params={"total_digits": "maximum digits (default 18)", "fraction_digits": "default 5"},
)
def amount_digits(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    """Digits counted as XSD counts them (leading and trailing zeros are free): an
    XSD-valid MX amount always passes; this catches amounts from MT and other sources."""
    total_max = int(params.get("total_digits", 18))
    fraction_max = int(params.get("fraction_digits", 5))
    for value in subject.values:
        if value.kind != "amount":
            continue
        whole, _, fraction = value.text.partition(".")
        if (  # as written within the limits: its value is too (cheap test first)
            len(fraction) <= fraction_max
            and len(whole) + len(fraction) <= total_max
            and (whole + fraction).isascii()
            and (whole + fraction).isdigit()
        ):
            continue
        digits = _digits(value.text)
        if digits is None:
            problem = "is not a decimal number"
        elif digits[0] > total_max or digits[1] > fraction_max:
            problem = f"has {digits[0]} digits, {digits[1]} after the point"
        else:
            continue
        yield Hit(
            f"{value.name} {value.text!r} {problem}; at most {total_max} digits, "
            f"{fraction_max} after the point.",
            element=value.element,
            mt_tag=value.mt_tag,
            context={"value": value.text},
        )


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


@check(
    "date_window",
    "Execution and settlement dates lie within a window around the day of receipt.",
    params={
        "fields": "dotted canonical date fields (dates.<name>)",
        "past_days": "days before receipt still accepted (absent: no lower bound)",
        "future_days": "days after receipt still accepted (absent: no upper bound)",
    },
    required=("fields",),
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
    for field in map(str, params["fields"]):
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
