"""Settings, loaded once from the environment and passed in (never built at import).

* ``GATEWAY_HOME``: folder holding ``xsd/``, ``mappings/``, ``tenants/``
  (default: the folder above the package, i.e. this checkout);
* ``GATEWAY_OFFICIAL_SCHEMA_DIR``: official XSDs (default ``$GATEWAY_HOME/xsd/official``);
* ``GATEWAY_LOCAL_SCHEMA_DIR``: ``isogw schemas add`` store (default ``$GATEWAY_HOME/xsd/local``);
* ``GATEWAY_SCHEMA_DIRS``: extra schema folders, separated by ``os.pathsep``;
* ``GATEWAY_MAPPING_DIR``: mapping files (default ``$GATEWAY_HOME/mappings``);
* ``GATEWAY_MAX_PAYLOAD_BYTES``: largest accepted message (default 64 MiB);
* ``GATEWAY_MAX_MT_BYTES``: largest SWIFT FIN (MT) transmission - one message, with any
  ACK/NAK before it, or one RJE entry - checked before parsing (default 16 KiB; see
  :data:`DEFAULT_MAX_MT_BYTES`);
* ``GATEWAY_BODY_TIMEOUT_S``: seconds a client has to send a whole request body to
  ``POST /v1/messages`` (default 30; see :data:`DEFAULT_BODY_TIMEOUT_S`);
* ``GATEWAY_TENANTS_DIR``: tenant files (default ``$GATEWAY_HOME/tenants``);
* ``GATEWAY_DATABASE_URL``: SQLAlchemy URL (default SQLite at ``$GATEWAY_HOME/var/gateway.db``;
  production: ``postgresql+psycopg://user@host:5432/db``);
* ``GATEWAY_HOST`` / ``GATEWAY_PORT``: HTTP listener (default ``127.0.0.1:8080``);
* ``GATEWAY_KAFKA_*``: broker connection, see :class:`gateway.kafka.KafkaConfig`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from gateway.errors import ConfigError
from gateway.mx import DEFAULT_MAX_BYTES

__all__ = ["DEFAULT_BODY_TIMEOUT_S", "DEFAULT_MAX_MT_BYTES", "Settings", "positive_int"]

_PACKAGE_HOME = Path(__file__).resolve().parent.parent

#: Largest FIN transmission parsed (bytes). A FIN user message holds at most 10,000
#: characters of text plus ~1,000 of headers, trailers and an ACK before it, so 16 KiB
#: leaves room for an over-long text block to be reported as such (``mt.text_too_long``);
#: anything larger is ``mt.too_large`` without being parsed. The MT parser is pure Python
#: (worst case ~2.5 ms per KiB of hostile input, parse and structure checks), so this also
#: bounds its time to ~40 ms on one core.
DEFAULT_MAX_MT_BYTES = 16 * 1024

#: Seconds from the start of a request body to its last byte. uvicorn has no body timeout
#: of its own, so without this a client trickling a body (slowloris) holds a request open
#: for ever; 30 s still lets a 10 MiB body arrive at ~350 KB/s.
DEFAULT_BODY_TIMEOUT_S = 30.0


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    home: Path
    official_schema_dir: Path
    local_schema_dir: Path
    schema_dirs: tuple[Path, ...] = ()
    mapping_dir: Path
    #: rule packs (``packs/``); None: ``<home>/packs``
    packs_dir: Path | None = None
    max_payload_bytes: int = DEFAULT_MAX_BYTES
    #: largest FIN (MT) transmission, checked before parsing (``mt.too_large``)
    max_mt_bytes: int = DEFAULT_MAX_MT_BYTES
    #: seconds to receive a whole request body (else 408)
    body_timeout_s: float = DEFAULT_BODY_TIMEOUT_S
    tenants_dir: Path | None = None
    database_url: str = "sqlite://"
    host: str = "127.0.0.1"
    port: int = 8080

    @property
    def manifest_path(self) -> Path:
        return self.home / "xsd" / "manifest.json"

    @property
    def rule_packs_dir(self) -> Path:
        return self.packs_dir or self.home / "packs"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        home = Path(env.get("GATEWAY_HOME") or _PACKAGE_HOME)
        extra = tuple(
            Path(part) for part in env.get("GATEWAY_SCHEMA_DIRS", "").split(os.pathsep) if part
        )
        max_bytes = positive_int(env, "GATEWAY_MAX_PAYLOAD_BYTES", DEFAULT_MAX_BYTES)
        max_mt_bytes = positive_int(env, "GATEWAY_MAX_MT_BYTES", DEFAULT_MAX_MT_BYTES)
        body_timeout_s = _positive_float(env, "GATEWAY_BODY_TIMEOUT_S", DEFAULT_BODY_TIMEOUT_S)
        raw_port = env.get("GATEWAY_PORT", "8080")
        try:
            port = int(raw_port)
        except ValueError:
            port = -1
        if not 0 < port < 65536:
            raise ConfigError(f"GATEWAY_PORT must be a TCP port number, got {raw_port!r}")
        for path in extra:
            if not path.is_dir():
                raise ConfigError(f"GATEWAY_SCHEMA_DIRS: {str(path)!r} is not a directory")
        return cls(
            home=home,
            official_schema_dir=Path(
                env.get("GATEWAY_OFFICIAL_SCHEMA_DIR") or home / "xsd" / "official"
            ),
            local_schema_dir=Path(env.get("GATEWAY_LOCAL_SCHEMA_DIR") or home / "xsd" / "local"),
            schema_dirs=extra,
            mapping_dir=Path(env.get("GATEWAY_MAPPING_DIR") or home / "mappings"),
            packs_dir=Path(env.get("GATEWAY_PACKS_DIR") or home / "packs"),
            max_payload_bytes=max_bytes,
            max_mt_bytes=max_mt_bytes,
            body_timeout_s=body_timeout_s,
            tenants_dir=Path(env.get("GATEWAY_TENANTS_DIR") or home / "tenants"),
            database_url=env.get("GATEWAY_DATABASE_URL")
            or f"sqlite:///{(home / 'var' / 'gateway.db').as_posix()}",
            host=env.get("GATEWAY_HOST") or "127.0.0.1",
            port=port,
        )


def positive_int(env: Mapping[str, str], key: str, default: int) -> int:
    """The positive integer setting ``key`` of ``env`` (``default`` when unset)."""
    raw = env.get(key)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value <= 0:
        raise ConfigError(f"{key} must be a positive integer, got {raw!r}")
    return value


def _positive_float(env: Mapping[str, str], key: str, default: float) -> float:
    raw = env.get(key)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise ConfigError(f"{key} must be a positive number of seconds, got {raw!r}")
    return value
