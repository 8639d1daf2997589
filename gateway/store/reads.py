"""The reads of one inbound request on one pooled connection.

A request reads up to three things before its commit: the answer stored under its
idempotency key, whether its business message id was already accepted, and the
tenant's per-day totals (for the per-day limit rule). :class:`Reads` runs them on one
connection, taken from the pool at the first read and given back by :meth:`close`
(the service closes it before waiting for the group commit, so request threads never
hold connections the committer needs).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from types import TracebackType

from sqlalchemy import Connection, Engine, bindparam, select
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from gateway.errors import GatewayError
from gateway.store.tables import business_messages, daily_totals, idempotency

__all__ = ["Reads", "StoreUnavailable", "StoredAnswer"]

log = logging.getLogger(__name__)


class StoreUnavailable(GatewayError):
    """The database cannot be reached or refused the write (retriable)."""

    retriable = True


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """What is stored under an idempotency key: ``state`` ``done`` with the answer, or
    ``processing`` (an unfinished record left by earlier releases)."""

    payload_sha256: str
    state: str
    response_status: int | None
    response_body: bytes | None
    updated_at: datetime


_ANSWER = select(
    idempotency.c.payload_sha256,
    idempotency.c.state,
    idempotency.c.response_status,
    idempotency.c.response_body,
    idempotency.c.updated_at,
).where(idempotency.c.tenant == bindparam("tenant"), idempotency.c.key == bindparam("key"))
_SEEN = select(business_messages.c.report_id).where(
    business_messages.c.tenant == bindparam("tenant"),
    business_messages.c.business_message_id == bindparam("business_message_id"),
)
_DAILY = select(daily_totals.c.amount).where(
    daily_totals.c.tenant == bindparam("tenant"),
    daily_totals.c.day == bindparam("day"),
    daily_totals.c.currency == bindparam("currency"),
)


class Reads:
    """Reads on one connection (opened lazily); also a :class:`DailyTotals` reader."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None

    def __enter__(self) -> Reads:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Give the connection back. Ending a read-only transaction loses nothing: when
        the connection died meanwhile, the failed rollback has already closed it and
        dropped it from the pool, and that is not an error here (the commit, on a
        connection of its own, decides the answer)."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.close()
        except SQLAlchemyError as exc:
            log.debug("read connection lost at close: %s", exc)

    def _connected(self) -> Connection:
        if self._connection is None:
            try:
                self._connection = self._engine.connect()
            except OperationalError as exc:
                raise StoreUnavailable(f"database unavailable: {exc.orig}") from exc
        return self._connection

    def _scalar(self, statement: object, params: dict[str, object]) -> object:
        try:
            return self._connected().execute(statement, params).scalar()  # type: ignore[call-overload]
        except OperationalError as exc:
            self.close()
            raise StoreUnavailable(f"database unavailable: {exc.orig}") from exc

    def idempotent_answer(self, tenant: str, key: str) -> StoredAnswer | None:
        """The stored answer under ``(tenant, key)``, if a message was committed under it."""
        try:
            row = self._connected().execute(_ANSWER, {"tenant": tenant, "key": key}).first()
        except OperationalError as exc:
            self.close()
            raise StoreUnavailable(f"database unavailable: {exc.orig}") from exc
        if row is None:
            return None
        return StoredAnswer(
            row.payload_sha256,
            row.state,
            row.response_status,
            bytes(row.response_body) if row.response_body is not None else None,
            row.updated_at,
        )

    def seen_business_message(self, tenant: str, business_message_id: str) -> str | None:
        """The report that accepted ``business_message_id`` for the tenant, if any."""
        found = self._scalar(_SEEN, {"tenant": tenant, "business_message_id": business_message_id})
        return str(found) if found is not None else None

    def daily_total(self, tenant: str, day: date, currency: str) -> Decimal:
        found = self._scalar(_DAILY, {"tenant": tenant, "day": day, "currency": currency})
        return found if isinstance(found, Decimal) else Decimal(0)
