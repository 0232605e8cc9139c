"""What a Dask worker runs for a long file cut into page ranges (``execution/ranges.py``).

``plan_volume`` preflights the whole input once and cuts the prepared PDF into parts;
``run_range`` OCRs one part. A range's output must be the pages a whole-file run would
have made of the same pages, so what OCRmyPDF decides per document is decided here once,
over every page, and handed to each range in its options (``_document_options``): the
renderer and the OCR resolution cap (``engine.document_choices``), with the note a whole
file would have said about it. Page numbers a range says (its notes, its
pages' readings) are turned into the document's before they leave the worker.

A document is cut only when its pages stand alone (``_self_contained``): cut apart,
bookmarks, forms, link annotations and the like would point into the wrong copy of a
page. Such a document, and one with too few pages after preflight (a PDF cut short), is
converted whole by the plan task itself, exactly as ``worker/remote.py`` would.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pikepdf
from pypdf import PdfReader

from scan2pdf.core.jobs import Artifact, Job, Outcome
from scan2pdf.core.options import Options
from scan2pdf.core.quality import PageRead
from scan2pdf.execution.ranges import Meta, Part, Plan, RangeDone, bounds
from scan2pdf.execution.workerproc import COLLECT
from scan2pdf.worker.checked import ocr_pass
from scan2pdf.worker.engine import document_choices
from scan2pdf.worker.images import set_pixel_budget
from scan2pdf.worker.preflight import Prepared
from scan2pdf.worker.provenance import made_by
from scan2pdf.worker.remote import Payload, hand_back, materialise
from scan2pdf.worker.sidecar import build_sidecar, split_ocrmypdf_sidecar
from scan2pdf.worker.task import convert_file, failed_outcome, prepare_input

# What in a PDF's catalogue refers to its pages (or shows them as a whole) so that it
# could not follow them into ranges: outlines, forms, the structure tree, named
# destinations, article threads, an open action, optional content, document actions.
_DOCUMENT_WIDE = (
    "/AcroForm",
    "/StructTreeRoot",
    "/Names",
    "/Dests",
    "/Threads",
    "/OpenAction",
    "/OCProperties",
    "/AA",
)
# A note about pages names them first: "page 3 turned 90° ...", "... page(s) 2, 5 ...".
_PAGE_NUMBERS = re.compile(r"\b(page|page\(s\)) (\d+(?:, \d+)*)")


def plan_volume(job: Job, payload: Payload | None, shared: str | None, count: int) -> Plan:
    """Preflight ``job``, then cut it into ``count`` parts, or convert it whole here."""
    started = time.monotonic()
    volume = _volume_folder(shared, job.index)
    with tempfile.TemporaryDirectory(prefix="scan2pdf-plan-") as tmp:
        folder = Path(tmp)
        if payload is not None:
            job = materialise(job, payload, folder)
        scratch = folder / "scratch"
        scratch.mkdir()
        with COLLECT.collecting() as lines:
            try:
                set_pixel_budget(job.options.max_image_mpixels)
                prepared = prepare_input(job, scratch)
                cuts = bounds(prepared.pages, count)
                if sum(1 for cut in cuts if cut) >= 2 and _self_contained(prepared.pdf):
                    options, ocr_notes = _document_options(prepared.pdf, job.options)
                    parts = tuple(
                        _part(prepared, cut, number, options, folder, volume) if cut else None
                        for number, cut in enumerate(cuts)
                    )
                    meta = Meta(
                        prepared.pages,
                        tuple(prepared.notes),
                        tuple(ocr_notes),
                        prepared.repair,
                        made_by(job.options.languages),
                        tuple(lines),
                    )
                    return Plan(meta, parts)
            except Exception as exc:
                return Plan(Meta(outcome=failed_outcome(job, exc, started)), (None,) * count)
        # Not cut after all: converted whole, as on any worker (its own warnings collected).
        outcome = convert_file(job, 1)
        try:
            handed = hand_back(outcome, shared, job.index)
        finally:
            if outcome.scratch is not None:
                shutil.rmtree(outcome.scratch, ignore_errors=True)
        return Plan(Meta(outcome=handed), (None,) * count)


def run_range(job: Job, part: Part, shared: str | None) -> RangeDone | Outcome:
    """OCR ``part``; a failure is the file's (``task.failed_outcome``), never raised."""
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="scan2pdf-range-") as tmp,
        COLLECT.collecting() as lines,
    ):
        folder = Path(tmp)
        try:
            set_pixel_budget(part.options.max_image_mpixels)
            source = _taken(part.pdf, folder / "part.pdf")
            twins = {}
            for page, suffix, data in part.twins:
                twins[page] = folder / f"twin-{page}{suffix}"
                twins[page].write_bytes(data)
            prepared = Prepared(source, part.pages, ocr_twins=twins, stretches=part.stretches)
            done = ocr_pass(prepared, folder / "ocr", part.options, 1)
            raw = done.sidecar.read_text(encoding="utf-8") if done.sidecar.exists() else ""
            text = build_sidecar(
                done.sidecar, PdfReader(done.pdf), part.pages, part.options.existing_text
            )
            offset = part.first - 1
            reads = {
                n + offset: PageRead(r.reading.chars, r.reading.confidence)
                for n, r in done.run.pages.items()
            }
            with pikepdf.open(done.pdf) as pdf:
                pdfa = pdf.open_metadata().pdfa_status
            volume = _volume_folder(shared, job.index)
            kept = None if volume is None else volume / f"range-{part.number}.pdf"
            return RangeDone(
                number=part.number,
                first=part.first,
                pages=part.pages,
                pdf=_given(done.pdf, kept),
                ocr_text=tuple(split_ocrmypdf_sidecar(raw, part.pages)),
                texts=text.pages,
                ocr_pages=text.ocr_pages,
                unreadable=tuple(n + offset for n in text.unreadable),
                reads=reads,
                notes=tuple(shift_pages(note, offset) for note in done.run.notes),
                detail=tuple(lines),
                pdfa=pdfa,
            )
        except Exception as exc:
            return failed_outcome(job, exc, started)


def shift_pages(note: str, offset: int) -> str:
    """``note`` with the page numbers it names moved on by ``offset``: a range's page 2
    is its document's page ``2 + offset``."""
    if not offset:
        return note

    def shifted(found: re.Match[str]) -> str:
        numbers = ", ".join(str(int(n) + offset) for n in found.group(2).split(", "))
        return f"{found.group(1)} {numbers}"

    return _PAGE_NUMBERS.sub(shifted, note)


def _document_options(pdf: Path, options: Options) -> tuple[Options, list[str]]:
    """``options`` with what ``run_ocr`` would decide over the whole document made
    explicit, so that every range decides it the same way; and the notes it would give
    (a range given the cap says nothing itself)."""
    with pikepdf.open(pdf) as source:
        choices = document_choices(options, source)
    extra = dict(options.ocrmypdf_extra)
    if choices.ocr_mpixels is not None:
        extra["max_ocr_image_mpixels"] = choices.ocr_mpixels
    explicit = replace(options, pdf_renderer=choices.renderer, ocrmypdf_extra=tuple(extra.items()))
    return explicit, choices.notes


def _self_contained(path: Path) -> bool:
    """Whether every page of the PDF stands alone: nothing in the document points at a
    page (see ``_DOCUMENT_WIDE``), and no page carries annotations (a link's destination
    is another page) or article beads."""
    with pikepdf.open(path) as pdf:
        root = pdf.Root
        if any(key in root for key in _DOCUMENT_WIDE):
            return False
        outlines = root.get("/Outlines")
        if isinstance(outlines, pikepdf.Dictionary) and "/First" in outlines:
            return False
        return not any("/Annots" in page.obj or "/B" in page.obj for page in pdf.pages)


def _part(
    prepared: Prepared,
    cut: range,
    number: int,
    options: Options,
    scratch: Path,
    volume: Path | None,
) -> Part:
    """Pages ``cut`` of the prepared PDF as a PDF of their own. Cut from the document
    (its other pages deleted), not copied into a new one: the catalogue's metadata
    (/Info, XMP) is the first range's, and the assembled document keeps the first range's
    catalogue, as a whole-file run keeps its input's."""
    name = f"part-{number}.pdf"
    target = scratch / name if volume is None else volume / name
    with pikepdf.open(prepared.pdf) as pdf:
        del pdf.pages[cut.stop :]
        del pdf.pages[: cut.start]
        pdf.save(target)
    twins = tuple(
        (page - cut.start, path.suffix, path.read_bytes())
        for page, path in sorted(prepared.ocr_twins.items())
        if page - 1 in cut
    )
    stretches = {i - cut.start: s for i, s in prepared.stretches.items() if i in cut}
    pdf_artifact: Artifact = target if volume is not None else target.read_bytes()
    return Part(number, cut.start + 1, len(cut), pdf_artifact, options, twins, stretches)


def _volume_folder(shared: str | None, index: int) -> Path | None:
    """The volume's folder in shared storage: the coordinator made it, and removes it
    when the file is done or cancelled; a task that finds it gone writes nothing."""
    return None if shared is None else Path(shared) / f"job-{index}"


def _taken(artifact: Artifact, target: Path) -> Path:
    if isinstance(artifact, Path):
        return artifact
    target.write_bytes(artifact)
    return target


def _given(pdf: Path, target: Path | None) -> Artifact:
    if target is None:
        return pdf.read_bytes()
    shutil.copyfile(pdf, target)  # FileNotFoundError once the volume is cancelled
    return target
