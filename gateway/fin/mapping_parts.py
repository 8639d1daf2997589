"""What an MT mapping file can read: sources and their *parts* (a closed vocabulary).

A source is one thing of the message a mapping rule reads, located by MT tag:

* a text-block **field** (``:50F:``), read through its typed value
  (:func:`gateway.fin.fields.parse_field`);
* a **code word** of a narrative field (``/ACC/`` in ``:72:``, ``/ROC/`` in ``:70:``):
  a line starting ``/CODE/``, with the ``//`` continuation lines after it appended as
  written (SWIFT Standards MT: "structured line formats" of 70, 72, 77B);
* a **block 3** tag (``{3:121}``);
* the **sender** or **receiver** of the message (block 1/2: SWIFT *FIN Service
  Description*; the same reading as :func:`gateway.fin.values.mt_header`).

Each kind of source has a fixed set of parts (:data:`PARTS`): name -> what it yields
(:class:`PartType`) and the *units* of the source it consumes. Units are what coverage
counts: a unit present in the message that no rule consumed is reported as
``mapping.unmapped`` (no silent data loss). Nothing here is evaluated from a file:
a mapping file names parts, this module implements them.

Party fields (50a, 52a-59a; Standards MT field specifications): the account line is an
IBAN (``iban``: IBAN shape and a country of the SWIFT IBAN registry), another account
(``account_other``), or a clearing code ``//XX...`` (``clearing_system`` ``XX``,
``clearing_id`` the rest; ``//CH`` is the CHIPS universal identifier, an account, as
the CBPR+ translation rules read it; ``//RT`` alone is the clearing channel RTGS).
Option F lines: ``1/`` name, ``2/`` address lines, ``3/`` country and town,
``4/``/``5/`` date and place of birth, ``6/`` customer and ``7/`` national
identification numbers (identifiers with scheme ``CUST`` / ``NIDN``), ``8/``
details that continue 6/7 (no canonical place: always reported).

Code words (SWIFT line format ``/4c/[supplement 1][/supplement 2]``, as the n96 field
76 answers and the n92 field 79 reasons use it: ``/RJCR/AC04``, ``/DUPL/``): a word
has up to three units, its ``code``, its ``reason`` (a supplement of four letters or
digits right after the code: ``AC04``) and its ``narrative`` (the rest of its text).
Parts ``code``, ``reason`` and ``narrative`` consume one unit each; ``text``, ``bic``
and ``name`` the reason and narrative (and the code when the rule selected the word by
its code, ``words: [ACC]``); ``word`` and ``lines`` (the word as written) all three.

The fields of account statements, notifications and the original-message references
(25a, 28C, 60a-65, 61, 13D, 11a) are read through the parts of
:mod:`gateway.fin.mapping_cash`, merged into :data:`PARTS`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from gateway.fin.field_base import Text
from gateway.fin.fields import Amount, Code, FieldValue, Party, Rate
from gateway.fin.mapping_cash import (
    CASH_KINDS,
    CASH_PARTS,
    CASH_UNITS,
    CashKind,
    canonical_decimal,
    cash_units,
)
from gateway.fin.values import looks_like_iban

__all__ = [
    "PARTS",
    "Kind",
    "Part",
    "PartType",
    "Word",
    "canonical_decimal",
    "describe_unit",
    "field_units",
    "is_bic",
    "kind_of",
    "party_units",
    "word_units",
    "words_of",
]

Kind = Literal["party", "amount", "rate", "code", "text", "word", "block3", "header"] | CashKind
#: What a part yields: a string, a list of strings, a boolean, or a canonical object
#: (``amount`` -> Amount, ``ids`` -> list of GenericId, ``birth`` -> DateAndPlaceOfBirth).
PartType = Literal["str", "list", "bool", "amount", "ids", "birth"]

_BIC = re.compile(r"[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?")
_CLEARING = re.compile(r"/([A-Z]{2})(.+)")
#: ``//RT``: "the instruction has to be executed via a real-time gross settlement system"
_RTGS = "/RT"
_WORD = re.compile(r"/([A-Z0-9]{1,8})/(.*)")
_ID_CODE = re.compile(r"([A-Z]{4})/([A-Z]{2})/(.+)")
_REASON = re.compile(r"([A-Z0-9]{4})(?:/(.*))?", re.DOTALL)


def is_bic(text: str) -> bool:
    """``text`` has the shape of a BIC (ISO 9362: 8 or 11 characters)."""
    return _BIC.fullmatch(text) is not None


@dataclass(frozen=True, slots=True)
class Word:
    """One code word of a narrative field: ``/ACC/PLEASE ADVISE`` + ``//BY PHONE`` is
    code ``ACC``, text ``PLEASE ADVISEBY PHONE`` (continuations appended as written:
    MT lines break at 35 characters, not between words). A line before any code word
    is a word without a code."""

    code: str | None
    text: str
    first: str | None = field(default=None, compare=False)  # the text on the code's line

    @property
    def written(self) -> str:
        return f"/{self.code}/{self.text}" if self.code is not None else self.text

    @property
    def reason(self) -> str | None:
        """``AC04`` of ``/RJCR/AC04`` or ``/RJCR/AC04/NARRATIVE``: four letters or digits
        alone on the code's line or before a ``/`` (coded words only)."""
        line = self.first if self.first is not None else self.text
        m = _REASON.fullmatch(line) if self.code is not None else None
        return m.group(1) if m is not None else None

    @property
    def narrative(self) -> str | None:
        """The text after the code and the reason, if any."""
        text = self.text
        if self.reason is not None:
            text = text[4:].removeprefix("/")
        return text.strip() or None


def word_units(word: Word) -> set[str]:
    """The units of one code word: ``code``, ``reason``, ``narrative`` when present."""
    present = {"code": word.code, "reason": word.reason, "narrative": word.narrative}
    return {unit for unit, value in present.items() if value is not None}


def words_of(text: str) -> tuple[Word, ...]:
    words: list[Word] = []
    for line in text.split("\n"):
        if line.startswith("//") and words:
            last = words[-1]
            words[-1] = Word(last.code, last.text + line[2:], last.first)
            continue
        m = _WORD.fullmatch(line)
        if m is not None:
            words.append(Word(m.group(1), m.group(2), m.group(2)))
        elif words and words[-1].code is None:
            words[-1] = Word(None, words[-1].text + "\n" + line)
        else:
            words.append(Word(None, line))
    return tuple(words)


# ------------------------------------------------------------------ party helpers


def _account(p: Party) -> str | None:
    """The account of a party field; for option F line 1 ``/34x`` only."""
    return p.account


def _clearing(p: Party) -> tuple[str, str] | None:
    account = _account(p)
    m = _CLEARING.fullmatch(account) if account else None
    if m is None or m.group(1) == "CH":
        return None
    return m.group(1), m.group(2)


def _clearing_channel(p: Party) -> str | None:
    return "RTGS" if _account(p) == _RTGS else None


def _plain_account(p: Party) -> str | None:
    account = _account(p)
    if account is None or account == _RTGS or _clearing(p) is not None:
        return None
    return account[1:] if account.startswith("/") else account  # //CH123456 -> CH123456


def _iban(p: Party) -> str | None:
    account = _account(p)  # "/..." (a // party identifier such as //CH) is never an IBAN
    if account and looks_like_iban(account):
        return account
    return None


def _account_other(p: Party) -> str | None:
    account = _plain_account(p)
    return account if account and _iban(p) is None else None


def _details(p: Party, number: str) -> list[str]:
    return [d for n, d in p.structured if n == number]


def _identifiers(p: Party) -> list[dict[str, Any]] | None:
    """50F line 1 ``CODE/CC/identifier`` and lines ``6/CC/issuer/id`` (CUST),
    ``7/CC/id`` (NIDN) as GenericId objects: scheme code, issuer country, id."""
    out: list[dict[str, Any]] = []
    m = _ID_CODE.fullmatch(p.party_identifier) if p.party_identifier else None
    if m is not None:
        out.append({"id": m.group(3), "scheme": {"code": m.group(1)}, "issuer": m.group(2)})
    for number, scheme in (("6", "CUST"), ("7", "NIDN")):
        for detail in _details(p, number):
            country, _, rest = detail.partition("/")
            out.append({"id": rest or detail, "scheme": {"code": scheme}, "issuer": country})
    return out or None


def _birth(p: Party) -> dict[str, Any] | None:
    dates, places = _details(p, "4"), _details(p, "5")
    out: dict[str, Any] = {}
    if dates and len(dates[0]) == 8 and dates[0].isdigit():
        out["birth_date"] = f"{dates[0][:4]}-{dates[0][4:6]}-{dates[0][6:]}"
    if places:
        country, _, city = places[0].partition("/")
        out["country"] = country
        if city:
            out["city"] = city
    return out or None


def _address_lines(p: Party) -> list[str] | None:
    return list(p.address_lines) or None


def party_units(p: Party) -> set[str]:
    """The units a party field carries (what coverage expects to be consumed)."""
    units: set[str] = set()
    if _clearing(p) is not None:
        units |= {"clearing_system", "clearing_id"}
    elif _clearing_channel(p) is not None:
        units.add("clearing_channel")
    elif _account(p) is not None:
        units.add("account")
    for unit, present in (
        ("dc_mark", p.dc_mark),
        ("bic", p.bic),
        ("name", p.name),
        ("address_lines", p.address_lines),
        ("country", p.country),
        ("town", p.town),
        ("location", p.location),
        ("identifiers", p.party_identifier or _details(p, "6") or _details(p, "7")),
        ("birth", _details(p, "4") or _details(p, "5")),
        ("details_8", _details(p, "8")),
    ):
        if present:
            units.add(unit)
    return units


# ------------------------------------------------------------------ the vocabulary


@dataclass(frozen=True, slots=True)
class Part:
    """One readable part: what it yields, the units it consumes, how to read it."""

    type: PartType
    units: tuple[str, ...]
    read: Callable[[Any], Any]


def _party(read: Callable[[Party], Any], kind: PartType, *units: str) -> Part:
    return Part(kind, units, lambda v: read(v) if isinstance(v, Party) else None)


def _amount_obj(v: Any) -> dict[str, str] | None:
    if not isinstance(v, Amount):
        return None
    return {"value": canonical_decimal(v.amount), "currency": v.currency}


def _text(v: Any) -> str | None:
    return v.text if isinstance(v, Text) else None


_WORD_TEXT = ("reason", "narrative")
_WORD_ALL = ("code", "reason", "narrative")


def _word(
    read: Callable[[Word], Any], units: tuple[str, ...] = _WORD_TEXT, kind: PartType = "str"
) -> Part:
    return Part(kind, units, lambda v: read(v) if isinstance(v, Word) else None)


def _cash(kind: CashKind) -> Mapping[str, Part]:
    return {name: Part(*spec) for name, spec in CASH_PARTS[kind].items()}


PARTS: Mapping[Kind, Mapping[str, Part]] = {
    "party": {
        "iban": _party(_iban, "str", "account"),
        "account_other": _party(_account_other, "str", "account"),
        "clearing_system": _party(lambda p: (_clearing(p) or (None,))[0], "str", "clearing_system"),
        "clearing_id": _party(lambda p: (_clearing(p) or (None, None))[1], "str", "clearing_id"),
        "clearing_channel": _party(_clearing_channel, "str", "clearing_channel"),
        "bic": _party(lambda p: p.bic, "str", "bic"),
        "name": _party(lambda p: p.name, "str", "name"),
        "address_lines": _party(_address_lines, "list", "address_lines"),
        "country": _party(lambda p: p.country, "str", "country"),
        "town": _party(lambda p: p.town, "str", "town"),
        "identifiers": _party(_identifiers, "ids", "identifiers"),
        "birth": _party(_birth, "birth", "birth"),
    },
    "amount": {
        "amount": Part("amount", ("value", "currency"), _amount_obj),
        "value": Part(
            "str",
            ("value",),
            lambda v: canonical_decimal(v.amount) if isinstance(v, Amount) else None,
        ),
        "currency": Part("str", ("currency",), lambda v: getattr(v, "currency", None)),
        "date": Part("str", ("date",), lambda v: getattr(v, "date", None)),
    },
    "rate": {
        "rate": Part(
            "str", ("rate",), lambda v: canonical_decimal(v.rate) if isinstance(v, Rate) else None
        ),
    },
    "code": {
        "code": Part("str", ("code",), lambda v: v.code if isinstance(v, Code) else None),
        "info": Part("str", ("info",), lambda v: v.info if isinstance(v, Code) else None),
    },
    "text": {
        # a text field's units are its words (see words_of): reading it whole consumes all
        "text": Part("str", ("*",), _text),
        "joined": Part(
            "str", ("*",), lambda v: v.text.replace("\n", "") if isinstance(v, Text) else None
        ),
        "lines": Part("list", ("*",), lambda v: v.lines if isinstance(v, Text) else None),
    },
    "word": {
        "text": _word(lambda w: w.text.strip() or None),
        "word": _word(lambda w: w.written, _WORD_ALL),
        "lines": _word(lambda w: w.written.split("\n"), _WORD_ALL, "list"),
        "code": _word(lambda w: w.code, ("code",)),
        "reason": _word(lambda w: w.reason, ("reason",)),
        "narrative": _word(lambda w: w.narrative, ("narrative",)),
        "bic": _word(lambda w: w.text if is_bic(w.text) else None),
        "name": _word(lambda w: w.text if w.text and not is_bic(w.text) else None),
    },
    "block3": {
        "text": Part("str", ("value",), lambda v: v.strip() if isinstance(v, str) else None)
    },
    "header": {"bic": Part("str", ("bic",), lambda v: v if isinstance(v, str) else None)},
    **{kind: _cash(kind) for kind in CASH_PARTS},
}


def kind_of(value_type: type[Any] | None) -> Kind | None:
    """The source kind of a field whose typed value is ``value_type`` (None: unsupported)."""
    kinds: dict[type[Any], Kind] = {
        Party: "party",
        Amount: "amount",
        Rate: "rate",
        Code: "code",
        Text: "text",
        **CASH_KINDS,
    }
    return kinds.get(value_type) if value_type is not None else "text"


def field_units(value: FieldValue | None, kind: Kind) -> set[str]:
    """The units a parsed field carries (text fields: see :func:`words_of`)."""
    if isinstance(value, Party):
        return party_units(value)
    if isinstance(value, Amount):
        return {"value", "currency"} | ({"date"} if value.date else set())
    if isinstance(value, Code):
        return {"code"} | ({"info"} if value.info is not None else set())
    if isinstance(value, Rate):
        return {"rate"}
    if isinstance(value, Text):
        words = words_of(value.text)
        return {f"word{i}.{unit}" for i, word in enumerate(words) for unit in word_units(word)}
    cash = cash_units(value)
    if cash is not None:
        return cash
    return {"value"} if kind == "text" else set()


_UNITS = {
    "dc_mark": "the D/C mark",
    "details_8": "line 8/",
    "location": "the location",
    "account": "the account",
    "address_lines": "the address lines",
    "clearing_system": "the clearing system",
    "clearing_id": "the clearing member id",
    "identifiers": "the identifiers",
    "birth": "the date and place of birth",
    **CASH_UNITS,
}


def describe_unit(unit: str, words: tuple[Word, ...], left: set[str]) -> str:
    """How coverage names a unit left: ``/BNF/`` for a code word (``the text of
    /RJCR/`` when only its text is left), ``the D/C mark`` for a party unit."""
    number, dot, _ = unit.partition(".")
    if dot and number[4:].isdigit() and int(number[4:]) < len(words):
        word = words[int(number[4:])]
        if word.code is None:
            return "text without a code word"
        return f"/{word.code}/" if f"{number}.code" in left else f"the text of /{word.code}/"
    return _UNITS.get(unit, f"the {unit}")
