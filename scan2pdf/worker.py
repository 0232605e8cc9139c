"""What runs inside a worker process: one input through preflight, OCR, sidecar, verify.

Workers never write to OUTDIR. They leave the finished PDF and sidecar in the job's
scratch folder and the coordinator publishes them, so that killing a worker can never
leave anything at a final path.
"""

from __future__ import annotations

import logging
import os
import select
import shutil
import signal
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from scan2pdf.discover import Job
from scan2pdf.engine import run_ocr
from scan2pdf.errors import InternalError, Scan2PdfError
from scan2pdf.images import set_pixel_budget
from scan2pdf.options import Options
from scan2pdf.output import verify_pdf
from scan2pdf.preflight import prepare
from scan2pdf.report import FileResult
from scan2pdf.scratch import alive
from scan2pdf.sidecar import build_sidecar


@dataclass(frozen=True, slots=True)
class Outcome:
    """A worker's answer: the result, and for a success where the files wait in scratch."""

    result: FileResult
    scratch: Path | None = None
    pdf: Path | None = None
    txt: Path | None = None


class _Collect(logging.Handler):
    """Keeps OCRmyPDF's warnings for the file being converted (shown with -v)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname.lower()}: {record.getMessage()}")


_COLLECT = _Collect()


def init_worker(scratch_root: str, coordinator: int) -> None:
    """Process-pool initializer.

    - Own process group: the coordinator stops a worker *and* its Tesseract and
      Ghostscript children with one killpg, and a terminal's Ctrl-C reaches only the
      coordinator, which decides what to stop.
    - OMP_THREAD_LIMIT=1: each Tesseract uses one thread, so busy threads never exceed
      the CPU budget (OCRmyPDF honours a numeric value as given; tesseract_ocr.validate).
    - Temporary files under the run's scratch root, which the coordinator deletes on any
      exit, so a killed worker leaves nothing behind in the system temp folder.
    - A watchdog on the coordinator: if it is killed (kill -9, OOM), nobody would ever
      stop this worker, which blocks forever on the executor's queue (it holds both ends
      of the pipe, so it never sees EOF).
    """
    os.setpgrp()
    _watch_coordinator(coordinator)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ["OMP_THREAD_LIMIT"] = "1"
    tempfile.tempdir = scratch_root
    root = logging.getLogger()
    root.handlers[:] = [_COLLECT]
    root.setLevel(logging.WARNING)


def _watch_coordinator(pid: int) -> None:
    """Kill this worker's process group (itself and its Tesseract) once ``pid`` exits.

    A pidfd names one process for good, so a recycled pid cannot fool it (Linux 5.3+);
    where pidfds are missing we poll the pid instead.
    """

    def watch() -> None:
        try:
            fd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            fd = None
        if fd is not None:
            select.select([fd], [], [])  # readable once the process has exited
        else:
            while alive(pid):
                time.sleep(1.0)
        os.killpg(0, signal.SIGKILL)

    threading.Thread(target=watch, name="coordinator-watchdog", daemon=True).start()


def convert_file(job: Job, options: Options, jobs: int) -> Outcome:
    """Convert one input; never raises for anything about the input itself."""
    started = time.monotonic()
    _COLLECT.lines.clear()
    scratch = Path(tempfile.mkdtemp(prefix="job-"))
    set_pixel_budget(options.max_image_mpixels)
    try:
        prepared = prepare(job.source, job.kind, options, scratch)
        ocr_pdf, ocr_txt = scratch / "output.pdf", scratch / "ocrmypdf-sidecar.txt"
        run_ocr(prepared.pdf, ocr_pdf, ocr_txt, options, jobs)
        verify_pdf(ocr_pdf, prepared.pages)
        text = build_sidecar(ocr_txt, ocr_pdf, prepared.pages, options.existing_text)
        sidecar = scratch / "sidecar.txt"
        sidecar.write_text(text.render(), encoding="utf-8")
        result = FileResult(
            input=job.source,
            status="converted",
            output=job.pdf,
            sidecar=job.txt,
            pages=prepared.pages,
            ocr_pages=text.ocr_pages,
            seconds=time.monotonic() - started,
            notes=(*prepared.notes, *text.notes()),
            detail="\n".join(_COLLECT.lines) or None,
        )
        return Outcome(result, scratch, ocr_pdf, sidecar)
    except Scan2PdfError as exc:
        shutil.rmtree(scratch, ignore_errors=True)
        return Outcome(failed(job, exc, time.monotonic() - started, _detail(exc)))
    except Exception as exc:  # a bug of ours or a library's: fail this file, keep the batch
        shutil.rmtree(scratch, ignore_errors=True)
        error = InternalError(f"Unexpected {type(exc).__name__}: {exc}.")
        return Outcome(failed(job, error, time.monotonic() - started, _detail(exc)))


def failed(
    job: Job, error: Scan2PdfError, seconds: float = 0.0, detail: str | None = None
) -> FileResult:
    return FileResult(
        input=job.source,
        status="failed",
        reason=error.reason,
        message=error.message,
        seconds=seconds,
        detail=detail,
    )


def _detail(exc: BaseException) -> str:
    lines = [*_COLLECT.lines, "".join(traceback.format_exception(exc)).rstrip()]
    return "\n".join(lines)
