"""The store: one class over SQLAlchemy Core for reports, outbox and idempotency.

Invariants it keeps:

* :meth:`Store.commit_inbound` writes the report, its outbox rows, the accepted
  business message id and the idempotent answer in **one transaction**: either all of
  it is durable or none of it is (DESIGN.md §5: a 2xx means durable).
  :meth:`Store.commit_grouped` does the same through a group commit: concurrent
  messages share one transaction and one fsync (:mod:`gateway.store.group_commit`),
  and a message refused inside a group is retried alone, so only it is refused.
* Idempotency keys are scoped by tenant. The answer to a key is stored with the
  message it answered (:meth:`Store.idempotent_answer` reads it back); a second
  commit under a key already stored fails with :class:`IdempotencyKeyTaken`.
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

import asyncio
import base64
import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    Connection,
    Engine,
    and_,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from gateway.daily_totals import DailyAmounts, DailyLimitExceeded
from gateway.errors import GatewayError
from gateway.outbox import LEASE, OutboxRow, OutboxStatus, decode_headers
from gateway.store.chain import ChainSigner
from gateway.store.errors import StoreUnavailable
from gateway.store.group_commit import GroupCommitter
from gateway.store.inbound_write import InboundCommit, add_daily, write_inbound
from gateway.store.reads import Reads, StoredAnswer
from gateway.store.tables import idempotency, outbox, reports
from gateway.store.writelock import WriteLock, WriteLockTimeout

__all__ = [
    "STALE_CLAIM",
    "DuplicateBusinessMessage",
    "IdempotencyKeyTaken",
    "InboundCommit",
    "ReportPage",
    "Store",
    "StoreUnavailable",
    "StoredAnswer",
]

STALE_CLAIM = timedelta(minutes=5)
#: How long a SQLite writer waits for the file's write lock before a 503.
SQLITE_BUSY_TIMEOUT_S = 30.0
#: Connections kept open per process: one per request thread (the HTTP server runs up to
#: 40) would be more than the reads need; connections beyond it are opened for a burst
#: and closed again (on SQLite each new one also sets its pragmas).
POOL_SIZE = 20
POOL_OVERFLOW = 20
_MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class DuplicateBusinessMessage(GatewayError):
    """Another accepted message of this tenant already carries the business message id."""


class IdempotencyKeyTaken(GatewayError):
    """A message was already committed under this tenant's idempotency key."""


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
    cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # Write transactions start IMMEDIATE: they hold SQLite's write lock from their first
    # statement, so "read due rows, then lease them" cannot interleave between writers.
    immediate = connection.info.get("immediate", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


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


_ANY_DUE = (
    select(outbox.c.id)
    .where(outbox.c.status == "pending", outbox.c.next_attempt_at <= bindparam("now"))
    .limit(1)
)


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        #: signs the tenant's chain head at each commit (gateway.store.chain), when set
        self.chain_signer: ChainSigner | None = None
        self._committer: GroupCommitter[InboundCommit] | None = None
        self._committer_lock = threading.Lock()
        #: SQLite file: write transactions take turns (gateway.store.writelock)
        self._write_lock: WriteLock | None = None
        if url.startswith("sqlite"):
            database = url.split("///", 1)[-1]
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            on_disk = "///" in url and database not in ("", ":memory:")
            pool = {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW} if on_disk else {}
            if on_disk:
                self._write_lock = WriteLock(Path(database), timeout_s=SQLITE_BUSY_TIMEOUT_S)
            self.engine: Engine = create_engine(
                url,
                connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S},
                **pool,
            )
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
        else:
            self.engine = create_engine(
                url, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW
            )

    def close(self) -> None:
        with self._committer_lock:
            committer, self._committer = self._committer, None
        if committer is not None:
            committer.close()
        self.engine.dispose()
        if self._write_lock is not None:
            self._write_lock.close()

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
        """A write transaction (IMMEDIATE on SQLite, after this store's write turn)."""
        if self._write_lock is None:
            with self._transaction() as connection:
                yield connection
            return
        try:
            with self._write_lock.held(), self._transaction() as connection:
                yield connection
        except WriteLockTimeout as exc:
            raise StoreUnavailable(f"database busy: {exc}") from exc

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
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

    def reads(self) -> Reads:
        """One request's reads on one connection (close it, or use it as a context)."""
        return Reads(self.engine)

    def idempotent_answer(self, tenant: str, key: str) -> StoredAnswer | None:
        """The stored answer under ``(tenant, key)``, if a message was committed under it."""
        with self.reads() as reads:
            return reads.idempotent_answer(tenant, key)

    def drop_stale_claim(self, tenant: str, key: str, before: datetime) -> None:
        """Remove an unfinished ``processing`` record older than ``before`` (written by
        releases before answers were stored with their message)."""
        with self._begin() as connection:
            connection.execute(
                delete(idempotency).where(
                    idempotency.c.tenant == tenant,
                    idempotency.c.key == key,
                    idempotency.c.state == "processing",
                    idempotency.c.updated_at < before,
                )
            )

    def seen_business_message(self, tenant: str, business_message_id: str) -> str | None:
        with self.reads() as reads:
            return reads.seen_business_message(tenant, business_message_id)

    # -- the inbound transaction ------------------------------------------------------

    def commit_inbound(self, commit: InboundCommit) -> None:
        """Report + outbox rows + business id + per-day totals + payments index +
        findings index + hash chain entry + idempotent answer of one message, one
        transaction (:func:`gateway.store.inbound_write.write_inbound`). Raises
        :class:`DuplicateBusinessMessage`, :class:`IdempotencyKeyTaken` or
        :class:`~gateway.daily_totals.DailyLimitExceeded` when the write is refused
        (then nothing is stored), :class:`StoreUnavailable` when the database is."""
        try:
            with self._begin() as connection:
                write_inbound(connection, [commit], signer=self.chain_signer)
        except IntegrityError as exc:
            raise self._refusal(commit, exc) from exc

    def commit_inbound_group(self, commits: Sequence[InboundCommit]) -> list[Exception | None]:
        """Commit several messages in one transaction; each one's outcome (``None``:
        stored). When the group is refused (a key taken, a limit crossed), each message
        is committed alone, so only those concerned are refused."""
        if len(commits) > 1:
            try:
                with self._begin() as connection:
                    write_inbound(connection, commits, signer=self.chain_signer)
                return [None] * len(commits)
            except (IntegrityError, DailyLimitExceeded):
                pass
            except StoreUnavailable as exc:
                return [exc] * len(commits)
        outcomes: list[Exception | None] = []
        for commit in commits:
            try:
                self.commit_inbound(commit)
                outcomes.append(None)
            except (GatewayError, DailyLimitExceeded) as exc:
                outcomes.append(exc)
        return outcomes

    def commit_grouped(self, commit: InboundCommit) -> None:
        """:meth:`commit_inbound` through the group commit (blocks until durable)."""
        self._group_committer().commit(commit)

    async def commit_grouped_async(self, commit: InboundCommit) -> None:
        """:meth:`commit_grouped` for the event loop: awaits the group's commit."""
        await asyncio.wrap_future(self._group_committer().enqueue(commit))

    def _group_committer(self) -> GroupCommitter[InboundCommit]:
        with self._committer_lock:
            if self._committer is None:
                self._committer = GroupCommitter(self.commit_inbound_group)
            return self._committer

    def commit_groups(self) -> tuple[int, int]:
        """Groups written by :meth:`commit_grouped` so far, and the messages in them."""
        committer = self._committer
        return (committer.groups, committer.items) if committer is not None else (0, 0)

    def _refusal(self, commit: InboundCommit, exc: IntegrityError) -> Exception:
        """Which unique key refused a single message's commit."""
        if self.idempotent_answer(commit.tenant, commit.idempotency_key) is not None:
            return IdempotencyKeyTaken(commit.idempotency_key)
        business_id = commit.register_business_id
        if business_id is not None and self.seen_business_message(commit.tenant, business_id):
            return DuplicateBusinessMessage(business_id)
        return StoreUnavailable(f"write refused: {exc.orig}")

    # -- per-day totals (gateway.daily_totals.DailyTotals) -------------------------------

    def daily_total(self, tenant: str, day: date, currency: str) -> Decimal:
        with self.reads() as reads:
            return reads.daily_total(tenant, day, currency)

    def add_daily_amounts(self, tenant: str, amounts: DailyAmounts) -> None:
        with self._begin() as connection:
            add_daily(connection, [(tenant, amounts)], datetime.now(UTC))

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
        ``FOR UPDATE SKIP LOCKED``, so concurrent relays never fetch the same row). An
        idle poll only reads: the write transaction starts once a row is due."""
        try:
            with self.engine.connect() as connection:
                if connection.execute(_ANY_DUE, {"now": now}).first() is None:
                    return []
        except OperationalError as exc:
            raise StoreUnavailable(f"database unavailable: {exc.orig}") from exc
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
                headers=decode_headers(row.headers),
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
