"""Verify an output with an independent parser before it may be published."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image, ImageChops
from pypdf import PdfReader
from pypdf.errors import PyPdfError

from scan2pdf.errors import InvalidOutputError

# Share of a page's OCR text that its text layer must carry. The sandwich and fpdf2 text
# layers carry all of it on every corpus page (measured 2026-12-02: 1.000 on each); a
# garbled glyph mapping or a lost layer carries little of it.
CARRIED = 0.9
# Pages with less OCR text than this are not judged (a few specks say nothing).
_JUDGED_CHARS = 20
_SPACE = re.compile(r"\s+")
# How pages are compared by eye (``pages_unlike``): drawn at this resolution in gray, a
# pixel has changed when it differs by more than a quarter of the range, and a page is
# unlike its source when more pixels changed than a quarter of its ink (pixels far from
# its paper), or than 0.2% of a page without ink.
_LOOK_DPI = 50
_CHANGED = 64
_INK_SHARE = 0.25
_BLANK_SHARE = 0.002


def verify_pdf(pdf: Path, expected_pages: int) -> PdfReader:
    """Reopen the output with pypdf (not the library that wrote it) and count pages.

    Returns the reader, so the sidecar reads kept text layers without parsing it again.
    """
    try:
        reader = PdfReader(pdf)
        pages = len(reader.pages)
    except (PyPdfError, OSError, ValueError, KeyError) as exc:
        raise InvalidOutputError(f"The output PDF does not parse ({exc}).") from exc
    if pages != expected_pages:
        raise InvalidOutputError(
            f"The output PDF has {pages} pages but the input has {expected_pages}."
        )
    return reader


def pages_not_carried(pdf: Path, ocr_text: list[str | None]) -> tuple[int, ...]:
    """1-based pages whose text layer, as PDFium extracts it, lacks the OCR's text.

    PDFium (pypdfium2, which OCRmyPDF 17 installs) wrote none of the file, and reads a
    page's layer in about a millisecond; pypdf spent 0.48 s a page parsing the ToUnicode
    map of Tesseract's glyphless font (measured 2026-12-02), more than Tesseract took to
    read a one-line page. Compared as multisets of characters (NFKC, no whitespace, case
    folded), so that the order words come out in does not matter and a page with more
    text than the OCR's (a kept layer under ``redo``) passes: what must not happen is OCR
    text that a search of the PDF cannot find. Linear in the text; no alignment.
    """
    failed = []
    document = pdfium.PdfDocument(str(pdf))
    try:
        for index, ocr in enumerate(ocr_text):
            wanted = _letters(ocr or "")
            total = sum(wanted.values())
            if total < _JUDGED_CHARS:
                continue
            page = document[index]
            textpage = page.get_textpage()
            try:
                found = _letters(textpage.get_text_range())
            finally:
                textpage.close()
                page.close()
            if sum((wanted & found).values()) < CARRIED * total:
                failed.append(index + 1)
    finally:
        document.close()
    return tuple(failed)


def _letters(text: str) -> Counter[str]:
    return Counter(_SPACE.sub("", unicodedata.normalize("NFKC", text)).casefold())


def pages_unlike(source: Path, output: Path) -> tuple[int, ...]:
    """1-based pages of ``output`` that do not look like the same page of ``source``.

    For when OCRmyPDF's own check of the PDF it wrote could not finish (it cannot decode
    every image it writes, ``worker/engine.py``): PDFium draws both, each with its own
    decoders, so a scan lost or damaged on the way shows as a page that looks different.
    A missing or extra page counts as unlike.
    """
    unlike = []
    before, after = pdfium.PdfDocument(str(source)), pdfium.PdfDocument(str(output))
    try:
        for index in range(max(len(before), len(after))):
            missing = index >= len(before) or index >= len(after)
            if missing or _looks_different(_drawn(before, index), _drawn(after, index)):
                unlike.append(index + 1)
    finally:
        before.close()
        after.close()
    return tuple(unlike)


def _drawn(document: pdfium.PdfDocument, index: int) -> Image.Image:
    page = document[index]
    try:
        drawn: Image.Image = page.render(scale=_LOOK_DPI / 72, grayscale=True).to_pil()
        return drawn.convert("L")
    finally:
        page.close()


def _looks_different(source: Image.Image, output: Image.Image) -> bool:
    if source.size != output.size:
        return True
    changed = _count_over(ImageChops.difference(source, output), _CHANGED)
    histogram = source.histogram()
    paper = max(range(256), key=histogram.__getitem__)
    ink = sum(n for level, n in enumerate(histogram) if abs(level - paper) > _CHANGED)
    pixels = source.width * source.height
    return changed > max(_INK_SHARE * ink, _BLANK_SHARE * pixels)


def _count_over(image: Image.Image, level: int) -> int:
    return sum(image.histogram()[level + 1 :])
