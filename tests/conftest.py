"""Session set-up shared by the test suite.

* ``settings``/``gateway``: the official schemas as installed by ``make setup``,
  plus the official XSDs in ``../shared/samples/xsd`` (when that folder exists)
  added through ``isogw schemas add`` into a temporary local schema folder —
  only those whose message id the official set does not already provide.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from gateway.pipeline import Gateway
from gateway.schemas import SchemaRegistry
from gateway.settings import Settings

# No per-example deadline: CI machines are shared and timing is asserted where it matters.
hypothesis_settings.register_profile("isogw", deadline=None)
hypothesis_settings.load_profile("isogw")

pytest_plugins = ["tests.db_fixtures", "tests.api_fixtures", "tests.kafka_fixtures"]

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO.parent / "shared" / "samples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def samples_available() -> bool:
    return (SAMPLES / "mx").is_dir() and (SAMPLES / "xsd").is_dir()


@pytest.fixture(scope="session")
def local_schema_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("local-xsd")
    if samples_available():
        official = SchemaRegistry.load(Settings.from_env({}))
        have = {str(entry.message_id) for entry in official.entries()}
        extra = sorted(p for p in (SAMPLES / "xsd").glob("*.xsd") if p.stem not in have)
        if extra:
            env = {**os.environ, "GATEWAY_LOCAL_SCHEMA_DIR": str(folder)}
            subprocess.run(
                [sys.executable, "-m", "gateway", "schemas", "add", *map(str, extra)],
                check=True,
                env=env,
                capture_output=True,
            )
    return folder


@pytest.fixture(scope="session")
def test_env(local_schema_dir: Path) -> dict[str, str]:
    """Environment variables that give the CLI the same schemas as ``settings``."""
    return {"GATEWAY_LOCAL_SCHEMA_DIR": str(local_schema_dir)}


@pytest.fixture(scope="session")
def settings(test_env: dict[str, str]) -> Settings:
    return Settings.from_env(test_env)


@pytest.fixture(scope="session")
def gateway(settings: Settings) -> Iterator[Gateway]:
    return Gateway.from_settings(settings)
