"""Tenant rules over HTTP and in the submit service: per-day limits against the store's
totals (also when two submissions race), the allowed message ids, relaxations."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.pipeline import Gateway
from gateway.rules.tenant_rules import business_day
from gateway.service import InboundService
from gateway.store import Store
from gateway.store.reads import Reads
from gateway.tenants import TenantRegistry
from tests.api_fixtures import ApiEnv, make_tenants
from tests.conftest import FIXTURES

VALID = (FIXTURES / "mx/pacs.008.001.08/valid/three_transactions.xml").read_bytes()  # 14846.35
MINIMAL = (FIXTURES / "mx/pacs.008.001.08/valid/minimal.xml").read_bytes()  # 1250.00 EUR
#: EMEA without scheme packs (judged here: its own rules), per-day EUR limit 15000
LOW_LIMIT = {
    "EMEA": {
        "packs: [cbpr-plus, sepa-sct, sepa-inst]": "packs: []",
        'EUR: "5000000000"': 'EUR: "15000"',
    }
}


def key() -> str:
    return str(uuid.uuid4())


def _day(store: Store, report_id: str) -> date:
    """The receipt day of a report in EMEA's zone (the day its amounts count on)."""
    stored = store.get_report("EMEA", report_id)
    assert stored is not None
    return business_day(datetime.fromisoformat(stored["received_at"]), "Europe/Berlin")


@pytest.mark.parametrize("api", [LOW_LIMIT], indirect=True)
def test_second_message_over_the_per_day_limit_is_rejected(api: ApiEnv) -> None:
    first = api.client.post("/v1/messages", content=VALID, headers=api.headers(key=key()))
    assert first.status_code == 202, first.text
    day = _day(api.store, first.json()["report_id"])
    assert api.store.daily_total("EMEA", day, "EUR") == Decimal("14846.35")
    second = api.client.post("/v1/messages", content=MINIMAL, headers=api.headers(key=key()))
    assert second.status_code == 422
    body = second.json()
    [hit] = [f for f in body["findings"] if f["code"] == "tenant.daily_limit"]
    assert hit["severity"] == "error"
    assert hit["layer"] == "tenant"
    assert hit["iso_reason"] == "AM14"
    assert hit["context"]["accepted_before"] == "14846.35"
    assert hit["context"]["limit"] == "15000"
    assert {(u["kind"], u["id"]) for u in body["judged_by"]} >= {("rule_pack", "tenant:EMEA")}
    assert api.store.daily_total("EMEA", day, "EUR") == Decimal("14846.35")
    # another tenant's totals are its own
    other = api.client.post("/v1/messages", content=MINIMAL, headers=api.headers("NA", key=key()))
    assert other.status_code == 202, other.text


@pytest.mark.parametrize(
    "api",
    [{"EMEA": {**LOW_LIMIT["EMEA"], "relaxations: []": "relaxations: [daily_limit_exceeded]"}}],
    indirect=True,
)
def test_relaxed_per_day_limit_accepts_with_a_warning(api: ApiEnv) -> None:
    for payload in (VALID, MINIMAL):
        response = api.client.post("/v1/messages", content=payload, headers=api.headers(key=key()))
        assert response.status_code == 202, response.text
    assert [w["code"] for w in response.json()["warnings"]] == ["tenant.daily_limit"]
    day = _day(api.store, response.json()["report_id"])
    assert api.store.daily_total("EMEA", day, "EUR") == Decimal("16096.35")


UNLISTED_RELAXED = {
    "EMEA": {"  - pacs.008.001.08\n": "", "relaxations: []": "relaxations: [message_not_allowed]"}
}


@pytest.mark.parametrize("api", [UNLISTED_RELAXED], indirect=True)
def test_relaxed_message_ids_are_accepted_with_a_warning(api: ApiEnv) -> None:
    response = api.client.post("/v1/messages", content=MINIMAL, headers=api.headers(key=key()))
    assert response.status_code == 202, response.text
    assert [w["code"] for w in response.json()["warnings"]] == ["tenant.message_allowed"]


class _StaleTotals(Store):
    """A store whose first per-day read is stale (0), as when a concurrent submission
    commits between this one's judgement and its commit."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.stale_reads = 1

    def reads(self) -> Reads:
        store = self

        class StaleReads(Reads):
            def daily_total(self, tenant: str, day: date, currency: str) -> Decimal:
                if store.stale_reads:
                    store.stale_reads -= 1
                    return Decimal(0)
                return super().daily_total(tenant, day, currency)

        return StaleReads(self.engine)


def test_a_commit_that_loses_the_race_is_judged_again(tmp_path: Path, gateway: Gateway) -> None:
    folder, _keys = make_tenants(tmp_path, LOW_LIMIT)
    tenant = TenantRegistry.load(folder).get("EMEA")
    assert tenant is not None
    store = _StaleTotals(f"sqlite:///{tmp_path / 'race.db'}")
    store.migrate()
    service = InboundService(gateway, store)
    try:
        store.stale_reads = 0
        first = service.submit(tenant, key(), VALID, correlation_id="c-1")
        assert first.status == 202
        assert first.result is not None
        day = _day(store, first.result.report.report_id)
        store.stale_reads = 1  # the next judgement sees 0 accepted: it fits in the limit
        second = service.submit(tenant, key(), MINIMAL, correlation_id="c-2")
        # the store refused the commit under its lock; judged again, the message fails
        assert second.status == 422
        assert second.result is not None
        codes = [f.code for f in second.result.report.findings]
        assert codes == ["tenant.daily_limit"]
        assert store.daily_total("EMEA", day, "EUR") == Decimal("14846.35")
        assert store.list_reports("EMEA").items[0]["outcome"] == "rejected"
        assert len(store.list_reports("EMEA").items) == 2
    finally:
        store.close()
