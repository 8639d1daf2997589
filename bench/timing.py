"""Timing per call on one core: interleaved rounds, medians and tail percentiles.

Every contender of a message runs a slice of its calls in each round, in turn, so a
burst of load from elsewhere on the machine hits all of them alike instead of one.
The garbage collector stays on (it is part of the cost); a collection is forced
before each message so that one contender does not pay for another's garbage.
"""

from __future__ import annotations

import gc
import math
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


def pin_one_core(cpu: int | None = None) -> int | None:
    """Pin this process to one CPU (the last allowed one unless ``cpu``); None if unsupported."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    allowed = sorted(os.sched_getaffinity(0))
    chosen = cpu if cpu is not None and cpu in allowed else allowed[-1]
    os.sched_setaffinity(0, {chosen})
    return chosen


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (q in 0..100)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass(slots=True)
class Series:
    """Per-call times of one contender on one message, in microseconds."""

    samples_us: list[float] = field(default_factory=list)
    round_medians_us: list[float] = field(default_factory=list)
    verdict: Any = None

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.samples_us)
        return {
            "calls": len(ordered),
            "median_us": round(statistics.median(ordered), 2) if ordered else None,
            "p90_us": round(percentile(ordered, 90), 2) if ordered else None,
            "min_us": round(ordered[0], 2) if ordered else None,
            "round_medians_us": [round(x, 2) for x in self.round_medians_us],
            "verdict": self.verdict,
        }


@dataclass(frozen=True, slots=True)
class Budget:
    seconds: float  # timed calls per contender and message, roughly
    rounds: int
    min_calls: int
    max_calls: int
    warmup_s: float


FULL = Budget(seconds=4.0, rounds=5, min_calls=3, max_calls=20_000, warmup_s=0.3)
QUICK = Budget(seconds=0.25, rounds=2, min_calls=1, max_calls=500, warmup_s=0.05)


def _warm(fn: Callable[[], Any], seconds: float) -> tuple[Any, float]:
    """Call until ``seconds`` pass; the first call's verdict and the cost of one call."""
    start = time.perf_counter()
    verdict = fn()  # the first call: lazy set-up, never among the timed calls
    first = time.perf_counter() - start
    if first >= seconds:
        return verdict, first  # a slow call: warm enough, and a fair estimate
    calls, start = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        spent = time.perf_counter() - start
        if spent >= seconds or spent / calls > seconds:
            return verdict, spent / calls


def measure(contenders: dict[str, Callable[[], Any]], budget: Budget) -> dict[str, Series]:
    """Time every contender of one message; see the module docstring."""
    gc.collect()
    plans: dict[str, int] = {}
    results = {name: Series() for name in contenders}
    for name, fn in contenders.items():
        verdict, cost = _warm(fn, budget.warmup_s)
        results[name].verdict = verdict
        calls = int(budget.seconds / max(cost, 1e-9))
        plans[name] = max(budget.min_calls, min(budget.max_calls, calls))
    gc.collect()
    for round_no in range(budget.rounds):
        for name, fn in contenders.items():
            per_round = math.ceil(plans[name] / budget.rounds)
            if round_no * per_round >= plans[name]:
                continue  # a few slow calls are spread over the first rounds only
            clock = time.perf_counter_ns
            times: list[float] = []
            for _ in range(per_round):
                start = clock()
                fn()
                times.append((clock() - start) / 1000)
            results[name].samples_us.extend(times)
            results[name].round_medians_us.append(statistics.median(times))
    return results
