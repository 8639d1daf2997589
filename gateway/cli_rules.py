"""``isogw rules``: the rule catalogue, and how the CLI judges as a tenant.

``isogw rules list [--pack NAME] [--tenant ID]`` documents every rule the packs
define (id, pack, versions, layer, severity, ISO reason code, description); it
is the source of ``docs/rules.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from gateway.cli_common import OutputFormat
from gateway.cli_common import fail as _fail
from gateway.errors import GatewayError
from gateway.rules import STATUS_REASONS, Pack, PackRegistry

if TYPE_CHECKING:
    from gateway.pipeline import Gateway, InboundResult, RuleSelection
    from gateway.tenants import TenantRegistry

__all__ = ["catalogue", "rules_app", "tenant_judging"]

rules_app = typer.Typer(help="Business, scheme and tenant rule packs.", no_args_is_help=True)


def catalogue(packs: list[Pack]) -> list[dict[str, Any]]:
    """One row per rule id: the latest version's definition, the versions defining it."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for pack in packs:
        for rule in pack.rules:
            row = rows.setdefault((pack.pack, rule.id), {"versions": []})
            row["versions"].append(pack.version)
            row.update(
                id=rule.id,
                pack=pack.pack,
                layer=pack.layer.value,
                severity=rule.severity.value,
                severity_by_area={k: v.value for k, v in rule.severity_by_area.items()},
                iso_reason=rule.iso_reason,
                iso_reason_name=STATUS_REASONS.get(rule.iso_reason or ""),
                check=rule.check,
                messages=list(rule.messages or pack.messages),
                effective_from=str(rule.effective_from) if rule.effective_from else None,
                effective_to=str(rule.effective_to) if rule.effective_to else None,
                params=rule.params,
                description=" ".join(rule.description.split()),
            )
    return sorted(rows.values(), key=lambda row: (row["layer"], row["pack"], row["id"]))


@rules_app.command("list")
def rules_list(
    pack: Annotated[
        list[str] | None,
        typer.Option("--pack", "-p", help="Only this pack (repeatable).", show_default=False),
    ] = None,
    tenant: Annotated[
        str | None,
        typer.Option("--tenant", help="Add this tenant's own rules.", show_default=False),
    ] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Output format.")
    ] = OutputFormat.text,
) -> None:
    """Document every rule: id, layer, severity, ISO reason code, description."""
    from gateway.cli import _settings, _tenants

    try:
        registry = PackRegistry.load(_settings().rule_packs_dir)
    except GatewayError as exc:
        raise _fail(exc.message, 3) from exc
    names = pack or registry.names()
    packs: list[Pack] = []
    for name in names:
        try:
            packs.extend(registry.versions(name))
        except GatewayError as exc:
            raise _fail(exc.message, 2) from exc
    if tenant is not None:
        from gateway.rules.tenant_rules import tenant_pack

        found = _tenants().get(tenant)
        if found is None:
            raise _fail(f"no tenant {tenant!r}", 2)
        packs.append(tenant_pack(found))
    rows = catalogue(packs)
    if output_format is OutputFormat.json:
        typer.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    for row in rows:
        reason = row["iso_reason"] or "-"
        versions = ",".join(row["versions"])
        typer.echo(
            f"{row['id']:44} {row['layer']:8} {row['severity']:7} {reason:4}  "
            f"{row['pack']}@{versions}\n    {row['description']}"
        )


def tenant_judging(
    tenants: TenantRegistry, tenant_id: str, gateway: Gateway, packs: tuple[str, ...]
) -> tuple[str, frozenset[str], RuleSelection, Callable[[InboundResult], None]]:
    """(tenant id, relaxed codes, rule selection, recorder) for ``--tenant``: the
    tenant's packs, rules and relaxations, per-day totals kept across the run's files."""
    from dataclasses import replace

    from gateway.rules.tenant_rules import MemoryDailyTotals

    tenant = tenants.get(tenant_id)
    if tenant is None:
        known = ", ".join(t.id for t in tenants.all())
        raise _fail(f"no tenant {tenant_id!r} (tenants: {known})", 2)
    if gateway.rules is not None:
        try:
            tenant.check_packs(gateway.rules.packs)
        except GatewayError as exc:
            raise _fail(exc.message, 3) from exc
    totals = MemoryDailyTotals()
    selection = tenant.rule_selection(spent=totals.lookup(tenant))
    selection = replace(selection, packs=packs)

    def record(result: InboundResult) -> None:
        totals.record(tenant, result)

    return tenant.id, tenant.relaxed_codes(), selection, record
