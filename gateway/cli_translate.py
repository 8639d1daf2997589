"""``isogw translate FILE --to MESSAGE_ID``: SWIFT MT <-> ISO 20022 MX, through the
canonical event (:mod:`gateway.translate`).

Reads one message (MT or MX, sniffed from the content; ``-`` reads stdin), validates
it as ``isogw validate`` does (XSD or MT definitions, mapping, business rule pack),
translates it and validates the result. The translated message goes to stdout (or
``--out``), the translation report to stderr (text, or one JSON object with
``--format json``: source, target, outcome, ``data_lost`` and every finding - see
:mod:`gateway.translate_report` for the ``translate.*`` codes).

Output and exit codes:

* ``0`` translated, valid, nothing lost (info findings allowed: values the translator
  supplied by rule, message-level data the target regenerates); with ``--allow-loss``
  also when data was lost;
* ``1`` the source was rejected (its report is printed, nothing is translated); or
  the output is invalid (the output is then written only to ``--out``, for inspection,
  never to stdout); or data was lost (truncated, replaced or dropped) and
  ``--allow-loss`` was not given (the valid output is still written);
* ``2`` usage: unreadable file, a malformed message id, a pair that is not translated
  (e.g. ``fin.940 --to pacs.008.001.08``);
* ``3`` the gateway cannot run (settings, schema installation - also the source's own
  schema missing -, mapping files).

Registered in :mod:`gateway.cli` with ``app.command("translate")(translate)``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer

from gateway.cli_common import OutputFormat
from gateway.cli_common import fail as _fail
from gateway.errors import GatewayError
from gateway.pipeline import Gateway
from gateway.report import Finding
from gateway.settings import Settings
from gateway.translate import TranslationResult, TranslationUnsupported, Translator

__all__ = ["translate"]


def _where(item: Finding) -> str:
    loc = item.location
    parts = [p for p in (loc.mt_tag, loc.xpath) if p]
    if loc.line is not None:
        parts.append(f"line {loc.line}")
    return " ".join(parts)


def _text(result: TranslationResult) -> str:
    source = result.source
    head = f"{source.message_id or '?'} -> {result.target}: {result.outcome}"
    if result.refused:
        head += f" (the source was rejected: {len(source.findings)} finding(s))"
        items = source.findings
    else:
        lost = len(result.lost)
        head += f" ({len(result.findings)} finding(s), {lost} with data lost)"
        items = result.findings
    lines = [head]
    for item in items:
        lines.append(f"  {item.severity.value:7} {item.code:26} {_where(item)}")
        lines.append(f"          {item.message}")
    return "\n".join(lines) + "\n"


def _write(data: bytes, out: Path | None) -> None:
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    try:
        out.write_bytes(data)
    except OSError as exc:
        raise _fail(f"cannot write {out}: {exc.strerror or exc}", 2) from exc


def translate(
    file: Annotated[
        Path,
        typer.Argument(metavar="FILE", help="The message to translate (MT or MX); - for stdin."),
    ],
    to: Annotated[
        str,
        typer.Option(
            "--to",
            "-t",
            help="Target message id: pacs.008.001.08, pacs.009.001.08, fin.103, "
            "fin.103.STP, fin.202 (fin.202.COV).",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Write the translation here instead of stdout.", show_default=False
        ),
    ] = None,
    allow_loss: Annotated[
        bool,
        typer.Option(
            "--allow-loss",
            help="Exit 0 when data was truncated or dropped (it is still reported).",
        ),
    ] = False,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Format of the report on stderr.")
    ] = OutputFormat.text,
) -> None:
    """Translate a SWIFT MT message into ISO 20022 (with its CBPR+ AppHdr) or back.

    The translation goes to stdout (or --out), the translation report to stderr. Exits
    1 when the source is rejected, the output is invalid, or data was lost (unless
    --allow-loss).
    """
    try:
        payload = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
    except OSError as exc:
        raise _fail(f"cannot read {file}: {exc.strerror or exc}", 2) from exc
    try:
        translator = Translator(Gateway.from_settings(Settings.from_env()))
        result = translator.translate(payload, to)
    except TranslationUnsupported as exc:
        raise _fail(exc.message, 2) from exc
    except GatewayError as exc:
        raise _fail(exc.message, 3) from exc
    if result.output is not None and (result.valid or out is not None):
        _write(result.output, out)
    if output_format is OutputFormat.json:
        sys.stderr.buffer.write(orjson.dumps(result.report_json()) + b"\n")
    else:
        sys.stderr.write(_text(result))
    if result.refused and any(f.code == "schema.not_installed" for f in result.source.findings):
        raise typer.Exit(3)  # the source's schema is not installed: configuration
    failed = result.refused or not result.valid or (bool(result.lost) and not allow_loss)
    raise typer.Exit(1 if failed else 0)
