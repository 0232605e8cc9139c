"""Fast runs of the real engine: OCRmyPDF's null OCR engine instead of Tesseract, and a
scripted event source for the hot folder (watchfiles' mocked notifier is the model).

Everything else is real: discovery, the journal, naming, worker processes, OCRmyPDF's
pipeline, publishing. A page converts in a fraction of a second.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw

from scan2pdf.core.options import Options
from scan2pdf.core.report import FileResult, Report
from scan2pdf.service.watch import Watcher, WatchSettings

NULL_ENGINE = Options(ocr_engine="none", jobs=2)


def scan(path: Path, pages: int = 1, shade: int = 0) -> Path:
    """A small image file of ``pages`` frames; ``shade`` makes its content unique."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = [Image.new("L", (200, 260), 255 - (shade + n) % 200) for n in range(pages)]
    fmt = "TIFF" if path.suffix in (".tif", ".tiff") else None
    if pages > 1:
        frames[0].save(
            path, format=fmt or "TIFF", save_all=True, append_images=frames[1:], dpi=(150, 150)
        )
    else:
        frames[0].save(path, format=fmt, dpi=(150, 150))
    return path


def ten_page_pdf(path: Path) -> bytes:
    """A 10-page PDF as Pillow writes one (its page tree first, listing every page), so a
    copy cut at 30% opens, repaired, as its first 3 pages."""
    pages = []
    for n in range(10):
        page = Image.new("L", (850, 1100), 255)
        ImageDraw.Draw(page).text((100, 100), f"Page {n + 1} of ten", fill=0)
        pages.append(page)
    pages[0].save(path, save_all=True, append_images=pages[1:], resolution=100)
    return path.read_bytes()


@dataclass
class ScriptedWatch:
    """A real ``Watcher`` in a thread, told of files by the test instead of inotify."""

    inbox: Path
    outdir: Path
    options: Options = NULL_ENGINE
    on_conflict: str = "suffix"
    report_path: Path | None = None
    settle: float = 0.0  # no waiting: the scripted drops are whole unless a test says so
    give_up: float = 0.0
    results: queue.SimpleQueue[FileResult] = field(default_factory=queue.SimpleQueue)
    stop: threading.Event = field(default_factory=threading.Event)
    report: Report = field(default_factory=Report)
    _events: queue.SimpleQueue[list[Path]] = field(default_factory=queue.SimpleQueue)
    _thread: threading.Thread | None = None
    error: BaseException | None = None
    problems: list[str] = field(default_factory=list)

    def __enter__(self) -> ScriptedWatch:
        settings = WatchSettings(
            self.inbox,
            self.outdir,
            settle=self.settle,
            give_up=self.give_up,
            rescan=3600,
            on_conflict=self.on_conflict,
        )
        watcher = Watcher(
            settings,
            self.options,
            self.results.put,
            self.report_path,
            self.report,
            stop=self.stop,
            events=self._script,
            on_problem=self.problems.append,
        )

        def serve() -> None:
            try:
                watcher.run()
            except KeyboardInterrupt:
                pass  # how a stop ends a service
            except BaseException as exc:  # shown by the test that waits for results
                self.error = exc

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        assert self._thread is not None
        self._thread.join(60)
        assert not self._thread.is_alive(), "the watcher did not stop"

    def _script(self, inbox: Path, stop: threading.Event) -> Iterator[list[Path]]:
        while not stop.is_set():
            try:
                yield self._events.get(timeout=0.1)
            except queue.Empty:
                yield []

    def ended(self, deadline: float = 60) -> bool:
        """Wait for the watcher to end by itself (an error that stops the service)."""
        assert self._thread is not None
        self._thread.join(deadline)
        return not self._thread.is_alive()

    def drop(self, *paths: Path) -> None:
        """Tell the watcher these files arrived (as inotify would)."""
        self._events.put(list(paths))

    def wait(self, count: int, deadline: float = 60) -> list[FileResult]:
        got = []
        for _ in range(count):
            try:
                got.append(self.results.get(timeout=deadline))
            except queue.Empty:
                raise AssertionError(
                    f"got {len(got)} of {count} results; error: {self.error}"
                ) from None
        return got
