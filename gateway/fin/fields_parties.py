"""Party fields 50a, 52a-58a and 59a: format, checks, parse and render.

SWIFT Standards MT November 2025 field specifications of MT 103 / 103 STP, MT 202 /
202 COV (sequence B), MT 900 / 910:

=========================  ========================================================
options A (52a-58a)        ``[/1!a][/34x]`` + ``4!a2!a2!c[3!c]`` (party identifier,
                           Identifier Code)
options B / C / D          ``[/1!a][/34x]`` + ``[35x]`` (location) / ``/34x`` /
                           ``[/1!a][/34x]`` + ``4*35x`` (name and address)
50A, 59A / 50K, 59         ``[/34x]`` + Identifier Code / ``[/34x]`` + ``4*35x``
50F                        ``35x`` + ``4*35x`` with line formats (T54): line 1
                           ``/34x`` or ``4!a/2!a/27x``, then ``1!n/33x`` lines
59F                        ``[/34x]`` + ``4*(1!n/33x)``
=========================  ========================================================

Error codes (network validated rules): Identifier Codes T27/T29 (see
:mod:`gateway.fin.field_base`); 50F: line formats T54, party identifier code T55
(ARNU, CCPT, CUST, DRLC, EMPL, NIDN, SOSE, TXID), country codes T73, numbering T56;
59F: numbers 1-3, first line 1, ascending, 2 only with 3 (T56), country after the
first 3 (T73) - all confirmed in the MT 103 / 102 STP pages, except the 50F
numbering details (numbers 1-8, 4 and 5 only together, 4 a YYYYMMDD date, 5-7
starting with a country code), which follow the Standards MT 50F rules as we read
them. "Date of birth not later than the sending date" needs the sending date and is
not checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from gateway.fin.field_base import (
    BIC,
    Context,
    FieldSpec,
    Groups,
    Problem,
    bic_check,
    line_of,
)
from gateway.rules.codes import COUNTRIES

__all__ = ["PARTY_SPECS", "Party"]

PARTY_IDENTIFIER_CODES = frozenset({"ARNU", "CCPT", "CUST", "DRLC", "EMPL", "NIDN", "SOSE", "TXID"})
_X = r"[a-zA-Z0-9/\-?:().,'+ ]"
_ID_CODE = re.compile(rf"([A-Z]{{4}})/([A-Z]{{2}})/({_X}{{1,27}})")
_NUMBERED = re.compile(rf"([0-9])/({_X}{{1,33}})")
_COUNTRY_FIRST = re.compile(r"([A-Z]{2})(?:/.*)?")


@dataclass(frozen=True, slots=True)
class Party:
    """A party field, any option. ``account`` is written after its ``/`` (an IBAN,
    an account number, or a clearing code such as ``/FW123456789`` from ``//FW...``);
    ``dc_mark`` the ``/C`` or ``/D`` of options A, B, D of 52a-58a; option F lines
    are in ``structured`` as (number, details), other options' in ``name_address``."""

    account: str | None = None
    dc_mark: str | None = None
    bic: str | None = None
    name_address: tuple[str, ...] = ()
    location: str | None = None
    party_identifier: str | None = None
    structured: tuple[tuple[str, str], ...] = ()

    def _details(self, number: str) -> list[str]:
        return [details for n, details in self.structured if n == number]

    @property
    def name(self) -> str | None:
        if self.structured:
            return " ".join(self._details("1")) or None
        return self.name_address[0] if self.name_address else None

    @property
    def address_lines(self) -> tuple[str, ...]:
        if self.structured:
            return tuple(self._details("2"))
        return self.name_address[1:]

    @property
    def country(self) -> str | None:
        """The country of option F's first line 3 (``3/ES/MADRID`` -> ``ES``)."""
        towns = self._details("3")
        m = _COUNTRY_FIRST.fullmatch(towns[0]) if towns else None
        return m.group(1) if m else None

    @property
    def town(self) -> str | None:
        """Option F: the details after the country of the line(s) 3."""
        towns = self._details("3")
        if not towns or self.country is None:
            return None
        text = " ".join([towns[0][3:], *towns[1:]]).strip()
        return text or None


# ------------------------------------------------------------------ checks


def _numbering(numbers: Sequence[tuple[int, str]], allowed: str, base: int) -> Iterator[Problem]:
    """T56 rules on option F lines: (line index, number) pairs, ``base`` line offset."""
    seen: list[str] = []
    for index, number in numbers:
        if number not in allowed:
            message = f"Line number {number} is not one of {', '.join(allowed)}."
            yield Problem("T56", message, "name_address", base + index, 0)
        elif seen and number < seen[-1]:
            message = f"Line number {number} after {seen[-1]}: numbers must be in order."
            yield Problem("T56", message, "name_address", base + index, 0)
        seen.append(number)
    if seen and seen[0] != "1":
        yield Problem("T56", "The first line must start with number 1.", "name_address", base, 0)
    if "2" in seen and "3" not in seen:
        yield Problem("T56", "Number 2 must not be used without number 3.", "name_address", base, 0)
    if ("4" in seen) != ("5" in seen) and "5" in allowed:
        message = "Numbers 4 (date of birth) and 5 (place of birth) go together."
        yield Problem("T56", message, "name_address", base, 0)


def _country_first(details: str, what: str, line: int) -> Iterator[Problem]:
    m = _COUNTRY_FIRST.fullmatch(details)
    if m is None or m.group(1) not in COUNTRIES:
        message = f"{what} must start with a valid ISO country code."
        yield Problem("T73", message, "name_address", line, 0)


def _lines_f(lines: list[str], base: int, allowed: str) -> Iterator[Problem]:
    numbered: list[tuple[int, str]] = []
    third = False
    for index, line in enumerate(lines):
        m = _NUMBERED.fullmatch(line)
        if m is None:
            message = "Name and address lines must be 1!n/33x."
            yield Problem("T54", message, "name_address", base + index, 0)
            continue
        number, details = m.groups()
        numbered.append((index, number))
        if number == "3" and not third:
            third = True
            yield from _country_first(details, "The first line 3", base + index)
        elif number == "4" and "4" in allowed and not _yyyymmdd(details):
            message = "Number 4 must be followed by a date of birth YYYYMMDD."
            yield Problem("T50", message, "name_address", base + index, 0)
        elif number in "567" and number in allowed:
            yield from _country_first(details, f"Line {number}", base + index)
    yield from _numbering(numbered, allowed, base)


def _yyyymmdd(text: str) -> bool:
    if not (len(text) == 8 and text.isdigit()):
        return False
    try:
        date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return False
    return True


def _check_50f(m: re.Match[str], ctx: Context) -> Iterator[Problem]:
    first = m.group("party_identifier")
    if first == "/":
        yield Problem("T54", "Line 1 has a '/' and no account (/34x).", "party_identifier")
    elif not first.startswith("/"):
        ident = _ID_CODE.fullmatch(first)
        if ident is None:
            message = "Line 1 must be /account or code/country/identifier (4!a/2!a/27x)."
            yield Problem("T54", message, "party_identifier")
        else:
            code, country, _ = ident.groups()
            if code not in PARTY_IDENTIFIER_CODES:
                allowed = ", ".join(sorted(PARTY_IDENTIFIER_CODES))
                yield Problem("T55", f"Code {code} is not one of {allowed}.", "party_identifier")
            if country not in COUNTRIES:
                message = f"Country code {country} is not an ISO 3166 country."
                yield Problem("T73", message, "party_identifier")
    yield from _lines_f(m.group("name_address").split("\n"), 1, "12345678")


def _check_59f(m: re.Match[str], ctx: Context) -> Iterator[Problem]:
    base = line_of(m, "name_address")
    yield from _lines_f(m.group("name_address").split("\n"), base, "123")


# ------------------------------------------------------------------ parse / render


def _structured(lines: Sequence[str]) -> tuple[tuple[str, str], ...] | None:
    out = []
    for line in lines:
        if len(line) < 2 or not line[0].isdigit() or line[1] != "/":
            return None
        out.append((line[0], line[2:]))
    return tuple(out)


def _party(groups: Groups) -> Party:
    text = groups["name_address"]
    return Party(
        account=groups["account"],
        dc_mark=groups["dc"],
        bic=groups["bic"],
        name_address=tuple(text.split("\n")) if text is not None else (),
        location=groups["location"],
    )


def _party_f(groups: Groups) -> Party:
    party = _party(groups)
    first = groups["party_identifier"]
    if first is not None:  # 50F: line 1 is the account or the party identifier
        account, ident = (first[1:], None) if first.startswith("/") else (None, first)
        party = Party(account, None, None, party.name_address, None, ident)
    structured = _structured(party.name_address)
    if structured is None:
        return party
    return Party(party.account, None, None, (), None, party.party_identifier, structured)


def _first_line(v: Party) -> list[str]:
    line = (f"/{v.dc_mark}" if v.dc_mark else "") + (
        f"/{v.account}" if v.account is not None else ""
    )
    return [line] if line else []


def _lines(v: Party) -> list[str]:
    return [f"{n}/{d}" for n, d in v.structured] or list(v.name_address)


def _render_a(v: Party) -> str:
    return "\n".join([*_first_line(v), v.bic or ""])


def _render_b(v: Party) -> str:
    return "\n".join([*_first_line(v), *([v.location] if v.location is not None else [])])


def _render_d(v: Party) -> str:
    return "\n".join([*_first_line(v), *_lines(v)])


def _render_50f(v: Party) -> str:
    first = f"/{v.account}" if v.account is not None else v.party_identifier or ""
    return "\n".join([first, *_lines(v)])


_INST_A = ("[/1!a][/34x]$4!a2!a2!c[3!c]", ("dc", "account", *BIC))
_INST_B = ("[/1!a][/34x]$[35x]", ("dc", "account", "location"))
_INST_C = ("/34x", ("account",))
_INST_D = ("[/1!a][/34x]$4*35x", ("dc", "account", "name_address"))
_CUST_A = ("[/34x]$4!a2!a2!c[3!c]", ("account", *BIC))
_CUST_K = ("[/34x]$4*35x", ("account", "name_address"))
_BIC_CODES = {"bic": ("T27", "T27")}


def _spec(tag: str, title: str, form: tuple[str, tuple[str, ...]]) -> FieldSpec[Party]:
    notation, names = form
    if "bic" in names:
        return FieldSpec(
            tag, title, notation, names, Party, _party, _render_a, (bic_check(),), _BIC_CODES
        )
    render = _render_b if "location" in names else _render_d
    return FieldSpec(tag, title, notation, names, Party, _party, render)


_TITLES = {
    "52": "Ordering Institution",
    "53": "Sender's Correspondent",
    "54": "Receiver's Correspondent",
    "55": "Third Reimbursement Institution",
    "56": "Intermediary Institution",
    "57": "Account With Institution",
    "58": "Beneficiary Institution",
}
_OPTIONS = {"A": _INST_A, "B": _INST_B, "C": _INST_C, "D": _INST_D}
_INSTITUTIONS = {
    "52": "AD", "53": "ABD", "54": "ABD", "55": "ABD", "56": "ACD", "57": "ABCD", "58": "AD",
}  # fmt: skip

PARTY_SPECS: tuple[FieldSpec[Any], ...] = (
    _spec("50A", "Ordering Customer", _CUST_A),
    _spec("50K", "Ordering Customer", _CUST_K),
    FieldSpec(
        "50F",
        "Ordering Customer",
        "35x$4*35x",
        ("party_identifier", "name_address"),
        Party,
        _party_f,
        _render_50f,
        (_check_50f,),
    ),
    _spec("59", "Beneficiary Customer", _CUST_K),
    _spec("59A", "Beneficiary Customer", _CUST_A),
    FieldSpec(
        "59F",
        "Beneficiary Customer",
        "[/34x]$4*(1!n/33x)",
        ("account", "name_address"),
        Party,
        _party_f,
        _render_d,
        (_check_59f,),
    ),
    *(
        _spec(number + option, _TITLES[number], _OPTIONS[option])
        for number, options in _INSTITUTIONS.items()
        for option in options
    ),
)
