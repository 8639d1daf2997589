"""Open-loop load on loopback: requests leave on a fixed schedule, whatever the answers.

Request i of a step is due at ``start + i / rate``; its latency runs from that due time
to the end of the response, so a server (or a generator) that falls behind shows up in
the latency instead of quietly lowering the rate (no coordinated omission). Each
request carries a message of its own (unique MsgId, UETR, EndToEndId) and a fresh
Idempotency-Key. aiohttp on uvloop, up to ``CONNECTIONS`` connections.
"""

from __future__ import annotations

import asyncio
import resource
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

from bench.timing import percentile

CONNECTIONS = 256
TIMEOUT_S = 60.0


@dataclass(slots=True)
class StepResult:
    rate: float
    duration_s: float
    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    latencies_s: list[float] = field(default_factory=list)  # accepted (202) requests
    completed_s: list[float] = field(default_factory=list)  # when each 202 arrived
    lateness_s: list[float] = field(default_factory=list)  # generator: send time - due time
    event_ids: list[str] = field(default_factory=list)
    report_ids: list[str] = field(default_factory=list)
    wall_s: float = 0.0  # first due time to the last response
    generator_cpu_s: float = 0.0
    errors: Counter[str] = field(default_factory=Counter)
    first_refusal: str | None = None  # status and start of the first non-202 answer

    def achieved(self) -> float:
        """Accepted messages per second while they were being answered: the middle 98 % of
        the completions over the time they took (a straggler does not stretch the window)."""
        done = sorted(self.completed_s)
        if len(done) < 2:
            return 0.0
        low, high = (
            (round(len(done) * 0.01), round(len(done) * 0.99) - 1)
            if len(done) >= 100
            else (0, len(done) - 1)
        )
        span = done[high] - done[low]
        return round((high - low) / span, 1) if span > 0 else 0.0

    def summary(self) -> dict[str, Any]:
        def ms(seconds: float) -> float:
            return round(seconds * 1000, 2)

        ordered = sorted(self.latencies_s)
        accepted = self.statuses.get(202, 0)
        return {
            "offered_per_s": self.rate,
            "duration_s": self.duration_s,
            "sent": self.sent,
            "accepted": accepted,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "errors": dict(self.errors),
            "first_refusal": self.first_refusal,
            "achieved_per_s": self.achieved(),
            "p50_ms": ms(statistics.median(ordered)) if ordered else None,
            "p90_ms": ms(percentile(ordered, 90)) if ordered else None,
            "p99_ms": ms(percentile(ordered, 99)) if ordered else None,
            "max_ms": ms(ordered[-1]) if ordered else None,
            "generator_late_p99_ms": ms(percentile(sorted(self.lateness_s), 99))
            if self.lateness_s
            else None,
            "generator_cpu_pct": round(100 * self.generator_cpu_s / self.wall_s, 1)
            if self.wall_s
            else None,
        }


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run_step(
    url: str,
    key: str,
    rate: float,
    duration_s: float,
    make_payload: Callable[[int], bytes],
    first_serial: int,
) -> StepResult:
    """Offer ``rate`` requests per second for ``duration_s`` seconds; wait for every answer."""
    result = StepResult(rate, duration_s)
    total = max(1, round(rate * duration_s))
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/xml"}
    clock = time.perf_counter  # uvloop's loop.time() has millisecond resolution only
    connector = aiohttp.TCPConnector(limit=CONNECTIONS, force_close=False)
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one(serial: int, due: float) -> None:
            body = make_payload(serial)
            result.lateness_s.append(clock() - due)
            try:
                async with session.post(
                    url, data=body, headers={**headers, "Idempotency-Key": f"bench-{serial}"}
                ) as response:
                    data = await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                result.errors[type(exc).__name__] += 1
                result.statuses[-1] += 1
                return
            result.statuses[status] += 1
            if status != 202 and result.first_refusal is None:
                result.first_refusal = f"{status}: {data[:600].decode(errors='replace')}"
            if status == 202:
                now = clock()
                result.latencies_s.append(now - due)
                result.completed_s.append(now)
                answer = orjson.loads(data)
                result.event_ids.extend(answer["event_ids"])
                result.report_ids.append(answer["report_id"])

        cpu_before = _cpu_s()
        start = clock() + 0.05
        tasks = []
        for i in range(total):
            due = start + i / rate
            delay = due - clock()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(first_serial + i, due)))
        result.sent = total
        await asyncio.gather(*tasks)
        result.wall_s = clock() - start
        result.generator_cpu_s = _cpu_s() - cpu_before
    return result


def burst(url: str, key: str, count: int, make_payload: Callable[[int], bytes], first: int) -> Any:
    """``count`` requests at once (warm-up: every worker thread compiles its schemas)."""
    return run_step(
        url, key, rate=count * 10.0, duration_s=0.1, make_payload=make_payload, first_serial=first
    )
