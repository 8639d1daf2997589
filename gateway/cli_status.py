"""``isogw status-message FILE [--as pacs.002.001.10|pain.002.001.10|fin.199]``: the
status report the gateway would answer for a message (:mod:`gateway.status_message`):
ISO 20022, or the MT 199 answering an MT message.

The message is judged as ``isogw validate`` judges it (``--pack``, ``--tenant``); the
status report is written to stdout (or ``--out``) and validated against its installed
XSD. ``--as`` defaults to pain.002.001.10 for pain.* messages, pacs.002.001.10 otherwise.

Exit codes: 0 the message is accepted (status ACTC); 1 it is rejected (status RJCT);
2 usage (no such file, an RJE batch with several messages, no status report possible
because the message's id or type is unknown); 3 the gateway cannot run, or the status
report fails its own XSD (a defect: it is still written, for inspection). A note on
stderr says when the status report's schema is not installed and it was not validated.

Registered in :mod:`gateway.cli` with ``app.command("status-message")``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli_common import err
from gateway.cli_common import fail as _fail
from gateway.report import Outcome
from gateway.status_message import (
    StatusMessageUnavailable,
    default_status_message,
    render_status_message,
)

__all__ = ["status_message_cmd"]


class StatusAs(StrEnum):
    pacs = "pacs.002.001.10"
    pain = "pain.002.001.10"
    mt199 = "fin.199"


def status_message_cmd(
    file: Annotated[Path, typer.Argument(help="Message file (MX or MT).", show_default=False)],
    as_: Annotated[
        StatusAs | None,
        typer.Option(
            "--as",
            help="Status report to write (default: pain.002 for pain.*, else pacs.002; "
            "fin.199: the MT 199 answering an MT message).",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Write the XML here instead of stdout.", show_default=False
        ),
    ] = None,
    pack: Annotated[
        list[str] | None,
        typer.Option("--pack", "-p", help="Also judge by this scheme pack.", show_default=False),
    ] = None,
    tenant: Annotated[
        str | None,
        typer.Option("--tenant", help="Judge as this tenant would.", show_default=False),
    ] = None,
) -> None:
    """Print the ISO 20022 status report (pacs.002 / pain.002) for a message."""
    from gateway.cli import _gateway, _Judge  # the command modules are imported by cli

    if not file.is_file():
        raise _fail(f"no such file: {file}", 2)
    gateway = _gateway()
    results = list(_Judge(gateway, pack, tenant, schema_only=False)(file))
    if len(results) != 1:
        raise _fail(f"{file}: {len(results)} messages (RJE batch); give one message", 2)
    result = results[0]
    as_id = as_.value if as_ is not None else default_status_message(result.report)
    try:
        status = render_status_message(
            gateway.schemas,
            result.report,
            result.events,
            as_id,
            now=datetime.now(UTC),
            payload=file.read_bytes(),
        )
    except StatusMessageUnavailable as exc:
        raise _fail(exc.message, 2) from exc
    if out is not None:
        out.write_bytes(status.xml)
    else:
        typer.echo(status.xml.decode("utf-8"), nl=False)
    if not status.validated:
        err.print(f"note: no {as_id} schema installed (isogw schemas add): not validated")
    for item in status.findings:
        err.print(f"error: {as_id} {item.code}: {item.message}", highlight=False)
    if status.findings:
        raise typer.Exit(3)
    raise typer.Exit(1 if result.report.outcome is Outcome.REJECTED else 0)
