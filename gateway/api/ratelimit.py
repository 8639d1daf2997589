"""Per-tenant token buckets (in process). One tenant exhausting its bucket never
slows another: each tenant has its own bucket, refilled at its configured rate."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

__all__ = ["RateLimiter"]


class RateLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # tenant -> (tokens, stamp)
        self._lock = threading.Lock()

    def take(self, tenant: str, rate: float, burst: int) -> float:
        """Take one token; return 0 when allowed, else the seconds to wait."""
        now = self._clock()
        with self._lock:
            tokens, stamp = self._buckets.get(tenant, (float(burst), now))
            tokens = min(float(burst), tokens + (now - stamp) * rate)
            if tokens >= 1.0:
                self._buckets[tenant] = (tokens - 1.0, now)
                return 0.0
            self._buckets[tenant] = (tokens, now)
            return (1.0 - tokens) / rate

    @staticmethod
    def retry_after(wait: float) -> str:
        return str(max(1, math.ceil(wait)))
