"""The batch conversion: the library core behind ``scan2pdf convert`` and ``retry``.

The coordinator (this process) discovers inputs, decides with the journal what needs
work, hands jobs to the scheduler, publishes what workers finished, records it, and
reports every input once. It is the only writer of OUTDIR and of the journal.
"""

from __future__ import annotations

import asyncio
import errno
import itertools
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import replace
from pathlib import Path

from scan2pdf.discover import Job, discover, sniff
from scan2pdf.errors import DiskFullError, UnreadableInputError, UsageError
from scan2pdf.failures import keep_failed_input
from scan2pdf.journal import Entry, Journal, Seen, content_hash, default_path, usable
from scan2pdf.options import Options
from scan2pdf.output import is_up_to_date, publish_pair
from scan2pdf.report import FileResult, Outcome, Report, failed
from scan2pdf.scheduler import Scheduler, cpu_budget
from scan2pdf.scratch import new_scratch
from scan2pdf.tools import check_environment

ResultCallback = Callable[[FileResult], None]

UNSUPPORTED_MESSAGE = "Not a PDF or an image that Pillow can open, so there is nothing to convert."
UP_TO_DATE_MESSAGE = "Already converted from this content with these options; --force redoes it."


def convert(
    inputs: Sequence[Path | str],
    outdir: Path | str,
    options: Options | None = None,
    *,
    report: Report | None = None,
    report_path: Path | None = None,
    on_result: ResultCallback | None = None,
    journal_path: Path | None = None,
    failed_dir: Path | None = None,
) -> Report:
    """Convert files and folder trees into ``outdir``; return the batch's ``Report``.

    Raises UsageError or MissingDependencyError before any work starts, and DiskFullError
    when the disk fills (the run stops; nothing partial is left; running it again
    continues). On Ctrl-C (KeyboardInterrupt) every worker is stopped, nothing partial is
    left at an output path, ``report.interrupted`` is set and the KeyboardInterrupt
    propagates; pass your own ``report`` to read the totals afterwards.
    """
    options = options or Options()
    out = Path(outdir)
    check_environment(options)
    jobs = discover([Path(p) for p in inputs], out)  # check_layout runs on the first next()
    batch = _Batch(out, options, report, report_path, on_result, journal_path, failed_dir)
    return batch.run(jobs)


def retry(
    outdir: Path | str,
    *,
    reason: str | None = None,
    jobs: int | None = None,
    report: Report | None = None,
    report_path: Path | None = None,
    on_result: ResultCallback | None = None,
    journal_path: Path | None = None,
    failed_dir: Path | None = None,
) -> Report:
    """Convert again the inputs the journal lists as failed, with the options they had."""
    out = Path(outdir)
    path = journal_path or default_path(out)
    journal = Journal.open_existing(path)
    if journal is None:
        raise UsageError(f"There is no journal at '{path}'.", "Run scan2pdf convert first.")
    with closing(journal):
        entries = journal.entries(status="failed", reason=reason)
        groups: dict[str, list[Job]] = {}
        for index, entry in enumerate(entries):
            source = Path(entry.source)
            if entry.fingerprint and entry.output and entry.sidecar:
                job = Job(source, sniff(source), Path(entry.output), Path(entry.sidecar), index)
                groups.setdefault(entry.fingerprint, []).append(job)
        settings = {fp: journal.options_for(fp) or {} for fp in groups}
    report = report if report is not None else Report()
    for fingerprint, group in groups.items():
        options = Options.from_dict(settings[fingerprint], force=True, jobs=jobs)
        check_environment(options)
        batch = _Batch(out, options, report, report_path, on_result, path, failed_dir)
        batch.run(iter(group))
        report_path = None  # one report file for all groups: opened once, appended after
    return report


async def convert_async(
    inputs: Sequence[Path | str],
    outdir: Path | str,
    options: Options | None = None,
    *,
    report_path: Path | None = None,
    on_result: ResultCallback | None = None,
) -> Report:
    """``convert`` for asyncio programs: the batch runs in a thread, the loop stays free.

    ``on_result`` is called from that thread; use ``loop.call_soon_threadsafe`` in it to
    touch loop-owned state.
    """
    return await asyncio.to_thread(
        convert, inputs, outdir, options, report_path=report_path, on_result=on_result
    )


class _Batch:
    """One run over a stream of jobs into one output folder."""

    def __init__(
        self,
        outdir: Path,
        options: Options,
        report: Report | None,
        report_path: Path | None,
        on_result: ResultCallback | None,
        journal_path: Path | None,
        failed_dir: Path | None,
        trust_mtimes: bool = True,
        shown_as: Callable[[Path], Path] | None = None,
    ) -> None:
        self.outdir = outdir
        # Without a journal record, outputs newer than their input count as done (output
        # folders from before the journal). Not in watch: a dropped file may carry an old
        # mtime (cp -p, unzip) and still be new.
        self.trust_mtimes = trust_mtimes
        # How reports name an input (watch: where it was dropped, not where it was claimed).
        self.shown_as = shown_as
        self.options = options
        self.fingerprint = options.fingerprint()
        self.report = report if report is not None else Report()
        self.report_path = report_path
        self.on_result = on_result
        self.journal_path = journal_path or default_path(outdir)
        self.failed_dir = failed_dir
        self.staging: Path | None = None  # OUTDIR/.scan2pdf/staging/<run>, made by run()

    def run(self, jobs: Iterator[Job | None], peek: bool = True) -> Report:
        """Convert what ``jobs`` yields (None: nothing right now, ask again).

        With ``peek``, the first job is fetched before anything is written, so that a
        layout error or an empty input leaves no journal behind.
        """
        report = self.report
        started = time.monotonic()
        scratch = new_scratch()
        journal: Journal | None = None
        try:
            # Built first: it starts the forkserver (unless launch.py already did), which
            # imports OCRmyPDF while we discover.
            scheduler = Scheduler(self.options.jobs or cpu_budget(), scratch)
            if peek:
                first = next(jobs, None)
                if first is None:
                    return report
                jobs = itertools.chain((first,), jobs)
            if self.report_path is not None:
                report.open_sink(self.report_path, append=report.total > 0)
            self.staging = new_scratch(under=self.outdir / ".scan2pdf" / "staging")
            journal = Journal(self.journal_path)
            journal.remember_options(self.fingerprint, self.options.to_dict())
            todo = self._triage(jobs, journal)
            with closing(scheduler.run(todo, self.options)) as outcomes:
                for outcome in outcomes:
                    self._finish(outcome, journal)
        except KeyboardInterrupt:
            report.interrupted = True
            raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
            if self.staging is not None:
                shutil.rmtree(self.staging, ignore_errors=True)
            report.seconds += time.monotonic() - started
            report.close()
            if journal is not None:
                journal.close()
        return report

    def _emit(self, result: FileResult) -> None:
        if self.shown_as is not None:
            result = replace(result, input=self.shown_as(result.input))
        self.report.add(result)
        if self.on_result is not None:
            self.on_result(result)

    def _triage(self, jobs: Iterable[Job | None], journal: Journal) -> Iterator[Job | None]:
        """Report at once what needs no OCR; record and pass on the rest."""
        for job in jobs:
            if job is None:
                yield None  # the feed has nothing right now
                continue
            if job.kind == "unsupported":
                self._emit(FileResult(job.source, "skipped", "unsupported", UNSUPPORTED_MESSAGE))
                continue
            if job.kind == "unreadable":
                self._emit(failed(job, UnreadableInputError("The file cannot be read.")))
                continue
            try:
                seen = Seen.of(job.source)
                if not self.options.force and self._done(job, seen, journal):
                    continue
                content = content_hash(job.source)
            except OSError:
                self._emit(failed(job, UnreadableInputError("The file cannot be read.")))
                continue
            if not self.options.force and self._reused(job, seen, content, journal):
                continue
            journal.started(job.source, seen, content, self.fingerprint, job.pdf, job.txt)
            yield job

    def _done(self, job: Job, seen: Seen, journal: Journal) -> bool:
        """Converted before from this very file (cheap check: size, mtime, inode)."""
        entry = journal.lookup(job.source)
        if entry is None:
            done = self.trust_mtimes and is_up_to_date(job.source, job.pdf, job.txt)
        else:
            done = (
                entry.status in ("converted", "reused")
                and entry.seen == seen
                and entry.fingerprint == self.fingerprint
                and entry.output == str(job.pdf)
                and usable(entry.output)
                and usable(entry.sidecar)
            )
        if done:
            self._emit(_up_to_date(job))
        return done

    def _reused(self, job: Job, seen: Seen, content: str, journal: Journal) -> bool:
        """Same content and options converted before, here or under another name."""
        twin = journal.converted_twin(content, self.fingerprint)
        if twin is None or not (usable(twin.output) and usable(twin.sidecar)):
            return False
        assert twin.output is not None and twin.sidecar is not None
        old_pdf, old_txt = Path(twin.output), Path(twin.sidecar)
        if twin.source == str(job.source) and old_pdf == job.pdf:
            journal.seen_again(job.source, seen)  # touched, not changed
            self._emit(_up_to_date(job))
            return True
        moved = not Path(twin.source).exists()
        try:
            if moved:  # the input was renamed or moved: its outputs follow it
                job.pdf.parent.mkdir(parents=True, exist_ok=True)
                old_txt.replace(job.txt)
                old_pdf.replace(job.pdf)
            else:  # a second copy of the same scan: a second copy of its outputs
                publish_pair(old_pdf, old_txt, job.pdf, job.txt, self.staging)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise _disk_full(exc) from exc
            return False  # could not reuse: convert it instead
        journal.started(job.source, seen, content, self.fingerprint, job.pdf, job.txt)
        journal.finished(job.source, "reused", None, None, twin.pages, twin.ocr_pages)
        if moved:
            journal.finished(Path(twin.source), "moved", None, f"now {job.source}")
        how = "moved" if moved else "copied"
        self._emit(
            FileResult(
                job.source,
                "converted",
                output=job.pdf,
                sidecar=job.txt,
                pages=twin.pages,
                ocr_pages=0,
                notes=(
                    f"same content as {twin.source}, converted before: "
                    f"its outputs were {how}, not OCRed again",
                ),
            )
        )
        return True

    def _finish(self, outcome: Outcome, journal: Journal) -> None:
        result = outcome.result
        try:
            if result.reason == DiskFullError.reason:
                raise DiskFullError(result.message or "No space left on the device.")
            if outcome.pdf is not None and outcome.txt is not None:
                assert result.output is not None and result.sidecar is not None
                try:
                    publish_pair(
                        outcome.pdf, outcome.txt, result.output, result.sidecar, self.staging
                    )
                except OSError as exc:
                    if exc.errno == errno.ENOSPC:
                        raise _disk_full(exc) from exc
                    result = FileResult(
                        result.input,
                        "failed",
                        "write_error",
                        f"Cannot write the output ({exc.strerror or exc}). "
                        "Check the permissions of the output folder.",
                        seconds=result.seconds,
                    )
        except DiskFullError as exc:
            # Left as "running" in the journal: the next run does it again.
            self._emit(
                FileResult(result.input, "failed", exc.reason, exc.message, seconds=result.seconds)
            )
            raise
        finally:
            if outcome.scratch is not None:
                shutil.rmtree(outcome.scratch, ignore_errors=True)
        journal.finished(
            result.input,
            result.status,
            result.reason,
            result.message,
            result.pages,
            result.ocr_pages,
        )
        if result.status == "failed" and self.failed_dir is not None:
            entry = journal.lookup(result.input)
            keep_failed_input(
                result, self._relative(entry), self.failed_dir, entry.attempts if entry else 1
            )
        self._emit(result)

    def _relative(self, entry: Entry | None) -> Path:
        """Where the input sits in the mirrored tree: its output folder, relative to OUTDIR."""
        if entry is not None and entry.output:
            try:
                return Path(entry.output).parent.relative_to(self.outdir)
            except ValueError:
                pass
        return Path()


def _up_to_date(job: Job) -> FileResult:
    return FileResult(job.source, "skipped", "up_to_date", UP_TO_DATE_MESSAGE, job.pdf, job.txt)


def _disk_full(exc: OSError) -> DiskFullError:
    where = f" ({exc.filename})" if exc.filename else ""
    return DiskFullError(f"No space left on the device{where}.")
