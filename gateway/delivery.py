"""Delivery: outbound messages to a tenant's HTTPS webhook, signed, retried, circuit-broken.

The only module that talks HTTP to a tenant's channel. :class:`Deliverer` is the port:
``deliver`` never raises for a failed delivery, it returns a :class:`DeliveryResult` the
caller must act on (``delivered`` false: dead-letter it; ``permanent``: refused for good).
:class:`WebhookDeliverer` is the real one (``httpx2``), :class:`MemoryDeliverer` a real
in-memory one for unit tests of callers; :func:`verify` is the reference for receivers.

The request
    ``POST <url>`` with the message body as is, and the headers

    =========================== ===============================================================
    ``Content-Type``            the message's (``application/xml`` or ``text/plain``)
    ``X-Isogw-Message-Id``      stable id of the rendered message; receivers de-duplicate on it
                                (delivery is at least once: the same message may come again)
    ``X-Isogw-Tenant``          the tenant
    ``X-Isogw-Message-Type``    the rendered message id, e.g. ``pacs.002.001.10``, ``fin.199``
    ``X-Isogw-Source-Event-Id`` the canonical event it was rendered from
    ``X-Isogw-Uetr``            the UETR, only when the message has one
    ``X-Isogw-Attempt``         1 for the first attempt, 2 for the first retry, ...
    ``X-Isogw-Timestamp``       unix time in whole seconds (UTC) when this attempt was signed
    ``X-Isogw-Signature``       ``v1=<hex>``, see below
    =========================== ===============================================================

The signature (``v1``)
    ``hex(HMAC-SHA256(key, ascii(timestamp) + "." + utf8(message_id) + "." + body))`` in
    lower-case hex, where ``key`` is the UTF-8 bytes of the shared secret, ``timestamp`` the
    ``X-Isogw-Timestamp`` value as sent (decimal digits), ``message_id`` the
    ``X-Isogw-Message-Id`` value and ``body`` the raw request body bytes, before any decoding.
    A message id never contains ``.``, so the signed string splits one way only. Timestamp
    and signature are new on every attempt; the message id stays the same.

    A receiver recomputes the HMAC and compares it in constant time, refuses a timestamp
    more than five minutes away from its clock (replay window), and de-duplicates on the
    message id (replays inside the window). The other headers are not signed: they are
    routing hints; the signed body is what counts. The header may carry several
    comma-separated ``scheme=value`` entries (future schemes); a receiver checks the
    ``v1`` ones and ignores the others.

Answers
    2xx: delivered. 408, 425, 429, 5xx, timeouts and transport errors: retried after
    ``uniform(0, min(backoff_max_s, backoff_initial_s * 2**(n-1)))`` seconds following
    the n-th attempt (full jitter), or after ``Retry-After`` seconds on 429/503 when that
    is a number of seconds not above ``backoff_max_s`` (otherwise the jittered backoff
    applies). Anything else (other 4xx; 3xx: redirects are never followed with a signed
    payment) is refused for good: no further attempt.

The circuit breaker (one per deliverer, that is per tenant webhook) opens after
``circuit_failures`` consecutive retriable failures; while it is open, deliveries wait
until ``circuit_reset_s`` have passed since it opened, then one probe attempt goes through
(half-open): success closes it, failure opens it again. A permanent refusal counts as the
endpoint answering (it is up; it refused that message), not as a failure. Waiting for the
circuit is not an attempt, and a delivery still ends after ``max_attempts`` attempts.

Errors and logs name the tenant, message id, type, attempt and status: never the secret,
the URL's query or the payload.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import ipaddress
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol
from urllib.parse import urlsplit

import httpx2
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

__all__ = [
    "CircuitState",
    "Deliverer",
    "DeliveryResult",
    "MemoryDeliverer",
    "OutboundMessage",
    "WebhookConfig",
    "WebhookDeliverer",
    "sign",
    "verify",
]

log = logging.getLogger(__name__)
# httpx2 logs every request's full URL at INFO; a webhook URL may carry a token.
if logging.getLogger("httpx2").level == logging.NOTSET:
    logging.getLogger("httpx2").setLevel(logging.WARNING)

CircuitState = Literal["closed", "open", "half_open"]

_LOOPBACK_NAMES = frozenset({"localhost"})
_RETRIABLE_STATUS = frozenset({408, 425, 429})
_RETRY_AFTER_STATUS = frozenset({429, 503})
_HEADER_VALUE = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_DRAIN_LIMIT = 64 * 1024  # a receiver's answer body is read (to reuse the connection) up to this
_MAX_ERROR = 300
_MIN_SECRET = 16


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One rendered message to deliver; its text fields travel as HTTP header values."""

    message_id: str  # stable id of this rendered message: receivers de-duplicate on it
    tenant: str
    target: str  # message id rendered, e.g. "pacs.002.001.10", "fin.199"
    content_type: str  # "application/xml" or "text/plain"
    body: bytes
    source_event_id: str  # the canonical event it was rendered from
    uetr: str | None = None

    def __post_init__(self) -> None:
        for name in ("message_id", "tenant", "target", "content_type", "source_event_id", "uetr"):
            value = getattr(self, name)
            if value is not None and not _HEADER_VALUE.fullmatch(value):
                raise ValueError(f"OutboundMessage.{name}={value!r}: not a valid header value")
        if "." in self.message_id:
            raise ValueError(
                f"OutboundMessage.message_id={self.message_id!r}: must not contain '.', "
                "the separator of the signed string"
            )


class WebhookConfig(BaseModel):
    """One tenant webhook: where to deliver, the HMAC key, retry and circuit settings."""

    # hide_input_in_errors: a validation error must not echo the secret
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    url: str
    secret: SecretStr  # HMAC-SHA256 key, 16 characters at least
    timeout_s: float = Field(default=5.0, gt=0)
    max_attempts: int = Field(default=6, ge=1)
    backoff_initial_s: float = Field(default=0.5, gt=0)
    backoff_max_s: float = Field(default=30.0, gt=0)
    circuit_failures: int = Field(default=5, ge=1)  # consecutive failed attempts that open it
    circuit_reset_s: float = Field(default=30.0, ge=0)  # open -> half-open after this long

    @field_validator("url")
    @classmethod
    def _check_url(cls, url: str) -> str:
        try:
            parts = urlsplit(url)
            host = parts.hostname
            _ = parts.port  # raises ValueError for a bad port
            httpx2.URL(url)
        except (ValueError, httpx2.InvalidURL) as exc:
            raise ValueError(f"url {url!r} cannot be parsed: {exc}") from None
        if parts.scheme not in ("https", "http") or not host:
            raise ValueError(f"url {url!r} must be https://<host>/...")
        if parts.username is not None or parts.password is not None:
            raise ValueError(
                f"url for host {host!r} carries credentials: they would travel and be "
                "logged with the URL; the HMAC secret authenticates the gateway"
            )
        if parts.scheme == "http" and not _is_loopback(host):
            raise ValueError(
                f"url {url!r}: http:// is allowed only for loopback hosts (127.0.0.1, ::1, "
                "localhost); anywhere else payment messages must travel over https://"
            )
        return url

    @field_validator("secret")
    @classmethod
    def _check_secret(cls, secret: SecretStr) -> SecretStr:
        if len(secret.get_secret_value()) < _MIN_SECRET:
            raise ValueError(f"secret must have at least {_MIN_SECRET} characters")
        return secret

    @model_validator(mode="after")
    def _check_backoff(self) -> WebhookConfig:
        if self.backoff_max_s < self.backoff_initial_s:
            raise ValueError(
                f"backoff_max_s={self.backoff_max_s} is below "
                f"backoff_initial_s={self.backoff_initial_s}"
            )
        return self


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """What became of one message; ``delivered`` false means the caller dead-letters it."""

    delivered: bool
    attempts: int
    status_code: int | None  # of the last attempt
    error: str | None  # why the last attempt failed (no secrets, no payload)
    permanent: bool  # True when the receiver refused for good (4xx other than 408/425/429)


def sign(secret: bytes, timestamp: int, message_id: str, body: bytes) -> str:
    """The ``X-Isogw-Signature`` value: ``v1=`` + hex HMAC-SHA256 (see the module docstring)."""
    if "." in message_id:
        raise ValueError("a message id must not contain '.', the separator of the signed string")
    signed = f"{timestamp}.{message_id}.".encode() + body
    return "v1=" + hmac.new(secret, signed, hashlib.sha256).hexdigest()


def verify(
    secret: bytes, headers: Mapping[str, str], body: bytes, *, now: float, tolerance_s: float = 300
) -> bool:
    """Whether a request is ours: signature valid and timestamp within ``tolerance_s`` of now.

    ``headers`` are looked up case-insensitively; ``now`` is the receiver's unix time.
    """
    lower = {name.lower(): value for name, value in headers.items()}
    timestamp = lower.get("x-isogw-timestamp", "").strip()
    message_id = lower.get("x-isogw-message-id", "")
    signature = lower.get("x-isogw-signature", "")
    if not _TIMESTAMP.fullmatch(timestamp) or not message_id or "." in message_id:
        return False
    if abs(now - int(timestamp)) > tolerance_s:
        return False
    expected = sign(secret, int(timestamp), message_id, body).encode()
    found = False
    for entry in signature.split(","):  # no early exit: every v1 entry is compared
        found |= hmac.compare_digest(expected, entry.strip().encode("utf-8", "replace"))
    return found


class Deliverer(Protocol):
    """Delivery port: one per tenant channel; safe to call concurrently."""

    async def deliver(self, message: OutboundMessage) -> DeliveryResult:
        """Deliver or give up; never raises for a failed delivery: act on the result."""


@dataclass(frozen=True, slots=True)
class _Outcome:
    """One attempt."""

    status_code: int | None
    error: str | None
    retriable: bool
    retry_after_s: float | None = None

    @property
    def delivered(self) -> bool:
        return self.error is None


class WebhookDeliverer:
    """:class:`Deliverer` posting to one :class:`WebhookConfig` (one per tenant webhook).

    ``sleep``, ``clock`` (monotonic, for the circuit), ``wall_clock`` (unix time, for the
    signature timestamp) and ``rng`` (jitter) are injectable so tests need not wait. A
    ``client`` passed in (proxies, mTLS) is not closed by :meth:`aclose`.
    """

    def __init__(
        self,
        config: WebhookConfig,
        *,
        client: httpx2.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self._config = config
        self._secret = config.secret.get_secret_value().encode()
        self._host = urlsplit(config.url).hostname  # logged; the URL may hold a token
        self._owns_client = client is None
        self._client = client or httpx2.AsyncClient(timeout=config.timeout_s)
        self._sleep = sleep
        self._clock = clock
        self._wall_clock = wall_clock
        self._rng = rng or random.Random()
        self._state: CircuitState = "closed"
        self._failures = 0  # consecutive retriable failures
        self._opened_at = 0.0
        self._probe_done: asyncio.Event | None = None  # set while a half-open probe runs

    @property
    def circuit_state(self) -> CircuitState:
        elapsed = self._clock() - self._opened_at
        if self._state == "open" and elapsed >= self._config.circuit_reset_s:
            return "half_open"  # the next delivery will probe
        return self._state

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def deliver(self, message: OutboundMessage) -> DeliveryResult:
        config = self._config
        what = f"tenant={message.tenant} message_id={message.message_id} type={message.target}"
        status: int | None = None
        error: str | None = None
        for attempt in range(1, config.max_attempts + 1):
            probe = await self._pass_circuit(what)
            try:
                outcome = await self._attempt(message, attempt)
                self._record(
                    available=outcome.delivered or not outcome.retriable,
                    probe=probe is not None and probe is self._probe_done,
                )
            finally:
                if probe is not None:
                    self._end_probe(probe)
            status, error = outcome.status_code, outcome.error
            if outcome.delivered:
                log.info("delivered %s attempt=%d status=%s", what, attempt, status)
                return DeliveryResult(True, attempt, status, None, False)
            if not outcome.retriable:
                log.warning("refused for good %s attempt=%d: %s", what, attempt, error)
                return DeliveryResult(False, attempt, status, error, True)
            if attempt < config.max_attempts:
                delay = self._delay(attempt, outcome.retry_after_s)
                log.warning("failed %s attempt=%d: %s; retry in %.3fs", what, attempt, error, delay)
                await self._sleep(delay)
        log.warning("giving up %s after %d attempts: %s", what, config.max_attempts, error)
        return DeliveryResult(False, config.max_attempts, status, error, False)

    def _delay(self, attempt: int, retry_after_s: float | None) -> float:
        config = self._config
        if retry_after_s is not None and retry_after_s <= config.backoff_max_s:
            return retry_after_s
        # min(.., 60): 2**n stays a float that fits whatever max_attempts is
        ceiling = min(config.backoff_max_s, config.backoff_initial_s * 2 ** min(attempt - 1, 60))
        return self._rng.uniform(0, ceiling)

    async def _attempt(self, message: OutboundMessage, attempt: int) -> _Outcome:
        timeout = self._config.timeout_s
        timestamp = int(self._wall_clock())
        headers = {
            "Content-Type": message.content_type,
            "X-Isogw-Message-Id": message.message_id,
            "X-Isogw-Tenant": message.tenant,
            "X-Isogw-Message-Type": message.target,
            "X-Isogw-Source-Event-Id": message.source_event_id,
            "X-Isogw-Attempt": str(attempt),
            "X-Isogw-Timestamp": str(timestamp),
            "X-Isogw-Signature": sign(self._secret, timestamp, message.message_id, message.body),
        }
        if message.uetr is not None:
            headers["X-Isogw-Uetr"] = message.uetr
        request = self._client.build_request(
            "POST", self._config.url, content=message.body, headers=headers, timeout=timeout
        )
        try:
            # httpx times each phase; this bounds the whole attempt (a slow-reading receiver)
            async with asyncio.timeout(timeout):
                response = await self._client.send(request, stream=True)
        except (TimeoutError, httpx2.TimeoutException) as exc:
            name = "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__
            return _Outcome(None, f"{name} after {timeout:g}s", retriable=True)
        except httpx2.TransportError as exc:
            return _Outcome(None, self._describe(exc), retriable=True)
        try:
            status = response.status_code
            retry_after = response.headers.get("Retry-After", "").strip()
            with contextlib.suppress(TimeoutError, httpx2.TransportError, httpx2.StreamError):
                async with asyncio.timeout(timeout):
                    await _drain(response)
        finally:
            with contextlib.suppress(httpx2.TransportError):
                await response.aclose()
        if 200 <= status < 300:
            return _Outcome(status, None, retriable=False)
        error = f"HTTP {status} {httpx2.codes.get_reason_phrase(status)}".rstrip()
        retriable = status in _RETRIABLE_STATUS or 500 <= status < 600
        seconds = None
        if status in _RETRY_AFTER_STATUS and retry_after.isascii() and retry_after.isdigit():
            seconds = float(retry_after)
        return _Outcome(status, error, retriable=retriable, retry_after_s=seconds)

    def _describe(self, exc: Exception) -> str:
        """A transport error as text, without the secret or the URL (it may hold a token)."""
        text = f"{type(exc).__name__}: {exc}".rstrip(": ")
        text = text.replace(self._config.url, f"<{self._host}>")
        return text.replace(self._secret.decode(), "***")[:_MAX_ERROR]

    # -- circuit breaker ---------------------------------------------------------------
    async def _pass_circuit(self, what: str) -> asyncio.Event | None:
        """Wait until an attempt may go; for the half-open probe, the event it must set."""
        while True:
            if self._state == "closed":
                return None
            if self._state == "open":
                opened_at = self._opened_at
                remaining = opened_at + self._config.circuit_reset_s - self._clock()
                if remaining > 0:
                    log.info("circuit open, %s waits %.3fs", what, remaining)
                    await self._sleep(remaining)
                    if self._state != "open" or self._opened_at != opened_at:
                        continue  # another delivery probed meanwhile
                self._state = "half_open"
                self._probe_done = asyncio.Event()
                return self._probe_done
            # half-open: one probe at a time; the others wait for its outcome
            if self._probe_done is None:  # cannot happen: half-open always has its probe
                self._state = "open"
                continue
            await self._probe_done.wait()

    def _record(self, *, available: bool, probe: bool) -> None:
        if available:
            if self._state != "closed":
                log.info("circuit closed host=%s", self._host)
            self._failures, self._state = 0, "closed"
            return
        self._failures += 1
        opens = self._state == "closed" and self._failures >= self._config.circuit_failures
        if probe or opens:
            self._state, self._opened_at = "open", self._clock()
            log.warning("circuit open host=%s failures=%d", self._host, self._failures)

    def _end_probe(self, probe: asyncio.Event) -> None:
        if self._probe_done is probe:
            if self._state == "half_open":  # the probe was cancelled: let the next one try
                self._state = "open"
            self._probe_done = None
        probe.set()


async def _drain(response: httpx2.Response) -> None:
    """Read a short answer so the connection can be reused; stop after _DRAIN_LIMIT."""
    read = 0
    async for chunk in response.aiter_raw():
        read += len(chunk)
        if read > _DRAIN_LIMIT:
            return


class MemoryDeliverer:
    """An in-memory :class:`Deliverer`: records what it delivers; can fail on demand.

    A failure is reported as the real deliverer would: ``permanent`` false (it would have
    retried, here with ``max_attempts`` attempts) or true (refused at the first attempt).
    """

    def __init__(self, *, max_attempts: int = 1) -> None:
        self.max_attempts = max_attempts
        self.delivered: list[OutboundMessage] = []
        self.attempted: list[OutboundMessage] = []  # every call, delivered or not
        self.closed = False
        self._fail_next: list[tuple[bool, int]] = []
        self._fail_always: tuple[bool, int] | None = None

    def fail_next(
        self, count: int = 1, *, permanent: bool = False, status_code: int | None = None
    ) -> None:
        """The next ``count`` deliveries fail (503, or 400 when ``permanent``, by default)."""
        code = status_code if status_code is not None else (400 if permanent else 503)
        self._fail_next.extend([(permanent, code)] * count)

    def fail_always(self, *, permanent: bool = False, status_code: int | None = None) -> None:
        """Every delivery fails from now on, until :meth:`recover`."""
        code = status_code if status_code is not None else (400 if permanent else 503)
        self._fail_always = (permanent, code)

    def recover(self) -> None:
        self._fail_next.clear()
        self._fail_always = None

    async def deliver(self, message: OutboundMessage) -> DeliveryResult:
        self.attempted.append(message)
        failure = self._fail_next.pop(0) if self._fail_next else self._fail_always
        if failure is None:
            self.delivered.append(message)
            return DeliveryResult(True, 1, 200, None, False)
        permanent, code = failure
        attempts = 1 if permanent else self.max_attempts
        error = f"HTTP {code} {httpx2.codes.get_reason_phrase(code)}".rstrip()
        return DeliveryResult(False, attempts, code, error, permanent)

    async def aclose(self) -> None:
        self.closed = True


if TYPE_CHECKING:  # both implementations satisfy the port
    _real: type[Deliverer] = WebhookDeliverer
    _memory: type[Deliverer] = MemoryDeliverer
