"""The one place where exceptions become messages and exit codes (DESIGN.md, "Exit codes").

Like OCRmyPDF's ``cli_exception_handler``: a ``Scan2PdfError`` prints its message (what is
wrong and what to do) and exits with its code; an OSError that escaped to the top is
about a place the run needs (exit 4); Ctrl-C and SIGTERM exit 130; anything else is a
bug in scan2pdf. A traceback is printed only with ``-v``.
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import click

from scan2pdf.cli.display import SILENT, Display
from scan2pdf.cli.progress import JsonProgress
from scan2pdf.core.counting import Totals
from scan2pdf.core.events import Event, EventCallback
from scan2pdf.core.report import Report
from scan2pdf.core.stopping import EARLY, stop_on_signals
from scan2pdf.errors import ExitCode, Scan2PdfError, location_error

# What a command runs: given the totals to fill, an event callback and the stop event.
Work = Callable[[Report, EventCallback, threading.Event], object]
# Starts the background count of a batch, telling its totals to the callback, until the
# event is set; returns the counting thread.
Count = Callable[[Callable[[Totals], None], threading.Event], threading.Thread]
# How long the end of a run waits for the counting thread to notice it should stop.
_COUNT_JOIN = 10.0


@dataclass(frozen=True)
class ProgressSettings:
    mode: str = "auto"
    # JSON events go here (and the human display stays) when given.
    file: Path | None = None
    # The command's INPUTs: file lines show paths relative to them.
    roots: tuple[Path, ...] = ()


class _Exit(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


@contextmanager
def errors_handled(
    verbose: int, before_message: Callable[[], None] | None = None
) -> Iterator[None]:
    """Map what escapes the block to a message on stderr and an exit code (``_Exit``).

    ``before_message`` runs first, when there is a message (a batch's summary so far).
    """

    def say(text: str, exc: BaseException) -> None:
        if before_message is not None:
            before_message()
        click.echo(text, err=True)
        if verbose:
            click.echo("".join(traceback.format_exception(exc)).rstrip(), err=True)

    try:
        yield
    except _Exit:
        raise
    except KeyboardInterrupt:
        raise _Exit(ExitCode.INTERRUPTED) from None
    except Scan2PdfError as exc:
        say(f"Error: {exc.message}", exc)
        raise _Exit(exc.exit_code) from exc
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        say(
            f"Error: {exc.strerror or exc}{where}. Check that this place exists and that this "
            "user may write there.",
            exc,
        )
        raise _Exit(ExitCode.LOCATION) from exc
    except Exception as exc:
        say(
            f"Error: unexpected {type(exc).__name__}: {exc}. This is a bug in scan2pdf: "
            "run again with -v and report the output.",
            exc,
        )
        raise _Exit(ExitCode.FAILURES) from exc


def run_batch(
    work: Work,
    quiet: bool,
    verbose: int,
    progress: ProgressSettings | None = None,
    count: Count | None = None,
) -> NoReturn:
    """Run a batch with progress on stderr; exit with the code its report (or error) says."""
    settings = progress or ProgressSettings()
    report = Report()
    stop = threading.Event()
    with ExitStack() as stack:
        stack.enter_context(stop_on_signals(stop))
        try:
            with errors_handled(verbose):
                machine = _json_progress(settings, stack)
        except _Exit as exit_:
            sys.exit(int(exit_.code))
        # JSON on stderr replaces the human display there.
        human = machine is None or settings.file is not None
        display = Display(
            SILENT if not human else -1 if quiet else verbose,
            bar=settings.mode == "auto",
            roots=settings.roots,
        )
        stack.enter_context(display)
        if EARLY.is_set():  # SIGTERM or Ctrl-C while the command was starting
            stop.set()

        def on_event(event: Event) -> None:
            display.on_event(event)
            if machine is not None:
                machine.on_event(event)

        def on_totals(totals: Totals) -> None:
            display.totals(totals)
            if machine is not None:
                machine.totals(totals)

        def finish(code: int) -> NoReturn:
            if human:
                display.summary(report)
            if machine is not None:
                machine.summary(report, code)
            sys.exit(code)

        def summary_so_far() -> None:
            if report.total and human:  # files were processed before it stopped (disk full)
                display.summary(report)

        if machine is not None:
            machine.run_started()
        try:
            with errors_handled(verbose, summary_so_far):
                # The count walks the inputs a second time: only when someone reads it.
                if count is not None and (display.shows_totals or machine is not None):
                    counted = threading.Event()
                    counting = count(on_totals, counted)
                    stack.callback(counting.join, _COUNT_JOIN)
                    stack.callback(counted.set)
                try:
                    work(report, on_event, stop)
                except KeyboardInterrupt:
                    report.interrupted = True
                    raise
        except _Exit as exit_:
            if report.interrupted:
                finish(int(exit_.code))
            if machine is not None:
                machine.summary(report, int(exit_.code))
            sys.exit(int(exit_.code))
        if stop.is_set():  # a stop that came while nothing was running
            report.interrupted = True
        finish(int(report.exit_code()))
    raise AssertionError("unreachable")  # sys.exit above; for type checkers


def _json_progress(settings: ProgressSettings, stack: ExitStack) -> JsonProgress | None:
    if settings.file is not None:
        try:
            stream = stack.enter_context(settings.file.open("w", encoding="utf-8"))
        except OSError as exc:
            raise location_error("the progress file (--progress-file)", settings.file, exc) from exc
        return JsonProgress(stream)
    if settings.mode == "json":
        return JsonProgress(sys.stderr)
    return None


def run_plain(action: Callable[[], None], verbose: int = 0) -> None:
    """A command without a batch (status, doctor): errors handled the same way."""
    try:
        with errors_handled(verbose):
            action()
    except _Exit as exit_:
        sys.exit(int(exit_.code))
