"""A fake engine for scheduler unit tests: exact, fast, and able to crash on purpose.

It runs in real worker processes (so it lives in an importable module) and logs what it
did to a file next to the job's input: ``<pid> <start> <end> <slots>`` per job, with
times from CLOCK_MONOTONIC, which is the same clock in every process.
"""

from __future__ import annotations

import os
import time

from scan2pdf.core.jobs import Job, Outcome
from scan2pdf.core.report import FileResult


def fake_work(job: Job, slots: int) -> Outcome:
    start = time.monotonic()
    (job.source.parent / f"{job.source.name}.pid").write_text(str(os.getpid()))
    name = job.source.name
    if name.startswith("crash"):
        os._exit(70)  # as abrupt as a segfault or the OOM killer
    time.sleep(60 if name.startswith("slow") else 0.3)
    end = time.monotonic()
    with (job.source.parent / "log").open("a") as log:
        log.write(f"{os.getpid()} {start} {end} {slots}\n")
    return Outcome(FileResult(job.source, "converted", pages=1, ocr_pages=1), index=job.index)
