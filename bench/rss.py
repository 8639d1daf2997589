"""Validate and map one file in a fresh process: time per run and peak RSS.

``python -m bench.rss FILE [RUNS]`` prints one JSON object. The process loads the
gateway, warms it up on a 1-transaction pain.001 (schema compiled, mapping loaded),
reads FILE and runs ``Gateway.inbound`` on it RUNS times (events serialised with
orjson). Peak RSS is ``resource.getrusage(RUSAGE_SELF).ru_maxrss``: the whole process,
interpreter, loaded gateway and payload included. Linux also counts, in ``ru_maxrss``, the
RSS of the parent at the fork: run this from a small parent (``python -m bench`` does it
before the in-process part grows), and compare with ``VmHWM``.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import orjson


def maxrss_mb() -> float:
    """Peak resident set size so far, in MB (10^6 bytes; ``ru_maxrss`` is KiB on Linux)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6, 1)


def vm_hwm_mb() -> float | None:
    """The kernel's peak RSS of this process image (``VmHWM``): a cross-check of ``ru_maxrss``,
    which also keeps the RSS of the process that forked this one (Linux records the old
    image's peak at ``execve``)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) * 1024 / 1e6, 1)
    except (OSError, ValueError, IndexError):
        pass
    return None


def main(argv: list[str]) -> int:
    if not 1 <= len(argv) <= 2:
        print("usage: python -m bench.rss FILE [RUNS]", file=sys.stderr)
        return 2
    at_start = maxrss_mb()
    from gateway.pipeline import Gateway
    from gateway.settings import Settings
    from tests.fixtures.generate_pain001 import generate

    gateway = Gateway.from_settings(Settings.from_env())
    gateway.inbound(generate(1))
    loaded = maxrss_mb()
    payload = Path(argv[0]).read_bytes()
    times, outcome, events = [], "", 0
    for _ in range(int(argv[1]) if len(argv) == 2 else 1):
        start = time.perf_counter()
        result = gateway.inbound(payload)
        for event in result.events:
            orjson.dumps(event)
        times.append(round(time.perf_counter() - start, 4))
        outcome, events = result.report.outcome.value, len(result.events)
        del result
    out = {
        "bytes": len(payload),
        "times_s": times,
        "outcome": outcome,
        "events": events,
        "maxrss_start_mb": at_start,
        "maxrss_loaded_mb": loaded,
        "maxrss_peak_mb": maxrss_mb(),
        "vm_hwm_peak_mb": vm_hwm_mb(),
    }
    sys.stdout.write(orjson.dumps(out).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
