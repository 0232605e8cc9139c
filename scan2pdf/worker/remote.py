"""What a Dask worker runs for one job (``execution/cluster.py`` sends it).

The same conversion as a local worker (``worker/task.py``), in one of the Dask worker's
threads: OCRmyPDF 17.11+ runs several ``ocr()`` calls in one process, and with one page
at a time (``jobs=1``) it uses a thread, never a process pool (Dask's worker processes
are daemonic and may not start one). Tesseract runs single-threaded (OMP_THREAD_LIMIT=1),
so a worker with N threads runs at most N Tesseracts.

Inputs come as paths (``shared`` storage: the worker sees the coordinator's files) or as
bytes, written into a temporary folder here. Outputs go back the same way: into the
shared folder the coordinator named, or as bytes in the ``Outcome``. Only the coordinator
ever writes OUTDIR's final paths and the journal.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from scan2pdf.core.jobs import Job, Outcome
from scan2pdf.worker.task import convert_file

# Sent instead of a path when the worker cannot see the coordinator's files: the bytes
# of the input (or of each page of a folder document), by file name.
Payload = dict[str, bytes]


def run_on_cluster(job: Job, payload: Payload | None, shared_out: str | None) -> Outcome:
    """Convert ``job`` here; never raises for anything about the input itself."""
    os.environ["OMP_THREAD_LIMIT"] = "1"
    with tempfile.TemporaryDirectory(prefix="scan2pdf-cluster-") as tmp:
        if payload is not None:
            job = _materialise(job, payload, Path(tmp))
        outcome = convert_file(job, 1)
        try:
            return _hand_back(outcome, shared_out, job.index)
        finally:
            if outcome.scratch is not None:
                shutil.rmtree(outcome.scratch, ignore_errors=True)


def _materialise(job: Job, payload: Payload, folder: Path) -> Job:
    inputs = folder / "input"
    inputs.mkdir()
    for name, data in payload.items():
        (inputs / name).write_bytes(data)
    if job.parts:
        return replace(job, source=inputs, parts=tuple(inputs / p.name for p in job.parts))
    return replace(job, source=inputs / job.source.name)


def _hand_back(outcome: Outcome, shared_out: str | None, index: int) -> Outcome:
    if not isinstance(outcome.pdf, Path) or not isinstance(outcome.txt, Path):
        return replace(outcome, scratch=None)  # a failure: nothing to hand back
    if shared_out is None:
        return replace(
            outcome, pdf=outcome.pdf.read_bytes(), txt=outcome.txt.read_bytes(), scratch=None
        )
    folder = Path(shared_out) / f"job-{index}"
    folder.mkdir(parents=True, exist_ok=True)
    pdf, txt = folder / "output.pdf", folder / "sidecar.txt"
    shutil.copyfile(outcome.pdf, pdf)
    shutil.copyfile(outcome.txt, txt)
    return replace(outcome, pdf=pdf, txt=txt, scratch=folder)
