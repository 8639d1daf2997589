"""Kafka: connection settings, the :class:`Publisher` port and its implementations.

This module is the only place that talks to aiokafka on the publishing side.
It owns:

* :class:`KafkaConfig` (defined in :mod:`gateway.kafka_config`, re-exported) — the
  ``GATEWAY_KAFKA_*`` settings;
* :class:`Publisher` — the port the relay publishes through: ``publish`` returns
  after the broker's ack (``acks=all``) or raises one of two exceptions:

  - :class:`BrokerUnavailable` (``retriable``): broker down, timeout, connection
    or authentication trouble — the record is fine, try again later;
  - :class:`PublishError` (not retriable): the broker refuses *this record*
    (too large, invalid or forbidden topic) — retry a few times, then dead-letter;

* :class:`AioKafkaPublisher` — the real one. It survives the broker going away:
  when a connection breaks or a publish fails with :class:`BrokerUnavailable`, it
  drops its producer (closed in the background) and builds a new one on the next
  call, so publishing resumes when the broker is back without restarting the
  gateway — and never through stale metadata (see ``_watch_connections``);
* :class:`MemoryPublisher` — a real in-memory implementation for unit tests.

Producer settings follow DESIGN.md §2/§4/§6: ``acks="all"`` always, ``linger_ms=0``
(a request waiting for its ack must not wait on linger), idempotence from the
config (on for Apache Kafka / MSK, off for the memory-only dev broker, which
refuses aiokafka's InitProducerId).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import aiokafka.errors as kafka_errors
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.conn import CloseReason

from gateway.errors import GatewayError
from gateway.kafka_config import KafkaConfig, SaslMechanism, SecurityProtocol

__all__ = [
    "AioKafkaPublisher",
    "BrokerUnavailable",
    "KafkaConfig",
    "MemoryPublisher",
    "PublishError",
    "PublishedRecord",
    "Publisher",
    "SaslMechanism",
    "SecurityProtocol",
]

log = logging.getLogger(__name__)

_TOPIC_ALREADY_EXISTS = 36
# Raised by aiokafka for conditions of the connection or the cluster, not of the record,
# although the library does not flag all of them ``retriable``.
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    kafka_errors.KafkaConnectionError,
    kafka_errors.KafkaTimeoutError,
    kafka_errors.NodeNotReadyError,
    kafka_errors.NoBrokersAvailable,
    kafka_errors.KafkaUnavailableError,
    kafka_errors.BrokerNotAvailableError,
    kafka_errors.ProducerClosed,
    kafka_errors.IllegalStateError,
    kafka_errors.UnknownError,  # e.g. the dev broker refusing InitProducerId
    kafka_errors.ClusterAuthorizationFailedError,
    kafka_errors.SaslAuthenticationFailed,
    kafka_errors.UnsupportedSaslMechanismError,
    kafka_errors.AuthenticationMethodNotSupported,
    kafka_errors.AuthenticationFailedError,
    TimeoutError,
    OSError,
)


class BrokerUnavailable(GatewayError):
    """The broker cannot be reached or used right now; the record itself is fine."""

    retriable = True


class PublishError(GatewayError):
    """The broker refused this record (too large, invalid or forbidden topic)."""

    retriable = False


class Publisher(Protocol):
    """Publishing port (one per process); every method is safe to call concurrently."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def ensure_topics(self, names: Iterable[str]) -> None:
        """Create the topics that do not exist yet (idempotent, remembered)."""

    async def publish(
        self, topic: str, key: bytes | None, value: bytes, headers: Sequence[tuple[str, bytes]]
    ) -> None:
        """Return after the broker's ack; raise BrokerUnavailable or PublishError."""

    async def healthy(self) -> bool:
        """Whether the broker answers a metadata request now (short timeout)."""


def _convert(exc: BaseException, what: str, *, idempotence: bool) -> GatewayError | None:
    """Our exception for a foreign one, or None when it is a bug rather than Kafka."""
    name = type(exc).__name__
    detail = str(exc) if str(exc).startswith(name) else f"{name}: {exc}".rstrip(": ")
    if isinstance(exc, _UNAVAILABLE):
        hint = ""
        if idempotence and isinstance(exc, kafka_errors.UnknownError):
            hint = (
                " (the broker rejected the idempotent producer; for the dev broker set "
                "GATEWAY_KAFKA_IDEMPOTENCE=false)"
            )
        return BrokerUnavailable(f"{what}: {detail}{hint}")
    if isinstance(exc, kafka_errors.KafkaError):
        if exc.retriable:
            return BrokerUnavailable(f"{what}: {detail}")
        return PublishError(f"{what}: {detail}")
    return None


async def _close_quietly(client: Any, what: str) -> None:
    """Stop a producer (flushes what is in flight) or close an admin client."""
    try:
        if isinstance(client, AIOKafkaAdminClient):
            await client.close()
        else:
            await client.stop()
    except Exception as exc:  # closing a broken client must not hide the real error
        log.debug("closing Kafka %s failed: %r", what, exc)


class AioKafkaPublisher:
    """:class:`Publisher` on aiokafka; producer and admin client are built lazily.

    ``start()`` does not fail when the broker is down (the outbox keeps everything and
    the relay drains it later); ``healthy()`` tells. A publish during an outage raises
    :class:`BrokerUnavailable` as soon as the connection breaks (refused, reset), at
    the latest after about ``request_timeout_ms`` (up to twice that when the producer
    first has to be rebuilt against an address that does not answer at all). Records
    of one key are handed to the producer in call order.
    """

    def __init__(self, config: KafkaConfig, *, health_timeout_s: float = 1.0) -> None:
        self._config = config
        self._options = config.client_options()  # ConfigError when not configured
        self._timeout_s = config.request_timeout_ms / 1000
        self._health_timeout_s = health_timeout_s
        self._producer: Any = None
        self._admin: Any = None
        self._lock = asyncio.Lock()
        self._key_locks: dict[tuple[str, bytes], tuple[asyncio.Lock, int]] = {}
        self._known_topics: set[str] = set()
        self._closing: set[asyncio.Task[None]] = set()
        self._stopped = False

    async def start(self) -> None:
        self._stopped = False
        try:
            await self._ready_producer()
        except BrokerUnavailable as exc:
            log.warning("Kafka not reachable at start; will retry: %s", exc.message)

    async def stop(self) -> None:
        self._stopped = True
        async with self._lock:
            producer, self._producer = self._producer, None
            admin, self._admin = self._admin, None
        if producer is not None:
            await _close_quietly(producer, "producer")
        if admin is not None:
            await _close_quietly(admin, "admin client")
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    async def publish(
        self, topic: str, key: bytes | None, value: bytes, headers: Sequence[tuple[str, bytes]]
    ) -> None:
        producer = await self._ready_producer()
        try:
            future = await self._enqueue(producer, topic, key, value, list(headers))
            await future
        except Exception as exc:
            error = _convert(exc, f"publish to {topic!r}", idempotence=self._config.idempotence)
            if error is None:
                raise
            if isinstance(error, BrokerUnavailable):
                self._discard_producer(producer)
            raise error from exc

    async def _enqueue(
        self, producer: Any, topic: str, key: bytes | None, value: bytes, headers: list[Any]
    ) -> Any:
        """Hand the record to the producer; records of one key leave in call order.

        ``send()`` can wait (topic metadata, a full batch): a FIFO lock per key keeps
        one payment's events in order without making other payments wait.
        """
        if key is None:
            self._check_current(producer, topic)
            return await producer.send(topic, value, key=key, headers=headers)
        slot = (topic, key)
        lock, users = self._key_locks.get(slot, (asyncio.Lock(), 0))
        self._key_locks[slot] = (lock, users + 1)
        try:
            async with lock:
                self._check_current(producer, topic)
                return await producer.send(topic, value, key=key, headers=headers)
        finally:
            lock, users = self._key_locks[slot]
            if users == 1:
                del self._key_locks[slot]
            else:
                self._key_locks[slot] = (lock, users - 1)

    def _check_current(self, producer: Any, topic: str) -> None:
        if self._producer is not producer:  # dropped after a broker failure: fail fast
            raise BrokerUnavailable(f"publish to {topic!r}: the producer was reset")

    async def ensure_topics(self, names: Iterable[str]) -> None:
        wanted = sorted(set(names) - self._known_topics)
        if not wanted:
            return
        admin = await self._ready_admin()
        missing: list[str] = []
        try:
            existing = set(await admin.list_topics())
            missing = [name for name in wanted if name not in existing]
            if missing:
                await self._create_topics(admin, missing)
        except Exception as exc:
            error = _convert(exc, f"create topics {missing or wanted}", idempotence=False)
            if error is None:
                raise
            if isinstance(error, BrokerUnavailable):
                self._discard_admin(admin)
            raise error from exc
        self._known_topics.update(wanted)

    async def _create_topics(self, admin: Any, names: list[str]) -> None:
        replication = self._config.replication_factor
        if replication is None:
            cluster = await admin.describe_cluster()
            replication = max(1, min(3, len(cluster["brokers"])))
        configs = {"min.insync.replicas": "2"} if replication >= 3 else {}
        partitions = self._config.topic_partitions
        response = await admin.create_topics(
            [NewTopic(name, partitions, replication, topic_configs=configs) for name in names]
        )
        for item in response.topic_errors:
            topic, code = item[0], item[1]
            if code in (0, _TOPIC_ALREADY_EXISTS):
                continue
            kind = kafka_errors.for_code(code)
            detail = item[2] if len(item) > 2 and item[2] else ""
            text = f"create topic {topic!r}: {kind.__name__} {detail}".rstrip()
            raise BrokerUnavailable(text) if kind.retriable else PublishError(text)
        log.info("created Kafka topics %s (partitions=%d)", names, partitions)

    async def healthy(self) -> bool:
        try:
            async with asyncio.timeout(self._health_timeout_s):
                admin = await self._ready_admin()
                try:
                    await admin.describe_cluster()
                except Exception:
                    self._discard_admin(admin)
                    raise
        except (GatewayError, TimeoutError, kafka_errors.KafkaError, OSError):
            return False
        return True

    # -- lazily built clients ----------------------------------------------------------
    async def _ready_producer(self) -> Any:
        if self._stopped:
            raise BrokerUnavailable("the Kafka publisher is stopped")
        if self._producer is not None:
            return self._producer
        async with self._lock:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    **self._options,
                    acks="all",
                    linger_ms=0,
                    enable_idempotence=self._config.idempotence,
                )
                self._watch_connections(producer)
                await self._start_client(producer, "producer", producer.start)
                self._producer = producer
            return self._producer

    async def _ready_admin(self) -> Any:
        if self._stopped:
            raise BrokerUnavailable("the Kafka publisher is stopped")
        if self._admin is not None:
            return self._admin
        async with self._lock:
            if self._admin is None:
                admin = AIOKafkaAdminClient(**self._options)
                await self._start_client(admin, "admin client", admin.start)
                self._admin = admin
            return self._admin

    async def _start_client(self, client: Any, what: str, start: Any) -> None:
        try:
            async with asyncio.timeout(self._timeout_s + 1):
                await start()
        except BaseException as exc:
            await _close_quietly(client, what)
            error = _convert(exc, f"connect {what}", idempotence=self._config.idempotence)
            if error is None or not isinstance(exc, Exception):
                raise
            raise error from exc

    def _watch_connections(self, producer: Any) -> None:
        """Drop the producer as soon as one of its broker connections breaks.

        Why: after the memory-only dev broker restarts, it acknowledges records for
        topics it no longer has and drops them; a producer that still holds the old
        topic metadata (it refreshes only every ``metadata.max.age``) would lose every
        record it sends. So a broken connection fails the producer's pending records
        (``BrokerUnavailable``: the outbox keeps them) and the next publish builds a
        fresh producer after ``ensure_topics``. On Apache Kafka this costs, at worst, a
        re-publish of records in flight at that moment (consumers de-duplicate by id).
        aiokafka has no public hook for this: the two private names used here are
        pinned by ``aiokafka==0.14.0`` and covered by test_kafka's restart tests.
        """
        client = producer.client
        original = client._on_connection_closed

        def on_close(conn: Any, reason: Any) -> None:
            original(conn, reason)
            if reason in (CloseReason.CONNECTION_BROKEN, CloseReason.CONNECTION_TIMEOUT):
                lost = kafka_errors.KafkaConnectionError("the connection to the broker broke")
                producer._message_accumulator.fail_all(lost)
                self._discard_producer(producer)

        client._on_connection_closed = on_close

    def _discard_producer(self, producer: Any) -> None:
        if self._producer is producer:
            self._producer = None
            self._known_topics.clear()  # a memory-only broker forgets its topics on restart
            self._close_later(producer, "producer")

    def _discard_admin(self, admin: Any) -> None:
        if self._admin is admin:
            self._admin = None
            self._known_topics.clear()
            self._close_later(admin, "admin client")

    def _close_later(self, client: Any, what: str) -> None:
        task = asyncio.get_running_loop().create_task(_close_quietly(client, what))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)


@dataclass(frozen=True, slots=True)
class PublishedRecord:
    topic: str
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]

    def header(self, name: str) -> bytes | None:
        return next((value for key, value in self.headers if key == name), None)


class MemoryPublisher:
    """An in-memory :class:`Publisher`: records what is published; can fail on demand."""

    def __init__(self) -> None:
        self.records: list[PublishedRecord] = []
        self.topics: set[str] = set()
        self.started = False
        self.down = False
        self._rejected: dict[str, tuple[str | None, str]] = {}

    def set_down(self, down: bool = True) -> None:
        """While down, every call raises :class:`BrokerUnavailable`."""
        self.down = down

    def reject(self, event_id: str, *, topic: str | None = None, reason: str = "rejected") -> None:
        """Refuse the record whose ``ce_id`` is ``event_id`` (on ``topic``, or anywhere)."""
        self._rejected[event_id] = (topic, reason)

    def accept(self, event_id: str) -> None:
        self._rejected.pop(event_id, None)

    def on(self, topic: str) -> list[PublishedRecord]:
        return [record for record in self.records if record.topic == topic]

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.started = False

    async def ensure_topics(self, names: Iterable[str]) -> None:
        self._check_up()
        self.topics.update(names)

    async def publish(
        self, topic: str, key: bytes | None, value: bytes, headers: Sequence[tuple[str, bytes]]
    ) -> None:
        self._check_up()
        record = PublishedRecord(topic, key, value, tuple(headers))
        event_id = (record.header("ce_id") or b"").decode()
        if event_id in self._rejected:
            only_on, reason = self._rejected[event_id]
            if only_on is None or only_on == topic:
                raise PublishError(f"publish to {topic!r}: {reason}")
        self.records.append(record)

    async def healthy(self) -> bool:
        return not self.down

    def _check_up(self) -> None:
        if self.down:
            raise BrokerUnavailable("memory broker is down")


if TYPE_CHECKING:  # both implementations satisfy the port
    _real: type[Publisher] = AioKafkaPublisher
    _memory: type[Publisher] = MemoryPublisher
