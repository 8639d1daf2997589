"""Hostile transport over a real socket: the gateway on real uvicorn (loopback), SQLite.

* a body trickled slowly (slowloris) is cut at ``GATEWAY_BODY_TIMEOUT_S`` with 408 and
  the connection is closed; uvicorn has no body timeout of its own;
* a declared Content-Length over the limit is refused (413) before any body is sent;
* many slow clients at once hold no worker: a valid message is still answered quickly;
* malformed HTTP is refused by the server (400) and the worker stays up.

In every case nothing is stored and a valid message right after is accepted.
"""

from __future__ import annotations

import select
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest

from gateway.api.app import create_app
from gateway.errors import ConfigError
from gateway.kafka import MemoryPublisher
from gateway.pipeline import Gateway
from gateway.settings import Settings
from gateway.store import Store
from gateway.tenants import TenantRegistry
from tests.api_fixtures import make_tenants, serving
from tests.reliability_support import table_counts, unique_pacs008

BODY_TIMEOUT_S = 1.0
FAST = 0.2


@contextmanager
def running(
    tmp_path: Path, gateway: Gateway, settings: Settings
) -> Iterator[tuple[str, str, Store]]:
    folder, keys = make_tenants(
        tmp_path, {"EMEA": {"max_body_bytes: 10485760": "max_body_bytes: 100000"}}
    )
    store = Store(f"sqlite:///{tmp_path / 'hostile.db'}")
    app = create_app(
        settings.model_copy(update={"body_timeout_s": BODY_TIMEOUT_S}),
        TenantRegistry.load(folder),
        gateway=gateway,
        store=store,
        publisher=MemoryPublisher(),
        relay_interval_s=0.02,
    )
    try:
        with serving(app) as base:
            yield base, keys["EMEA"], store
    finally:
        store.close()


def head(base: str, key: str, length: int | None, extra: str = "") -> bytes:
    host = base.removeprefix("http://")
    size = f"Content-Length: {length}\r\n" if length is not None else ""
    return (
        f"POST /v1/messages HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/xml\r\nIdempotency-Key: {uuid.uuid4()}\r\n{size}{extra}\r\n"
    ).encode()


def connect(base: str) -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def read_answer(sock: socket.socket, timeout_s: float) -> tuple[int, bytes, bool]:
    """Status, the whole answer, and whether the server closed the connection."""
    sock.settimeout(timeout_s)
    data = b""
    closed = False
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                closed = True
                break
            data += chunk
    except TimeoutError:
        pass
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0
    return status, data, closed


def accepted(base: str, key: str) -> float:
    """A fresh valid message is accepted; how long it took."""
    started = time.perf_counter()
    response = httpx2.post(
        f"{base}/v1/messages",
        content=unique_pacs008(f"ALIVE-{uuid.uuid4().hex[:12]}"),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/xml",
                 "Idempotency-Key": str(uuid.uuid4())},
        timeout=10,
    )  # fmt: skip
    assert response.status_code == 202, response.text
    return time.perf_counter() - started


def test_slow_body_is_cut_with_408_and_the_connection_closed(
    tmp_path: Path, gateway: Gateway, settings: Settings
) -> None:
    with running(tmp_path, gateway, settings) as (base, key, store):
        accepted(base, key)
        before = table_counts(store.engine)
        body = unique_pacs008("SLOW-BODY")
        with connect(base) as sock:
            sock.sendall(head(base, key, len(body)))
            started = time.perf_counter()
            for offset in range(0, len(body), 10):  # 10 bytes every 100 ms: ~60 s in all
                try:
                    sock.sendall(body[offset : offset + 10])
                except OSError:  # the server closed the connection
                    break
                if select.select([sock], [], [], 0.1)[0]:
                    break
            elapsed = time.perf_counter() - started
            status, answer, closed = read_answer(sock, 2.0)
        assert status == 408, answer[:300]
        assert b"/problems/request-timeout" in answer
        assert BODY_TIMEOUT_S <= elapsed < BODY_TIMEOUT_S + 1.0
        assert closed, "the connection stays open after the timeout"
        assert table_counts(store.engine) == before
        accepted(base, key)


def test_declared_length_over_the_limit_is_413_before_the_body(
    tmp_path: Path, gateway: Gateway, settings: Settings
) -> None:
    with running(tmp_path, gateway, settings) as (base, key, store):
        accepted(base, key)
        before = table_counts(store.engine)
        with connect(base) as sock:
            started = time.perf_counter()
            sock.sendall(head(base, key, 10**12))  # one terabyte announced, nothing sent
            assert select.select([sock], [], [], BODY_TIMEOUT_S)[0], "no answer before a body"
            elapsed = time.perf_counter() - started
            status, answer, closed = read_answer(sock, 2.0)
        assert status == 413, answer[:300]
        assert b"/problems/payload-too-large" in answer
        assert elapsed < BODY_TIMEOUT_S / 2  # answered at once, not at the body timeout
        assert closed, "the connection stays open for a body nobody will read"
        assert table_counts(store.engine) == before
        accepted(base, key)


def test_slow_clients_hold_no_worker(tmp_path: Path, gateway: Gateway, settings: Settings) -> None:
    """30 connections trickling bodies and 30 sending headers byte by byte: valid
    messages are still answered quickly; every slow body gets its 408."""
    with running(tmp_path, gateway, settings) as (base, key, store):
        accepted(base, key)
        before = table_counts(store.engine)
        bodies = [connect(base) for _ in range(30)]
        headers = [connect(base) for _ in range(30)]
        try:
            for sock in bodies:
                sock.sendall(head(base, key, 5000) + b"<Document")
            for sock in headers:
                sock.sendall(b"POST /v1/messages HTTP/1.1\r\nHo")
            times = [accepted(base, key) for _ in range(5)]
            assert min(times) < FAST, times
            answers = [read_answer(sock, BODY_TIMEOUT_S + 2.0) for sock in bodies]
            assert [status for status, _, _ in answers] == [408] * 30
        finally:
            for sock in bodies + headers:
                sock.close()
        assert table_counts(store.engine)["reports"] == before["reports"] + 5
        accepted(base, key)


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\n"
        b"Transfer-Encoding: chunked\r\n\r\nzz\r\nnot a chunk\r\n0\r\n\r\n",
        b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\n"
        b" folded: header\r\nContent-Length: 1\r\n\r\n<",
        b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
        b"Content-Length: 900\r\n\r\nhello",
        b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nX-Bad: a\rb\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64,  # a TLS ClientHello
    ],
    ids=["bad-chunk", "obs-fold", "two-lengths", "bare-cr", "tls-hello"],
)
def test_malformed_http_is_400_and_the_worker_stays_up(
    tmp_path: Path, gateway: Gateway, settings: Settings, request_bytes: bytes
) -> None:
    with running(tmp_path, gateway, settings) as (base, key, store):
        before = table_counts(store.engine)
        with connect(base) as sock:
            sock.sendall(request_bytes.replace(b"Host: x", b"Authorization: Bearer " +
                                               key.encode() + b"\r\nHost: x"))  # fmt: skip
            status, answer, _ = read_answer(sock, 2.0)
        assert status in (0, 400), answer[:300]  # 0: the server just closed the connection
        assert table_counts(store.engine) == before
        accepted(base, key)


def test_body_timeout_is_a_setting() -> None:
    assert Settings.from_env({}).body_timeout_s == 30.0
    assert Settings.from_env({"GATEWAY_BODY_TIMEOUT_S": "2.5"}).body_timeout_s == 2.5
    for bad in ("0", "-1", "soon", "inf", "nan"):
        with pytest.raises(ConfigError, match="GATEWAY_BODY_TIMEOUT_S"):
            Settings.from_env({"GATEWAY_BODY_TIMEOUT_S": bad})
