"""Shared by the reliability suite (``test_hostile``, ``test_fuzz``, ``test_cross_tenant``,
``test_faults*``; see ``tests/RELIABILITY.md``).

* the tier: ``ISOGW_RELIABILITY_TIER=long`` (``make reliability``) runs more messages and
  more fuzz examples than the CI tier;
* unique valid messages built from the fixtures (their own business message id and UETRs);
* row counts of every table a submission can write;
* the gateway as an ``isogw serve`` process (:class:`GatewayProcess`; on uvicorn in a
  thread: :func:`tests.api_fixtures.serving`), and a load of clients that keep each message's
  Idempotency-Key across retries (:class:`Load`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import orjson
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from gateway.store.tables import business_messages, daily_totals, idempotency, outbox, reports
from tests.conftest import FIXTURES
from tests.kafka_fixtures import Consumed

TIER = os.environ.get("ISOGW_RELIABILITY_TIER", "ci")
LONG = TIER == "long"

PACS008 = (FIXTURES / "mx/pacs.008.001.08/valid/three_transactions.xml").read_text()
MT103 = (FIXTURES / "mt/pipeline/fin.103.txt").read_text().replace("\n", "\r\n")
MT103_UETR = "6f0c1d2e-8a3b-4c5d-9e7f-0a1b2c3d4e5f"


def unique_pacs008(tag: str) -> bytes:
    """The 3-transaction pacs.008 with its own MsgId (``tag``, at most 35 characters)
    and three fresh UETRs: three events, accepted for EMEA."""
    text = PACS008.replace("GWFX-P8-BATCH-20240318-07", tag)
    for old in ("b724ed1c-f3b2-49a3-9a3c-2ca69d1e306e", "8a5a53a0-112a-4b96-b713-6966304bbbb1",
                "1eeee63b-6343-4753-8026-86f0a23f989d"):  # fmt: skip
        text = text.replace(old, str(uuid.uuid4()))
    return text.encode()


def unique_mt103(tag: str) -> bytes:
    """The MT 103 with its own field 20 (``tag``, at most 16 characters) and UETR: one event."""
    assert len(tag) <= 16, tag
    return MT103.replace("PIPE-103-0001", tag).replace(MT103_UETR, str(uuid.uuid4())).encode()


def uetrs_of(payload: bytes) -> list[str]:
    text = payload.decode()
    found = [part.split("</UETR>")[0] for part in text.split("<UETR>")[1:]]
    if "{121:" in text:
        found.append(text.split("{121:")[1].split("}")[0])
    return found


def table_counts(engine: Engine) -> dict[str, int]:
    """Rows in every table a submission can write."""
    with engine.connect() as connection:
        return {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (reports, outbox, idempotency, business_messages, daily_totals)
        }


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


class GatewayProcess:
    """``isogw serve`` as a child process, configured only by GATEWAY_* variables."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = {**os.environ, **env}
        self.base = f"http://127.0.0.1:{env['GATEWAY_PORT']}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> GatewayProcess:
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gateway", "serve"], env=self.env,
                stdout=subprocess.DEVNULL, stderr=sink,
            )  # fmt: skip
        wait_until(self.ready, 60, f"isogw serve at {self.base} (log: {self.log})")
        return self

    def ready(self) -> bool:
        assert self.process is not None
        assert self.process.poll() is None, self.log.read_text()[-3000:]
        try:
            return httpx2.get(f"{self.base}/readyz", timeout=2).status_code == 200
        except httpx2.TransportError:
            return False

    def kill(self) -> None:
        """SIGKILL: no shutdown hook, no flush, no last relay cycle."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)


@dataclass
class Message:
    """One message of a load: its key stays the same across retries."""

    payload: bytes
    content_type: str
    key: str = field(default_factory=lambda: str(uuid.uuid4()))
    answers: list[int | str] = field(default_factory=list)  # status, or the transport error
    event_ids: list[str] = field(default_factory=list)
    report_id: str | None = None
    slowest: float = 0.0  # seconds, the slowest answer

    @property
    def acknowledged(self) -> bool:
        return any(isinstance(a, int) and 200 <= a < 300 for a in self.answers)


def mixed_messages(n: int, run: str) -> list[Message]:
    """``n`` unique messages: every fourth an MT 103 (one event), the others pacs.008
    (three events each)."""
    out = []
    for i in range(n):
        if i % 4 == 3:
            out.append(Message(unique_mt103(f"R{run[:5]}{i:010d}"), "text/plain"))
        else:
            out.append(Message(unique_pacs008(f"REL-{run}-{i}"), "application/xml"))
    return out


class Load:
    """``clients`` threads submitting messages to ``base`` with one API key; the
    controller may pause them (:meth:`pause`) to inject a fault at a quiet point."""

    def __init__(
        self, base: str, api_key: str, clients: int = 4, *, reconnect_s: float = 0.0
    ) -> None:
        self.base = base
        self.api_key = api_key
        self.clients = clients
        #: a client that cannot reach the gateway retries (same key) for this long
        self.reconnect_s = reconnect_s
        self.done = 0
        self.in_flight = 0
        self._lock = threading.Lock()
        self._running = threading.Event()
        self._running.set()

    def pause(self) -> None:
        """Hold every client before its next request; return once none is in flight."""
        with self._lock:
            self._running.clear()
        wait_until(lambda: self.in_flight == 0, 60, "in-flight requests")

    def resume(self) -> None:
        self._running.set()

    def submit(self, message: Message, client: httpx2.Client) -> None:
        while True:  # counted in flight only while not paused (checked under the lock)
            self._running.wait()
            with self._lock:
                if self._running.is_set():
                    self.in_flight += 1
                    break
        headers = {
            "Authorization": f"Bearer {self.api_key}",
            "Content-Type": message.content_type,
            "Idempotency-Key": message.key,
        }
        started = time.perf_counter()
        try:
            response = self._post(client, message, headers)
        except httpx2.TransportError as exc:
            message.answers.append(type(exc).__name__)
        else:
            message.answers.append(response.status_code)
            if response.status_code in (200, 202):
                body = response.json()
                if message.event_ids:  # a replay: the very same events
                    assert body["event_ids"] == message.event_ids, "a replay changed its events"
                message.event_ids = body["event_ids"]
                message.report_id = body["report_id"]
        finally:
            message.slowest = max(message.slowest, time.perf_counter() - started)
            with self._lock:
                self.in_flight -= 1
                self.done += 1

    def _post(
        self, client: httpx2.Client, message: Message, headers: dict[str, str]
    ) -> httpx2.Response:
        deadline = time.monotonic() + self.reconnect_s
        while True:
            try:
                return client.post(f"{self.base}/v1/messages", content=message.payload,
                                   headers=headers, timeout=60)  # fmt: skip
            except httpx2.TransportError as exc:
                if time.monotonic() >= deadline:
                    raise
                message.answers.append(type(exc).__name__)
                time.sleep(0.1)

    def run(self, messages: list[Message]) -> None:
        """Submit every message once (in order, ``clients`` at a time)."""
        local = threading.local()
        opened: list[httpx2.Client] = []

        def one(message: Message) -> None:
            client = getattr(local, "client", None)
            if client is None:
                client = local.client = httpx2.Client()
                opened.append(client)
            self.submit(message, client)

        try:
            with ThreadPoolExecutor(self.clients) as pool:
                list(pool.map(one, messages))
        finally:
            for client in opened:
                client.close()

    def run_in_background(self, messages: list[Message]) -> threading.Thread:
        thread = threading.Thread(target=self.run, args=(messages,), daemon=True)
        thread.start()
        return thread


def outbox_pending(engine: Engine) -> int:
    """Outbox rows not yet published (pending, or leased by a relay)."""
    with engine.connect() as connection:
        return connection.execute(
            select(func.count()).select_from(outbox).where(outbox.c.status != "sent")
        ).scalar_one()


def acknowledged_ids(messages: list[Message]) -> set[str]:
    return {event_id for m in messages if m.acknowledged for event_id in m.event_ids}


def check_durable(engine: Engine, messages: list[Message]) -> None:
    """Every acknowledged message's report is stored with the events it was answered with."""
    acked = {m.report_id: m.event_ids for m in messages if m.acknowledged}
    with engine.connect() as connection:
        rows = connection.execute(select(reports.c.id, reports.c.report)).all()
    stored = {row.id: orjson.loads(row.report)["event_ids"] for row in rows}
    missing = [report_id for report_id in acked if report_id not in stored]
    assert not missing, f"{len(missing)} acknowledged reports are not stored: {missing[:5]}"
    assert all(stored[r] == ids for r, ids in acked.items() if r is not None)


def check_delivery(
    records: list[Consumed], messages: list[Message], *, redelivery: bool
) -> dict[str, int]:
    """0 lost, 0 unexpected; duplicates only as redeliveries (same id, same value and
    report) where ``redelivery`` is allowed, else none. Returns the counts."""
    expected = acknowledged_ids(messages)
    report_of = {e: m.report_id for m in messages if m.acknowledged for e in m.event_ids}
    seen: dict[str, list[Consumed]] = {}
    for record in records:
        seen.setdefault(record.headers["ce_id"].decode(), []).append(record)
    lost, unexpected = expected - set(seen), set(seen) - expected
    assert not lost, f"{len(lost)} of {len(expected)} acknowledged events lost: {sorted(lost)[:5]}"
    assert not unexpected, f"{len(unexpected)} events of no acknowledged message"
    duplicates = {event_id: copies for event_id, copies in seen.items() if len(copies) > 1}
    for event_id, copies in seen.items():
        assert {c.headers["ce_reportid"].decode() for c in copies} == {report_of[event_id]}
    if not redelivery:
        assert not duplicates, f"{len(duplicates)} events published more than once"
    for copies in duplicates.values():
        assert len({(c.value, c.key) for c in copies}) == 1, "a redelivery changed the event"
    return {"events": len(expected), "redelivered": sum(len(c) - 1 for c in duplicates.values())}


def summary(name: str, messages: list[Message], **extra: object) -> None:
    """One line per fault test (``pytest -s``, and ``make reliability``)."""
    answers: dict[str, int] = {}
    for message in messages:
        for answer in message.answers:
            answers[str(answer)] = answers.get(str(answer), 0) + 1
    slowest = max((m.slowest for m in messages), default=0.0)
    details = " ".join(f"{k}={v}" for k, v in extra.items())
    print(f"\n[{TIER}] {name}: {len(messages)} messages, answers {answers}, "
          f"slowest {slowest:.2f}s {details}")  # fmt: skip


def finish(load: Load, messages: list[Message], engine: Engine) -> None:
    """After a fault: retry every unacknowledged message with its own key. Nothing is
    written before the commit, so a request the fault cut short left its key free: every
    retry is accepted (202, or the replay of a commit whose answer was lost), none is
    refused as in progress. Then the outbox drains."""
    load.run([m for m in messages if not m.acknowledged])
    assert all(m.acknowledged for m in messages), {str(m.answers) for m in messages}
    assert all(m.answers[-1] == 202 for m in messages), {str(m.answers) for m in messages}
    wait_until(lambda: outbox_pending(engine) == 0, 120, "the outbox to drain")
