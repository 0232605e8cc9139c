"""Worker process plumbing, kept free of heavy imports so the coordinator stays light.

The coordinator never imports OCRmyPDF: jobs name their work function as
``"module:function"`` and workers import it. Workers are forked from a forkserver that
has preloaded ``scan2pdf.worker.task`` (and with it OCRmyPDF), so each starts warm.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import os
import select
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from multiprocessing.connection import Connection
from pathlib import Path
from typing import cast

from scan2pdf.core.jobs import Job, Outcome
from scan2pdf.execution.slots import use_slots
from scan2pdf.state.scratch import alive

WorkFn = Callable[[Job, int], Outcome]
_KEEP: list[Connection] = []


class _Collect(logging.Handler):
    """Keeps warnings (OCRmyPDF's, mostly) for the file being converted (shown with -v).

    A local worker process converts one file at a time, but a Dask worker converts several
    at once in the threads of one process, all logging to the same loggers. So each file's
    conversion runs inside ``collecting()``, which gives its context a list of its own, and
    a record is filed in the list of the context that emitted it. OCRmyPDF logs a page's
    warnings from its page threads, which start with an empty context (threads inherit
    none before Python 3.14): such a record is filed under the one file in conversion when
    there is one (always so in a local worker process), under none when there are several,
    since which one it belongs to would be a guess.
    """

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self._mine: ContextVar[list[str] | None] = ContextVar("scan2pdf_lines", default=None)
        # The lists of every file in conversion in this process, told apart by identity
        # (two files' lists may be equal).
        self._open: list[list[str]] = []
        self._open_lock = threading.Lock()

    @property
    def lines(self) -> list[str]:
        """The lines of the file this context converts (none outside ``collecting()``)."""
        mine = self._mine.get()
        return mine if mine is not None else []

    @contextmanager
    def collecting(self) -> Iterator[list[str]]:
        """Around one file's conversion: the records its context emits, and no other's."""
        mine: list[str] = []
        token = self._mine.set(mine)
        with self._open_lock:
            self._open.append(mine)
        try:
            yield mine
        finally:
            with self._open_lock:
                self._open = [other for other in self._open if other is not mine]
            self._mine.reset(token)

    def emit(self, record: logging.LogRecord) -> None:
        owner = self._mine.get()
        if owner is None:  # a thread of no file's own (OCRmyPDF's page threads)
            with self._open_lock:
                owner = self._open[0] if len(self._open) == 1 else None
        if owner is not None:
            owner.append(f"{record.levelname.lower()}: {record.getMessage()}")


COLLECT = _Collect()


# The write end of the coordinator's progress pipe (``init_worker``), and the job this
# worker is on: OCRmyPDF's progress bar (``worker/progress.py``) reports pages for it.
_PROGRESS_FD: int | None = None
_CURRENT_JOB = 0


def tell(kind: str, pages: int = 0) -> None:
    """Tell the coordinator that the current job started ("S") or finished a page ("P").

    One ``os.write`` of a short line: writes of at most PIPE_BUF bytes to a pipe are
    atomic, so workers share the pipe without a lock, and a worker killed mid-job (a
    timeout, a cancel) can never leave a lock held or half a message behind.
    """
    if _PROGRESS_FD is None:
        return
    with suppress(OSError):  # the coordinator is gone or stopped reading: nothing to say
        os.write(_PROGRESS_FD, f"{kind} {_CURRENT_JOB} {pages}\n".encode())


def init_worker(
    scratch_root: str,
    coordinator: int,
    progress: Connection | None = None,
    slots: tuple[str, int] | None = None,
) -> None:
    """Process-pool initializer.

    - Own process group: the coordinator stops a worker *and* its Tesseract and
      Ghostscript children with one killpg, and a terminal's Ctrl-C reaches only the
      coordinator, which decides what to stop.
    - OMP_THREAD_LIMIT=1: each Tesseract uses one thread, so busy threads never exceed
      the CPU budget (OCRmyPDF honours a numeric value as given; tesseract_ocr.validate).
    - Temporary files under the run's scratch root, which the coordinator deletes on any
      exit, so a killed worker leaves nothing behind in the system temp folder.
    - A watchdog on the coordinator: if it is killed (kill -9, OOM), nobody would ever
      stop this worker, which blocks forever on the executor's queue (it holds both ends
      of the pipe, so it never sees EOF).
    - Any process pool OCRmyPDF starts (we ask for threads) forks from this warm worker.
      A forkserver child inherits the forkserver start method, so without this each such
      file started a fresh forkserver that re-imported scan2pdf's CLI and then OCRmyPDF
      in every pool process: about 2 s of CPU per file, measured 2026-11-21. Fork is what
      OCRmyPDF itself uses on Linux, and the forked pool processes inherit our plugin
      and the cached version probes. They share this worker's process group, so the
      killpg that stops the worker stops them too.
    - ``progress``: the write end of the coordinator's progress pipe (``tell``).
    - ``slots``: the pool's page slots (folder, count), ``execution/slots.py``.
    """
    global _PROGRESS_FD
    if progress is not None:
        _PROGRESS_FD = progress.fileno()
        _KEEP.append(progress)  # the fd lives as long as its Connection
    if slots is not None:
        use_slots(Path(slots[0]), slots[1])
    os.setpgrp()
    multiprocessing.set_start_method("fork", force=True)
    _watch_coordinator(coordinator)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ["OMP_THREAD_LIMIT"] = "1"
    tempfile.tempdir = scratch_root
    root = logging.getLogger()
    root.handlers[:] = [COLLECT]
    root.setLevel(logging.WARNING)


def pid_file(scratch_root: Path, job: Job) -> Path:
    """Where the worker running ``job`` writes its pid, so a timeout can stop just it."""
    return scratch_root / f"job-{job.index}.pid"


def run_job(work: str, scratch_root: str, job: Job, slots: int) -> Outcome:
    """In the worker: say which process runs this job (so a timeout can stop just it),
    then run ``work`` (``"module:function"``)."""
    global _CURRENT_JOB
    pid_file(Path(scratch_root), job).write_text(str(os.getpid()))
    _CURRENT_JOB = job.index
    tell("S")
    module, _, name = work.partition(":")
    function = cast(WorkFn, getattr(importlib.import_module(module), name))
    return function(job, slots)


def _watch_coordinator(pid: int) -> None:
    """Kill this worker's process group (itself and its Tesseract) once ``pid`` exits.

    A pidfd names one process for good, so a recycled pid cannot fool it (Linux 5.3+);
    where pidfds are missing we poll the pid instead.
    """

    def watch() -> None:
        try:
            fd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            fd = None
        if fd is not None:
            select.select([fd], [], [])  # readable once the process has exited
        else:
            while alive(pid):
                time.sleep(1.0)
        os.killpg(0, signal.SIGKILL)

    threading.Thread(target=watch, name="coordinator-watchdog", daemon=True).start()
