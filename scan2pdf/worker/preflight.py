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
- A repaired PDF may have pages missing (``_repair``): it was **cut short** when it does
  not end with ``%%EOF`` (its writer had not finished, or a copy was cut: qpdf rebuilds
  only what was written), or pages its page tree lists are gone (qpdf says so as it
  drops them). Then the pages it has are converted, with a note saying what is missing,
  or, with ``Options.refuse_truncated`` (the watch service), it fails as ``truncated``.
  Otherwise it is damaged but whole (a broken xref in a complete file): converted, noted.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import pikepdf

from scan2pdf.core.options import Options
from scan2pdf.errors import (
    CorruptInputError,
    DynamicXfaError,
    EncryptedInputError,
    Scan2PdfError,
    TruncatedPdfError,
    UnreadableInputError,
    first_line,
)
from scan2pdf.worker.images import image_to_pdf
from scan2pdf.worker.stretched import Stretch, unstretch

# How qpdf says, as it opens a damaged file, that a page its page tree lists is not in it
# (qpdf 11 and 12): the object was never written, or is beyond repair. qpdf drops such
# pages from the tree it rebuilds, so its warnings are all that still counts them.
_PAGE_NOT_FOUND = "Pages tree includes non-dictionary object"
_XREF_REBUILT = "reconstruct cross-reference table"
# A finished PDF ends with %%EOF and at most line ends (or the NULs of a preallocated
# file) after it. Strict on purpose: a writer that paused past an earlier %%EOF (an
# incremental update under way) has not finished either.
_EOF = b"%%EOF"
_TAIL = 1024
_AFTER_EOF = b" \t\r\n\x00\x0c"
_STOPS_EARLY = "it stops before its end, as when its writer has not finished or a copy was cut"
_PAGES_GONE = "damaged: pages its page tree lists are not in it"


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
    # What qpdf repaired, in a few words, for the review list (core/quality.py); None for
    # a PDF that opened as it is, and for images.
    repair: str | None = None


def prepare(
    source: Path, kind: str, options: Options, scratch: Path, parts: tuple[Path, ...] = ()
) -> Prepared:
    if kind == "pdf":
        return _squared(_prepare_pdf(source, scratch, options.refuse_truncated), scratch)
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
    return replace(prepared, pdf=squared, stretches=stretches)


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


def _prepare_pdf(source: Path, scratch: Path, refuse_truncated: bool) -> Prepared:
    try:
        pdf = pikepdf.open(source)
    except pikepdf.PasswordError as exc:
        raise EncryptedInputError("The PDF is encrypted with a password.") from exc
    except pikepdf.PdfError as exc:
        # pikepdf prefixes its message with the path, which the report already names.
        why = first_line(exc).removeprefix(f"{source}: ")
        cut = "" if _ends_finished(source) else f"; it is cut short ({_STOPS_EARLY})"
        raise CorruptInputError(f"The PDF cannot be read ({why}){cut}.") from exc
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
        warnings = [str(w) for w in pdf.get_warnings()]
        repair = None
        if warnings:
            repair, note = _repair(source, pdf, warnings, refuse_truncated)
            notes.append(note)
        if pdf.is_encrypted or repair:
            rewritten = scratch / "preflight.pdf"
            try:
                pdf.save(rewritten)  # without encryption=: an unencrypted, rebuilt copy
            except pikepdf.PdfError as exc:
                raise CorruptInputError(f"The PDF cannot be rebuilt ({first_line(exc)}).") from exc
            return Prepared(rewritten, len(pdf.pages), notes, repair=repair)
    return Prepared(source, pages, notes)


def _repair(
    source: Path, pdf: pikepdf.Pdf, warnings: list[str], refuse_truncated: bool
) -> tuple[str, str]:
    """(a few words for the review list, the note) for a PDF qpdf had to repair; pages
    it is missing are cut from ``pdf``, or, with ``refuse_truncated``, TruncatedPdfError.

    Pages missing: those its page tree lists that qpdf did not find and, in a file that
    stops before its end, the pages after the last one whose content is all there (they
    point at objects never written; converted, they would be blank pages).
    """
    what = _what_was_repaired(warnings)
    found = len(pdf.pages)
    listed = found + sum(_PAGE_NOT_FOUND in w for w in warnings)
    ends = _ends_finished(source)
    if ends and listed == found:  # damaged but whole: a broken xref in a complete file
        pages = "1 page" if found == 1 else f"{found} pages"
        return (
            f"damaged PDF repaired ({what})",
            f"damaged PDF repaired by qpdf ({what}): {pages} found in it, none missing",
        )
    kept = found if ends else _whole_pages(pdf)
    if ends:
        label, state, why = "with pages missing", "has pages missing", _PAGES_GONE
    else:
        label, state, why = "cut short", "is cut short", _STOPS_EARLY
    if kept == 0:
        raise CorruptInputError(f"The PDF {state} ({why}), and none of its pages is whole.")
    if listed > kept:
        count = f"{kept} of the {listed} pages it lists"
        gone = listed - kept
        missing = "the other one is missing" if gone == 1 else f"the other {gone} are missing"
    else:  # its page tree is not written yet, or lists only what is here
        count = "1 page" if kept == 1 else f"{kept} pages"
        missing = "pages after them may be missing"
    if refuse_truncated:
        raise TruncatedPdfError(f"The PDF {state} ({why}). {count} could be read; {missing}.")
    del pdf.pages[kept:]
    return (
        f"{label.removeprefix('with ')}: {count} converted, {missing}",
        f"PDF {label}, repaired by qpdf ({what}): {why}; {count} could be read and were "
        f"converted, {missing}",
    )


def _ends_finished(path: Path) -> bool:
    """The file ends as a finished PDF does: with %%EOF (and at most line ends, or a
    preallocated file's NULs, however many, after it)."""
    with path.open("rb") as stream:
        end = stream.seek(0, 2)
        kept = b""  # the bytes before ``end`` that are not padding, at most one tail's
        while end > 0 and len(kept) < len(_EOF):
            start = max(0, end - _TAIL)
            stream.seek(start)
            kept = (stream.read(end - start) + kept).rstrip(_AFTER_EOF)
            end = start
        return kept.endswith(_EOF)


def _whole_pages(pdf: pikepdf.Pdf) -> int:
    """How many pages, from the first, to keep: up to the last one whose content streams
    and images are all in the file. A page before it lacking them is kept (a blank page
    has no /Contents); the ones after it are what a writer that stopped never wrote."""
    kept = 0
    for number, page in enumerate(pdf.pages, 1):
        if _page_whole(page):
            kept = number
    return kept


def _page_whole(page: pikepdf.Page) -> bool:
    try:
        contents = page.obj.get("/Contents")
        streams = list(contents) if isinstance(contents, pikepdf.Array) else [contents]
        if not streams or not all(isinstance(s, pikepdf.Stream) for s in streams):
            return False
        resources = page.obj.get("/Resources")
        images = resources.get("/XObject") if isinstance(resources, pikepdf.Dictionary) else None
        if isinstance(images, pikepdf.Dictionary):
            return all(isinstance(image, pikepdf.Stream) for _, image in images.items())
        return True
    except pikepdf.PdfError:  # an object qpdf cannot parse: as good as missing
        return False


def _what_was_repaired(warnings: list[str]) -> str:
    """qpdf's warnings in a few words: "cross-reference table rebuilt", or the first
    one that says more than "file is damaged"."""
    if any(_XREF_REBUILT in w for w in warnings):
        return "cross-reference table rebuilt"
    for warning in warnings:
        said = warning.rsplit(": ", 1)[-1]  # qpdf names the file (and object) first
        if said != "file is damaged":
            return said
    return "file is damaged"
