"""What a person watching a run sees, all on stderr (stdout stays clean for pipes).

On a terminal: rich progress bars for files and pages, with totals as soon as the
background count (``core/counting.py``) has them, an ETA from the pages per second, and
the files in flight. In a pipe or a log: one line per finished file. ``-q`` leaves only
failures; ``-v`` adds what preflight changed and, for failures, the details (tool
output, traceback). ``--progress json`` is ``cli/progress.py``.
"""

from __future__ import annotations

import os
import threading
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
    TimeRemainingColumn,
)

from scan2pdf.core.counting import Totals
from scan2pdf.core.events import Event, FileFinished, FileStarted, PageDone
from scan2pdf.core.report import FileResult, Report

# The verbosity that prints nothing at all (JSON progress has stderr to itself).
SILENT = -2
# Files named on the "now" line; more are counted, not named.
_SHOWN_IN_FLIGHT = 3


class Display:
    def __init__(
        self,
        verbosity: int,
        console: Console | None = None,
        bar: bool = True,
        roots: tuple[Path, ...] = (),
    ) -> None:
        self.verbosity = verbosity  # SILENT, -1 quiet, 0 normal, 1+ verbose
        self.roots = roots
        self.console = console or Console(stderr=True, highlight=False, soft_wrap=True)
        self.want_bar = bar
        self._bar: Progress | None = None
        self._files = self._pages = self._now = TaskID(0)
        # Pages shown per input in flight (page events), so a finished file adds the rest.
        self._flying: dict[Path, tuple[int, int]] = {}
        self._lock = threading.Lock()  # totals arrive from the counting thread

    def __enter__(self) -> Display:
        if self.want_bar and self.console.is_terminal and self.verbosity >= 0:
            self._bar = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(bar_width=None),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=self.console,
                transient=True,
            )
            self._bar.start()
            # Totals come from the background count (``totals``); until then "?".
            self._files = self._bar.add_task("files", total=None)
            self._pages = self._bar.add_task("pages", total=None)
            self._now = self._bar.add_task("", total=None, visible=False)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

    @property
    def shows_totals(self) -> bool:
        """Whether totals are drawn (a bar on a terminal); lines in a log have none."""
        return self._bar is not None

    def totals(self, totals: Totals) -> None:
        """The background count's numbers (a floor until ``complete``)."""
        if self._bar is not None and totals.complete:
            self._bar.update(self._files, total=totals.files)
            self._bar.update(self._pages, total=totals.pages)

    def on_event(self, event: Event) -> None:
        if isinstance(event, FileFinished):
            self.file_done(event.result)
            return
        if self._bar is None:
            return
        with self._lock:
            if isinstance(event, FileStarted):
                self._flying[event.input] = (0, event.pages)
            elif isinstance(event, PageDone):
                shown_pages, _ = self._flying.get(event.input, (0, 0))
                self._bar.advance(self._pages, event.done - shown_pages)
                self._flying[event.input] = (event.done, event.pages)
            self._show_in_flight()

    def file_done(self, result: FileResult) -> None:
        if self._bar is not None:
            with self._lock:
                shown_pages, _ = self._flying.pop(result.input, (0, 0))
                self._bar.advance(self._files)
                self._bar.advance(self._pages, max(0, (result.pages or 0) - shown_pages))
                self._show_in_flight()
        if self.verbosity == SILENT:
            return
        if result.status == "failed" or self.verbosity >= 0:
            self.console.print(escape(describe(result, self.roots)))
        if self.verbosity >= 1:
            for note in result.notes:
                self.console.print(escape(f"    note: {note}"))
            if result.detail and result.status == "failed":
                self.console.print(escape(result.detail), style="dim")

    def _show_in_flight(self) -> None:
        assert self._bar is not None
        names = [
            f"{path.name} {done}/{pages}" if pages > 1 else path.name
            for path, (done, pages) in list(self._flying.items())[:_SHOWN_IN_FLIGHT]
        ]
        more = len(self._flying) - len(names)
        if more > 0:
            names.append(f"+{more}")
        text = "now: " + ", ".join(names) if names else ""
        self._bar.update(self._now, description=escape(text), visible=bool(names))

    def summary(self, report: Report) -> None:
        if self.verbosity >= 0 or (report.failed and self.verbosity != SILENT):
            self.console.print(escape(report.summary()))


def describe(result: FileResult, roots: tuple[Path, ...] = ()) -> str:
    """One line per file: status, input, and the output or the reason and remedy.

    Always one line, whatever the file is called: a name is the archive's, and a newline
    in it would forge a line of its own, an escape sequence restyle the terminal, a bidi
    override show the name backwards (``printable``)."""
    source = shown(result.input, roots)
    if result.status == "converted":
        pages = f"{result.pages} page{'' if result.pages == 1 else 's'}"
        line = (
            f"converted  {source} -> {shown(result.output)} "
            f"({pages}, {result.ocr_pages} OCRed, {result.seconds:.1f} s)"
        )
    else:
        line = f"{result.status:<10} {source}: {result.reason}: {result.message}"
    return printable(line)


# C0 and C1 controls, DEL, and the bidirectional overrides and isolates.
_UNPRINTABLE = {
    code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    for code in (*range(0x20), *range(0x7F, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A))
}


def printable(text: str) -> str:
    """``text`` with what a terminal would act on instead of show written as escapes (a
    newline as ``\\x0a``), so it is shown as one plain line."""
    return text.translate(_UNPRINTABLE)


def shown(path: Path | None, roots: tuple[Path, ...] = ()) -> str:
    """A path as a person reads it: relative to the working directory when inside it,
    else to the folder holding the INPUT it came from (``scans/box1/a.tif``).

    Reports and the journal keep absolute identities; a line on a terminal need not.
    """
    if path is None:
        return "-"
    for base in (Path.cwd(), *(Path(os.path.abspath(root)).parent for root in roots)):
        if path.is_relative_to(base):
            return str(path.relative_to(base))
    return str(path)
