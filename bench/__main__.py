"""``python -m bench [--quick] [--only PARTS] [--messages KEYS] [--stores KINDS] [--out DIR]``.

Runs the in-process comparison (pinned to one core), the 10,000-transaction file in a
fresh process, and the end-to-end run per store, then writes ``<out>/latest.md`` and
``latest.json`` (``quick.md`` / ``quick.json`` with ``--quick``).

``python -m bench --render RESULTS.json`` measures nothing: it judges the targets of a
run's JSON again and writes its Markdown next to it (after a change to the report).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from bench import env, messages, report, targets, timing

PARTS = ("inproc", "rss", "e2e")
STORES = ("sqlite", "postgresql")
RESULTS = Path(__file__).resolve().parent / "results"


def _args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few iterations (smoke test)")
    parser.add_argument("--only", default=",".join(PARTS), help=f"parts: {','.join(PARTS)}")
    parser.add_argument(
        "--messages",
        default=",".join(messages.KEYS),
        help=f"message keys: {','.join(messages.KEYS)}",
    )
    parser.add_argument("--stores", default=",".join(STORES), help="sqlite,postgresql")
    parser.add_argument("--workers", type=int, default=None, help="gateway processes (e2e)")
    parser.add_argument("--cpu", type=int, default=None, help="CPU to pin the in-process part to")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder")
    parser.add_argument(
        "--render", type=Path, default=None, help="re-judge and re-write a run's JSON (no run)"
    )
    args = parser.parse_args(argv)
    for value, allowed in (
        (args.only, PARTS),
        (args.messages, messages.KEYS),
        (args.stores, STORES),
    ):
        unknown = set(value.split(",")) - set(allowed)
        if unknown:
            parser.error(f"unknown {sorted(unknown)}; choose from {','.join(allowed)}")
    return args


def _rss(payload: bytes, runs: int) -> dict[str, Any]:
    """The 10,000-tx file validated and mapped in a fresh interpreter (same CPU pinning)."""
    with tempfile.NamedTemporaryFile(suffix=".xml") as handle:
        handle.write(payload)
        handle.flush()
        done = subprocess.run(
            [sys.executable, "-m", "bench.rss", handle.name, str(runs)],
            cwd=env.REPO,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    if done.returncode != 0:
        return {"not_measured": f"bench.rss failed: {done.stderr[-500:]}"}
    result: dict[str, Any] = orjson.loads(done.stdout.splitlines()[-1])
    return result


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _judge(results: dict[str, Any]) -> None:
    results["targets"] = targets.judge(results["inprocess"], results["rss"], results["e2e"])
    results["e2e_budget"] = targets.e2e_budget(
        results["inprocess"], results["e2e"], results["machine"]["nproc"] or 1
    )


def render(path: Path) -> int:
    """Judge a stored run again and write its Markdown and JSON where they were."""
    results: dict[str, Any] = orjson.loads(path.read_bytes())
    _judge(results)
    md, js = report.write(results, path.parent, path.stem)
    log(f"wrote {md} and {js}")
    return 0


def main(argv: list[str]) -> int:
    args = _args(argv)
    if args.render is not None:
        return render(args.render)
    parts, keys = set(args.only.split(",")), tuple(args.messages.split(","))
    started = time.monotonic()
    budget = timing.QUICK if args.quick else timing.FULL
    results: dict[str, Any] = {
        "schema": 1,
        "mode": "quick" if args.quick else "full",
        "machine": env.machine(),
        "pinned_cpu": None,
        "inprocess": [],
        "rss": None,
        "e2e": [],
        "not_measured": [],
    }
    mix = messages.build(keys)
    if parts & {"inproc", "rss"}:
        allowed = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
        results["pinned_cpu"] = timing.pin_one_core(args.cpu)
        try:
            big = next((m for m in mix if m.transactions >= 10_000), None)
            if "rss" in parts and big is not None:  # first: forked while this process is small
                log("10,000-tx pain.001 in a fresh process ...")
                results["rss"] = _rss(big.payload, 1 if args.quick else 3)
            if "inproc" in parts:
                from bench import inproc
                from gateway.pipeline import Gateway
                from gateway.settings import Settings

                log(f"in-process ({results['mode']}), CPU {results['pinned_cpu']}:")
                gateway = Gateway.from_settings(Settings.from_env())
                results["inprocess"] = inproc.run(gateway, mix, budget)
        finally:
            if allowed is not None:
                os.sched_setaffinity(0, allowed)  # the e2e workers get every core
    if "e2e" in parts:
        from bench import e2e

        plan = e2e.QUICK if args.quick else e2e.FULL
        if args.workers:
            plan = dataclasses.replace(plan, workers=args.workers)
        for kind in args.stores.split(","):
            log(f"end to end, {kind}, {plan.workers} workers:")
            result = e2e.run(kind, plan)
            if "not_measured" in result:
                results["not_measured"].append(f"end to end on {kind}: {result['not_measured']}")
            results["e2e"].append(result)
    _judge(results)
    results["load_average_end"] = env.load_average()
    results["elapsed_s"] = round(time.monotonic() - started, 1)
    md, js = report.write(results, args.out, "quick" if args.quick else "latest")
    log(f"wrote {md} and {js}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
