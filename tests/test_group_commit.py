"""The group committer: concurrent callers share writes, each gets its own outcome."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest

from gateway.store.group_commit import GroupCommitter


class Recorder:
    def __init__(self, delay_s: float = 0.0) -> None:
        self.groups: list[list[int]] = []
        self.delay_s = delay_s

    def write(self, items: Sequence[int]) -> list[BaseException | None]:
        time.sleep(self.delay_s)  # a commit's fsync: later callers queue up meanwhile
        self.groups.append(list(items))
        return [ValueError(f"odd {i}") if i % 2 else None for i in items]


def test_concurrent_callers_share_groups_and_get_their_own_outcome() -> None:
    recorder = Recorder(delay_s=0.01)
    committer: GroupCommitter[int] = GroupCommitter(recorder.write)
    outcomes: dict[int, str] = {}
    barrier = threading.Barrier(40)

    def call(i: int) -> None:
        barrier.wait()
        try:
            committer.commit(i)
            outcomes[i] = "ok"
        except ValueError as exc:
            outcomes[i] = str(exc)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    committer.close()
    assert outcomes == {i: "ok" if i % 2 == 0 else f"odd {i}" for i in range(40)}
    written = sorted(i for group in recorder.groups for i in group)
    assert written == list(range(40))  # each item written exactly once
    assert len(recorder.groups) < 40  # callers that arrived during a write shared the next
    assert (committer.groups, committer.items) == (len(recorder.groups), 40)


def test_a_failing_write_reaches_every_caller_of_its_group() -> None:
    def broken(items: Sequence[int]) -> list[BaseException | None]:
        raise OSError("disk gone")

    committer: GroupCommitter[int] = GroupCommitter(broken)
    with pytest.raises(OSError, match="disk gone"):
        committer.commit(1)
    committer.close()


def test_a_wrong_number_of_outcomes_is_an_error_not_a_silent_success() -> None:
    committer: GroupCommitter[int] = GroupCommitter(lambda items: [])
    with pytest.raises(RuntimeError, match="0 outcomes for a group of 1"):
        committer.commit(1)
    committer.close()


def test_close_writes_what_is_queued_then_refuses() -> None:
    gate, entered = threading.Event(), threading.Event()
    groups: list[list[int]] = []

    def write(items: Sequence[int]) -> list[BaseException | None]:
        entered.set()
        gate.wait(10)  # the first group holds the writer while the rest queue up
        groups.append(list(items))
        return [None] * len(items)

    committer: GroupCommitter[int] = GroupCommitter(write, max_group=2)
    threads = [threading.Thread(target=committer.commit, args=(i,)) for i in range(5)]
    threads[0].start()
    assert entered.wait(10)  # the writer holds item 0; nothing else is taken meanwhile
    for thread in threads[1:]:
        thread.start()
    deadline = time.monotonic() + 10
    while committer._queue.qsize() < 4 and time.monotonic() < deadline:
        time.sleep(0.001)
    closer = threading.Thread(target=committer.close)
    closer.start()
    gate.set()
    closer.join(10)
    for thread in threads:
        thread.join(10)
    assert sorted(i for group in groups for i in group) == [0, 1, 2, 3, 4]
    assert max(len(group) for group in groups) <= 2
    with pytest.raises(RuntimeError, match="closed"):
        committer.commit(10)


def test_an_awaiting_caller_cancelled_does_not_take_its_item_back() -> None:
    import asyncio

    gate = threading.Event()
    written: list[int] = []

    def write(items: Sequence[int]) -> list[BaseException | None]:
        gate.wait(10)
        written.extend(items)
        return [None] * len(items)

    committer: GroupCommitter[int] = GroupCommitter(write)

    async def cancelled_caller() -> None:
        task = asyncio.ensure_future(asyncio.wrap_future(committer.enqueue(7)))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancelled_caller())
    gate.set()
    committer.commit(8)  # the writer survived the cancelled caller
    committer.close()
    assert written == [7, 8]
