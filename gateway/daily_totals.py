"""Per-day amount totals of a tenant: the port behind the tenant per-day limits.

A tenant may cap what it sends per day and currency (``rules.daily_limits`` in the
tenant file, rule ``tenant.daily_limit``). The rule needs what was already
*accepted* that day: :class:`DailyTotals` answers ``daily_total(tenant, day,
currency)`` and takes ``add_daily_amounts(tenant, amounts)`` for each accepted
message. The day is the receipt date in the tenant's time zone
(:func:`gateway.rules.tenant_rules.business_day`).

Two implementations: :class:`MemoryDailyTotals` (unit tests, ``isogw validate
--tenant`` across the files of one run) and :class:`gateway.store.Store` (the HTTP
gateway: table ``daily_totals``, written in the same transaction as the report).

Concurrency: the rule judges against the total read before the message is
committed, so two concurrent messages could both fit under the limit on their own
and cross it together. :class:`DailyAmounts` therefore carries the limits to
enforce, and ``add_daily_amounts`` re-checks them atomically (the store under a
row lock / SQLite's write lock, inside the commit transaction), raising
:class:`DailyLimitExceeded` and adding nothing when the new total would cross a
limit. The service then judges the message again, now against the new total, and
rejects it with the ``tenant.daily_limit`` finding. Totals never exceed an
enforced limit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from gateway.errors import GatewayError

if TYPE_CHECKING:
    from gateway.pipeline import InboundResult
    from gateway.tenants import Tenant

__all__ = [
    "DailyAmounts",
    "DailyLimitExceeded",
    "DailyTotalReader",
    "DailyTotals",
    "MemoryDailyTotals",
    "SpentFn",
    "check_limits",
    "spent_lookup",
]

#: ``spent(day, currency)``: what :attr:`gateway.rules.model.Subject.spent` expects.
SpentFn = Callable[[date, str], Decimal]


@dataclass(frozen=True, slots=True)
class DailyAmounts:
    """What one accepted message adds to its tenant's totals of ``day``.

    ``amounts``: currency -> the sum of the message's transactions in it.
    ``limits``: currency -> the per-day limit to enforce while adding (empty when
    the tenant has none, or relaxes ``tenant.daily_limit``: then totals are only
    recorded).
    """

    day: date
    amounts: Mapping[str, Decimal]
    limits: Mapping[str, Decimal] = field(default_factory=dict)


class DailyLimitExceeded(GatewayError):
    """Adding a message would take a per-day total over its limit (a concurrent
    message was accepted after this one was judged); nothing was added. Judging
    the message again, against the new total, rejects it with the rule's finding."""

    retriable = True

    def __init__(self, currency: str, day: date, total: Decimal, limit: Decimal) -> None:
        super().__init__(
            f"per-day limit {limit} {currency} on {day.isoformat()} would be crossed "
            f"(new total {total} {currency})"
        )
        self.currency = currency
        self.day = day
        self.total = total
        self.limit = limit


class DailyTotalReader(Protocol):
    """What :func:`spent_lookup` reads."""

    def daily_total(self, tenant: str, day: date, currency: str) -> Decimal: ...


class DailyTotals(Protocol):
    """Running per-day totals of accepted amounts, per tenant and currency."""

    def daily_total(self, tenant: str, day: date, currency: str) -> Decimal:
        """The amount accepted for ``tenant`` on ``day`` in ``currency`` (0 if none)."""
        ...

    def add_daily_amounts(self, tenant: str, amounts: DailyAmounts) -> None:
        """Add atomically; raise :class:`DailyLimitExceeded` (adding nothing) when a
        total would exceed its limit in ``amounts.limits``."""
        ...


def spent_lookup(totals: DailyTotalReader, tenant: str) -> SpentFn:
    """``spent(day, currency)`` of one tenant, for :class:`RuleSelection.spent`."""

    def spent(day: date, currency: str) -> Decimal:
        return totals.daily_total(tenant, day, currency)

    return spent


def check_limits(current: Callable[[str], Decimal], amounts: DailyAmounts) -> dict[str, Decimal]:
    """The new total per currency; :class:`DailyLimitExceeded` if one crosses its limit."""
    totals: dict[str, Decimal] = {}
    for currency, amount in amounts.amounts.items():
        total = current(currency) + amount
        limit = amounts.limits.get(currency)
        if limit is not None and total > limit:
            raise DailyLimitExceeded(currency, amounts.day, total, limit)
        totals[currency] = total
    return totals


class MemoryDailyTotals:
    """In-memory :class:`DailyTotals` (thread-safe; gone with the process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._totals: dict[tuple[str, date, str], Decimal] = {}

    def daily_total(self, tenant: str, day: date, currency: str) -> Decimal:
        with self._lock:
            return self._totals.get((tenant, day, currency), Decimal(0))

    def add_daily_amounts(self, tenant: str, amounts: DailyAmounts) -> None:
        with self._lock:
            new = check_limits(
                lambda ccy: self._totals.get((tenant, amounts.day, ccy), Decimal(0)), amounts
            )
            for currency, total in new.items():
                self._totals[(tenant, amounts.day, currency)] = total

    # -- conveniences for the command line (``isogw validate --tenant``) ----------------

    def lookup(self, tenant: Tenant | str) -> SpentFn:
        return spent_lookup(self, tenant if isinstance(tenant, str) else tenant.id)

    def record(self, tenant: Tenant, result: InboundResult) -> None:
        """Add an accepted message's amounts (a rejected one adds nothing). The run
        judges files one after another, so the rule has already enforced the limits:
        this only records."""
        if not result.accepted:
            return
        amounts = tenant.daily_amounts(result.events, result.report.received_at)
        if amounts is not None:
            self.add_daily_amounts(tenant.id, replace(amounts, limits={}))
