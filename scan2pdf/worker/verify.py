"""Verify an output with an independent parser before it may be published."""

from __future__ import annotations

from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import PyPdfError

from scan2pdf.errors import InvalidOutputError


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
