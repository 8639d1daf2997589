"""Settings, loaded once from the environment and passed in (never built at import).

* ``GATEWAY_HOME``: folder holding ``xsd/``, ``mappings/``, ``tenants/``
  (default: the folder above the package, i.e. this checkout);
* ``GATEWAY_OFFICIAL_SCHEMA_DIR``: official XSDs (default ``$GATEWAY_HOME/xsd/official``);
* ``GATEWAY_LOCAL_SCHEMA_DIR``: ``isogw schemas add`` store (default ``$GATEWAY_HOME/xsd/local``);
* ``GATEWAY_SCHEMA_DIRS``: extra schema folders, separated by ``os.pathsep``;
* ``GATEWAY_MAPPING_DIR``: mapping files (default ``$GATEWAY_HOME/mappings``);
* ``GATEWAY_MAX_PAYLOAD_BYTES``: largest accepted message (default 64 MiB);
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

__all__ = ["Settings"]

_PACKAGE_HOME = Path(__file__).resolve().parent.parent


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
        raw_max = env.get("GATEWAY_MAX_PAYLOAD_BYTES")
        max_bytes = DEFAULT_MAX_BYTES
        if raw_max:
            try:
                max_bytes = int(raw_max)
            except ValueError:
                max_bytes = -1
            if max_bytes <= 0:
                raise ConfigError(
                    f"GATEWAY_MAX_PAYLOAD_BYTES must be a positive integer, got {raw_max!r}"
                )
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
            tenants_dir=Path(env.get("GATEWAY_TENANTS_DIR") or home / "tenants"),
            database_url=env.get("GATEWAY_DATABASE_URL")
            or f"sqlite:///{(home / 'var' / 'gateway.db').as_posix()}",
            host=env.get("GATEWAY_HOST") or "127.0.0.1",
            port=port,
        )
