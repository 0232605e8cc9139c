"""Page slots shared by every worker process of one pool: the CPU budget, machine-wide.

A slot is one busy thread: a page being OCRed (its Tesseract runs single-threaded), or a
file's own work between pages (preflight, PDF/A, checks). Any worker may use any free
slot, so a long file's pages spread onto the cores that short files free and give them
back when new files come (issue 13: a file's page concurrency is no longer fixed when it
starts).

Each slot is a lock file in the pool's scratch folder, held with ``flock``. The kernel
drops a process's locks when it dies, so a worker killed for a timeout, a cancel or by
the OOM killer can never take slots with it (a POSIX semaphore would stay taken).
Waiting is a poll every few milliseconds: at most a few waiters per core, and a slot is
never idle for longer than one poll.
"""

from __future__ import annotations

import fcntl
import os
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Between tries for a free slot: the longest a freed slot stays idle.
_POLL = 0.005


class _State(threading.local):
    """Per thread: its own open files (flock locks belong to an open file, so two threads
    with their own descriptors exclude each other) and the slot it holds, if any."""

    def __init__(self) -> None:
        self.fds: list[int] = []
        self.held: int | None = None


_FOLDER: Path | None = None
_COUNT = 0
_STATE = _State()


def make_slots(folder: Path, count: int) -> Path:
    """In the coordinator: the lock files of ``count`` slots, in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(count):
        (folder / str(number)).touch()
    return folder


def use_slots(folder: Path, count: int) -> None:
    """In a worker: take part in the slots in ``folder`` (``init_worker`` calls this)."""
    global _FOLDER, _COUNT
    _FOLDER, _COUNT = folder, count


@contextmanager
def slot() -> Iterator[None]:
    """Hold one slot for the block (re-entrant in a thread; a no-op outside a pool)."""
    if _FOLDER is None or _STATE.held is not None:
        yield
        return
    _STATE.held = _acquire()
    try:
        yield
    finally:
        fcntl.flock(_STATE.held, fcntl.LOCK_UN)
        _STATE.held = None


@contextmanager
def slot_lent() -> Iterator[None]:
    """Give this thread's slot back for the block (while its pages run on other threads
    that take slots of their own), and take one again after."""
    if _STATE.held is None:
        yield
        return
    fcntl.flock(_STATE.held, fcntl.LOCK_UN)
    _STATE.held = None
    try:
        yield
    finally:
        _STATE.held = _acquire()


def _forget_after_fork() -> None:
    """A forked child (OCRmyPDF's page pool) must not use the parent thread's open files:
    a lock on an open file is shared by every process that has it, so the child and the
    parent would both think they hold the same slot."""
    global _STATE
    for fd in _STATE.fds:
        os.close(fd)  # the parent's lock, if any, stays: it still has the file open
    _STATE = _State()


os.register_at_fork(after_in_child=_forget_after_fork)


def _acquire() -> int:
    assert _FOLDER is not None
    if not _STATE.fds:
        _STATE.fds = [os.open(_FOLDER / str(n), os.O_RDWR) for n in range(_COUNT)]
    fds = _STATE.fds
    while True:
        # A random start: waiters spread over the slots instead of all trying slot 0.
        start = random.randrange(len(fds))
        for fd in fds[start:] + fds[:start]:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            return fd
        time.sleep(_POLL)
