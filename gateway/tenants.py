"""Tenants: one YAML file per tenant in ``tenants/`` (DESIGN.md §3 "Tenant files").

A tenant is a region of the bank (NA, EMEA, LATAM, APAC) with its own API keys,
allowed message ids, topic template, limits, rules (``rules``: its scheme packs and
their parameters, allowed currencies, amount and per-day limits, cut-off windows,
blocked countries; see :mod:`gateway.rules.tenant_rules`) and named relaxations
(strict by default). Files are validated at start-up; a bad file stops start-up
with a :class:`ConfigError` naming the file, the key and the value.

Identity comes only from credentials: an API key (``Authorization: Bearer``)
whose SHA-256 is stored in the tenant file. Keys look like
``isogw_<key id>_<secret>``; the key id selects the stored hash, compared in
constant time. The :class:`Authenticator` port leaves room for mTLS client
certificates or JWTs later.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import tempfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, Protocol

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from gateway.cloudevents import validate_template
from gateway.daily_totals import DailyAmounts, SpentFn
from gateway.errors import ConfigError
from gateway.messages import MessageId
from gateway.outbound_config import OutboundSettings
from gateway.rules import tenant_rules
from gateway.rules.engine import RuleSelection
from gateway.rules.packs import Pack, PackRegistry
from gateway.rules.tenant_rules import TenantRules
from gateway.web.users import MIN_PASSWORD, ComplianceUser, Role, hash_password

__all__ = [
    "ApiKey",
    "ApiKeyAuthenticator",
    "Authenticator",
    "Limits",
    "Relaxation",
    "Tenant",
    "TenantRegistry",
    "new_api_key",
]

Region = Literal["NA", "EMEA", "LATAM", "APAC"]
_KEY = re.compile(r"^isogw_(?P<id>[0-9a-f]{12})_(?P<secret>[A-Za-z0-9_-]{43})$")


class Relaxation(StrEnum):
    """Named, documented loosenings of the default (strict) behaviour."""

    #: Accept an AppHdr whose MsgDefIdr names another message (finding becomes a warning).
    APPHDR_MSGDEFIDR_MISMATCH = "apphdr_msgdefidr_mismatch"
    #: Accept message ids outside ``allowed_message_ids`` (``tenant.message_allowed``
    #: becomes a warning; the HTTP API then accepts them instead of answering 403).
    MESSAGE_NOT_ALLOWED = "message_not_allowed"
    #: Accept currencies outside ``rules.currencies`` (``tenant.currency_allowed``).
    CURRENCY_NOT_ALLOWED = "currency_not_allowed"
    #: Accept transactions over ``rules.amount_limits`` (``tenant.amount_limit``).
    AMOUNT_OVER_LIMIT = "amount_over_limit"
    #: Accept messages over ``rules.daily_limits`` (``tenant.daily_limit``); totals are
    #: still recorded, the limit is not enforced at commit.
    DAILY_LIMIT_EXCEEDED = "daily_limit_exceeded"
    #: Accept messages received outside ``rules.cutoffs`` (``tenant.cutoff``).
    AFTER_CUTOFF = "after_cutoff"
    #: Accept parties in ``rules.blocked_countries`` (``tenant.blocked_country``): the
    #: finding stays in the report as a warning for review.
    BLOCKED_COUNTRY = "blocked_country"


#: Which finding codes each relaxation downgrades from error to warning.
RELAXED_CODES: dict[Relaxation, frozenset[str]] = {
    Relaxation.APPHDR_MSGDEFIDR_MISMATCH: frozenset({"detect.apphdr_mismatch"}),
    Relaxation.MESSAGE_NOT_ALLOWED: frozenset({tenant_rules.RULE_MESSAGE}),
    Relaxation.CURRENCY_NOT_ALLOWED: frozenset({tenant_rules.RULE_CURRENCY}),
    Relaxation.AMOUNT_OVER_LIMIT: frozenset({tenant_rules.RULE_AMOUNT}),
    Relaxation.DAILY_LIMIT_EXCEEDED: frozenset({tenant_rules.RULE_DAILY}),
    Relaxation.AFTER_CUTOFF: frozenset({tenant_rules.RULE_CUTOFF}),
    Relaxation.BLOCKED_COUNTRY: frozenset({tenant_rules.RULE_COUNTRY}),
}


class ApiKey(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[0-9a-f]{12}$")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    label: str | None = None
    created: datetime | None = None


class Limits(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    max_body_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    rate_per_second: float = Field(default=200.0, gt=0)
    burst: int = Field(default=400, gt=0)


class Tenant(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[A-Z][A-Z0-9_]{1,31}$")
    name: str
    region: Region
    api_keys: tuple[ApiKey, ...] = ()
    allowed_message_ids: tuple[str, ...] = Field(min_length=1)
    topic_template: str = "{tenant}.payments.{stage}.v1"
    limits: Limits = Limits()
    store_payload: bool = False
    kafka_fail_closed: bool = False
    relaxations: tuple[Relaxation, ...] = ()
    rules: TenantRules = TenantRules()
    outbound: OutboundSettings = OutboundSettings()
    #: compliance UI users (gateway.web.users): scrypt hashes only, `isogw tenants add-user`
    compliance_users: tuple[ComplianceUser, ...] = ()

    #: the file the tenant was loaded from (error messages, the rule pack's origin)
    _file: Path | None = PrivateAttr(default=None)
    #: (allowed ids, rules, pack): the pack built from exactly these objects
    _pack: tuple[object, object, Pack] | None = PrivateAttr(default=None)

    @field_validator("topic_template")
    @classmethod
    def _template(cls, value: str) -> str:
        try:
            return validate_template(value)
        except ConfigError as exc:
            raise ValueError(exc.message) from exc

    @field_validator("compliance_users")
    @classmethod
    def _unique_users(cls, value: tuple[ComplianceUser, ...]) -> tuple[ComplianceUser, ...]:
        names = [user.username for user in value]
        if len(set(names)) != len(names):
            raise ValueError("usernames must be unique")
        return value

    @field_validator("allowed_message_ids")
    @classmethod
    def _message_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            MessageId.parse(item)  # raises ValueError naming the bad id
        return value

    def allows(self, message_id: str | None) -> bool:
        return message_id is not None and message_id in self.allowed_message_ids

    def relaxed_codes(self) -> frozenset[str]:
        codes: set[str] = set()
        for relaxation in self.relaxations:
            codes |= RELAXED_CODES[relaxation]
        return frozenset(codes)

    @property
    def source(self) -> str:
        """Where the tenant comes from, for error messages."""
        return str(self._file) if self._file is not None else f"tenant {self.id}"

    def rules_pack(self) -> Pack:
        """The tenant's own rules as the pack ``tenant:<ID>`` (built once)."""
        cached = self._pack
        if (
            cached is None
            or cached[0] is not self.allowed_message_ids
            or cached[1] is not self.rules
        ):
            origin = self._file.name if self._file is not None else f"{self.id}.yaml"
            pack = tenant_rules.build_pack(self.id, self.allowed_message_ids, self.rules, origin)
            cached = (self.allowed_message_ids, self.rules, pack)
            self._pack = cached
        return cached[2]

    def rule_selection(self, spent: SpentFn | None = None) -> RuleSelection:
        """How to judge this tenant's messages: its scheme packs (where their ``match``
        holds) with its ``pack_params``, its own rules, and ``spent(day, currency)``
        (its per-day totals; None counts only the message itself)."""
        return tenant_rules.rule_selection(self, spent)

    def check_packs(self, packs: PackRegistry) -> None:
        """Raise :class:`ConfigError` (naming the file, key and value) when ``rules.packs``
        or ``rules.pack_params`` name a pack, rule or parameter ``packs`` lacks."""
        tenant_rules.check_packs(self, packs, self.source)

    def daily_amounts(
        self, events: Sequence[Mapping[str, Any]], received_at: datetime | None
    ) -> DailyAmounts | None:
        """What an accepted message adds to the per-day totals, with the limits to
        enforce at commit (none when ``daily_limit_exceeded`` is relaxed)."""
        enforce = Relaxation.DAILY_LIMIT_EXCEEDED not in self.relaxations
        return tenant_rules.daily_amounts(self.rules, events, received_at, enforce=enforce)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("ascii")).hexdigest()


def new_api_key(label: str | None = None) -> tuple[str, ApiKey]:
    """A new key (shown once) and the record that stores only its hash."""
    key_id = secrets.token_hex(6)
    key = f"isogw_{key_id}_{secrets.token_urlsafe(32)}"
    return key, ApiKey(id=key_id, sha256=_hash(key), label=label, created=datetime.now(UTC))


class Authenticator(Protocol):
    """Resolves a request's credentials to a tenant (None: not authenticated)."""

    def authenticate(self, credentials: str) -> Tenant | None: ...


class TenantRegistry:
    """All tenants of a folder, loaded and validated once."""

    def __init__(self, tenants: list[Tenant], files: Mapping[str, Path] | None = None) -> None:
        self._by_id = {t.id: t for t in tenants}
        self.files = dict(files or {})
        self._keys: dict[str, tuple[Tenant, ApiKey]] = {}
        for tenant in tenants:
            for key in tenant.api_keys:
                if key.id in self._keys:
                    raise ConfigError(f"API key id {key.id!r} is used by two tenants")
                self._keys[key.id] = (tenant, key)

    @classmethod
    def load(cls, folder: Path) -> TenantRegistry:
        if not folder.is_dir():
            raise ConfigError(f"GATEWAY_TENANTS_DIR: {str(folder)!r} is not a directory")
        tenants: list[Tenant] = []
        files: dict[str, Path] = {}
        for path in sorted(folder.glob("*.yaml")):
            tenant = load_tenant(path)
            if tenant.id in files:
                raise ConfigError(f"{path}: tenant id {tenant.id!r} also in {files[tenant.id]}")
            if path.stem != tenant.id:
                raise ConfigError(f"{path}: id: {tenant.id!r} must match the file name")
            tenants.append(tenant)
            files[tenant.id] = path
        return cls(tenants, files)

    def get(self, tenant_id: str) -> Tenant | None:
        return self._by_id.get(tenant_id)

    def key(self, key_id: str) -> tuple[Tenant, ApiKey] | None:
        return self._keys.get(key_id)

    def all(self) -> list[Tenant]:
        return list(self._by_id.values())

    def check_packs(self, packs: PackRegistry) -> None:
        """Every tenant's packs and pack parameters exist (:meth:`Tenant.check_packs`)."""
        for tenant in self._by_id.values():
            tenant.check_packs(packs)

    def with_extra_key(self, tenant_id: str, key: ApiKey) -> TenantRegistry:
        """A copy where ``tenant_id`` also accepts ``key`` (development runs)."""
        tenants = [
            t.model_copy(update={"api_keys": (*t.api_keys, key)}) if t.id == tenant_id else t
            for t in self._by_id.values()
        ]
        return TenantRegistry(tenants, self.files)


class ApiKeyAuthenticator:
    def __init__(self, tenants: TenantRegistry) -> None:
        self._tenants = tenants

    def authenticate(self, credentials: str) -> Tenant | None:
        match = _KEY.match(credentials)
        if match is None:
            return None
        found = self._tenants.key(match.group("id"))
        if found is None:
            return None
        tenant, key = found
        return tenant if hmac.compare_digest(_hash(credentials), key.sha256) else None


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read tenant file: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a tenant file is a YAML mapping")
    return data


def load_tenant(path: Path) -> Tenant:
    data = _read(path)
    try:
        tenant = Tenant.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "(file)"
        value = first.get("input")
        raise ConfigError(
            f"{path}: {key}: {first['msg']} (value: {value!r})"
            + (f"; and {exc.error_count() - 1} more problem(s)" if exc.error_count() > 1 else "")
        ) from exc
    tenant._file = path
    return tenant


def _write(path: Path, data: dict[str, Any]) -> None:
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def add_key(path: Path, label: str | None = None) -> tuple[str, ApiKey]:
    """Add a new key to the tenant file; returns the key (to show once) and its record."""
    data = _read(path)
    load_tenant(path)  # the file must be valid before we touch it
    key, record = new_api_key(label)
    keys = list(data.get("api_keys") or [])
    keys.append(record.model_dump(mode="json", exclude_none=True))
    data["api_keys"] = keys
    _write(path, data)
    load_tenant(path)
    return key, record


def add_user(path: Path, username: str, role: Role, password: str) -> ComplianceUser:
    """Add (or replace the password and role of) a compliance UI user in the tenant
    file; only the scrypt hash of ``password`` is written."""
    data = _read(path)
    load_tenant(path)  # the file must be valid before we touch it
    if len(password) < MIN_PASSWORD:
        raise ConfigError(f"a compliance user's password has at least {MIN_PASSWORD} characters")
    try:
        user = ComplianceUser(
            username=username,
            role=role,
            password=hash_password(password),
            created=datetime.now(UTC),
        )
    except ValidationError as exc:
        raise ConfigError(
            f"{path}: compliance_users: {exc.errors()[0]['msg']} (value: {username!r})"
        ) from exc
    users = [
        u
        for u in list(data.get("compliance_users") or [])
        if not (isinstance(u, dict) and u.get("username") == username)
    ]
    users.append(user.model_dump(mode="json", exclude_none=True))
    data["compliance_users"] = users
    _write(path, data)
    load_tenant(path)
    return user


def revoke_key(path: Path, key_id: str) -> None:
    data = _read(path)
    keys = list(data.get("api_keys") or [])
    remaining = [k for k in keys if not (isinstance(k, dict) and k.get("id") == key_id)]
    if len(remaining) == len(keys):
        raise ConfigError(f"{path}: no API key with id {key_id!r}")
    data["api_keys"] = remaining
    _write(path, data)
