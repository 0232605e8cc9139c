"""One prepared PDF through ``ocrmypdf.ocr()``, with OCRmyPDF's exceptions mapped to reasons.

Relies on OCRmyPDF 17.x's Python API (checked against 17.13.0): ``mode=`` for
skip/redo/force, ``use_threads=``, ``progress_bar=`` (our bar: worker/progress.py) and
``ocr_engine=`` (its null engine).
``ocr()`` runs one document per call and keeps process-global state (plugins, Pillow's
pixel limit), which is why every concurrent file has its own worker process.
"""

from __future__ import annotations

import re
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ocrmypdf
import pikepdf
from ocrmypdf import exceptions as ox
from ocrmypdf.helpers import check_pdf
from ocrmypdf.pdfa import find_nonembedded_fonts
from PIL import Image

from scan2pdf.core.options import Options
from scan2pdf.core.workload import largest_image_pixels
from scan2pdf.errors import (
    CorruptInputError,
    EncryptedInputError,
    InvalidOutputError,
    MissingDependencyError,
    OcrError,
    Scan2PdfError,
    SignedInputError,
    TooLargeError,
    first_line,
)
from scan2pdf.worker import ocrengine, pageslots, progress, rasterize
from scan2pdf.worker.ocrengine import (
    PAGES_KEYWORD,
    UPRIGHT_KEYWORD,
    PageRecord,
    read_records,
)
from scan2pdf.worker.rasterize import TWINS_KEYWORD
from scan2pdf.worker.verify import pages_unlike

# qpdf names the file it failed on, a temporary one of OCRmyPDF's: not for the report.
_SCRATCH_PATH = re.compile(r"^\S+\.pdf: ")
# Pillow's DecompressionBombError: "Image size (N pixels) exceeds limit of M pixels..."
_BOMB_SIZE = re.compile(r"Image size \((\d+) pixels\)")


@dataclass
class OcrRun:
    """What the OCR of one file left besides its PDF and sidecar."""

    notes: list[str] = field(default_factory=list)
    # How each OCRed page read (1-based), as the engine recorded it (worker/ocrengine.py).
    pages: dict[int, PageRecord] = field(default_factory=dict)


def run_ocr(
    source_pdf: Path,
    output_pdf: Path,
    sidecar: Path,
    options: Options,
    jobs: int,
    pages: int,
    ocr_twins: dict[int, Path] | None = None,
) -> OcrRun:
    """OCR ``source_pdf`` into ``output_pdf`` and OCRmyPDF's own ``sidecar``.

    ``jobs``: how many of its ``pages`` may run at once, each in a slot of the pool's
    budget (``worker/pageslots.py``). A page pool of processes forked from this warm
    worker for documents of several pages (their Python work between Tesseract runs then
    overlaps without the GIL: measured 7% faster on a 48-page PDF, 2026-12-02), threads
    for one page (no fork for nothing).

    ``ocr_twins``: pages whose OCR image is another image (``worker/images.py``), handed
    to the rasteriser plugin (``worker/rasterize.py``).

    Pages found turned (``worker/orientation.py``) are turned and read again in their own
    page task (``worker/ocrengine.py``): the file's pipeline runs once.
    """
    extra: dict[str, Any] = dict(options.ocrmypdf_extra)
    run = OcrRun()
    with pikepdf.open(source_pdf) as source:
        choices = document_choices(options, source)
    if choices.ocr_mpixels is not None:
        extra["max_ocr_image_mpixels"] = choices.ocr_mpixels
    run.notes += choices.notes
    records = output_pdf.parent / "pages"
    records.mkdir(exist_ok=True)
    # "tsv": Tesseract's own config file that makes it write word confidences beside
    # the text layer, in the same run (the engine reads them).
    extra["tesseract_config"] = [*extra.get("tesseract_config", ()), "tsv"]
    extra[PAGES_KEYWORD] = str(records)
    if ocr_twins:
        extra[TWINS_KEYWORD] = {str(n): str(path) for n, path in ocr_twins.items()}
    run.notes += _ocr(
        source_pdf,
        output_pdf,
        sidecar,
        mode=options.existing_text,
        rotate_pages=options.rotate_pages,
        # Our PageTicker (worker/progress.py) is the bar: it draws nothing.
        progress_bar=True,
        **{UPRIGHT_KEYWORD: options.upright},
        **{
            "language": list(options.languages),
            "jobs": jobs,
            "use_threads": pages <= 1 or jobs <= 1,
            "output_type": options.output_type,
            "deskew": options.deskew,
            "clean": options.clean,
            "optimize": options.optimize,
            "pdf_renderer": choices.renderer,
            "ocr_engine": options.ocr_engine,
            "max_image_mpixels": options.max_image_mpixels,
            "invalidate_digital_signatures": options.invalidate_signatures,
            "plugins": [
                rasterize.__name__,
                progress.__name__,
                pageslots.__name__,
                ocrengine.__name__,
            ],
            **extra,
        },
    )
    run.pages = read_records(records)
    turns = {n: r.turn for n, r in run.pages.items() if r.turn is not None}
    run.notes += [
        f"page {n} turned {t.angle}° to read upright: {t.how}"
        if t.angle
        else f"page {n} reads poorly but was left as it is: {t.how}"
        for n, t in sorted(turns.items())
    ]
    return run


@dataclass(frozen=True, slots=True)
class DocumentChoices:
    """What ``run_ocr`` decides over a whole document before OCR; a cluster's page ranges
    (``worker/ranges.py``) are given the whole document's, so every range decides alike."""

    renderer: str
    # OCRmyPDF's max_ocr_image_mpixels for --max-ocr-dpi; None: not capped (or asked).
    ocr_mpixels: float | None
    notes: list[str]


def document_choices(options: Options, source: pikepdf.Pdf) -> DocumentChoices:
    """The renderer and the OCR resolution cap for the document ``source``, with the note
    the cap makes. One opening of the source for both questions."""
    asked = "max_ocr_image_mpixels" in dict(options.ocrmypdf_extra)
    cap = None if asked else ocr_resolution_cap(source, options.max_ocr_dpi)
    if cap is None:
        return DocumentChoices(_renderer(options, source), None, [])
    mpixels, finest = cap
    note = (
        f"OCRed at {options.max_ocr_dpi} dpi from a {finest} dpi scan "
        "(--max-ocr-dpi); the PDF keeps the scan as it is"
    )
    return DocumentChoices(_renderer(options, source), mpixels, [note])


def _renderer(options: Options, source: pikepdf.Pdf) -> str:
    """``options.renderer``, but fpdf2 for a PDF with fonts it does not embed.

    The sandwich renderer grafts a text layer with its embedded glyphless font on every
    page OCRed, even one where nothing was read. OCRmyPDF 17.13.0's PDF/A pass lets
    Ghostscript subset fonts only when the PDF embeds none
    (``builtin_plugins/ghostscript._check_font_embedding``), so that one empty layer
    made Ghostscript embed its Helvetica in full: a born-digital letter with a blank
    page came out 52 kB against OCRmyPDF's 7 kB (measured 2026-12-02). fpdf2 draws no
    font on a page without text.
    """
    renderer = options.renderer
    if options.pdf_renderer != "auto" or renderer != "sandwich" or options.output_type == "pdf":
        return renderer
    return "fpdf2" if find_nonembedded_fonts(source) else renderer


def _ocr(source: Path, output: Path, sidecar: Path, **kwargs: Any) -> list[str]:
    """``ocrmypdf.ocr()`` with what it raises about the input mapped to our reasons.

    Returns notes. OCRmyPDF 17.13.0 ends by checking the PDF it has written
    (``ocrmypdf.helpers.check_pdf``: pikepdf decodes every image), and pikepdf cannot
    decode every image OCRmyPDF writes: a bilevel (JBIG2 or CCITT) image in a DeviceN
    colour space raises ``HifiPrintImageNotTranscodableError`` or ``NotImplementedError``
    there, after a good searchable PDF is in place. Such an output is looked at with
    PDFium instead (``verify.pages_unlike``) and published with a note if every page
    looks like its source.
    """
    try:
        ocrmypdf.ocr(source, output, sidecar=sidecar, **kwargs)
    except Exception as exc:
        if _raised_checking_output(exc) and output.exists():
            return [_looked_at_instead(source, output, exc)]
        reason = _reason_for(exc, kwargs["max_image_mpixels"])
        if reason is None:
            raise
        raise reason from exc
    return []


def _raised_checking_output(exc: BaseException) -> bool:
    """Whether ``exc`` came out of OCRmyPDF's check of the output it had finished."""
    return any(
        frame.f_code is check_pdf.__code__ for frame, _ in traceback.walk_tb(exc.__traceback__)
    )


def _looked_at_instead(source: Path, output: Path, exc: BaseException) -> str:
    unlike = pages_unlike(source, output)
    # The type only: pikepdf's messages quote object addresses (and are often empty).
    what = type(exc).__name__
    if unlike:
        raise InvalidOutputError(
            f"OCRmyPDF could not check its output ({what}), and page(s) "
            f"{', '.join(map(str, unlike))} of it do not look like the input.",
            "Run it again with -v and --output-type pdf and report the output.",
        ) from exc
    return (
        "OCRmyPDF's own check of the finished PDF stopped on an image pikepdf cannot "
        f"decode ({what}); PDFium drew every page of it like the input's, so it is published"
    )


def _reason_for(exc: Exception, budget: float) -> Scan2PdfError | None:
    """Our reason for what ``ocrmypdf.ocr()`` raised; None for what we did not foresee."""
    if isinstance(exc, Image.DecompressionBombError):
        return TooLargeError(_bomb_message(exc, budget))
    if isinstance(exc, ox.EncryptedPdfError):
        return EncryptedInputError("The PDF is encrypted.")
    if isinstance(exc, ox.DigitalSignatureError):
        return SignedInputError("The PDF carries a digital signature.")
    if isinstance(exc, ox.MissingDependencyError):
        return MissingDependencyError(_said(exc))
    if isinstance(exc, (ox.SubprocessOutputError, ox.TesseractConfigError)):
        return OcrError(f"OCR failed: {_said(exc)}")
    if isinstance(exc, pikepdf.PdfError):
        # qpdf opened the input in preflight but fails on what OCRmyPDF makes of it: damage
        # that repair only hid (a PDF cut short, say).
        return CorruptInputError(f"The PDF is damaged ({_SCRATCH_PATH.sub('', _said(exc))}).")
    if isinstance(exc, ox.InputFileError):
        return CorruptInputError(f"OCRmyPDF cannot read this file ({_said(exc)}).")
    if isinstance(exc, ox.ExitCodeException):
        # Everything else OCRmyPDF raises deliberately is about this input or its output.
        return OcrError(f"OCRmyPDF stopped: {_said(exc)}")
    return None


# OCRmyPDF 17.13's messages advise its own flags; scan2pdf's spell them otherwise.
_THEIR_FLAGS = {
    "--force-ocr": "--existing-text force",
    "--skip-text": "--existing-text skip",
    "--redo-ocr": "--existing-text redo",
}
_THEIR_FLAG = re.compile("|".join(map(re.escape, _THEIR_FLAGS)))


def _said(exc: Exception) -> str:
    """The first line of what OCRmyPDF said, with its flags in scan2pdf's words."""
    return _THEIR_FLAG.sub(lambda found: _THEIR_FLAGS[found.group()], first_line(exc))


def _bomb_message(exc: Exception, budget: float) -> str:
    """Pillow's refusal in our words: its message quotes its own limit (twice the budget
    it was given), which is neither --max-image-mpixels nor anything the user set."""
    found = _BOMB_SIZE.search(str(exc))
    size = f" has {int(found.group(1)) / 1e6:,.0f} megapixels," if found else " is"
    return f"An image in the PDF{size} more than the budget of {budget:g} megapixels."


def ocr_resolution_cap(pdf: pikepdf.Pdf, max_dpi: int) -> tuple[float, int] | None:
    """OCRmyPDF's ``max_ocr_image_mpixels`` that keeps the OCR image of every page at or
    under ``max_dpi``, and the finest page's dpi; None when no page is finer.

    OCRmyPDF 17.11+ caps the OCR image in megapixels and downsamples only the copy
    Tesseract reads (``_pipeline.create_ocr_image``). One cap per file: the largest page
    at ``max_dpi`` (a smaller page in the same file may then be read a little finer).
    """
    finest, largest = 0.0, 0.0
    for page in pdf.pages:
        box = page.mediabox
        inches = abs(float(box[2]) - float(box[0])) * abs(float(box[3]) - float(box[1]))
        inches /= 72.0 * 72.0
        if inches <= 0:
            continue
        largest = max(largest, inches)
        finest = max(finest, (largest_image_pixels(page) / inches) ** 0.5)
    if finest <= max_dpi * 1.01 or largest <= 0:  # 1%: a page box rounded to points
        return None
    return largest * max_dpi * max_dpi / 1e6, round(finest)
