"""Assemble the FastAPI app: ``create_app(settings, tenants, ...)``.

This module only wires things: services are built here (or handed in by tests),
routes live in ``routes_*``, errors in ``problems``. The app's lifespan starts the
Kafka publisher, the outbox relay and the outbound service, and stops them on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator

from fastapi import FastAPI

from gateway.api import routes_health, routes_messages, routes_payments, routes_reports
from gateway.api.deps import Services
from gateway.api.metrics import Metrics
from gateway.api.middleware import CorrelationMiddleware
from gateway.api.problems import install_handlers
from gateway.api.ratelimit import RateLimiter
from gateway.cloudevents import dlq_topic
from gateway.kafka import KafkaConfig, Publisher
from gateway.outbound import OutboundService, any_outbound
from gateway.pipeline import Gateway
from gateway.relay import Relay
from gateway.service import InboundService
from gateway.settings import Settings
from gateway.store import Store
from gateway.tenants import ApiKeyAuthenticator, TenantRegistry
from gateway.web.settings import ComplianceSettings
from gateway.web.ui import install_ui

__all__ = ["create_app"]

DESCRIPTION = """ISO 20022 validation and translation gateway.

Authenticate with `Authorization: Bearer <API key>` (the key selects the tenant).
Errors are RFC 9457 problem details (`application/problem+json`, `type` =
`/problems/<slug>`). Every response carries `X-Correlation-ID` (send your own, or
one is generated).
"""


def create_app(
    settings: Settings,
    tenants: TenantRegistry,
    *,
    gateway: Gateway | None = None,
    store: Store | None = None,
    publisher: Publisher | None = None,
    relay_interval_s: float = 0.05,
    kafka: KafkaConfig | None = None,
    compliance: ComplianceSettings | None = None,
    freeze_heap: bool = False,
) -> FastAPI:
    """The HTTP gateway. With a ``publisher`` the outbox relay runs in the background;
    with ``kafka`` too, so does the outbound service (:mod:`gateway.outbound`) for the
    tenants whose ``outbound.enabled`` is true. ``compliance``: the compliance UI's and
    the report chain's settings (default: from the environment).

    ``freeze_heap`` (the server processes: ``isogw serve``, ``isogw dev``): once started,
    what is loaded (schemas, packs, mappings, the frameworks) is moved out of the cyclic
    garbage collector's reach (:func:`gc.freeze`) until shutdown. A full collection of that
    heap took 120-180 ms on a worker under load, a stall of every request in flight; frozen,
    it took ~4 ms. Objects are still freed by reference counting; only cycles among the
    frozen ones wait for shutdown."""
    gateway = gateway or Gateway.from_settings(settings)
    if gateway.rules is not None:
        tenants.check_packs(gateway.rules.packs)  # a tenant naming an unknown pack stops start-up
    store = store or Store(settings.database_url)
    store.migrate()
    compliance = compliance or ComplianceSettings.from_env()
    store.chain_signer = compliance.chain_signer()
    templates = {t.id: t.topic_template for t in tenants.all()}
    relay = (
        Relay(store, publisher, dlq_topic_for=lambda tenant: dlq_topic(templates[tenant], tenant))
        if publisher is not None
        else None
    )
    svc = Services(
        settings=settings,
        tenants=tenants,
        auth=ApiKeyAuthenticator(tenants),
        gateway=gateway,
        store=store,
        inbound=InboundService(gateway, store),
        metrics=Metrics(store, lambda: None if relay is None else relay.broker_up),
        limiter=RateLimiter(),
        publisher=publisher,
        relay=relay,
    )

    outbound = (
        OutboundService(
            gateway=gateway, store=store, tenants=tenants, kafka=kafka, publisher=publisher
        )
        if publisher is not None and kafka is not None and any_outbound(tenants)
        else None
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        tasks: list[asyncio.Task[None]] = []
        if publisher is not None and relay is not None:
            await publisher.start()
            tasks.append(
                asyncio.create_task(relay.run_forever(stop, idle_sleep_s=relay_interval_s))
            )
        if outbound is not None:
            tasks.append(asyncio.create_task(outbound.run(stop)))
        if freeze_heap:
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            if freeze_heap:
                gc.unfreeze()
            stop.set()
            for task in tasks:
                await task
            if publisher is not None:
                await publisher.stop()

    app = FastAPI(
        title="isogw",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.services = svc
    install_handlers(app)

    # Middleware added later wraps this one (install_ui's security headers run outside it).
    app.add_middleware(CorrelationMiddleware, requests=svc.metrics.requests)

    app.include_router(routes_messages.router)
    app.include_router(routes_reports.router)
    app.include_router(routes_payments.router)
    app.include_router(routes_health.router)
    install_ui(app, store, tenants, compliance)
    return app
