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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from types import TracebackType
from typing import Any

from sqlalchemy import Dialect, Engine, Select, bindparam, select
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.pool import PoolProxiedConnection

from gateway.store.errors import StoreUnavailable
from gateway.store.tables import business_messages, daily_totals, idempotency

__all__ = ["Reads", "StoredAnswer"]

log = logging.getLogger(__name__)


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


_Processor = Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A statement as the driver takes it: its SQL, how to lay out and convert the
    parameters, and how to convert the row back (the column types' own processors for
    the dialect, as SQLAlchemy's execution would apply them)."""

    sql: str
    order: tuple[str, ...] | None  # positional parameter names; None: named parameters
    binds: Mapping[str, _Processor]
    results: tuple[_Processor, ...]

    @classmethod
    def of(cls, statement: Select[Any], dialect: Dialect) -> _Compiled:
        compiled = statement.compile(dialect=dialect)
        order = tuple(compiled.positiontup or ()) if compiled.positional else None
        binds = {
            name: bind.type.dialect_impl(dialect).bind_processor(dialect)
            for name, bind in compiled.binds.items()
        }
        results = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in statement.selected_columns
        )
        return cls(str(compiled), order, binds, results)

    def params(self, values: dict[str, object]) -> Sequence[object] | dict[str, object]:
        bound = {
            name: value if (process := self.binds[name]) is None else process(value)
            for name, value in values.items()
        }
        return bound if self.order is None else [bound[name] for name in self.order]

    def row(self, raw: Sequence[object]) -> tuple[Any, ...]:
        return tuple(
            value if process is None or value is None else process(value)
            for value, process in zip(raw, self.results, strict=True)
        )


#: per dialect name: the three reads compiled once
_COMPILED: dict[str, tuple[_Compiled, _Compiled, _Compiled]] = {}


def _compiled(dialect: Dialect) -> tuple[_Compiled, _Compiled, _Compiled]:
    if dialect.name not in _COMPILED:
        answer, seen, daily = (_Compiled.of(s, dialect) for s in (_ANSWER, _SEEN, _DAILY))
        _COMPILED[dialect.name] = (answer, seen, daily)
    return _COMPILED[dialect.name]


class Reads:
    """Reads on one pooled connection (taken at the first read); also a reader of the
    per-day totals (:class:`gateway.daily_totals.DailyTotalReader`).

    These three reads run for every message, so they go to the driver directly with
    their SQL compiled once per dialect: no SQLAlchemy execution context, and on SQLite
    no transaction around single-statement reads (pysqlite in autocommit mode)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._answer, self._seen, self._daily = _compiled(engine.dialect)
        dbapi = engine.dialect.loaded_dbapi
        self._lost: tuple[type[BaseException], ...] = (
            dbapi.OperationalError,
            dbapi.InterfaceError,
            OperationalError,
        )
        self._closing = (SQLAlchemyError, *self._lost)
        self._connection: PoolProxiedConnection | None = None

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
        """Give the connection back. Ending a read-only transaction loses nothing: a
        connection that died meanwhile is dropped from the pool, and that is not an
        error here (the commit, on a connection of its own, decides the answer)."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.close()
        except self._closing as exc:
            log.debug("read connection lost at close: %s", exc)
            connection.invalidate()

    def _row(self, compiled: _Compiled, values: dict[str, object]) -> tuple[Any, ...] | None:
        try:
            if self._connection is None:
                self._connection = self._engine.raw_connection()
            cursor = self._connection.cursor()
            try:
                cursor.execute(compiled.sql, compiled.params(values))
                row = cursor.fetchone()
            finally:
                cursor.close()
        except self._lost as exc:
            connection, self._connection = self._connection, None
            if connection is not None:
                connection.invalidate()
            raise StoreUnavailable(f"database unavailable: {getattr(exc, 'orig', exc)}") from exc
        return compiled.row(row) if row is not None else None

    def idempotent_answer(self, tenant: str, key: str) -> StoredAnswer | None:
        """The stored answer under ``(tenant, key)``, if a message was committed under it."""
        row = self._row(self._answer, {"tenant": tenant, "key": key})
        if row is None:
            return None
        sha, state, status, body, updated_at = row
        return StoredAnswer(
            sha, state, status, bytes(body) if body is not None else None, updated_at
        )

    def seen_business_message(self, tenant: str, business_message_id: str) -> str | None:
        """The report that accepted ``business_message_id`` for the tenant, if any."""
        row = self._row(self._seen, {"tenant": tenant, "business_message_id": business_message_id})
        return str(row[0]) if row is not None else None

    def daily_total(self, tenant: str, day: date, currency: str) -> Decimal:
        row = self._row(self._daily, {"tenant": tenant, "day": day, "currency": currency})
        return row[0] if row is not None and row[0] is not None else Decimal(0)
