"""The store: one class over SQLAlchemy Core for reports, outbox and idempotency.

Invariants it keeps:

* :meth:`Store.commit_inbound` writes the report, its outbox rows, the accepted
  business message id and the final idempotency response in **one transaction**:
  either all of it is durable or none of it is (DESIGN.md §5: a 2xx means durable).
* Idempotency keys are scoped by tenant. :meth:`Store.claim` inserts a
  ``processing`` record; a concurrent second claim sees it (409), a replay after
  completion gets the stored response, a different payload under the same key is
  refused. A claim left ``processing`` by a crashed worker may be taken over after
  :data:`STALE_CLAIM`. :meth:`Store.release_claim` removes a claim that produced no
  stored response (4xx before processing, 5xx), so nothing partial stays behind.
* Every read is filtered by tenant: another tenant's report id is simply absent.
* Every report is indexed by its finding codes and appended to its tenant's hash chain
  in its own transaction (:mod:`gateway.store.findings_index`, :mod:`gateway.store.chain`).
* Per-day totals (:class:`gateway.daily_totals.DailyTotals`) are added in the same
  transaction as the accepted message's report, their rows locked (PostgreSQL
  ``FOR UPDATE``; SQLite's write transactions are serial) and the tenant's limits
  re-checked there: a message that would cross one raises
  :class:`~gateway.daily_totals.DailyLimitExceeded` and nothing of it is stored.

SQLite runs in WAL mode with ``synchronous=FULL`` (a commit survives power loss)
and a busy timeout, so several threads can write.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    Connection,
    Engine,
    and_,
    create_engine,
    delete,
    event,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from gateway.daily_totals import DailyAmounts, check_limits
from gateway.errors import GatewayError
from gateway.outbox import LEASE, NewOutboxRow, OutboxRow, OutboxStatus
from gateway.report import Report
from gateway.store.chain import ChainSigner, append_report
from gateway.store.findings_index import insert_finding_terms
from gateway.store.lifecycle import insert_payments
from gateway.store.tables import business_messages, daily_totals, idempotency, outbox, reports

__all__ = [
    "STALE_CLAIM",
    "Claim",
    "DuplicateBusinessMessage",
    "ReportPage",
    "Store",
    "StoreUnavailable",
]

STALE_CLAIM = timedelta(minutes=5)
_MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class StoreUnavailable(GatewayError):
    """The database cannot be reached or refused the write (retriable)."""

    retriable = True


class DuplicateBusinessMessage(GatewayError):
    """Another accepted message of this tenant already carries the business message id."""


@dataclass(frozen=True, slots=True)
class Claim:
    kind: Literal["new", "replay", "mismatch", "in_progress"]
    response_status: int | None = None
    response_body: bytes | None = None


@dataclass(frozen=True, slots=True)
class ReportPage:
    items: list[dict[str, Any]]
    next_cursor: str | None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling is switched off: SQLAlchemy emits BEGIN itself
    # (see _sqlite_begin), so that write transactions can take the lock up front.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # Write transactions start IMMEDIATE: they hold SQLite's write lock from their first
    # statement, so "read due rows, then lease them" cannot interleave between writers.
    immediate = connection.info.get("immediate", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _encode_headers(headers: tuple[tuple[str, bytes], ...]) -> str:
    return json.dumps([[name, base64.b64encode(value).decode()] for name, value in headers])


def _decode_headers(text: str) -> tuple[tuple[str, bytes], ...]:
    return tuple((name, base64.b64decode(value)) for name, value in json.loads(text))


def _encode_cursor(received_at: datetime, report_id: str) -> str:
    raw = f"{received_at.isoformat()}|{report_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, report_id = raw.split("|", 1)
        return datetime.fromisoformat(stamp), report_id
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("invalid cursor") from exc


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        #: signs the tenant's chain head at each commit (gateway.store.chain), when set
        self.chain_signer: ChainSigner | None = None
        if url.startswith("sqlite"):
            database = url.split("///", 1)[-1]
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(
                url, connect_args={"check_same_thread": False, "timeout": 30}
            )
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
        else:
            self.engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)

    def close(self) -> None:
        self.engine.dispose()

    # -- schema ------------------------------------------------------------------

    def migrate(self) -> None:
        """Bring the schema to the newest migration (Alembic ``upgrade head``)."""
        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        with self._begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def ping(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(select(1))
            return True
        except SQLAlchemyError:
            return False

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        """A write transaction (IMMEDIATE on SQLite)."""
        try:
            with self.engine.connect() as connection:
                connection.info["immediate"] = True
                try:
                    with connection.begin():
                        yield connection
                finally:
                    connection.info["immediate"] = False
        except OperationalError as exc:
            raise StoreUnavailable(f"database unavailable: {exc.orig}") from exc

    # -- idempotency ---------------------------------------------------------------

    def claim(self, tenant: str, key: str, payload_sha256: str, now: datetime) -> Claim:
        try:
            with self._begin() as connection:
                connection.execute(
                    idempotency.insert().values(
                        tenant=tenant,
                        key=key,
                        payload_sha256=payload_sha256,
                        state="processing",
                        created_at=now,
                        updated_at=now,
                    )
                )
            return Claim("new")
        except IntegrityError:
            pass
        with self._begin() as connection:
            row = connection.execute(
                select(idempotency).where(idempotency.c.tenant == tenant, idempotency.c.key == key)
            ).first()
            if row is None:  # released between our insert and this read: try once more
                return self.claim(tenant, key, payload_sha256, now)
            if row.payload_sha256 != payload_sha256:
                return Claim("mismatch")
            if row.state == "done":
                return Claim("replay", row.response_status, row.response_body)
            if now - row.updated_at > STALE_CLAIM:
                taken = connection.execute(
                    update(idempotency)
                    .where(
                        idempotency.c.tenant == tenant,
                        idempotency.c.key == key,
                        idempotency.c.updated_at == row.updated_at,
                    )
                    .values(updated_at=now)
                )
                if taken.rowcount == 1:
                    return Claim("new")
            return Claim("in_progress")

    def release_claim(self, tenant: str, key: str) -> None:
        with self._begin() as connection:
            connection.execute(
                delete(idempotency).where(
                    idempotency.c.tenant == tenant,
                    idempotency.c.key == key,
                    idempotency.c.state == "processing",
                )
            )

    def seen_business_message(self, tenant: str, business_message_id: str) -> str | None:
        with self.engine.connect() as connection:
            found = connection.execute(
                select(business_messages.c.report_id).where(
                    business_messages.c.tenant == tenant,
                    business_messages.c.business_message_id == business_message_id,
                )
            ).scalar()
        return str(found) if found is not None else None

    # -- the inbound transaction ------------------------------------------------------

    def commit_inbound(
        self,
        *,
        tenant: str,
        idempotency_key: str,
        report: Report,
        correlation_id: str,
        payload: bytes | None,
        rows: list[NewOutboxRow],
        register_business_id: str | None,
        response_status: int,
        response_body: bytes,
        daily: DailyAmounts | None = None,
        payments: list[dict[str, Any]] | None = None,
    ) -> None:
        """Report + outbox rows + business id + per-day totals + payments index
        (:func:`gateway.store.lifecycle.payment_rows`) + findings index + hash chain
        entry (:mod:`gateway.store.chain`) + idempotent response, one transaction.
        ``daily``: an accepted message's amounts, added to the tenant's per-day totals
        (:class:`DailyLimitExceeded` if a limit would be crossed: then nothing is
        stored)."""
        now = datetime.now(UTC)
        try:
            with self._begin() as connection:
                connection.execute(
                    reports.insert().values(
                        id=report.report_id,
                        tenant=tenant,
                        received_at=report.received_at,
                        channel=report.channel,
                        correlation_id=correlation_id,
                        message_id=report.message_id,
                        business_message_id=report.business_message_id,
                        outcome=report.outcome.value,
                        payload_sha256=report.payload_sha256,
                        payload_size=report.payload_size,
                        report=report.model_dump_json(),
                        payload=payload,
                    )
                )
                if register_business_id is not None:
                    connection.execute(
                        business_messages.insert().values(
                            tenant=tenant,
                            business_message_id=register_business_id,
                            report_id=report.report_id,
                            created_at=now,
                        )
                    )
                if rows:
                    connection.execute(
                        outbox.insert(),
                        [
                            {
                                "tenant": row.tenant,
                                "event_id": row.event_id,
                                "topic": row.topic,
                                "key": row.key,
                                "headers": _encode_headers(row.headers),
                                "value": row.value,
                                "report_id": row.report_id,
                                "status": "pending",
                                "attempts": 0,
                                "created_at": now,
                                "next_attempt_at": now,
                            }
                            for row in rows
                        ],
                    )
                if daily is not None:
                    self._add_daily(connection, tenant, daily, now)
                insert_payments(connection, payments or [])
                findings = [item.model_dump() for item in report.findings]
                insert_finding_terms(
                    connection, tenant, report.report_id, report.received_at, findings
                )
                append_report(connection, tenant, report.report_id, self.chain_signer)
                done = connection.execute(
                    update(idempotency)
                    .where(idempotency.c.tenant == tenant, idempotency.c.key == idempotency_key)
                    .values(
                        state="done",
                        response_status=response_status,
                        response_body=response_body,
                        report_id=report.report_id,
                        updated_at=now,
                    )
                )
                if done.rowcount != 1:
                    raise StoreUnavailable("idempotency claim vanished before commit")
        except IntegrityError as exc:
            if register_business_id is not None and "business_messages" in str(exc.orig).lower():
                raise DuplicateBusinessMessage(register_business_id) from exc
            if register_business_id is not None and self.seen_business_message(
                tenant, register_business_id
            ):
                raise DuplicateBusinessMessage(register_business_id) from exc
            raise StoreUnavailable(f"write refused: {exc.orig}") from exc

    # -- per-day totals (gateway.daily_totals.DailyTotals) -------------------------------

    def daily_total(self, tenant: str, day: date, currency: str) -> Decimal:
        with self.engine.connect() as connection:
            found = connection.execute(
                select(daily_totals.c.amount).where(
                    daily_totals.c.tenant == tenant,
                    daily_totals.c.day == day,
                    daily_totals.c.currency == currency,
                )
            ).scalar()
        return found if isinstance(found, Decimal) else Decimal(0)

    def add_daily_amounts(self, tenant: str, amounts: DailyAmounts) -> None:
        with self._begin() as connection:
            self._add_daily(connection, tenant, amounts, datetime.now(UTC))

    @staticmethod
    def _add_daily(
        connection: Connection, tenant: str, amounts: DailyAmounts, now: datetime
    ) -> None:
        """Create the day's rows if missing, lock them, re-check the limits, add."""
        if not amounts.amounts:
            return
        currencies = sorted(amounts.amounts)  # one lock order: no deadlock between writers
        insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
        connection.execute(
            insert(daily_totals)
            .values(
                [
                    {
                        "tenant": tenant,
                        "day": amounts.day,
                        "currency": currency,
                        "amount": Decimal(0),
                        "updated_at": now,
                    }
                    for currency in currencies
                ]
            )
            .on_conflict_do_nothing()
        )
        locked = connection.execute(
            select(daily_totals.c.currency, daily_totals.c.amount)
            .where(
                daily_totals.c.tenant == tenant,
                daily_totals.c.day == amounts.day,
                daily_totals.c.currency.in_(currencies),
            )
            .order_by(daily_totals.c.currency)
            .with_for_update()
        ).all()
        current: dict[str, Decimal] = {row.currency: row.amount for row in locked}
        totals = check_limits(lambda currency: current[currency], amounts)
        for currency in currencies:
            connection.execute(
                update(daily_totals)
                .where(
                    daily_totals.c.tenant == tenant,
                    daily_totals.c.day == amounts.day,
                    daily_totals.c.currency == currency,
                )
                .values(amount=totals[currency], updated_at=now)
            )

    # -- reports ------------------------------------------------------------------------

    def get_report(self, tenant: str, report_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(reports.c.report, reports.c.correlation_id).where(
                    reports.c.tenant == tenant, reports.c.id == report_id
                )
            ).first()
        if row is None:
            return None
        data: dict[str, Any] = json.loads(row.report)
        data["correlation_id"] = row.correlation_id
        return data

    def report_payload(self, tenant: str, report_id: str) -> bytes | None:
        """The raw payload of a report, when its tenant stores payloads."""
        with self.engine.connect() as connection:
            value = connection.execute(
                select(reports.c.payload).where(
                    reports.c.tenant == tenant, reports.c.id == report_id
                )
            ).scalar_one_or_none()
        return bytes(value) if value is not None else None

    def report_events(self, tenant: str, report_id: str) -> list[dict[str, Any]]:
        """The canonical events an accepted report emitted, in order (from the outbox:
        rows are kept after they are sent)."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(outbox.c.value)
                .where(outbox.c.tenant == tenant, outbox.c.report_id == report_id)
                .order_by(outbox.c.id)
            ).all()
        return [json.loads(row.value) for row in rows]

    def list_reports(
        self,
        tenant: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        outcome: str | None = None,
        message_id: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> ReportPage:
        """Newest first; ``cursor`` continues after the last item of the previous page."""
        conditions = [reports.c.tenant == tenant]
        if start is not None:
            conditions.append(reports.c.received_at >= start)
        if end is not None:
            conditions.append(reports.c.received_at < end)
        if outcome is not None:
            conditions.append(reports.c.outcome == outcome)
        if message_id is not None:
            conditions.append(reports.c.message_id == message_id)
        if cursor is not None:
            stamp, last_id = _decode_cursor(cursor)
            conditions.append(
                or_(
                    reports.c.received_at < stamp,
                    and_(reports.c.received_at == stamp, reports.c.id < last_id),
                )
            )
        query = (
            select(reports.c.id, reports.c.received_at, reports.c.report, reports.c.correlation_id)
            .where(*conditions)
            .order_by(reports.c.received_at.desc(), reports.c.id.desc())
            .limit(limit + 1)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        items = []
        for row in rows[:limit]:
            data = json.loads(row.report)
            data["correlation_id"] = row.correlation_id
            items.append(data)
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = _encode_cursor(last.received_at, last.id)
        return ReportPage(items, next_cursor)

    # -- outbox (gateway.outbox.OutboxSource) -------------------------------------------

    def fetch_pending(self, limit: int, now: datetime) -> list[OutboxRow]:
        """Due rows, oldest first, leased for :data:`gateway.outbox.LEASE` (PostgreSQL:
        ``FOR UPDATE SKIP LOCKED``, so concurrent relays never fetch the same row)."""
        due = (
            select(outbox.c.id)
            .where(outbox.c.status == "pending", outbox.c.next_attempt_at <= now)
            .order_by(outbox.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        with self._begin() as connection:
            ids = list(connection.execute(due).scalars())
            if not ids:
                return []
            connection.execute(
                update(outbox).where(outbox.c.id.in_(ids)).values(next_attempt_at=now + LEASE)
            )
            rows = connection.execute(
                select(outbox).where(outbox.c.id.in_(ids)).order_by(outbox.c.id)
            ).all()
        return [
            OutboxRow(
                tenant=row.tenant,
                event_id=row.event_id,
                topic=row.topic,
                key=row.key,
                headers=_decode_headers(row.headers),
                value=row.value,
                report_id=row.report_id,
                id=row.id,
                attempts=row.attempts,
                created_at=row.created_at,
                status=row.status,
                last_error=row.last_error,
            )
            for row in rows
        ]

    def release(self, ids: list[int], now: datetime) -> None:
        if not ids:
            return
        with self._begin() as connection:
            connection.execute(
                update(outbox)
                .where(outbox.c.id.in_(ids), outbox.c.status == "pending")
                .values(next_attempt_at=now)
            )

    def mark_sent(self, ids: list[int], now: datetime) -> None:
        if not ids:
            return
        with self._begin() as connection:
            connection.execute(
                update(outbox).where(outbox.c.id.in_(ids)).values(status="sent", sent_at=now)
            )

    def mark_retry(self, row_id: int, error: str, next_attempt_at: datetime) -> None:
        with self._begin() as connection:
            connection.execute(
                update(outbox)
                .where(outbox.c.id == row_id)
                .values(
                    attempts=outbox.c.attempts + 1,
                    last_error=error[:2000],
                    next_attempt_at=next_attempt_at,
                )
            )

    def mark_dead(self, row_id: int, error: str, now: datetime) -> None:
        with self._begin() as connection:
            connection.execute(
                update(outbox)
                .where(outbox.c.id == row_id)
                .values(
                    status="dead",
                    attempts=outbox.c.attempts + 1,
                    last_error=error[:2000],
                    sent_at=now,
                )
            )

    def outbox_stats(self, now: datetime) -> list[tuple[str, OutboxStatus, int, float]]:
        """(tenant, status, rows, age in seconds of the oldest row) per tenant and status."""
        query = select(
            outbox.c.tenant, outbox.c.status, func.count(), func.min(outbox.c.created_at)
        ).group_by(outbox.c.tenant, outbox.c.status)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        out = []
        for tenant, status, count, raw_oldest in rows:
            oldest = raw_oldest
            if isinstance(oldest, str):  # SQLite aggregates bypass the column type
                oldest = datetime.fromisoformat(oldest).replace(tzinfo=UTC)
            age = (now - oldest).total_seconds() if oldest is not None else 0.0
            out.append((tenant, status, int(count), age))
        return out
