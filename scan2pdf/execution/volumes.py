"""The files a cluster run has in flight as page ranges (``execution/ranges.py``).

For each such file (a *volume*) this sends its plan; when the plan comes back, a task for
each of its parts; takes each range back as it finishes (its PDF written into the
volume's folder at once, so a long volume is never held in memory whole), and assembles
the document once all are back (``worker/assemble.py``). The executor
(``execution/cluster.py``) keeps the fault policy: what a broken future means is its to
say (``Broken``).

The ranges are sent only once the plan is back, each with its part in hand (a path in
shared storage; its bytes, or over ``INLINE_BYTES`` scattered), never as a Dask
dependency of the plan: Dask hands a task that depends on another's result to a worker
at once, where that result is (measured 2026-12-05 on the tail shape: both ranges of an
8-page volume went to the worker that had made the plan and ran one after the other,
1.49x a local run), while a task with nothing to wait for is queued on the scheduler and
goes, by priority, to the next thread that frees, as whole files do.

A volume's folder is ``OUTDIR/.scan2pdf/cluster/<run>/job-<index>``: made here before
anything is sent (with shared storage, workers write their parts and ranges into it and
never make it themselves), removed when the volume is done, cancelled or broken, so a
task still running after a cancel finds it gone and leaves nothing behind. A published
volume's folder goes with its outcome (``Outcome.scratch``), removed once published.

--timeout is per task: the plan's and each range's clock starts when the task starts
on a worker (it says so, ``ranges._started``), not when it was queued, since all of a
volume's ranges are queued at once.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from scan2pdf.core.jobs import Job, Outcome
from scan2pdf.core.report import failed
from scan2pdf.errors import FileTimeoutError
from scan2pdf.execution.ranges import Meta, Part, Plan, RangeDone, plan_task, range_task

DaskClient = Any
DaskFuture = Any
# Above any file's own priority (megapixels x 1000 + pages): a plan gates all of its
# volume's ranges.
_FIRST = 1 << 40
# An input (cluster.py) or part larger than this goes to a worker by scatter, straight,
# not in its task through the scheduler's memory.
INLINE_BYTES = 16 << 20


@dataclass(frozen=True, slots=True)
class Whole:
    """The volume's ranges made no valid document: convert the file whole instead."""

    job: Job


@dataclass(frozen=True, slots=True)
class Broken:
    """A future of the volume raised (a worker died under it, the scheduler went away):
    the volume is dropped, and the executor decides what becomes of the file."""

    job: Job
    error: Exception


Arrival = Outcome | Whole | Broken | None


@dataclass
class _Volume:
    job: Job
    folder: Path
    sent: float
    # The keys of the tasks still to finish, for --timeout: the plan's (None) and each
    # range's (its pages, 0-based).
    keys: dict[str, range | None]
    plan_key: str
    range_keys: dict[int, str] = field(default_factory=dict)
    futures: list[DaskFuture] = field(default_factory=list)
    meta: Meta | None = None
    done: dict[int, RangeDone] = field(default_factory=dict)
    empty: set[int] = field(default_factory=set)
    count: int = 0
    shared: str | None = None
    priority: int = 0

    def complete(self) -> bool:
        return self.meta is not None and len(self.done) + len(self.empty) == self.count


class Volumes:
    def __init__(
        self, client: DaskClient, run: str, folder: Path, on_done: Callable[[DaskFuture], None]
    ) -> None:
        self._client = client
        self._on_done = on_done  # called on the client's thread as each future finishes
        self._run = run
        self._folder = folder  # the run's: OUTDIR/.scan2pdf/cluster/<run>
        self._topic = f"scan2pdf-started-{run}"
        self._volumes: dict[int, _Volume] = {}
        # Future -> (its job's index, its range's number; None for the plan).
        self._owner: dict[DaskFuture, tuple[int, int | None]] = {}
        # Task key -> when a worker said it started it (set from the client's thread).
        self._started: dict[str, float] = {}
        self._subscribed = False

    def __len__(self) -> int:
        return len(self._volumes)

    def owns(self, future: DaskFuture) -> bool:
        return future in self._owner

    def send(self, job: Job, count: int, payload: Any, shared: str | None, priority: int) -> None:
        """Send ``job``'s plan, for ``count`` ranges (``on_done``, given at the start, is
        called with each future the coordinator waits for as it finishes)."""
        if not self._subscribed:
            self._client.subscribe_topic(self._topic, self._on_started)
            self._subscribed = True
        folder = self._folder / f"job-{job.index}"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{self._run}-{job.index}"
        plan_key = f"scan2pdf-plan-{name}"
        volume = _Volume(job, folder, time.monotonic(), {plan_key: None}, plan_key, count=count)
        volume.shared, volume.priority = shared, priority
        plan = self._client.submit(
            plan_task,
            job,
            payload,
            shared,
            count,
            self._topic,
            plan_key,
            key=plan_key,
            pure=False,
            priority=_FIRST + priority,
        )
        self._watch(plan, volume, None)
        self._volumes[job.index] = volume

    def _send_ranges(self, volume: _Volume, parts: tuple[Part | None, ...]) -> None:
        """A task for each part, queued like any file's: a share of the file's priority
        (a volume's ranges are alike; smaller work first among them would be no better)."""
        job, name = volume.job, f"{self._run}-{volume.job.index}"
        share = max(1, volume.priority // volume.count)
        for number, part in enumerate(parts):
            if part is None:
                volume.empty.add(number)
                continue
            key = f"scan2pdf-range-{name}-{number}"
            volume.keys[key] = range(part.first - 1, part.first - 1 + part.pages)
            volume.range_keys[number] = key
            sent: Any = part
            if isinstance(part.pdf, bytes) and len(part.pdf) > INLINE_BYTES:
                # Straight to a worker, not through the scheduler (as a big input is).
                sent = self._client.scatter({f"{key}-part": part}, direct=True)[f"{key}-part"]
            ranged = self._client.submit(
                range_task,
                job,
                sent,
                volume.shared,
                self._topic,
                key,
                key=key,
                pure=False,
                priority=share,
            )
            self._watch(ranged, volume, number)

    def take(self, future: DaskFuture) -> Arrival:
        """What ``future``'s finishing means for its volume (None: nothing yet)."""
        owner = self._owner.pop(future, None)
        volume = None if owner is None else self._volumes.get(owner[0])
        if owner is None or volume is None:
            return None  # cancelled meanwhile
        number = owner[1]
        try:
            value = future.result()
        except Exception as exc:
            self._drop(volume)
            return Broken(volume.job, exc)
        # Released at once: a result the coordinator holds is not one Dask must make
        # again when the worker that kept it dies (only the unfinished cost a death).
        volume.futures.remove(future)
        future.release()
        if number is None:
            plan: Plan = value
            volume.meta = plan.meta
            volume.keys.pop(volume.plan_key, None)
            outcome = plan.meta.outcome
            if outcome is not None:  # failed in preflight, or converted whole
                self._drop(volume, keep=outcome.scratch == volume.folder)
                return self._timed(outcome, volume)
            try:
                self._send_ranges(volume, plan.parts)
            except Exception as exc:  # a scatter to a cluster that went away, say
                self._drop(volume)
                return Broken(volume.job, exc)
        elif value is None:  # cannot be (an empty part is never sent): counted as empty
            volume.empty.add(number)
            volume.keys.pop(volume.range_keys[number], None)
        elif isinstance(value, Outcome):  # a range failed: so did the file
            self._drop(volume)
            return self._timed(value, volume)
        else:
            volume.done[number] = self._kept(value, volume.folder)
            volume.keys.pop(volume.range_keys[number], None)
        if volume.complete():
            return self._assembled(volume)
        return None

    def overdue(self) -> list[Outcome]:
        """Volumes one of whose tasks has run longer than --timeout: failed ``timeout``."""
        now = time.monotonic()
        outcomes = []
        for volume in list(self._volumes.values()):
            limit = volume.job.options.timeout
            late = [
                pages
                for key, pages in volume.keys.items()
                if now - self._started.get(key, now) > limit
            ]
            if not late:
                continue
            self._drop(volume)
            pages = late[0]
            which = (
                "" if pages is None else f" (pages {pages.start + 1}-{pages.stop} of it, one range)"
            )
            error = FileTimeoutError(f"It took longer than --timeout {limit:g} s{which}.")
            outcomes.append(
                Outcome(
                    failed(volume.job.identity, error, now - volume.sent), index=volume.job.index
                )
            )
        return outcomes

    def cancel(self, index: int | None = None) -> None:
        for volume in list(self._volumes.values()):
            if index in (None, volume.job.index):
                self._drop(volume)

    def close(self) -> None:
        self.cancel()
        if self._subscribed:
            with suppress(Exception):
                self._client.unsubscribe_topic(self._topic)
            self._subscribed = False

    # ---- inside -------------------------------------------------------------------------

    def _watch(self, future: DaskFuture, volume: _Volume, number: int | None) -> None:
        self._owner[future] = (volume.job.index, number)
        volume.futures.append(future)
        future.add_done_callback(self._on_done)

    def _on_started(self, event: tuple[float, Any]) -> None:
        """On the client's thread: a worker started the task ``event[1]``. A task run
        again (its worker died) starts its clock again: the death was not its fault."""
        self._started[str(event[1])] = time.monotonic()

    def _kept(self, done: RangeDone, folder: Path) -> RangeDone:
        """The range with its PDF in the volume's folder (sent as bytes: written now)."""
        if isinstance(done.pdf, Path):
            return done
        path = folder / f"range-{done.number}.pdf"
        path.write_bytes(done.pdf)
        return replace(done, pdf=path)

    def _assembled(self, volume: _Volume) -> Outcome | Whole:
        from scan2pdf.worker.assemble import assemble  # pikepdf & co. only when needed

        self._drop(volume, keep=True)
        assert volume.meta is not None
        ranges = [volume.done[n] for n in sorted(volume.done)]
        seconds = time.monotonic() - volume.sent
        outcome = assemble(volume.job, volume.meta, ranges, volume.folder / "assembled", seconds)
        if outcome is None or outcome.pdf is None:
            shutil.rmtree(volume.folder, ignore_errors=True)
            return Whole(volume.job) if outcome is None else outcome
        return replace(outcome, scratch=volume.folder)

    def _timed(self, outcome: Outcome, volume: _Volume) -> Outcome:
        """A failure's seconds are the file's, from when its volume was sent."""
        if outcome.result.status == "converted":
            return outcome
        seconds = time.monotonic() - volume.sent
        return replace(outcome, result=replace(outcome.result, seconds=seconds))

    def _drop(self, volume: _Volume, keep: bool = False) -> None:
        """Forget ``volume``: whatever of it still runs is cancelled; its folder removed
        unless ``keep`` (its outputs are in it)."""
        self._volumes.pop(volume.job.index, None)
        pending, volume.futures = volume.futures, []
        for future in pending:
            self._owner.pop(future, None)
        if pending:
            with suppress(Exception):  # the scheduler is gone: nothing runs for us any more
                self._client.cancel(pending)
        for key in (volume.plan_key, *volume.range_keys.values()):
            self._started.pop(key, None)
        if not keep:
            shutil.rmtree(volume.folder, ignore_errors=True)
