"""One writer at a time on a SQLite file, handed over at once.

SQLite lets one transaction write at a time; a writer that finds the file locked sleeps
in its busy handler (1, 2, 5, ... up to 100 ms between tries) and can keep missing the
short moments the lock is free while other writers take it: with two gateway processes
(and each one's committer and relay threads) writing, ``BEGIN IMMEDIATE`` was seen to
wait over a second while every commit held the lock for 2-3 ms. :class:`WriteLock`
queues this store's write transactions before they ask SQLite: a thread lock within the
process, an ``flock`` on ``<database>.writelock`` across processes (released by the
kernel if its process dies), tried every 0.2-2 ms. SQLite's own lock and busy timeout
stay underneath for writers that do not take this lock (other tools).
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["WriteLock", "WriteLockTimeout"]


class WriteLockTimeout(TimeoutError):
    """The write lock was not free within the timeout."""


class WriteLock:
    def __init__(self, database: Path, timeout_s: float = 30.0) -> None:
        self.path = database.with_name(database.name + ".writelock")
        self.timeout_s = timeout_s
        self._thread = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    def _descriptor(self) -> int:
        # A forked child must not share its parent's open file (an flock belongs to it).
        if self._fd is None or self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd

    @contextmanager
    def held(self) -> Iterator[None]:
        deadline = time.monotonic() + self.timeout_s
        if not self._thread.acquire(timeout=self.timeout_s):
            raise WriteLockTimeout(f"{self.path}: no write turn within {self.timeout_s:g} s")
        try:
            fd = self._descriptor()
            pause = 0.0002
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise WriteLockTimeout(
                            f"{self.path}: no write turn within {self.timeout_s:g} s"
                        ) from None
                    time.sleep(pause)
                    pause = min(pause * 2, 0.002)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            self._thread.release()

    def close(self) -> None:
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)
        self._fd = None
