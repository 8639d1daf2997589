"""Building blocks of the MT field table: the spec of one field option, its problems,
and the checks and conversions that several field families share.

Sources: SWIFT *Standards MT General Information* (November 2025: dates ``YYMMDD``,
the decimal comma, the Business Identifier Code of ISO 9362) and the "Network
validated rules" of the field specifications of *Standards MT* Categories 1, 2 and
9 (MT 103, 103 STP, 202, 202 COV, 900, 910, 940, 950, n92, n95, n96, n99), which
give each rule its SWIFT error code:

* ``T50`` a date that is not a valid ``YYMMDD`` date;
* ``T52`` a currency that is not an ISO 4217 code; ``C08`` a commodity (XAU, XAG,
  XPD, XPT) in field 32A;
* ``T40``/``T43`` an amount without an integer digit or decimal comma / longer than
  its maximum (the handbook cites both for "integer part must contain at least one
  digit; a decimal comma is mandatory and is included in the maximum length"; which
  of the two covers which half is our reading); ``C03`` more decimals than the
  currency has (confirmed: the MT 416 field 19 rule cites C03 alone for it);
* ``T27``/``T28``/``T29``/``T45`` an Identifier Code that is not a registered BIC:
  we report ``T27`` for the structure and country code, ``T29`` for a branch code
  starting with ``X`` other than ``XXX`` (ISO 9362; the split between T27 and T29
  is our reading of FIN Error Codes, not confirmed); registration itself (T28,
  "not a valid destination", T45) needs the BIC directory and is not checked;
* ``T26`` a reference starting or ending with ``/`` or containing ``//``.

Years: SWIFT reads ``YY`` above 79 as 19YY and the others as 20YY.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Generic, TypeVar

from gateway.fin.notation import Matcher, compile_notation
from gateway.rules.codes import COUNTRIES, CURRENCIES

__all__ = [
    "AMOUNT",
    "BIC",
    "COMMODITIES",
    "CURRENCY",
    "DATE",
    "Check",
    "Context",
    "FieldSpec",
    "Groups",
    "Problem",
    "Text",
    "amount_check",
    "bic_check",
    "code_check",
    "currency_check",
    "date_check",
    "date_problem",
    "decimal_text",
    "iso_date",
    "line_of",
    "slash_check",
    "swift_date",
    "swift_decimal",
]

T = TypeVar("T")

#: Unit names of an Identifier Code ``4!a2!a2!c[3!c]``: one subfield ``bic``.
BIC = ("bic",) * 4
#: Subfield -> (error code of a format mismatch, error code when it is too long).
DATE = {"date": ("T50", "T50")}
CURRENCY = {"currency": ("T52", "T52")}
AMOUNT = {"amount": ("T40", "T43")}
COMMODITIES = frozenset({"XAU", "XAG", "XPD", "XPT"})

_DECIMAL = re.compile(r"([0-9]+),([0-9]*)")


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem in a field value: SWIFT error ``code``, ``message``, where it is
    (``subfield``, 0-based ``line`` and ``column`` in the value)."""

    code: str
    message: str
    subfield: str | None = None
    line: int = 0
    column: int | None = None


@dataclass(frozen=True, slots=True)
class Context:
    """What a check may know about the message: its id (``fin.103.STP``)."""

    message_id: str | None = None


Check = Callable[[re.Match[str], Context], Iterable[Problem]]


class Groups:
    """The subfields of a matched value, read from the value as written.

    Matching runs on the value with characters outside the X set replaced (they are
    reported once, by the text block's character-set check, and parsing stays
    lenient about them), so the spans of ``match`` index ``text`` one to one.
    """

    __slots__ = ("match", "text")

    def __init__(self, text: str, match: re.Match[str]) -> None:
        self.text, self.match = text, match

    def __getitem__(self, name: str) -> str | None:
        """Subfield ``name`` as written; None when absent or not in the notation."""
        if name not in self.match.re.groupindex:
            return None
        start, end = self.match.span(name)
        return None if start < 0 else self.text[start:end]

    def required(self, name: str) -> str:
        """A subfield the notation makes mandatory (present in every match)."""
        value = self[name]
        if value is None:
            raise KeyError(name)
        return value


@dataclass(frozen=True, slots=True, eq=False)
class FieldSpec(Generic[T]):
    """One field option: notation with subfield ``names`` (per unit, see
    :mod:`gateway.fin.notation`), error codes of a mismatch per subfield, the checks
    beyond the pattern, and the typed ``parse``/``render`` pair."""

    tag: str
    title: str
    notation: str
    names: tuple[str, ...]
    kind: type[T]
    parse: Callable[[Groups], T | None]
    render: Callable[[T], str]
    checks: tuple[Check, ...] = ()
    codes: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    matcher: Matcher = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "matcher", compile_notation(self.notation, self.names))


@dataclass(frozen=True, slots=True)
class Text:
    """A reference or narrative field (20, 21, 25, 70, 72, 79...): the text as written."""

    text: str

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n")


def line_of(m: re.Match[str], name: str) -> int:
    """The 0-based line of the value where subfield ``name`` starts."""
    return m.string.count("\n", 0, max(m.start(name), 0))


# --------------------------------------------------------------------- conversions


def _year(yy: int) -> int:
    return 1900 + yy if yy > 79 else 2000 + yy


def iso_date(yymmdd: str) -> str:
    """``"261126"`` -> ``"2026-11-26"`` (text only: an invalid date stays invalid)."""
    return f"{_year(int(yymmdd[:2]))}-{yymmdd[2:4]}-{yymmdd[4:6]}"


def swift_date(iso: str) -> str:
    """``"2026-11-26"`` -> ``"261126"``; ValueError for a year outside 1980-2079."""
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", iso) or not 1980 <= int(iso[:4]) <= 2079:
        raise ValueError(f"{iso!r} is not a YYYY-MM-DD date of 1980-2079")
    return iso[2:4] + iso[5:7] + iso[8:10]


def date_problem(yymmdd: str) -> str | None:
    """Why ``yymmdd`` is not a valid date, or None."""
    if not (len(yymmdd) == 6 and yymmdd.isascii() and yymmdd.isdigit()):
        return "is not six digits YYMMDD"
    try:
        date(_year(int(yymmdd[:2])), int(yymmdd[2:4]), int(yymmdd[4:]))
    except ValueError:
        return "is not a valid date (YYMMDD)"
    return None


def decimal_text(swift: str) -> str | None:
    """``"1000,50"`` -> ``"1000.50"``, ``"1000,"`` -> ``"1000"``; None when ``swift``
    is not a SWIFT decimal (integer digits, one comma, decimals)."""
    m = _DECIMAL.fullmatch(swift)
    if m is None:
        return None
    return f"{m.group(1)}.{m.group(2)}" if m.group(2) else m.group(1)


def swift_decimal(text: str) -> str:
    """``"1000.50"`` -> ``"1000,50"``, ``"1000"`` -> ``"1000,"`` (the inverse of
    :func:`decimal_text`); ValueError for anything but digits with an optional point."""
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", text):
        raise ValueError(f"{text!r} is not a decimal amount")
    whole, _, fraction = text.partition(".")
    return f"{whole},{fraction}"


# --------------------------------------------------------------------- shared checks


def date_check(name: str = "date", label: str = "Date") -> Check:
    def check(m: re.Match[str], ctx: Context) -> Iterator[Problem]:
        text = m.group(name)
        if text is not None and (why := date_problem(text)) is not None:
            yield Problem("T50", f"{label} {text} {why}.", name, line_of(m, name))

    return check


def currency_check(name: str = "currency", *, commodities: bool = True) -> Check:
    """T52: an ISO 4217 code; C08 (when ``commodities`` is False): no XAU/XAG/XPD/XPT."""

    def check(m: re.Match[str], ctx: Context) -> Iterator[Problem]:
        code = m.group(name)
        if code is None:
            return
        if code not in CURRENCIES:
            yield Problem(
                "T52", f"Currency {code} is not an ISO 4217 code.", name, line_of(m, name)
            )
        elif not commodities and code in COMMODITIES:
            message = f"Currency {code} is a commodity; category 6 messages carry these."
            yield Problem("C08", message, name, line_of(m, name))

    return check


def amount_check(name: str = "amount", currency: str | None = "currency") -> Check:
    """T40: integer digit and one decimal comma; C03: decimals of the currency."""

    def check(m: re.Match[str], ctx: Context) -> Iterator[Problem]:
        text = m.group(name)
        if text is None:
            return
        if _DECIMAL.fullmatch(text) is None:
            message = (
                f"Subfield {name} must have at least one integer digit and exactly one "
                "decimal comma."
            )
            yield Problem("T40", message, name, line_of(m, name))
            return
        code = m.group(currency) if currency else None
        units = CURRENCIES.get(code) if code else None
        decimals = len(text.partition(",")[2])
        if units is not None and decimals > units:
            message = f"{decimals} decimal(s) in subfield {name}; {code} has {units}."
            yield Problem("C03", message, name, line_of(m, name))

    return check


def bic_check(name: str = "bic") -> Check:
    """The country code of an Identifier Code (T27) and its branch code (T29); the
    notation already checked the 4!a2!a2!c[3!c] structure."""

    def check(m: re.Match[str], ctx: Context) -> Iterator[Problem]:
        bic = m.group(name)
        if bic is None:
            return
        if bic[4:6] not in COUNTRIES:
            message = f"BIC {bic}: country code {bic[4:6]} is not an ISO 3166 country."
            yield Problem("T27", message, name, line_of(m, name))
        if len(bic) == 11 and bic[8] == "X" and bic[8:] != "XXX":
            message = f"BIC {bic}: a branch code starting with X must be XXX (ISO 9362)."
            yield Problem("T29", message, name, line_of(m, name))

    return check


def code_check(name: str, codes: Collection[str], error: str, label: str = "Code") -> Check:
    def check(m: re.Match[str], ctx: Context) -> Iterator[Problem]:
        code = m.group(name)
        if code is not None and code not in codes:
            allowed = ", ".join(sorted(codes))
            message = f"{label} {code} is not one of {allowed}."
            yield Problem(error, message, name, line_of(m, name))

    return check


def slash_check(name: str | None = None) -> Check:
    """T26: no leading or trailing ``/`` and no ``//`` (the whole value, or ``name``)."""

    def check(m: re.Match[str], ctx: Context) -> Iterator[Problem]:
        text = m.string if name is None else m.group(name)
        if text and (text[0] == "/" or text[-1] == "/" or "//" in text):
            message = "A reference must not start or end with '/' nor contain '//'."
            yield Problem("T26", message, name)

    return check
