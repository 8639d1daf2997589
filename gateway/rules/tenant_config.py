"""The ``rules`` section of a tenant file (validated at load; see
:mod:`gateway.rules.tenant_rules` for what each key makes the tenant rules check).

Codes are checked against ISO 4217 (currencies) and ISO 3166 (countries) with
``pycountry``; time zones are IANA names resolved with :mod:`zoneinfo` (the
``tzdata`` package supplies them where the system has none). Amounts are exact
decimals; write them as strings in YAML (``"25000000"``) so no float creeps in.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pycountry
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from gateway.messages import MessageId
from gateway.rules.engine import BUSINESS_PACK

__all__ = ["WEEKDAYS", "CutoffWindow", "TenantRules", "Weekday", "business_day", "zone"]

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"
_RULE_ID = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$"

Amount = Annotated[Decimal, Field(gt=0, max_digits=30)]


def zone(name: str | None) -> ZoneInfo:
    """The IANA zone ``name`` (None: UTC); ValueError naming it when unknown."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(f"{name!r} is not an IANA time zone (e.g. Europe/Berlin)") from exc


def _currency(code: str) -> str:
    if len(code) != 3 or not code.isupper() or pycountry.currencies.get(alpha_3=code) is None:
        raise ValueError(f"{code!r} is not an ISO 4217 currency code")
    return code


def _country(code: str) -> str:
    # XK (Kosovo) is not in ISO 3166 but is used in IBANs and BICs.
    if len(code) != 2 or not code.isupper():
        raise ValueError(f"{code!r} is not an ISO 3166 alpha-2 country code")
    if code != "XK" and pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(f"{code!r} is not an ISO 3166 alpha-2 country code")
    return code


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CutoffWindow(_Config):
    """A daily window in the tenant's time zone: ``open`` (inclusive) to ``close``
    (exclusive), ``HH:MM``; ``close: "24:00"`` is midnight. A window with ``close``
    before ``open`` runs over midnight; ``weekdays`` then name the day it opens."""

    messages: tuple[str, ...] = ()  # empty: every message without a window of its own
    open: str = Field(pattern=_HHMM)
    close: str = Field(pattern=_HHMM)
    weekdays: tuple[Weekday, ...] = WEEKDAYS

    @field_validator("messages")
    @classmethod
    def _ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            MessageId.parse(item)
        return value

    @field_validator("close")
    @classmethod
    def _not_empty(cls, value: str, info: ValidationInfo) -> str:
        opens = info.data.get("open")
        if opens == "24:00":
            raise ValueError("open cannot be 24:00 (use 00:00)")
        if opens == value:
            raise ValueError(f"the window opens and closes at {value}")
        return value

    def contains(self, local: datetime) -> bool:
        """Whether ``local`` (in the tenant's zone) falls inside the window."""
        now = local.hour * 60 + local.minute
        opens, closes = _minutes(self.open), _minutes(self.close)
        today = WEEKDAYS[local.weekday()]
        if opens < closes:
            return today in self.weekdays and opens <= now < closes
        yesterday = WEEKDAYS[(local.weekday() - 1) % 7]
        return (today in self.weekdays and now >= opens) or (
            yesterday in self.weekdays and now < closes
        )

    def describe(self) -> str:
        days = "every day" if set(self.weekdays) == set(WEEKDAYS) else ",".join(self.weekdays)
        return f"{self.open}-{self.close} {days}"


def _no_zone(info: ValidationInfo) -> bool:
    # An invalid time_zone is absent from info.data: it has its own error already.
    return "time_zone" in info.data and info.data["time_zone"] is None


class TenantRules(_Config):
    """The ``rules`` section of a tenant file (every key optional)."""

    #: the tenant rule pack's version; default: the first 12 hex digits of the sha256
    #: of this section and ``allowed_message_ids``
    version: str | None = Field(default=None, min_length=1, max_length=64)
    #: IANA zone of cut-offs and per-day totals; required with either
    time_zone: str | None = None
    #: scheme packs applied where their ``match`` holds, e.g. [cbpr-plus, fednow]
    packs: tuple[str, ...] = ()
    #: rule id -> parameters replacing the pack's (e.g. a limit below the network's)
    pack_params: dict[Annotated[str, Field(pattern=_RULE_ID)], dict[str, Any]] = Field(
        default_factory=dict
    )
    #: ISO 4217 codes the transactions may be in (empty: any)
    currencies: tuple[str, ...] = ()
    #: currency -> maximum amount per transaction
    amount_limits: dict[str, Amount] = Field(default_factory=dict)
    #: currency -> maximum accepted per day (receipt date in ``time_zone``)
    daily_limits: dict[str, Amount] = Field(default_factory=dict)
    cutoffs: tuple[CutoffWindow, ...] = ()
    #: ISO 3166 codes: no party/agent address, IBAN or BIC of these countries
    blocked_countries: tuple[str, ...] = ()

    @field_validator("time_zone")
    @classmethod
    def _time_zone(cls, value: str | None) -> str | None:
        if value is not None:
            zone(value)
        return value

    @field_validator("packs")
    @classmethod
    def _packs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if BUSINESS_PACK in value:
            raise ValueError(f"the {BUSINESS_PACK} pack judges every message; do not list it")
        if len(set(value)) != len(value):
            raise ValueError("a pack is listed twice")
        return value

    @field_validator("currencies")
    @classmethod
    def _currencies(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_currency(code) for code in value)

    @field_validator("amount_limits", "daily_limits")
    @classmethod
    def _limits(cls, value: dict[str, Decimal], info: ValidationInfo) -> dict[str, Decimal]:
        for code in value:
            _currency(code)
        if info.field_name == "daily_limits" and value and _no_zone(info):
            raise ValueError("per-day limits need rules.time_zone (e.g. Europe/Berlin)")
        return value

    @field_validator("cutoffs")
    @classmethod
    def _cutoffs(
        cls, value: tuple[CutoffWindow, ...], info: ValidationInfo
    ) -> tuple[CutoffWindow, ...]:
        if value and _no_zone(info):
            raise ValueError("cut-off windows need rules.time_zone (e.g. America/New_York)")
        return value

    @field_validator("blocked_countries")
    @classmethod
    def _countries(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_country(code) for code in value)


def business_day(received_at: datetime | None, time_zone: str | None) -> date:
    """The receipt date in the tenant's zone: the day per-day totals count on."""
    moment = received_at or datetime.now(UTC)
    return moment.astimezone(zone(time_zone)).date()
