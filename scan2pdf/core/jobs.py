"""What flows through the engine: inputs from a feed, jobs for an executor, their outcomes.

An input has three things kept apart:

- its **identity**: what the journal, the report, notes and ``.error.json`` speak of. For a
  file under an INPUT it is the file's absolute path; in watch, the absolute path where it
  was dropped in the inbox (never the claim it is read from); an archive member's is
  ``/path/archive.zip!/member/path``; a folder of page images made one document
  (``--group-pages``), the folder's path;
- the **path its bytes are read from** (``source``): the file itself, a claim, a member
  extracted into staging (only once it is to be converted), the folder of pages;
- its **content hash**, which the pipeline takes (``Job.content``).

Feeds yield ``Input``; the pipeline names its outputs (``core/naming.py``), decides with
the journal whether it needs work, and hands a ``Job`` to an executor, which answers with
an ``Outcome``. An outcome carries its output files as paths on storage the coordinator
can read (a local worker's scratch) or as bytes (a worker on another machine).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Literal

from scan2pdf.errors import Scan2PdfError

if TYPE_CHECKING:
    from scan2pdf.core.archives import Member
    from scan2pdf.core.options import Options
    from scan2pdf.core.report import FileResult

# "special": a FIFO, device or socket, which is never opened (reading a FIFO would wait
# for a writer forever). "pages": a folder of page images made one document.
# "archive": a zip or tar where archives are not read as folders (the watch inbox).
Kind = Literal["pdf", "image", "pages", "archive", "unsupported", "unreadable", "special"]


@dataclass(frozen=True, slots=True)
class Work:
    """How much OCR an input is, guessed from headers alone (``core/workload.py``)."""

    pages: int = 1
    mpixels: float = 0.0


@dataclass(frozen=True, slots=True)
class Input:
    """One input as a feed finds it, before it is named or looked up in the journal."""

    identity: str
    source: Path
    kind: Kind
    # Where its outputs go, relative to OUTDIR, and the file name they are named after
    # (``scan.tif`` gives ``scan.pdf``, or ``scan.tif.pdf`` when that is taken).
    folder: PurePath
    name: str
    work: Work = field(default_factory=Work)
    # Options for this input alone (retry runs each failure with the options it had);
    # None: the run's.
    options: Options | None = None
    # An archive member: where its bytes are, extracted only when it is converted.
    member: Member | None = None
    # The page images of a "pages" input, in page order.
    parts: tuple[Path, ...] = ()
    # Why this input cannot be converted, found while it was discovered (an unsafe or
    # damaged archive entry): reported as is, never converted.
    problem: Scan2PdfError | None = None


@dataclass(frozen=True, slots=True)
class Job:
    """One input the pipeline decided to convert, with its final output paths."""

    identity: str
    source: Path
    kind: Kind
    pdf: Path
    txt: Path
    options: Options
    # Position in the run, unique: executors and the journal's in-flight rows key on it.
    index: int = 0
    work: Work = field(default_factory=Work)
    # The page images of a "pages" job, in page order (``source`` is their folder).
    parts: tuple[Path, ...] = ()
    # What the PDF's XMP says it came from (``worker/stamp.py``): the source's SHA-256
    # (a folder document's: of its pages), its name relative to its INPUT folder (never
    # an absolute path: a published PDF leaves this machine) and the options fingerprint.
    content: str | None = None
    origin: str = ""
    fingerprint: str = ""


# An output file as a worker hands it back: a path the coordinator can read, or its bytes.
Artifact = Path | bytes


@dataclass(frozen=True, slots=True)
class Outcome:
    """A worker's answer: the result and, for a success, the two output files."""

    result: FileResult
    pdf: Artifact | None = None
    txt: Artifact | None = None
    # A local worker's folder to remove once the outputs are published.
    scratch: Path | None = None
    index: int = 0


@dataclass(frozen=True, slots=True)
class Tick:
    """Word from a worker about a job in progress: it ``started``, or ``pages`` are done."""

    index: int
    started: bool = False
    pages: int = 0
