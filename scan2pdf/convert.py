"""The batch conversion: the library core behind ``scan2pdf convert`` and the Python API.

The coordinator (this process) discovers inputs, decides what needs work, hands jobs
to the scheduler, publishes what workers finished and reports every input once.
It is the only writer of OUTDIR.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from scan2pdf.discover import Job, discover
from scan2pdf.errors import UnreadableInputError
from scan2pdf.options import Options
from scan2pdf.output import is_up_to_date, publish_pair
from scan2pdf.report import FileResult, Outcome, Report, failed
from scan2pdf.scheduler import Scheduler, cpu_budget
from scan2pdf.scratch import new_scratch
from scan2pdf.tools import check_environment

ResultCallback = Callable[[FileResult], None]

UNSUPPORTED_MESSAGE = "Not a PDF or an image that Pillow can open; left as it is."
UP_TO_DATE_MESSAGE = "The outputs are newer than the input; use --force to convert again."


def convert(
    inputs: Sequence[Path | str],
    outdir: Path | str,
    options: Options | None = None,
    *,
    report: Report | None = None,
    report_path: Path | None = None,
    on_result: ResultCallback | None = None,
) -> Report:
    """Convert files and folder trees into ``outdir``; return the batch's ``Report``.

    Raises UsageError or MissingDependencyError before any work starts. On Ctrl-C
    (KeyboardInterrupt) every worker is stopped, nothing partial is left at an output
    path, ``report.interrupted`` is set and the KeyboardInterrupt propagates; pass your
    own ``report`` to read the totals afterwards.
    """
    options = options or Options()
    paths = [Path(p) for p in inputs]
    out = Path(outdir)
    check_environment(options)
    jobs = discover(paths, out)  # a generator: check_layout runs on the first next()
    report = report if report is not None else Report()
    if report_path is not None:
        report.open_sink(report_path)
    budget = options.jobs or cpu_budget()

    def emit(result: FileResult) -> None:
        report.add(result)
        if on_result is not None:
            on_result(result)

    started = time.monotonic()
    scratch = new_scratch()
    try:
        # Built first: it starts the forkserver, which imports OCRmyPDF while we discover.
        scheduler = Scheduler(budget, scratch)
        first = next(jobs, None)  # surfaces layout errors before anything else happens
        if first is None:
            return report
        todo = _needs_work(_chain(first, jobs), options, emit)
        for outcome in scheduler.run(todo, options):
            emit(_publish(outcome))
    except KeyboardInterrupt:
        report.interrupted = True
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        report.seconds = time.monotonic() - started
        report.close()
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


def _chain(first: Job, rest: Iterator[Job]) -> Iterator[Job]:
    yield first
    yield from rest


def _needs_work(jobs: Iterator[Job], options: Options, emit: ResultCallback) -> Iterator[Job]:
    """Report inputs that need no OCR at once; pass on the rest."""
    for job in jobs:
        if job.kind == "unsupported":
            emit(FileResult(job.source, "skipped", "unsupported", UNSUPPORTED_MESSAGE))
        elif job.kind == "unreadable":
            emit(failed(job, UnreadableInputError("The file cannot be read.")))
        elif not options.force and is_up_to_date(job.source, job.pdf, job.txt):
            emit(
                FileResult(
                    job.source, "skipped", "up_to_date", UP_TO_DATE_MESSAGE, job.pdf, job.txt
                )
            )
        else:
            yield job


def _publish(outcome: Outcome) -> FileResult:
    result = outcome.result
    if outcome.scratch is None or outcome.pdf is None or outcome.txt is None:
        return result
    try:
        assert result.output is not None and result.sidecar is not None
        publish_pair(outcome.pdf, outcome.txt, result.output, result.sidecar)
        return result
    except OSError as exc:
        return FileResult(
            result.input,
            "failed",
            "write_error",
            f"Cannot write the output ({exc.strerror or exc}). "
            "Check free space and permissions of the output folder.",
            seconds=result.seconds,
        )
    finally:
        shutil.rmtree(outcome.scratch, ignore_errors=True)
