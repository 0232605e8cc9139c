"""Verify an output with an independent parser before it may be published."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import PyPdfError

from scan2pdf.errors import InvalidOutputError
from scan2pdf.worker.sidecar import layer_text

# Share of a page's OCR text that its text layer must carry. The sandwich and fpdf2 text
# layers carry all of it on every corpus page (measured 2026-12-02: 1.000 on each); a
# garbled glyph mapping or a lost layer carries little of it.
CARRIED = 0.9
# Pages with less OCR text than this are not judged (a few specks say nothing).
_JUDGED_CHARS = 20
_SPACE = re.compile(r"\s+")


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


def pages_not_carried(reader: PdfReader, ocr_text: list[str | None]) -> tuple[int, ...]:
    """1-based pages whose text layer, as pypdf extracts it, lacks the OCR's text.

    Compared as multisets of characters (NFKC, no whitespace, case folded), so that the
    order words come out in does not matter and a page with more text than the OCR's
    (a kept layer under ``redo``) passes: what must not happen is OCR text that a search
    of the PDF cannot find. Linear in the text; no alignment.
    """
    failed = []
    for index, ocr in enumerate(ocr_text):
        wanted = _letters(ocr or "")
        total = sum(wanted.values())
        if total < _JUDGED_CHARS:
            continue
        found = _letters(layer_text(reader, index))
        if sum((wanted & found).values()) < CARRIED * total:
            failed.append(index + 1)
    return tuple(failed)


def _letters(text: str) -> Counter[str]:
    return Counter(_SPACE.sub("", unicodedata.normalize("NFKC", text)).casefold())
