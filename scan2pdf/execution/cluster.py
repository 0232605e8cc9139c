"""Per-file work on a Dask distributed cluster: the executor behind ``--cluster ADDRESS``.

The coordinator (discovery, journal, naming, publishing, report) is the local run's, as is
the rest of the pipeline; only where a job runs changes. Each job is one Dask task
(``worker/remote.py``), which runs the same conversion as a local worker in one of the
Dask worker's threads and hands its outputs back. Dask does the scheduling, the
placement on workers that join mid-run, and the re-running of a task whose worker died
(up to the scheduler's ``distributed.scheduler.allowed-failures``, 3 by default).

A file with many pages is not one task but a few (``execution/ranges.py``): it is cut
into page ranges that run on any worker, and the coordinator assembles the document
before it is published like any other (``execution/volumes.py``, ``worker/assemble.py``).

Dask charges a worker's death to every task the worker held, not only to the one that
killed it (distributed 2026.8 ``Scheduler.remove_worker``: each task in
``WorkerState.processing``, which holds about 1.1 tasks a thread), so the files beside a
killing file come back ``KilledWorker`` with it. Such a file is a suspect, not a culprit:
suspects are sent once more, one at a time, so that no two of them share a worker again;
only a suspect that comes back ``KilledWorker`` a second time fails as ``crashed``. A
cut file whose tasks come back ``KilledWorker`` is a suspect too, and is sent again whole.

Storage (``storage``):

- ``shared``: the workers see the coordinator's inputs and OUTDIR at the same paths (NFS,
  one machine). Paths are sent; outputs are written by the worker into
  ``OUTDIR/.scan2pdf/cluster/<run>/`` and renamed into place by the coordinator.
- ``send``: inputs go to the worker as bytes and outputs come back as bytes. An input
  larger than ``INLINE_BYTES`` is scattered straight to a worker (never through the
  scheduler's memory), under its task's own key; one larger than ``MAX_SEND_BYTES``
  fails as ``too_large``.
- ``auto`` (default): ``shared`` when every worker sees a token file written into OUTDIR
  and every INPUT path; otherwise ``send``.

Not here: a per-file ``--timeout`` cannot stop a task Dask is running (a thread cannot be
killed); the file fails as ``timeout`` at once and its worker finishes in the background.
A cut file's --timeout is each of its tasks', from when that task starts.
"""

from __future__ import annotations

import importlib
import logging
import os
import queue
import secrets
import shutil
import time
from collections import deque
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import replace
from pathlib import Path
from typing import Any

from scan2pdf.core.jobs import Job, Outcome, Tick
from scan2pdf.core.report import failed
from scan2pdf.errors import (
    FileTimeoutError,
    InternalError,
    LocationError,
    MissingDependencyError,
    Scan2PdfError,
    TooLargeError,
    WorkerCrashedError,
)
from scan2pdf.execution.ranges import range_count
from scan2pdf.execution.volumes import INLINE_BYTES, Broken, Volumes, Whole

# distributed's Client and Future carry few annotations (mypy --strict calls them
# untyped); they are held as Any here, at this one seam.
DaskClient = Any
DaskFuture = Any

STORAGE_MODES = ("auto", "shared", "send")
MAX_SEND_BYTES = 2 << 30
# How long the scheduler may be unreachable before the run stops (Dask reconnects for
# a while by itself).
_LOST_AFTER = 15.0
_CONNECT_TIMEOUT = "10s"
# How often (seconds) the scheduler is asked how many worker threads there are.
_THREADS_EVERY = 1.0
_REMOTE = "scan2pdf.worker.remote"
# What a future raises when the client lost the scheduler (not the file's fault).
_CONNECTION_LOST = frozenset({"CancelledError", "FutureCancelledError", "CommClosedError"})


def _run(job: Job, payload: tuple[bytes, ...] | None, shared_out: str | None) -> Outcome:
    """On a worker: the conversion, imported there by name (the coordinator never loads
    OCRmyPDF for a cluster run)."""
    remote = importlib.import_module(_REMOTE)
    outcome: Outcome = remote.run_on_cluster(job, payload, shared_out)
    return outcome


def _sees(probe: str, token: bytes, paths: list[str]) -> bool:
    """On a worker (run on its event loop: nothing heavy): whether ``probe`` holds
    ``token`` there and every one of ``paths`` exists. How the coordinator learns if
    storage is shared."""
    try:
        return Path(probe).read_bytes() == token and all(map(os.path.exists, paths))
    except OSError:
        return False


class ClusterLostError(LocationError):
    reason = "cluster_lost"


def connect(address: str) -> DaskClient:
    """A client of the scheduler at ``address``; exit 3 without Dask, 4 if unreachable."""
    try:
        import distributed
        from distributed.comm.addressing import parse_address, parse_host_port
    except ImportError as exc:
        raise MissingDependencyError(
            "--cluster needs Dask distributed, which is not installed.",
            "Install it with: pip install 'scan2pdf[cluster]'",
        ) from exc
    # Dask logs its reconnection attempts with tracebacks on stderr; what matters to the
    # user reaches them as one message (``ClusterLostError``), so its logs stay quiet.
    for name in ["distributed", *logging.Logger.manager.loggerDict]:
        if name.startswith("distributed"):  # Dask's config gives some their own level
            logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        # An address Dask cannot parse is refused before a Client exists: a Client whose
        # constructor failed closes itself when collected, waits 20 s for a scheduler it
        # never had, and prints that traceback after our message.
        scheme, location = parse_address(address)
        if scheme in ("tcp", "tls", "ws", "wss"):
            parse_host_port(location)
        client: Any = distributed.Client
        return client(address, timeout=_CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise LocationError(
            f"Cannot reach the Dask scheduler at '{address}' ({exc}).",
            "Check that 'dask scheduler' runs there and that this machine may connect.",
        ) from exc


class ClusterExecutor:
    """``execution/protocol.py``'s ``Executor`` on a Dask cluster (see the module doc)."""

    def __init__(
        self, address: str, outdir: Path, storage: str = "auto", inputs: Sequence[Path] = ()
    ) -> None:
        self.address = address
        self._client: DaskClient = connect(address)
        self._run = secrets.token_hex(4)
        self._futures: dict[DaskFuture, tuple[Job, float]] = {}
        # Files whose workers died under them (see the module doc): waiting to be sent
        # again, and the indexes of those sent again (a second KilledWorker is final).
        self._suspects: deque[Job] = deque()
        self._again: set[int] = set()
        # Outcomes decided without a worker (an input too big to send), for the next collect.
        self._done_now: list[Outcome] = []
        # Futures as they finish (Dask calls back on its own thread; collect waits here).
        self._finished: queue.SimpleQueue[DaskFuture] = queue.SimpleQueue()
        self._lost_since: float | None = None
        self._threads, self._threads_at = 0, -_THREADS_EVERY  # the workers' threads, when
        self._shared_out = Path(outdir).absolute() / ".scan2pdf" / "cluster" / self._run
        self.storage = storage if storage != "auto" else self._probe(inputs)
        if self.storage == "shared":
            self._shared_out.mkdir(parents=True, exist_ok=True)
        # Long files in flight as page ranges (execution/ranges.py).
        self._volumes = Volumes(self._client, self._run, self._shared_out, self._finished.put)

    # ---- the protocol ---------------------------------------------------------------------

    @property
    def capacity(self) -> int:
        """Four jobs per worker thread: the scheduler then holds enough queued files to
        start the biggest first (``submit``'s priority) and no thread waits for the next.
        The pipeline asks before every submit; the scheduler is asked at most once a
        second, so workers that join mid-run get work without a round trip per file."""
        now = time.monotonic()
        if now - self._threads_at >= _THREADS_EVERY:
            self._threads_at = now
            try:
                self._threads = int(sum(self._client.nthreads().values()))
            except Exception:  # the scheduler is away; collect says so
                self._threads = 0
        return max(4, 4 * self._threads)

    @property
    def in_flight(self) -> int:
        return len(self._futures) + len(self._suspects) + len(self._volumes)

    def submit(self, job: Job) -> None:
        """A long file goes as page ranges when there is more than one worker thread to
        share them (``ranges.range_count``; the thread count is ``capacity``'s, which the
        pipeline asks before every submit); any other as one task."""
        count = range_count(job.work.pages, self._threads)
        if count > 1:
            self._send_volume(job, count)
        else:
            self._send(job, f"scan2pdf-{self._run}-{job.index}")

    def _send_volume(self, job: Job, count: int) -> None:
        key = f"scan2pdf-plan-{self._run}-{job.index}"
        wired = self._wired(job, key)
        if wired is not None:
            sent, payload, shared = wired
            priority = self._priority(job)
            self._volumes.send(sent, count, payload, shared, priority)

    def _wired(self, job: Job, key: str) -> tuple[Job, Any, str | None] | None:
        """``job`` as a worker is sent it, its payload (``send`` storage) and the shared
        folder (``shared``); None when it failed at once (too big to send)."""
        payload: Any = None
        if self.storage == "send":
            payload = self._payload(job, key)
            if isinstance(payload, Outcome):  # too big to send: failed at once
                self._done_now.append(payload)
                return None
        shared = str(self._shared_out) if self.storage == "shared" else None
        # Paths as the workers see them: absolute (a worker's working folder is its own).
        sent = replace(
            job, source=job.source.absolute(), parts=tuple(p.absolute() for p in job.parts)
        )
        return sent, payload, shared

    @staticmethod
    def _priority(job: Job) -> int:
        """Biggest work first among queued files: a file's pages stay on one worker thread
        (or on a few, in ranges), so a long one started last would end the batch alone."""
        return int(job.work.mpixels * 1000) + job.work.pages

    def _send(self, job: Job, key: str) -> None:
        wired = self._wired(job, key)
        if wired is None:
            return
        sent, payload, shared = wired
        priority = self._priority(job)
        future = self._client.submit(
            _run,
            sent,
            payload,
            shared,
            key=key,
            pure=False,
            priority=priority,
        )
        self._futures[future] = (job, time.monotonic())
        future.add_done_callback(self._finished.put)  # on the client's thread

    def collect(self, timeout: float, more_coming: bool) -> list[Outcome]:
        outcomes, self._done_now = self._done_now, []
        self._check_scheduler()
        if not self._futures and not self._volumes:
            return outcomes
        done: list[DaskFuture] = []
        try:
            done.append(self._finished.get(timeout=0 if outcomes else timeout))
            while True:
                done.append(self._finished.get_nowait())
        except queue.Empty:
            pass
        for future in done:
            if self._volumes.owns(future):
                outcome = self._arrival(future)
                if outcome is not None:
                    outcomes.append(outcome)
                continue
            entry = self._futures.pop(future, None)
            if entry is not None:  # None: cancelled meanwhile
                outcome = self._outcome(future, entry[0])
                if outcome is not None:
                    outcomes.append(outcome)
        outcomes.extend(self._overdue())
        outcomes.extend(self._volumes.overdue())
        self._send_suspect()
        return outcomes

    def _arrival(self, future: DaskFuture) -> Outcome | None:
        """A volume's future finished: its file's outcome once there is one."""
        arrival = self._volumes.take(future)
        if isinstance(arrival, Whole):  # its ranges made no valid document
            self._send(arrival.job, f"scan2pdf-{self._run}-{arrival.job.index}-whole")
            return None
        if isinstance(arrival, Broken):
            return self._broken(arrival.job, arrival.error)
        return arrival

    def ticks(self) -> list[Tick]:
        return []  # no page-by-page progress from a cluster: files as they finish

    def cancel(self, index: int | None = None) -> None:
        self._volumes.cancel(index)
        self._suspects = deque(job for job in self._suspects if index not in (None, job.index))
        chosen = [f for f, (job, _) in self._futures.items() if index in (None, job.index)]
        for future in chosen:
            self._futures.pop(future, None)
        if chosen:
            with suppress(Exception):  # the scheduler is gone: nothing runs for us any more
                self._client.cancel(chosen)

    def close(self) -> None:
        self.cancel()
        self._volumes.close()
        with suppress(Exception):
            self._client.close(timeout=5)
        shutil.rmtree(self._shared_out, ignore_errors=True)

    # ---- inside -------------------------------------------------------------------------

    def _probe(self, inputs: Sequence[Path]) -> str:
        """``shared`` when every worker sees a token written into OUTDIR and every INPUT."""
        token = secrets.token_bytes(16)
        probe = self._shared_out.parent / f"probe-{self._run}"
        try:
            probe.parent.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(token)
        except OSError:
            return "send"
        try:
            wanted = [str(Path(p).absolute()) for p in inputs]
            answers = self._client.run(_sees, str(probe), token, wanted)  # one round trip
        except Exception:
            return "send"
        finally:
            probe.unlink(missing_ok=True)
        return "shared" if answers and all(answers.values()) else "send"

    def _payload(self, job: Job, key: str) -> tuple[bytes, ...] | Outcome | Any:
        """What ``worker/remote.py`` takes as ``Payload``: the bytes of the input, or of
        each page, in order; scattered, a future of them (Dask hands the task the bytes)."""
        files = list(job.parts) if job.parts else [job.source]
        try:
            size = sum(p.stat().st_size for p in files)
        except OSError:
            return None  # the worker meets the same problem and says it
        if size > MAX_SEND_BYTES:
            error = TooLargeError(
                f"It is {size / 2**30:.1f} GiB; cluster workers without shared storage take "
                f"up to {MAX_SEND_BYTES / 2**30:.0f} GiB.",
                "Give the workers the same storage (--cluster-storage shared), or convert "
                "it without --cluster.",
            )
            return Outcome(failed(job.identity, error), index=job.index)
        data = tuple(p.read_bytes() for p in files)
        if size > INLINE_BYTES:  # straight to a worker, not through the scheduler
            # Dask keys scattered data by the dict's keys: a key of the task's own, since
            # under a shared one (a file name: two folders' scan.pdf) one job would be
            # handed another's bytes.
            scattered = self._client.scatter({f"{key}-input": data}, direct=True)
            return scattered[f"{key}-input"]
        return data

    def _outcome(self, future: DaskFuture, job: Job) -> Outcome | None:
        """The job's outcome, or None for a suspect that is to be sent again."""
        try:
            outcome: Outcome = future.result()
        except Exception as exc:  # KilledWorker, a task that raised, or the scheduler gone
            return self._broken(job, exc)
        return outcome

    def _broken(self, job: Job, exc: Exception) -> Outcome | None:
        """What a future of ``job`` that raised means; None for a suspect to send again
        (whole, alone: a volume whose workers died goes whole the second time)."""
        if type(exc).__name__ in _CONNECTION_LOST or self._client.status != "running":
            # Its file is not at fault: the run stops, its journal row stays open.
            raise self._lost() from exc
        if type(exc).__name__ == "KilledWorker" and job.index not in self._again:
            self._suspects.append(job)
            return None
        return self._failure(job, exc)

    def _send_suspect(self) -> None:
        """The next suspect, once no other one is in flight (two suspects never share a
        worker: one of them may be what killed the workers of both)."""
        busy = any(job.index in self._again for job, _ in self._futures.values())
        if self._suspects and not busy:
            job = self._suspects.popleft()
            self._again.add(job.index)
            self._send(job, f"scan2pdf-{self._run}-{job.index}-again")

    def _failure(self, job: Job, exc: BaseException | None) -> Outcome:
        name = type(exc).__name__ if exc is not None else "unknown"
        error: Scan2PdfError
        if name == "KilledWorker":
            error = WorkerCrashedError(
                "Dask workers died each time they ran it, also when it was run again apart "
                "from the other files that were on those workers.",
                "It likely needs more memory than a worker has: convert it alone, or on a "
                "machine with more memory.",
            )
        else:
            error = InternalError(f"The cluster task failed ({name}: {exc}).")
        return Outcome(failed(job.identity, error), index=job.index)

    def _overdue(self) -> list[Outcome]:
        now = time.monotonic()
        late = [f for f, (job, since) in self._futures.items() if now - since > job.options.timeout]
        outcomes = []
        for future in late:
            job, _ = self._futures.pop(future)
            with suppress(Exception):
                self._client.cancel([future])
            error = FileTimeoutError(f"It took longer than --timeout {job.options.timeout:g} s.")
            outcomes.append(Outcome(failed(job.identity, error), index=job.index))
        return outcomes

    def _check_scheduler(self) -> None:
        if self._client.status == "running":
            self._lost_since = None
            return
        now = time.monotonic()
        if self._lost_since is None:
            self._lost_since = now
        elif now - self._lost_since > _LOST_AFTER:
            raise self._lost()

    def _lost(self) -> ClusterLostError:
        return ClusterLostError(
            f"The Dask scheduler at '{self.address}' went away; the files in flight were "
            "not converted.",
            "Start it again (and its workers) and run the same command: the journal "
            "continues where this run stopped.",
        )
