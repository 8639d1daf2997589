"""End to end over HTTP on this machine: broker, store, N gateway workers, open-loop load.

For one store (SQLite file or a PostgreSQL database made for the run and dropped after):
a fresh dev broker (:class:`gateway.devbroker.DevBroker`), the store migrated once,
``workers`` processes of :mod:`bench.server` on one ``SO_REUSEPORT`` port, a copy of
``tenants/`` in a temporary folder whose EMEA tenant has its rate limit lifted (the
limiter would otherwise answer 429 from 200 msgs/s on) and a temporary API key held in
memory. A warm-up burst, then one step per offered rate (stopping once the gateway
cannot keep up), waiting after each step until the outbox is drained, then the checks
of :mod:`bench.verify` over every message accepted during the run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import loadgen, service_cost, verify
from bench.env import REPO, load_average
from bench.messages import cbpr_pacs008
from gateway.cloudevents import topic_for
from gateway.devbroker import DevBroker
from gateway.store import Store
from gateway.tenants import TenantRegistry, new_api_key

TENANT = "EMEA"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
#: A step whose accepted rate falls below this share of the offered one did not keep up.
KEPT_UP = 0.95


@dataclass(frozen=True, slots=True)
class Plan:
    rates: tuple[float, ...]
    duration_s: float
    workers: int
    warmup: int  # requests of the warm-up burst
    repeats: int  # runs per rate (medians reported)
    service_calls: int  # InboundService.submit alone, before the workers start
    min_requests: int  # per run of a rate: low rates run longer, so that p99 means something


RATES = (10, 25, 50, 75, 100, 150, 200, 300, 400, 600, 800, 1000, 1500, 2000, 3000)
FULL = Plan(RATES, 6.0, os.cpu_count() or 2, 400, 3, 300, 200)
QUICK = Plan((25, 50), 2.0, min(2, os.cpu_count() or 1), 60, 1, 30, 0)


def _tenants(folder: Path) -> Path:
    target = folder / "tenants"
    shutil.copytree(REPO / "tenants", target)
    path = target / f"{TENANT}.yaml"
    text = path.read_text(encoding="utf-8")
    for old, new in (
        ("rate_per_second: 200", "rate_per_second: 1000000"),
        ("burst: 400", "burst: 1000000"),
    ):
        if old not in text:
            raise RuntimeError(f"{path.name}: expected {old!r} to lift the rate limit")
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return target


@contextmanager
def _database(kind: str, folder: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'bench.db'}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(os.environ.get("BENCH_POSTGRES_URL", DEFAULT_PG))
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    name = f"isogw_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def _cpu_s(pid: int | None) -> float:
    """User + system CPU seconds of a process (0 when it is gone)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Workers:
    """The gateway processes; started ready, stopped with SIGTERM (SIGKILL after 20 s)."""

    def __init__(self, count: int, env: dict[str, str], folder: Path) -> None:
        self.port = _free_port()
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs = [folder / f"worker-{i}.log" for i in range(count)]
        ready = [folder / f"ready-{i}" for i in range(count)]
        for log, flag in zip(self.logs, ready, strict=True):
            with log.open("wb") as out:
                self.procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "bench.server", str(self.port), str(flag)],
                        cwd=REPO,
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )
        deadline = time.monotonic() + 90
        while not all(flag.exists() for flag in ready):
            dead = [p for p in self.procs if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                self.stop()
                tail = self.logs[self.procs.index(dead[0]) if dead else 0].read_text()[-3000:]
                raise RuntimeError(f"a gateway worker did not start:\n{tail}")
            time.sleep(0.1)

    def cpu_s(self) -> float:
        return sum(_cpu_s(p.pid) for p in self.procs)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


class LoadRun:
    """The load of one store's run and everything it was answered (for the checks)."""

    def __init__(
        self, url: str, key: str, tag: str, store: Store, workers: Workers, broker: DevBroker
    ) -> None:
        self.url, self.key, self.tag = url, key, tag
        self.store, self.workers, self.broker = store, workers, broker
        self.events: set[str] = set()
        self.reports: set[str] = set()
        self.serial = 1

    def payload(self, serial: int) -> bytes:
        return cbpr_pacs008(serial, self.tag)

    def _keep(self, result: loadgen.StepResult) -> None:
        self.serial += result.sent
        self.events.update(result.event_ids)
        self.reports.update(result.report_ids)

    async def warm(self, requests: int, rate: float) -> dict[str, Any]:
        """A burst (every worker thread compiles its schemas), 4 s at ``rate``, then the
        workers' idle CPU for 3 s."""
        result = await loadgen.burst(self.url, self.key, requests, self.payload, self.serial)
        self._keep(result)
        steady = await loadgen.run_step(self.url, self.key, rate, 4.0, self.payload, self.serial)
        self._keep(steady)
        await asyncio.to_thread(verify.wait_drained, self.store, 120)
        before, start = self.workers.cpu_s(), time.monotonic()
        await asyncio.sleep(3)
        idle = 100 * (self.workers.cpu_s() - before) / (time.monotonic() - start)
        statuses = dict(result.statuses + steady.statuses)
        return {
            "requests": result.sent + steady.sent,
            "burst": result.sent,
            "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "idle_workers_cpu_pct": round(idle, 1),
        }

    async def step(self, rate: float, duration_s: float) -> dict[str, Any]:
        cpu_workers, cpu_broker = self.workers.cpu_s(), _cpu_s(self.broker.pid)
        result = await loadgen.run_step(
            self.url, self.key, rate, duration_s, self.payload, self.serial
        )
        self._keep(result)
        drained = await asyncio.to_thread(verify.wait_drained, self.store, 120)
        summary = result.summary()
        wall = result.wall_s
        summary["workers_cpu_pct"] = round(100 * (self.workers.cpu_s() - cpu_workers) / wall, 1)
        summary["broker_cpu_pct"] = round(100 * (_cpu_s(self.broker.pid) - cpu_broker) / wall, 1)
        summary["outbox_drained_after_s"] = drained
        summary["kept_up"] = (
            summary["achieved_per_s"] >= KEPT_UP * rate
            and summary["accepted"] == result.sent
            and drained is not None
        )
        print(
            f"    {rate:>6g}/s: accepted {summary['accepted']}/{result.sent}, "
            f"{summary['achieved_per_s']}/s, p50 {summary['p50_ms']} ms, "
            f"p99 {summary['p99_ms']} ms",
            file=sys.stderr,
            flush=True,
        )
        return summary


MEDIANS = (
    "achieved_per_s",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "max_ms",
    "workers_cpu_pct",
    "broker_cpu_pct",
    "generator_cpu_pct",
    "generator_late_p99_ms",
)


def combine(rate: float, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Repetitions of one rate: medians of their figures, sums of their counts."""
    out: dict[str, Any] = {"offered_per_s": rate, "repetitions": len(runs), "runs": runs}
    for name in MEDIANS:
        values = [r[name] for r in runs if r.get(name) is not None]
        out[name] = round(statistics.median(values), 2) if values else None
    out["sent"] = sum(r["sent"] for r in runs)
    out["accepted"] = sum(r["accepted"] for r in runs)
    statuses: dict[str, int] = {}
    for r in runs:
        for status, count in r["statuses"].items():
            statuses[status] = statuses.get(status, 0) + count
    out["statuses"] = statuses
    drained = [r["outbox_drained_after_s"] for r in runs]
    out["outbox_drained_after_s"] = None if None in drained else max(drained)
    out["kept_up"] = sum(1 for r in runs if r["kept_up"]) * 2 > len(runs)  # most of them
    out["first_refusal"] = next((r["first_refusal"] for r in runs if r["first_refusal"]), None)
    return out


async def _load(plan: Plan, run: LoadRun) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    warmup = await run.warm(plan.warmup, plan.rates[0])
    steps: list[dict[str, Any]] = []
    behind = False
    for rate in plan.rates:
        if behind:
            steps.append({"offered_per_s": rate, "skipped": "a lower rate was not kept up"})
            continue
        duration = max(plan.duration_s, plan.min_requests / rate)
        runs = [await run.step(rate, duration) for _ in range(plan.repeats)]
        steps.append(combine(rate, runs))
        behind = not steps[-1]["kept_up"]
    return steps, warmup


def run(kind: str, plan: Plan) -> dict[str, Any]:
    """One store's end-to-end result (``{"not_measured": why}`` when it cannot run here)."""
    load_start = load_average()
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="isogw-bench-")))
        try:
            url = stack.enter_context(_database(kind, folder))
        except Exception as exc:  # an unreachable PostgreSQL is a result, not a crash
            return {"store": kind, "not_measured": f"{type(exc).__name__}: {exc}"[:300]}
        store = Store(url)
        stack.callback(store.close)
        store.migrate()  # once, before the workers (which would race to migrate)
        broker = stack.enter_context(DevBroker(log_path=folder / "broker.log"))
        key, record = new_api_key("bench (in memory)")
        env = {
            **os.environ,
            "GATEWAY_DATABASE_URL": url,
            "GATEWAY_TENANTS_DIR": str(_tenants(folder)),
            "GATEWAY_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
            "GATEWAY_KAFKA_IDEMPOTENCE": "false",  # DESIGN.md §4: the dev broker refuses it
            "BENCH_TENANT": TENANT,
            "BENCH_API_KEY_RECORD": record.model_dump_json(),
        }
        run_tag = f"B{uuid.uuid4().hex[:5].upper()}"
        tenants_dir = Path(env["GATEWAY_TENANTS_DIR"])
        service, service_events, service_reports = service_cost.measure(
            url, tenants_dir, TENANT, f"S{run_tag[1:]}", plan.service_calls
        )
        workers = Workers(plan.workers, env, folder)
        stack.callback(workers.stop)
        import uvloop

        target = f"http://127.0.0.1:{workers.port}/v1/messages"
        load = LoadRun(target, key, run_tag, store, workers, broker)
        steps, warmup = uvloop.run(_load(plan, load))
        events = load.events | service_events
        reports = load.reports | service_reports
        tenant = TenantRegistry.load(tenants_dir).get(TENANT)
        assert tenant is not None
        topic = topic_for(tenant.topic_template, TENANT, "initiation")
        seen = uvloop.run(verify.consume_ids(broker.bootstrap, topic, len(events)))
        return {
            "store": kind,
            "workers": plan.workers,
            "duration_s": plan.duration_s,
            "repeats": plan.repeats,
            "min_requests": plan.min_requests,
            "load_average": {"start": load_start, "end": load_average()},
            "message": "pacs.008.001.08, 1 tx, AppHdr (CBPR+), unique ids per request",
            "warmup": warmup,
            "service_alone": service,
            "steps": steps,
            "verification": {
                "accepted_messages": len(reports),
                "accepted_events": len(events),
                **verify.durable(store, reports, events),
                **verify.published(events, seen),
            },
        }
