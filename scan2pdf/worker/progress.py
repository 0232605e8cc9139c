"""An OCRmyPDF plugin that tells the coordinator each time a page is done.

OCRmyPDF 17.x (checked against 17.13.0) reports progress only through the progress-bar
class its ``get_progressbar_class`` hook returns (a firstresult hook: a plugin given to
``ocr(plugins=...)`` is asked before the built-in rich bar). Its page loop
(``_pipelines/ocr.py``, ``exec_concurrent``) opens one bar with ``unit="page"`` and calls
``update(0.5)`` twice per page, from the worker's main thread even when pages run in
a pool. Other bars (scanning contents, PDF/A, checking output) are ignored here.
"""

from __future__ import annotations

import math
from typing import Any

from ocrmypdf import hookimpl

from scan2pdf.execution.workerproc import tell

# The descriptions OCRmyPDF gives its page loop (with Tesseract, with the null engine).
_PAGE_LOOPS = frozenset({"OCR", "Image processing"})


class PageTicker:
    """A ``ocrmypdf.pluginspec.ProgressBar`` that says "page done" instead of drawing."""

    def __init__(
        self,
        *,
        desc: str | None = None,
        unit: str | None = None,
        disable: bool = False,
        **_: Any,
    ) -> None:
        # "Scanning contents" and "PDF/A conversion" count pages too, but are not OCR.
        # disable: ocr(progress_bar=False), the second pass over turned pages, whose
        # pages were already counted once.
        self.pages = unit == "page" and desc in _PAGE_LOOPS and not disable
        self.done = 0.0
        self.told = 0

    def __enter__(self) -> PageTicker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None  # nothing to close; never raises (OCRmyPDF calls it on errors too)

    def update(self, n: float = 1, *, completed: float | None = None) -> None:
        if not self.pages:
            return
        self.done = completed if completed is not None else self.done + n
        # Half-page steps add up in binary floating point exactly; floor is safe.
        whole = math.floor(self.done + 1e-9)
        if whole > self.told:
            self.told = whole
            tell("P", whole)


@hookimpl
def get_progressbar_class() -> type[PageTicker]:
    return PageTicker
