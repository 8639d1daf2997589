"""What rules look at and what they return.

A *check* is a Python function (registered once with :func:`check`) that reads a
:class:`Subject` and yields :class:`Hit` objects. A *rule* is a configured use of
a check in a rule pack (``packs/*.yaml``): its id, severity, ISO reason code,
parameters and effective dates come from data, the logic from code. The same
check can back several rules (``charge_bearer`` in the business pack and, with
other parameters, in SEPA).

The :class:`Subject` is format-neutral: the canonical events the mapping
produced, the message header (AppHdr or, for MT, blocks 1-3), and the typed code
values found in the message (IBANs, BICs, currencies...) with their locations.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from dataclasses import field as _field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from lxml import etree

from gateway.rules.index import ElementIndex

__all__ = [
    "CHECKS",
    "CheckFn",
    "CheckSpec",
    "Header",
    "Hit",
    "Subject",
    "Value",
    "ValueKind",
    "amounts_param",
    "check",
    "decimal_param",
    "int_param",
]

ValueKind = Literal["iban", "bic", "lei", "country", "currency", "amount", "uetr"]


@dataclass(slots=True)
class Value:
    """One typed value found in the message (read-only by convention: not frozen, as a
    10,000-transaction file makes ~50,000 of them and frozen init costs twice as much).

    ``text`` is the value as written (whitespace stripped); for ``amount`` the
    decimal text, with the currency in ``currency``. ``element`` (MX) or
    ``mt_tag`` (MT) locates it.
    """

    kind: ValueKind
    text: str
    element: etree._Element | None = None
    mt_tag: str | None = None
    currency: str | None = None
    name: str | None = None  # the element's local name / field, e.g. "IntrBkSttlmAmt"
    line: int | None = None  # MT: the field's line (MX: the element's sourceline)


@dataclass(frozen=True, slots=True)
class Header:
    """Business application header data (head.001 AppHdr; MT blocks 1-3 later)."""

    from_bic: str | None = None
    to_bic: str | None = None
    business_message_id: str | None = None
    message_definition: str | None = None
    business_service: str | None = None
    creation_date: str | None = None
    element: etree._Element | None = None


@dataclass(frozen=True, slots=True)
class Hit:
    """One rule violation, before the engine turns it into a Finding.

    Locate it with ``element`` (an lxml element of the message), or with ``event``
    (index into ``Subject.events``) and ``field`` (dotted canonical field, e.g.
    ``debtor_account.iban``), or with ``xpath``/``mt_tag`` directly.
    """

    message: str
    element: etree._Element | None = None
    event: int | None = None
    field: str | None = None
    xpath: str | None = None
    mt_tag: str | None = None
    line: int | None = None
    context: Mapping[str, Any] = _field(default_factory=dict)


@dataclass(slots=True)
class Subject:
    """Everything a check may read about one message."""

    message_id: str | None
    events: list[dict[str, Any]]
    values: list[Value]
    header: Header | None = None
    business_message_id: str | None = None
    received_at: datetime | None = None
    tenant: str | None = None
    channel: str | None = None
    #: MX only: the Document element, for checks that need the message's own structure.
    document: etree._Element | None = None
    #: Whether ``events`` is the complete mapping of the message (False when no mapping
    #: exists or mapping was skipped): event-based checks then have nothing to say.
    mapped: bool = False
    #: Tenant per-day limits: the amount already accepted for this tenant on a day, in
    #: a currency (``spent(day, currency)``); None where no running total is kept.
    spent: Callable[[date, str], Decimal] | None = None

    #: ``values`` grouped by kind (see :meth:`kinds`): (the list grouped, its length, groups)
    _kinds: tuple[list[Value], int, dict[str, list[Value]]] | None = _field(
        default=None, init=False, repr=False, compare=False
    )

    #: :meth:`index` of each root asked for, by the root's id
    _indexes: dict[int, ElementIndex] = _field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def index(self, root: etree._Element) -> ElementIndex:
        """The elements of ``root`` (the Document, the AppHdr) by tag and its leaves,
        walked once per subject and root and shared by the checks."""
        cached = self._indexes.get(id(root))
        if cached is None or cached.root is not root:
            cached = self._indexes[id(root)] = ElementIndex(root)
        return cached

    def of_kind(self, kind: ValueKind) -> Iterator[Value]:
        return (value for value in self.values if value.kind == kind)

    def kinds(self, kind: ValueKind) -> list[Value]:
        """The values of ``kind`` in message order (grouped once per subject)."""
        values = self.values
        cached = self._kinds
        if cached is None or cached[0] is not values or cached[1] != len(values):
            groups: dict[str, list[Value]] = {}
            for value in values:
                listed = groups.get(value.kind)
                if listed is None:
                    groups[value.kind] = [value]
                else:
                    listed.append(value)
            cached = self._kinds = (values, len(values), groups)
        return cached[2].get(kind, [])

    @property
    def message_date(self) -> date:
        """The date that selects rule-pack versions: the message's creation date
        (group header, then AppHdr), else the day it was received."""
        for event in self.events[:1]:
            created = (event.get("group") or {}).get("creation_datetime")
            parsed = _date(created)
            if parsed is not None:
                return parsed
        if self.header is not None:
            parsed = _date(self.header.creation_date)
            if parsed is not None:
                return parsed
        return (self.received_at or datetime.now().astimezone()).date()


def _date(text: object) -> date | None:
    if not isinstance(text, str) or len(text) < 10:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


CheckFn = Callable[[Subject, Mapping[str, Any]], Iterator[Hit]]


@dataclass(frozen=True, slots=True)
class CheckSpec:
    name: str
    fn: CheckFn
    summary: str
    #: Parameter names the check accepts, with their documented meaning; a pack that
    #: passes another name is rejected at load.
    params: Mapping[str, str] = _field(default_factory=dict)
    #: Parameters that must be given.
    required: frozenset[str] = frozenset()
    #: Checks the parameter values when a pack (or a tenant override) is loaded: raises
    #: ValueError naming the parameter, so a bad value stops start-up, not a request.
    validate: Callable[[Mapping[str, Any]], None] | None = None


#: Every registered check, by name.
CHECKS: dict[str, CheckSpec] = {}


def check(
    name: str,
    summary: str,
    *,
    params: Mapping[str, str] | None = None,
    required: tuple[str, ...] = (),
    validate: Callable[[Mapping[str, Any]], None] | None = None,
) -> Callable[[CheckFn], CheckFn]:
    """Register a check function under ``name``."""

    def register(fn: CheckFn) -> CheckFn:
        if name in CHECKS:
            raise ValueError(f"check {name!r} registered twice")
        spec = CheckSpec(name, fn, summary, dict(params or {}), frozenset(required), validate)
        CHECKS[name] = spec
        return fn

    return register


def decimal_param(params: Mapping[str, Any], name: str, *, positive: bool = True) -> None:
    """``params[name]``, when given, is a decimal (above zero unless ``positive=False``)."""
    value = params.get(name)
    if value is None:
        return
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        raise ValueError(f"parameter {name}: {value!r} is not a decimal amount") from None
    if not number.is_finite() or (positive and number <= 0):
        raise ValueError(f"parameter {name}: {value!r} must be a positive amount")


def amounts_param(params: Mapping[str, Any], name: str) -> None:
    """``params[name]``, when given, maps ISO 4217 codes to positive decimal amounts."""
    value = params.get(name)
    if value is None:
        return
    if not isinstance(value, Mapping):
        raise ValueError(f"parameter {name}: expected currency -> amount, got {value!r}")
    for currency, amount in value.items():
        if not (isinstance(currency, str) and len(currency) == 3 and currency.isupper()):
            raise ValueError(f"parameter {name}: {currency!r} is not a currency code")
        decimal_param({currency: amount}, currency)


def int_param(params: Mapping[str, Any], name: str, *, minimum: int = 0) -> None:
    """``params[name]``, when given, is an integer of at least ``minimum``."""
    value = params.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"parameter {name}: {value!r} must be an integer >= {minimum}")
