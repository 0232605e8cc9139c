"""Zip and tar archives read as folders, and hostile until proven otherwise.

A file named ``*.zip``, ``*.tar``, ``*.tar.gz``/``*.tgz``, ``*.tar.bz2``/``*.tbz2`` or
``*.tar.xz``/``*.txz`` (given as INPUT or found in an input folder) is read as a folder:
member ``dir/page.tif`` of ``<rel>/box.zip`` has its outputs at
``OUTDIR/<rel>/box/dir/page.pdf``. Its identity (journal, report) is
``/abs/path/box.zip!/dir/page.tif``. Members are taken in the order the archive stores them
(the same archive always gives the same names). An archive inside an archive is read too,
one level deep (``box.zip!/inner.zip!/page.tif``); deeper ones are refused.

Nothing is extracted while an archive is listed: a member's bytes are copied into the
run's staging folder only when it is to be converted, and removed once it is done, so at
most as many members are on disk as files are in flight. A member whose size, timestamp
and CRC are those the journal has is up to date without being read.

What is refused (reason ``unsafe_archive``; the rest of the archive goes on where that is
safe), with the limits in ``LIMITS``:

- names that could land outside the archive's folder: absolute paths, ``..`` parts,
  drive letters (``C:``), backslashes, control characters;
- symbolic links, hard links, devices and FIFOs; a second entry with a name already seen;
- a member declaring more than ``member_bytes`` bytes, or compressed more than ``ratio``
  to 1 while larger than ``ratio_from`` bytes (a zip bomb's signature; scans do not
  compress that well);
- the rest of an archive once it passes ``entries`` entries or ``total_bytes`` declared
  bytes, or once its members add up to more than ``ratio`` times the archive's own size
  (a compressed tar says no sizes per entry); an archive nested deeper than ``depth``.

Encrypted zip members fail as ``encrypted``. A damaged or truncated archive: what can be
read is converted, and the archive itself fails as ``corrupt`` saying where reading stopped.
"""

from __future__ import annotations

import re
import shutil
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Literal

from scan2pdf.core.archive_read import ArchiveDamaged, Entry, Reader, open_reader
from scan2pdf.core.jobs import Input
from scan2pdf.core.sniff import is_ignored, sniff_bytes
from scan2pdf.errors import (
    CorruptInputError,
    EncryptedInputError,
    FileError,
    UnsafeArchiveError,
)
from scan2pdf.state.journal import Seen
from scan2pdf.state.scratch import new_scratch

ArchiveKind = Literal["zip", "tar"]
# Longest first: "x.tar.gz" is a tar, not a ".gz".
_SUFFIXES: tuple[tuple[str, ArchiveKind], ...] = (
    (".tar.gz", "tar"),
    (".tar.bz2", "tar"),
    (".tar.xz", "tar"),
    (".tgz", "tar"),
    (".tbz2", "tar"),
    (".txz", "tar"),
    (".tar", "tar"),
    (".zip", "zip"),
)
# Enough of a member to tell its kind (sniff.py reads the first 1 KiB, Pillow a header).
_HEAD = 64 * 1024
# Folders that archivers add and that are never documents (macOS resource forks).
_ARCHIVER_FOLDERS = frozenset({"__macosx"})
_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
SEPARATOR = "!/"


def _spells_boundary(part: str) -> bool:
    """A name like ``box.zip!``: an archive's name followed by the member separator's
    ``!`` (and perhaps more), which a real folder may be called too."""
    stripped = part.rstrip("!")
    return stripped != part and archive_kind(stripped) is not None


def escaped(path: str) -> str:
    """A real path (or a member's path in its archive) as it is spelled in an identity.

    A member's identity is ``/abs/box.zip!/a.png``; a real folder called ``box.zip!``
    beside ``box.zip`` would spell the same for its ``a.png``. So a name that ends in
    ``!`` after an archive's name gets one ``!`` more in an identity (``box.zip!!``): in
    an identity, exactly one ``!`` after an archive's name is a member separator, two or
    more are a name. Every other path is its own identity."""
    if "!" not in path:
        return path
    return "/".join(f"{part}!" if _spells_boundary(part) else part for part in path.split("/"))


def _unescaped(path: str) -> str:
    return "/".join(part[:-1] if _spells_boundary(part) else part for part in path.split("/"))


def _boundary(parts: list[str]) -> int | None:
    """Where the first member separator is: the part that is an archive's name plus one ``!``."""
    for n, part in enumerate(parts):
        if part.endswith("!") and not part.endswith("!!") and archive_kind(part[:-1]):
            return n
    return None


def identity_path(identity: str) -> Path:
    """The real path a file's identity names (``escaped`` undone)."""
    return Path(_unescaped(identity)) if "!" in identity else Path(identity)


@dataclass(frozen=True, slots=True)
class Limits:
    """Where an archive stops being believed (see the module docstring)."""

    entries: int = 100_000
    member_bytes: int = 8 << 30  # a 1-gigapixel colour page, uncompressed, is 3 GiB
    total_bytes: int = 256 << 30
    ratio: float = 200.0
    ratio_from: int = 32 << 20
    depth: int = 1


LIMITS = Limits()


def archive_kind(name: str) -> ArchiveKind | None:
    """The kind of archive a file of this name is read as, or None."""
    lower = name.lower()
    return next((kind for suffix, kind in _SUFFIXES if lower.endswith(suffix)), None)


def archive_stem(name: str) -> str:
    """``box.tar.gz`` -> ``box``: the folder its members' outputs go to."""
    lower = name.lower()
    for suffix, _ in _SUFFIXES:
        if lower.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


class _Opened:
    """An open archive, kept open (and, for a nested one, its extracted copy kept) for as
    long as any of its members is still referenced by an input in flight."""

    def __init__(self, reader: Reader, scratch: Path | None) -> None:
        self.reader = reader
        weakref.finalize(self, _release, reader, scratch)


def _release(reader: Reader, scratch: Path | None) -> None:
    reader.close()
    if scratch is not None:
        shutil.rmtree(scratch, ignore_errors=True)


@dataclass(frozen=True, eq=False)
class Member:
    """An archive member that may be converted: where its bytes are, and its cheap
    identity (declared size, timestamp, CRC) for the journal's up-to-date test."""

    opened: _Opened
    entry: Entry

    @property
    def seen(self) -> Seen:
        return Seen(self.entry.size, self.entry.mtime_ns, self.entry.check)

    def extract(self, folder: Path) -> Path:
        """Copy the member's bytes to ``folder/<its file name>``; a ``FileError`` says
        why when they cannot be read whole."""
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / PurePath(self.entry.name).name
        try:
            with target.open("xb") as out:
                self.opened.reader.read(self.entry, out, self.entry.size)
        except ArchiveDamaged as exc:
            target.unlink(missing_ok=True)
            raise CorruptInputError(f"The archive member cannot be read ({exc}).") from exc
        except OverflowError as exc:
            target.unlink(missing_ok=True)
            raise UnsafeArchiveError(
                f"The archive member expands past the {self.entry.size} bytes it declares."
            ) from exc
        return target


def archive_inputs(
    path: Path, identity: str, folder: PurePath, limits: Limits | None = None
) -> Iterator[Input]:
    """One ``Input`` per member of the archive at ``path`` (see the module docstring);
    members that are refused come with their ``problem``. ``limits``: ``LIMITS``."""
    kind = archive_kind(path.name)
    assert kind is not None
    chosen = limits or LIMITS
    yield from _read(path, kind, identity, folder / archive_stem(path.name), chosen, 0, None)


def _read(
    path: Path,
    kind: ArchiveKind,
    identity: str,
    folder: PurePath,
    limits: Limits,
    depth: int,
    scratch: Path | None,
) -> Iterator[Input]:
    try:
        reader = open_reader(path, kind)
    except ArchiveDamaged as exc:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        yield _refused(identity, path, CorruptInputError(f"The archive cannot be read ({exc})."))
        return
    opened = _Opened(reader, scratch)
    count = total = 0
    try:
        packed_size = path.stat().st_size
    except OSError:
        packed_size = 0
    names: set[str] = set()
    try:
        for entry in reader.entries():
            count += 1
            if count > limits.entries:
                yield _refused(identity, path, _too_many(limits))
                return
            if entry.kind == "folder":
                continue
            name = _clean(entry.name)
            unsafe = _unsafe_name(entry.name) if name else "it has no name"
            # An unsafe entry is named as the archive has it, so its trick is visible.
            member_id = f"{identity}{SEPARATOR}{entry.name if unsafe else escaped(name)}"
            if unsafe is None and _ignored(name):
                continue
            total += entry.size
            if total > limits.total_bytes:
                yield _refused(identity, path, _too_big(limits))
                return
            problem = _problem(entry, unsafe, name in names, limits, depth)
            names.add(name)
            if problem is not None:
                yield _refused(member_id, path, problem)
                if entry.packed is None and entry.size > limits.member_bytes:
                    # Going past it in a tar means reading all of it: stop here.
                    yield _refused(identity, path, _too_big(limits))
                    return
                continue
            member = Member(opened, entry)
            place = PurePath(name)
            inner = archive_kind(place.name)
            kind_of = sniff_bytes(reader.head(entry, _HEAD))
            # An archive by its name, unless its bytes say it is a scan (types by content).
            if inner is not None and kind_of not in ("pdf", "image") and depth < limits.depth:
                yield from _nested(member, inner, member_id, folder / place.parent, limits, depth)
            else:
                yield Input(
                    member_id, path, kind_of, folder / place.parent, place.name, member=member
                )
            if limits.ratio_from < total > limits.ratio * max(packed_size, 1):
                yield _refused(identity, path, _too_compressed(limits))
                return
    except ArchiveDamaged as exc:
        before = count  # the failing entry was never yielded
        read = "nothing in it was read"
        if before:
            read = f"the {before} entries before that were read"
            if before == 1:
                read = "the entry before that was read"
        yield _refused(
            identity, path, CorruptInputError(f"The archive is damaged ({exc}); {read}.")
        )


def find_members(archive: Path) -> dict[str, Input]:
    """The inputs of an archive by identity (``retry`` looks failed members up here)."""
    identity = str(archive)
    return {found.identity: found for found in archive_inputs(archive, identity, PurePath())}


def archive_of(identity: str) -> Path | None:
    """The archive file an archive member's identity lives in, or None for a file."""
    if SEPARATOR not in identity:
        return None
    parts = identity.split("/")
    at = _boundary(parts)
    if at is None:
        return None
    return identity_path("/".join([*parts[:at], parts[at][:-1]]))


def _nested(
    member: Member,
    kind: ArchiveKind,
    identity: str,
    folder: PurePath,
    limits: Limits,
    depth: int,
) -> Iterator[Input]:
    """An archive inside the archive: extracted into scratch of its own (random access is
    what zip and tar readers need) and read one level deeper."""
    scratch = new_scratch()
    try:
        copy = member.extract(scratch)
    except FileError as exc:
        shutil.rmtree(scratch, ignore_errors=True)
        yield _refused(identity, Path(identity), exc)
        return
    stem = archive_stem(copy.name)
    yield from _read(copy, kind, identity, folder / stem, limits, depth + 1, scratch)


def _problem(
    entry: Entry, unsafe: str | None, duplicate: bool, limits: Limits, depth: int
) -> FileError | None:
    if unsafe is not None:
        return UnsafeArchiveError(f"The archive entry's name is unsafe: {unsafe}.")
    if entry.kind in ("symlink", "hardlink"):
        what = "a symbolic link" if entry.kind == "symlink" else "a hard link"
        return UnsafeArchiveError(f"The archive entry is {what}, which is never followed.")
    if entry.kind == "device":
        return UnsafeArchiveError("The archive entry is a device or FIFO, not a file.")
    if duplicate:
        return UnsafeArchiveError(
            "Another entry of the archive has the same name; only the first is read."
        )
    if entry.encrypted:
        return EncryptedInputError(
            "The archive member is encrypted.",
            "Extract the archive with its password (for example: unzip -P PASSWORD "
            "box.zip -d box) and convert the extracted folder.",
        )
    if entry.size > limits.member_bytes:
        return UnsafeArchiveError(
            f"The archive member declares {entry.size:,} bytes, more than the "
            f"{limits.member_bytes:,} an archive member may have."
        )
    packed = entry.packed
    if packed is not None and limits.ratio_from < entry.size > limits.ratio * max(packed, 1):
        return UnsafeArchiveError(
            f"The archive member is compressed {entry.size / max(packed, 1):,.0f} to 1 "
            f"(more than {limits.ratio:g} to 1, the mark of a zip bomb)."
        )
    if archive_kind(entry.name) is not None and depth >= limits.depth:
        return UnsafeArchiveError(
            "It is an archive inside an archive inside an archive; only one level of "
            "nesting is read."
        )
    return None


def _too_many(limits: Limits) -> FileError:
    return UnsafeArchiveError(
        f"The archive has more than {limits.entries:,} entries; the rest were not read."
    )


def _too_big(limits: Limits) -> FileError:
    return UnsafeArchiveError(
        f"The archive declares more than {limits.total_bytes:,} bytes in all; the rest "
        "were not read."
    )


def _too_compressed(limits: Limits) -> FileError:
    return UnsafeArchiveError(
        f"The archive expands more than {limits.ratio:g} to 1 (the mark of a bomb); the "
        "rest were not read."
    )


def _refused(identity: str, path: Path, problem: FileError) -> Input:
    name = identity.rsplit("/", 1)[-1]
    return Input(identity, path, "unsupported", PurePath(), name, problem=problem)


def _clean(name: str) -> str:
    """``./a//b/`` -> ``a/b``: the member's path as it will be mirrored."""
    return "/".join(part for part in name.split("/") if part not in ("", "."))


def _unsafe_name(name: str) -> str | None:
    if "\\" in name:
        return "it holds a backslash (a Windows path separator)"
    if name.startswith("/"):
        return "it is an absolute path"
    if _DRIVE.match(name):
        return "it starts with a drive letter"
    if ".." in name.split("/"):
        return "it climbs out of its folder with '..'"
    if _CONTROL.search(name):
        return "it holds control characters"
    return None


def _ignored(name: str) -> bool:
    """Hidden files and folders, Office lock files, thumbnails, archivers' own folders
    (the rules of ``core/discover.py``, applied to each part of the member's path)."""
    parts = name.split("/")
    return any(is_ignored(p) or p.lower() in _ARCHIVER_FOLDERS for p in parts)
