"""``create_app(freeze_heap=True)``: what the server loaded is frozen for the cyclic
collector while it runs (``isogw serve`` / ``dev``), and given back at shutdown."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from gateway.api.app import create_app
from gateway.kafka import MemoryPublisher
from gateway.pipeline import Gateway
from gateway.settings import Settings
from gateway.store import Store
from gateway.tenants import TenantRegistry
from tests.api_fixtures import make_tenants


class _Node:
    next: _Node | None = None


def _app(
    tmp_path: Path, store: Store, gateway: Gateway, settings: Settings, freeze: bool
) -> FastAPI:
    folder, _keys = make_tenants(tmp_path)
    return create_app(
        settings, TenantRegistry.load(folder), gateway=gateway, store=store,
        publisher=MemoryPublisher(), relay_interval_s=0.01, freeze_heap=freeze,
    )  # fmt: skip


def test_the_loaded_heap_is_frozen_while_serving_and_released_at_shutdown(
    tmp_path: Path, store: Store, gateway: Gateway, settings: Settings
) -> None:
    assert gc.get_freeze_count() == 0
    app = _app(tmp_path, store, gateway, settings, freeze=True)
    with TestClient(app) as client:
        frozen = gc.get_freeze_count()
        assert frozen > 10_000  # the schemas, packs, mappings and frameworks loaded
        assert client.get("/healthz").status_code == 200
        # what requests leave behind is still collected, cycles included
        cycle = _Node()
        cycle.next = cycle
        gone = weakref.ref(cycle)
        del cycle
        gc.collect()
        assert gone() is None
    assert gc.get_freeze_count() == 0


def test_apps_of_tests_and_tools_leave_the_collector_alone(
    tmp_path: Path, store: Store, gateway: Gateway, settings: Settings
) -> None:
    app = _app(tmp_path, store, gateway, settings, freeze=False)
    with TestClient(app):
        assert gc.get_freeze_count() == 0
