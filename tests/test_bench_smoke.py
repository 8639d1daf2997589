"""Smoke test of the benchmark (bench/): the quick in-process part on the 1-tx pacs.008.

Runs ``python -m bench --quick --only inproc --messages pacs008`` in a fresh interpreter
(it pins itself to one CPU) and checks the shape of the Markdown and JSON it writes.
The peers live in bench/.venv only: here their columns may say "not installed".
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def test_quick_inprocess_run_writes_markdown_and_json(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "inproc",
         "--messages", "pacs008", "--out", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "quick.json").read_text(encoding="utf-8"))
    assert results["mode"] == "quick"
    machine = results["machine"]
    assert machine["nproc"] >= 1
    assert machine["cpu_model"]
    assert machine["python"].startswith("3.")
    assert machine["versions"]["lxml"]
    assert len(machine["load_average_start"]) == 3
    assert len(machine["git"]["commit"]) == 40
    [row] = results["inprocess"]
    assert row["key"] == "pacs008"
    assert row["message_id"] == "pacs.008.001.08"
    floor, gateway = row["contenders"]["floor"], row["contenders"]["gateway"]
    assert floor["verdict"] is True  # the message is XSD-valid
    assert gateway["verdict"] in {"accepted", "accepted_with_warnings"}
    assert 0 < floor["median_us"] <= floor["p90_us"]
    assert 0 < gateway["median_us"] <= gateway["p90_us"]
    assert set(row["stages_ms"]) >= {"parse", "schema", "map", "rules"}
    for peer in ("pacs008", "pain001", "xmlschema"):
        contender = row["contenders"][peer]
        assert "median_us" in contender or contender["na"]
    assert "n/a" in row["contenders"]["pain001"]["na"]  # pain001 has no pacs.008 schema
    names = [target["name"] for target in results["targets"]]
    assert names[0] == "in-process pipeline, 1-tx pacs.008"
    assert isinstance(results["targets"][0]["met"], bool)
    assert results["e2e"] == []
    markdown = (tmp_path / "quick.md").read_text(encoding="utf-8")
    assert markdown.startswith("# Benchmark results (quick)")
    assert "## Targets (issue #8)" in markdown
    assert "| pacs.008 1 tx | 2," in markdown  # the row and its size in bytes
    # --render judges the stored run again and writes the same report (nothing measured)
    (tmp_path / "quick.md").unlink()
    again = subprocess.run(
        [sys.executable, "-m", "bench", "--render", str(tmp_path / "quick.json")],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr[-3000:]
    assert (tmp_path / "quick.md").read_text(encoding="utf-8") == markdown


def test_e2e_budget_from_the_highest_rate_kept_up() -> None:
    from bench.report import budget_lines
    from bench.targets import e2e_budget

    def step(rate: float, kept: bool, workers: float) -> dict[str, object]:
        return {
            "offered_per_s": rate, "achieved_per_s": rate, "kept_up": kept,
            "workers_cpu_pct": workers, "broker_cpu_pct": 4.0, "generator_cpu_pct": 20.0,
        }  # fmt: skip

    rows = [{"key": "pacs008-cbpr", "contenders": {"gateway_cbpr": {"median_us": 500.0}}}]
    results = [
        {"store": "sqlite", "steps": [step(200, True, 100.0), step(400, True, 160.0),
                                      step(600, False, 170.0)]},
        {"store": "postgresql", "not_measured": "unreachable"},
    ]  # fmt: skip
    [entry] = e2e_budget(rows, results, cores=2)
    assert entry["store"] == "sqlite" and entry["rate"] == 400
    assert entry["budget_ms"] == 1.0  # 2 cores / 2,000 msgs/s
    assert entry["workers_ms"] == 4.0 and entry["broker_ms"] == 0.1
    assert entry["generator_ms"] == 0.5
    assert entry["cores_needed"] == 9.2  # (4.0 + 0.1 + 0.5) ms x 2,000/s
    assert entry["cores_needed_floor"] == 2.0  # (0.5 + 0.5) ms x 2,000/s
    text = "\n".join(budget_lines([entry]))
    row = "| sqlite | 400 | 4.00 ms | 0.10 ms | 0.50 ms | 9.2 | 0.50 + 0.50 ms: 2.0 cores |"
    assert row in text
    assert budget_lines([]) == []
