"""Fixtures for the compliance UI tests: tenants with API keys and UI users, an app
over the real store (SQLite and PostgreSQL), reports from real submissions, and a
signed-in browser-like client (cookies, CSRF tokens read from the pages)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import text

from gateway.api.app import create_app
from gateway.kafka import MemoryPublisher
from gateway.pipeline import Gateway
from gateway.settings import Settings
from gateway.store import Store
from gateway.tenants import TenantRegistry
from gateway.web.settings import ComplianceSettings
from gateway.web.users import ComplianceUser, hash_password
from tests.api_fixtures import make_tenants
from tests.conftest import FIXTURES

VALID = (FIXTURES / "mx/pacs.008.001.08/valid/three_transactions.xml").read_bytes()
MINIMAL = (FIXTURES / "mx/pacs.008.001.08/valid/minimal.xml").read_bytes()
BAD_BIC = (FIXTURES / "mx/pacs.008.001.08/invalid/bad_bicfi_pattern.xml").read_bytes()
BAD_ENUM = (FIXTURES / "mx/pacs.008.001.08/invalid/bad_enum_chrgbr.xml").read_bytes()

#: (tenant, username, role, password): test users (cheap scrypt cost: these are tests)
USERS = (
    ("EMEA", "alice", "compliance", "alice-password-1"),
    ("NA", "bob", "compliance", "bob-password-123"),
    ("EMEA", "root", "admin", "root-password-12"),
)
#: Tables the session PostgreSQL database keeps between tests unless emptied here.
_OWN_TABLES = (
    "report_findings, reviews, chain_entries, chain_heads, ui_sessions, payments, outbound"
)
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_LOGIN = re.compile(r'name="login_token" value="([^"]+)"')


def add_users(folder: Path, users: tuple[tuple[str, str, str, str], ...] = USERS) -> None:
    """Write UI users straight into the tenant files (scrypt N=2^12: fast, still real)."""
    for tenant, username, role, password in users:
        path = folder / f"{tenant}.yaml"
        data = yaml.safe_load(path.read_text())
        user = ComplianceUser(
            username=username, role=role, password=hash_password(password, n=2**12)
        )  # type: ignore[arg-type]
        data.setdefault("compliance_users", []).append(user.model_dump(mode="json"))
        path.write_text(yaml.safe_dump(data, sort_keys=False))


def clean_own_tables(store: Store) -> None:
    if store.engine.dialect.name == "postgresql":
        with store.engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {_OWN_TABLES} RESTART IDENTITY"))


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


@dataclass
class WebEnv:
    client: TestClient
    store: Store
    keys: dict[str, str]
    tenants_dir: Path
    reports: dict[str, list[str]] = field(default_factory=dict)  # tenant -> report ids

    def submit(self, payload: bytes, tenant: str = "EMEA") -> dict[str, Any]:
        response = self.client.post(
            "/v1/messages",
            content=payload,
            headers={
                "Authorization": f"Bearer {self.keys[tenant]}",
                "Content-Type": "application/xml",
                "Idempotency-Key": str(uuid.uuid4()),
            },
        )
        assert response.status_code in (202, 422), response.text
        body: dict[str, Any] = response.json()
        self.reports.setdefault(tenant, []).append(body["report_id"])
        return body

    def login(
        self, tenant: str, username: str, password: str, *, client: TestClient | None = None
    ) -> httpx2.Response:
        client = client or self.client
        page = client.get("/ui/login")
        token = _LOGIN.search(page.text)
        assert token, page.text
        return client.post(
            "/ui/login",
            data={
                "tenant": tenant,
                "username": username,
                "password": password,
                "login_token": token.group(1),
            },
            follow_redirects=False,
        )

    def login_as(self, username: str, client: TestClient | None = None) -> None:
        tenant, _, _, password = next(u for u in USERS if u[1] == username)
        response = self.login(tenant, username, password, client=client)
        assert response.status_code == 303, response.text

    def csrf(self, path: str = "/ui/reports") -> str:
        return csrf_of(self.client.get(path).text)


def unique(payload: bytes, tag: str = "") -> bytes:
    """The message with its own MsgId (no duplicate business message id)."""
    text_ = payload.decode()
    start = text_.index("<MsgId>") + len("<MsgId>")
    end = text_.index("</MsgId>", start)
    return (text_[:start] + f"UI-{tag}{uuid.uuid4().hex[:12]}" + text_[end:]).encode()


def web_env(tmp_path: Path, store: Store, gateway: Gateway, settings: Settings) -> Iterator[WebEnv]:
    """The app with UI users; EMEA stores payloads. Reports (oldest first): EMEA three
    transactions (accepted with warnings), a bad BIC (rejected), a minimal transfer
    (accepted), a bad charge bearer code (rejected); NA three transactions. Test modules
    make it their ``web`` fixture (``yield from web_env(...)``)."""
    clean_own_tables(store)
    folder, keys = make_tenants(tmp_path, {"EMEA": {"store_payload: false": "store_payload: true"}})
    add_users(folder)
    app = create_app(
        settings,
        TenantRegistry.load(folder),
        gateway=gateway,
        store=store,
        publisher=MemoryPublisher(),
        relay_interval_s=0.01,
        compliance=ComplianceSettings(secure_cookies="never"),
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        env = WebEnv(client, store, keys, folder)
        for payload, tenant in (
            (unique(VALID), "EMEA"),
            (unique(BAD_BIC), "EMEA"),
            (unique(MINIMAL), "EMEA"),
            (unique(BAD_ENUM), "EMEA"),
            (unique(VALID), "NA"),
        ):
            env.submit(payload, tenant)
        yield env
