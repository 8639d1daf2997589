"""Settings of the compliance UI and the report chain, loaded once from the environment.

* ``GATEWAY_UI_SECURE_COOKIES``: ``auto`` (default: ``Secure`` when the request came
  over https, directly or through a proxy's ``X-Forwarded-Proto`` that uvicorn
  trusts), ``always`` or ``never`` (plain-http loopback development and tests);
* ``GATEWAY_UI_SECRET_KEY`` or ``GATEWAY_UI_SECRET_KEY_FILE``: the key that signs
  session cookies (HMAC-SHA256). Unset: a random key per process, so sessions end
  with the process and are not shared between replicas - set it in production;
* ``GATEWAY_UI_SESSION_IDLE_MINUTES`` (30) / ``GATEWAY_UI_SESSION_MAX_HOURS`` (8):
  server-side session expiry, idle and absolute;
* ``GATEWAY_UI_LOGIN_MAX_FAILURES`` (5) / ``GATEWAY_UI_LOGIN_LOCKOUT_MINUTES`` (15): a
  username with that many failed sign-ins within the window (a client address: four
  times as many) is refused until the window has passed (per gateway process);
* ``GATEWAY_CHAIN_SIGNING_KEY_FILE``: an Ed25519 private key (PEM, PKCS#8,
  unencrypted) that signs each tenant's chain head at every append
  (:class:`gateway.store.chain.ChainSigner`); unset: heads are not signed.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from gateway.errors import ConfigError
from gateway.settings import positive_int
from gateway.store.chain import ChainSigner

__all__ = ["ComplianceSettings", "SecureCookies"]

SecureCookies = Literal["auto", "always", "never"]


def _random_key() -> SecretStr:
    return SecretStr(secrets.token_urlsafe(32))


class ComplianceSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    secure_cookies: SecureCookies = "auto"
    secret_key: SecretStr = Field(default_factory=_random_key)
    session_idle: timedelta = timedelta(minutes=30)
    session_max: timedelta = timedelta(hours=8)
    login_max_failures: int = Field(default=5, ge=1)
    login_window: timedelta = timedelta(minutes=15)
    chain_signing_key_file: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ComplianceSettings:
        env = os.environ if environ is None else environ
        secure = env.get("GATEWAY_UI_SECURE_COOKIES") or "auto"
        if secure not in ("auto", "always", "never"):
            raise ConfigError(
                f"GATEWAY_UI_SECURE_COOKIES must be auto, always or never, got {secure!r}"
            )
        key = env.get("GATEWAY_UI_SECRET_KEY")
        key_file = env.get("GATEWAY_UI_SECRET_KEY_FILE")
        if key_file:
            try:
                key = Path(key_file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(
                    f"GATEWAY_UI_SECRET_KEY_FILE: cannot read {key_file!r}: {exc.strerror}"
                ) from exc
        if key is not None and len(key) < 32:
            raise ConfigError("GATEWAY_UI_SECRET_KEY must have at least 32 characters")
        signing = env.get("GATEWAY_CHAIN_SIGNING_KEY_FILE")
        return cls(
            secure_cookies=secure,
            secret_key=SecretStr(key) if key else _random_key(),
            session_idle=timedelta(
                minutes=positive_int(env, "GATEWAY_UI_SESSION_IDLE_MINUTES", 30)
            ),
            session_max=timedelta(hours=positive_int(env, "GATEWAY_UI_SESSION_MAX_HOURS", 8)),
            login_max_failures=positive_int(env, "GATEWAY_UI_LOGIN_MAX_FAILURES", 5),
            login_window=timedelta(
                minutes=positive_int(env, "GATEWAY_UI_LOGIN_LOCKOUT_MINUTES", 15)
            ),
            chain_signing_key_file=Path(signing) if signing else None,
        )

    def chain_signer(self) -> ChainSigner | None:
        """The head signer (:class:`ConfigError` naming the setting when unusable)."""
        if self.chain_signing_key_file is None:
            return None
        return ChainSigner.from_file(self.chain_signing_key_file)
