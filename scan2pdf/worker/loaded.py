"""Tesseract loaded once per worker process, instead of one ``tesseract`` command per page.

OCRmyPDF 17.13's Tesseract engine runs the ``tesseract`` program for every page; each run
loads the language model again before it reads a line. On one-page letters that load is
more than half the cost: measured 2026-12-02 on 60 grayscale letters, the program took
279 ms of CPU a page and a loaded ``PyTessBaseAPI`` (tesserocr) 126 ms, with the same
text on 60 of 60. This module keeps loaded readers in the worker and reads pages with
them, writing what the program would have written: the text-only PDF
(``textonly_pdf``), the text, and the TSV the engine keeps its records from.

It is used only where it reads as the program does: tesserocr must be built against the
very libtesseract whose ``tesseract`` program is on PATH (the same version; PyPI's wheel
bundles its own, newer Tesseract, which reads differently and so is not used), and
``SCAN2PDF_TESSERACT=command`` turns it off. Anything it cannot do the way the program
would (no tessdata folder, a page it fails on) is left to the program, which then says
what went wrong in its own words.

Readers are kept per process, not per thread: OCRmyPDF starts a fresh thread pool for
every document. One reader serves one page at a time; as many exist as pages have been
read at once (at most the page slots), per set-up (languages, engine mode, config files,
user words and patterns: what ``Init`` fixes). A process forked from this one (OCRmyPDF's
page pool) makes its own.
"""

from __future__ import annotations

import ctypes
import logging
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from scan2pdf.core.tools import program_version, tessdata_folder

_log = logging.getLogger(__name__)
SWITCH = "SCAN2PDF_TESSERACT"  # "command": always run the tesseract program
_VERSION = re.compile(r"tesseract\s+v?(\d+(?:\.\d+)+)")
# Idle readers kept per process, over all set-ups: a language model is 10-50 MB.
_KEEP = 4
# What Tesseract's TSV renderer writes before the first page (TessTsvRenderer).
TSV_HEADER = (
    "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\t"
    "left\ttop\twidth\theight\tconf\ttext\n"
)


@dataclass(frozen=True, slots=True)
class Detected:
    """What Tesseract's orientation and script detector (``--psm 0 -l osd``) says."""

    angle: int  # degrees the page is turned, as the program prints "Orientation in degrees"
    confidence: float
    script: str  # "Latin", "Han", "Cyrillic", ...
    script_confidence: float


@dataclass(frozen=True, slots=True)
class Setup:
    """What a reader is loaded with; a page needing another set-up needs another reader."""

    tessdata: str
    languages: str
    oem: int | None
    configs: tuple[str, ...]
    user_words: str | None
    user_patterns: str | None


@cache
def available() -> bool:
    """Whether pages can be read here by a loaded Tesseract that is the program's own."""
    if os.environ.get(SWITCH, "").lower() == "command" or os.environ.get("OCRMYPDF_TESSERACT"):
        return False  # asked for the program, or for another program than PATH's
    if os.environ.get("OMP_THREAD_LIMIT") != "1":
        # One thread per reader, as the workers set it (execution/workerproc.py) before
        # anything loads Tesseract's OpenMP: more would break the page budget, and a
        # process forked after OpenMP started its threads (OCRmyPDF's page pool) hangs
        # in its first parallel region (seen 2026-12-02).
        return False
    try:
        import tesserocr
    except ImportError:
        return False
    found = _VERSION.search(tesserocr.tesseract_version())
    same = found is not None and found.group(1) == program_version("tesseract")
    return same and tessdata_folder() is not None  # read the program's own data


def reader() -> str:
    """How this process reads pages: "tesserocr <version>", or "program"."""
    if not available():
        return "program"
    from importlib.metadata import version

    return f"tesserocr {version('tesserocr')}"


def read_page(input_file: Path, output_pdf: Path, output_text: Path, options: Any) -> bool:
    """Read one page image as OCRmyPDF's ``tesseract.generate_pdf`` would; False when it
    is the program's to do (not available here, or a failure it should explain).

    Writes ``output_pdf`` (text only), ``output_text``, and the TSV beside the PDF
    (``<stem>.tsv``). A page that runs out of Tesseract's time is skipped as OCRmyPDF
    skips it: an empty PDF and "[skipped page]".
    """
    tess = options.tesseract
    timeout = float(tess.timeout or 0)
    if not available() or timeout <= 0:
        return False  # a zero timeout skips the page: the program's path does exactly that
    setup = Setup(
        tessdata=_tessdata(),
        languages="+".join(options.languages),
        oem=tess.oem,
        configs=tuple(tess.config or ()),
        user_words=str(tess.user_words) if tess.user_words else None,
        user_patterns=str(tess.user_patterns) if tess.user_patterns else None,
    )
    prefix = output_pdf.parent / output_pdf.stem
    try:
        with _READERS.reader(setup) as api, _named_thread(b"tesseract"):
            api.SetPageSegMode(3 if tess.pagesegmode is None else int(tess.pagesegmode))
            api.SetVariable("thresholding_method", str(int(tess.thresholding)))
            started = time.monotonic()
            read = api.ProcessPages(str(prefix), str(input_file), timeout=int(timeout * 1000))
            took = time.monotonic() - started
            tsv = api.GetTSVText(0) if read else None
    except RuntimeError:  # it could not load (a language pack gone since the check)
        return False
    if read and output_pdf.exists():
        Path(f"{prefix}.txt").replace(output_text)
        output_pdf.with_suffix(".tsv").write_text(TSV_HEADER + (tsv or ""), encoding="utf-8")
        return True
    for leftover in (output_pdf, Path(f"{prefix}.txt")):
        leftover.unlink(missing_ok=True)
    if took >= timeout:
        # What OCRmyPDF 17.13 does when the program runs out of time (its
        # tesseract.page_timedout and use_skip_page): a warning, and the page goes on
        # without text, marked as OCRmyPDF marks it in the sidecar.
        _log.warning("[tesseract] took too long to OCR - skipping")
        output_text.write_text("[skipped page]", encoding="utf-8")
        output_pdf.write_bytes(b"")
        return True
    return False


def detect(image: Path) -> Detected | None:
    """The orientation detector's answer on ``image`` (read from its file, as the program
    reads it: the same numbers, measured against it), or None where it has none (too
    few characters; no osd data). Only where ``available()``.

    A loaded detector costs about 0.12 s of CPU on a letter-sized page against 0.43 s for
    the program (2026-12-02), which loads its model first. It runs to the end: the
    detector takes a fraction of a second on any page OCRmyPDF hands over.
    """
    setup = Setup(_tessdata(), "osd", None, (), None, None)
    try:
        with _READERS.reader(setup) as api, _named_thread(b"tesseract"):
            api.SetPageSegMode(0)  # PSM_OSD_ONLY
            api.SetImageFile(str(image))
            found = api.DetectOrientationScript()
    except RuntimeError:  # no osd.traineddata: the program would say the same
        return None
    if not found:
        return None
    return Detected(
        int(found["orient_deg"]),
        float(found["orient_conf"]),
        str(found["script_name"]),
        float(found["script_conf"]),
    )


def sample_tsv(image: Path, languages: list[str], timeout: float) -> str | None:
    """Tesseract's TSV of ``image`` read in ``languages`` with its default page layout (as
    ``tesseract image out -l ... tsv`` writes it, rows only), or None where it has none
    (its time ran out). Only where ``available()``: the upright check's four-way sample
    reads a handful of small images, for which starting the program and loading its model
    cost more than the reading (measured 2026-12-04: 2.3 s a sample as the program on a
    busy machine, against 0.36 s of reading)."""
    setup = Setup(_tessdata(), "+".join(languages), None, (), None, None)
    try:
        with _READERS.reader(setup) as api, _named_thread(b"tesseract"):
            api.SetPageSegMode(3)  # PSM_AUTO, the program's default
            api.SetImageFile(str(image))
            if not api.Recognize(int(timeout * 1000)):
                return None
            return str(api.GetTSVText(0))
    except RuntimeError:  # a language pack gone since the check: the program says why
        return None


def _tessdata() -> str:
    return f"{tessdata_folder()}{os.sep}"  # Init wants the folder's trailing separator


class _Readers:
    """Idle loaded readers of this process, by set-up."""

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        # A forked child starts with no readers: the parent's copies are left alone (the
        # memory is shared until written), and its locks may have been held by a thread
        # the child does not have.
        self._lock = threading.Lock()
        self._loading = threading.Lock()
        self._idle: list[tuple[Setup, Any]] = []

    @contextmanager
    def reader(self, setup: Setup) -> Iterator[Any]:
        api = self._take(setup)
        try:
            yield api
        finally:
            api.Clear()  # the page's results; the model stays loaded
            self._give(setup, api)

    def _take(self, setup: Setup) -> Any:
        with self._lock:
            for n, (have, api) in enumerate(self._idle):
                if have == setup:
                    del self._idle[n]
                    return api
        import tesserocr

        api = tesserocr.PyTessBaseAPI(init=False)
        variables = {
            # What the program's `pdf txt` outputs and OCRmyPDF's `-c textonly_pdf=1` set.
            "tessedit_create_pdf": "1",
            "tessedit_create_txt": "1",
            "textonly_pdf": "1",
            # Tesseract's messages ("Detected 12 diacritics") would go to the worker's
            # stderr, which is the user's terminal; the program's go to OCRmyPDF's log
            # at debug level.
            "debug_file": os.devnull,
        }
        if setup.user_words:
            variables["user_words_file"] = setup.user_words
        if setup.user_patterns:
            variables["user_patterns_file"] = setup.user_patterns
        # Loading may set parameters Tesseract keeps per process (tesserocr's docs): one
        # load at a time.
        with self._loading:
            api.InitFull(
                path=setup.tessdata,
                lang=setup.languages,
                oem=3 if setup.oem is None else setup.oem,
                configs=list(setup.configs),
                variables=variables,
            )
        return api

    def _give(self, setup: Setup, api: Any) -> None:
        with self._lock:
            self._idle.insert(0, (setup, api))
            dropped = self._idle[_KEEP:]
            del self._idle[_KEEP:]
        for _, old in dropped:
            old.End()


_READERS = _Readers()

_PR_SET_NAME, _PR_GET_NAME = 15, 16


@cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


@contextmanager
def _named_thread(name: bytes) -> Iterator[None]:
    """Name this thread ``name`` while it reads, as the program's process would be named:
    ``top -H``, ``ps -L`` (and the budget tests) see a Tesseract at work."""
    try:
        libc = _libc()
        before = ctypes.create_string_buffer(16)
        libc.prctl(_PR_GET_NAME, before, 0, 0, 0)
        libc.prctl(_PR_SET_NAME, ctypes.c_char_p(name[:15]), 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: nothing to name
        yield
        return
    try:
        yield
    finally:
        with suppress(OSError):
            libc.prctl(_PR_SET_NAME, before, 0, 0, 0)
