"""Report search stays fast with 100,000+ reports (SQLite and PostgreSQL).

100,000 reports of one tenant (plus 20,000 of another) are bulk-inserted with their
findings index and payments rows; then the first page, a page 90,000 reports deep
(by cursor), and pages filtered by outcome, message id, a rare rule code and an
exact UETR are each read, timed, and checked against what was inserted. A keyset
page reads ~50 index entries wherever it starts, so each stays far below
:data:`BUDGET_S` (measured on a 2-core box: a few milliseconds).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, text

from gateway.store import Store
from gateway.store.findings_index import index_rows
from gateway.store.search import ReportFilter, SearchPage, encode_cursor, search_reports
from gateway.store.tables import payments, report_findings, reports
from tests.db_fixtures import scratch_database

N = 100_000
OTHER = 20_000
BUDGET_S = 0.25
START = datetime(2026, 1, 1, tzinfo=UTC)
MESSAGES = ("pacs.008.001.08", "pain.001.001.09", "fin.103", "camt.053.001.08")


def _rows(tenant: str, count: int, seed: int) -> Iterator[tuple[list[dict[str, Any]], ...]]:
    """Batches of (reports, findings index, payments) rows; report n is received n
    seconds after START; every 50th is rejected with schema.pattern, every 997th
    also with the rare rule cbpr.rare; every 10th has a payment with a UETR."""
    batch: tuple[list[dict[str, Any]], ...] = ([], [], [])
    for n in range(count):
        report_id = str(uuid.UUID(int=seed * 10**9 + n))
        at = START + timedelta(seconds=n)
        rejected = n % 50 == 0
        findings = [{"code": "mapping.unmapped", "severity": "warning", "layer": "mapping"}]
        if rejected:
            findings.append({"code": "schema.pattern", "severity": "error", "layer": "schema"})
        if n % 997 == 0:
            findings.append({"code": "cbpr.rare", "severity": "error", "layer": "scheme"})
        body = {
            "report_id": report_id, "tenant": tenant, "received_at": at.isoformat(),
            "message_id": MESSAGES[n % 4], "business_message_id": f"MSG-{tenant}-{n}",
            "payload_sha256": "0" * 64, "payload_size": 1000, "findings": findings,
            "outcome": "rejected" if rejected else "accepted_with_warnings",
        }  # fmt: skip
        batch[0].append(
            {
                "id": report_id, "tenant": tenant, "received_at": at, "channel": "http",
                "message_id": MESSAGES[n % 4], "business_message_id": f"MSG-{tenant}-{n}",
                "outcome": body["outcome"], "payload_sha256": "0" * 64, "payload_size": 1000,
                "report": json.dumps(body),
            }
        )  # fmt: skip
        batch[1].extend(index_rows(tenant, report_id, at, findings))
        if n % 10 == 0:
            batch[2].append(
                {
                    "tenant": tenant, "uetr": str(uuid.UUID(int=seed * 10**9 + 5 * 10**8 + n)),
                    "end_to_end_id": f"E2E-{n}", "report_id": report_id,
                    "event_id": str(uuid.uuid4()), "received_at": at,
                }
            )  # fmt: skip
        if len(batch[0]) == 10_000:
            yield batch
            batch = ([], [], [])
    if batch[0]:
        yield batch


def _fill(store: Store) -> None:
    for tenant, count, seed in (("EMEA", N, 1), ("NA", OTHER, 2)):
        for report_rows, finding_rows, payment_rows in _rows(tenant, count, seed):
            with store.engine.begin() as connection:
                connection.execute(insert(reports), report_rows)
                connection.execute(insert(report_findings), finding_rows)
                connection.execute(insert(payments), payment_rows)
    if store.engine.dialect.name == "postgresql":
        with store.engine.begin() as connection:
            connection.execute(text("ANALYZE"))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def big(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    """A store of its own (PostgreSQL: a database of its own) with 120,000 reports."""
    if request.param == "sqlite":
        store = Store(f"sqlite:///{tmp_path_factory.mktemp('big') / 'big.db'}")
        store.migrate()
        _fill(store)
        yield store
        store.close()
        return
    with scratch_database("isogw_big") as url:
        store = Store(url)
        try:
            store.migrate()
            _fill(store)
            yield store
        finally:
            store.close()


def timed(store: Store, flt: ReportFilter, cursor: str | None = None) -> SearchPage:
    search_reports(store.engine, flt, cursor=cursor, limit=50)  # warm (plans, pages)
    started = time.perf_counter()
    page = search_reports(store.engine, flt, cursor=cursor, limit=50)
    elapsed = time.perf_counter() - started
    assert elapsed < BUDGET_S, f"{flt} took {elapsed * 1000:.1f} ms"
    return page


def numbers(page: SearchPage) -> list[int]:
    return [int(item["business_message_id"].rsplit("-", 1)[1]) for item in page.items]


def test_first_and_deep_pages_cost_the_same(big: Store) -> None:
    emea = ReportFilter(tenant="EMEA")
    first = timed(big, emea)
    assert numbers(first) == list(range(N - 1, N - 51, -1))
    assert first.next_cursor is not None
    # 90,000 reports deep: a cursor is the (received_at, id) of the last report seen
    deep_cursor = encode_cursor(START + timedelta(seconds=10_000), "")
    deep = timed(big, emea, deep_cursor)
    assert numbers(deep) == list(range(9_999, 9_949, -1))
    tail = timed(big, emea, encode_cursor(START + timedelta(seconds=20), ""))
    assert numbers(tail) == list(range(19, -1, -1)) and tail.next_cursor is None
    everyone = timed(big, ReportFilter(tenant=None), deep_cursor)  # the admin view
    pairs = [(item["tenant"], n) for item, n in zip(everyone.items, numbers(everyone), strict=True)]
    assert pairs == [(tenant, n) for n in range(9_999, 9_974, -1) for tenant in ("NA", "EMEA")]


def test_filtered_pages_stay_fast(big: Store) -> None:
    rejected = timed(big, ReportFilter(tenant="EMEA", outcome="rejected"))
    assert numbers(rejected) == list(range(99_950, 97_450, -50))
    deeper = timed(big, ReportFilter(tenant="EMEA", outcome="rejected"), rejected.next_cursor)
    assert numbers(deeper)[0] == 97_450
    fin = timed(big, ReportFilter(tenant="EMEA", message_id="fin.103"))
    assert numbers(fin)[:3] == [99_998, 99_994, 99_990]
    rare = timed(big, ReportFilter(tenant="EMEA", term="cbpr.rare"))
    assert numbers(rare)[:3] == [99_700, 98_703, 97_706] and len(rare.items) == 50
    rare_rejected = timed(big, ReportFilter(tenant="EMEA", term="cbpr.rare", outcome="rejected"))
    assert all(n % 50 == 0 and n % 997 == 0 for n in numbers(rare_rejected))
    by_uetr = timed(
        big, ReportFilter(tenant="EMEA", text=str(uuid.UUID(int=10**9 + 5 * 10**8 + 4_200)))
    )
    assert numbers(by_uetr) == [4_200]
    by_msgid = timed(big, ReportFilter(tenant="EMEA", text="MSG-EMEA-123"))
    assert numbers(by_msgid) == [123]
    assert timed(big, ReportFilter(tenant="NA", text="MSG-EMEA-123")).items == []
    window = ReportFilter(
        tenant="EMEA",
        start=START + timedelta(seconds=50_000),
        end=START + timedelta(seconds=50_100),
        term="schema.pattern",
    )
    assert numbers(timed(big, window)) == [50_050, 50_000]
