"""Inputs (files and folder trees) -> jobs with their mirrored output paths.

Walking is a generator: a directory's entries are listed and sorted one directory at a
time, so memory follows the largest single directory, not the size of the tree.

Output names. An input at ``<INPUT>/<rel>/<name>.<ext>`` maps to ``<OUTDIR>/<rel>/<name>.pdf``
and ``.txt``. When several inputs would take the same output name (``scan.pdf`` and
``scan.tif`` in one folder, or two INPUT arguments holding the same relative path):

1. inputs are taken in a stable order: INPUT arguments as given, and within a folder by
   file name (code-point order);
2. the first input keeps ``<name>.pdf``;
3. every later one is named after its full file name, ``<name>.<ext>.pdf`` (``scan.tif.pdf``),
   and if that is taken too, ``<name>.<ext>-2.pdf``, ``-3`` and so on.

No input's output ever overwrites another's, and the same tree always gives the same names.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Literal

from PIL import Image, UnidentifiedImageError

from scan2pdf.errors import UsageError
from scan2pdf.pillowguard import header_only
from scan2pdf.workload import Work, estimate

Kind = Literal["pdf", "image", "unsupported", "unreadable"]

# Files that scanners, file managers and office suites leave behind; never inputs.
_IGNORED_NAMES = frozenset({"thumbs.db", "desktop.ini", "@eadir"})
# The PDF spec lets the header start anywhere in the first 1024 bytes.
_PDF_MAGIC_WINDOW = 1024


@dataclass(frozen=True, slots=True)
class Job:
    """One input file and where its outputs go."""

    source: Path
    kind: Kind
    pdf: Path
    txt: Path
    # Position in discovery order; reports and tests rely on it being stable.
    index: int = 0
    # The scheduler's guess of how much OCR this is (see workload.py).
    work: Work = field(default_factory=Work)


def is_ignored(name: str) -> bool:
    """Hidden files, Office lock files (``~$x.docx``) and OS thumbnails are not inputs."""
    return name.startswith((".", "~$")) or name.lower() in _IGNORED_NAMES


def sniff(path: Path) -> Kind:
    """Decide a file's type by its content, never by its extension."""
    try:
        with path.open("rb") as stream:
            head = stream.read(_PDF_MAGIC_WINDOW)
    except OSError:
        return "unreadable"
    if b"%PDF-" in head:
        return "pdf"
    if not head:
        return "unsupported"
    try:
        # Only the header is parsed; a huge image is still an image (preflight decides
        # what to do with it).
        with header_only(), Image.open(path):
            return "image"
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return "unsupported"


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
        raise UsageError(f"The output path '{outdir}' exists and is not a folder.")


def discover(inputs: Sequence[Path], outdir: Path) -> Iterator[Job]:
    """Yield one job per candidate input file, in a stable order."""
    check_layout(inputs, outdir)
    out_real = outdir.resolve()
    # Across INPUT arguments we must remember what was claimed (outputs) and read
    # (inputs reached twice through overlapping arguments). With one argument the
    # per-folder resolution below is enough and memory stays flat.
    shared: _Claims | None = _Claims() if len(inputs) > 1 else None
    counter = iter(range(1 << 62))
    for item in inputs:
        if item.is_dir():
            batches = _walk(item, PurePath(), out_real)
        else:
            batches = iter([(PurePath(), [item])])
        for rel, files in batches:
            for job in _name_folder(files, outdir / rel, shared):
                work = estimate(job.source, job.kind) if job.kind in ("pdf", "image") else Work()
                yield Job(job.source, job.kind, job.pdf, job.txt, next(counter), work)


def _walk(top: Path, rel: PurePath, out_real: Path) -> Iterator[tuple[PurePath, list[Path]]]:
    """Depth first, sorted: yield (relative folder, its files), then its subfolders."""
    try:
        with os.scandir(top) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except OSError:
        return  # an unreadable folder has no inputs we could reach
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


class _Claims:
    """Output names and input identities already used by earlier INPUT arguments."""

    def __init__(self) -> None:
        self.outputs: dict[Path, set[str]] = {}
        self.inputs: set[tuple[int, int]] = set()

    def first_visit(self, path: Path) -> bool:
        try:
            st = path.stat()
        except OSError:
            return True
        key = (st.st_dev, st.st_ino)
        if key in self.inputs:
            return False
        self.inputs.add(key)
        return True


def _name_folder(files: Iterable[Path], out_folder: Path, shared: _Claims | None) -> Iterator[Job]:
    """Give each file of one input folder its output names (rule in the module doc)."""
    kinds: list[tuple[Path, Kind]] = []
    for path in files:
        if shared is not None and not shared.first_visit(path):
            continue
        kinds.append((path, sniff(path)))
    producing = [path for path, kind in kinds if kind in ("pdf", "image")]
    taken: set[str] = set() if shared is None else shared.outputs.setdefault(out_folder, set())
    names: dict[Path, str] = {}
    # Pass 1: natural names for the first of each stem, so a later fallback never
    # steals a name that another file would naturally have.
    for path in producing:
        natural = f"{path.stem}.pdf"
        if natural not in taken:
            taken.add(natural)
            names[path] = natural
    # Pass 2: fallbacks for the rest.
    for path in producing:
        if path in names:
            continue
        candidate, n = f"{path.name}.pdf", 1
        while candidate in taken:
            n += 1
            candidate = f"{path.name}-{n}.pdf"
        taken.add(candidate)
        names[path] = candidate
    for path, kind in kinds:
        name = names.get(path, f"{path.stem}.pdf")
        pdf = out_folder / name
        yield Job(path, kind, pdf, pdf.with_suffix(".txt"))
