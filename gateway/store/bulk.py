"""Bulk inserts for the hot write path: one ``executemany`` per table, no per-statement
expression building.

The inbound commit inserts into seven tables for every message. Through SQLAlchemy Core
each ``insert()`` costs an expression, a cache key and an execution context before the
driver sees it; here the SQL text is made once per table, column set and dialect, and
each value goes through the column type's own bind processor for that dialect (the very
conversion Core applies: UTC timestamps as SQLite text or ``timestamptz``, decimals as
text, ...), so what is stored is what a Core insert would have stored. The rows reach the
driver through :meth:`Connection.exec_driver_sql`, which keeps SQLAlchemy's transaction,
error translation (``IntegrityError``, ``OperationalError``) and disconnect handling.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Dialect, Table

__all__ = ["insert_rows"]

_Processor = Callable[[Any], Any] | None
#: (table, columns, dialect name) -> (SQL, one bind processor per column)
_PLANS: dict[tuple[str, tuple[str, ...], str], tuple[str, tuple[_Processor, ...]]] = {}


def _plan(
    table: Table, columns: tuple[str, ...], dialect: Dialect
) -> tuple[str, tuple[_Processor, ...]]:
    key = (table.name, columns, dialect.name)
    found = _PLANS.get(key)
    if found is None:
        quote = dialect.identifier_preparer.quote
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        sql = (
            f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
            f"VALUES ({', '.join(mark for _ in columns)})"
        )
        if dialect.paramstyle not in ("qmark", "format", "pyformat"):
            raise NotImplementedError(f"paramstyle {dialect.paramstyle!r}")
        processors = tuple(
            table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns
        )
        found = _PLANS[key] = (sql, processors)
    return found


def insert_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (all with the same keys) with one ``executemany``."""
    if not rows:
        return
    columns = tuple(rows[0])
    sql, processors = _plan(table, columns, connection.dialect)
    bound = [
        tuple(
            value if process is None or value is None else process(value)
            for value, process in zip((row[c] for c in columns), processors, strict=True)
        )
        for row in rows
    ]
    connection.exec_driver_sql(sql, bound)
