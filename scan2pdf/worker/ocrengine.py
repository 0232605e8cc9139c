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
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ocrmypdf import hookimpl
from ocrmypdf.builtin_plugins.tesseract_ocr import TesseractOcrEngine

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


class RecordingTesseract(TesseractOcrEngine):
    @staticmethod
    def languages(options: Any) -> set[str]:
        # OCRmyPDF 17.13's engine runs `tesseract --list-langs` in every ocr() call, to
        # check -l: about 25 ms of CPU, a tenth of what a one-line page costs to read. A
        # warm worker reads it again only when the tessdata folder changes.
        return set(current_languages())

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
    folder = getattr(options, PAGES_KEYWORD, None)
    page = _PAGE_FILE.match(tsv.name)
    if not folder or page is None or not tsv.exists():
        return  # a page Tesseract skipped (too large, timed out) writes no TSV
    reading = read_tsv(tsv)
    turn: Turn | None = None
    if getattr(options, UPRIGHT_KEYWORD, False) and reading.doubtful():
        timeout = float(options.tesseract.non_ocr_timeout or 180)
        turn = decide(image, list(options.languages), reading, timeout)
    number = int(page.group(1))
    record = asdict(PageRecord(number, reading, turn))  # nested: reading, turn or None
    (Path(folder) / f"{number}.json").write_text(json.dumps(record), encoding="utf-8")


@hookimpl(tryfirst=True)
def get_ocr_engine(options: Any) -> RecordingTesseract | None:
    """Ours when Tesseract is the engine; None hands other engines (the null one) on."""
    if options is not None and getattr(options, "ocr_engine", "auto") not in ("auto", "tesseract"):
        return None
    return RecordingTesseract()
