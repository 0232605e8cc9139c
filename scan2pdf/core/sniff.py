"""What a file is, decided by its content, never by its extension.

Used on files (``core/discover.py``, the inbox) and on the first bytes of archive members
(``core/archives.py``), so both follow one rule.
"""

from __future__ import annotations

import io
import stat
from pathlib import Path
from typing import BinaryIO

from PIL import UnidentifiedImageError

from scan2pdf.core.jobs import Kind, Work
from scan2pdf.core.pillowguard import open_header
from scan2pdf.core.workload import image_work, pdf_work
from scan2pdf.errors import CorruptInputError

# The PDF spec lets the header start anywhere in the first 1024 bytes.
PDF_MAGIC_WINDOW = 1024
# Signatures of image formats scanners write. A file that starts with one but that Pillow
# cannot open is a damaged image (it fails as ``corrupt``), not "not a scan".
_IMAGE_MAGIC = (
    b"II*\x00",  # TIFF, little-endian
    b"MM\x00*",  # TIFF, big-endian
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",  # JPEG
    b"GIF8",
    b"BM",
)

# How a zip (a local header, or the end record of an empty one), a compressed stream
# (gzip, bzip2, xz) and a tar ("ustar" at byte 257) begin.
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_PACKED_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")
_TAR_MAGIC_AT = 257


def is_archive(path: Path) -> bool:
    """Whether the file at ``path`` begins as a zip, a tar or a compressed stream does:
    by its bytes, whatever it is called. By its first bytes only, so that an archive cut
    short (no central directory) is still read for what it has."""
    try:
        with path.open("rb") as stream:
            head = stream.read(_TAR_MAGIC_AT + 8)
    except OSError:
        return False
    return head.startswith(_ZIP_MAGIC + _PACKED_MAGIC) or head[_TAR_MAGIC_AT:].startswith(b"ustar")


# Files that scanners, file managers and office suites leave behind; never inputs.
_IGNORED_NAMES = frozenset({"thumbs.db", "desktop.ini", "@eadir"})


def is_ignored(name: str) -> bool:
    """Hidden files, Office lock files (``~$x.docx``) and OS thumbnails are not inputs."""
    return name.startswith((".", "~$")) or name.lower() in _IGNORED_NAMES


def sniff(path: Path) -> Kind:
    """The kind of the file at ``path``."""
    return look(path, weigh=False)[0]


def examine(path: Path) -> tuple[Kind, Work]:
    """``sniff`` and the guess of its work (``core/workload.py``) from one read of the
    header: discovery's cost per file, which a 100,000-file tree pays 100,000 times."""
    return look(path, weigh=True)


def sniff_bytes(head: bytes) -> Kind:
    """The kind of a file that starts with ``head`` (an archive member's first bytes)."""
    if not head:
        return "unsupported"
    return _look_stream(io.BytesIO(head), None)[0]


def look(path: Path, weigh: bool) -> tuple[Kind, Work]:
    try:
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):
            # A folder here is one that could not be listed (discovery's walk).
            return ("unreadable" if stat.S_ISDIR(mode) else "special"), Work()
        with path.open("rb") as stream:
            return _look_stream(stream, path if weigh else None, weigh)
    except OSError:
        return "unreadable", Work()


def _look_stream(stream: BinaryIO, pdf_path: Path | None, weigh: bool = False) -> tuple[Kind, Work]:
    head = stream.read(PDF_MAGIC_WINDOW)
    if b"%PDF-" in head:
        return "pdf", pdf_work(pdf_path) if pdf_path is not None else Work()
    if not head:
        return "unsupported", Work()
    stream.seek(0)
    try:
        # Only the header is parsed; a huge image is still an image (preflight decides
        # what to do with it).
        with open_header(stream) as image:
            return "image", image_work(image) if weigh else Work()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return ("image" if head.startswith(_IMAGE_MAGIC) else "unsupported"), Work()


# A file this large with less than this share of it on disk is holes, not a scan: a
# preallocated or damaged file (a real scan is never 999 parts in 1000 empty). Reading it
# would cost the coordinator minutes (hash, page estimate) for nothing.
_SPARSE_FROM = 1 << 30
_SPARSE_SHARE = 0.001


def mostly_holes(path: Path) -> CorruptInputError | None:
    """The reason to refuse a huge file that is nearly all holes, or None."""
    try:
        st = path.stat()
    except OSError:
        return None
    on_disk = st.st_blocks * 512
    if st.st_size < _SPARSE_FROM or on_disk >= st.st_size * _SPARSE_SHARE:
        return None
    return CorruptInputError(
        f"It is {st.st_size / 2**30:.1f} GiB long but only {on_disk / 2**20:.1f} MiB of it is "
        "on disk: a sparse (preallocated or damaged) file, not a scan."
    )
