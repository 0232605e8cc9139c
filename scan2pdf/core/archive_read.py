"""Reading zip and tar archives entry by entry: what each entry claims to be, and its bytes.

Only reading lives here; what is safe to do with an entry is ``core/archives.py``'s call.

- zip: the standard library's ``zipfile`` (random access through the central directory).
  A zip whose central directory is missing (a download cut short) cannot be opened by
  ``zipfile``; its entries are then *salvaged* by walking the local headers from the
  start, as ``zip -FF`` does, so the members written before the cut still convert.
- tar, plain or compressed with gzip, bzip2 or xz: the standard library's ``tarfile``,
  read in archive order (a compressed tar has no index; reading it in order decompresses
  it once).

Readers raise ``ArchiveDamaged`` where the archive stops making sense; entries yielded
before that stay good.
"""

from __future__ import annotations

import calendar
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO, Literal, Protocol, cast

EntryKind = Literal["file", "folder", "symlink", "hardlink", "device"]

# Unix file-type bits that zip writers keep in the high half of ``external_attr``.
_S_IFMT, _S_IFLNK, _S_IFDIR, _S_IFREG = 0o170000, 0o120000, 0o040000, 0o100000
_ZIP_ENCRYPTED = 0x1
_ZIP_DATA_DESCRIPTOR = 0x8
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_LOCAL_MAGIC = b"PK\x03\x04"
_CHUNK = 1 << 20


class ArchiveDamaged(Exception):
    """The archive cannot be read past this point (truncated, or not an archive at all)."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry as the archive describes it (sizes as declared, which a bomb may lie in)."""

    name: str
    kind: EntryKind
    size: int
    # Compressed size where the format says it per entry (zip); None for tar.
    packed: int | None
    mtime_ns: int
    # The zip CRC-32 (the content changes, the CRC does), 0 for tar.
    check: int
    encrypted: bool
    handle: object


class Reader(Protocol):
    def entries(self) -> Iterator[Entry]: ...

    def read(self, entry: Entry, out: BinaryIO, limit: int) -> None:
        """Copy the entry's bytes to ``out``; ``ArchiveDamaged`` if they cannot be read
        whole, ``OverflowError`` past ``limit`` bytes."""

    def head(self, entry: Entry, size: int) -> bytes: ...

    def close(self) -> None: ...


def open_reader(path: Path, kind: Literal["zip", "tar"]) -> Reader:
    """A reader for ``path``; ``ArchiveDamaged`` when not even its start can be read."""
    if kind == "zip":
        try:
            return _ZipReader(zipfile.ZipFile(path))
        except zipfile.BadZipFile:
            return _SalvagedZip(path)  # no central directory: walk what is there
        except (OSError, EOFError) as exc:
            raise ArchiveDamaged(str(exc)) from exc
    try:
        return _TarReader(tarfile.open(path, "r:*"))
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise ArchiveDamaged(str(exc) or type(exc).__name__) from exc


def _copy(stream: IO[bytes], out: BinaryIO, limit: int) -> None:
    written = 0
    while chunk := stream.read(_CHUNK):
        written += len(chunk)
        if written > limit:
            raise OverflowError(limit)
        out.write(chunk)


class _ZipReader:
    def __init__(self, archive: zipfile.ZipFile) -> None:
        self._zip = archive

    def entries(self) -> Iterator[Entry]:
        for info in self._zip.infolist():
            mode = info.external_attr >> 16
            kind: EntryKind = "file"
            if info.is_dir() or mode & _S_IFMT == _S_IFDIR:
                kind = "folder"
            elif mode & _S_IFMT == _S_IFLNK:
                kind = "symlink"
            elif mode & _S_IFMT not in (0, _S_IFREG):
                kind = "device"
            stamp = _dos_time_ns(info.date_time)
            yield Entry(
                info.filename,
                kind,
                info.file_size,
                info.compress_size,
                stamp,
                info.CRC,
                bool(info.flag_bits & _ZIP_ENCRYPTED),
                info,
            )

    def read(self, entry: Entry, out: BinaryIO, limit: int) -> None:
        assert isinstance(entry.handle, zipfile.ZipInfo)
        try:
            with self._zip.open(entry.handle) as stream:
                _copy(stream, out, limit)  # zipfile checks the CRC at the end
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
            raise ArchiveDamaged(str(exc)) from exc

    def head(self, entry: Entry, size: int) -> bytes:
        assert isinstance(entry.handle, zipfile.ZipInfo)
        try:
            with self._zip.open(entry.handle) as stream:
                return stream.read(size)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError):
            return b""

    def close(self) -> None:
        self._zip.close()


class _SalvagedZip:
    """A zip without its central directory, read from its local headers (stored and
    deflated entries whose sizes the local header gives: what nearly every writer makes)."""

    def __init__(self, path: Path) -> None:
        try:
            self._file: BinaryIO = path.open("rb")
            self._length = path.stat().st_size
        except OSError as exc:
            raise ArchiveDamaged(str(exc)) from exc
        if self._file.read(4) != _LOCAL_MAGIC:
            self._file.close()
            raise ArchiveDamaged("not a zip archive (no entry where one should start)")

    def entries(self) -> Iterator[Entry]:
        offset = 0
        while True:
            self._file.seek(offset)
            header = self._file.read(_LOCAL_HEADER.size)
            if len(header) < _LOCAL_HEADER.size or not header.startswith(_LOCAL_MAGIC):
                raise ArchiveDamaged("its table of contents is missing (truncated?)")
            _, _, flags, method, time, date, crc, packed, size, name_len, extra_len = (
                _LOCAL_HEADER.unpack(header)
            )
            raw = self._file.read(name_len)
            name = raw.decode("utf-8" if flags & 0x800 else "cp437", errors="replace")
            start = offset + _LOCAL_HEADER.size + name_len + extra_len
            if (flags & _ZIP_DATA_DESCRIPTOR and packed == 0) or packed == 0xFFFFFFFF:
                raise ArchiveDamaged(
                    "its table of contents is missing and an entry's size is unknown"
                )
            if start + packed > self._length:
                raise ArchiveDamaged(f"it is truncated inside '{name}'")
            stamp = _dos_time_ns(_dos_fields(date, time))
            kind: EntryKind = "folder" if name.endswith("/") else "file"
            yield Entry(name, kind, size, packed, stamp, crc, bool(flags & 1), (start, method))
            offset = start + packed + (16 if flags & _ZIP_DATA_DESCRIPTOR else 0)

    def read(self, entry: Entry, out: BinaryIO, limit: int) -> None:
        start, method = cast(tuple[int, int], entry.handle)
        assert entry.packed is not None
        if method not in (0, 8):
            raise ArchiveDamaged(f"compression method {method} is not supported")
        inflate = zlib.decompressobj(-15) if method == 8 else None
        self._file.seek(start)
        left, crc, written = entry.packed, 0, 0
        try:
            while left > 0:
                chunk = self._file.read(min(_CHUNK, left))
                if not chunk:
                    raise ArchiveDamaged("truncated")
                left -= len(chunk)
                data = inflate.decompress(chunk, limit + 1 - written) if inflate else chunk
                written += len(data)
                if written > limit:
                    raise OverflowError(limit)
                crc = zlib.crc32(data, crc)
                out.write(data)
        except zlib.error as exc:
            raise ArchiveDamaged(str(exc)) from exc
        if crc != entry.check:
            raise ArchiveDamaged("bad CRC-32")

    def head(self, entry: Entry, size: int) -> bytes:
        start, method = cast(tuple[int, int], entry.handle)
        assert entry.packed is not None
        self._file.seek(start)
        chunk = self._file.read(min(entry.packed, _CHUNK))
        if method == 0:
            return chunk[:size]
        try:
            return zlib.decompressobj(-15).decompress(chunk, size) if method == 8 else b""
        except zlib.error:
            return b""

    def close(self) -> None:
        self._file.close()


class _TarReader:
    """A compressed tar can only be read forward cheaply (seeking back in a gzip, bzip2 or
    xz stream starts it again from the beginning). A member is wanted right after it is
    listed, and its first bytes were just read to tell its kind: the stream that read them
    is kept, and ``read`` goes on from where it stopped instead of seeking back."""

    def __init__(self, archive: tarfile.TarFile) -> None:
        self._tar = archive
        self._held: tuple[tarfile.TarInfo, IO[bytes], bytes] | None = None

    def entries(self) -> Iterator[Entry]:
        try:
            for info in self._tar:
                self._held = None
                yield Entry(
                    info.name,
                    _tar_kind(info),
                    info.size,
                    None,
                    int(info.mtime * 1e9),
                    0,
                    False,
                    info,
                )
                # tarfile keeps every header it read; an index of 100,000 entries is
                # fine, their data is not kept.
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
            raise ArchiveDamaged(str(exc) or "truncated") from exc

    def read(self, entry: Entry, out: BinaryIO, limit: int) -> None:
        assert isinstance(entry.handle, tarfile.TarInfo)
        try:
            held, self._held = self._held, None
            if held is not None and held[0] is entry.handle:
                _, stream, head = held
                out.write(head)
                _copy(stream, out, limit - len(head))
                return
            opened = self._tar.extractfile(entry.handle)
            if opened is None:
                raise ArchiveDamaged("not a regular file")
            with opened:
                _copy(opened, out, limit)
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
            raise ArchiveDamaged(str(exc) or "truncated") from exc

    def head(self, entry: Entry, size: int) -> bytes:
        assert isinstance(entry.handle, tarfile.TarInfo)
        try:
            stream = self._tar.extractfile(entry.handle)
            if stream is None:
                return b""
            data = stream.read(size)
        except (tarfile.TarError, OSError, EOFError, zlib.error):
            return b""
        self._held = (entry.handle, stream, data)
        return data

    def close(self) -> None:
        self._tar.close()


def _tar_kind(info: tarfile.TarInfo) -> EntryKind:
    if info.isfile():
        return "file"
    if info.isdir():
        return "folder"
    if info.issym():
        return "symlink"
    if info.islnk():
        return "hardlink"
    return "device"  # character and block devices, FIFOs, and anything else


def _dos_fields(date: int, time: int) -> tuple[int, int, int, int, int, int]:
    return (
        (date >> 9) + 1980,
        (date >> 5) & 0xF,
        date & 0x1F,
        time >> 11,
        (time >> 5) & 0x3F,
        (time & 0x1F) * 2,
    )


def _dos_time_ns(fields: tuple[int, int, int, int, int, int]) -> int:
    """A zip entry's timestamp in nanoseconds, its local time read as UTC: it is only
    compared with itself, so the time zone it was written in does not matter."""
    try:
        return calendar.timegm((*fields, 0, 0, 0)) * 10**9
    except (ValueError, OverflowError):  # a nonsense date: still the same every time
        return 0
