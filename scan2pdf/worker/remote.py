"""What a Dask worker runs for one job (``execution/cluster.py`` sends it).

The same conversion as a local worker (``worker/task.py``), in one of the Dask worker's
threads: OCRmyPDF 17.11+ runs several ``ocr()`` calls in one process, and with one page
at a time (``jobs=1``) it uses a thread, never a process pool (Dask's worker processes
are daemonic and may not start one). Tesseract runs single-threaded (OMP_THREAD_LIMIT=1),
so a worker with N threads runs at most N Tesseracts.

A local worker process converts one file at a time; a Dask worker process converts as
many as it has threads, so nothing here may be set per file that is one for the whole
process. What the process needs is set once, when the first task imports this module
(``_set_up_process``); what is a file's own is kept per task: its warnings
(``workerproc.COLLECT``), its inputs (a temporary folder of its own), and Pillow's pixel
guard is never turned off for one file's sake (``pillowguard.open_header``). A task in a
process of its own was the other way; a fresh interpreter costs about 1.2 s to import
OCRmyPDF (measured 2026-12-04), and a fork of the warm worker process is ruled out by
Dask's daemonic workers.

Inputs come as paths (``shared`` storage: the worker sees the coordinator's files) or as
bytes, written into a temporary folder here. Outputs go back the same way: into the
shared folder the coordinator named, or as bytes in the ``Outcome``. Only the coordinator
ever writes OUTDIR's final paths and the journal.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from scan2pdf.core.jobs import Job, Outcome
from scan2pdf.core.report import failed
from scan2pdf.errors import InternalError
from scan2pdf.execution.workerproc import COLLECT
from scan2pdf.worker.task import convert_file

# Sent instead of paths when the worker cannot see the coordinator's files: the bytes of
# the input, or of each page of a folder document, in page order (by position, never by
# name: pages of different folders may share one).
Payload = tuple[bytes, ...]


def _set_up_process() -> None:
    """Once per worker process (this module's import, which Python runs once and which
    every task waits for): before any Tesseract starts, and never while one reads the
    environment.

    - OMP_THREAD_LIMIT=1: each Tesseract uses one thread (see the module doc).
    - ``COLLECT`` beside Dask's own log handlers: each file's warnings reach its report
      details (``-v``), as from a local worker.
    """
    os.environ["OMP_THREAD_LIMIT"] = "1"
    root = logging.getLogger()
    if COLLECT not in root.handlers:
        root.addHandler(COLLECT)


_set_up_process()


def run_on_cluster(job: Job, payload: Payload | None, shared_out: str | None) -> Outcome:
    """Convert ``job`` here; never raises for anything about the input itself."""
    with tempfile.TemporaryDirectory(prefix="scan2pdf-cluster-") as tmp:
        if payload is not None:
            job = materialise(job, payload, Path(tmp))
        outcome = convert_file(job, 1)
        try:
            return hand_back(outcome, shared_out, job.index)
        finally:
            if outcome.scratch is not None:
                shutil.rmtree(outcome.scratch, ignore_errors=True)


def materialise(job: Job, payload: Payload, folder: Path) -> Job:
    """The job with its sent bytes written under ``folder``: the input under its own name,
    each page of a folder document in a folder of its own (its number), so that pages of
    one name stay apart and keep the names its report quotes."""
    inputs = folder / "input"
    inputs.mkdir()
    if not job.parts:
        source = inputs / job.source.name
        source.write_bytes(payload[0])
        return replace(job, source=source)
    parts = []
    for number, (page, data) in enumerate(zip(job.parts, payload, strict=True), 1):
        target = inputs / str(number) / page.name
        target.parent.mkdir()
        target.write_bytes(data)
        parts.append(target)
    return replace(job, source=inputs, parts=tuple(parts))


def hand_back(outcome: Outcome, shared_out: str | None, index: int) -> Outcome:
    """The outcome with its outputs where the coordinator reads them: as bytes, or copied
    into the run's shared folder. That folder is made by the coordinator and removed by it
    when the run ends: a task still running after a cancel (a thread cannot be stopped)
    finds it gone and writes nothing, so nothing is left in OUTDIR after the run."""
    if not isinstance(outcome.pdf, Path) or not isinstance(outcome.txt, Path):
        return replace(outcome, scratch=None)  # a failure: nothing to hand back
    if shared_out is None:
        return replace(
            outcome, pdf=outcome.pdf.read_bytes(), txt=outcome.txt.read_bytes(), scratch=None
        )
    folder = Path(shared_out) / f"job-{index}"
    try:
        folder.mkdir(exist_ok=True)  # never its parents: see above
    except FileNotFoundError:  # the run is over (or its folder was deleted under it)
        gone = InternalError(f"The run's shared folder {shared_out} is gone.")
        return Outcome(failed(outcome.result.input, gone), index=index)
    pdf, txt = folder / "output.pdf", folder / "sidecar.txt"
    shutil.copyfile(outcome.pdf, pdf)
    shutil.copyfile(outcome.txt, txt)
    return replace(outcome, pdf=pdf, txt=txt, scratch=folder)
