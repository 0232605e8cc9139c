"""One prepared PDF through ``ocrmypdf.ocr()``, with OCRmyPDF's exceptions mapped to reasons.

Relies on OCRmyPDF 17.x's Python API (checked against 17.13.0): ``mode=`` for
skip/redo/force, ``use_threads=``, ``progress_bar=`` (our bar: worker/progress.py) and
``ocr_engine=`` (its null engine).
``ocr()`` runs one document per call and keeps process-global state (plugins, Pillow's
pixel limit), which is why every concurrent file has its own worker process.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import ocrmypdf
import pikepdf
from ocrmypdf import exceptions as ox
from PIL import Image

from scan2pdf.core.options import Options
from scan2pdf.core.workload import largest_image_pixels
from scan2pdf.errors import (
    CorruptInputError,
    EncryptedInputError,
    MissingDependencyError,
    OcrError,
    SignedInputError,
    TooLargeError,
    first_line,
)
from scan2pdf.worker import pageslots, progress, rasterize

# qpdf names the file it failed on, a temporary one of OCRmyPDF's: not for the report.
_SCRATCH_PATH = re.compile(r"^\S+\.pdf: ")


def run_ocr(
    source_pdf: Path, output_pdf: Path, sidecar: Path, options: Options, jobs: int, pages: int
) -> list[str]:
    """OCR ``source_pdf`` into ``output_pdf`` and OCRmyPDF's own ``sidecar``; return notes
    for the report.

    ``jobs``: how many of its ``pages`` may run at once, each in a slot of the pool's
    budget (``worker/pageslots.py``). A page pool of processes forked from this warm
    worker for documents of several pages (their Python work between Tesseract runs then
    overlaps without the GIL: measured 7% faster on a 48-page PDF, 2026-12-02), threads
    for one page (no fork for nothing).
    """
    extra: dict[str, Any] = dict(options.ocrmypdf_extra)
    notes: list[str] = []
    if "max_ocr_image_mpixels" not in extra:
        cap = ocr_resolution_cap(source_pdf, options.max_ocr_dpi)
        if cap is not None:
            extra["max_ocr_image_mpixels"], finest = cap
            notes.append(
                f"OCRed at {options.max_ocr_dpi} dpi from a {finest} dpi scan "
                "(--max-ocr-dpi); the PDF keeps the scan as it is"
            )
    try:
        ocrmypdf.ocr(
            source_pdf,
            output_pdf,
            language=list(options.languages),
            sidecar=sidecar,
            jobs=jobs,
            use_threads=pages <= 1 or jobs <= 1,
            # Our PageTicker (worker/progress.py) is the bar: it draws nothing.
            progress_bar=True,
            mode=options.existing_text,
            output_type=options.output_type,
            rotate_pages=options.rotate_pages,
            deskew=options.deskew,
            clean=options.clean,
            optimize=options.optimize,
            pdf_renderer=options.renderer,
            ocr_engine=options.ocr_engine,
            max_image_mpixels=options.max_image_mpixels,
            invalidate_digital_signatures=options.invalidate_signatures,
            plugins=[rasterize.__name__, progress.__name__, pageslots.__name__],
            **extra,
        )
    except Image.DecompressionBombError as exc:
        raise TooLargeError(f"An image in the PDF is over the pixel budget ({exc}).") from exc
    except ox.EncryptedPdfError as exc:
        raise EncryptedInputError("The PDF is encrypted.") from exc
    except ox.DigitalSignatureError as exc:
        raise SignedInputError("The PDF carries a digital signature.") from exc
    except ox.MissingDependencyError as exc:
        raise MissingDependencyError(first_line(exc)) from exc
    except (ox.SubprocessOutputError, ox.TesseractConfigError) as exc:
        raise OcrError(f"OCR failed: {first_line(exc)}") from exc
    except pikepdf.PdfError as exc:
        # qpdf opened the input in preflight but fails on what OCRmyPDF makes of it: damage
        # that repair only hid (a PDF cut short, say).
        why = _SCRATCH_PATH.sub("", first_line(exc))
        raise CorruptInputError(f"The PDF is damaged ({why}).") from exc
    except ox.InputFileError as exc:
        raise CorruptInputError(f"OCRmyPDF cannot read this file ({first_line(exc)}).") from exc
    except ox.ExitCodeException as exc:
        # Everything else OCRmyPDF raises deliberately is about this input or its output.
        raise OcrError(f"OCRmyPDF stopped: {first_line(exc)}") from exc
    return notes


def ocr_resolution_cap(pdf_path: Path, max_dpi: int) -> tuple[float, int] | None:
    """OCRmyPDF's ``max_ocr_image_mpixels`` that keeps the OCR image of every page at or
    under ``max_dpi``, and the finest page's dpi; None when no page is finer.

    OCRmyPDF 17.11+ caps the OCR image in megapixels and downsamples only the copy
    Tesseract reads (``_pipeline.create_ocr_image``). One cap per file: the largest page
    at ``max_dpi`` (a smaller page in the same file may then be read a little finer).
    """
    finest, largest = 0.0, 0.0
    with pikepdf.open(pdf_path) as pdf:
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
