"""What an input needs, decided with the journal before any worker sees it.

For each ``Input`` a feed yields, one of:

- **report it at once**: not a scan (``unsupported``), cannot be read, or up to date (the
  same file with the same options was converted and both outputs are still there: a
  ``stat`` for files of a tree, the content hash for a new drop in watch);
- **reuse** the outputs of identical content converted before under another identity:
  copied, never OCRed again. In convert, when the rename is evident (the earlier input's
  path is gone and lay under one of this run's INPUT folders), they are moved instead,
  and the earlier input is recorded as ``moved``. Outputs are never moved in watch. The
  pipeline does the copying or moving (``Reused``), through the journal's
  ``publishing`` state like a conversion;
- **convert** it: a ``Job`` with its output names (``core/naming.py``) and journal row.
  An archive member is extracted into staging only now (``members/<n>/``); the pipeline
  hands the job back to ``release`` once it is done, which removes the copy.

Which journal row an input is recorded in: a file of a tree keeps its row across runs (it
is the same input, whose content may change); in watch, a name dropped again where an
input was converted, or while the first is still converting, is a new input with a new
row, whose outputs get a name of their own.

Earlier outputs are trusted only while they are what was published: the journal keeps
each output's size and SHA-256, and "up to date", a copy and a move all check them
first. An output changed since (edited, replaced, cut, rotted) is never handed on: the
input is converted afresh, with a note naming the output that changed.
"""

from __future__ import annotations

import errno
import itertools
import os
import shutil
import stat
import threading
from dataclasses import dataclass, replace
from pathlib import Path

from scan2pdf.core.archives import archive_of, identity_path
from scan2pdf.core.groups import group_hash, group_seen
from scan2pdf.core.jobs import Input, Job
from scan2pdf.core.naming import assign, natural_name, sidecar_of
from scan2pdf.core.options import Options
from scan2pdf.core.report import FileResult, failed
from scan2pdf.core.sniff import mostly_holes
from scan2pdf.errors import (
    BadNameError,
    DiskFullError,
    FileError,
    NotAFileError,
    UnreadableInputError,
)
from scan2pdf.state.journal import Entry, Journal, Seen, content_hash
from scan2pdf.state.publish import Digest, changed, digest_of, is_up_to_date, resized

UNSUPPORTED_MESSAGE = "Not a PDF or an image that Pillow can open, so there is nothing to convert."
ARCHIVE_MESSAGE = (
    "It is a zip or tar archive, and watch does not read archives. Convert it with "
    "scan2pdf convert ARCHIVE -o OUTDIR, or unpack it into the inbox."
)
UP_TO_DATE_MESSAGE = "Already converted from this content with these options; --force redoes it."
NAME_TAKEN_MESSAGE = (
    "Another input's outputs already have this name, and --on-conflict skip leaves it alone; "
    "rename the file, or use --on-conflict suffix."
)
ON_CONFLICT = ("suffix", "overwrite", "skip")
BAD_NAME = "Its name is not valid UTF-8, which the journal, the report and the outputs need."


@dataclass(frozen=True, slots=True)
class FeedTraits:
    """What the pipeline may assume about where inputs come from."""

    # A rename is evident for an earlier input that lay under one of these and is gone.
    roots: tuple[Path, ...] = ()
    # Files given as INPUT themselves: an output is never written over one of them.
    files: tuple[Path, ...] = ()
    # Each input is a new drop (watch): a name used before is another input's, a file
    # already at an output path is someone else's, and an old mtime proves nothing.
    drops: bool = False


# Content hash and options fingerprint: what makes two inputs' outputs the same.
ContentKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Planned:
    """A job to run, the journal row it is recorded in, and notes for its result (why
    earlier outputs were not used)."""

    job: Job
    row: int
    key: ContentKey
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Reused:
    """Outputs of identical content to copy (or, where the rename is evident, move) to
    this input's names, as ``result`` says once done; ``moved_from`` is the earlier PDF
    when they are moved. ``twin`` is the earlier input, whose outputs must still be what
    was published (``published``); ``row`` the journal row of this input, ``job`` what
    converts it instead should the copy find them changed."""

    result: FileResult
    moved_from: Path | None
    job: Job
    row: int
    key: ContentKey
    twin: Entry
    published: dict[Path, Digest]


def changed_note(path: Path | str) -> str:
    return (
        f"the earlier output {path} changed since it was published (edited, replaced or "
        "damaged), so it was not used: converted afresh"
    )


@dataclass(frozen=True, slots=True)
class Deferred:
    """The same content with the same options is being converted right now: decide again
    once that is done (its outputs are then copied instead of OCRing it twice)."""

    key: ContentKey


class Triage:
    def __init__(
        self,
        journal: Journal,
        outdir: Path,
        staging: Path,
        traits: FeedTraits,
        on_conflict: str = "suffix",
        *,
        dry_run: bool = False,
        stop: threading.Event | None = None,
    ) -> None:
        self.journal = journal
        self.stop = stop
        self.outdir = outdir
        self.staging = staging
        self.traits = traits
        self.on_conflict = on_conflict
        self._counter = itertools.count()
        self._fingerprints: dict[Options, str] = {}
        self._converting: set[ContentKey] = set()
        # Journal rows of jobs in flight: a name dropped again meanwhile is a new input.
        self._flying: set[int] = set()
        self._inputs = frozenset(os.path.realpath(p) for p in traits.files)
        self._members = staging / "members"
        # A dry run (``core/dryrun.py``) decides against an in-memory copy of the journal
        # and never extracts, copies or moves; it hashes only files that could be a
        # converted input's twin (the same size), so it costs about what discovery does.
        self.dry_run = dry_run
        self._sizes = journal.converted_sizes() if dry_run else set[int]()

    def fingerprint(self, options: Options) -> str:
        known = self._fingerprints.get(options)
        if known is None:
            known = self._fingerprints[options] = options.fingerprint()
            self.journal.remember_options(known, options.to_dict())
        return known

    def landed(self, key: ContentKey, row: int) -> None:
        """The job converting ``key`` in journal row ``row`` is over (converted or not)."""
        self._converting.discard(key)
        self._flying.discard(row)

    def convert_instead(self, reused: Reused, note: str) -> Planned:
        """The copy found the twin's outputs changed: convert the input after all."""
        self._converting.add(reused.key)
        self._flying.add(reused.row)
        return Planned(reused.job, reused.row, reused.key, (note,))

    def release(self, job: Job) -> None:
        """The job is over: remove its member's extracted copy, if it had one."""
        if job.source.is_relative_to(self._members):
            shutil.rmtree(job.source.parent, ignore_errors=True)

    def decide(self, item: Input, options: Options) -> FileResult | Planned | Deferred | Reused:
        if item.problem is not None:
            return failed(item.identity, item.problem)
        if not _decodable(item.identity):
            return failed(_readable(item.identity), BadNameError(BAD_NAME))
        if item.kind == "unsupported":
            return FileResult(Path(item.identity), "skipped", "unsupported", UNSUPPORTED_MESSAGE)
        if item.kind == "archive":
            return FileResult(Path(item.identity), "skipped", "unsupported", ARCHIVE_MESSAGE)
        if item.kind == "unreadable":
            return failed(item.identity, UnreadableInputError(_why_unreadable(item.source)))
        if item.kind == "special":
            return failed(item.identity, NotAFileError("It is a named pipe, device or socket."))
        try:
            seen = _seen(item)
            decided = self._decide(item, options, seen)
        except DiskFullError:
            raise  # the run stops; not this input's fault
        except FileError as exc:  # an archive member that could not be extracted
            return failed(item.identity, exc)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise disk_full(exc) from exc
            why = f" ({exc.strerror})" if exc.strerror else ""
            return failed(item.identity, UnreadableInputError(f"The file cannot be read{why}."))
        return decided

    def _decide(
        self, item: Input, options: Options, seen: Seen
    ) -> FileResult | Planned | Deferred | Reused:
        if item.member is None and not item.parts:
            holes = mostly_holes(item.source)
            if holes is not None:
                return failed(item.identity, holes)
        fingerprint = self.fingerprint(options)
        latest = self.journal.latest(item.identity)
        folder = self.outdir / item.folder
        content: str | None = None
        notes: tuple[str, ...] = ()
        # An earlier row whose outputs were found changed: not looked at (or read) again.
        distrust: Entry | None = None
        if self.traits.drops:
            content = _content(item, item.source, self.stop)
            if (
                not options.force
                and latest is not None
                and latest.done
                and (latest.content, latest.fingerprint) == (content, fingerprint)
            ):
                gone = self._unchanged(latest)
                if gone is None:
                    self.journal.seen_again(latest.id, seen)  # the same file, dropped again
                    return _up_to_date(item, latest)
                notes, distrust = (changed_note(gone),), latest
            # Its own row only while that row never produced outputs (it failed, or was
            # interrupted) and is not in flight; after a conversion, or while one runs,
            # the name holds a new input.
            own = (
                latest
                if latest is not None
                and latest.status in ("failed", "running")
                and latest.id not in self._flying
                else None
            )
        else:
            own = latest
        pdf = self._name(item, folder, own)
        if pdf is None:
            return FileResult(Path(item.identity), "skipped", "name_taken", NAME_TAKEN_MESSAGE)
        txt = sidecar_of(pdf)
        if not options.force and not self.traits.drops:
            plain = item.member is None and not item.parts
            if own is None and plain and is_up_to_date(item.source, pdf, txt):
                # Outputs from before the journal: adopted, so the names stay this input's.
                row = self.journal.started(None, item.identity, seen, None, fingerprint, pdf, txt)
                self.journal.finished(row, "converted", None, None)
                return _up_to_date(item, None, pdf)
            if (
                own is not None
                and own.done
                and own.seen == seen
                and own.fingerprint == fingerprint
                and own.output == str(pdf)
            ):
                gone = self._unchanged(own)
                if gone is None:
                    return _up_to_date(item, own)
                notes, distrust = (changed_note(gone),), own
        index = next(self._counter)
        source = item.source
        if self.dry_run:
            if content is None:
                content = self._dry_content(item, seen)
        elif item.member is not None:  # its bytes, now that they are needed
            source = item.member.extract(self._members / str(index))
        if content is None:
            content = _content(item, source, self.stop)
        job = Job(
            item.identity,
            source,
            item.kind,
            pdf,
            txt,
            options,
            index,
            item.work,
            item.parts,
            content=content,
            origin=self._origin(item),
            fingerprint=fingerprint,
        )
        key = (content, fingerprint)
        if not options.force:
            reused: FileResult | Reused | Deferred | None
            reused, why = self._reuse(job, own, seen, content, fingerprint, distrust)
            notes = (*notes, *why)
            if reused is None and key in self._converting:
                reused = Deferred(key)  # decided again (and extracted again) once it lands
            if isinstance(reused, Reused) and notes:
                told = replace(reused.result, notes=(*notes, *reused.result.notes))
                reused = replace(reused, result=told)
            if reused is not None:
                if not isinstance(reused, Reused):
                    self.release(job)
                return reused
        self._converting.add(key)
        row = self.journal.started(
            own.id if own else None, item.identity, seen, content, fingerprint, pdf, txt
        )
        self._flying.add(row)
        return Planned(job, row, key, notes)

    def _origin(self, item: Input) -> str:
        """The input's name relative to its INPUT folder (or, given as a file, to the
        folder it is in): what a published PDF may say of it, never an absolute path."""
        identity = item.identity
        for root in self.traits.roots:
            top = str(root)
            if identity == top:
                return root.name
            if identity.startswith(top.rstrip("/") + "/"):
                return identity[len(top.rstrip("/")) + 1 :]
        archive = archive_of(identity)
        outer = str(archive) if archive is not None else identity
        base = os.path.dirname(outer)
        return identity[len(base) + 1 :] if base and identity.startswith(base) else item.name

    def _unchanged(self, entry: Entry) -> Path | None:
        """None when ``entry``'s outputs are what was published; else the first that is
        not. Outputs journalled before they were hashed are bound to what they are now."""
        published = entry.published
        if published is None:
            if self.dry_run or entry.output is None or entry.sidecar is None:
                return None
            found: dict[Path, Digest] = {}
            for path in (Path(entry.output), Path(entry.sidecar)):
                digest = digest_of(path)
                if digest is None:
                    return path
                found[path] = digest
            self.journal.bind(entry.id, found)
            return None
        # A dry run weighs sizes only: it reads no more than discovery does.
        return resized(published) if self.dry_run else changed(published)

    def _dry_content(self, item: Input, seen: Seen) -> str:
        """The content hash where it may find a twin; else a stand-in no twin has."""
        if item.member is None and seen.size in self._sizes:
            return _content(item, item.source)
        return f"unknown:{item.identity}"

    def _name(self, item: Input, folder: Path, own: Entry | None) -> Path | None:
        """Output path by the one rule; None when --on-conflict skip says to leave it."""
        own_row = own.id if own is not None else None

        def blocked(pdf: Path) -> bool:
            """A folder there, or an input of this run: never written over."""
            return any(_in_the_way(p) or self._is_input(p) for p in (pdf, sidecar_of(pdf)))

        def taken(pdf: Path) -> bool:
            txt = sidecar_of(pdf)
            if blocked(pdf):
                return True
            holder = self.journal.owner(pdf)
            if holder is not None:
                return holder.id != own_row
            # Not in the journal: in watch, a file already there is someone else's.
            return self.traits.drops and (pdf.exists() or txt.exists())

        natural = folder / natural_name(item.name)
        if (
            self.traits.drops
            and self.on_conflict != "suffix"
            and taken(natural)
            and not (self.on_conflict == "overwrite" and blocked(natural))
        ):
            if self.on_conflict == "skip":
                return None
            holder = self.journal.owner(natural)  # overwrite: the earlier input loses them
            if holder is not None:
                self.journal.retire(holder.id, "replaced", f"outputs replaced by {item.identity}")
            return natural
        return assign(folder, item.name, taken, item.source)

    def _reuse(
        self,
        job: Job,
        own: Entry | None,
        seen: Seen,
        content: str,
        fingerprint: str,
        distrust: Entry | None = None,
    ) -> tuple[FileResult | Reused | None, tuple[str, ...]]:
        """Same content and options converted before: its outputs, not OCR again; with
        notes on earlier outputs that could not be used (``distrust``'s are noted already)."""
        twin = self.journal.converted_twin(content, fingerprint)
        if twin is None or (distrust is not None and twin.id == distrust.id):
            return None, ()
        assert twin.output is not None and twin.sidecar is not None
        old_pdf = Path(twin.output)
        if own is not None and twin.id == own.id:
            if old_pdf != job.pdf:
                return None, ()  # its own outputs under another name: convert it afresh
            gone = self._unchanged(own)
            if gone is not None:
                return None, (changed_note(gone),)
            self.journal.seen_again(own.id, seen)  # touched, not changed
            return _up_to_date(job, own), ()
        published = twin.published
        if published is None:
            return None, ()  # outputs never hashed: nothing to hold a copy to
        moved = self._rename_evident(twin)
        # A move hands on the files themselves: they are checked now. A copy is checked
        # as it is made (``state/publish.py``), so its bytes are read once.
        gone = changed(published) if moved and not self.dry_run else resized(published)
        if gone is not None:
            return None, (changed_note(gone),)
        row = self.journal.started(
            own.id if own else None, job.identity, seen, content, fingerprint, job.pdf, job.txt
        )
        how = "moved" if moved else "copied"
        result = FileResult(
            Path(job.identity),
            "converted",
            output=job.pdf,
            sidecar=job.txt,
            pages=twin.pages,
            ocr_pages=0,
            notes=(
                f"same content as {twin.identity}, converted before: "
                f"its outputs were {how}, not OCRed again",
            ),
        )
        return (
            Reused(
                result,
                old_pdf if moved else None,
                job,
                row,
                (content, fingerprint),
                twin,
                published,
            ),
            (),
        )

    def _is_input(self, path: Path) -> bool:
        """Whether ``path`` is an input of this run: a file given as INPUT, or one under an
        INPUT folder that lies inside OUTDIR (other INPUT folders never hold outputs:
        OUTDIR inside one of them is not read)."""
        if not os.path.lexists(path):
            return False
        if self._inputs and os.path.realpath(path) in self._inputs:
            return True
        return any(
            root in path.parents and not self.outdir.is_relative_to(root)
            for root in self.traits.roots
        )

    def _rename_evident(self, twin: Entry) -> bool:
        if self.traits.drops or not self.traits.roots or archive_of(twin.identity) is not None:
            return False  # an archive member is never "gone" because its path is not a file
        earlier = identity_path(twin.identity)
        if earlier.exists():
            return False
        return any(root == earlier or root in earlier.parents for root in self.traits.roots)


def _up_to_date(item: Input | Job, entry: Entry | None, pdf: Path | None = None) -> FileResult:
    output = Path(entry.output) if entry and entry.output else pdf
    sidecar = Path(entry.sidecar) if entry and entry.sidecar else (sidecar_of(pdf) if pdf else None)
    return FileResult(
        Path(item.identity), "skipped", "up_to_date", UP_TO_DATE_MESSAGE, output, sidecar
    )


def _in_the_way(path: Path) -> bool:
    """Something that is not a file is at ``path`` (a folder): no output can go there."""
    try:
        return not stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return os.path.islink(path)  # a dangling or looping link: not ours to replace


def _decodable(identity: str) -> bool:
    try:
        identity.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _readable(identity: str) -> str:
    """A name that is not UTF-8, shown with its odd bytes escaped (``bad-\\xff.png``)."""
    return identity.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _why_unreadable(path: Path) -> str:
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "It is a symbolic link that leads back to itself (a loop)."
        if exc.errno == errno.ENOENT and os.path.islink(path):
            return "It is a symbolic link to a file that does not exist."
        if exc.strerror:
            return f"The file cannot be read ({exc.strerror})."
    return "The file cannot be read."


def _seen(item: Input) -> Seen:
    if item.member is not None:
        return item.member.seen
    if item.parts:
        return group_seen(item.parts)
    return Seen.of(item.source)


def _content(item: Input, source: Path, stop: threading.Event | None = None) -> str:
    """The content hash: of every page for a folder document, else of the bytes at
    ``source`` (the file, or an archive member's extracted copy)."""
    if item.parts:
        return group_hash(item.parts)
    return content_hash(source, stop)


def disk_full(exc: OSError) -> DiskFullError:
    where = f" ({exc.filename})" if exc.filename else ""
    return DiskFullError(f"No space left on the device{where}.")
