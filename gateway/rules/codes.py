"""Code-set checks of the ``business`` rule pack, on the typed values of a message.

Owns the identifier and code checks that ``packs/business.yaml`` configures (issue
#4, layer 1), run on :attr:`Subject.values` (every IBAN, BIC, LEI, country,
currency, amount and UETR the message carries, located by element or MT tag):
IBAN structure and check digits per country (ISO 13616-1, SWIFT IBAN registry, via
``schwifty``); BIC structure and country (ISO 9362:2022, via ``schwifty``; the BIC
need not be in any bank directory); LEI check digits (ISO 17442, ISO 7064 MOD 97-10,
via ``python-stdnum``); country codes (ISO 3166-1 alpha-2, via ``pycountry``);
currency codes and their minor units (ISO 4217 list one, via ``iso4217``); amount
digits (the ISO 20022 ``ActiveOrHistoricCurrencyAndAmount`` facets); UETR format
(UUID version 4). The checks on the message's own consistency are in
:mod:`gateway.rules.business`.

Identifier checks are memoised per distinct value (a 10,000-transaction file
repeats a handful of BICs) and IBANs take a fast path built on schwifty's registry
data. Messages never quote an IBAN in clear (:func:`gateway.masking.mask`).
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from typing import Any

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


#: IBANs that passed :func:`_iban_fast` (a set, emptied when full: cheaper than an LRU
#: for files of 10,000 distinct IBANs, and a hit for the few a sender repeats).
_IBANS_OK: set[str] = set()


def _iban_fast(text: str) -> bool:
    if text in _IBANS_OK:
        return True
    if _IBAN_SHAPE.fullmatch(text) is None or not _iban_passes(text):
        return False
    if len(_IBANS_OK) >= _CACHE:
        _IBANS_OK.clear()
    _IBANS_OK.add(text)
    return True


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
    values = subject.kinds(kind)
    if not values:
        return
    texts = {value.text for value in values}
    if passes is not None:
        texts = {text for text in texts if not passes(text)}
    suspects = {text for text in texts if problem(text) is not None}
    if not suspects:
        return
    for value in values:
        if value.text not in suspects:
            continue
        found = problem(value.text)
        if found is not None:
            shown = mask(value.text) if kind == "iban" else value.text
            context = {} if kind == "iban" else {"value": value.text}
            yield Hit(
                f"{label} {shown!r}: {found}.",
                element=value.element,
                mt_tag=value.mt_tag,
                line=value.line,
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
    for value in subject.kinds("uetr"):
        seen.add(value.text)
        found = uetr_problem(value.text)
        if found is not None:
            yield Hit(
                f"UETR {value.text!r}: {found}.",
                element=value.element,
                mt_tag=value.mt_tag,
                line=value.line,
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
    codes = {value.text for value in subject.kinds("currency")}
    codes.update(value.currency for value in subject.kinds("amount") if value.currency is not None)
    if all(code in CURRENCIES and code not in excluded for code in codes):
        return  # the usual case, decided per distinct code
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
            line=value.line,
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
    for value in subject.kinds("amount"):
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
                line=value.line,
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
    for value in subject.kinds("amount"):
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
            line=value.line,
            context={"value": value.text},
        )
