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
from contextlib import contextmanager
from typing import NoReturn

import click

from scan2pdf.cli.display import Display
from scan2pdf.core.report import FileResult, Report
from scan2pdf.core.stopping import EARLY, stop_on_signals
from scan2pdf.errors import ExitCode, Scan2PdfError

# What a command runs: given the totals to fill, a per-file callback and the stop event.
Work = Callable[[Report, Callable[[FileResult], None], threading.Event], object]


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


def run_batch(work: Work, quiet: bool, verbose: int) -> NoReturn:
    """Run a batch with progress on stderr; exit with the code its report (or error) says."""
    report = Report()
    stop = threading.Event()
    with stop_on_signals(stop), Display(-1 if quiet else verbose) as display:
        if EARLY.is_set():  # SIGTERM or Ctrl-C while the command was starting
            stop.set()

        def summary_so_far() -> None:
            if report.total:  # files were processed before it stopped (disk full, say)
                display.summary(report)

        try:
            with errors_handled(verbose, summary_so_far):
                try:
                    work(report, display.file_done, stop)
                except KeyboardInterrupt:
                    report.interrupted = True
                    raise
        except _Exit as exit_:
            if report.interrupted:
                display.summary(report)
            sys.exit(int(exit_.code))
        if stop.is_set():  # a stop that came while nothing was running
            report.interrupted = True
        display.summary(report)
    sys.exit(int(report.exit_code()))


def run_plain(action: Callable[[], None], verbose: int = 0) -> None:
    """A command without a batch (status, doctor): errors handled the same way."""
    try:
        with errors_handled(verbose):
            action()
    except _Exit as exit_:
        sys.exit(int(exit_.code))
