"""Inputs (files and folder trees) -> a feed of ``Input``s, in a stable order.

Walking is a generator: a directory's entries are listed and sorted one directory at a
time, so memory follows the largest single directory, not the size of the tree.

An input at ``<INPUT>/<rel>/<name>.<ext>`` has its outputs in ``<OUTDIR>/<rel>/``, named by
the one rule in ``core/naming.py``. For that rule to give the same names for the same tree,
each folder's files come in a stable order: INPUT arguments as given; within a folder,
first the first file (by name, code-point order) of each output name, then the others,
each group by file name. An input's identity is its absolute path.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path, PurePath

from PIL import Image, UnidentifiedImageError

from scan2pdf.core.jobs import Input, Kind, Work
from scan2pdf.core.naming import natural_name
from scan2pdf.core.pillowguard import header_only
from scan2pdf.core.workload import image_work, pdf_work
from scan2pdf.errors import LocationError, UsageError

# Files that scanners, file managers and office suites leave behind; never inputs.
_IGNORED_NAMES = frozenset({"thumbs.db", "desktop.ini", "@eadir"})
# The PDF spec lets the header start anywhere in the first 1024 bytes.
_PDF_MAGIC_WINDOW = 1024
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


def is_ignored(name: str) -> bool:
    """Hidden files, Office lock files (``~$x.docx``) and OS thumbnails are not inputs."""
    return name.startswith((".", "~$")) or name.lower() in _IGNORED_NAMES


def sniff(path: Path) -> Kind:
    """Decide a file's type by its content, never by its extension."""
    return _look(path, weigh=False)[0]


def examine(path: Path) -> tuple[Kind, Work]:
    """``sniff`` and the guess of its work (``core/workload.py``) from one read of the
    header: discovery's cost per file, which a 100,000-file tree pays 100,000 times."""
    return _look(path, weigh=True)


def _look(path: Path, weigh: bool) -> tuple[Kind, Work]:
    try:
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):
            # A folder here is one that could not be listed (``_walk``).
            return ("unreadable" if stat.S_ISDIR(mode) else "special"), Work()
        with path.open("rb") as stream:
            head = stream.read(_PDF_MAGIC_WINDOW)
            if b"%PDF-" in head:
                return "pdf", pdf_work(path) if weigh else Work()
            if not head:
                return "unsupported", Work()
            stream.seek(0)
            try:
                # Only the header is parsed; a huge image is still an image (preflight
                # decides what to do with it).
                with header_only(), Image.open(stream) as image:
                    return "image", image_work(image) if weigh else Work()
            except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
                return ("image" if head.startswith(_IMAGE_MAGIC) else "unsupported"), Work()
    except OSError:
        return "unreadable", Work()


def check_layout(inputs: Sequence[Path], outdir: Path) -> None:
    """Refuse layouts where an output could land on an input."""
    out_real = outdir.resolve()
    for item in inputs:
        if not item.exists():
            raise UsageError(f"Input '{item}' does not exist.")
        if item.is_dir() and item.resolve() == out_real:
            raise UsageError(
                f"The output folder '{outdir}' is the input folder '{item}'.",
                "Choose an output folder that is not an input folder (it may be inside one).",
            )
    if out_real.exists() and not out_real.is_dir():
        raise LocationError(
            f"Cannot use the output folder '{outdir}': it exists and is not a folder.",
            "Choose another path with -o.",
        )


def identity_of(path: Path) -> str:
    """A file's identity: its absolute path, symlinks kept (the name the user knows it by)."""
    return os.path.abspath(path)


def discover(inputs: Sequence[Path], outdir: Path) -> Iterator[Input]:
    """Yield one ``Input`` per candidate input file, in a stable order."""
    check_layout(inputs, outdir)
    out_real = outdir.resolve()
    # Inputs reached twice through overlapping arguments are read once.
    seen = _Visited() if len(inputs) > 1 else None
    for item in inputs:
        if item.is_dir():
            batches = _walk(item, PurePath(), out_real, is_root=True)
        else:
            batches = iter([(PurePath(), [item])])
        for rel, files in batches:
            for path, kind, work in _in_naming_order(files, seen):
                yield Input(identity_of(path), path, kind, rel, path.name, work)


def _walk(
    top: Path, rel: PurePath, out_real: Path, *, is_root: bool = False
) -> Iterator[tuple[PurePath, list[Path]]]:
    """Depth first, sorted: yield (relative folder, its files), then its subfolders.

    A subfolder that cannot be listed is yielded as a file of its parent, so that it is
    reported (unreadable) instead of silently missing; an INPUT folder that cannot be
    listed stops the run.
    """
    try:
        with os.scandir(top) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except OSError as exc:
        if is_root:
            raise LocationError(
                f"Cannot list the input folder '{top}': {exc.strerror or exc}.",
                "Check that it exists and that this user may read it.",
            ) from exc
        yield rel.parent, [top]
        return
    files: list[Path] = []
    folders: list[os.DirEntry[str]] = []
    for entry in entries:
        if is_ignored(entry.name):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                folders.append(entry)
            elif entry.is_file(follow_symlinks=True):
                files.append(Path(entry.path))
        except OSError:
            continue
    if files:
        yield rel, files
    for folder in folders:
        path = Path(folder.path)
        if path.resolve() == out_real:
            continue  # OUTDIR inside an input folder is never read as input
        yield from _walk(path, rel / folder.name, out_real)


class _Visited:
    """Files already reached through an earlier INPUT argument (by device and inode)."""

    def __init__(self) -> None:
        self._keys: set[tuple[int, int]] = set()

    def first_visit(self, path: Path) -> bool:
        try:
            st = path.stat()
        except OSError:
            return True
        key = (st.st_dev, st.st_ino)
        if key in self._keys:
            return False
        self._keys.add(key)
        return True


def _in_naming_order(files: Iterable[Path], seen: _Visited | None) -> list[tuple[Path, Kind, Work]]:
    """One folder's files with their kinds and work: the first of each output name, then
    the rest."""
    kinds: list[tuple[Path, Kind, Work]] = []
    for path in files:
        if seen is not None and not seen.first_visit(path):
            continue
        kinds.append((path, *examine(path)))
    firsts: list[tuple[Path, Kind, Work]] = []
    rest: list[tuple[Path, Kind, Work]] = []
    natural: set[str] = set()
    for found in kinds:
        path, kind, _ = found
        name = natural_name(path.name)
        if kind in ("pdf", "image") and name not in natural:
            natural.add(name)
            firsts.append(found)
        else:
            rest.append(found)
    return firsts + rest
