"""Make an input acceptable to OCRmyPDF, or say precisely why it cannot be.

The output of preflight is always a PDF: the untouched input PDF, or one made in the
job's scratch folder. So the engine has one kind of input, and inputs are only ever read.

- Images: see ``images.py`` (DPI, alpha, EXIF orientation, CMYK, 16-bit, frames, size).
- A folder of page images (``--group-pages``): each page as an image, then joined in
  order with pikepdf into one PDF. A page that fails fails the document, named.
- PDFs are opened with pikepdf (qpdf), which repairs what can be repaired (a broken xref
  table, say) and classifies what OCRmyPDF would otherwise fail on later: damage beyond
  repair, a password. A PDF that is encrypted but opens without a password is decrypted
  into scratch, since OCRmyPDF refuses every encrypted input. A damaged PDF that qpdf
  had to reconstruct is rewritten into scratch, so OCRmyPDF starts from the repaired file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pikepdf

from scan2pdf.core.options import Options
from scan2pdf.errors import (
    CorruptInputError,
    DynamicXfaError,
    EncryptedInputError,
    Scan2PdfError,
    UnreadableInputError,
    first_line,
)
from scan2pdf.worker.images import image_to_pdf
from scan2pdf.worker.stretched import Stretch, unstretch


@dataclass
class Prepared:
    """A PDF ready for OCRmyPDF, plus what preflight did to get there."""

    pdf: Path
    pages: int
    notes: list[str] = field(default_factory=list)
    # 1-based page -> the image OCR reads in its place (worker/images.py, ImagePdf).
    ocr_twins: dict[int, Path] = field(default_factory=dict)
    # 0-based page -> its own box, for pages OCRed squared (worker/stretched.py).
    stretches: dict[int, Stretch] = field(default_factory=dict)


def prepare(
    source: Path, kind: str, options: Options, scratch: Path, parts: tuple[Path, ...] = ()
) -> Prepared:
    if kind == "pdf":
        return _squared(_prepare_pdf(source, scratch), scratch)
    if kind == "pages":
        return _prepare_pages(parts, options, scratch)
    target = scratch / "image.pdf"
    made = image_to_pdf(source, target, options.image_dpi, options.max_image_mpixels)
    return Prepared(target, made.pages, made.notes, made.ocr_twins)


def _squared(prepared: Prepared, scratch: Path) -> Prepared:
    """The PDF with its stretched scans squared for OCR (scaled back after it)."""
    squared = scratch / "squared.pdf"
    stretches = unstretch(prepared.pdf, squared)
    if not stretches:
        return prepared
    pages = ", ".join(str(index + 1) for index in sorted(stretches))
    prepared.notes.append(
        f"the scan of page(s) {pages} is stretched over its page (different resolutions "
        "across and down): OCRed with square pixels, then scaled back"
    )
    return Prepared(squared, prepared.pages, prepared.notes, stretches=stretches)


def _prepare_pages(parts: tuple[Path, ...], options: Options, scratch: Path) -> Prepared:
    joined = pikepdf.new()
    notes: list[str] = []
    twins: dict[int, Path] = {}
    for number, page in enumerate(parts, 1):
        target = scratch / f"page-{number:05d}.pdf"
        try:
            made = image_to_pdf(page, target, options.image_dpi, options.max_image_mpixels)
        except Scan2PdfError as exc:
            raise type(exc)(f"Page {number} ({page.name}): {exc.detail}", exc.remedy) from exc
        except Exception as exc:  # what a decoder raises about the page's bytes
            raise CorruptInputError(
                f"Page {number} ({page.name}) cannot be decoded ({first_line(exc)})."
            ) from exc
        notes.extend(f"{page.name}: {note}" for note in made.notes)
        if 1 in made.ocr_twins:  # each page image is one page
            twins[number] = made.ocr_twins[1]
        with pikepdf.open(target) as single:
            joined.pages.extend(single.pages)
        target.unlink()
    pdf = scratch / "pages.pdf"
    joined.save(pdf)
    return Prepared(pdf, len(joined.pages), notes, twins)


def _prepare_pdf(source: Path, scratch: Path) -> Prepared:
    try:
        pdf = pikepdf.open(source)
    except pikepdf.PasswordError as exc:
        raise EncryptedInputError("The PDF is encrypted with a password.") from exc
    except pikepdf.PdfError as exc:
        # pikepdf prefixes its message with the path, which the report already names.
        why = first_line(exc).removeprefix(f"{source}: ")
        raise CorruptInputError(f"The PDF cannot be read ({why}).") from exc
    except OSError as exc:
        raise UnreadableInputError(f"The file cannot be read ({exc.strerror}).") from exc
    with pdf:
        try:
            pages = len(pdf.pages)
        except pikepdf.PdfError as exc:
            raise CorruptInputError(f"The PDF's page tree is broken ({first_line(exc)}).") from exc
        if pages == 0:
            raise CorruptInputError("The PDF has no pages.")
        # The same test OCRmyPDF makes (pdfinfo.needs_rendering), made before it starts.
        if pdf.Root.get("/NeedsRendering", False):
            raise DynamicXfaError("The PDF is a dynamic XFA form.")
        notes: list[str] = []
        if pdf.is_encrypted:
            notes.append("encryption removed (no password was needed to open it)")
        # qpdf warns while it reconstructs a damaged file (a broken xref table, say).
        repaired = bool(pdf.get_warnings())
        if pdf.is_encrypted or repaired:
            if not pdf.is_encrypted:
                noun = "page" if pages == 1 else "pages"
                notes.append(f"damaged PDF repaired ({pages} {noun} found in it)")
            rewritten = scratch / "preflight.pdf"
            try:
                pdf.save(rewritten)  # without encryption=: an unencrypted, rebuilt copy
            except pikepdf.PdfError as exc:
                raise CorruptInputError(f"The PDF cannot be rebuilt ({first_line(exc)}).") from exc
            return Prepared(rewritten, pages, notes)
    return Prepared(source, pages, notes)
