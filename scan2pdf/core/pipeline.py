"""The engine every front end feeds: convert, retry, watch and the Python API.

A ``Pipeline`` takes a ``Feed`` of inputs and yields one ``FileResult`` per input as it
finishes. It owns what a run writes - the journal, the report file (opened once per run),
the staging folder and publishing - and is the only writer of OUTDIR and the journal.
Per-file work goes to an ``Executor`` (``execution/protocol.py``): the local process pool
unless another is given.

Stopping: ``stop`` (a ``threading.Event``; SIGINT and SIGTERM set it, ``core/stopping.py``)
is looked at between files. Publishing a pair and journalling it are never split; in-flight
work is stopped at once; the run ends with KeyboardInterrupt and ``report.interrupted``.
"""

from __future__ import annotations

import errno
import itertools
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path

from scan2pdf.core.events import EventCallback, FileFinished, FileStarted, PageDone
from scan2pdf.core.jobs import Artifact, Input, Job, Outcome, Tick
from scan2pdf.core.options import Options
from scan2pdf.core.quality import Quality
from scan2pdf.core.report import FileResult, Report
from scan2pdf.core.resume import (
    ContentKey,
    Deferred,
    FeedTraits,
    Planned,
    Reused,
    Triage,
    changed_note,
    disk_full,
)
from scan2pdf.core.stopping import stop_on_signals
from scan2pdf.errors import DiskFullError, LocationError, location_error
from scan2pdf.execution.local import LocalExecutor, cpu_budget
from scan2pdf.execution.protocol import Executor
from scan2pdf.state.failures import keep_failed_input, prepare_folder
from scan2pdf.state.index import Index, check_fts5, folder_of, open_for_run, read_sidecar
from scan2pdf.state.journal import Journal, Pending, default_path
from scan2pdf.state.publish import Digest, OutputChanged, commit, staged
from scan2pdf.state.scratch import new_scratch
from scan2pdf.state.writer import WriterLock

ResultCallback = Callable[[FileResult], None]
# How long the loop waits for an outcome before it looks at the feed and ``stop`` again.
_COLLECT_TIMEOUT = 0.25


@dataclass(frozen=True)
class Feed:
    """Inputs (None: nothing right now, ask again) and what may be assumed about them."""

    inputs: Iterable[Input | None]
    traits: FeedTraits = field(default_factory=FeedTraits)


@dataclass(frozen=True, slots=True)
class _Flight:
    job: Job
    row: int
    key: ContentKey
    notes: tuple[str, ...] = ()


class Pipeline:
    """One run into one output folder. See the module docstring."""

    def __init__(
        self,
        outdir: Path | str,
        options: Options | None = None,
        *,
        journal_path: Path | None = None,
        report_path: Path | None = None,
        append_report: bool = False,
        failed_dir: Path | None = None,
        executor: Executor | None = None,
        stop: threading.Event | None = None,
        on_conflict: str = "suffix",
        on_result: ResultCallback | None = None,
        report: Report | None = None,
        index: bool = True,
        on_notice: Callable[[str], None] | None = None,
        on_event: EventCallback | None = None,
        writer: WriterLock | None = None,
    ) -> None:
        # Absolute: the journal names outputs, and a later run may start elsewhere.
        self.outdir = Path(os.path.abspath(outdir))
        self.options = options or Options()
        self.journal_path = journal_path or default_path(self.outdir)
        self.report_path = report_path
        self.append_report = append_report
        self.failed_dir = failed_dir
        self.on_conflict = on_conflict
        self.on_result = on_result
        self.report = report if report is not None else Report()
        self._executor = executor
        # Without a caller's event, this run installs its own Ctrl-C handler.
        self._own_stop = stop is None
        self.stop = stop or threading.Event()
        self._staging: Path | None = None
        # The search index (state/index.py), kept current unless index=False.
        self.keep_index = index
        self.on_notice = on_notice
        self.on_event = on_event
        self._index: Index | None = None
        # OUTDIR's one-writer lock (``state/writer.py``): the caller's, already held (the
        # watch service waits for it before it claims anything), or this run's own.
        self._writer = writer
        self._own_writer: WriterLock | None = None

    def convert(self, feed: Feed) -> Report:
        """Run ``feed`` to its end; return the report."""
        for _ in self.run(feed):
            pass
        return self.report

    def run(self, feed: Feed) -> Iterator[FileResult]:
        """Yield each input's result as it finishes (see the module docstring)."""
        report = self.report
        started = time.monotonic()
        executor = self._executor
        scratch: Path | None = None
        journal: Journal | None = None
        if self.keep_index:
            check_fts5()
        with ExitStack() as stack:
            if self._own_stop:
                # Only Ctrl-C: a library does not take SIGTERM from the program it runs in.
                stack.enter_context(stop_on_signals(self.stop, (signal.SIGINT,)))
            try:
                if executor is None:
                    # Made first: it starts the forkserver (unless launch.py already did),
                    # which imports OCRmyPDF while discovery runs.
                    scratch = new_scratch()
                    executor = LocalExecutor(self._budget(), scratch)
                inputs = iter(feed.inputs)
                if not feed.traits.drops:
                    # An empty input, or one that fails at once, leaves no journal behind.
                    first = next(inputs, None)
                    if first is None:
                        return
                    inputs = itertools.chain((first,), inputs)
                if self.stop.is_set():
                    raise KeyboardInterrupt  # stopped before anything was written
                journal = self._open_locations()
                assert self._staging is not None
                if self.keep_index:
                    opened = open_for_run(self.outdir, journal)
                    self._index = opened.index
                    if opened.notice and self.on_notice:
                        self.on_notice(opened.notice)
                triage = Triage(
                    journal,
                    self.outdir,
                    self._staging,
                    feed.traits,
                    self.on_conflict,
                    stop=self.stop,
                )
                yield from self._loop(inputs, triage, journal, executor)
            except KeyboardInterrupt:
                report.interrupted = True
                raise
            finally:
                closing_feed = getattr(feed.inputs, "close", None)
                if closing_feed is not None:
                    closing_feed()  # a generator's own clean-up (archives it holds open)
                if executor is not None:
                    executor.close()
                if scratch is not None:
                    shutil.rmtree(scratch, ignore_errors=True)
                if self._staging is not None:
                    shutil.rmtree(self._staging, ignore_errors=True)
                    self._staging = None
                report.seconds += time.monotonic() - started
                report.close()
                if self._index is not None:
                    self._index.close()
                    self._index = None
                if journal is not None:
                    journal.close()
                if self._own_writer is not None:
                    self._own_writer.release()
                    self._own_writer = None

    # ---- inside ---------------------------------------------------------------------------

    def _budget(self) -> int:
        """-j, capped at the cores this process may use: each slot is a busy thread, and
        more than the cores only adds worker processes and memory (-j 10000 would start
        95 of them and take 5 GB for 40 files on 2 cores)."""
        cores = cpu_budget()
        asked = self.options.jobs or cores
        if asked > cores and self.on_notice is not None:
            self.on_notice(
                f"-j {asked} is more than the {cores} cores this process may use; using {cores}."
            )
        return min(asked, cores)

    def _open_locations(self) -> Journal:
        """OUTDIR, staging, --failed, --report and the journal; LocationError if one fails."""
        try:
            self.outdir.mkdir(parents=True, exist_ok=True)
            if self._writer is None:  # before anything in OUTDIR is touched
                self._own_writer = WriterLock(self.outdir)
                self._own_writer.acquire(wait=False, stop=self.stop)
            self._staging = new_scratch(under=self.outdir / ".scan2pdf" / "staging")
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise disk_full(exc) from exc
            raise location_error(
                "the output folder", self.outdir, exc, "Choose one this user may write, with -o."
            ) from exc
        if self.failed_dir is not None:
            prepare_folder(self.failed_dir)
        if self.report_path is not None:
            self.report.open_sink(self.report_path, append=self.append_report)
        journal = Journal(self.journal_path)
        journal.settle()  # a run killed while it published: which outputs are in place
        return journal

    def _loop(
        self,
        inputs: Iterator[Input | None],
        triage: Triage,
        journal: Journal,
        executor: Executor,
    ) -> Iterator[FileResult]:
        flights: dict[int, _Flight] = {}
        # Inputs waiting for a conversion of the same content to finish.
        waiting: dict[ContentKey, list[Input]] = {}

        def submit(planned: Planned) -> None:
            job = planned.job
            flights[job.index] = _Flight(job, planned.row, planned.key, planned.notes)
            executor.submit(job)

        def take(item: Input) -> Iterator[FileResult]:
            decided = triage.decide(item, item.options or self.options)
            if isinstance(decided, Reused):
                try:
                    result = self._reuse(decided, journal)
                except OutputChanged as exc:  # changed since the triage looked at it
                    decided = triage.convert_instead(decided, changed_note(exc.path))
                else:
                    triage.release(decided.job)  # a member's extracted copy, unused
                    assert result.output is not None and result.sidecar is not None
                    self._index_document(
                        result.output, result.sidecar, item.identity, decided.moved_from
                    )
                    yield self._emit(replace(result, source=item.source))
                    return
            if isinstance(decided, Planned):
                submit(decided)
            elif isinstance(decided, Deferred):
                waiting.setdefault(decided.key, []).append(item)
            else:
                yield self._emit(replace(decided, source=item.source))

        exhausted = False
        while True:
            self._check_stop(executor)
            idle = False
            while not exhausted and executor.in_flight < executor.capacity:
                try:
                    item = next(inputs)
                except StopIteration:
                    exhausted = True
                    break
                if item is None:
                    idle = True  # the feed has nothing right now
                    break
                yield from take(item)
                self._check_stop(executor)
            if not flights:
                if exhausted:
                    self._check_stop(executor)  # a feed that ended because of a stop
                    return
                continue  # an idle feed paces itself; go back to it
            more_coming = not (exhausted or idle)
            outcomes = executor.collect(_COLLECT_TIMEOUT, more_coming)
            # After collect: a worker writes its ticks before it hands back its outcome.
            self._tell_progress(executor.ticks(), flights)
            for outcome in outcomes:
                flight = flights.pop(outcome.index, None)
                if flight is None:  # cancelled meanwhile
                    _discard(outcome)
                    continue
                result = self._finish(outcome, flight, journal)
                triage.release(flight.job)
                triage.landed(flight.key, flight.row)
                yield result
                for item in waiting.pop(flight.key, []):
                    yield from take(item)

    def _check_stop(self, executor: Executor) -> None:
        if self.stop.is_set():
            executor.cancel()
            raise KeyboardInterrupt

    def _emit(self, result: FileResult) -> FileResult:
        self.report.add(result)
        if self.on_result is not None:
            self.on_result(result)
        if self.on_event is not None:
            self.on_event(FileFinished(result))
        return result

    def _tell_progress(self, ticks: list[Tick], flights: dict[int, _Flight]) -> None:
        if self.on_event is None:
            return
        for tick in ticks:
            flight = flights.get(tick.index)
            if flight is None:
                continue  # finished or cancelled meanwhile
            job = flight.job
            identity = Path(job.identity)
            if tick.started:
                self.on_event(FileStarted(identity, job.work.pages))
            else:
                total = max(job.work.pages, tick.pages)
                self.on_event(PageDone(identity, tick.pages, total))

    def _finish(self, outcome: Outcome, flight: _Flight, journal: Journal) -> FileResult:
        """Publish the outputs, then journal the result: never one without the other."""
        job = flight.job
        result = replace(outcome.result, source=job.source)
        if flight.notes:
            result = replace(result, notes=(*flight.notes, *result.notes))
        try:
            if result.reason == DiskFullError.reason:
                raise DiskFullError(result.message or "No space left on the device.")
            if outcome.pdf is not None and outcome.txt is not None:
                try:
                    self._publish(
                        journal,
                        flight.row,
                        [(outcome.txt, job.txt), (outcome.pdf, job.pdf)],
                        result,
                    )
                except OSError as exc:
                    if exc.errno == errno.ENOSPC:
                        raise disk_full(exc) from exc
                    if self._staging is not None and not self._staging.exists():
                        raise self._outdir_gone() from exc
                    remedy = "Check the permissions of the output folder."
                    if exc.errno == errno.ENAMETOOLONG:
                        remedy = "Rename the input, or choose an output folder nearer the root."
                    result = FileResult(
                        result.input,
                        "failed",
                        "write_error",
                        f"Cannot write the output ({exc.strerror or exc}). {remedy}",
                        seconds=result.seconds,
                        source=job.source,
                    )
        except DiskFullError as exc:
            # Left as "running" in the journal: the next run does it again.
            self._emit(
                FileResult(
                    result.input,
                    "failed",
                    exc.reason,
                    exc.message,
                    seconds=result.seconds,
                    source=job.source,
                )
            )
            raise
        finally:
            _discard(outcome)
        journal.finished(
            flight.row,
            result.status,
            result.reason,
            result.message,
            result.pages,
            result.ocr_pages,
            result.quality.dumps() if result.quality else None,
            result.made_by,
        )
        if result.status == "converted":
            self._index_document(job.pdf, job.txt, job.identity)
        if result.status == "failed" and self.failed_dir is not None:
            result = self._keep_failed(result, flight, journal, self.failed_dir)
        return self._emit(result)

    def _publish(
        self,
        journal: Journal,
        row: int,
        copies: list[tuple[Artifact, Path]],
        result: FileResult,
        *,
        expect: dict[Path, Digest] | None = None,
        pending: Pending | None = None,
    ) -> None:
        """The one way outputs reach their final paths, conversions and copies alike:
        staged whole (and hashed), journalled ``publishing`` with what each output will
        be, renamed into place. A kill -9 anywhere is settled by the next run
        (``Journal.settle``): the outputs in place as journalled, or the input redone."""
        with staged(copies, self._staging, expect) as ready:
            journal.publishing(
                row,
                ready.published,
                result.pages,
                result.ocr_pages,
                result.quality.dumps() if result.quality else None,
                result.made_by,
                pending,
            )
            commit(ready, self._staging)

    def _reuse(self, reused: Reused, journal: Journal) -> FileResult:
        """Hand earlier outputs on to this input: copied (their bytes checked against what
        was published as they are copied: ``OutputChanged``), or moved where the rename is
        evident, through the journal's ``publishing`` state either way."""
        job, twin, result = reused.job, reused.twin, reused.result
        assert twin.output is not None and twin.sidecar is not None
        old = {job.txt: Path(twin.sidecar), job.pdf: Path(twin.output)}  # sidecar first
        # What the row says of its outputs while they are published: the twin's, whose
        # they are (a kill before ``finished`` leaves it so).
        twin_result = replace(
            result,
            pages=twin.pages,
            ocr_pages=twin.ocr_pages,
            quality=Quality.loads(twin.quality) if twin.quality else None,
            made_by=twin.made_by,
        )
        try:
            job.pdf.parent.mkdir(parents=True, exist_ok=True)
            if reused.moved_from is None:
                self._publish(
                    journal,
                    reused.row,
                    [(old[job.txt], job.txt), (old[job.pdf], job.pdf)],
                    twin_result,
                    expect=reused.published,
                    pending=Pending("reused"),
                )
            else:  # the input was renamed or moved: its outputs follow it
                published = {new: reused.published[src] for new, src in old.items()}
                moves = {str(new): str(src) for new, src in old.items()}
                journal.publishing(
                    reused.row,
                    published,
                    twin.pages,
                    twin.ocr_pages,
                    twin.quality,
                    twin.made_by,
                    Pending("reused", moves, twin.id),
                )
                for new, src in old.items():
                    src.replace(new)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise disk_full(exc) from exc
            raise OutputChanged(Path(exc.filename or job.pdf)) from exc
        journal.finished(
            reused.row,
            "reused",
            None,
            None,
            twin.pages,
            twin.ocr_pages,
            twin.quality,
            twin.made_by,
        )
        if reused.moved_from is not None:
            journal.retire(twin.id, "moved", f"now {job.identity}")
        return result

    def _outdir_gone(self) -> LocationError:
        """OUTDIR (or its .scan2pdf folder) was deleted under the run: its journal went
        with it, so going on would fail every later file and book nothing. The run stops;
        what was not converted is still where it was (a service puts its claims back)."""
        return LocationError(
            f"The output folder '{self.outdir}' was deleted (or moved) while this run was "
            "writing it, with its journal.",
            "Run the same command again: it makes a new output folder and converts what "
            "is not in it yet.",
        )

    def _index_document(
        self, pdf: Path, txt: Path, identity: str, moved_from: Path | None = None
    ) -> None:
        """The search index follows every published document (the one place that writes it
        during a run; ``open_for_run`` brings it in step with the journal at the start)."""
        if self._index is None:
            return
        folder = folder_of(pdf, self.outdir)
        if moved_from is not None:
            self._index.move(moved_from, pdf, txt, identity, folder)
            return
        text = read_sidecar(txt)
        if text is not None:
            self._index.add(pdf, txt, identity, folder, text)

    def _keep_failed(
        self, result: FileResult, flight: _Flight, journal: Journal, failed_dir: Path
    ) -> FileResult:
        job = flight.job
        entry = journal.entry(flight.row)  # not latest(identity): a re-drop may share it
        try:
            rel = job.pdf.parent.relative_to(self.outdir)
        except ValueError:
            rel = Path()
        try:
            keep_failed_input(result, job.source, rel, failed_dir, entry.attempts if entry else 1)
        except OSError as exc:
            # Even a full disk there: the failure is still in the report and the journal,
            # and the batch goes on (if OUTDIR's disk is the full one, publishing says so).
            note = f"could not be copied to --failed ({exc.strerror or exc})"
            return replace(result, notes=(*result.notes, note))
        return result


def _discard(outcome: Outcome) -> None:
    if outcome.scratch is not None:
        shutil.rmtree(outcome.scratch, ignore_errors=True)
