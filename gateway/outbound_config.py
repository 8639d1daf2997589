"""A tenant's outbound delivery settings (the ``outbound:`` section of its tenant file).

::

    outbound:
      enabled: true                 # the outbound service handles this tenant's events
      topic: true                   # deliver to {tenant}.payments.outbound.v1 (topic template)
      webhook:                      # and/or POST to the channel (gateway.delivery)
        url: https://channel.example.com/isogw
        secret_env: ISOGW_WEBHOOK_SECRET_EMEA   # HMAC-SHA256 key, read at start-up
        max_attempts: 6
        backoff_initial_s: 0.5
        backoff_max_s: 30
        timeout_s: 5
        circuit_failures: 5
        circuit_reset_s: 30
      messages:                     # overrides of DEFAULT_TARGETS: kind -> family -> message id
        status: {mt: fin.199}

*Kinds* of events (:func:`kind_of`, from the event type): ``status`` (``payment.status``),
``notification`` (``account.notification``), ``return`` (``payment.return``),
``transfer`` (``payment.credit_transfer``), ``fi_transfer`` (``payment.fi_credit_transfer``).
*Families* of the original message's channel: ``mx`` (ISO 20022 FI-to-FI), ``pain``
(customer initiation), ``mt`` (SWIFT FIN). The secret never sits in the tenant file: it is
read from the named environment variable when the service starts (a missing variable is
a configuration error naming it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from gateway.delivery import WebhookConfig
from gateway.errors import ConfigError
from gateway.messages import MessageId

__all__ = [
    "DEFAULT_TARGETS",
    "Family",
    "Kind",
    "OutboundSettings",
    "WebhookSettings",
    "kind_of",
]

Kind = Literal["status", "notification", "return", "transfer", "fi_transfer"]
Family = Literal["mx", "pain", "mt"]

#: What the gateway renders for each kind of event and family of channel.
DEFAULT_TARGETS: dict[str, dict[str, str]] = {
    "status": {"mx": "pacs.002.001.10", "pain": "pain.002.001.10", "mt": "fin.199"},
    "notification": {"mx": "camt.054.001.08", "pain": "camt.054.001.08", "mt": "fin.900"},
    "return": {"mx": "pacs.004.001.09", "pain": "pacs.004.001.09", "mt": "fin.103"},
    "transfer": {"mx": "pacs.008.001.08", "pain": "pacs.008.001.08", "mt": "fin.103"},
    "fi_transfer": {"mx": "pacs.009.001.08", "pain": "pacs.009.001.08", "mt": "fin.202"},
}
_KINDS: tuple[tuple[str, Kind], ...] = (
    ("payment.status", "status"),
    ("account.notification", "notification"),
    ("payment.return", "return"),
    ("payment.fi_credit_transfer", "fi_transfer"),
    ("payment.credit_transfer", "transfer"),
)


def kind_of(event_type: str) -> Kind | None:
    """The kind of an event type (``payment.status.rejected`` -> ``status``)."""
    for prefix, kind in _KINDS:
        if event_type == prefix or event_type.startswith(prefix + "."):
            return kind
    return None


class WebhookSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str
    secret_env: str = Field(pattern=r"^[A-Z_][A-Z0-9_]{0,127}$")
    timeout_s: float = Field(default=5.0, gt=0)
    max_attempts: int = Field(default=6, ge=1)
    backoff_initial_s: float = Field(default=0.5, ge=0)
    backoff_max_s: float = Field(default=30.0, ge=0)
    circuit_failures: int = Field(default=5, ge=1)
    circuit_reset_s: float = Field(default=30.0, ge=0)

    def config(self, environ: Mapping[str, str], source: str) -> WebhookConfig:
        """The delivery configuration, with the secret read from ``environ``."""
        secret = environ.get(self.secret_env, "")
        if not secret:
            raise ConfigError(
                f"{source}: outbound.webhook.secret_env names {self.secret_env}, "
                "which is not set in the environment"
            )
        try:
            return WebhookConfig(
                url=self.url,
                secret=SecretStr(secret),
                timeout_s=self.timeout_s,
                max_attempts=self.max_attempts,
                backoff_initial_s=self.backoff_initial_s,
                backoff_max_s=self.backoff_max_s,
                circuit_failures=self.circuit_failures,
                circuit_reset_s=self.circuit_reset_s,
            )
        except ValueError as exc:
            raise ConfigError(f"{source}: outbound.webhook: {exc}") from exc


class OutboundSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = False
    topic: bool = True
    webhook: WebhookSettings | None = None
    messages: dict[Kind, dict[Family, str]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> OutboundSettings:
        if self.enabled and not self.topic and self.webhook is None:
            raise ValueError("outbound.enabled needs topic: true or a webhook")
        for kind, families in self.messages.items():
            for family, target in families.items():
                try:
                    MessageId.parse(target)
                except ValueError as exc:
                    raise ValueError(f"outbound.messages.{kind}.{family}: {exc}") from exc
        return self

    def target(self, kind: Kind, family: Family) -> str:
        """The message id to render for this kind of event and channel family."""
        return self.messages.get(kind, {}).get(family) or DEFAULT_TARGETS[kind][family]
