"""``scan2pdf verify``: are the published outputs still what was published?

A fixity audit of one output folder, read-only: the journal is read from an in-memory
snapshot (``Journal.snapshot``: no -wal or -shm is made, so it works beside a running
service, on a read-only mount and on a full disk), and every output is only read.

For each input whose outputs count as published, each output must exist, have the size
and SHA-256 the journal recorded when it was published, and (a PDF) as many pages as the
journal says. Findings, by what a person does about them:

- ``missing``: the file is gone. Convert its input again (``scan2pdf convert`` with the
  same INPUT redoes it), or restore the file from a backup.
- ``truncated``: shorter than published (a copy cut short, a full disk). As for missing.
- ``changed``: other bytes than published (edited, replaced, damaged on disk). Restore
  it, or convert again; the next run does so by itself, with a note.
- ``stale source`` (with ``sources``): the input itself no longer hashes as it did when it
  was converted, or is gone. Not damage to the archive: the outputs are still those of
  the scan as it was; convert again to follow the new one.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pikepdf

from scan2pdf.core.archives import archive_of, identity_path
from scan2pdf.state.journal import Entry, Journal, content_hash
from scan2pdf.state.publish import Digest, digest_of

MISSING, TRUNCATED, CHANGED, STALE = "missing", "truncated", "changed", "stale source"


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing that is not as published: ``path`` (an output, or a source), ``what``
    (one of the four above), a sentence of ``detail`` and the input it belongs to."""

    path: Path
    what: str
    detail: str
    input: str

    def to_json(self) -> dict[str, str]:
        return {"path": str(self.path), "what": self.what, "detail": self.detail,
                "input": self.input}


@dataclass
class Tally:
    """What the audit looked at: outputs checked, and those without hashes to check."""

    outputs: int = 0
    unhashed: int = 0
    sources: int = 0
    sources_unchecked: int = 0


def audit(
    journal: Journal, tally: Tally, *, sources: bool = False, stop: threading.Event | None = None
) -> Iterator[Finding]:
    """Every finding in the journal's published outputs (and, with ``sources``, inputs)."""
    for entry in journal.published_rows():
        if stop is not None and stop.is_set():
            raise KeyboardInterrupt
        yield from _outputs(entry, tally)
        if sources:
            yield from _source(entry, tally)


def _outputs(entry: Entry, tally: Tally) -> Iterator[Finding]:
    published = entry.published
    if published is None:  # journalled before outputs were hashed: presence only
        for name in (entry.output, entry.sidecar):
            if name is None:
                continue
            tally.unhashed += 1
            if not os.path.exists(name):
                yield Finding(Path(name), MISSING, "the file is not there", entry.identity)
        return
    for path, digest in published.items():
        tally.outputs += 1
        found = digest_of(path)
        problem = _compare(path, digest, found)
        if problem is None and entry.output is not None and path == Path(entry.output):
            problem = _pages(path, entry.pages)
        if problem is not None:
            yield Finding(path, *problem, entry.identity)


def _compare(path: Path, digest: Digest, found: Digest | None) -> tuple[str, str] | None:
    if found is None:
        if path.exists():
            return CHANGED, "it cannot be read as a file"
        return MISSING, "the file is not there"
    if found == digest:
        return None
    if found.size < digest.size:
        return TRUNCATED, f"{found.size} bytes of the {digest.size} published"
    return CHANGED, f"SHA-256 {found.sha256[:16]}..., published as {digest.sha256[:16]}..."


def _pages(pdf: Path, pages: int | None) -> tuple[str, str] | None:
    """The page count the journal has for the PDF (the bytes are as published, so this
    can only differ if the journal's count is wrong: said rather than trusted)."""
    if pages is None:
        return None
    try:
        with pikepdf.open(pdf) as opened:
            found = len(opened.pages)
    except (pikepdf.PdfError, OSError) as exc:
        return CHANGED, f"it does not open as a PDF ({exc})"
    if found != pages:
        return CHANGED, f"{found} pages, but the journal has {pages}"
    return None


def _source(entry: Entry, tally: Tally) -> Iterator[Finding]:
    """The input as it is now against the content hash it was converted from. Archive
    members and folders of pages are not re-read here (counted as unchecked)."""
    if entry.content is None or archive_of(entry.identity) is not None:
        tally.sources_unchecked += 1
        return
    path = _where_now(identity_path(entry.identity))
    if path is None:
        tally.sources += 1
        yield Finding(
            identity_path(entry.identity), STALE, "it is gone (moved, renamed or deleted)",
            entry.identity,
        )
        return
    if path.is_dir():
        tally.sources_unchecked += 1
        return
    tally.sources += 1
    try:
        now = content_hash(path)
    except OSError as exc:
        yield Finding(path, STALE, f"it cannot be read ({exc.strerror or exc})", entry.identity)
        return
    if now != entry.content:
        yield Finding(path, STALE, "its content changed since it was converted", entry.identity)


def _where_now(path: Path) -> Path | None:
    """Where a source is: at its path, or (a hot folder's drop) in its inbox's default
    done folder, ``INBOX/.scan2pdf/done/<rel>``, where the service moved it."""
    if os.path.lexists(path):
        return path
    for inbox in path.parents:
        done = inbox / ".scan2pdf" / "done" / path.relative_to(inbox)
        if done.is_file():
            return done
    return None
