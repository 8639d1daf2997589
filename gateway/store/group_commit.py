"""Group commit: many threads' writes share one transaction and one fsync.

Request threads call :meth:`GroupCommitter.commit` and block until their item is
durable (or refused); event loop code awaits the future of
:meth:`GroupCommitter.enqueue`. One writer thread takes whatever items are waiting, up to
``max_group``, and hands them to ``write_group`` together; while it writes, the next
items queue up and form the next group. Nothing waits on purpose: a lone request is
written at once, and groups grow only when requests arrive faster than one commit
takes, which is when sharing the commit pays.

``write_group`` returns one outcome per item: ``None`` (stored) or the exception that
item's caller gets. An exception out of ``write_group`` itself reaches every caller of
the group.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

__all__ = ["GroupCommitter"]

log = logging.getLogger(__name__)

T = TypeVar("T")
#: Items per group at most (a bound on one transaction's size and its lock time).
MAX_GROUP = 256


class GroupCommitter(Generic[T]):
    def __init__(
        self,
        write_group: Callable[[Sequence[T]], Sequence[BaseException | None]],
        *,
        max_group: int = MAX_GROUP,
        name: str = "isogw-group-commit",
    ) -> None:
        if max_group < 1:
            raise ValueError("max_group must be at least 1")
        self._write_group = write_group
        self._max_group = max_group
        self._queue: queue.SimpleQueue[tuple[T, Future[None]] | None] = queue.SimpleQueue()
        self._closed = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        #: groups written and items in them (for metrics and tests)
        self.groups = 0
        self.items = 0

    def commit(self, item: T) -> None:
        """Write ``item`` with whatever else is waiting; return once it is durable, or
        raise what refused it."""
        self.enqueue(item).result()

    def enqueue(self, item: T) -> Future[None]:
        """Queue ``item``; the future completes once it is durable (or refused). Once
        queued, an item is written whatever becomes of its caller: the future is running
        from the start, so cancelling it (a cancelled awaiter) does not take it back."""
        future: Future[None] = Future()
        future.set_running_or_notify_cancel()
        with self._lock:
            if self._closed:
                raise RuntimeError("the group committer is closed")
            self._queue.put((item, future))
        return future

    def close(self) -> None:
        """Write what is queued, then stop the writer thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = [first]
            stop = False
            while len(group) < self._max_group:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                group.append(more)
            self._write(group)
            if stop:
                return

    def _write(self, group: list[tuple[T, Future[None]]]) -> None:
        try:
            outcomes = list(self._write_group([item for item, _ in group]))
            if len(outcomes) != len(group):
                raise RuntimeError(f"{len(outcomes)} outcomes for a group of {len(group)}")
        except BaseException as exc:  # every caller of the group learns of it
            log.debug("group commit of %d items failed: %r", len(group), exc)
            outcomes = [exc] * len(group)
        self.groups += 1
        self.items += len(group)
        for (_, future), outcome in zip(group, outcomes, strict=True):
            if outcome is None:
                future.set_result(None)
            else:
                future.set_exception(outcome)
