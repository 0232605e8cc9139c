"""The seam between the pipeline and whatever runs per-file work.

The pipeline submits jobs, collects outcomes as they finish, and closes the executor at
the end. An executor decides where and when each job runs (the local process pool packs
page slots into one CPU budget; a cluster executor would send jobs to other machines); it
never touches OUTDIR or the journal: outcomes carry the output files back (``Outcome``).
"""

from __future__ import annotations

from typing import Protocol

from scan2pdf.core.jobs import Job, Outcome, Tick


class Executor(Protocol):
    @property
    def capacity(self) -> int:
        """How many jobs it wants submitted and not yet collected before it is fed more."""
        ...

    @property
    def in_flight(self) -> int:
        """Jobs submitted whose outcomes have not been collected yet."""
        ...

    def submit(self, job: Job) -> None:
        """Queue ``job``; its ``Outcome`` (with the job's ``index``) comes from ``collect``."""
        ...

    def collect(self, timeout: float, more_coming: bool) -> list[Outcome]:
        """Outcomes finished since the last call, waiting up to ``timeout`` s for one.

        ``more_coming`` False says the feed has nothing more for now: the jobs in hand may
        share the free capacity (a long file gets the idle cores for its pages).
        """
        ...

    def ticks(self) -> list[Tick]:
        """Jobs started and pages done since the last call (for progress; may be empty)."""
        ...

    def cancel(self, index: int | None = None) -> None:
        """Stop job ``index`` (or every job) now; no outcome comes for what was cancelled."""
        ...

    def close(self) -> None:
        """Release the workers; stops anything still running. Safe to call twice."""
        ...
