"""The submit use case alone, in this process: ``InboundService.submit`` on the run's store.

What a worker does per request minus HTTP, ASGI and the relay: idempotency lookup, the
pipeline with the tenant's packs and rules, duplicate and per-day checks, and the one
transaction that commits report, outbox rows, totals and the stored answer. Measured on
the end-to-end run's own store before the workers start (their relay publishes these
messages too, so the run's checks count them): first one call after another (every
commit alone), then from :data:`THREADS` threads at once, as the HTTP server's request
threads call it (commits grouped: :mod:`gateway.store.group_commit`).
"""

from __future__ import annotations

import statistics
import threading
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

#: Concurrent callers of the second measurement (the HTTP server runs up to 40 per worker).
THREADS = 16


def measure(
    url: str, tenants_dir: Path, tenant_id: str, tag: str, calls: int
) -> tuple[dict[str, Any], set[str], set[str]]:
    """Per-call wall time (median, p90) and CPU per call one after another, then
    throughput and CPU per call from :data:`THREADS` threads; the event and report ids
    accepted."""
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
        concurrent = _concurrent(service, tenant, tag, warmup + calls + 1, calls, events, reports)
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
        "concurrent": concurrent,
    }
    return summary, events, reports


def _concurrent(
    service: InboundService,
    tenant: Any,
    tag: str,
    first: int,
    calls: int,
    events: set[str],
    reports: set[str],
) -> dict[str, Any]:
    payloads = [cbpr_pacs008(first + i, tag) for i in range(calls)]
    lock = threading.Lock()
    pending = iter(range(calls))
    statuses: dict[str, int] = {}
    store = service.store
    groups_before = store.commit_groups()

    def work() -> None:
        while True:
            with lock:
                i = next(pending, None)
            if i is None:
                return
            result = service.submit(
                tenant, f"svc-{first + i}", payloads[i], correlation_id=str(uuid.uuid4())
            )
            with lock:
                statuses[str(result.status)] = statuses.get(str(result.status), 0) + 1
                if result.status == 202:
                    answer = orjson.loads(result.body)
                    events.update(answer["event_ids"])
                    reports.add(answer["report_id"])

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    cpu, start = time.process_time(), time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    groups, items = (a - b for a, b in zip(store.commit_groups(), groups_before, strict=True))
    return {
        "threads": THREADS,
        "calls": calls,
        "statuses": statuses,
        "per_s": round(calls / wall, 1),
        "cpu_ms_per_call": round((time.process_time() - cpu) * 1000 / calls, 3),
        "commit_groups": groups,
        "mean_group": round(items / groups, 1) if groups else None,
    }
