"""Run jobs in worker processes within one CPU budget.

The budget is a number of *slots*: one slot is one busy thread (one Tesseract process
with OMP_THREAD_LIMIT=1, or a file's own Python work between pages). Slots are shared by
every worker of the pool (``execution/slots.py``): a file holds one for its own work and
its pages take whichever others are free, so a long file spreads over the cores that
short files leave and gives them back when new files come. One more file than the budget
is in flight, so that a file's set-up and finishing (which wait for a slot like anything
else) overlap with the others' pages; the biggest guessed work starts first.

Workers live for the whole run (no interpreter start-up and import per file). They are
started from a forkserver that has already imported OCRmyPDF, so each starts fast and
none inherits the coordinator's threads (rich's refresh thread, for one).

If a worker dies (a segfault, or the kernel's OOM killer), the pool is broken and every
file in flight fails with it. Those files are retried one at a time with the pool to
themselves; a file that kills its worker again alone is the culprit and fails with
reason ``crashed``. The others are converted as usual.
"""

from __future__ import annotations

import heapq
import math
import multiprocessing
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from multiprocessing import forkserver
from pathlib import Path
from typing import Any

from scan2pdf.core.jobs import Job, Outcome, Tick
from scan2pdf.core.report import failed
from scan2pdf.errors import FileTimeoutError, WorkerCrashedError
from scan2pdf.execution.slots import make_slots
from scan2pdf.execution.workerproc import init_worker, pid_file, run_job
from scan2pdf.launch import WORKER_MODULE

# The function a worker runs per job, as "module:function" so the coordinator never
# imports it (and OCRmyPDF); a seam for tests (a fake engine) and for Dask.
CONVERT = f"{WORKER_MODULE}:convert_file"
# Files in flight beyond the budget's slots (see the module docstring).
_EXTRA_FILES = 1


def cpu_budget() -> int:
    """Cores this process may use: its CPU affinity, capped by a cgroup v2 CPU quota.

    os.cpu_count() and OCRmyPDF's default (multiprocessing.cpu_count) both report the
    machine's cores, which oversubscribes in containers and under taskset.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = cores or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cores)


@dataclass(frozen=True, slots=True)
class _InFlight:
    job: Job
    alone: bool  # a suspect of a worker crash, running with the pool to itself
    started: float


class LocalExecutor:
    """The ``Executor`` (``execution/protocol.py``) of one machine's worker processes."""

    def __init__(self, budget: int, scratch_root: Path, work: str = CONVERT) -> None:
        self.budget = max(1, budget)
        # Files in flight at once (see the module docstring).
        self.files_at_once = self.budget + _EXTRA_FILES
        self.scratch_root = scratch_root
        self.work = work
        # How far the feed runs ahead: far enough to start the biggest of the next files
        # first, short enough to keep memory flat.
        self.capacity = max(64, 4 * self.budget)
        self.context = multiprocessing.get_context("forkserver")
        self.context.set_forkserver_preload([self.work.partition(":")[0]])
        # Start the forkserver now: it imports OCRmyPDF while discovery runs.
        forkserver.ensure_running()
        self._slots = make_slots(scratch_root / "slots", self.budget)
        # Workers write "S index 0" / "P index pages" lines here (workerproc.tell).
        self._progress_in, self._progress_out = self.context.Pipe(duplex=False)
        os.set_blocking(self._progress_in.fileno(), False)
        self._partial = b""
        self._waiting = _Waiting()
        self._suspects: deque[Job] = deque()
        self._running: dict[Future[Outcome], _InFlight] = {}
        self._timed_out: set[int] = set()
        self._cancelled: set[int] = set()
        # Cancelled jobs whose worker had not said who it is yet: stopped once it has.
        self._to_kill: set[int] = set()
        self._pool: ProcessPoolExecutor | None = None

    @property
    def in_flight(self) -> int:
        return len(self._waiting) + len(self._suspects) + len(self._running)

    def submit(self, job: Job) -> None:
        self._waiting.push(job)

    def collect(self, timeout: float, more_coming: bool) -> list[Outcome]:
        """See ``Executor.collect``. Handles timeouts and worker deaths on the way.

        ``more_coming`` is not needed: pages take whatever slots are free (slots.py)."""
        self._dispatch()
        self._kill_cancelled()
        if not self._running:
            return []
        deadline = min(f.started + f.job.options.timeout for f in self._running.values())
        wait_for = max(0.05, min(timeout, deadline - time.monotonic()))
        done, _ = wait(self._running, timeout=wait_for, return_when=FIRST_COMPLETED)
        if not done:
            self._stop_overdue()
            return []
        outcomes = self._sort_out(done)
        self._dispatch()
        return outcomes

    def ticks(self) -> list[Tick]:
        try:
            data = os.read(self._progress_in.fileno(), 1 << 16)
        except BlockingIOError:
            return []
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        ticks = []
        for line in lines:
            kind, index, pages = line.split()
            ticks.append(Tick(int(index), started=kind == b"S", pages=int(pages)))
        return ticks

    def cancel(self, index: int | None = None) -> None:
        if index is None:
            self._waiting.clear()
            self._suspects.clear()
            self._running.clear()
            self._to_kill.clear()
            self._kill_pool()
            return
        self._waiting.discard(index)
        self._suspects = deque(j for j in self._suspects if j.index != index)
        for flight in self._running.values():
            if flight.job.index == index:
                self._cancelled.add(index)
                self._to_kill.add(index)
        self._kill_cancelled()

    def close(self) -> None:
        """Shut the pool down: gently when nothing runs, at once otherwise."""
        if self._pool is None:
            self._close_progress()
            return
        self._close_progress()
        if self._running:
            self._kill_pool()
        else:
            self._pool.shutdown(wait=True)
            self._pool = None

    # ---- inside -------------------------------------------------------------------------

    def _close_progress(self) -> None:
        self._progress_in.close()
        self._progress_out.close()

    def _kill_cancelled(self) -> None:
        """Stop each cancelled job's worker; one that has not started it yet is tried again
        on the next call, so a cancelled job never runs to its end unseen."""
        for flight in self._running.values():
            index = flight.job.index
            if index in self._to_kill and self._kill_job(flight.job):
                self._to_kill.discard(index)

    def _pool_now(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.files_at_once,
                mp_context=self.context,
                initializer=init_worker,
                initargs=(
                    str(self.scratch_root),
                    os.getpid(),
                    self._progress_out,
                    (str(self._slots), self.budget),
                ),
            )
        return self._pool

    def _kill_pool(self) -> None:
        if self._pool is not None:
            _kill_workers(self._pool)
            self._pool = None

    def _sort_out(self, done: set[Future[Outcome]]) -> list[Outcome]:
        """Outcomes of finished futures; after a worker death, who was to blame."""
        outcomes: list[Outcome] = []
        if not any(_broke(f) for f in done):
            for future in done:
                flight = self._running.pop(future)
                self._pid_file(flight.job).unlink(missing_ok=True)
                # Cancelled but finished first: the pipeline drops its outcome.
                self._cancelled.discard(flight.job.index)
                self._to_kill.discard(flight.job.index)
                outcomes.append(future.result())
            return outcomes
        # A worker died: a broken pool fails every future it holds. Sort them out, then
        # start a fresh pool for what remains.
        for future in list(self._running):
            flight = self._running.pop(future)
            job = flight.job
            # A worker writes the pid file as it starts the job: without it, the worker
            # died before it reached the file.
            reached = self._pid_file(job).exists()
            self._pid_file(job).unlink(missing_ok=True)
            if not _broke(future):
                outcomes.append(future.result())
            elif job.index in self._cancelled:
                continue
            elif job.index in self._timed_out:
                error = _timeout_error(job.options.timeout)
                outcomes.append(Outcome(failed(job.identity, error), index=job.index))
            elif flight.alone:
                outcomes.append(Outcome(failed(job.identity, _crash(reached)), index=job.index))
            elif self._timed_out or self._cancelled:
                self._waiting.push(job, first=True)  # a bystander of a stopped job
            else:
                self._suspects.append(job)
        self._timed_out.clear()
        self._cancelled.clear()
        self._to_kill.clear()
        self._kill_pool()
        return outcomes

    def _pid_file(self, job: Job) -> Path:
        # Removed when the job is over: a hot folder runs for weeks, one job per document.
        return pid_file(self.scratch_root, job)

    def _stop_overdue(self) -> None:
        now = time.monotonic()
        for flight in self._running.values():
            job = flight.job
            if now - flight.started < job.options.timeout or job.index in self._timed_out:
                continue
            if self._kill_job(job):
                self._timed_out.add(job.index)

    def _kill_job(self, job: Job) -> bool:
        try:
            pid = int(self._pid_file(job).read_text())
        except (OSError, ValueError):
            return False  # its worker has not started it yet: try again on the next round
        _kill_group(pid)
        return True

    def _dispatch(self) -> None:
        running = self._running
        while not any(flight.alone for flight in running.values()):
            if self._suspects:
                if running:
                    return  # a suspect runs alone: let the pool drain first
                job, alone = self._suspects.popleft(), True
            elif self._waiting and len(running) < self.files_at_once:
                job, alone = self._waiting.pop(), False
            else:
                return
            # Every file may use the whole budget for its pages; the shared slots decide
            # how many of them run at any moment.
            try:
                with _main_module_hidden():  # a worker may start here (the pool spawns lazily)
                    future = self._pool_now().submit(
                        run_job, self.work, str(self.scratch_root), job, self.budget
                    )
            except BrokenProcessPool:
                # A worker died after this round's futures were sorted out (or while the
                # pool was idle). The job goes back first in its line; the broken futures
                # of the running ones say who died on the next wait (``_sort_out``), and
                # with none running there is no one to blame: a fresh pool at once.
                if alone:
                    self._suspects.appendleft(job)
                else:
                    self._waiting.push(job, first=True)
                if running:
                    return
                self._kill_pool()
                continue
            running[future] = _InFlight(job, alone, time.monotonic())


class _Waiting:
    """Jobs discovered but not started, biggest guessed work first.

    Big files started early run beside the small ones; started last, they would run
    alone in the tail with cores idle.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Job]] = []

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, job: Job, first: bool = False) -> None:
        key = -math.inf if first else -job.work.mpixels
        heapq.heappush(self._heap, (key, job.index, job))

    def pop(self) -> Job:
        return heapq.heappop(self._heap)[2]

    def clear(self) -> None:
        self._heap.clear()

    def discard(self, index: int) -> None:
        self._heap = [item for item in self._heap if item[2].index != index]
        heapq.heapify(self._heap)


@contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Start worker processes without the program's ``__main__`` in their preparation data.

    multiprocessing re-runs the main script (or ``-m`` module) in every process it starts
    with the forkserver, so that objects pickled from ``__main__`` resolve. Workers need
    nothing from it (their work is named "module:function"), and re-running a script
    written without an ``if __name__ == "__main__":`` guard, as most are, would start a
    conversion inside each worker, which dies at once. The attributes multiprocessing
    reads (``spawn.get_preparation_data``) are hidden while a process starts.
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    saved: dict[str, Any] = {
        name: main.__dict__[name] for name in ("__file__", "__spec__") if name in main.__dict__
    }
    main.__dict__.pop("__file__", None)
    main.__dict__["__spec__"] = None
    try:
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(saved)


def _broke(future: Future[Outcome]) -> bool:
    return isinstance(future.exception(), BrokenProcessPool)


def _crash(reached: bool) -> WorkerCrashedError:
    if reached:
        return WorkerCrashedError("Its worker process died while converting it.")
    # Not the file's fault, and not memory: a worker that cannot start (an import that
    # fails in a fresh process, a sandbox that forbids processes) fails every file.
    return WorkerCrashedError(
        "Its worker process died while starting, before it reached the file.",
        "Check that a fresh process can run scan2pdf's worker: python -c "
        f"'import {WORKER_MODULE}' must succeed (run with -v for details).",
    )


def _timeout_error(timeout: float) -> FileTimeoutError:
    return FileTimeoutError(f"Stopped after {timeout:g} s (--timeout).")


def _kill_group(pid: int) -> None:
    """SIGKILL a worker's process group (the worker and its Tesseract and Ghostscript)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    """Stop the pool now, every worker with its children."""
    # ProcessPoolExecutor has no public way to name its workers; _processes has been
    # {pid: Process} since Python 3.2. Killing only these leaves other pools alone.
    for pid in dict(getattr(pool, "_processes", None) or {}):
        _kill_group(pid)
    pool.shutdown(wait=True, cancel_futures=True)
