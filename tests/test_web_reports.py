"""Compliance UI report list, detail, review workflow and tenant isolation, over reports
from real submissions (real pipeline and store, SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gateway.pipeline import Gateway
from gateway.settings import Settings
from gateway.store import Store
from gateway.store.chain_verify import verify
from gateway.store.lifecycle import Lifecycle, OutboundRecord
from gateway.store.tables import reviews
from tests.web_fixtures import MINIMAL, WebEnv, unique, web_env

UETR = "b724ed1c-f3b2-49a3-9a3c-2ca69d1e306e"  # first transaction of three_transactions.xml
_ROW_LINK = re.compile(r'href="/ui/reports/([0-9a-f-]{36})"')


@pytest.fixture
def web(tmp_path: Path, store: Store, gateway: Gateway, settings: Settings) -> Iterator[WebEnv]:
    yield from web_env(tmp_path, store, gateway, settings)


def listed(web: WebEnv, query: str = "") -> list[str]:
    response = web.client.get(f"/ui/reports{query}")
    assert response.status_code == 200, response.text
    return _ROW_LINK.findall(response.text)


def review_count(web: WebEnv) -> int:
    with web.store.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(reviews)).scalar_one())


def test_a_user_of_one_tenant_cannot_reach_anothers_report(web: WebEnv) -> None:
    emea, na = web.reports["EMEA"], web.reports["NA"][0]
    web.login_as("alice")
    assert sorted(listed(web)) == sorted(emea)
    missing = "00000000-0000-4000-8000-000000000000"
    foreign = web.client.get(f"/ui/reports/{na}")
    absent = web.client.get(f"/ui/reports/{missing}")
    assert foreign.status_code == absent.status_code == 404
    assert foreign.text.replace(na, "ID") == absent.text.replace(missing, "ID")
    csrf = web.csrf()
    posted = web.client.post(
        f"/ui/reports/{na}/reviews",
        data={"csrf_token": csrf, "action": "annotate", "finding": "", "text": "peek"},
    )
    assert posted.status_code == 404 and review_count(web) == 0
    assert listed(web, f"?q={UETR}") == [emea[0]]  # NA carries the same UETR
    assert listed(web, "?tenant=NA") == listed(web)  # not an admin: the parameter is ignored
    exported = web.client.get("/ui/reports/export.jsonl?tenant=NA").text
    assert na not in exported and all(rid in exported for rid in emea)
    web.client.cookies.clear()
    web.login_as("bob")
    assert listed(web) == [na]
    assert web.client.get(f"/ui/reports/{emea[0]}").status_code == 404


def test_an_admin_sees_every_tenant(web: WebEnv) -> None:
    web.login_as("root")
    everything = listed(web)
    assert sorted(everything) == sorted(web.reports["EMEA"] + web.reports["NA"])
    assert listed(web, "?tenant=NA") == web.reports["NA"]
    assert sorted(listed(web, f"?q={UETR}")) == sorted([web.reports["EMEA"][0], *web.reports["NA"]])
    assert web.client.get(f"/ui/reports/{web.reports['NA'][0]}").status_code == 200
    assert "unknown tenant" in web.client.get("/ui/reports?tenant=MOON").text


def test_filters(web: WebEnv) -> None:
    valid, bad_bic, minimal, bad_enum = web.reports["EMEA"]
    web.login_as("alice")
    assert listed(web) == [bad_enum, minimal, bad_bic, valid]  # newest first
    assert listed(web, "?outcome=rejected") == [bad_enum, bad_bic]
    assert listed(web, "?outcome=accepted_with_warnings") == [valid]
    assert listed(web, "?message_id=pacs.008.001.08") == [bad_enum, minimal, bad_bic, valid]
    assert listed(web, "?message_id=pain.001.001.09") == []
    assert listed(web, "?code=schema.pattern") == [bad_bic]
    assert listed(web, "?code=business.bic") == [bad_bic]  # a rule id
    assert listed(web, "?code=schema.enumeration&outcome=rejected") == [bad_enum]
    detail = web.client.get(f"/ui/reports/{bad_bic}").text
    msg_id = re.search(r"<dt>MsgId</dt><dd class=\"mono\">([^<]+)</dd>", detail)
    assert msg_id
    assert listed(web, f"?q={msg_id.group(1)}") == [bad_bic]
    assert listed(web, f"?q={UETR.upper()}") == [valid]
    assert listed(web, "?q=KLM-INV-2024-1187") == [valid]  # an EndToEndId
    assert listed(web, f"?q={minimal}") == [minimal]  # a report id
    assert listed(web, "?q=nothing-like-this") == []
    today = datetime.now(UTC).date()
    tomorrow = today + timedelta(days=1)
    assert len(listed(web, f"?from={today}&to={today}")) == 4
    assert listed(web, f"?from={tomorrow}") == []
    page = web.client.get("/ui/reports?from=yesterday&outcome=maybe")
    assert page.status_code == 200
    assert "is not a day" in page.text and "unknown outcome" in page.text


def test_keyset_pages_cover_every_report_once(web: WebEnv) -> None:
    for n in range(47):  # 51 reports: a full page and one more
        web.submit(unique(MINIMAL, f"p{n}-"), "EMEA")
    web.login_as("alice")
    seen: list[str] = []
    query = ""
    pages = 0
    while True:
        response = web.client.get(f"/ui/reports{query}")
        seen += _ROW_LINK.findall(response.text)
        pages += 1
        found = re.search(r'rel="next" href="/ui/reports\?([^"]+)"', response.text)
        if not found:
            break
        query = "?" + found.group(1).replace("&amp;", "&")
    assert pages == 2 and len(seen) == 51 and len(set(seen)) == 51
    assert seen[:4] == list(reversed(web.reports["EMEA"][-4:]))
    bad = web.client.get("/ui/reports?cursor=garbage")
    assert bad.status_code == 200 and "no longer valid" in bad.text


def test_detail_shows_findings_by_layer_masked_message_and_lifecycle(web: WebEnv) -> None:
    valid, bad_bic = web.reports["EMEA"][0], web.reports["EMEA"][1]
    web.login_as("alice")
    page = web.client.get(f"/ui/reports/{bad_bic}").text
    schema_at, business_at = (
        page.index('class="layer">schema'),
        page.index('class="layer">business'),
    )
    assert schema_at < business_at  # layers in pipeline order
    assert 'id="finding-0" data-code="schema.pattern"' in page
    assert "ISO reason <code>RC01</code>" in page and "rule <code>business.bic</code>" in page
    assert "/Document/FIToFICstmrCdtTrf/CdtTrfTxInf/CdtrAgt/FinInstnId/BICFI" in page
    assert '<tr id="line-41" class="hit">' in page
    assert 'href="#finding-0">#0</a><a class="mark" href="#finding-1">#1</a>' in page
    assert "<tr><td>schema</td><td>pacs.008.001.08</td>" in page  # what judged it
    assert "<tr><td>rule pack</td><td>business</td>" in page
    accepted = web.client.get(f"/ui/reports/{valid}").text
    assert "DE81370400440218455600" not in accepted  # the debtor's IBAN
    assert "DE******************00" in accepted
    assert "Kessler Logistik KG" not in accepted  # a party name
    assert "COBADEFFXXX" in accepted  # agents' BICs stay readable
    events = re.findall(r'<td class="mono">([0-9a-f-]{36})</td><td>payment\.', accepted)
    assert len(events) == 3
    assert "<tr><td>mapping</td><td>pacs.008.001.08</td><td>1</td>" in accepted
    Lifecycle(web.store).record_outbound(
        OutboundRecord(
            tenant="EMEA", message_id="OUT-1", source_event_id="e-1",
            source_event_type="payment.status", source_topic="emea.payments.status.v1",
            uetr=UETR, end_to_end_id=None, target="pacs.002.001.10", outcome="delivered",
            channels=("topic",), attempts=1, error=None, findings=[], body_sha256=None,
        )
    )  # fmt: skip
    with_outbound = web.client.get(f"/ui/reports/{valid}").text
    assert "Outbound messages sent (1)" in with_outbound and "OUT-1" in with_outbound
    web.client.cookies.clear()
    web.login_as("bob")
    na_page = web.client.get(f"/ui/reports/{web.reports['NA'][0]}").text
    assert "The payload is not stored for this tenant" in na_page


def test_review_workflow_records_immutable_actions(web: WebEnv) -> None:
    bad_bic = web.reports["EMEA"][1]
    web.login_as("alice")
    csrf = web.csrf()
    url = f"/ui/reports/{bad_bic}/reviews"

    def post(**data: str) -> int:
        response = web.client.post(url, data={"csrf_token": csrf, **data}, follow_redirects=False)
        return response.status_code

    assert post(action="waive", finding="0", text="   ") == 400  # a waiver needs a reason
    assert post(action="annotate", finding="", text="") == 400
    assert post(action="approve", finding="0", text="x") == 400
    assert post(action="acknowledge", finding="7", text="") == 400
    assert post(action="acknowledge", finding="one", text="") == 400
    assert review_count(web) == 0
    assert post(action="acknowledge", finding="0", text="") == 303
    assert post(action="waive", finding="0", text="BIC corrected by the bank, ticket 42") == 303
    assert post(action="annotate", finding="", text="Channel informed") == 303
    page = web.client.get(f"/ui/reports/{bad_bic}").text
    assert "BIC corrected by the bank, ticket 42" in page and "Channel informed" in page
    assert page.count("alice@EMEA (compliance)") == 3
    assert 'data-testid="status">waive<' in page  # the finding's latest action
    assert review_count(web) == 3
    assert web.client.put(url).status_code == 405 and web.client.delete(url).status_code == 405
    result = verify(web.store.engine, "EMEA")
    assert result.ok and result.count == 4 + 3  # four reports, three actions
    assert '<td class="num">3</td>' in web.client.get("/ui/reports").text
