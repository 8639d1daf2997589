"""The targets of issue #8, judged from one run's results: met, or missed by how much."""

from __future__ import annotations

import statistics
from typing import Any

FLOOR_BUDGET = 3.0  # full pipeline ÷ lxml floor, 1-tx pacs.008
PEER_FACTOR = 10.0  # gateway throughput ÷ each peer's, same messages
E2E_RATE = 2000.0  # msgs/s sustained ...
E2E_P99_MS = 50.0  # ... with this p99
BIG_SECONDS = 2.0  # 10,000-tx pain.001 validate + map
BIG_RSS_MB = 300.0  # peak RSS of that, fresh process
CHECKS = ("lost", "duplicated", "reports_missing", "outbox_missing", "outbox_not_sent")


def _target(
    name: str, wanted: str, measured: str, met: bool | None, **extra: Any
) -> dict[str, Any]:
    return {"name": name, "target": wanted, "measured": measured, "met": met, **extra}


def _median(row: dict[str, Any], name: str) -> float | None:
    value = row["contenders"].get(name, {}).get("median_us")
    return float(value) if value is not None else None


def floor_ratio(rows: list[dict[str, Any]]) -> dict[str, Any]:
    name, wanted = "in-process pipeline, 1-tx pacs.008", f"≤ {FLOOR_BUDGET:g}× the lxml floor"
    row = next((r for r in rows if r["key"] == "pacs008"), None)
    floor = _median(row, "floor") if row else None
    gateway = _median(row, "gateway") if row else None
    if floor is None or gateway is None:
        return _target(name, wanted, "not measured", None)
    ratio = gateway / floor
    met = ratio <= FLOOR_BUDGET
    missed = None if met else f"{ratio / FLOOR_BUDGET:.1f}× over budget ({ratio:.1f}× vs ≤ 3×)"
    measured = f"{ratio:.1f}× ({gateway:,.0f} µs vs floor {floor:,.0f} µs)"
    return _target(name, wanted, measured, met, missed_by=missed, value=round(ratio, 2))


def peer_ratios(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Gateway throughput ÷ peer throughput (= peer median ÷ gateway median), per peer."""
    name, wanted = "throughput vs the Python peers", f"≥ {PEER_FACTOR:g}× each peer"
    per_peer: dict[str, list[tuple[str, float]]] = {}
    for row in rows:
        gateway = _median(row, "gateway")
        for peer in ("pacs008", "pain001", "xmlschema"):
            theirs = _median(row, peer)
            if gateway and theirs:
                per_peer.setdefault(peer, []).append((row["label"], theirs / gateway))
    if not per_peer:
        return _target(name, wanted, "no peer measured", None)
    worst = min(ratio for pairs in per_peer.values() for _label, ratio in pairs)
    parts = []
    for peer, pairs in per_peer.items():
        low_label, low = min(pairs, key=lambda p: p[1])
        high = max(r for _label, r in pairs)
        span = f"{low:.2f}×" if len(pairs) == 1 else f"{low:.2f}× ({low_label}) … {high:.2f}×"
        parts.append(f"{peer} {span}")
    met = worst >= PEER_FACTOR
    missed = None if met else f"worst {worst:.2f}× vs ≥ {PEER_FACTOR:g}×"
    ratios = {p: [[label, round(r, 3)] for label, r in v] for p, v in per_peer.items()}
    return _target(
        name,
        wanted,
        "; ".join(parts),
        met,
        missed_by=missed,
        value=round(worst, 3),
        per_peer=ratios,
    )


def best_rate(result: dict[str, Any]) -> float:
    """Highest offered rate kept up with p99 within the target (0 when none)."""
    good = [
        s["offered_per_s"]
        for s in result.get("steps", [])
        if s.get("kept_up") and (s.get("p99_ms") or 1e9) <= E2E_P99_MS
    ]
    return max(good, default=0.0)


def p99_crossing(result: dict[str, Any]) -> str:
    steps = [s for s in result.get("steps", []) if "p99_ms" in s]
    below = [s["offered_per_s"] for s in steps if (s["p99_ms"] or 1e9) <= E2E_P99_MS]
    above = [s["offered_per_s"] for s in steps if (s["p99_ms"] or 1e9) > E2E_P99_MS]
    if not above:
        return f"not up to {max(below, default=0):g} msgs/s (the highest rate run)"
    first = min(above)
    under = max((r for r in below if r < first), default=None)
    return f"between {under:g} and {first:g} msgs/s" if under else f"at or below {first:g} msgs/s"


def e2e(results: list[dict[str, Any]]) -> dict[str, Any]:
    name = "end to end over HTTP"
    wanted = f"≥ {E2E_RATE:,.0f} msgs/s sustained, p99 ≤ {E2E_P99_MS:g} ms, 0 lost/duplicated"
    if not results:
        return _target(name, wanted, "not measured", None)
    measured, met_all, worst_gap = [], True, 0.0
    for result in results:
        if "not_measured" in result:
            measured.append(f"{result['store']}: not measured")
            met_all = False
            continue
        clean = not any(result["verification"][k] for k in CHECKS)
        rate = best_rate(result)
        met_all = met_all and clean and rate >= E2E_RATE
        worst_gap = max(worst_gap, E2E_RATE - rate)
        kept = [s for s in result["steps"] if s.get("kept_up")]
        top = max(kept, key=lambda s: s["offered_per_s"], default=None)
        sustained = (
            f"kept up to {top['offered_per_s']:g} msgs/s (p99 there {top['p99_ms']:,.0f} ms)"
            if top
            else "kept up at no rate run"
        )
        within = f"{rate:g} msgs/s" if rate else "none of the rates run"
        state = "every accepted message durable and published once" if clean else "LOSS"
        measured.append(f"{result['store']}: {sustained}; with p99 ≤ 50 ms: {within}; {state}")
    missed = None if met_all else f"{worst_gap:,.0f} msgs/s (worst store) short of {E2E_RATE:,.0f}"
    return _target(name, wanted, "; ".join(measured), met_all, missed_by=missed)


def e2e_budget(
    rows: list[dict[str, Any]], results: list[dict[str, Any]], cores: int
) -> list[dict[str, Any]]:
    """What :data:`E2E_RATE` would take on this machine, per store, from this run's own
    figures: the CPU per message of the workers, the broker and the load generator at the
    highest rate kept up, and (a lower bound no gateway overhead can beat) the load
    generator plus the pipeline alone in process on the same message (its CBPR+ row)."""
    cbpr = next((r for r in rows if r["key"] == "pacs008-cbpr"), None)
    pipeline_us = _median(cbpr, "gateway_cbpr") if cbpr else None
    out: list[dict[str, Any]] = []
    for result in results:
        kept = [s for s in result.get("steps", []) if s.get("kept_up") and s["achieved_per_s"]]
        if not kept:
            continue
        top = max(kept, key=lambda s: s["offered_per_s"])
        per_msg = {
            part: top[f"{part}_cpu_pct"] * 10 / top["achieved_per_s"]
            for part in ("workers", "broker", "generator")
        }
        entry: dict[str, Any] = {
            "store": result["store"],
            "rate": top["offered_per_s"],
            "cores": cores,
            "budget_ms": round(cores * 1000 / E2E_RATE, 3),
            **{f"{part}_ms": round(ms, 3) for part, ms in per_msg.items()},
            "cores_needed": round(sum(per_msg.values()) * E2E_RATE / 1000, 2),
        }
        if pipeline_us is not None:
            floor_ms = per_msg["generator"] + pipeline_us / 1000
            entry["pipeline_ms"] = round(pipeline_us / 1000, 3)
            entry["cores_needed_floor"] = round(floor_ms * E2E_RATE / 1000, 2)
        out.append(entry)
    return out


def big_file(rss: dict[str, Any] | None) -> list[dict[str, Any]]:
    name = "10,000-tx pain.001 (fresh process)"
    time_wanted, rss_wanted = f"≤ {BIG_SECONDS:g} s", f"≤ {BIG_RSS_MB:g} MB"
    if not rss or "times_s" not in rss:
        why = (rss or {}).get("not_measured", "not measured")
        return [
            _target(f"{name}: validate + map", time_wanted, why, None),
            _target(f"{name}: peak RSS", rss_wanted, why, None),
        ]
    seconds = statistics.median(rss["times_s"])
    peak = rss["maxrss_peak_mb"]
    slow = None if seconds <= BIG_SECONDS else f"{seconds - BIG_SECONDS:.2f} s"
    big = None if peak <= BIG_RSS_MB else f"{peak - BIG_RSS_MB:,.0f} MB"
    runs = len(rss["times_s"])
    return [
        _target(
            f"{name}: validate + map",
            time_wanted,
            f"{seconds:.2f} s (median of {runs})",
            slow is None,
            missed_by=slow,
            value=seconds,
        ),
        _target(
            f"{name}: peak RSS",
            rss_wanted,
            f"{peak:,.0f} MB",
            big is None,
            missed_by=big,
            value=peak,
        ),
    ]


def judge(
    rows: list[dict[str, Any]], rss: dict[str, Any] | None, e2e_results: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    return [floor_ratio(rows), peer_ratios(rows), e2e(e2e_results), *big_file(rss)]
