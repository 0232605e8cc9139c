"""``convert --dry-run``: what a run would do with each input, without doing any of it.

The same discovery and the same decisions as a run (``core/resume.py``'s ``Triage``), made
against an in-memory copy of the journal: nothing is OCRed, extracted, copied or moved,
and nothing is written to OUTDIR (not even its folder). Two things a run learns only by
reading bytes are left out: an archive member's content is not compared with earlier
conversions (it would have to be extracted), and a file is hashed only when a converted
input of the same size exists (the only files that can reuse outputs).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from scan2pdf.core.archives import archive_of
from scan2pdf.core.discover import discover, per_folder
from scan2pdf.core.options import Options
from scan2pdf.core.report import FileResult
from scan2pdf.core.resume import Deferred, FeedTraits, Planned, Reused, Triage
from scan2pdf.state.journal import Journal, default_path

# What would happen, as the listing spells it.
CONVERT, GROUP, UP_TO_DATE, REUSE, MOVE, SKIP, FAIL = (
    "convert",
    "group",
    "up-to-date",
    "reuse",
    "move",
    "skip",
    "fail",
)


@dataclass(frozen=True, slots=True)
class Step:
    """One input's fate: ``action``, where its outputs would be, and why (a reason code
    and a sentence, for skips and failures; the pages, for a grouped folder)."""

    action: str
    input: str
    output: Path | None = None
    reason: str | None = None
    detail: str | None = None
    pages: int = 0


def dry_run(
    inputs: Sequence[Path],
    outdir: Path,
    options: Options,
    *,
    group_pages: bool = False,
    journal_path: Path | None = None,
    folder_options: Mapping[str, Options] | None = None,
) -> Iterator[Step]:
    """Yield a ``Step`` per input, in the order a run would take them."""
    out = Path(os.path.abspath(outdir))
    journal = Journal.snapshot(journal_path or default_path(out))
    roots = tuple(Path(os.path.abspath(p)) for p in inputs if p.is_dir())
    files = tuple(Path(os.path.abspath(p)) for p in inputs if not p.is_dir())
    staging = out / ".scan2pdf" / "staging" / "dry-run"  # named, never made
    traits = FeedTraits(roots=roots, files=files)
    triage = Triage(journal, out, staging, traits, dry_run=True)
    try:
        found = discover(inputs, out, group_pages=group_pages)
        for item in per_folder(found, folder_options or {}):
            decided = triage.decide(item, item.options or options)
            yield _step(item.identity, decided)
    finally:
        journal.close()


def _step(identity: str, decided: FileResult | Planned | Deferred | Reused) -> Step:
    if isinstance(decided, Planned):
        job = decided.job
        if job.kind == "pages":
            return Step(GROUP, identity, job.pdf, pages=len(job.parts))
        # An archive member's pages are not known before it is extracted.
        pages = 0 if archive_of(identity) is not None else job.work.pages
        return Step(CONVERT, identity, job.pdf, pages=pages)
    if isinstance(decided, Deferred):
        return Step(REUSE, identity, None, detail="same content as an input before it")
    if isinstance(decided, Reused):
        result = decided.result
        how = MOVE if decided.moved_from is not None else REUSE
        return Step(how, identity, result.output, detail=result.notes[0] if result.notes else None)
    if decided.reason == "up_to_date":
        return Step(UP_TO_DATE, identity, decided.output)
    action = FAIL if decided.status == "failed" else SKIP
    return Step(action, identity, None, decided.reason, decided.message)
