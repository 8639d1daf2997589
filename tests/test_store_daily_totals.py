"""Per-day totals in the store (gateway.daily_totals.DailyTotals) on SQLite and PostgreSQL:
exact sums, limits re-checked under a lock, recorded in the inbound transaction."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest

from gateway.daily_totals import DailyAmounts, DailyLimitExceeded, DailyTotals, spent_lookup
from gateway.store import InboundCommit, Store
from tests.test_store import NOW, report, rows

DAY = date(2026, 11, 26)


def _add(totals: DailyTotals, amount: str, currency: str = "EUR", limit: str | None = None,
         tenant: str = "EMEA", day: date = DAY) -> None:  # fmt: skip
    limits = {currency: Decimal(limit)} if limit is not None else {}
    totals.add_daily_amounts(tenant, DailyAmounts(day, {currency: Decimal(amount)}, limits))


def test_totals_are_exact_and_per_tenant_day_and_currency(store: Store) -> None:
    assert store.daily_total("EMEA", DAY, "EUR") == 0
    _add(store, "0.10")
    _add(store, "0.20")
    _add(store, "7", currency="USD")
    _add(store, "5", tenant="NA")
    _add(store, "3", day=DAY + timedelta(days=1))
    assert store.daily_total("EMEA", DAY, "EUR") == Decimal("0.30")
    assert str(store.daily_total("EMEA", DAY, "EUR")) == "0.30"
    assert store.daily_total("EMEA", DAY, "USD") == 7
    assert store.daily_total("NA", DAY, "EUR") == 5
    assert store.daily_total("EMEA", DAY + timedelta(days=1), "EUR") == 3
    assert spent_lookup(store, "EMEA")(DAY, "EUR") == Decimal("0.30")
    big = "999999999999999999.99999"
    _add(store, big, currency="JPY")
    _add(store, big, currency="JPY")
    assert store.daily_total("EMEA", DAY, "JPY") == 2 * Decimal(big)


def test_a_limit_that_would_be_crossed_adds_nothing(store: Store) -> None:
    _add(store, "60", limit="100")
    _add(store, "40", limit="100")  # exactly the limit
    with pytest.raises(DailyLimitExceeded) as info:
        store.add_daily_amounts(
            "EMEA",
            DailyAmounts(DAY, {"EUR": Decimal("0.01"), "USD": Decimal(1)}, {"EUR": Decimal(100)}),
        )
    assert (info.value.currency, info.value.total, info.value.limit) == (
        "EUR", Decimal("100.01"), Decimal(100),
    )  # fmt: skip
    assert store.daily_total("EMEA", DAY, "EUR") == 100
    assert store.daily_total("EMEA", DAY, "USD") == 0
    _add(store, "5")  # no limit given: recorded
    assert store.daily_total("EMEA", DAY, "EUR") == 105


def test_concurrent_additions_never_cross_the_limit(store: Store) -> None:
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        try:
            _add(store, "30", limit="100")
            outcomes.append("added")
        except DailyLimitExceeded:
            outcomes.append("refused")

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["added"] * 3 + ["refused"] * 5
    assert store.daily_total("EMEA", DAY, "EUR") == 90


def _commit(store: Store, key: str, daily: DailyAmounts | None) -> str:
    rep = report(business_id=key)
    store.commit_inbound(
        InboundCommit(
            tenant="EMEA", idempotency_key=key, payload_sha256="sha", report=rep,
            correlation_id="c", payload=None, response_status=202, response_body=b"{}",
            rows=rows(rep.report_id, 1), register_business_id=key, daily=daily,
        )
    )  # fmt: skip
    return rep.report_id


def test_totals_commit_with_the_report_or_not_at_all(store: Store) -> None:
    limit = {"EUR": Decimal(100)}
    first = _commit(store, "a", DailyAmounts(DAY, {"EUR": Decimal(70)}, limit))
    assert store.get_report("EMEA", first) is not None
    assert store.daily_total("EMEA", DAY, "EUR") == 70
    with pytest.raises(DailyLimitExceeded):
        _commit(store, "b", DailyAmounts(DAY, {"EUR": Decimal(31)}, limit))
    # nothing of the refused message is stored; its key is still free for a retry
    assert store.daily_total("EMEA", DAY, "EUR") == 70
    assert store.seen_business_message("EMEA", "b") is None
    assert len(store.fetch_pending(100, NOW + timedelta(seconds=1))) == 1
    assert store.idempotent_answer("EMEA", "b") is None
    _commit(store, "c", None)  # a rejected message adds nothing
    assert store.daily_total("EMEA", DAY, "EUR") == 70
