"""Parameterised checks any pack may configure (business, scheme or tenant).

Each reads canonical events (format-neutral) and locates its hits by canonical
field, so a finding points at the element the value came from. Amount limits
and currency lists are parameters: the same check backs a network's maximum
(FedNow, SCT Inst) and a tenant's own limit.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from gateway.rules.model import Hit, Subject, amounts_param, check, int_param

__all__ = ["event_amount", "get_field"]

#: The amount a transaction moves, in the order a check looks for it.
_AMOUNT_FIELDS = ("amounts.interbank_settlement", "amounts.instructed")


def get_field(event: Mapping[str, Any], dotted: str) -> Any:
    """The value at a dotted canonical path (None when any step is absent)."""
    node: Any = event
    for part in dotted.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def event_amount(event: Mapping[str, Any]) -> tuple[str, Decimal, str] | None:
    """(field, amount, currency) of the amount the transaction moves."""
    for name in _AMOUNT_FIELDS:
        amount = get_field(event, name)
        if isinstance(amount, Mapping):
            try:
                return name, Decimal(str(amount["value"])), str(amount["currency"])
            except (InvalidOperation, KeyError):
                return None
    return None


def _present(value: Any) -> bool:
    return value not in (None, "", [], {})


@check(
    "required_fields",
    "Each listed canonical field is present on every transaction.",
    params={"fields": "dotted canonical fields, e.g. [ids.uetr, debtor_agent.bic]"},
    required=("fields",),
)
def required_fields(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    for index, event in enumerate(subject.events):
        for name in params["fields"]:
            if not _present(get_field(event, name)):
                yield Hit(f"{name} is required but absent.", event=index, field=name)


@check(
    "forbidden_fields",
    "None of the listed canonical fields is present.",
    params={"fields": "dotted canonical fields"},
    required=("fields",),
)
def forbidden_fields(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    for index, event in enumerate(subject.events):
        for name in params["fields"]:
            if _present(get_field(event, name)):
                yield Hit(f"{name} is not allowed here.", event=index, field=name)


@check(
    "currency_allowed",
    "The transaction amount is in one of the listed currencies.",
    params={"currencies": "ISO 4217 codes allowed"},
    required=("currencies",),
)
def currency_allowed(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    allowed = set(params["currencies"])
    for index, event in enumerate(subject.events):
        found = event_amount(event)
        if found is not None and found[2] not in allowed:
            yield Hit(
                f"Currency {found[2]} is not allowed (allowed: {', '.join(sorted(allowed))}).",
                event=index,
                field=found[0],
                context={"currency": found[2]},
            )


@check(
    "currency_forbidden",
    "No amount of the message is in a listed currency.",
    params={"currencies": "ISO 4217 codes not allowed"},
    required=("currencies",),
)
def currency_forbidden(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    forbidden = set(params["currencies"])
    for value in subject.of_kind("amount"):
        if value.currency in forbidden:
            yield Hit(
                f"{value.name} is in {value.currency}, which is not allowed.",
                element=value.element,
                mt_tag=value.mt_tag,
                line=value.line,
                context={"currency": value.currency},
            )


@check(
    "max_amount",
    "The transaction amount does not exceed the limit for its currency.",
    params={"limits": "currency -> maximum amount (decimal string), e.g. {USD: '1000000'}"},
    required=("limits",),
    validate=lambda params: amounts_param(params, "limits"),
)
def max_amount(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    limits = {ccy: Decimal(str(limit)) for ccy, limit in params["limits"].items()}
    for index, event in enumerate(subject.events):
        found = event_amount(event)
        if found is None or found[2] not in limits:
            continue
        name, amount, currency = found
        if amount > limits[currency]:
            yield Hit(
                f"Amount {amount} {currency} exceeds the limit of {limits[currency]} {currency}.",
                event=index,
                field=name,
                context={"amount": str(amount), "limit": str(limits[currency])},
            )


@check(
    "max_transactions",
    "The message carries at most the given number of transactions.",
    params={"max": "maximum number of transactions per message"},
    required=("max",),
    validate=lambda params: int_param(params, "max"),
)
def max_transactions(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    limit = int(params["max"])
    if subject.mapped and len(subject.events) > limit:
        yield Hit(
            f"The message carries {len(subject.events)} transactions; at most {limit} allowed.",
            event=limit,
            field="ids",
            context={"transactions": len(subject.events), "max": limit},
        )


@check(
    "code_allowed",
    "A coded canonical field holds one of the listed values (when present).",
    params={"field": "dotted canonical field", "values": "allowed values"},
    required=("field", "values"),
)
def code_allowed(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    name = str(params["field"])
    allowed = [str(v) for v in params["values"]]
    for index, event in enumerate(subject.events):
        value = get_field(event, name)
        if isinstance(value, Mapping):
            value = value.get("code") or value.get("proprietary")
        if value is not None and str(value) not in allowed:
            yield Hit(
                f"{name} is {value!r}; allowed: {', '.join(allowed)}.",
                event=index,
                field=name,
                context={"value": str(value)},
            )
