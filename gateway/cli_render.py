"""``isogw render EVENTS.json --to MESSAGE_ID``: canonical events back to an ISO 20022 message.

Reads a JSON array of canonical events (what ``isogw map`` prints; ``-`` reads stdin),
renders them with the mapping file of ``--to`` (:func:`gateway.mapping.map_outbound`),
validates the document against the installed XSD of ``--to``, and writes the XML to
stdout (or ``--out``) and the findings to stderr (text, or one JSON object with
``--format json``). The XML is written even when it is invalid, so that it can be
inspected; the exit code says whether it may be sent.

Exit codes: 0 the message is XSD-valid and complete (warnings, e.g. canonical data the
message has no element for, allowed); 1 rendered but invalid or incomplete (an error from
the mapping or the XSD); 2 usage (unreadable file, bad JSON, events that are not canonical
events, a malformed message id, no mapping file for it); 3 the gateway cannot run
(settings, schema installation, a mapping file that does not fit its XSD).

Registered in :mod:`gateway.cli` with ``app.command("render")(render)``.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from pydantic import ValidationError

from gateway.cli_common import OutputFormat
from gateway.cli_common import fail as _fail
from gateway.errors import GatewayError
from gateway.events import PaymentEvent
from gateway.mapping import MappingRegistry, map_outbound, render_xml
from gateway.messages import MessageId
from gateway.report import Finding, Outcome, outcome_of
from gateway.schemas import SchemaRegistry
from gateway.settings import Settings
from gateway.xsdmodel import XsdModel

__all__ = ["render"]

#: Validation errors of the events listed before the rest are only counted.
_MAX_EVENT_ERRORS = 5


class PlacementOpt(StrEnum):
    innermost = "innermost"
    outermost = "outermost"


def _read_events(path: Path) -> list[dict[str, Any]]:
    """The events of ``path``: a JSON array of canonical events (usage error otherwise)."""
    try:
        raw = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
    except OSError as exc:
        raise _fail(f"cannot read {path}: {exc.strerror or exc}", 2) from exc
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise _fail(f"{path} is not JSON: {exc}", 2) from exc
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise _fail(f"{path}: expected a JSON array of events (as `isogw map` prints)", 2)
    if not data:
        raise _fail(f"{path}: no events to render", 2)
    problems: list[str] = []
    for index, item in enumerate(data):
        try:
            PaymentEvent.model_validate(item)
        except ValidationError as exc:
            for error in exc.errors():
                where = ".".join(str(part) for part in error["loc"])
                problems.append(f"event {index}: {where}: {error['msg']}")
    if problems:
        more = len(problems) - _MAX_EVENT_ERRORS
        listed = "; ".join(problems[:_MAX_EVENT_ERRORS]) + (
            f"; and {more} more" if more > 0 else ""
        )
        raise _fail(f"{path}: not canonical events: {listed}", 2)
    return data


def _text(findings: list[Finding]) -> str:
    lines = []
    for item in findings:
        loc = item.location
        lines.append(
            f"  {item.severity.value:7} {item.code:26} {loc.xpath or ''}\n          {item.message}"
        )
    return "\n".join(lines)


def render(
    events_file: Annotated[
        Path,
        typer.Argument(
            metavar="EVENTS.json",
            help="JSON array of canonical events (as `isogw map` prints); - for stdin.",
        ),
    ],
    to: Annotated[
        str,
        typer.Option(
            "--to", "-t", help="Message id to render, e.g. pacs.008.001.08.", show_default=False
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Write the XML here instead of stdout.", show_default=False
        ),
    ] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Format of the findings on stderr.")
    ] = OutputFormat.text,
    placement: Annotated[
        PlacementOpt,
        typer.Option(
            help="Where values mapped at several levels go: on each transaction (innermost), "
            "or once per group/block when every transaction has the same (outermost)."
        ),
    ] = PlacementOpt.innermost,
) -> None:
    """Render canonical events into an ISO 20022 message and validate it against its XSD.

    The XML goes to stdout (or --out), the findings to stderr. Exits 1 when the message
    is invalid or incomplete: nothing the events do not carry is ever filled in.
    """
    events = _read_events(events_file)
    try:
        parsed = MessageId.parse(to)
    except ValueError as exc:
        raise _fail(f"--to: {exc}", 2) from exc
    if parsed.family != "mx":
        raise _fail(f"--to: {parsed} is a SWIFT MT message; render writes ISO 20022 (MX)", 2)
    message_id = str(parsed)
    try:
        settings = Settings.from_env()
        mapping = MappingRegistry.load(settings.mapping_dir).get(message_id)
        if mapping is None:
            raise _fail(f"no mapping file for {message_id} in {settings.mapping_dir}", 2)
        schemas = SchemaRegistry.load(settings)
        entry = schemas.get(message_id)
        if entry is None:
            raise _fail(
                f"no schema installed for {message_id}: run `isogw schemas sync`, or add it "
                f"with `isogw schemas add` or GATEWAY_SCHEMA_DIRS",
                3,
            )
        result = map_outbound(events, mapping, XsdModel.load(entry.path), placement=placement.value)
        findings = result.findings + schemas.validate(result.document, entry)
    except GatewayError as exc:
        raise _fail(exc.message, 3) from exc
    xml = render_xml(result.document)
    if out is None:
        sys.stdout.buffer.write(xml)
        sys.stdout.buffer.flush()
    else:
        try:
            out.write_bytes(xml)
        except OSError as exc:
            raise _fail(f"cannot write {out}: {exc.strerror or exc}", 2) from exc
    outcome = outcome_of(findings)
    if output_format is OutputFormat.json:
        report = {
            "message_id": message_id,
            "outcome": outcome.value,
            "events": len(events),
            "out": str(out) if out is not None else None,
            "findings": [f.model_dump(mode="json") for f in findings],
        }
        sys.stderr.buffer.write(orjson.dumps(report) + b"\n")
    else:
        verdict = "invalid" if outcome is Outcome.REJECTED else "valid"
        head = f"{message_id}: {verdict} ({len(findings)} finding(s), {len(events)} event(s))"
        sys.stderr.write("\n".join(filter(None, [head, _text(findings)])) + "\n")
    raise typer.Exit(1 if outcome is Outcome.REJECTED else 0)
