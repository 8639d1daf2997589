"""Generated, committed artefacts: the canonical event JSON Schema and the
finding catalogue document. ``python -m gateway.artifacts`` rewrites them;
tests fail when the committed copies drift from the code.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from gateway.events import json_schema
from gateway.report import CATALOGUE

__all__ = ["EVENT_SCHEMA_PATH", "FINDINGS_DOC_PATH", "event_schema_text", "findings_markdown"]

EVENT_SCHEMA_PATH = Path("schemas/canonical/payment-event.v1.json")
FINDINGS_DOC_PATH = Path("docs/findings.md")


def event_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


def findings_markdown() -> str:
    lines = [
        "# Finding codes",
        "",
        "The closed catalogue of codes a validation report can carry (generated from",
        "`gateway/report.py` by `python -m gateway.artifacts`; do not edit by hand).",
        "",
        "Severity `error` rejects the message; `warning` accepts it with warnings.",
        "`iso_reason` is the ISO 20022 ExternalStatusReason1Code a rejection carries.",
        "",
        "| code | layer | severity | iso_reason | meaning |",
        "|---|---|---|---|---|",
    ]
    for code, spec in CATALOGUE.items():
        lines.append(
            f"| `{code}` | {spec.layer.value} | {spec.severity.value} | "
            f"{spec.iso_reason or ''} | {spec.summary} |"
        )
    return "\n".join(lines) + "\n"


def main(root: Path) -> None:
    for rel, text in (
        (EVENT_SCHEMA_PATH, event_schema_text()),
        (FINDINGS_DOC_PATH, findings_markdown()),
    ):
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd())
