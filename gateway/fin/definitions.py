"""Message definitions of the supported SWIFT MT types, as data.

SWIFT Standards MT, release SR 2025 (November 2025; the field tables of these types
have not changed since SR 2020): *Category 1 - Customer Payments*, *Category 2 - Financial
Institution Transfers*, *Category 9 - Cash Management* and *Category n - Common Group
Messages* Message Reference Guides, section "Format Specifications" of each type.
Cross-checked against the public User Handbook pages (MT 103 STP, MT 202 COV, MT n92/n95/
n96 field specifications on iso20022.org/15022/uhb) and open-source MT models
(prowide-core, swift-mt-message); no table was copied, every entry was written here.

Each definition is the type's field table in order: status (``M``/``O``), tag in the
SWIFT notation (``20``, ``32A``, ``50a`` with its letter options), name, and whether the
field repeats (``----->`` in the handbook). Sequences (MT 202 COV A/B, the MT 940
statement line) are nested tables. :mod:`gateway.fin.messages` compiles these tables and
matches a message's fields against them; nothing here is code beyond the constructors.

Keys are the canonical :class:`~gateway.messages.MessageId` strings: ``fin.103``,
``fin.103.STP`` (block 3 ``{119:STP}``), ``fin.202.COV`` ...
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "DEFINITIONS",
    "AnyFields",
    "FieldSpec",
    "Item",
    "MessageDefinition",
    "SequenceSpec",
]

Status = Literal["M", "O"]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One row of a format table: ``O 53a Sender's Correspondent A, B, D``.

    ``options`` are the letter options the row allows (``""`` = the field without a
    letter, ``59`` as opposed to ``59A``); ``max_count`` ``None`` = repetitive.
    """

    tag: str  # as in the handbook: "20", "32A", "50a"
    name: str
    options: tuple[str, ...]
    mandatory: bool
    max_count: int | None = 1

    @property
    def number(self) -> str:
        return self.tag[:2]

    def accepts(self, tag: str) -> bool:
        """``tag`` as transmitted (``"50K"``) is this row in an allowed option."""
        return tag[:2] == self.number and tag[2:] in self.options

    @property
    def tags(self) -> tuple[str, ...]:
        """The transmitted tags this row allows: ``("50A", "50F", "50K")``."""
        return tuple(self.number + o for o in self.options)


@dataclass(frozen=True, slots=True)
class AnyFields:
    """MT n92/n95/n96 "Copy of at least the mandatory fields of the original message":
    any field but ``excluded`` (77F, 77T), in any number (network rule of the field)."""

    name: str
    excluded: tuple[str, ...] = ("77F", "77T")
    mandatory: bool = False
    label: str = "Copy"  # the copied fields count as a sequence of this label

    def accepts(self, tag: str) -> bool:
        return tag not in self.excluded


@dataclass(frozen=True, slots=True)
class SequenceSpec:
    """A (possibly repetitive) sequence of rows, ``label`` as the handbook names it."""

    label: str  # "A", "B", "Statement line"
    name: str
    items: tuple[Item, ...]
    mandatory: bool
    max_count: int | None = 1

    @property
    def location(self) -> str:
        return f"Sequence {self.label}" if len(self.label) == 1 else self.label


Item = FieldSpec | SequenceSpec | AnyFields


@dataclass(frozen=True, slots=True)
class MessageDefinition:
    """One message type: its canonical id, its handbook title, its field table."""

    message_id: str
    name: str
    items: tuple[Item, ...]


# ----------------------------------------------------------------------- constructors
# M(...) and O(...) read like the Status column of the handbook's format tables.


def _row(status: Status, tag: str, name: str, options: str, repeat: bool) -> FieldSpec:
    if tag[2:] == "a":  # letter options given in ``options``; "-" = no letter
        letters = tuple("" if o == "-" else o for o in options.split())
    else:
        letters = (tag[2:],)
    return FieldSpec(tag, name, letters, status == "M", None if repeat else 1)


def M(tag: str, name: str, options: str = "", *, repeat: bool = False) -> FieldSpec:
    return _row("M", tag, name, options, repeat)


def O(tag: str, name: str, options: str = "", *, repeat: bool = False) -> FieldSpec:  # noqa: E743
    return _row("O", tag, name, options, repeat)


def _seq(status: Status, label: str, name: str, *items: Item, repeat: bool = False) -> SequenceSpec:
    return SequenceSpec(label, name, items, status == "M", None if repeat else 1)


_COPY = AnyFields("Copy of at least the Mandatory Fields of the Original Message")

# ---------------------------------------------------------------------- category 1

_MT103_HEAD = (
    M("20", "Sender's Reference"),
    O("13C", "Time Indication", repeat=True),
    M("23B", "Bank Operation Code"),
    O("23E", "Instruction Code", repeat=True),
    O("26T", "Transaction Type Code"),
    M("32A", "Value Date/Currency/Interbank Settled Amount"),
    O("33B", "Currency/Instructed Amount"),
    O("36", "Exchange Rate"),
    M("50a", "Ordering Customer", "A F K"),
)
_MT103_CHARGES = (
    M("71A", "Details of Charges"),
    O("71F", "Sender's Charges", repeat=True),
    O("71G", "Receiver's Charges"),
    O("72", "Sender to Receiver Information"),
    O("77B", "Regulatory Reporting"),
)
_MT103_PARTIES = (
    O("51A", "Sending Institution"),
    O("52a", "Ordering Institution", "A D"),
    O("53a", "Sender's Correspondent", "A B D"),
    O("54a", "Receiver's Correspondent", "A B D"),
    O("55a", "Third Reimbursement Institution", "A B D"),
    O("56a", "Intermediary Institution", "A C D"),
    O("57a", "Account With Institution", "A B C D"),
    M("59a", "Beneficiary Customer", "- A F"),
)

MT103 = MessageDefinition(
    "fin.103",
    "MT 103 Single Customer Credit Transfer",
    (*_MT103_HEAD, *_MT103_PARTIES, O("70", "Remittance Information"), *_MT103_CHARGES),
)

# MT 103 STP: a compatible subset of the core MT 103 (block 3 {119:STP}): no 51A;
# 52, 54, 55, 56, 57 only with option A; 53 with A or B.
MT103_STP = MessageDefinition(
    "fin.103.STP",
    "MT 103 STP Single Customer Credit Transfer",
    (
        *_MT103_HEAD,
        O("52A", "Ordering Institution"),
        O("53a", "Sender's Correspondent", "A B"),
        O("54A", "Receiver's Correspondent"),
        O("55A", "Third Reimbursement Institution"),
        O("56A", "Intermediary Institution"),
        O("57A", "Account With Institution"),
        M("59a", "Beneficiary Customer", "- A F"),
        O("70", "Remittance Information"),
        *_MT103_CHARGES,
    ),
)

# MT 103 REMIT (block 3 {119:REMIT}): the core MT 103 without field 70, with the
# mandatory 77T Envelope Contents last.
MT103_REMIT = MessageDefinition(
    "fin.103.REMIT",
    "MT 103 REMIT Single Customer Credit Transfer",
    (*_MT103_HEAD, *_MT103_PARTIES, *_MT103_CHARGES, M("77T", "Envelope Contents")),
)

# ---------------------------------------------------------------------- category 2

_MT202_FIELDS = (
    M("20", "Transaction Reference Number"),
    M("21", "Related Reference"),
    O("13C", "Time Indication", repeat=True),
    M("32A", "Value Date, Currency Code, Amount"),
    O("52a", "Ordering Institution", "A D"),
    O("53a", "Sender's Correspondent", "A B D"),
    O("54a", "Receiver's Correspondent", "A B D"),
    O("56a", "Intermediary", "A D"),
    O("57a", "Account With Institution", "A B D"),
    M("58a", "Beneficiary Institution", "A D"),
    O("72", "Sender to Receiver Information"),
)

MT202 = MessageDefinition("fin.202", "MT 202 General Financial Institution Transfer", _MT202_FIELDS)

MT202_COV = MessageDefinition(
    "fin.202.COV",
    "MT 202 COV General Financial Institution Transfer (cover)",
    (
        _seq("M", "A", "General Information", *_MT202_FIELDS),
        _seq(
            "M",
            "B",
            "Underlying Customer Credit Transfer Details",
            M("50a", "Ordering Customer", "A F K"),
            O("52a", "Ordering Institution", "A D"),
            O("56a", "Intermediary Institution", "A C D"),
            O("57a", "Account With Institution", "A B C D"),
            M("59a", "Beneficiary Customer", "- A F"),
            O("70", "Remittance Information"),
            O("72", "Sender to Receiver Information"),
            O("33B", "Currency/Instructed Amount"),
        ),
    ),
)

# ---------------------------------------------------------------------- category 9

MT900 = MessageDefinition(
    "fin.900",
    "MT 900 Confirmation of Debit",
    (
        M("20", "Transaction Reference Number"),
        M("21", "Related Reference"),
        M("25a", "Account Identification", "- P"),
        O("13D", "Date/Time Indication"),
        M("32A", "Value Date, Currency Code, Amount"),
        O("52a", "Ordering Institution", "A D"),
        O("72", "Sender to Receiver Information"),
    ),
)

MT910 = MessageDefinition(
    "fin.910",
    "MT 910 Confirmation of Credit",
    (
        M("20", "Transaction Reference Number"),
        M("21", "Related Reference"),
        M("25a", "Account Identification", "- P"),
        O("13D", "Date/Time Indication"),
        M("32A", "Value Date, Currency Code, Amount"),
        O("50a", "Ordering Customer", "A F K"),
        O("52a", "Ordering Institution", "A D"),
        O("56a", "Intermediary", "A D"),
        O("72", "Sender to Receiver Information"),
    ),
)

MT940 = MessageDefinition(
    "fin.940",
    "MT 940 Customer Statement Message",
    (
        M("20", "Transaction Reference Number"),
        O("21", "Related Reference"),
        M("25a", "Account Identification", "- P"),
        M("28C", "Statement Number/Sequence Number"),
        M("60a", "Opening Balance", "F M"),
        _seq(
            "O",
            "Statement line",
            "Statement Line and its Information to Account Owner",
            M("61", "Statement Line"),
            O("86", "Information to Account Owner"),
            repeat=True,
        ),
        M("62a", "Closing Balance (Booked Funds)", "F M"),
        O("64", "Closing Available Balance (Available Funds)"),
        O("65", "Forward Available Balance", repeat=True),
        O("86", "Information to Account Owner"),
    ),
)

MT950 = MessageDefinition(
    "fin.950",
    "MT 950 Statement Message",
    (
        M("20", "Transaction Reference Number"),
        M("25", "Account Identification"),
        M("28C", "Statement Number/Sequence Number"),
        M("60a", "Opening Balance", "F M"),
        O("61", "Statement Line", repeat=True),
        M("62a", "Closing Balance (Booked Funds)", "F M"),
        O("64", "Closing Available Balance (Available Funds)"),
        O("65", "Forward Available Balance", repeat=True),
    ),
)

# ------------------------------------------------------- common group (categories 1-9)


def _n92(category: int) -> MessageDefinition:
    return MessageDefinition(
        f"fin.{category}92",
        f"MT {category}92 Request for Cancellation",
        (
            M("20", "Transaction Reference Number"),
            M("21", "Related Reference"),
            M("11S", "MT and Date of the Original Message"),
            O("79", "Narrative Description of the Original Message"),
            _COPY,
        ),
    )


def _n95(category: int) -> MessageDefinition:
    return MessageDefinition(
        f"fin.{category}95",
        f"MT {category}95 Queries",
        (
            M("20", "Transaction Reference Number"),
            M("21", "Related Reference"),
            M("75", "Queries"),
            O("77A", "Narrative"),
            O("11a", "MT and Date of the Original Message", "R S"),
            O("79", "Narrative Description of the Original Message"),
            _COPY,
        ),
    )


def _n96(category: int) -> MessageDefinition:
    return MessageDefinition(
        f"fin.{category}96",
        f"MT {category}96 Answers",
        (
            M("20", "Transaction Reference Number"),
            M("21", "Related Reference"),
            M("76", "Answers"),
            O("77A", "Narrative"),
            O("11a", "MT and Date of the Original Message", "R S"),
            O("79", "Narrative Description of the Original Message"),
            _COPY,
        ),
    )


def _n99(category: int) -> MessageDefinition:
    return MessageDefinition(
        f"fin.{category}99",
        f"MT {category}99 Free Format Message",
        (
            M("20", "Transaction Reference Number"),
            O("21", "Related Reference"),
            M("79", "Narrative"),
        ),
    )


_COMMON = tuple(make(category) for make in (_n92, _n95, _n96, _n99) for category in range(1, 10))

#: Every supported definition by canonical message id.
DEFINITIONS: dict[str, MessageDefinition] = {
    d.message_id: d
    for d in (
        MT103,
        MT103_STP,
        MT103_REMIT,
        MT202,
        MT202_COV,
        MT900,
        MT910,
        MT940,
        MT950,
        *_COMMON,
    )
}
