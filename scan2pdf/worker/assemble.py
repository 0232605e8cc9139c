"""One document from the page ranges a cluster OCRed (``execution/ranges.py``).

Runs on the coordinator, which never loads OCRmyPDF: only pikepdf, pypdf, PDFium and
scan2pdf's own sidecar, stamp and verify are used here. What a whole file gets after its
OCR, the assembled document gets, once, on all its pages (``worker/task.py`` and
``worker/checked.py`` do the same for a whole file):

- its pages in order, each as its range made it (content, text layer, /Rotate), in one
  PDF whose catalogue is the first range's: one XMP packet, one /Info, one OutputIntent
  (the others' catalogues are dropped with their ranges). The ranges' PDF/A claims must
  agree, else the pages of a plain range would sit in a file that claims PDF/A;
- provenance stamped (``worker/stamp.py``), then the page count checked and the text
  layer read back with PDFium against what Tesseract read (``worker/verify.py``);
- one sidecar, the quality and the notes a local run gives, page numbers the document's.

When the ranges disagree on PDF/A, or the text layer does not carry the OCR's text, the
answer is None: the file is then converted whole on one worker, where ``ocr_checked``
does what it does for any file (a plain PDF instead, or ``invalid_output``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pikepdf

from scan2pdf.core.jobs import Job, Outcome
from scan2pdf.core.quality import PageRead, Quality
from scan2pdf.core.report import FileResult, failed
from scan2pdf.errors import InternalError, Scan2PdfError, first_line
from scan2pdf.execution.ranges import Meta, RangeDone
from scan2pdf.worker.sidecar import SidecarText
from scan2pdf.worker.stamp import Provenance, stamp
from scan2pdf.worker.verify import pages_not_carried, verify_pdf

# OCRmyPDF 17.x linearizes ("fast web view") an output over this many MB unless its
# ``fast_web_view`` says otherwise (``_pipeline.should_linearize``); the assembled
# document follows the same rule on its own size, as a whole-file run's output would.
_FAST_WEB_VIEW_MB = 1.0
_PAGE_NOTE = re.compile(r"^page\(?s?\)? \d")


@dataclass(frozen=True, slots=True)
class Assembled:
    """The merged document with its text, before provenance and checks."""

    text: SidecarText
    reads: dict[int, PageRead]
    ocr_text: list[str | None]


def assemble(
    job: Job, meta: Meta, ranges: Sequence[RangeDone], folder: Path, seconds: float
) -> Outcome | None:
    """The file's outcome from all its ``ranges`` (their PDFs as paths), written into
    ``folder``; None when it is to be converted whole instead (see the module doc)."""
    if len({done.pdfa for done in ranges}) > 1:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    pdf, sidecar = folder / "output.pdf", folder / "sidecar.txt"
    try:
        whole = _merged(job, ranges, pdf)
        stamp(pdf, Provenance.of(job, meta.made_by or "{}"))
        verify_pdf(pdf, meta.pages)
        if pages_not_carried(pdf, whole.ocr_text):
            return None
    except Scan2PdfError as exc:
        return Outcome(failed(job.identity, exc, seconds, _detail(meta, ranges)), index=job.index)
    except (pikepdf.PdfError, OSError, ValueError) as exc:
        error = InternalError(f"The page ranges could not be joined ({first_line(exc)}).")
        return Outcome(failed(job.identity, error, seconds, _detail(meta, ranges)), index=job.index)
    text, quality = rated(whole.text, whole.reads, meta.repair, sidecar)
    result = converted(
        job,
        meta.pages,
        text,
        quality,
        seconds=seconds,
        notes=(*meta.notes, *meta.ocr_notes, *_range_notes(ranges)),
        made_by=meta.made_by,
        detail=_detail(meta, ranges),
    )
    return Outcome(result, pdf, sidecar, None, job.index)


def converted(
    job: Job,
    pages: int,
    text: SidecarText,
    quality: Quality | None,
    *,
    seconds: float,
    notes: Sequence[str],
    made_by: str | None,
    detail: str | None,
) -> FileResult:
    """The result of ``job`` converted, for a whole file (``worker/task.py``) and for one
    assembled from page ranges alike: ``notes`` first, then the sidecar's and the blank
    pages' (``blank_note``)."""
    return FileResult(
        input=Path(job.identity),
        status="converted",
        output=job.pdf,
        sidecar=job.txt,
        pages=pages,
        ocr_pages=text.ocr_pages,
        seconds=seconds,
        notes=(*notes, *text.notes(), *blank_note(quality)),
        quality=quality,
        made_by=made_by,
        detail=detail,
    )


def rated(
    text: SidecarText, reads: dict[int, PageRead], repair: str | None, sidecar: Path
) -> tuple[SidecarText, Quality | None]:
    """A converted document's quality, and its sidecar text (written to ``sidecar``) with
    the pages found blank left empty: for a whole file (``worker/task.py``) and for one
    assembled from page ranges alike. A repaired PDF (``worker/preflight.py``) is rated
    even with nothing OCRed, so that ``status --review`` lists it: pages may be missing,
    which no confidence shows."""
    quality = Quality.of(reads, text.pages, repair) if reads or repair else None
    if quality is not None and quality.blank_pages:
        text = text.without(quality.blank_pages)
    sidecar.write_text(text.render(), encoding="utf-8")
    return text, quality


def blank_note(quality: Quality | None) -> list[str]:
    """The note on pages found blank (``converted`` adds it to every converted file's)."""
    if quality is None or not quality.blank_pages:
        return []
    pages = ", ".join(map(str, quality.blank_pages))
    return [f"no text found on page(s) {pages} (blank?); their sidecar pages are left empty"]


def _merged(job: Job, ranges: Sequence[RangeDone], target: Path) -> Assembled:
    """Write the ranges' pages, in order, into ``target``; their text joined."""
    paths = [Path(str(done.pdf)) for done in ranges]
    size = sum(path.stat().st_size for path in paths)
    limit = dict(job.options.ocrmypdf_extra).get("fast_web_view", _FAST_WEB_VIEW_MB)
    with ExitStack() as stack:
        base = stack.enter_context(pikepdf.open(paths[0]))
        for path in paths[1:]:
            other = stack.enter_context(pikepdf.open(path))
            base.pages.extend(other.pages)
        _share_images(base)
        base.save(
            target,
            preserve_pdfa=True,
            # Streams copied as the ranges wrote them: nothing is decoded or re-encoded.
            stream_decode_level=pikepdf.StreamDecodeLevel.none,
            object_stream_mode=pikepdf.ObjectStreamMode.generate,
            linearize=size > float(str(limit)) * 1_000_000,
        )
    text = SidecarText(
        tuple(page for done in ranges for page in done.texts),
        sum(done.ocr_pages for done in ranges),
        tuple(page for done in ranges for page in done.unreadable),
    )
    reads = {page: read for done in ranges for page, read in done.reads.items()}
    ocr_text = [page for done in ranges for page in done.ocr_text]
    return Assembled(text, reads, ocr_text)


def _share_images(pdf: pikepdf.Pdf) -> None:
    """One copy of each image again where the ranges each brought their own: an image
    that several pages of the input share (a repeated page, a template) is kept once by a
    whole-file run, and once per range by the ranges. Images are the same when their
    bytes and their dictionaries are: one that refers to other objects (a soft mask, an
    ICC profile) is never taken for another's, so none is ever merged wrongly."""
    kept: dict[tuple[str, str], pikepdf.Object] = {}
    for page in pdf.pages:
        resources = page.obj.get("/Resources")
        images = resources.get("/XObject") if isinstance(resources, pikepdf.Dictionary) else None
        if not isinstance(images, pikepdf.Dictionary):
            continue
        for name, image in list(images.items()):
            if not isinstance(image, pikepdf.Stream) or image.get("/Subtype") != "/Image":
                continue
            described = sorted((str(k), repr(image[k])) for k in image.keys() if k != "/Length")  # noqa: SIM118 - a pikepdf Dictionary
            key = (hashlib.sha256(image.read_raw_bytes()).hexdigest(), repr(described))
            first = kept.setdefault(key, image)
            if first.objgen != image.objgen:
                images[name] = first


def _range_notes(ranges: Sequence[RangeDone]) -> list[str]:
    """The ranges' notes as one file's: a note about the file (OCRmyPDF's own check could
    not finish, say) once, then those about pages, in page order (each range's are)."""
    about_file: dict[str, None] = {}
    about_pages: list[str] = []
    for done in ranges:
        for note in done.notes:
            if _PAGE_NOTE.match(note):
                about_pages.append(note)
            else:
                about_file.setdefault(note)
    return [*about_file, *about_pages]


def _detail(meta: Meta, ranges: Sequence[RangeDone]) -> str | None:
    lines = [*meta.detail, *(line for done in ranges for line in done.detail)]
    return "\n".join(lines) or None
