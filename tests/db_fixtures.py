"""Database fixtures: every store test runs against SQLite and the real PostgreSQL.

PostgreSQL: ``GATEWAY_TEST_POSTGRES_URL`` (default the CI machines' server,
``postgresql+psycopg://postgres@127.0.0.1:5432/test``). A fresh database is created
for the session and dropped at the end. When the server is unreachable the
PostgreSQL tests are skipped locally but FAIL in CI (``CI=true``): CI must run them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from gateway.store import Store

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """A PostgreSQL database of its own (URL), dropped afterwards; skipped when PostgreSQL
    is unreachable, except in CI where it is required."""
    base = make_url(os.environ.get("GATEWAY_TEST_POSTGRES_URL", DEFAULT_PG))
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL at {base.render_as_string()} is required in CI: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {base.render_as_string()}")
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with scratch_database("isogw_test") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A migrated, empty store on each database."""
    if request.param == "sqlite":
        instance = Store(f"sqlite:///{tmp_path / 'gateway.db'}")
    else:
        url: str = request.getfixturevalue("postgresql_clean_url")
        instance = Store(url)
    instance.migrate()
    try:
        yield instance
    finally:
        instance.close()


#: Every table the store's migrations create (emptied between tests).
_TABLES = (
    "reports",
    "outbox",
    "idempotency",
    "business_messages",
    "daily_totals",
    "payments",
    "outbound",
    "report_findings",
    "reviews",
    "chain_entries",
    "chain_heads",
    "ui_sessions",
)


@pytest.fixture
def postgresql_clean_url(postgres_url: str) -> str:
    """The session database with all rows removed (schema kept)."""
    engine = create_engine(postgres_url)
    with engine.begin() as connection:
        present = [
            name
            for name in _TABLES
            if connection.execute(text(f"SELECT to_regclass('public.{name}')")).scalar()
        ]
        if present:  # the tables an older schema of the session database has
            connection.execute(text(f"TRUNCATE {', '.join(present)} RESTART IDENTITY"))
    engine.dispose()
    return postgres_url
