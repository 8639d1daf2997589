"""Tenant rules (issue #4, layer 3; DESIGN.md §2 "validate", the tenant layer).

A tenant's own rules come from the ``rules`` section of its tenant file
(:class:`TenantRules`) and its top-level ``allowed_message_ids``. They are built
into one :class:`~gateway.rules.packs.Pack` of layer ``tenant`` named
``tenant:<ID>`` (:func:`tenant_pack`), judged by the rule engine after the
business and scheme packs, so the report lists it with its version like any pack.

===========================  ======  ===========================  ========================
rule id                      reason  from the tenant file         relaxation (strict off)
===========================  ======  ===========================  ========================
``tenant.message_allowed``   AG03    ``allowed_message_ids``      ``message_not_allowed``
``tenant.currency_allowed``  AM03    ``rules.currencies``         ``currency_not_allowed``
``tenant.amount_limit``      AM02    ``rules.amount_limits``      ``amount_over_limit``
``tenant.daily_limit``       AM14    ``rules.daily_limits``       ``daily_limit_exceeded``
``tenant.cutoff``            TM01    ``rules.cutoffs``            ``after_cutoff``
``tenant.blocked_country``   RR04    ``rules.blocked_countries``  ``blocked_country``
===========================  ======  ===========================  ========================

Each rule is an error; naming its relaxation in the tenant's ``relaxations``
downgrades its findings to warnings (``gateway.tenants.RELAXED_CODES``). A rule
whose key is absent or empty is not in the pack. Amounts are those a transaction
moves (interbank settlement amount, else instructed amount) of the canonical
events; per-day totals count accepted messages by receipt date in the tenant's
``time_zone`` (see :mod:`gateway.daily_totals`). Cut-off windows are judged against
the receipt time, not any date in the message. Public holidays are not modelled.

The tenant's scheme packs (``rules.packs``, applied where each pack's ``match``
holds) and its overrides of their parameters (``rules.pack_params``) go into the
:class:`~gateway.rules.engine.RuleSelection` (:func:`rule_selection`); their names
are checked against the loaded packs by :func:`check_packs` at start-up.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from gateway.daily_totals import DailyAmounts, MemoryDailyTotals, SpentFn
from gateway.errors import ConfigError
from gateway.report import Layer
from gateway.rules.engine import BUSINESS_PACK, RuleSelection
from gateway.rules.generic import event_amount
from gateway.rules.model import Hit, Subject, check
from gateway.rules.packs import Pack, PackRegistry, RuleDef
from gateway.rules.tenant_config import CutoffWindow, TenantRules, business_day, zone

if TYPE_CHECKING:
    from gateway.tenants import Tenant

__all__ = [
    "RULE_AMOUNT",
    "RULE_COUNTRY",
    "RULE_CURRENCY",
    "RULE_CUTOFF",
    "RULE_DAILY",
    "RULE_MESSAGE",
    "CutoffWindow",
    "MemoryDailyTotals",
    "TenantRules",
    "build_pack",
    "business_day",
    "check_packs",
    "daily_amounts",
    "rule_selection",
    "tenant_pack",
]

RULE_MESSAGE = "tenant.message_allowed"
RULE_CURRENCY = "tenant.currency_allowed"
RULE_AMOUNT = "tenant.amount_limit"
RULE_DAILY = "tenant.daily_limit"
RULE_CUTOFF = "tenant.cutoff"
RULE_COUNTRY = "tenant.blocked_country"

# -- checks ------------------------------------------------------------------------


@check(
    "message_allowed",
    "The message id is one of those listed.",
    params={"message_ids": "message ids allowed, e.g. [pacs.008.001.08]"},
    required=("message_ids",),
)
def message_allowed(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    allowed = list(params["message_ids"])
    if subject.message_id is not None and subject.message_id not in allowed:
        yield Hit(
            f"{subject.message_id} is not among the messages this tenant may send "
            f"({', '.join(allowed)}).",
            element=subject.document,
            mt_tag="{2:}" if subject.document is None else None,  # MT: the message type
            context={"message_id": subject.message_id},
        )


@check(
    "daily_amount_limit",
    "What was accepted today plus this message stays within the per-day limit of its "
    "currency (day: receipt date in the time zone).",
    params={
        "limits": "currency -> maximum per day (decimal string)",
        "time_zone": "IANA zone the day is counted in",
    },
    required=("limits", "time_zone"),
)
def daily_amount_limit(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    limits = {ccy: Decimal(str(limit)) for ccy, limit in params["limits"].items()}
    found = [(i, event_amount(e)) for i, e in enumerate(subject.events)]
    message: dict[str, Decimal] = {}
    for _, amount in found:
        if amount is not None and amount[2] in limits:
            message[amount[2]] = message.get(amount[2], Decimal(0)) + amount[1]
    if not message:
        return
    day = business_day(subject.received_at, params["time_zone"])
    for currency, total in message.items():
        before = subject.spent(day, currency) if subject.spent else Decimal(0)
        if before + total <= limits[currency]:
            continue
        running = before
        for index, amount in found:  # locate the transaction that crosses the limit
            if amount is None or amount[2] != currency:
                continue
            running += amount[1]
            if running > limits[currency]:
                yield Hit(
                    f"Per-day limit of {limits[currency]} {currency} on {day.isoformat()} "
                    f"exceeded: {before} {currency} already accepted, this message adds "
                    f"{total} {currency}.",
                    event=index,
                    field=amount[0],
                    context={
                        "currency": currency,
                        "day": day.isoformat(),
                        "accepted_before": str(before),
                        "message_total": str(total),
                        "limit": str(limits[currency]),
                    },
                )
                break


@check(
    "cutoff_window",
    "The message is received within a cut-off window (time of day and weekday in the "
    "time zone); windows naming the message id apply, else those for every message.",
    params={
        "time_zone": "IANA zone of the windows",
        "windows": "[{messages: [ids], open: 'HH:MM', close: 'HH:MM', weekdays: [mon..sun]}]",
    },
    required=("time_zone", "windows"),
)
def cutoff_window(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    windows = [CutoffWindow.model_validate(w) for w in params["windows"]]
    applicable = [w for w in windows if subject.message_id in w.messages]
    applicable = applicable or [w for w in windows if not w.messages]
    if not applicable:
        return
    tz_name = str(params["time_zone"])
    local = (subject.received_at or datetime.now(UTC)).astimezone(zone(tz_name))
    if any(window.contains(local) for window in applicable):
        return
    shown = "; ".join(window.describe() for window in applicable)
    yield Hit(
        f"Received {local:%a %Y-%m-%d %H:%M} ({tz_name}), outside the tenant's cut-off "
        f"window(s) for {subject.message_id or 'this message'}: {shown}.",
        element=subject.document,
        context={"received_local": local.isoformat(), "time_zone": tz_name, "windows": shown},
    )


def _party_country(element: Any) -> bool:
    """A ``Ctry`` of a postal address or a ``CtryOfRes`` (not a birth or authority country)."""
    if element is None:
        return True
    name = str(element.tag).rpartition("}")[2]
    if name == "CtryOfRes":
        return True
    parent = element.getparent()
    return name == "Ctry" and parent is not None and str(parent.tag).endswith("PstlAdr")


@check(
    "country_blocked",
    "No party or agent is in a listed country: postal address or residence country, "
    "IBAN country, BIC country.",
    params={"countries": "ISO 3166 alpha-2 codes"},
    required=("countries",),
)
def country_blocked(subject: Subject, params: Mapping[str, Any]) -> Iterator[Hit]:
    blocked = set(params["countries"])
    for value in subject.values:
        text = value.text.upper()
        if value.kind == "country" and _party_country(value.element):
            country, what = text, f"{value.name or 'address'} country"
        elif value.kind == "iban" and len(text) >= 2:
            country, what = text[:2], "IBAN country"
        elif value.kind == "bic" and len(text) >= 6:
            country, what = text[4:6], f"{value.name or 'BIC'} country"
        else:
            continue
        if country in blocked:
            yield Hit(
                f"{what} {country} is blocked for this tenant.",
                element=value.element,
                mt_tag=value.mt_tag,
                line=value.line,
                context={"country": country, "source": value.kind},
            )


# -- the tenant's pack and rule selection ----------------------------------------------


def _digest(allowed: Sequence[str], rules: TenantRules) -> str:
    content = {
        "allowed_message_ids": list(allowed),
        "rules": rules.model_dump(mode="json", exclude={"version"}),
    }
    text = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _amounts(limits: Mapping[str, Decimal]) -> dict[str, str]:
    return {currency: str(limit) for currency, limit in limits.items()}


def build_pack(
    tenant_id: str, allowed: Sequence[str], rules: TenantRules, origin: str = ""
) -> Pack:
    """The tenant's own rules as a pack (see the table in the module docstring)."""
    made = [
        RuleDef(
            id=RULE_MESSAGE,
            check="message_allowed",
            params={"message_ids": list(allowed)},
            iso_reason="AG03",
            description="The tenant may send this message id (allowed_message_ids). "
            "Relaxation: message_not_allowed.",
        )
    ]
    if rules.currencies:
        made.append(
            RuleDef(
                id=RULE_CURRENCY,
                check="currency_allowed",
                params={"currencies": list(rules.currencies)},
                iso_reason="AM03",
                description="Transactions are in a currency the tenant accepts "
                "(rules.currencies). Relaxation: currency_not_allowed.",
            )
        )
    if rules.amount_limits:
        made.append(
            RuleDef(
                id=RULE_AMOUNT,
                check="max_amount",
                params={"limits": _amounts(rules.amount_limits)},
                iso_reason="AM02",
                description="No transaction exceeds the tenant's per-transaction limit of "
                "its currency (rules.amount_limits). Relaxation: amount_over_limit.",
            )
        )
    if rules.daily_limits:
        made.append(
            RuleDef(
                id=RULE_DAILY,
                check="daily_amount_limit",
                params={"limits": _amounts(rules.daily_limits), "time_zone": rules.time_zone},
                iso_reason="AM14",
                description="Amounts accepted on the receipt day (tenant time zone) plus "
                "this message stay within the per-day limit of their currency "
                "(rules.daily_limits). Relaxation: daily_limit_exceeded.",
            )
        )
    if rules.cutoffs:
        made.append(
            RuleDef(
                id=RULE_CUTOFF,
                check="cutoff_window",
                params={
                    "time_zone": rules.time_zone,
                    "windows": [w.model_dump(mode="json") for w in rules.cutoffs],
                },
                iso_reason="TM01",
                description="The message is received within the tenant's cut-off window "
                "for it (rules.cutoffs, tenant time zone). Relaxation: after_cutoff.",
            )
        )
    if rules.blocked_countries:
        made.append(
            RuleDef(
                id=RULE_COUNTRY,
                check="country_blocked",
                params={"countries": list(rules.blocked_countries)},
                iso_reason="RR04",
                description="No party or agent address, IBAN or BIC is in a country the "
                "tenant blocks (rules.blocked_countries). Relaxation: blocked_country.",
            )
        )
    digest = _digest(allowed, rules)
    return Pack(
        pack=f"tenant:{tenant_id}",
        version=rules.version or digest[:12],
        layer=Layer.TENANT,
        title=f"Tenant {tenant_id} rules",
        rules=tuple(made),
        origin=origin,
        sha256=digest,
    )


def tenant_pack(tenant: Tenant) -> Pack:
    """The tenant's own rules (``tenant:<ID>``), built once per tenant object."""
    return tenant.rules_pack()


def rule_selection(tenant: Tenant, spent: SpentFn | None = None) -> RuleSelection:
    """What judges the tenant's messages besides the business pack: its scheme packs
    (where they match), their parameter overrides, its own rules and per-day totals."""
    return RuleSelection(
        tenant_packs=tenant.rules.packs,
        tenant_rules=tenant.rules_pack(),
        overrides=tenant.rules.pack_params,
        spent=spent,
    )


def check_packs(tenant: Tenant, registry: PackRegistry, source: str) -> None:
    """Every pack the tenant lists exists (as a scheme pack) and every ``pack_params``
    entry names a rule of those packs (or of the business pack) and parameters its
    check takes. Raises :class:`ConfigError` naming ``source``, the key and the value."""
    rules = tenant.rules
    for name in rules.packs:
        versions = registry.by_name.get(name)
        if not versions:
            known = ", ".join(n for n in registry.names() if n != BUSINESS_PACK) or "none"
            raise ConfigError(f"{source}: rules.packs: unknown rule pack {name!r}; known: {known}")
        if versions[0].layer is not Layer.SCHEME:
            raise ConfigError(f"{source}: rules.packs: {name!r} is not a scheme pack")
    searched = [*rules.packs, BUSINESS_PACK]
    for rule_id, params in rules.pack_params.items():
        defs = [
            rule
            for name in searched
            for pack in registry.by_name.get(name, ())
            for rule in pack.rules
            if rule.id == rule_id
        ]
        if not defs:
            raise ConfigError(
                f"{source}: rules.pack_params: {rule_id!r} is not a rule of the packs "
                f"{', '.join(searched)}"
            )
        for rule in defs:
            try:
                RuleDef.model_validate({**rule.model_dump(), "params": {**rule.params, **params}})
            except ValidationError as exc:
                problem = "; ".join(str(e["msg"]) for e in exc.errors())
                raise ConfigError(
                    f"{source}: rules.pack_params.{rule_id}: {problem} (value: {params!r})"
                ) from exc


def daily_amounts(
    rules: TenantRules,
    events: Sequence[Mapping[str, Any]],
    received_at: datetime | None,
    *,
    enforce: bool = True,
) -> DailyAmounts | None:
    """What an accepted message adds to the per-day totals (None: no amounts). The
    limits come along unless ``enforce`` is false (the rule is relaxed)."""
    sums: dict[str, Decimal] = {}
    for event in events:
        found = event_amount(event)
        if found is not None:
            sums[found[2]] = sums.get(found[2], Decimal(0)) + found[1]
    if not sums:
        return None
    limits = dict(rules.daily_limits) if enforce else {}
    return DailyAmounts(business_day(received_at, rules.time_zone), sums, limits)
