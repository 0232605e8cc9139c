"""OCR a prepared PDF and make sure what it says can be found: the text layer is checked.

After OCRmyPDF has written a file, its text layer is read back with PDFium (a parser that
did not write it) and compared, page by page, with the text Tesseract recognised
(``verify.pages_not_carried``). OCRmyPDF's users have had outputs whose layer looked fine
and extracted as garbage after some Ghostscript versions' PDF/A pass (OCRmyPDF 17.12's
release notes, its issue 1747); no one notices until a search finds nothing. A file
whose layer does not carry its text is made again as a plain PDF (no PDF/A pass); if
that does not carry it either, it fails ``invalid_output`` rather than be published.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from pypdf import PdfReader

from scan2pdf.core.options import Options
from scan2pdf.errors import InvalidOutputError
from scan2pdf.worker.engine import OcrRun, run_ocr
from scan2pdf.worker.level import level_text_layers
from scan2pdf.worker.preflight import Prepared
from scan2pdf.worker.sidecar import split_ocrmypdf_sidecar
from scan2pdf.worker.stamp import Provenance, stamp
from scan2pdf.worker.stretched import restretch
from scan2pdf.worker.verify import pages_not_carried, verify_pdf


@dataclass(frozen=True, slots=True)
class OcrPass:
    run: OcrRun
    pdf: Path
    sidecar: Path  # OCRmyPDF's own


@dataclass
class Checked:
    run: OcrRun
    reader: PdfReader
    pdf: Path
    ocrmypdf_sidecar: Path


def ocr_checked(
    prepared: Prepared, scratch: Path, options: Options, jobs: int, provenance: Provenance
) -> Checked:
    """``run_ocr`` into ``scratch``, verified; again as a plain PDF when the layer is wrong."""
    pages = prepared.pages
    attempt = _attempt(prepared, scratch / "first", options, jobs, provenance)
    wrong = _wrong_pages(attempt, pages)
    if not wrong:
        return attempt
    shown = ", ".join(map(str, wrong))
    if options.output_type != "pdf":
        plain_options = replace(options, output_type="pdf")
        plain = _attempt(prepared, scratch / "plain", plain_options, jobs, provenance)
        if not _wrong_pages(plain, pages):
            plain.run.notes.append(
                f"the {options.output_type} output's text layer lacked the recognised text of "
                f"page(s) {shown}; made as a plain PDF instead (--output-type pdf)"
            )
            return plain
    raise InvalidOutputError(
        f"The output's text layer does not carry the recognised text of page(s) {shown}: "
        "a search would not find it.",
        "Run it again with -v and --pdf-renderer fpdf2 (or sandwich) and report the "
        "output; the versions that made it are in the journal.",
    )


def ocr_pass(prepared: Prepared, folder: Path, options: Options, jobs: int) -> OcrPass:
    """One OCRmyPDF run over ``prepared`` into ``folder``, its stretched scans scaled back:
    what a whole file's attempt and a page range of a long one (``worker/ranges.py``)
    both make, before provenance and checks (a range's are its document's)."""
    folder.mkdir()
    pdf, sidecar = folder / "output.pdf", folder / "ocrmypdf-sidecar.txt"
    run = run_ocr(prepared.pdf, pdf, sidecar, options, jobs, prepared.pages, prepared.ocr_twins)
    # Tilted lines of the text layer laid level, so poppler-based viewers read the words
    # in the sidecar's order (worker/level.py).
    level_text_layers(pdf)
    if prepared.stretches:
        restretch(pdf, prepared.stretches)
    return OcrPass(run, pdf, sidecar)


def _attempt(
    prepared: Prepared, folder: Path, options: Options, jobs: int, provenance: Provenance
) -> Checked:
    done = ocr_pass(prepared, folder, options, jobs)
    # Before the checks, so that the bytes checked are the bytes published.
    stamp(done.pdf, provenance)
    return Checked(done.run, verify_pdf(done.pdf, prepared.pages), done.pdf, done.sidecar)


def _wrong_pages(attempt: Checked, pages: int) -> tuple[int, ...]:
    path = attempt.ocrmypdf_sidecar
    raw = path.read_text(encoding="utf-8") if path.exists() else ""
    return pages_not_carried(attempt.pdf, split_ocrmypdf_sidecar(raw, pages))
