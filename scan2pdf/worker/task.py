"""What runs inside a worker process: one input through preflight, OCR, sidecar, verify.

Workers never write to OUTDIR. They leave the finished PDF and sidecar in the job's
scratch folder and the coordinator publishes them, so that killing a worker can never
leave anything at a final path.

The forkserver imports this module before it forks workers (execution/local.py), with
the modules OCRmyPDF 17 otherwise imports lazily on its first ocr() call (about 350
modules, 0.3 s): every worker then starts warm instead of paying that on its first file.
"""

from __future__ import annotations

import errno
import importlib
import shutil
import tempfile
import time
import traceback
from contextlib import suppress
from pathlib import Path

from scan2pdf.core.jobs import Job, Outcome
from scan2pdf.core.quality import PageRead
from scan2pdf.core.report import failed
from scan2pdf.errors import (
    CorruptInputError,
    DiskFullError,
    InternalError,
    Scan2PdfError,
    TooLargeError,
    first_line,
)
from scan2pdf.execution.slots import slot
from scan2pdf.execution.workerproc import COLLECT
from scan2pdf.worker.assemble import converted, rated
from scan2pdf.worker.checked import ocr_checked
from scan2pdf.worker.images import set_pixel_budget
from scan2pdf.worker.preflight import Prepared, prepare
from scan2pdf.worker.provenance import made_by
from scan2pdf.worker.sidecar import build_sidecar
from scan2pdf.worker.stamp import Provenance

# Imported by OCRmyPDF 17.x on its first ocr() call with scan2pdf's default options (the
# sandwich renderer, output type auto); loading them here, in the forkserver, shares them
# with every worker. Listed from what that first call imports (2026-11-21, 17.13.0). fpdf2
# and its fontTools subsetter are left out: they cost 0.25 s of every run's start-up and
# only --pdf-renderer fpdf2 uses them (each worker then imports them on its first file).
# A name missing from another version is simply skipped.
_LAZY_IN_OCRMYPDF = (
    "ocrmypdf._pipelines.ocr",
    "ocrmypdf._validation_coordinator",
    "ocrmypdf.builtin_plugins.tesseract_ocr",
    "ocrmypdf.builtin_plugins.ghostscript",
    "ocrmypdf.builtin_plugins.optimize",
    "ocrmypdf.builtin_plugins.pypdfium",
    "ocrmypdf.builtin_plugins.concurrency",
    "ocrmypdf.optimize",
    "pikepdf.pdfa",  # speculative PDF/A: jsonschema, attrs, fontTools.ttLib
    "fontTools.ttLib",
    "fontTools.agl",
    "pypdfium2",
    "PIL.JpegImagePlugin",
    "PIL.PngImagePlugin",
)
for _name in _LAZY_IN_OCRMYPDF:
    with suppress(ImportError):
        importlib.import_module(_name)


def _cache_version_probes() -> None:
    """Ask each program for its version once per worker, not once per file.

    OCRmyPDF 17.x (``_exec/_probe.py``) runs ``tesseract --version``, ``gs --version``...
    on every ocr() call: about 50 ms of subprocesses per file, a tenth of the cost of a
    small page. A worker lives for one run and the programs do not change under it. The
    name is private; when another OCRmyPDF lacks it, this does nothing.
    """
    try:
        from ocrmypdf._exec import _probe
    except ImportError:
        return
    probe = getattr(_probe, "get_version", None)
    if probe is None:
        return
    answers: dict[tuple[object, ...], object] = {}

    def cached(program: str, *, env: object = None, **kwargs: object) -> object:
        if env is not None:  # an environment override: not worth caching, ask again
            return probe(program, env=env, **kwargs)
        key = (program, *sorted(kwargs.items()))
        if key not in answers:
            answers[key] = probe(program, **kwargs)
        return answers[key]

    setattr(_probe, "get_version", cached)  # noqa: B010 - replacing a private function on purpose


_cache_version_probes()


def convert_file(job: Job, jobs: int) -> Outcome:
    """Convert one input; never raises for anything about the input itself.

    The file's own work holds one of the pool's slots; its pages take slots of their own
    (``worker/pageslots.py``), up to ``jobs`` at once when that many are free.
    """
    with slot(), COLLECT.collecting():  # its warnings, not another's (workerproc.py)
        return _convert(job, jobs)


def _convert(job: Job, jobs: int) -> Outcome:
    started = time.monotonic()
    options = job.options
    scratch = Path(tempfile.mkdtemp(prefix="job-"))
    set_pixel_budget(options.max_image_mpixels)
    try:
        prepared = prepare_input(job, scratch)
        versions = made_by(options.languages)
        provenance = Provenance.of(job, versions)
        checked = ocr_checked(prepared, scratch, options, jobs, provenance)
        ocr, reader, ocr_pdf = checked.run, checked.reader, checked.pdf
        text = build_sidecar(
            checked.ocrmypdf_sidecar, reader, prepared.pages, options.existing_text
        )
        reads = {n: PageRead(r.reading.chars, r.reading.confidence) for n, r in ocr.pages.items()}
        sidecar = scratch / "sidecar.txt"
        text, quality = rated(text, reads, prepared.repair, sidecar)
        result = converted(
            job,
            prepared.pages,
            text,
            quality,
            seconds=time.monotonic() - started,
            notes=(*prepared.notes, *ocr.notes),
            made_by=versions,
            detail="\n".join(COLLECT.lines) or None,
        )
        return Outcome(result, ocr_pdf, sidecar, scratch, job.index)
    except Exception as exc:
        shutil.rmtree(scratch, ignore_errors=True)
        return failed_outcome(job, exc, started)


def failed_outcome(job: Job, exc: Exception, started: float) -> Outcome:
    """The outcome of ``job`` failed with ``exc``: ours as it is; anything else a bug of
    ours or a library's, which fails this file and keeps the batch (a range of a long
    file, ``worker/ranges.py``, fails the same way)."""
    seconds = time.monotonic() - started
    if isinstance(exc, Scan2PdfError):
        return Outcome(failed(job.identity, exc, seconds, _detail(exc)), index=job.index)
    said = str(exc).strip()
    error: Scan2PdfError = InternalError(
        f"Unexpected {type(exc).__name__}{': ' + first_line(exc) if said else ''}."
    )
    if _out_of_space(exc):
        error = DiskFullError("No space left for temporary files.")
    elif isinstance(exc, OSError) and exc.errno is None:
        # How Pillow says an image cannot be decoded ("image file is truncated"), also
        # when OCRmyPDF meets it in a page: the input's bytes, not a fault of ours.
        error = CorruptInputError(f"An image in it cannot be decoded ({first_line(exc)}).")
    return Outcome(failed(job.identity, error, seconds, _detail(exc)), index=job.index)


def prepare_input(job: Job, scratch: Path) -> Prepared:
    """Preflight; whatever a decoder raises about the input's bytes means it is damaged.

    Preflight only reads the input (with pikepdf, Pillow, img2pdf), so an exception it
    did not classify itself comes from bytes those libraries could not make sense of:
    a truncated image, a broken TIFF directory, garbage after a PDF header.
    """
    try:
        return prepare(job.source, job.kind, job.options, scratch, job.parts)
    except Scan2PdfError:
        raise
    except MemoryError as exc:
        raise TooLargeError("Decoding it needs more memory than this machine has.") from exc
    except Exception as exc:
        if _out_of_space(exc):
            raise
        kind = "PDF" if job.kind == "pdf" else "image"
        raise CorruptInputError(f"The {kind} cannot be decoded ({first_line(exc)}).") from exc


def _out_of_space(exc: BaseException | None) -> bool:
    """ENOSPC anywhere in the chain (OCRmyPDF and subprocess errors wrap it)."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _detail(exc: BaseException) -> str:
    lines = [*COLLECT.lines, "".join(traceback.format_exception(exc)).rstrip()]
    return "\n".join(lines)
