"""The submit use case alone, in this process: ``InboundService.submit`` on the run's store.

What a worker does per request minus HTTP, ASGI and the relay: idempotency claim, the
pipeline with the tenant's packs and rules, duplicate and per-day checks, and the one
transaction that commits report, outbox rows, totals and the stored answer. Measured on
the end-to-end run's own store before the workers start (their relay publishes these
messages too, so the run's checks count them), one call after another.
"""

from __future__ import annotations

import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

from bench.messages import cbpr_pacs008
from bench.timing import percentile
from gateway.pipeline import Gateway
from gateway.service import InboundService
from gateway.settings import Settings
from gateway.store import Store
from gateway.tenants import TenantRegistry


def measure(
    url: str, tenants_dir: Path, tenant_id: str, tag: str, calls: int
) -> tuple[dict[str, Any], set[str], set[str]]:
    """Per-call wall time (median, p90) and CPU per call; the event and report ids accepted."""
    tenant = TenantRegistry.load(tenants_dir).get(tenant_id)
    assert tenant is not None
    store = Store(url)
    service = InboundService(Gateway.from_settings(Settings.from_env()), store)
    events: set[str] = set()
    reports: set[str] = set()
    walls: list[float] = []
    statuses: dict[str, int] = {}
    warmup = max(1, calls // 10)
    cpu_start = 0.0
    try:
        for serial in range(1, warmup + calls + 1):
            if serial == warmup + 1:
                cpu_start = time.process_time()
            payload = cbpr_pacs008(serial, tag)
            start = time.perf_counter()
            result = service.submit(
                tenant, f"svc-{serial}", payload, correlation_id=str(uuid.uuid4())
            )
            if serial > warmup:
                walls.append((time.perf_counter() - start) * 1000)
            statuses[str(result.status)] = statuses.get(str(result.status), 0) + 1
            if result.status == 202:
                answer = orjson.loads(result.body)
                events.update(answer["event_ids"])
                reports.add(answer["report_id"])
        cpu_ms = (time.process_time() - cpu_start) * 1000 / calls
    finally:
        store.close()
    ordered = sorted(walls)
    summary = {
        "calls": calls,
        "warmup_calls": warmup,
        "statuses": statuses,  # warm-up included
        "median_ms": round(statistics.median(ordered), 3),
        "p90_ms": round(percentile(ordered, 90), 3),
        "cpu_ms_per_call": round(cpu_ms, 3),
    }
    return summary, events, reports
