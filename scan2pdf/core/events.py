"""Progress events: what a program or a display hears while a run goes on.

A ``Pipeline`` (and every API call and command built on it) calls its ``on_event`` with:

- ``FileStarted`` when a worker starts converting an input (inputs that need no
  conversion - up to date, unsupported - go straight to ``FileFinished``);
- ``PageDone`` each time one more of its pages is OCRed;
- ``FileFinished`` with the input's ``FileResult``, once per input, in the order results
  arrive.

Callbacks run on the thread that runs the pipeline (the API's async calls run it in a
worker thread: use ``loop.call_soon_threadsafe`` there, or the ``progress=`` callback of
``scan2pdf.aconvert`` and friends, which does that for you).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from scan2pdf.core.report import FileResult


@dataclass(frozen=True, slots=True)
class FileStarted:
    input: Path
    # Pages guessed from the file's headers (a PDF's page count, an image's frames).
    pages: int


@dataclass(frozen=True, slots=True)
class PageDone:
    input: Path
    # Pages of this input done so far, and the guess of its total.
    done: int
    pages: int


@dataclass(frozen=True, slots=True)
class FileFinished:
    result: FileResult

    @property
    def input(self) -> Path:
        return self.result.input


Event = FileStarted | PageDone | FileFinished
EventCallback = Callable[[Event], None]
