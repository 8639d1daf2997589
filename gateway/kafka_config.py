"""Kafka connection settings: the ``GATEWAY_KAFKA_*`` variables.

:class:`KafkaConfig` holds bootstrap servers, TLS, SASL PLAIN/SCRAM, producer
idempotence, timeouts and the defaults for topics the gateway creates; a bad value
is a :class:`~gateway.errors.ConfigError` naming the variable (passwords masked).
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from gateway.errors import ConfigError

__all__ = ["KafkaConfig", "SaslMechanism", "SecurityProtocol"]

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class KafkaConfig(BaseModel):
    """The ``GATEWAY_KAFKA_<FIELD>`` settings; no bootstrap servers: Kafka is not configured.

    ``topic_partitions`` and ``replication_factor`` apply to topics that
    :meth:`Publisher.ensure_topics` creates (replication: the broker count, at most 3,
    when unset; ``min.insync.replicas=2`` from 3 replicas on).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    bootstrap_servers: str | None = Field(
        default=None, pattern=r"^[^\s,:]+:\d{1,5}(,[^\s,:]+:\d{1,5})*$"
    )
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    idempotence: bool = True
    client_id: str = Field(default="isogw", min_length=1)
    request_timeout_ms: int = Field(default=10_000, ge=100)
    topic_partitions: int = Field(default=6, ge=1)
    replication_factor: int | None = Field(default=None, ge=1)

    @property
    def configured(self) -> bool:
        return self.bootstrap_servers is not None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> KafkaConfig:
        """Read ``GATEWAY_KAFKA_*``; a bad value is a ConfigError naming variable and value."""
        env = os.environ if environ is None else environ
        raw = {
            name: env[_env_name(name)].strip()
            for name in cls.model_fields
            if env.get(_env_name(name), "").strip()
        }
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            problems = []
            for error in exc.errors(include_url=False):
                if error["loc"]:
                    var = _env_name(str(error["loc"][0]))
                    shown = "***" if "PASSWORD" in var else error["input"]
                    problems.append(f"{var}={shown!r}: {error['msg']}")
                else:  # a rule across settings: its message names the variables
                    problems.append(error["msg"].removeprefix("Value error, "))
            raise ConfigError("; ".join(problems)) from None

    @model_validator(mode="after")
    def _consistent(self) -> KafkaConfig:
        protocol = self.security_protocol
        sasl = {"SASL_MECHANISM": self.sasl_mechanism, "SASL_USERNAME": self.sasl_username}
        sasl["SASL_PASSWORD"] = (
            self.sasl_password.get_secret_value() if self.sasl_password else None
        )
        files = {"SSL_CAFILE": self.ssl_cafile, "SSL_CERTFILE": self.ssl_certfile}
        files["SSL_KEYFILE"] = self.ssl_keyfile
        proto = f"GATEWAY_KAFKA_SECURITY_PROTOCOL={protocol!r}"
        for suffix, value in sasl.items():
            if protocol.startswith("SASL_") and not value:
                raise ValueError(f"{proto} needs GATEWAY_KAFKA_{suffix}")
            if not protocol.startswith("SASL_") and value:
                raise ValueError(f"GATEWAY_KAFKA_{suffix} is set but {proto} does not use SASL")
        for suffix, path in files.items():
            if path is None:
                continue
            if not protocol.endswith("SSL"):
                raise ValueError(f"GATEWAY_KAFKA_{suffix} is set but {proto} does not use TLS")
            if not path.is_file():
                raise ValueError(f"GATEWAY_KAFKA_{suffix}={str(path)!r}: no such file")
        if self.ssl_keyfile is not None and self.ssl_certfile is None:
            raise ValueError("GATEWAY_KAFKA_SSL_KEYFILE needs GATEWAY_KAFKA_SSL_CERTFILE")
        return self

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments shared by aiokafka's producer, consumer and admin client."""
        if self.bootstrap_servers is None:
            raise ConfigError("GATEWAY_KAFKA_BOOTSTRAP_SERVERS is not set: Kafka is not configured")
        options: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers.split(","),
            "client_id": self.client_id,
            "request_timeout_ms": self.request_timeout_ms,
            "security_protocol": self.security_protocol,
        }
        if self.security_protocol.endswith("SSL"):
            options["ssl_context"] = self._ssl_context()
        if self.sasl_mechanism is not None and self.sasl_password is not None:
            options["sasl_mechanism"] = self.sasl_mechanism
            options["sasl_plain_username"] = self.sasl_username
            options["sasl_plain_password"] = self.sasl_password.get_secret_value()
        return options

    def _ssl_context(self) -> ssl.SSLContext:
        try:
            context = ssl.create_default_context(
                cafile=str(self.ssl_cafile) if self.ssl_cafile else None
            )
            if self.ssl_certfile is not None:
                context.load_cert_chain(
                    str(self.ssl_certfile), str(self.ssl_keyfile) if self.ssl_keyfile else None
                )
        except (OSError, ssl.SSLError) as exc:
            files = [str(p) for p in (self.ssl_cafile, self.ssl_certfile, self.ssl_keyfile) if p]
            raise ConfigError(f"GATEWAY_KAFKA_SSL_* files {files} cannot be loaded: {exc}") from exc
        return context


def _env_name(field: str) -> str:
    return f"GATEWAY_KAFKA_{field.upper()}"
