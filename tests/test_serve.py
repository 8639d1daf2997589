"""``isogw serve``: the production entry point, configured only by GATEWAY_* variables."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2

from gateway.devbroker import DevBroker
from tests.api_fixtures import free_port, make_tenants, post
from tests.conftest import FIXTURES


def _wait_ready(base: str, timeout: float = 30) -> httpx2.Response | None:
    deadline = time.monotonic() + timeout
    ready = None
    while time.monotonic() < deadline:
        try:
            ready = httpx2.get(f"{base}/readyz", timeout=2)
            if ready.status_code == 200:
                break
        except httpx2.TransportError:
            pass
        time.sleep(0.2)
    return ready


def _submit_when_ready(base: str, key: str) -> None:
    ready = _wait_ready(base)
    assert ready is not None and ready.status_code == 200
    response = post(base, key, (FIXTURES / "mx/pacs.008.001.08/valid/minimal.xml").read_bytes())
    assert response.status_code == 202, response.text


def test_serve_requires_a_broker(tmp_path: Path, test_env: dict[str, str]) -> None:
    env = {**os.environ, **test_env, "GATEWAY_KAFKA_BOOTSTRAP_SERVERS": ""}
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "serve"], capture_output=True, text=True, env=env,
        timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 3
    assert "GATEWAY_KAFKA_BOOTSTRAP_SERVERS" in result.stderr


def test_serve_runs_from_environment(
    tmp_path: Path, broker: DevBroker, test_env: dict[str, str]
) -> None:
    folder, keys = make_tenants(tmp_path)
    port = free_port()
    env = {
        **os.environ,
        **test_env,
        "GATEWAY_TENANTS_DIR": str(folder),
        "GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "GATEWAY_PORT": str(port),
        "GATEWAY_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
        "GATEWAY_KAFKA_IDEMPOTENCE": "false",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve"], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        _submit_when_ready(base, keys["LATAM"])
    finally:
        process.terminate()
        _, err = process.communicate(timeout=30)
    assert b"Traceback" not in err


def test_dev_serves_and_stops_its_broker_on_sigterm(tmp_path: Path) -> None:
    import re
    import signal

    port = free_port()
    env = {
        **os.environ,
        "GATEWAY_PORT": str(port),
        "GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path / 'dev.db'}",
    }
    log = tmp_path / "dev.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "dev"], env=env,
            stdout=subprocess.DEVNULL, stderr=sink,
        )  # fmt: skip
    deadline = time.monotonic() + 30
    while "API docs" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    text = log.read_text()
    broker_port = int(re.search(r"broker 127\.0\.0\.1:(\d+)", text).group(1))  # type: ignore[union-attr]
    key = re.search(r"(isogw_[0-9a-f]{12}_[A-Za-z0-9_-]{43})", text).group(1)  # type: ignore[union-attr]
    assert "curl" in text and "events tail" in text
    base = f"http://127.0.0.1:{port}"
    try:
        _submit_when_ready(base, key)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", broker_port)) != 0, "the dev broker outlived isogw dev"
