"""The store on SQLite and on the real PostgreSQL (see tests/db_fixtures.py)."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect

from gateway.outbox import LEASE, NewOutboxRow
from gateway.report import Outcome, Report
from gateway.store import DuplicateBusinessMessage, IdempotencyKeyTaken, InboundCommit, Store
from gateway.store.store import STALE_CLAIM
from gateway.store.tables import metadata

# Rows are stamped with the real clock on commit: the test clock must stay ahead of it for
# the whole run (however long the suite takes).
NOW = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)


def report(
    tenant: str = "EMEA",
    *,
    at: datetime = NOW,
    outcome: Outcome = Outcome.ACCEPTED,
    message_id: str = "pacs.008.001.08",
    business_id: str | None = "MSG-1",
) -> Report:
    return Report(
        report_id=str(uuid.uuid4()),
        tenant=tenant,
        received_at=at,
        message_id=message_id,
        business_message_id=business_id,
        payload_sha256="0" * 64,
        payload_size=10,
        outcome=outcome,
        findings=[],
    )


def rows(report_id: str, n: int, tenant: str = "EMEA") -> list[NewOutboxRow]:
    return [
        NewOutboxRow(
            tenant=tenant,
            event_id=str(uuid.uuid4()),
            topic=f"{tenant.lower()}.payments.initiation.v1",
            key=f"k{i}".encode(),
            headers=(("ce_id", b"x"), ("ce_type", b"\x00\xffbinary")),
            value=b'{"n":%d}' % i,
            report_id=report_id,
        )
        for i in range(n)
    ]


def inbound(
    rep: Report,
    key: str,
    n: int = 2,
    tenant: str = "EMEA",
    *,
    sha: str = "sha",
    status: int = 202,
    body: bytes = b'{"ok":true}',
    payload: bytes | None = None,
) -> InboundCommit:
    return InboundCommit(
        tenant=tenant,
        idempotency_key=key,
        payload_sha256=sha,
        report=rep,
        correlation_id="c-1",
        payload=payload,
        response_status=status,
        response_body=body,
        rows=rows(rep.report_id, n, tenant),
        register_business_id=rep.business_message_id if status == 202 else None,
    )


def commit(store: Store, rep: Report, key: str, n: int = 2, tenant: str = "EMEA") -> None:
    store.commit_inbound(inbound(rep, key, n, tenant))


def test_migrations_create_the_declared_schema(store: Store) -> None:
    inspector = inspect(store.engine)
    for table in metadata.tables.values():
        columns = {c["name"] for c in inspector.get_columns(table.name)}
        assert columns == {c.name for c in table.columns}, table.name
    store.migrate()  # idempotent


def test_idempotent_answer_is_stored_with_the_message(store: Store) -> None:
    assert store.idempotent_answer("EMEA", "key-1") is None
    rep = report(business_id=None)
    store.commit_inbound(inbound(rep, "key-1", 0, sha="sha-a", status=422, body=b"body"))
    answer = store.idempotent_answer("EMEA", "key-1")
    assert answer is not None
    assert (answer.payload_sha256, answer.state) == ("sha-a", "done")
    assert (answer.response_status, answer.response_body) == (422, b"body")
    assert store.idempotent_answer("NA", "key-1") is None  # scoped by tenant
    # a second message under the key is refused and nothing of it is stored
    again = report(business_id="OTHER")
    with pytest.raises(IdempotencyKeyTaken):
        store.commit_inbound(inbound(again, "key-1", 2, sha="sha-b"))
    assert store.get_report("EMEA", again.report_id) is None
    assert store.seen_business_message("EMEA", "OTHER") is None
    assert store.fetch_pending(100, NOW + timedelta(seconds=1)) == []


def test_only_stale_unfinished_records_are_dropped(store: Store) -> None:
    from gateway.store.tables import idempotency

    with store.engine.begin() as connection:
        for key in ("old", "done"):
            connection.execute(
                idempotency.insert().values(
                    tenant="EMEA", key=key, payload_sha256="sha",
                    state="processing" if key == "old" else "done", response_status=202,
                    response_body=b"", created_at=NOW, updated_at=NOW,
                )
            )  # fmt: skip
    store.drop_stale_claim("EMEA", "old", NOW)  # not older than NOW: kept
    assert store.idempotent_answer("EMEA", "old") is not None
    store.drop_stale_claim("EMEA", "old", NOW + STALE_CLAIM)
    assert store.idempotent_answer("EMEA", "old") is None
    store.drop_stale_claim("EMEA", "done", NOW + STALE_CLAIM)  # answers stay
    assert store.idempotent_answer("EMEA", "done") is not None


def test_concurrent_commits_under_one_key_let_exactly_one_through(store: Store) -> None:
    results: list[str] = []
    barrier = threading.Barrier(8)

    def worker(i: int) -> None:
        barrier.wait()
        try:
            store.commit_grouped(inbound(report(business_id=f"B{i}"), "same", 1))
            results.append("stored")
        except IdempotencyKeyTaken:
            results.append("taken")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["stored"] + ["taken"] * 7
    assert len(store.fetch_pending(100, NOW + timedelta(seconds=1))) == 1


def test_a_group_commit_refuses_only_the_message_concerned(store: Store) -> None:
    commit(store, report(business_id="TAKEN"), "first", n=1)
    group = [
        inbound(report(business_id="G1"), "g1", 2),
        inbound(report(business_id="TAKEN"), "g2", 2),  # business id already accepted
        inbound(report(business_id="G3"), "first", 2),  # idempotency key already used
        inbound(report(business_id=None), "g4", 1),
    ]
    outcomes = store.commit_inbound_group(group)
    assert outcomes[0] is None and outcomes[3] is None
    assert isinstance(outcomes[1], DuplicateBusinessMessage)
    assert isinstance(outcomes[2], IdempotencyKeyTaken)
    assert store.get_report("EMEA", group[0].report.report_id) is not None
    assert store.get_report("EMEA", group[1].report.report_id) is None
    assert store.get_report("EMEA", group[2].report.report_id) is None
    assert len(store.fetch_pending(100, NOW + timedelta(seconds=1))) == 1 + 2 + 1
    # a group without conflicts is one transaction for all
    clean = [inbound(report(business_id=f"C{i}"), f"c{i}", 1) for i in range(5)]
    assert store.commit_inbound_group(clean) == [None] * 5
    assert len(store.fetch_pending(100, NOW + timedelta(seconds=2))) == 5


def test_commit_is_one_transaction(store: Store) -> None:
    first = report(business_id="DUP")
    commit(store, first, "a", n=3)
    second = report(business_id="DUP")
    with pytest.raises(DuplicateBusinessMessage):
        store.commit_inbound(inbound(second, "b", 2))
    # nothing of the failed transaction is visible: no report, no outbox rows
    assert store.get_report("EMEA", second.report_id) is None
    assert len(store.fetch_pending(100, NOW + timedelta(seconds=1))) == 3
    assert store.seen_business_message("EMEA", "DUP") == first.report_id
    assert store.seen_business_message("NA", "DUP") is None


def test_reports_are_tenant_scoped_and_paginated(store: Store) -> None:
    made = []
    for i in range(7):
        rep = report(at=NOW + timedelta(seconds=i), business_id=f"B{i}",
                     outcome=Outcome.REJECTED if i % 2 else Outcome.ACCEPTED)  # fmt: skip
        commit(store, rep, f"k{i}", n=0)
        made.append(rep)
    other = report("NA", business_id="B0")
    commit(store, other, "k0", n=0, tenant="NA")
    assert store.get_report("EMEA", other.report_id) is None
    assert store.get_report("NA", other.report_id) is not None
    got = store.get_report("EMEA", made[0].report_id)
    assert got is not None and got["report_id"] == made[0].report_id
    assert got["correlation_id"] == "c-1"
    seen: list[str] = []
    cursor = None
    while True:
        page = store.list_reports("EMEA", cursor=cursor, limit=3)
        seen += [item["report_id"] for item in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [r.report_id for r in reversed(made)]
    rejected = store.list_reports("EMEA", outcome="rejected").items
    assert {r["report_id"] for r in rejected} == {made[i].report_id for i in (1, 3, 5)}
    window = store.list_reports(
        "EMEA", start=NOW + timedelta(seconds=2), end=NOW + timedelta(seconds=4)
    ).items
    assert [r["report_id"] for r in window] == [made[3].report_id, made[2].report_id]
    with pytest.raises(ValueError, match="cursor"):
        store.list_reports("EMEA", cursor="!!!not-a-cursor")


def test_outbox_lifecycle(store: Store) -> None:
    rep = report()
    commit(store, rep, "k", n=3)
    due = NOW + timedelta(seconds=1)
    pending = store.fetch_pending(10, due)
    assert [r.value for r in pending] == [b'{"n":0}', b'{"n":1}', b'{"n":2}']
    assert pending[0].headers == (("ce_id", b"x"), ("ce_type", b"\x00\xffbinary"))
    assert pending[0].key == b"k0"
    assert pending[0].created_at.tzinfo is not None
    store.mark_sent([pending[0].id], due)
    store.mark_retry(pending[1].id, "boom", due + timedelta(minutes=1))
    store.mark_dead(pending[2].id, "poison", due)
    assert store.fetch_pending(10, due) == []
    [retry] = store.fetch_pending(10, due + timedelta(minutes=2))
    assert retry.attempts == 1 and retry.last_error == "boom"
    stats = {(t, s): c for t, s, c, _age in store.outbox_stats(due)}
    assert stats == {("EMEA", "sent"): 1, ("EMEA", "pending"): 1, ("EMEA", "dead"): 1}


def test_payload_is_stored_only_when_asked(store: Store) -> None:
    rep = report(business_id=None)
    store.commit_inbound(inbound(rep, "k", 0))
    from sqlalchemy import select

    from gateway.store.tables import reports

    with store.engine.connect() as connection:
        stored = connection.execute(select(reports.c.payload)).scalar()
    assert stored is None


def test_fetched_rows_are_leased_to_one_relay(store: Store) -> None:
    rep = report()
    commit(store, rep, "k", n=4)
    due = NOW + timedelta(seconds=1)
    first = store.fetch_pending(3, due)
    second = store.fetch_pending(10, due)  # another relay: only what the first did not take
    assert [r.value for r in first] == [b'{"n":0}', b'{"n":1}', b'{"n":2}']
    assert [r.value for r in second] == [b'{"n":3}']
    assert store.fetch_pending(10, due) == []
    store.release([first[0].id], due)  # deferred: due again at once
    assert [r.id for r in store.fetch_pending(10, due)] == [first[0].id]
    expired = due + LEASE + timedelta(seconds=1)  # a relay that died: the lease runs out
    assert {r.id for r in store.fetch_pending(10, expired)} == {r.id for r in first + second}


def test_concurrent_relays_never_fetch_the_same_row(store: Store) -> None:
    rep = report()
    commit(store, rep, "k", n=60)
    due = NOW + timedelta(seconds=1)
    got: list[list[int]] = []
    barrier = threading.Barrier(4)

    def relay() -> None:
        barrier.wait()
        mine: list[int] = []
        while batch := store.fetch_pending(5, due):
            mine += [r.id for r in batch]
        got.append(mine)

    threads = [threading.Thread(target=relay) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [row_id for mine in got for row_id in mine]
    assert len(every) == 60 == len(set(every))


def test_the_postgresql_fixture_empties_every_table() -> None:
    from tests.db_fixtures import _TABLES

    assert set(_TABLES) == set(metadata.tables)
