"""``isogw reports verify`` and ``isogw tenants add-user``: the compliance review's commands.

``reports verify --tenant X`` recomputes the tenant's hash chain over its stored
reports and review actions (:mod:`gateway.store.chain`, :mod:`gateway.store.chain_verify`)
in the database of ``GATEWAY_DATABASE_URL``. Exit 0: intact (prints the head and the
count); 1: broken (names the first broken record) or the head signature does not
verify; 3: the database cannot be read or a key file is unusable. With
``--public-key`` (or ``GATEWAY_CHAIN_SIGNING_KEY_FILE`` set) the head's Ed25519
signature must be valid.

``tenants add-user TENANT USERNAME --role compliance|admin`` adds a compliance UI user
to the tenant file with a scrypt hash of the password, asked twice on the terminal or
read from the first line of stdin with ``--password-stdin``.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Annotated, cast

import orjson
import typer
from sqlalchemy.exc import SQLAlchemyError

from gateway.cli_common import OutputFormat, fail
from gateway.cli_common import err as _err
from gateway.errors import GatewayError
from gateway.settings import Settings

__all__ = ["reports_app", "tenants_add_user"]

reports_app = typer.Typer(help="Stored validation reports.", no_args_is_help=True)


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except GatewayError as exc:
        raise fail(exc.message, 3) from exc


@reports_app.command("verify")
def reports_verify(
    tenant: Annotated[str, typer.Option(help="Tenant whose chain to verify, e.g. EMEA.")],
    public_key: Annotated[
        Path | None,
        typer.Option(
            help="Ed25519 public key (PEM) the chain head must be signed with "
            "(default: the key of GATEWAY_CHAIN_SIGNING_KEY_FILE, when set).",
            show_default=False,
        ),
    ] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Output format.")
    ] = OutputFormat.text,
) -> None:
    """Recompute a tenant's report chain; exit 1 and name the first broken record."""
    from gateway.store import Store
    from gateway.store.chain import load_public_key
    from gateway.store.chain_verify import verify

    settings = _settings()
    key_path = public_key
    if key_path is None and os.environ.get("GATEWAY_CHAIN_SIGNING_KEY_FILE"):
        key_path = Path(os.environ["GATEWAY_CHAIN_SIGNING_KEY_FILE"])
    try:
        key = load_public_key(key_path) if key_path is not None else None
    except GatewayError as exc:
        raise fail(exc.message, 3) from exc
    store = Store(settings.database_url)
    try:
        result = verify(store.engine, tenant, public_key=key)
    except SQLAlchemyError as exc:
        raise fail(f"cannot read the report chain: {type(exc).__name__}: {exc}", 3) from exc
    finally:
        store.close()
    broken = result.broken
    if output_format is OutputFormat.json:
        row = {
            "tenant": result.tenant,
            "ok": result.ok,
            "count": result.count,
            "head_seq": result.head_seq,
            "head_hash": result.head_hash,
            "signature": result.signature,
            "key_id": result.key_id,
            "broken": None
            if broken is None
            else {
                "seq": broken.seq,
                "kind": broken.kind,
                "record_id": broken.record_id,
                "reason": broken.reason,
            },
        }
        sys.stdout.buffer.write(orjson.dumps(row) + b"\n")
    elif broken is not None:
        typer.echo(f"{tenant}: chain BROKEN at {broken.describe()}")
    else:
        typer.echo(
            f"{tenant}: chain intact: {result.count} records, "
            f"head {result.head_seq} {result.head_hash}"
        )
        signed = {
            "valid": f"head signature valid (key {result.key_id})",
            "invalid": "head signature INVALID",
            "unsigned": "head is NOT SIGNED",
            "other_key": f"head signed by another key ({result.key_id})",
            "not_checked": "head signature not checked (no public key)",
        }[result.signature]
        typer.echo(f"{tenant}: {signed}")
    raise typer.Exit(0 if result.ok else 1)


def tenants_add_user(
    tenant_id: Annotated[str, typer.Argument(help="Tenant id, e.g. EMEA.")],
    username: Annotated[str, typer.Argument(help="Sign-in name (lower case).")],
    role: Annotated[
        str, typer.Option(help="compliance (own tenant) or admin (every tenant).")
    ] = "compliance",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin's first line.")
    ] = False,
) -> None:
    """Add a compliance UI user (or reset one): only the password's scrypt hash is stored."""
    from gateway.tenants import TenantRegistry, add_user
    from gateway.web.users import MIN_PASSWORD, USERNAME, Role

    if role not in ("compliance", "admin"):
        raise fail(f"--role must be compliance or admin, got {role!r}", 2)
    settings = _settings()
    assert settings.tenants_dir is not None
    try:
        path = TenantRegistry.load(settings.tenants_dir).files.get(tenant_id)
    except GatewayError as exc:
        raise fail(exc.message, 3) from exc
    if path is None:
        raise fail(f"no tenant {tenant_id!r} in {settings.tenants_dir}", 2)
    if not re.match(USERNAME, username):
        raise fail(f"a username is 2-64 of a-z 0-9 . _ @ - (lower case), got {username!r}", 2)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_PASSWORD:
        raise fail(f"the password needs at least {MIN_PASSWORD} characters", 2)
    try:
        user = add_user(path, username, cast(Role, role), password)
    except GatewayError as exc:
        raise fail(exc.message, 3) from exc
    _err.print(f"added {user.role} user {user.username} to {path}", highlight=False)
