"""A fake engine for scheduler unit tests: exact, fast, and able to crash on purpose.

It runs in real worker processes (so it lives in an importable module), takes the
pool's shared slots as the real engine does (``execution/slots.py``), and logs what it
did to a file next to the job's input: ``<pid> <start> <end> <jobs> <name>`` per span
holding a slot, with times from CLOCK_MONOTONIC, which is the same clock in every process.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from scan2pdf.core.jobs import Job, Outcome
from scan2pdf.core.report import FileResult
from scan2pdf.execution.slots import slot, slot_lent


def fake_work(job: Job, slots: int) -> Outcome:
    """One page's worth of work (0.3 s) in one slot, as a one-page file."""
    (job.source.parent / f"{job.source.name}.pid").write_text(str(os.getpid()))
    with (job.source.parent / "started").open("a") as started:
        started.write(f"{job.source.name}\n")
    name = job.source.name
    if name.startswith("crash"):
        os._exit(70)  # as abrupt as a segfault or the OOM killer
    with slot():
        start = time.monotonic()
        time.sleep(60 if name.startswith("slow") else 0.3)
        _log(job.source.parent, start, slots, name)
    return Outcome(FileResult(job.source, "converted", pages=1, ocr_pages=1), index=job.index)


def fake_pages(job: Job, slots: int) -> Outcome:
    """A file of ``job.work.pages`` pages as the real engine runs it: 0.05 s of its own
    work in its slot, then its pages (0.3 s each) on up to ``slots`` threads, each page
    in a slot of its own, the file's slot lent out meanwhile (``worker/pageslots.py``)."""
    folder = job.source.parent

    def page(_: int) -> None:
        with slot():
            start = time.monotonic()
            time.sleep(0.3)
            _log(folder, start, slots, job.source.name)

    with slot():
        start = time.monotonic()
        time.sleep(0.05)
        _log(folder, start, slots, job.source.name)
        with slot_lent(), ThreadPoolExecutor(slots) as threads:
            list(threads.map(page, range(job.work.pages)))
    pages = job.work.pages
    return Outcome(FileResult(job.source, "converted", pages=pages, ocr_pages=pages), job.index)


def _log(folder: Path, start: float, slots: int, name: str = "-") -> None:
    with (folder / "log").open("a") as log:
        log.write(f"{os.getpid()} {start} {time.monotonic()} {slots} {name}\n")
