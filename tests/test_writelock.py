"""SQLite write turns: one writer at a time across threads and processes, with a timeout."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from gateway.store.writelock import WriteLock, WriteLockTimeout

_BUMP = """
import sys
from pathlib import Path
from gateway.store.writelock import WriteLock
db, rounds = Path(sys.argv[1]), int(sys.argv[2])
lock = WriteLock(db)
counter = db.with_name("counter")
for _ in range(rounds):
    with lock.held():  # read, pause, write: a lost update unless the turns exclude
        value = int(counter.read_text())
        counter.write_text(str(value + 1))
"""


def test_turns_exclude_each_other_across_processes_and_threads(tmp_path: Path) -> None:
    db = tmp_path / "gateway.db"
    counter = tmp_path / "counter"
    counter.write_text("0")
    procs = [subprocess.Popen([sys.executable, "-c", _BUMP, str(db), "150"]) for _ in range(3)]
    lock = WriteLock(db)

    def bump() -> None:
        for _ in range(50):
            with lock.held():
                value = int(counter.read_text())
                counter.write_text(str(value + 1))

    threads = [threading.Thread(target=bump) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [proc.wait(60) for proc in procs] == [0, 0, 0]
    assert int(counter.read_text()) == 3 * 150 + 3 * 50
    lock.close()


def test_a_turn_not_given_in_time_is_a_timeout(tmp_path: Path) -> None:
    db = tmp_path / "gateway.db"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\nfrom pathlib import Path\n"
         "from gateway.store.writelock import WriteLock\n"
         "lock = WriteLock(Path(sys.argv[1]))\n"
         "with lock.held():\n    print('held', flush=True)\n    time.sleep(2)\n", str(db)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    lock = WriteLock(db, timeout_s=0.3)
    started = time.monotonic()
    with pytest.raises(WriteLockTimeout), lock.held():
        pass
    assert 0.3 <= time.monotonic() - started < 1.5
    holder.wait(10)
    holder.stdout.close()
    with lock.held():  # free again once its holder is done
        pass
    lock.close()
