"""Reading events back from Kafka: the engine of ``isogw events tail``.

Consumes the given topics and writes one JSON object per record (JSON Lines) to
a binary stream: ``topic``, ``partition``, ``offset``, ``timestamp`` (ms),
``key`` and ``headers`` decoded as UTF-8 text, and ``event`` — the record value
parsed as JSON (the canonical event). A value that is not JSON is written as
``value`` (text) with ``event: null`` instead of stopping the tail.

The consumer joins no group and commits nothing: tailing is observation, it must
not move any consumer group's offsets or trigger rebalances in the platform.
"""

from __future__ import annotations

import time
from typing import IO, Any

import orjson
from aiokafka import AIOKafkaConsumer

from gateway.kafka import BrokerUnavailable, KafkaConfig

__all__ = ["record_json", "tail"]

_POLL_MS = 250


def _text(data: bytes | None) -> str | None:
    return None if data is None else data.decode("utf-8", errors="replace")


def record_json(record: Any) -> dict[str, Any]:
    """The JSON-ready form of one aiokafka ``ConsumerRecord``."""
    out: dict[str, Any] = {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "timestamp": record.timestamp,
        "key": _text(record.key),
        "headers": {name: _text(value) for name, value in record.headers},
    }
    try:
        out["event"] = orjson.loads(record.value) if record.value is not None else None
    except orjson.JSONDecodeError:
        out["event"] = None
        out["value"] = _text(record.value)
    return out


async def tail(
    config: KafkaConfig,
    topics: list[str],
    *,
    from_beginning: bool,
    count: int | None,
    timeout_s: float | None,
    out: IO[bytes],
) -> int:
    """Write records of ``topics`` to ``out``; return how many were written.

    Stops after ``count`` records or ``timeout_s`` seconds (whichever comes first);
    with neither, runs until cancelled. ``from_beginning=False`` starts at the end of
    each partition (only records produced after the tail started).
    """
    if not topics:
        raise ValueError("tail needs at least one topic")
    consumer = AIOKafkaConsumer(
        *topics,
        **config.client_options(),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest" if from_beginning else "latest",
    )
    try:
        await consumer.start()
    except Exception as exc:
        await consumer.stop()
        raise BrokerUnavailable(f"cannot consume {topics}: {type(exc).__name__}: {exc}") from exc
    written = 0
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    try:
        while count is None or written < count:
            wait_ms = _POLL_MS
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                wait_ms = max(1, min(wait_ms, int(left * 1000)))
            batches = await consumer.getmany(timeout_ms=wait_ms)
            for record in (record for records in batches.values() for record in records):
                if count is not None and written >= count:
                    break
                out.write(orjson.dumps(record_json(record)) + b"\n")
                written += 1
            out.flush()
    finally:
        await consumer.stop()
    return written
