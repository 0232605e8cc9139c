"""What a person watching a run sees, all on stderr (stdout stays clean for pipes).

On a terminal: a rich progress bar with files and pages. In a pipe or a log: one line per
finished file. ``-q`` leaves only failures; ``-v`` adds what preflight changed and, for
failures, the details (tool output, traceback).
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from scan2pdf.core.report import FileResult, Report


class Display:
    def __init__(self, verbosity: int, console: Console | None = None) -> None:
        self.verbosity = verbosity  # -1 quiet, 0 normal, 1+ verbose
        self.console = console or Console(stderr=True, highlight=False, soft_wrap=True)
        self._bar: Progress | None = None
        self._files = self._pages = TaskID(0)

    def __enter__(self) -> Display:
        if self.console.is_terminal and self.verbosity >= 0:
            self._bar = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(bar_width=None),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self._bar.start()
            # Totals are unknown while discovery streams; the bars count what is done.
            self._files = self._bar.add_task("files", total=None)
            self._pages = self._bar.add_task("pages", total=None)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

    def file_done(self, result: FileResult) -> None:
        if self._bar is not None:
            self._bar.advance(self._files)
            self._bar.advance(self._pages, result.pages or 0)
        if result.status == "failed" or self.verbosity >= 0:
            self.console.print(escape(describe(result)))
        if self.verbosity >= 1:
            for note in result.notes:
                self.console.print(escape(f"    note: {note}"))
            if result.detail and result.status == "failed":
                self.console.print(escape(result.detail), style="dim")

    def summary(self, report: Report) -> None:
        if self.verbosity >= 0 or report.failed:
            self.console.print(escape(report.summary()))


def describe(result: FileResult) -> str:
    """One line per file: status, input, and the output or the reason and remedy."""
    if result.status == "converted":
        return (
            f"converted  {shown(result.input)} -> {shown(result.output)} "
            f"({result.pages} pages, {result.ocr_pages} OCRed, {result.seconds:.1f} s)"
        )
    return f"{result.status:<10} {shown(result.input)}: {result.reason}: {result.message}"


def shown(path: Path | None) -> str:
    """A path as a person reads it: relative to the working directory when inside it.

    Reports and the journal keep absolute identities; a line on a terminal need not.
    """
    if path is None:
        return "-"
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
