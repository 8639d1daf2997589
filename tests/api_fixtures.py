"""Fixtures for HTTP API tests: tenants with fresh keys, an app over a real store."""

from __future__ import annotations

import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
import uvicorn
from fastapi.testclient import TestClient

from gateway.api.app import create_app
from gateway.kafka import MemoryPublisher
from gateway.pipeline import Gateway
from gateway.settings import Settings
from gateway.store import Store
from gateway.tenants import TenantRegistry, add_key
from tests.conftest import REPO


@dataclass
class ApiEnv:
    client: TestClient
    store: Store
    publisher: MemoryPublisher
    keys: dict[str, str]
    tenants_dir: Path

    def headers(self, tenant: str = "EMEA", key: str | None = None, **extra: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.keys[tenant]}",
            "Content-Type": "application/xml",
            **({"Idempotency-Key": key} if key else {}),
            **extra,
        }


def make_tenants(
    tmp_path: Path, edit: dict[str, dict[str, str]] | None = None
) -> tuple[Path, dict[str, str]]:
    folder = tmp_path / "tenants"
    shutil.copytree(REPO / "tenants", folder)
    for tenant, replacements in (edit or {}).items():
        path = folder / f"{tenant}.yaml"
        text = path.read_text()
        for old, new in replacements.items():
            assert old in text, (tenant, old)
            text = text.replace(old, new)
        path.write_text(text)
    keys = {t: add_key(folder / f"{t}.yaml", "test")[0] for t in ("NA", "EMEA", "LATAM", "APAC")}
    return folder, keys


@pytest.fixture
def api(
    tmp_path: Path,
    store: Store,
    gateway: Gateway,
    settings: Settings,
    request: pytest.FixtureRequest,
) -> Iterator[ApiEnv]:
    edits = getattr(request, "param", None)
    folder, keys = make_tenants(tmp_path, edits)
    publisher = MemoryPublisher()
    app = create_app(
        settings, TenantRegistry.load(folder), gateway=gateway, store=store, publisher=publisher,
        relay_interval_s=0.01,
    )  # fmt: skip
    with TestClient(app, raise_server_exceptions=False) as client:
        yield ApiEnv(client, store, publisher, keys, folder)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` on real uvicorn (loopback, a free port) in a thread; yields the base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def post(base: str, key: str, payload: bytes) -> httpx2.Response:
    return httpx2.post(
        f"{base}/v1/messages",
        content=payload,
        headers={
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/xml",
            "Idempotency-Key": str(uuid.uuid4()),
        },
        timeout=30,
    )
