"""Webhook delivery against a real local HTTP receiver (no mock of the HTTP layer).

The receiver is a ``ThreadingHTTPServer`` on 127.0.0.1 whose answers each test scripts
(status, delay, headers) and which records every request. Waiting that is not the point
of a test goes through an injected sleep that advances a fake clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx2
import pytest
from pydantic import ValidationError

from gateway import delivery
from gateway.delivery import (
    Deliverer,
    DeliveryResult,
    MemoryDeliverer,
    OutboundMessage,
    WebhookConfig,
    WebhookDeliverer,
    sign,
    verify,
)

SECRET = "whsec-test-0123456789abcdef"
KEY = SECRET.encode()
BASE_TIME = 1_700_000_000
SEED = 20_22
BODY = b'<?xml version="1.0"?><Document><FIToFIPmtStsRpt>payload-marker-7731</FIToFIPmtStsRpt>'
MESSAGE = OutboundMessage(
    message_id="msg-0001",
    tenant="emea",
    target="pacs.002.001.10",
    content_type="application/xml",
    body=BODY,
    source_event_id="evt-42",
    uetr="eb6305c9-1f7f-49de-aed0-16487c27b42d",
)


# --- the receiver ------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    status: int = 200
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Seen:
    headers: dict[str, str]
    body: bytes

    @property
    def timestamp(self) -> int:
        return int(self.headers["X-Isogw-Timestamp"])


class Receiver:
    """A webhook endpoint answering from ``script`` (then 200) and recording requests."""

    def __init__(self, port: int = 0) -> None:
        self.script: list[Step] = []
        self.requests: list[Seen] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real endpoint
            disable_nagle_algorithm = True  # headers and body are separate writes

            def handle(self) -> None:
                # the client gave up on a slow answer (timeout tests)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    super().handle()

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver._lock:
                    receiver.requests.append(Seen(dict(self.headers.items()), body))
                    step = receiver.script.pop(0) if receiver.script else Step()
                    receiver.in_flight += 1
                    receiver.max_in_flight = max(receiver.max_in_flight, receiver.in_flight)
                try:
                    time.sleep(step.delay_s)
                    self.send_response(step.status)
                    for name, value in step.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                finally:
                    with receiver._lock:
                        receiver.in_flight -= 1

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver().start()
    yield running
    running.stop()


def free_port() -> int:
    """A loopback port with nothing listening (connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# --- fake time and helpers ---------------------------------------------------------------


class FakeTime:
    """Injected sleep/clock: sleeping records the delay and advances the clock at once."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self.watch: Callable[[], object] = lambda: None
        self.seen_while_sleeping: list[object] = []
        self.on_sleep: Callable[[int], None] = lambda count: None

    def clock(self) -> float:
        return self.now

    def wall(self) -> float:
        return BASE_TIME + self.now

    async def sleep(self, seconds: float) -> None:
        self.seen_while_sleeping.append(self.watch())
        self.sleeps.append(seconds)
        self.now += seconds
        self.on_sleep(len(self.sleeps))
        await asyncio.sleep(0)


def make(url: str, fake: FakeTime | None = None, **settings: Any) -> WebhookDeliverer:
    wall_clock = settings.pop("wall_clock", None)
    config = WebhookConfig(url=url, secret=SECRET, **settings)
    if fake is None:
        return WebhookDeliverer(config)
    deliverer = WebhookDeliverer(
        config,
        sleep=fake.sleep,
        clock=fake.clock,
        wall_clock=wall_clock or fake.wall,
        rng=random.Random(SEED),
    )
    fake.watch = lambda: deliverer.circuit_state
    return deliverer


def run(deliverer: WebhookDeliverer, *messages: OutboundMessage) -> list[DeliveryResult]:
    """Deliver the messages one after the other in one event loop, then close."""

    async def scenario() -> list[DeliveryResult]:
        try:
            return [await deliverer.deliver(message) for message in messages]
        finally:
            await deliverer.aclose()

    return asyncio.run(scenario())


def expected_jitter(*ceilings: float) -> list[float]:
    rng = random.Random(SEED)
    return [rng.uniform(0, ceiling) for ceiling in ceilings]


# --- signing and verification ------------------------------------------------------------


def test_signed_delivery_is_verified_by_the_receiver(receiver: Receiver) -> None:
    (result,) = run(make(receiver.url), MESSAGE)
    assert result == DeliveryResult(True, 1, 200, None, False)
    (seen,) = receiver.requests
    assert seen.body == BODY
    assert seen.headers["Content-Type"] == "application/xml"
    assert seen.headers["X-Isogw-Message-Id"] == "msg-0001"
    assert seen.headers["X-Isogw-Tenant"] == "emea"
    assert seen.headers["X-Isogw-Message-Type"] == "pacs.002.001.10"
    assert seen.headers["X-Isogw-Source-Event-Id"] == "evt-42"
    assert seen.headers["X-Isogw-Uetr"] == MESSAGE.uetr
    assert seen.headers["X-Isogw-Attempt"] == "1"
    assert abs(seen.timestamp - time.time()) < 5
    assert seen.headers["X-Isogw-Signature"].startswith("v1=")
    assert verify(KEY, seen.headers, seen.body, now=time.time())


def test_sign_matches_a_fixed_vector() -> None:
    # printf '1700000000.msg-0001.<Document/>' | openssl dgst -sha256 -hmac "$SECRET"
    expected = "v1=0b8ea33434a7c38fdccbb4a5a711a7208cd92da84f11567606e6d66ce93c9261"
    assert sign(KEY, BASE_TIME, "msg-0001", b"<Document/>") == expected
    signed = f"{BASE_TIME}.msg-0001.".encode() + BODY
    assert sign(KEY, BASE_TIME, "msg-0001", BODY)[3:] == (
        hmac.new(KEY, signed, hashlib.sha256).hexdigest()
    )


def signed_headers(timestamp: int = BASE_TIME) -> dict[str, str]:
    return {
        "X-Isogw-Message-Id": "msg-0001",
        "X-Isogw-Timestamp": str(timestamp),
        "X-Isogw-Signature": sign(KEY, timestamp, "msg-0001", BODY),
    }


def test_verify_accepts_within_the_window_and_any_header_case() -> None:
    headers = signed_headers()
    assert verify(KEY, headers, BODY, now=BASE_TIME)
    assert verify(KEY, headers, BODY, now=BASE_TIME + 300)
    assert verify(KEY, headers, BODY, now=BASE_TIME - 300)
    assert verify(KEY, {k.lower(): v for k, v in headers.items()}, BODY, now=BASE_TIME)
    several = {**headers, "X-Isogw-Signature": "v2=abcdef, " + headers["X-Isogw-Signature"]}
    assert verify(KEY, several, BODY, now=BASE_TIME)


@pytest.mark.parametrize(
    ("case", "change"),
    [
        ("tampered body", lambda h, b, k, n: (h, b + b" ", k, n)),
        ("wrong secret", lambda h, b, k, n: (h, b, b"another-secret-0123456789", n)),
        ("stale timestamp", lambda h, b, k, n: (h, b, k, n + 301)),
        ("future timestamp", lambda h, b, k, n: (h, b, k, n - 301)),
        ("no timestamp", lambda h, b, k, n: ({**h, "X-Isogw-Timestamp": ""}, b, k, n)),
        ("no message id", lambda h, b, k, n: (drop(h, "X-Isogw-Message-Id"), b, k, n)),
        ("no signature", lambda h, b, k, n: (drop(h, "X-Isogw-Signature"), b, k, n)),
        ("missing timestamp", lambda h, b, k, n: (drop(h, "X-Isogw-Timestamp"), b, k, n)),
        ("other message id", lambda h, b, k, n: ({**h, "X-Isogw-Message-Id": "msg-2"}, b, k, n)),
        ("id with a dot", lambda h, b, k, n: ({**h, "X-Isogw-Message-Id": "msg.1"}, b, k, n)),
        ("signed timestamp moved", lambda h, b, k, n: (bump(h), b, k, n)),
        ("timestamp with sign", lambda h, b, k, n: (retime(h, f"+{BASE_TIME}"), b, k, n)),
        ("fractional timestamp", lambda h, b, k, n: (retime(h, f"{BASE_TIME}.0"), b, k, n)),
        ("unknown scheme only", lambda h, b, k, n: (resign(h, "v2=" + "0" * 64), b, k, n)),
        ("not hex", lambda h, b, k, n: (resign(h, "v1=zz"), b, k, n)),
        ("not ascii", lambda h, b, k, n: (resign(h, "v1=é"), b, k, n)),
        ("bare digest", lambda h, b, k, n: (resign(h, h["X-Isogw-Signature"][3:]), b, k, n)),
    ],
)
def test_verify_refuses(case: str, change: Callable[..., tuple[Any, bytes, bytes, float]]) -> None:
    headers, body, key, now = change(signed_headers(), BODY, KEY, BASE_TIME)
    assert not verify(key, headers, body, now=now), case


def drop(headers: dict[str, str], name: str) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k != name}


def retime(headers: dict[str, str], value: str) -> dict[str, str]:
    return {**headers, "X-Isogw-Timestamp": value}


def bump(headers: dict[str, str]) -> dict[str, str]:
    return retime(headers, str(BASE_TIME + 1))


def resign(headers: dict[str, str], value: str) -> dict[str, str]:
    return {**headers, "X-Isogw-Signature": value}


def test_message_id_is_stable_while_timestamp_and_signature_change(receiver: Receiver) -> None:
    receiver.script = [Step(503), Step(503)]
    ticks = itertools.count(BASE_TIME, 10)
    deliverer = make(receiver.url, FakeTime(), wall_clock=lambda: next(ticks))
    (result,) = run(deliverer, MESSAGE)
    assert result == DeliveryResult(True, 3, 200, None, False)
    seen = receiver.requests
    assert [s.headers["X-Isogw-Attempt"] for s in seen] == ["1", "2", "3"]
    assert {s.headers["X-Isogw-Message-Id"] for s in seen} == {"msg-0001"}
    assert [s.timestamp for s in seen] == [BASE_TIME, BASE_TIME + 10, BASE_TIME + 20]
    assert len({s.headers["X-Isogw-Signature"] for s in seen}) == 3
    assert all(s.body == BODY for s in seen)
    assert all(verify(KEY, s.headers, s.body, now=s.timestamp) for s in seen)
    assert not verify(KEY, seen[0].headers, BODY, now=seen[2].timestamp + 295)


# --- retries -----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 504])
def test_retriable_status_is_retried_then_delivered(receiver: Receiver, status: int) -> None:
    receiver.script = [Step(status)]
    fake = FakeTime()
    (result,) = run(make(receiver.url, fake), MESSAGE)
    assert result == DeliveryResult(True, 2, 200, None, False)
    assert len(receiver.requests) == 2
    assert fake.sleeps == expected_jitter(0.5)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413, 422, 301])
def test_permanent_refusal_stops_at_once(receiver: Receiver, status: int) -> None:
    receiver.script = [Step(status, headers={"Location": receiver.url + "/elsewhere"})]
    fake = FakeTime()
    (result,) = run(make(receiver.url, fake), MESSAGE)
    assert result.delivered is False
    assert result.permanent is True
    assert (result.attempts, result.status_code) == (1, status)
    assert result.error is not None
    assert result.error.startswith(f"HTTP {status} ")
    assert fake.sleeps == []
    assert len(receiver.requests) == 1  # neither retried nor redirected


def test_timeout_is_retried_then_delivered(receiver: Receiver) -> None:
    receiver.script = [Step(200, delay_s=1.0)]
    fake = FakeTime()
    (result,) = run(make(receiver.url, fake, timeout_s=0.2), MESSAGE)
    assert result == DeliveryResult(True, 2, 200, None, False)
    assert len(fake.sleeps) == 1


def test_timeouts_exhausted(receiver: Receiver) -> None:
    receiver.script = [Step(200, delay_s=1.0)]
    (result,) = run(make(receiver.url, FakeTime(), timeout_s=0.2, max_attempts=1), MESSAGE)
    assert (result.delivered, result.permanent, result.attempts) == (False, False, 1)
    assert result.status_code is None
    assert result.error is not None
    assert result.error.endswith("after 0.2s")


def test_connection_refused_is_retried_until_the_receiver_is_up() -> None:
    port = free_port()
    fake = FakeTime()
    started: list[Receiver] = []
    fake.on_sleep = lambda count: started.append(Receiver(port).start()) if count == 2 else None
    try:
        (result,) = run(make(f"http://127.0.0.1:{port}/hook", fake), MESSAGE)
    finally:
        for late in started:
            late.stop()
    assert result == DeliveryResult(True, 3, 200, None, False)
    (seen,) = started[0].requests
    assert seen.headers["X-Isogw-Attempt"] == "3"
    assert verify(KEY, seen.headers, seen.body, now=seen.timestamp)


def test_max_attempts_exhausted_when_nothing_listens() -> None:
    fake = FakeTime()
    (result,) = run(make(f"http://127.0.0.1:{free_port()}/hook", fake, max_attempts=3), MESSAGE)
    assert (result.delivered, result.permanent, result.attempts) == (False, False, 3)
    assert result.status_code is None
    assert result.error is not None
    assert result.error.startswith("ConnectError")
    assert len(fake.sleeps) == 2


def test_max_attempts_exhausted_on_server_errors(receiver: Receiver) -> None:
    receiver.script = [Step(500)] * 3
    (result,) = run(make(receiver.url, FakeTime(), max_attempts=3), MESSAGE)
    assert result == DeliveryResult(False, 3, 500, "HTTP 500 Internal Server Error", False)
    assert len(receiver.requests) == 3


@pytest.mark.parametrize(
    ("status", "retry_after", "waits"),
    [
        (429, "7", [7.0]),
        (503, "0", [0.0]),
        (503, "30", [30.0]),  # equal to backoff_max_s: honoured
        (429, "31", expected_jitter(0.5)),  # longer than backoff_max_s: backoff instead
        (500, "7", expected_jitter(0.5)),  # only on 429 and 503
        (429, "Wed, 21 Oct 2015 07:28:00 GMT", expected_jitter(0.5)),  # seconds only
        (503, "-1", expected_jitter(0.5)),
    ],
)
def test_retry_after(receiver: Receiver, status: int, retry_after: str, waits: list[float]) -> None:
    receiver.script = [Step(status, headers={"Retry-After": retry_after})]
    fake = FakeTime()
    (result,) = run(make(receiver.url, fake, backoff_max_s=30.0), MESSAGE)
    assert (result.delivered, result.attempts) == (True, 2)
    assert fake.sleeps == waits


def test_backoff_is_exponential_with_full_jitter(receiver: Receiver) -> None:
    receiver.script = [Step(503)] * 6
    fake = FakeTime()
    deliverer = make(
        receiver.url,
        fake,
        max_attempts=6,
        backoff_initial_s=0.5,
        backoff_max_s=3.0,
        circuit_failures=100,
    )
    (result,) = run(deliverer, MESSAGE)
    assert (result.delivered, result.attempts, result.status_code) == (False, 6, 503)
    ceilings = (0.5, 1.0, 2.0, 3.0, 3.0)  # min(backoff_max_s, 0.5 * 2**(n-1)), n = 1..5
    assert fake.sleeps == expected_jitter(*ceilings)
    assert all(0 <= wait <= ceiling for wait, ceiling in zip(fake.sleeps, ceilings, strict=True))


# --- the circuit breaker -----------------------------------------------------------------

CIRCUIT = {"backoff_initial_s": 0.01, "backoff_max_s": 0.01, "circuit_reset_s": 30.0}


def test_circuit_opens_after_consecutive_failures_and_a_probe_closes_it(
    receiver: Receiver,
) -> None:
    receiver.script = [Step(503)] * 3
    fake = FakeTime()
    deliverer = make(receiver.url, fake, max_attempts=3, circuit_failures=3, **CIRCUIT)

    async def scenario() -> tuple[DeliveryResult, DeliveryResult]:
        first = await deliverer.deliver(MESSAGE)
        assert deliverer.circuit_state == "open"
        fake.now += 10
        assert deliverer.circuit_state == "open"
        fake.sleeps.clear()
        second = await deliverer.deliver(replace(MESSAGE, message_id="msg-0002"))
        await deliverer.aclose()
        return first, second

    first, second = asyncio.run(scenario())
    assert (first.delivered, first.attempts) == (False, 3)
    assert second == DeliveryResult(True, 1, 200, None, False)  # waiting is no attempt
    assert fake.sleeps == [20.0]  # the rest of circuit_reset_s since it opened
    assert fake.seen_while_sleeping[-1] == "open"
    assert deliverer.circuit_state == "closed"
    probe = receiver.requests[-1]
    assert probe.timestamp - receiver.requests[2].timestamp == 30


def test_failed_probe_reopens_the_circuit(receiver: Receiver) -> None:
    receiver.script = [Step(503)] * 3
    fake = FakeTime()
    times: list[float] = []

    def wall() -> float:
        times.append(fake.now)
        return BASE_TIME + fake.now

    deliverer = make(
        receiver.url, fake, max_attempts=4, circuit_failures=2, wall_clock=wall, **CIRCUIT
    )
    (result,) = run(deliverer, MESSAGE)
    assert result == DeliveryResult(True, 4, 200, None, False)
    b1, b2, wait2, b3, wait3 = fake.sleeps
    assert b2 + wait2 == pytest.approx(30.0)  # opened by attempt 2
    assert b3 + wait3 == pytest.approx(30.0)  # re-opened by the failed probe (attempt 3)
    assert times == pytest.approx([0.0, b1, b1 + 30, b1 + 60])
    assert fake.seen_while_sleeping == ["closed", "open", "open", "open", "open"]


def test_circuit_wait_does_not_extend_max_attempts(receiver: Receiver) -> None:
    receiver.script = [Step(503)] * 3
    fake = FakeTime()
    deliverer = make(receiver.url, fake, max_attempts=3, circuit_failures=1, **CIRCUIT)

    async def scenario() -> DeliveryResult:
        try:
            return await deliverer.deliver(MESSAGE)
        finally:
            await deliverer.aclose()

    result = asyncio.run(scenario())
    assert result == DeliveryResult(False, 3, 503, "HTTP 503 Service Unavailable", False)
    assert len(receiver.requests) == 3
    assert sum(fake.sleeps) == pytest.approx(60.0)
    assert deliverer.circuit_state == "open"
    fake.now += 30
    assert deliverer.circuit_state == "half_open"


def test_half_open_lets_one_probe_through(receiver: Receiver) -> None:
    receiver.script = [Step(503), Step(200, delay_s=0.2)]
    fake = FakeTime()
    deliverer = make(receiver.url, fake, max_attempts=1, circuit_failures=1, **CIRCUIT)

    async def scenario() -> list[DeliveryResult]:
        try:
            await deliverer.deliver(MESSAGE)  # opens the circuit
            return list(
                await asyncio.gather(
                    deliverer.deliver(replace(MESSAGE, message_id="msg-0002")),
                    deliverer.deliver(replace(MESSAGE, message_id="msg-0003")),
                )
            )
        finally:
            await deliverer.aclose()

    results = asyncio.run(scenario())
    assert results == [DeliveryResult(True, 1, 200, None, False)] * 2
    assert receiver.max_in_flight == 1  # the other waited for the probe's outcome
    ids = sorted(s.headers["X-Isogw-Message-Id"] for s in receiver.requests[1:])
    assert ids == ["msg-0002", "msg-0003"]
    assert deliverer.circuit_state == "closed"


def test_cancelled_probe_lets_the_next_delivery_probe(receiver: Receiver) -> None:
    receiver.script = [Step(503), Step(200, delay_s=0.5)]
    fake = FakeTime()
    deliverer = make(receiver.url, fake, max_attempts=1, circuit_failures=1, **CIRCUIT)

    async def scenario() -> DeliveryResult:
        try:
            await deliverer.deliver(MESSAGE)  # opens the circuit
            probe = asyncio.create_task(deliverer.deliver(MESSAGE))
            while len(receiver.requests) < 2:
                await asyncio.sleep(0.01)
            probe.cancel()  # e.g. shutdown: the caller has not committed, nothing is lost
            with contextlib.suppress(asyncio.CancelledError):
                await probe
            assert deliverer.circuit_state == "half_open"
            fake.sleeps.clear()
            return await deliverer.deliver(MESSAGE)
        finally:
            await deliverer.aclose()

    assert asyncio.run(scenario()) == DeliveryResult(True, 1, 200, None, False)
    assert fake.sleeps == []
    assert deliverer.circuit_state == "closed"


def test_permanent_refusal_does_not_open_the_circuit(receiver: Receiver) -> None:
    receiver.script = [Step(503), Step(400)]
    fake = FakeTime()
    deliverer = make(receiver.url, fake, max_attempts=1, circuit_failures=2, **CIRCUIT)
    results = run(deliverer, MESSAGE, MESSAGE, MESSAGE)
    assert [(r.delivered, r.permanent) for r in results] == [
        (False, False),
        (False, True),
        (True, False),
    ]
    assert fake.sleeps == []  # the 400 proved the endpoint up: no circuit wait
    assert deliverer.circuit_state == "closed"


# --- secrets, payloads, logs -------------------------------------------------------------


def test_errors_and_logs_carry_metadata_never_secret_or_payload(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="gateway.delivery")
    receiver.script = [Step(500), Step(422)]
    deliverer = make(receiver.url, FakeTime(), circuit_failures=1, **CIRCUIT)
    results = run(deliverer, MESSAGE)
    results += run(
        make(f"http://127.0.0.1:{free_port()}/hook", FakeTime(), max_attempts=2), MESSAGE
    )
    lines = [r.getMessage() for r in caplog.records if r.name == "gateway.delivery"]
    texts = [*lines, *(str(r.error) for r in results), *(repr(r) for r in results)]
    assert lines
    for text in texts:
        assert SECRET not in text
        assert "payload-marker" not in text
    assert any("message_id=msg-0001" in line and "tenant=emea" in line for line in lines)
    assert any("attempt=1" in line and "HTTP 500" in line for line in lines)


# --- configuration and messages ----------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://example.com/hook", "only for loopback hosts"),
        ("http://10.0.0.1/hook", "only for loopback hosts"),
        ("ftp://127.0.0.1/hook", "must be https://"),
        ("https:///hook", "must be https://"),
        ("example.com/hook", "must be https://"),
        ("https://user:pw@example.com/hook", "carries credentials"),
        ("https://example.com:99999/hook", "cannot be parsed"),
    ],
)
def test_webhook_config_refuses_url(url: str, reason: str) -> None:
    with pytest.raises(ValidationError) as caught:
        WebhookConfig(url=url, secret=SECRET)
    (error,) = caught.value.errors()
    assert error["loc"] == ("url",)
    assert reason in error["msg"]
    assert "user:pw" not in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/hook",
        "https://example.com:8443/hook?channel=7",
        "http://127.0.0.1:8080/hook",
        "http://127.0.0.2/hook",
        "http://[::1]:8080/hook",
        "http://localhost/hook",
        "http://LOCALHOST:9/hook",
    ],
)
def test_webhook_config_accepts_url(url: str) -> None:
    assert WebhookConfig(url=url, secret=SECRET).url == url


def test_webhook_config_http_refusal_says_why() -> None:
    with pytest.raises(ValidationError) as caught:
        WebhookConfig(url="http://bank.example/hook", secret=SECRET)
    message = caught.value.errors()[0]["msg"]
    assert "127.0.0.1, ::1, localhost" in message
    assert "https://" in message


@pytest.mark.parametrize(
    ("changes", "loc"),
    [
        ({"max_attempts": 0}, ("max_attempts",)),
        ({"timeout_s": 0}, ("timeout_s",)),
        ({"circuit_failures": 0}, ("circuit_failures",)),
        ({"backoff_initial_s": 5.0, "backoff_max_s": 1.0}, ()),
        ({"secret": "too-short"}, ("secret",)),
        ({"retries": 3}, ("retries",)),
    ],
)
def test_webhook_config_refuses(changes: dict[str, Any], loc: tuple[str, ...]) -> None:
    settings: dict[str, Any] = {"url": "https://example.com/hook", "secret": SECRET, **changes}
    with pytest.raises(ValidationError) as caught:
        WebhookConfig(**settings)
    assert [error["loc"] for error in caught.value.errors()] == [loc]
    assert "too-short" not in str(caught.value)


def test_webhook_config_is_frozen_and_hides_the_secret() -> None:
    config = WebhookConfig(url="https://example.com/hook", secret=SECRET)
    assert SECRET not in repr(config)
    assert SECRET not in str(config)
    with pytest.raises(ValidationError):
        config.max_attempts = 2  # type: ignore[misc]


@pytest.mark.parametrize(
    "changes",
    [
        {"message_id": "msg.0001"},
        {"message_id": ""},
        {"tenant": "emea\r\nX-Injected: 1"},
        {"content_type": "application/xml\n"},
        {"uetr": "é"},
    ],
)
def test_outbound_message_refuses_values_unfit_for_headers(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="OutboundMessage"):
        replace(MESSAGE, **changes)


def test_sign_refuses_a_message_id_with_a_dot() -> None:
    with pytest.raises(ValueError, match="must not contain"):
        sign(KEY, BASE_TIME, "a.b", BODY)


# --- clients -----------------------------------------------------------------------------


def test_injected_client_is_used_and_left_open(receiver: Receiver) -> None:
    async def scenario() -> tuple[DeliveryResult, bool]:
        async with httpx2.AsyncClient(headers={"User-Agent": "tenant-probe"}) as client:
            config = WebhookConfig(url=receiver.url, secret=SECRET)
            deliverer = WebhookDeliverer(config, client=client)
            result = await deliverer.deliver(MESSAGE)
            await deliverer.aclose()
            return result, client.is_closed

    result, closed = asyncio.run(scenario())
    assert result.delivered
    assert closed is False
    assert receiver.requests[0].headers["User-Agent"] == "tenant-probe"


# --- the in-memory deliverer -------------------------------------------------------------


def test_memory_deliverer_records_and_fails_on_demand() -> None:
    memory = MemoryDeliverer(max_attempts=6)
    port: Deliverer = memory
    second = replace(MESSAGE, message_id="msg-0002")

    async def scenario() -> list[DeliveryResult]:
        results = [await port.deliver(MESSAGE)]
        memory.fail_next(2)
        results += [await port.deliver(second), await port.deliver(second)]
        results.append(await port.deliver(second))
        memory.fail_next(permanent=True)
        results.append(await port.deliver(MESSAGE))
        memory.fail_always(status_code=502)
        results += [await port.deliver(MESSAGE), await port.deliver(MESSAGE)]
        memory.recover()
        results.append(await port.deliver(MESSAGE))
        await memory.aclose()
        return results

    results = asyncio.run(scenario())
    transient = DeliveryResult(False, 6, 503, "HTTP 503 Service Unavailable", False)
    assert results == [
        DeliveryResult(True, 1, 200, None, False),
        transient,
        transient,
        DeliveryResult(True, 1, 200, None, False),
        DeliveryResult(False, 1, 400, "HTTP 400 Bad Request", True),
        DeliveryResult(False, 6, 502, "HTTP 502 Bad Gateway", False),
        DeliveryResult(False, 6, 502, "HTTP 502 Bad Gateway", False),
        DeliveryResult(True, 1, 200, None, False),
    ]
    assert [m.message_id for m in memory.delivered] == ["msg-0001", "msg-0002", "msg-0001"]
    assert len(memory.attempted) == 8
    assert memory.closed


def test_exports() -> None:
    assert delivery.__all__ == sorted(delivery.__all__)
    assert all(hasattr(delivery, name) for name in delivery.__all__)
