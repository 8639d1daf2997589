"""Schemathesis over the app's own OpenAPI document, every check, against the gateway
on real uvicorn (loopback) over a SQLite store, authenticated as a test tenant.

``schemathesis run`` (the CLI: its pytest plugin's lazy loader does not run under this
pytest) fetches ``/openapi.json`` - ``create_app(...).openapi()`` - and runs every phase
(examples, coverage, fuzzing, stateful: links from ``POST /v1/messages`` to the report
endpoints) with positive and negative data and every built-in check on every answer: no
5xx, status codes, content types, headers and bodies as documented, negative data
refused, positive data accepted, methods not allowed answered with ``Allow``, requests
without the API key refused.

One kind of exception is configured per operation, with its reason:
:data:`REJECTS_VALID_CONTENT` (a schema cannot say what a valid ISO 20022 message is: a
string body the gateway reads and rejects is its documented 422; a page cursor the
gateway did not issue is a 400). Examples per operation: :data:`EXAMPLES`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.api.app import create_app
from gateway.kafka import MemoryPublisher
from gateway.pipeline import Gateway
from gateway.settings import Settings
from gateway.store import Store
from gateway.tenants import TenantRegistry
from tests.api_fixtures import make_tenants, serving
from tests.reliability_support import LONG

EXAMPLES = 1_000 if LONG else 100
#: CI runs one reproducible seed; the long tier a new one each time.
SEED = None if LONG else os.environ.get("ISOGW_SCHEMATHESIS_SEED", "20261126")
#: generous limits: the contract is under test here, not the rate limiter
UNLIMITED = {"rate_per_second: 200": "rate_per_second: 100000", "burst: 400": "burst: 100000"}
ACCEPTED = '["2xx", 401, 403, 404, 409, 429'

REJECTS_VALID_CONTENT = f"""
# Any string is a body by the schema; a message the gateway reads and rejects is a 422
# with its report, and a status report no message id can name is a 422 problem.
[[operations]]
include-path = "/v1/messages"
include-method = "POST"
checks.positive_data_acceptance.expected-statuses = {ACCEPTED}, 422]

[[operations]]
include-path = "/v1/reports/{{report_id}}/status-message"
checks.positive_data_acceptance.expected-statuses = {ACCEPTED}, 422]

# `cursor` is an opaque token of an earlier page (its pattern admits strings that name no
# page): one the gateway did not issue is a 400.
[[operations]]
include-path = "/v1/reports"
include-method = "GET"
checks.positive_data_acceptance.expected-statuses = {ACCEPTED}, 400]
"""


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, gateway: Gateway, settings: Settings
) -> Iterator[tuple[str, dict[str, str]]]:
    tmp: Path = tmp_path_factory.mktemp("schemathesis")
    folder, keys = make_tenants(tmp, {"EMEA": UNLIMITED})
    store = Store(f"sqlite:///{tmp / 'gateway.db'}")
    app = create_app(
        settings, TenantRegistry.load(folder), gateway=gateway, store=store,
        publisher=MemoryPublisher(), relay_interval_s=0.02,
    )  # fmt: skip
    try:
        with serving(app) as base:
            yield base, keys
    finally:
        store.close()


def schemathesis_run(base: str, key: str, workdir: Path, *extra: str) -> Any:
    config = workdir / "schemathesis.toml"
    config.write_text(
        "[checks]\nenabled = true  # every check\n\n"
        f'[headers]\nAuthorization = "Bearer {key}"\n' + REJECTS_VALID_CONTENT
    )
    command = [
        str(Path(sys.executable).parent / "schemathesis"), "--config-file", str(config),
        "run", f"{base}/openapi.json", "--max-examples", str(EXAMPLES), "--workers", "1",
        "--suppress-health-check", "all", "--warnings", "off", *extra,
    ]  # fmt: skip
    if SEED is not None:
        command += ["--seed", SEED]
    return subprocess.run(
        command, cwd=workdir, capture_output=True, text=True, timeout=900, check=False
    )


def test_api_keeps_its_openapi_contract(served: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    base, keys = served
    result = schemathesis_run(base, keys["EMEA"], tmp_path)
    assert result.returncode == 0, result.stdout[-20_000:] + result.stderr[-5_000:]
    assert "API Operations:\n  Selected: 8/8\n  Tested: 8" in result.stdout, result.stdout
