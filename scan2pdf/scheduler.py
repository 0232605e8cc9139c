"""Run jobs in worker processes within one CPU budget.

The budget is a number of *slots*: one slot is one busy thread (one Tesseract process
with OMP_THREAD_LIMIT=1, or the Python work between pages). A file is dispatched with
one slot while other files wait; in the tail of the batch, when nothing waits, a file
gets the free slots as OCRmyPDF ``jobs`` so its pages run in parallel. The sum of
slots in flight never exceeds the budget.

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
import time
from collections import deque
from collections.abc import Generator, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import suppress
from dataclasses import dataclass
from multiprocessing import forkserver
from pathlib import Path

from scan2pdf.discover import Job
from scan2pdf.errors import FileTimeoutError, WorkerCrashedError
from scan2pdf.launch import WORKER_MODULE
from scan2pdf.options import Options
from scan2pdf.report import Outcome, failed
from scan2pdf.workerproc import init_worker, pid_file, run_job

# The function a worker runs per job, as "module:function" so the coordinator never
# imports it (and OCRmyPDF); a seam for tests (a fake engine) and for Dask.
CONVERT = f"{WORKER_MODULE}:convert_file"
# How often a long-lived feed (watch) is asked for more while files are in flight.
_FEED_POLL = 0.5


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
    slots: int
    alone: bool  # a suspect of a worker crash, running with the pool to itself
    started: float


class Scheduler:
    def __init__(self, budget: int, scratch_root: Path, work: str = CONVERT) -> None:
        self.budget = max(1, budget)
        self.scratch_root = scratch_root
        self.work = work
        # How far discovery runs ahead: far enough to start the biggest of the next files
        # first and to know when we are in the tail, short enough to keep memory flat.
        self.lookahead = max(64, 4 * self.budget)
        self.context = multiprocessing.get_context("forkserver")
        self.context.set_forkserver_preload([self.work.partition(":")[0]])
        # Start the forkserver now: it imports OCRmyPDF while discovery runs.
        forkserver.ensure_running()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.budget,
            mp_context=self.context,
            initializer=init_worker,
            initargs=(str(self.scratch_root), os.getpid()),
        )

    def run(self, jobs: Iterable[Job | None], options: Options) -> Generator[Outcome, None, None]:
        """Yield one Outcome per job, in completion order.

        ``jobs`` may yield None for "nothing right now" (the hot folder's feed): the
        scheduler then collects results and asks again shortly; it ends when ``jobs`` does.
        Closing the generator early (Ctrl-C, an error in the consumer) kills every worker
        and its children; nothing keeps running after this returns.
        """
        source = iter(jobs)
        waiting = _Waiting()
        suspects: deque[Job] = deque()
        running: dict[Future[Outcome], _InFlight] = {}
        timed_out: set[int] = set()
        exhausted = False
        pool = self._new_pool()
        finished_cleanly = False
        try:
            while True:
                idle = False
                while not exhausted and not idle and len(waiting) < self.lookahead:
                    try:
                        job = next(source)
                    except StopIteration:
                        exhausted = True
                        break
                    if job is None:
                        idle = True
                    else:
                        waiting.push(job)
                # Nothing more known to come (for now): the files in hand share the cores.
                self._dispatch(pool, options, waiting, suspects, running, exhausted or idle)
                if not running:
                    if exhausted and not waiting and not suspects:
                        finished_cleanly = True
                        return
                    continue  # an idle feed paces itself; go back to it
                next_deadline = min(f.started for f in running.values()) + options.timeout
                timeout = max(0.05, next_deadline - time.monotonic())
                if not exhausted:
                    timeout = min(timeout, _FEED_POLL)  # the feed may have more by then
                done, _ = wait(running, timeout=timeout, return_when=FIRST_COMPLETED)
                if not done:
                    self._stop_overdue(running, options.timeout, timed_out)
                    continue
                if not any(_broke(f) for f in done):
                    for future in done:
                        self._pid_file(running.pop(future).job).unlink(missing_ok=True)
                        yield future.result()
                    continue
                # A worker died: a broken pool fails every future it holds. Sort them
                # out, then start a fresh pool for what remains.
                for future in list(running):
                    flight = running.pop(future)
                    self._pid_file(flight.job).unlink(missing_ok=True)
                    if not _broke(future):
                        yield future.result()
                    elif flight.job.index in timed_out:
                        yield Outcome(failed(flight.job, _timeout_error(options.timeout)))
                    elif flight.alone:
                        crash = WorkerCrashedError("Its worker process died while converting it.")
                        yield Outcome(failed(flight.job, crash))
                    elif timed_out:
                        waiting.push(flight.job, first=True)  # a bystander of a timeout
                    else:
                        suspects.append(flight.job)
                timed_out.clear()
                _kill_workers(pool)
                pool = self._new_pool()
        finally:
            if finished_cleanly:
                pool.shutdown(wait=True)
            else:
                _kill_workers(pool)

    def _pid_file(self, job: Job) -> Path:
        # Removed when the job is over: a hot folder runs for weeks, one job per document.
        return pid_file(self.scratch_root, job)

    def _stop_overdue(
        self, running: dict[Future[Outcome], _InFlight], timeout: float, timed_out: set[int]
    ) -> None:
        now = time.monotonic()
        for flight in running.values():
            if now - flight.started < timeout or flight.job.index in timed_out:
                continue
            try:
                pid = int(self._pid_file(flight.job).read_text())
            except (OSError, ValueError):
                continue  # its worker has not started it yet: try again on the next round
            timed_out.add(flight.job.index)
            _kill_group(pid)

    def _dispatch(
        self,
        pool: ProcessPoolExecutor,
        options: Options,
        waiting: _Waiting,
        suspects: deque[Job],
        running: dict[Future[Outcome], _InFlight],
        tail: bool,
    ) -> None:
        used = sum(flight.slots for flight in running.values())
        while not any(flight.alone for flight in running.values()):
            if suspects:
                if running:
                    return  # a suspect runs alone: let the pool drain first
                job, slots, alone = suspects.popleft(), self.budget, True
            elif waiting and used < self.budget:
                job = waiting.pop()
                free = self.budget - used
                # In the tail (nothing left to discover), share the free slots among
                # the files still waiting so no core idles while pages remain; never
                # more than the file has pages, which is all OCRmyPDF can run at once.
                share = max(1, free // (len(waiting) + 1)) if tail else 1
                slots, alone = min(share, max(1, job.work.pages)), False
            else:
                return
            future = pool.submit(run_job, self.work, str(self.scratch_root), job, options, slots)
            running[future] = _InFlight(job, slots, alone, time.monotonic())
            used += slots


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


def _broke(future: Future[Outcome]) -> bool:
    return isinstance(future.exception(), BrokenProcessPool)


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
