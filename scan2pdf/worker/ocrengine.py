"""An OCRmyPDF plugin: its own Tesseract engine, which also says how each page read.

OCRmyPDF 17.x (checked against 17.13.0) asks the ``get_ocr_engine`` hook (firstresult) for
the engine of every page; this one is OCRmyPDF's ``TesseractOcrEngine`` unchanged, except
that it lists the installed languages only when they change, and that after Tesseract has
read a page it keeps a record of the reading: word count, mean word confidence (from the
TSV Tesseract writes in the same run when ``tsv`` is among its config files: ``run_ocr``
adds it) and, when asked, which way up the page is (``worker/orientation.py``), decided on
the very image Tesseract read.

The records go to the folder given to ``ocr()`` as ``scan2pdf_pages=`` (OCRmyPDF keeps
keywords it does not know in ``options.extra_attrs`` and sends them to its page workers,
threads or processes alike), one JSON file per page: ``<page>.json``. OCRmyPDF names a
page's files ``<6-digit page number>_<name>`` in its work folder (``PageContext.get_path``);
that is where the page number comes from. With another naming nothing is recorded, and
the file converts as it would without this plugin.

With the sandwich renderer (the default) pages are read by a Tesseract kept loaded in the
worker (``worker/loaded.py``) where that is the program's own library, and so is the
upright check's detector; hOCR (the fpdf2 renderer), OCRmyPDF's own ``--rotate-pages``
and the upright check's four-way sample still run the program.

A page found turned is read again in its own task (issue 34): the page executor
(``worker/pageslots.py``) runs the page's task once more, with the turn as its orientation
correction, as OCRmyPDF's own ``--rotate-pages`` would have made it: this engine's
``get_orientation`` answers with the turn decided, so OCRmyPDF rasterises the page turned,
reads it, lays the text over it and sets its /Rotate, and with --deskew or --clean-final
makes the page's new image turned too. Before, turned pages went through a second
``ocr()`` over the whole file, which repeated its rasterising, PDF/A pass and checks on
one core and doubled the time of a volume with a few sideways pages.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ocrmypdf import hookimpl
from ocrmypdf.builtin_plugins.tesseract_ocr import TesseractOcrEngine
from ocrmypdf.pluginspec import OrientationConfidence

from scan2pdf.core.tools import current_languages
from scan2pdf.worker import loaded
from scan2pdf.worker.orientation import Reading, Turn, decide, read_tsv

# The ocr() keywords this plugin reads.
PAGES_KEYWORD = "scan2pdf_pages"
UPRIGHT_KEYWORD = "scan2pdf_upright"
_PAGE_FILE = re.compile(r"^(\d{6})_")


@dataclass(frozen=True, slots=True)
class PageRecord:
    """How one page read, and the turn decided for it when it was checked."""

    page: int
    reading: Reading
    turn: Turn | None = None


def read_records(folder: Path) -> dict[int, PageRecord]:
    """The records the engine left in ``folder``, by 1-based page number."""
    records: dict[int, PageRecord] = {}
    for path in folder.glob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        turn = Turn(**data["turn"]) if data["turn"] else None
        records[data["page"]] = PageRecord(data["page"], Reading(**data["reading"]), turn)
    return records


class _Page(threading.local):
    """What the page task running on this thread decided about its turn: the engine runs
    inside the task, on the task's own thread (OCRmyPDF 17.13, threads or processes)."""

    # A turn found needed in this run of the task, not yet made.
    decided: Turn | None = None
    # While the task runs again to make ``turn``: the correction to answer with.
    making: tuple[int, Turn] | None = None


_PAGE = _Page()


def making_turn() -> bool:
    """Whether the page task on this thread runs again to make a turn already decided."""
    return _PAGE.making is not None


def run_page(task: Callable[..., Any], *args: Any) -> Any:
    """Run one of OCRmyPDF's parallel tasks; a page task whose page was found turned runs
    again with that turn as its orientation correction, and its second result stands.

    OCRmyPDF 17.13's page task (``_exec_page_sync``) takes the page's ``PageContext`` and
    returns a ``PageResult`` carrying ``orientation_correction``; its orientation is asked
    of the engine (``get_orientation``) only with ``rotate_pages``, which the second run
    sets on a copy of the page's options. A turn of ``a`` degrees clockwise on a page read
    with correction ``c`` is correction ``c - a`` (the grafter subtracts it from /Rotate).
    """
    _PAGE.decided, _PAGE.making = None, None
    result = task(*args)
    turn, _PAGE.decided = _PAGE.decided, None
    if turn is None or not args or not hasattr(result, "orientation_correction"):
        return result
    context = copy.copy(args[0])
    context.options = context.options.model_copy(
        update={"rotate_pages": True, "rotate_pages_threshold": 0.0}
    )
    _PAGE.making = ((result.orientation_correction - turn.angle) % 360, turn)
    try:
        return task(context, *args[1:])
    finally:
        _PAGE.making = None


class RecordingTesseract(TesseractOcrEngine):
    @staticmethod
    def languages(options: Any) -> set[str]:
        # OCRmyPDF 17.13's engine runs `tesseract --list-langs` in every ocr() call, to
        # check -l: about 25 ms of CPU, a tenth of what a one-line page costs to read. A
        # warm worker reads it again only when the tessdata folder changes.
        return set(current_languages())

    @staticmethod
    def get_orientation(input_file: Path, options: Any) -> OrientationConfidence:
        if _PAGE.making is not None:  # the page's task runs again to make its turn
            return OrientationConfidence(angle=_PAGE.making[0], confidence=100.0)
        return TesseractOcrEngine.get_orientation(input_file, options)  # type: ignore[no-untyped-call, no-any-return]

    @staticmethod
    def generate_pdf(input_file: Path, output_pdf: Path, output_text: Path, options: Any) -> None:
        # A Tesseract kept loaded in this worker where it is the program's own
        # (worker/loaded.py); else, and for what it leaves to the program, the program.
        if not loaded.read_page(Path(input_file), Path(output_pdf), Path(output_text), options):
            TesseractOcrEngine.generate_pdf(input_file, output_pdf, output_text, options)  # type: ignore[no-untyped-call]
        _record(Path(input_file), Path(output_pdf).with_suffix(".tsv"), options)

    @staticmethod
    def generate_hocr(input_file: Path, output_hocr: Path, output_text: Path, options: Any) -> None:
        TesseractOcrEngine.generate_hocr(input_file, output_hocr, output_text, options)  # type: ignore[no-untyped-call]
        _record(Path(input_file), Path(output_hocr).with_suffix(".tsv"), options)


def _record(image: Path, tsv: Path, options: Any) -> None:
    """Keep how the page read; when in doubt, check which way up it is, and leave a turn
    found needed for ``run_page`` to make."""
    folder = getattr(options, PAGES_KEYWORD, None)
    page = _PAGE_FILE.match(tsv.name)
    if not folder or page is None or not tsv.exists():
        return  # a page Tesseract skipped (too large, timed out) writes no TSV
    reading = read_tsv(tsv)
    turn: Turn | None = None
    if _PAGE.making is not None:
        turn = _PAGE.making[1]  # read turned: this reading is the page's
    elif getattr(options, UPRIGHT_KEYWORD, False) and reading.doubtful():
        timeout = float(options.tesseract.non_ocr_timeout or 180)
        turn = decide(image, list(options.languages), reading, timeout)
        if turn.angle:
            _PAGE.decided = turn
    number = int(page.group(1))
    record = asdict(PageRecord(number, reading, turn))  # nested: reading, turn or None
    (Path(folder) / f"{number}.json").write_text(json.dumps(record), encoding="utf-8")


@hookimpl(tryfirst=True)
def get_ocr_engine(options: Any) -> RecordingTesseract | None:
    """Ours when Tesseract is the engine; None hands other engines (the null one) on."""
    if options is not None and getattr(options, "ocr_engine", "auto") not in ("auto", "tesseract"):
        return None
    return RecordingTesseract()
