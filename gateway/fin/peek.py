"""What the network rules read of a message: a view of its fields, and minimal readers
of the few values the rules compare.

The readers take the raw field text as transmitted and return ``None`` when the value
is not in the expected shape (the field format check reports that, with its T-code);
they never raise. They are kept to what :mod:`gateway.fin.network` needs:

* :func:`currency` - the ISO currency code of an amount field (32A, 33B, 71F, 71G) or a
  balance field (60a, 62a, 64, 65);
* :func:`code` - the leading code word of 23B, 23E, 71A;
* :func:`party_identifier` - whether a party field starts with a ``/`` line (its
  account or party identifier subfield);
* :func:`sender` / :func:`receiver` - the logical terminal addresses (BIC8 + LT code +
  branch) from blocks 1 and 2, and :func:`country` of such an address.

When the typed field parsers of :mod:`gateway.fin.fields` land, these become thin
adapters to them; nothing else in the rules reads field text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from gateway.mt import Field, MtMessage

__all__ = [
    "Context",
    "RuleInput",
    "Scope",
    "code",
    "country",
    "currency",
    "party_identifier",
    "receiver",
    "sender",
]

_AMOUNT_CCY = {
    "32A": re.compile(r"[0-9]{6}([A-Z]{3})"),  # 6!n3!a15d
    "33B": re.compile(r"([A-Z]{3})"),  # 3!a15d
    "71F": re.compile(r"([A-Z]{3})"),
    "71G": re.compile(r"([A-Z]{3})"),
}
_BALANCE_CCY = re.compile(r"[CD][0-9]{6}([A-Z]{3})")  # 1!a6!n3!a15d
_BALANCES = frozenset({"60", "62", "64", "65"})
_CODE = re.compile(r"[A-Z0-9]+")
_ADDRESS = re.compile(r"[A-Z]{6}[A-Z0-9]{2}")


def currency(f: Field) -> str | None:
    """``EUR`` from ``:32A:240131EUR1000,`` or ``:62F:C240131EUR1000,``."""
    pattern = _AMOUNT_CCY.get(f.tag) or (_BALANCE_CCY if f.number in _BALANCES else None)
    m = pattern.match(f.value) if pattern is not None else None
    return m.group(1) if m else None


def code(value: str, size: int) -> str | None:
    """The leading code word of ``size`` characters (``CRED`` of ``23B``, ``SDVA`` of
    ``23E:SDVA``, ``OUR`` of ``71A``); ``None`` when the field does not start with one."""
    m = _CODE.match(value)
    return m.group()[:size] if m and len(m.group()) >= size else None


def party_identifier(f: Field) -> bool:
    """The field's first line is a ``/`` account or party identifier (``/DE89...``)."""
    first = f.value.split("\n", 1)[0]
    return first.startswith("/") and len(first) > 1


def sender(message: MtMessage) -> str | None:
    """The sender's LT address: block 1 for an input message, the MIR of an output one."""
    b1, b2 = message.basic_header, message.app_header
    if b2 is not None and b2.direction == "O":
        return b2.sender or None
    return (b1.lt_address or None) if b1 is not None else None


def receiver(message: MtMessage) -> str | None:
    """The receiver's address: block 2 of an input message, block 1 of an output one."""
    b1, b2 = message.basic_header, message.app_header
    if b2 is not None and b2.direction == "I":
        return b2.receiver or None
    if b2 is not None and b2.direction == "O" and b1 is not None:
        return b1.lt_address or None
    return None


def country(address: str | None) -> str | None:
    """The ISO country code of a BIC or LT address (characters 5-6)."""
    if address is None or not _ADDRESS.match(address):
        return None
    return address[4:6]


# ------------------------------------------------------------------ the rules' view


@dataclass(frozen=True, slots=True)
class RuleInput:
    """What the rules read: the message (headers), its text block fields in order, and
    the fields placed in each sequence by the structure check (``{"A": ..., "B": ...}``)."""

    message: MtMessage
    fields: tuple[Field, ...]
    sequences: Mapping[str, tuple[Field, ...]] = field(default_factory=dict)


class Scope:
    """Fields of a message or a sequence; ``"56a"`` means any option of field 56."""

    def __init__(self, fields: tuple[Field, ...]) -> None:
        self.fields = fields

    def all(self, tag: str) -> list[Field]:
        if tag.endswith("a"):
            return [f for f in self.fields if f.number == tag[:2]]
        return [f for f in self.fields if f.tag == tag]

    def first(self, tag: str) -> Field | None:
        return next(iter(self.all(tag)), None)

    def has(self, tag: str) -> bool:
        return self.first(tag) is not None


class Context:
    """The message as the rules see it: all fields, each sequence, the usual codes."""

    def __init__(self, data: RuleInput) -> None:
        self.data = data
        self.all = Scope(data.fields)

    def seq(self, label: str) -> Scope:
        return Scope(self.data.sequences.get(label, ()))

    def code(self, tag: str, size: int) -> str | None:
        """The code word of the first ``tag`` field (``23B`` -> ``SPRI``)."""
        f = self.all.first(tag)
        return code(f.value, size) if f is not None else None

    def codes(self, tag: str, size: int) -> list[tuple[Field, str]]:
        """Each ``tag`` field with its code word (fields without one are left out)."""
        return [(f, c) for f in self.all.all(tag) if (c := code(f.value, size)) is not None]
