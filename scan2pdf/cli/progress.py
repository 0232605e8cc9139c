"""``--progress json``: one JSON object per line for wrappers and GUIs.

Schema version 1 (``"v": 1`` in every object; a field may be added without a new
version, a field changed or removed gets one). ``"t"`` is seconds since the run started.

- ``{"event": "run_started", "files": N|null, "pages": N|null}``: totals known so far
  (null: still counting);
- ``{"event": "totals", "files": N, "pages": N}``: once the background count is done;
- ``{"event": "file_started", "input": PATH, "pages": N}``: a worker took it (N guessed
  from its headers);
- ``{"event": "page_done", "input": PATH, "done": K, "pages": N}``;
- ``{"event": "file_finished", ...}``: the input's report fields (DESIGN.md, report
  format: input, output, sidecar, status, reason, message, pages, ocr_pages, seconds,
  notes);
- ``{"event": "summary", "converted": N, "skipped": N, "failed": N, "pages": N,
  "seconds": S, "interrupted": BOOL, "exit_code": N}``: last, however the run ends.

Written to stderr, or to the file given with ``--progress-file``; each line is flushed
as it is written.
"""

from __future__ import annotations

import json
import threading
import time
from typing import IO, Any

from scan2pdf.core.counting import Totals
from scan2pdf.core.events import Event, FileFinished, FileStarted, PageDone
from scan2pdf.core.report import Report

SCHEMA_VERSION = 1
# --progress: auto (a bar on a terminal, else a line per file), lines, json.
PROGRESS_MODES = ("auto", "lines", "json")


class JsonProgress:
    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.started = time.monotonic()
        self._lock = threading.Lock()  # totals arrive from the counting thread

    def write(self, event: str, **fields: Any) -> None:
        line = {"v": SCHEMA_VERSION, "event": event, "t": round(self._now(), 3), **fields}
        with self._lock:
            self.stream.write(json.dumps(line, ensure_ascii=False) + "\n")
            self.stream.flush()

    def run_started(self) -> None:
        # The count has only just started: totals follow in a "totals" event.
        self.write("run_started", files=None, pages=None)

    def totals(self, totals: Totals) -> None:
        if totals.complete:
            self.write("totals", files=totals.files, pages=totals.pages)

    def on_event(self, event: Event) -> None:
        if isinstance(event, FileStarted):
            self.write("file_started", input=str(event.input), pages=event.pages)
        elif isinstance(event, PageDone):
            self.write("page_done", input=str(event.input), done=event.done, pages=event.pages)
        elif isinstance(event, FileFinished):
            self.write("file_finished", **event.result.to_json())

    def summary(self, report: Report, exit_code: int) -> None:
        self.write(
            "summary",
            converted=report.converted,
            skipped=report.skipped,
            failed=report.failed,
            pages=report.pages,
            seconds=round(report.seconds, 3),
            interrupted=report.interrupted,
            exit_code=exit_code,
        )

    def _now(self) -> float:
        return time.monotonic() - self.started
