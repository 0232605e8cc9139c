"""How much OCR work an input is, guessed from headers alone, so big work can start first.

Tesseract's time grows with the pixels it reads, so the guess is in megapixels: image
frames from their headers, PDF pages from the largest image on each (not decoded). It only
orders the queue; a wrong guess costs a little idle time in the tail, nothing more.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image, ImageSequence

from scan2pdf.core.jobs import Work

# A page with no images (vector art, or text) is rasterised at roughly this size.
_DEFAULT_PAGE_MPIXELS = 8.4  # Letter at 300 dpi


# Past this size, a PDF is only weighed when its end says where its cross-reference table
# is: without one, qpdf reconstructs it by reading the whole file (45 s for 5 GB), which
# is preflight's job, in a worker under --timeout, not the coordinator's.
_LARGE_PDF = 256 << 20
_TAIL = 4096


def pdf_work(path: Path) -> Work:
    """The work of a PDF, from its page tree and image headers (none decoded)."""
    try:
        if not quick_to_open(path):
            return Work()
        return _pdf(path)
    except Exception:  # damage: preflight will say what is wrong
        return Work()


def quick_to_open(path: Path) -> bool:
    """A PDF qpdf opens without reading all of it: small, or its end points to its xref."""
    if path.stat().st_size <= _LARGE_PDF:
        return True
    with path.open("rb") as stream:
        stream.seek(-_TAIL, 2)
        return b"startxref" in stream.read()


def image_work(image: Image.Image) -> Work:
    """The work of an image already open (its frames' headers are read, not decoded)."""
    try:
        sizes = [f.width * f.height for f in ImageSequence.Iterator(image)]
    except Exception:  # a broken later frame: preflight will say what is wrong
        return Work()
    return Work(len(sizes), sum(sizes) / 1e6)


def _pdf(path: Path) -> Work:
    import pikepdf  # only when there are PDFs to weigh; the coordinator starts lighter

    with pikepdf.open(path) as pdf:
        total = 0.0
        for page in pdf.pages:
            pixels = largest_image_pixels(page)
            total += pixels / 1e6 if pixels else _DEFAULT_PAGE_MPIXELS
        return Work(len(pdf.pages), total)


def largest_image_pixels(page: Any) -> int:
    """Pixels of the largest image a PDF page (a ``pikepdf.Page``) draws; 0 for none.

    The page's own image XObjects, read from its resources: pikepdf 10 deprecates
    Page.images, and its replacement is not in the older releases we support.
    """
    resources: Any = page.obj.get("/Resources") or {}
    xobjects: Any = resources.get("/XObject") or {}
    sizes = [
        int(image.get("/Width", 0)) * int(image.get("/Height", 0))
        for image in (xobjects[key] for key in xobjects.keys())  # noqa: SIM118 - a pikepdf Dictionary
        if image.get("/Subtype") == "/Image"
    ]
    return max(sizes, default=0)
