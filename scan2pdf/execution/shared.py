"""One warm worker pool for every Python API call in a process.

A program that gathers fifty ``aextract_text`` calls, or calls ``convert`` from a thread
pool, must not start fifty pools of workers: the calls share one ``LocalExecutor`` and
its CPU budget. Each call's pipeline gets a ``PoolClient`` (an ``Executor``) that maps its
jobs onto the pool; one thread, the driver, is the only one that touches the pool (a
``LocalExecutor`` is not thread-safe), so clients talk to it through a command queue.

The pool lives until the program ends (``atexit``) or ``shutdown()``; its workers also
watch this process and exit with it however it ends (``execution/workerproc.py``).
"""

from __future__ import annotations

import atexit
import itertools
import queue
import shutil
import threading
from collections.abc import Callable
from dataclasses import replace

from scan2pdf.core.jobs import Job, Outcome, Tick
from scan2pdf.execution.local import LocalExecutor, cpu_budget
from scan2pdf.state.scratch import new_scratch

# How long the driver waits for an outcome before it looks at its commands again: the
# latency a new submit or a cancel may see while work runs.
_DRIVE_STEP = 0.05
# How long it sleeps when nothing is in flight (a command wakes it at once).
_IDLE_STEP = 1.0
# How long a cancel waits for the driver to act on it (it takes milliseconds).
_CANCEL_WAIT = 5.0

Command = Callable[[], None]


class PoolClient:
    """One pipeline's view of the shared pool; see ``execution/protocol.py``."""

    def __init__(self, pool: SharedPool) -> None:
        self._pool = pool
        self._outcomes: queue.SimpleQueue[Outcome] = queue.SimpleQueue()
        self._ticks: queue.SimpleQueue[Tick] = queue.SimpleQueue()
        # This client's job index -> the pool's (indexes must be unique in the pool).
        self._mine: dict[int, int] = {}
        self._closed = False

    @property
    def capacity(self) -> int:
        return self._pool.capacity

    @property
    def in_flight(self) -> int:
        return len(self._mine)

    def submit(self, job: Job) -> None:
        self._mine[job.index] = self._pool.submit(self, job)

    def collect(self, timeout: float, more_coming: bool) -> list[Outcome]:
        # more_coming does not matter here: the local pool shares slots whatever comes.
        self._pool.raise_failure()
        try:
            first = self._outcomes.get(timeout=timeout) if self._mine else None
        except queue.Empty:
            return []
        outcomes = [] if first is None else [first]
        while True:
            try:
                outcomes.append(self._outcomes.get_nowait())
            except queue.Empty:
                break
        for outcome in outcomes:
            self._mine.pop(outcome.index, None)
        return outcomes

    def ticks(self) -> list[Tick]:
        ticks = []
        while True:
            try:
                ticks.append(self._ticks.get_nowait())
            except queue.Empty:
                return ticks

    def cancel(self, index: int | None = None) -> None:
        """Stop the jobs; returns once the driver has sent their workers SIGKILL (or taken
        them off the queue), so a stopped call has really stopped when it returns."""
        chosen = list(self._mine) if index is None else [index]
        pooled = [p for p in (self._mine.pop(local, None) for local in chosen) if p is not None]
        if pooled:
            self._pool.cancel(pooled).wait(_CANCEL_WAIT)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.cancel()
        while True:  # delivered but never collected: their files go now
            try:
                outcome = self._outcomes.get_nowait()
            except queue.Empty:
                return
            if outcome.scratch is not None:
                shutil.rmtree(outcome.scratch, ignore_errors=True)

    # Called by the driver thread.
    def deliver(self, local: int, outcome: Outcome | None, tick: Tick | None) -> None:
        if outcome is not None:
            self._outcomes.put(replace(outcome, index=local))
        if tick is not None:
            self._ticks.put(replace(tick, index=local))


class SharedPool:
    """The process's pool; ``shared_pool()`` makes it on first use."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._scratch = new_scratch()
        self._executor = LocalExecutor(budget, self._scratch)
        self.capacity = self._executor.capacity
        self._commands: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._routes: dict[int, tuple[PoolClient, int]] = {}
        self._numbers = itertools.count(1)
        self._closing = threading.Event()
        self._failure: BaseException | None = None
        self._driver = threading.Thread(target=self._drive, name="scan2pdf-pool", daemon=True)
        self._driver.start()

    def client(self) -> PoolClient:
        """An ``Executor`` for one pipeline; close it when the pipeline ends."""
        return PoolClient(self)

    @property
    def busy(self) -> bool:
        with self._lock:
            return bool(self._routes)

    def submit(self, client: PoolClient, job: Job) -> int:
        pooled = next(self._numbers)
        with self._lock:
            self._routes[pooled] = (client, job.index)
        numbered = replace(job, index=pooled)
        self._commands.put(lambda: self._executor.submit(numbered))
        return pooled

    def cancel(self, jobs: list[int]) -> threading.Event:
        """Cancel ``jobs``; the event is set once the driver has done it."""
        with self._lock:
            for pooled in jobs:
                self._routes.pop(pooled, None)
        done = threading.Event()

        def cancel() -> None:
            for pooled in jobs:
                self._executor.cancel(pooled)
            done.set()

        self._commands.put(cancel)
        if self._closing.is_set():
            done.set()  # nobody drives the pool any more; close() killed everything
        return done

    def raise_failure(self) -> None:
        if self._failure is not None:
            raise RuntimeError("scan2pdf's worker pool stopped.") from self._failure

    def close(self) -> None:
        """Stop the driver and every worker (anything still running is killed)."""
        if self._closing.is_set():
            return
        self._closing.set()
        self._commands.put(lambda: None)  # wake the driver
        self._driver.join()
        self._executor.close()
        shutil.rmtree(self._scratch, ignore_errors=True)

    # ---- the driver thread --------------------------------------------------------------

    def _drive(self) -> None:
        executor = self._executor
        try:
            while not self._closing.is_set():
                self._run_commands(block=executor.in_flight == 0)
                if executor.in_flight == 0:
                    continue
                outcomes = executor.collect(_DRIVE_STEP, more_coming=True)
                for tick in executor.ticks():
                    self._route(tick.index, None, tick)
                for outcome in outcomes:
                    self._route(outcome.index, outcome, None)
        except BaseException as exc:  # reported to every client by raise_failure()
            self._failure = exc

    def _run_commands(self, block: bool) -> None:
        try:
            command = self._commands.get(timeout=_IDLE_STEP) if block else None
        except queue.Empty:
            return
        while True:
            if command is not None:
                command()
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return

    def _route(self, pooled: int, outcome: Outcome | None, tick: Tick | None) -> None:
        with self._lock:
            route = self._routes.get(pooled)
            if route is not None and outcome is not None:
                del self._routes[pooled]
        if route is None:  # cancelled: nobody waits for it
            if outcome is not None and outcome.scratch is not None:
                shutil.rmtree(outcome.scratch, ignore_errors=True)
            return
        client, local = route
        client.deliver(local, outcome, tick)


_POOL: SharedPool | None = None
_POOL_LOCK = threading.Lock()


def shared_pool(jobs: int | None = None) -> SharedPool:
    """The process's pool, made on first use with ``jobs`` slots (default: the cores this
    process may use). A later call asking another size gets a new pool once the old one
    is idle; while it is busy the calls share the pool as it is."""
    global _POOL
    budget = min(jobs or cpu_budget(), cpu_budget())
    with _POOL_LOCK:
        pool = _POOL
        if pool is not None and pool.budget != budget and not pool.busy:
            pool.close()
            pool = None
        if pool is None:
            pool = _POOL = SharedPool(budget)
        return pool


def shutdown() -> None:
    """Stop the shared pool's workers now (the next API call starts a new pool)."""
    global _POOL
    with _POOL_LOCK:
        pool, _POOL = _POOL, None
    if pool is not None:
        pool.close()


atexit.register(shutdown)
