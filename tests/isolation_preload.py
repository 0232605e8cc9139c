"""A ``dask worker --preload`` for tests: two files interleaved on one worker, in order.

``probe*`` is a PDF holding an image over the run's pixel budget: OCRmyPDF refuses it
when it opens the page image for OCR (Pillow's guard, ``too_large``). Any other file is
an image; it starts reading its image only once the probe is at that open, and goes on
only once the probe's conversion is over. So the probe's whole OCR runs while another
task of the same worker process is reading an image: what the probe meets then is what
the guard is while tasks interleave.

Every wait is on an event the other task sets; the timeouts only keep a broken run from
hanging the test (its outcomes then say what went wrong).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

import img2pdf
from ocrmypdf._pipelines import _common  # where process_page looks create_ocr_image up

from scan2pdf.worker import preflight, remote

WAIT = 120.0
_AT_OPEN = threading.Event()  # the probe is about to open its page image
_READING = threading.Event()  # the other file is inside its image reading
_PROBE_DONE = threading.Event()
_REAL: dict[str, Callable[..., Any]] = {}  # what each hook stands in front of, by name


def _converting(job: Any, jobs: int) -> Any:
    try:
        return _REAL["convert_file"](job, jobs)
    finally:
        if job.source.name.startswith("probe"):
            _PROBE_DONE.set()


def _opening_for_ocr(image: Any, page_context: Any) -> Any:
    # The probe's call comes first (the other file has not read its image yet); the other
    # file's own page passes straight through: both events are set by then.
    _AT_OPEN.set()
    _READING.wait(WAIT)
    return _REAL["create_ocr_image"](image, page_context)


def _reading_image(*args: Any, **kwargs: Any) -> Any:
    _AT_OPEN.wait(WAIT)
    return _REAL["image_to_pdf"](*args, **kwargs)


def _embedding(*args: Any, **kwargs: Any) -> Any:
    # Called from inside image_to_pdf's reading of the image (its header is open).
    _READING.set()
    _PROBE_DONE.wait(WAIT)
    return _REAL["convert"](*args, **kwargs)


def _hook(module: ModuleType, name: str, hook: Callable[..., Any]) -> None:
    _REAL[name] = getattr(module, name)
    setattr(module, name, hook)


def dask_setup(worker: object) -> None:
    _hook(remote, "convert_file", _converting)
    _hook(_common, "create_ocr_image", _opening_for_ocr)
    _hook(preflight, "image_to_pdf", _reading_image)
    _hook(img2pdf, "convert", _embedding)
