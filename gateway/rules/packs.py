"""Rule packs: versioned, data-driven sets of rules (``packs/**/*.yaml``).

A pack file names the pack, its version, the layer it judges for, the dates it
is in force and the rules it applies. Each rule points at a registered check
(code) and gives its id, severity, ISO reason code, parameters and, where the
rule changes by date, its own effective dates::

    pack: cbpr-plus
    version: "2025"
    layer: scheme
    title: SWIFT CBPR+ usage guidelines, SR2025
    reference: https://...                 # where the rules are published
    effective_from: 2025-11-22
    messages: [pacs.008.001.08, pacs.009.001.08]
    match: {business_service: [swift.cbprplus.]}   # when a tenant lists the pack
    rules:
      - id: cbpr.uetr_required
        check: required_fields
        params: {fields: [ids.uetr]}
        severity: error
        iso_reason: CH21
        description: Every CBPR+ payment carries a UETR.
        # optional: severity_by_area: {camt: warning}; messages: [...];
        #           effective_from / effective_to (exclusive)

Several files may carry the same pack name with different versions and
``effective_from`` dates: a message is judged by the version in force on its
creation date (a message dated before the first version is judged by the first).
Nothing in a pack is evaluated: ``check`` names registered code and ``params``
are plain data the check documents.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gateway.errors import ConfigError
from gateway.messages import MessageId
from gateway.report import Layer, Severity
from gateway.rules.model import CHECKS
from gateway.rules.reasons import STATUS_REASONS

__all__ = ["Condition", "Match", "Pack", "PackRegistry", "RuleDef", "load_pack"]

_RULE_ID = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$"
_PACK_NAME = r"^[a-z][a-z0-9-]{1,40}(:[A-Z0-9_]+)?$"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _message_ids(value: tuple[str, ...]) -> tuple[str, ...]:
    for item in value:
        MessageId.parse(item)
    return value


class RuleDef(_Frozen):
    id: str = Field(pattern=_RULE_ID)
    check: str
    description: str = Field(min_length=1)
    severity: Severity = Severity.ERROR
    #: Severity by ISO business area (``camt``, ``pacs``...) where it differs, e.g. a
    #: code-set violation that rejects a payment but only warns on a statement.
    severity_by_area: dict[str, Severity] = Field(default_factory=dict)
    iso_reason: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    messages: tuple[str, ...] = ()  # empty: every message of the pack
    effective_from: date | None = None
    effective_to: date | None = None  # exclusive

    _ids = field_validator("messages")(_message_ids)

    @field_validator("check")
    @classmethod
    def _known_check(cls, value: str) -> str:
        if value not in CHECKS:
            raise ValueError(f"unknown check {value!r}; known: {', '.join(sorted(CHECKS))}")
        return value

    @field_validator("iso_reason")
    @classmethod
    def _known_reason(cls, value: str | None) -> str | None:
        if value is not None and value not in STATUS_REASONS:
            raise ValueError(f"{value!r} is not a listed ExternalStatusReason1Code")
        return value

    @field_validator("severity_by_area")
    @classmethod
    def _areas(cls, value: dict[str, Severity]) -> dict[str, Severity]:
        for area in value:
            if not re.fullmatch(r"[a-z]{4}", area):
                raise ValueError(f"{area!r} is not an ISO 20022 business area (e.g. camt)")
        return value

    def severity_for(self, message_id: str | None) -> Severity:
        area = (message_id or "").partition(".")[0]
        return self.severity_by_area.get(area, self.severity)

    def model_post_init(self, context: Any, /) -> None:
        severities = {self.severity, *self.severity_by_area.values()}
        if Severity.ERROR in severities and self.iso_reason is None:
            raise ValueError(f"rule {self.id}: a rejecting rule needs an iso_reason")
        spec = CHECKS[self.check]
        unknown = set(self.params) - set(spec.params)
        if unknown:
            raise ValueError(
                f"rule {self.id}: check {self.check!r} takes no parameter(s) "
                f"{', '.join(sorted(unknown))}; it takes: {', '.join(sorted(spec.params)) or '-'}"
            )
        missing = spec.required - set(self.params)
        if missing:
            raise ValueError(f"rule {self.id}: missing parameter(s) {', '.join(sorted(missing))}")
        if spec.validate is not None:
            try:
                spec.validate(self.params)
            except ValueError as exc:
                raise ValueError(f"rule {self.id}: {exc}") from None

    def in_force(self, on: date) -> bool:
        if self.effective_from is not None and on < self.effective_from:
            return False
        return self.effective_to is None or on < self.effective_to

    def applies_to(self, message_id: str | None) -> bool:
        return not self.messages or message_id in self.messages


class Condition(_Frozen):
    """Message properties a pack selection tests (within a key, any listed value)."""

    business_service: tuple[str, ...] = ()  # AppHdr BizSvc prefixes
    clearing_system: tuple[str, ...] = ()  # settlement clearing system code/proprietary
    service_level: tuple[str, ...] = ()  # PmtTpInf/SvcLvl code
    local_instrument: tuple[str, ...] = ()  # PmtTpInf/LclInstrm code or proprietary
    channel: tuple[str, ...] = ()  # the submitting channel


class Match(Condition):
    """When a tenant lists a pack, which of its messages the pack judges: all keys
    given must hold, and none of ``unless`` (e.g. SCT, unless the local instrument is
    INST, which the SCT Inst pack judges). ``--pack`` on the command line applies the
    pack to every message it covers, regardless of ``match``."""

    unless: Condition | None = None


class Pack(_Frozen):
    pack: str = Field(pattern=_PACK_NAME)
    version: str = Field(min_length=1)
    layer: Layer
    title: str
    reference: str | None = None
    effective_from: date | None = None
    messages: tuple[str, ...] = ()  # empty: every message
    match: Match = Match()
    rules: tuple[RuleDef, ...]
    #: set by the loader: where the pack came from and its content hash
    origin: str = ""
    sha256: str = ""

    _ids = field_validator("messages")(_message_ids)

    @field_validator("layer")
    @classmethod
    def _rule_layer(cls, value: Layer) -> Layer:
        if value not in (Layer.BUSINESS, Layer.SCHEME, Layer.TENANT):
            raise ValueError("a pack judges for the business, scheme or tenant layer")
        return value

    def model_post_init(self, context: Any, /) -> None:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} appears twice")
            seen.add(rule.id)

    def covers(self, message_id: str | None) -> bool:
        return not self.messages or message_id in self.messages

    @property
    def label(self) -> str:
        return f"{self.pack}@{self.version}"


def load_pack(path: Path) -> Pack:
    try:
        raw_bytes = path.read_bytes()
        raw = yaml.safe_load(raw_bytes)
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"rule pack {path}: cannot read: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"rule pack {path}: expected a mapping at the top")
    try:
        pack = Pack.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"rule pack {path}: {problems}") from exc
    digest = hashlib.sha256(raw_bytes).hexdigest()
    return pack.model_copy(update={"origin": path.name, "sha256": digest})


@dataclass(frozen=True, slots=True)
class PackRegistry:
    """All packs found in a directory, by name, versions ordered by effective date."""

    by_name: Mapping[str, tuple[Pack, ...]]

    @classmethod
    def load(cls, directory: Path) -> PackRegistry:
        if not directory.is_dir():
            raise ConfigError(f"GATEWAY_PACKS_DIR: {str(directory)!r} is not a directory")
        return cls.of(load_pack(path) for path in sorted(directory.rglob("*.yaml")))

    @classmethod
    def of(cls, packs: Iterable[Pack]) -> PackRegistry:
        grouped: dict[str, list[Pack]] = {}
        owner: dict[str, str] = {}
        for pack in packs:
            versions = grouped.setdefault(pack.pack, [])
            if any(p.version == pack.version for p in versions):
                raise ConfigError(f"rule pack {pack.pack} version {pack.version} defined twice")
            if versions and versions[0].layer is not pack.layer:
                raise ConfigError(f"rule pack {pack.pack}: versions disagree on the layer")
            for rule in pack.rules:
                if owner.setdefault(rule.id, pack.pack) != pack.pack:
                    raise ConfigError(
                        f"rule id {rule.id} is defined by packs {owner[rule.id]} and {pack.pack}"
                    )
            versions.append(pack)
        ordered = {
            name: tuple(sorted(versions, key=lambda p: (p.effective_from or date.min, p.version)))
            for name, versions in grouped.items()
        }
        return cls(ordered)

    def names(self) -> list[str]:
        return sorted(self.by_name)

    def versions(self, name: str) -> tuple[Pack, ...]:
        try:
            return self.by_name[name]
        except KeyError:
            known = ", ".join(self.names()) or "none"
            raise ConfigError(f"unknown rule pack {name!r}; known: {known}") from None

    def resolve(self, name: str, on: date) -> Pack:
        """The version of ``name`` in force on ``on`` (the first version before it)."""
        versions = self.versions(name)
        chosen = versions[0]
        for pack in versions:
            if pack.effective_from is None or pack.effective_from <= on:
                chosen = pack
        return chosen
