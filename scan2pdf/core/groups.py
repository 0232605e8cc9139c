"""Folders of page images made one document (``--group-pages``).

Scanning vendors deliver a bound volume as a folder of page images
(``box12/folder3/0001.tif``, ``0002.tif``...). With ``--group-pages`` such a folder becomes
one multi-page PDF named after the folder, with one sidecar: ``box12/folder3.pdf`` and
``box12/folder3.txt`` in OUTDIR.

Which folders group: a folder with no subfolders, no PDFs and no archives, holding at least
one image. Files in it that are not scans (a checksum list, a readme) do not stop it: they
are reported ``unsupported`` as always. A folder that also holds PDFs or subfolders is not
a document: its files are converted one by one, and each subfolder is judged by the same
rule. Pages are in natural order (``2.tif`` before ``10.tif``; otherwise by name, ignoring
case). A page that cannot be read fails the whole document, with a reason naming the page.

The document's identity is the folder's path; it is up to date while no page was added,
removed, renamed or changed (sizes, mtimes and names, as for a file; the content hash
covers every page's bytes and names).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from pathlib import Path, PurePath

from scan2pdf.core.archives import escaped
from scan2pdf.core.jobs import Input, Kind, Work
from scan2pdf.state.journal import Seen

_DIGITS = re.compile(r"(\d+)")
# A folder's document is named after the folder: ``naming.candidates`` knows the mark.
FOLDER_MARK = "/"


def natural_key(name: str) -> tuple[object, ...]:
    """``page2`` before ``page10``: runs of digits compare as numbers."""
    parts = _DIGITS.split(name.casefold())
    keys = tuple((0, int(p), p) if p.isdigit() else (1, 0, p) for p in parts if p)
    return (*keys, name)


def group_input(
    folder: Path, rel: PurePath, examined: Sequence[tuple[Path, Kind, Work]]
) -> Input | None:
    """The one document a folder's files make, or None when the folder does not group."""
    kinds = {kind for _, kind, _ in examined}
    if "pdf" in kinds or "image" not in kinds:
        return None
    pages = sorted(
        ((path, work) for path, kind, work in examined if kind == "image"),
        key=lambda found: natural_key(found[0].name),
    )
    name = (rel.name if rel.parts else Path(os.path.abspath(folder)).name) or "pages"
    work = Work(sum(w.pages for _, w in pages), sum(w.mpixels for _, w in pages))
    return Input(
        escaped(os.path.abspath(folder)),
        folder,
        "pages",
        rel.parent if rel.parts else PurePath(),
        name + FOLDER_MARK,
        work,
        parts=tuple(path for path, _ in pages),
    )


def group_seen(parts: Sequence[Path]) -> Seen:
    """A folder document's cheap identity: total size, newest mtime, and a digest of the
    page names standing in for the inode (a page renamed or swapped changes it)."""
    size = newest = 0
    names = hashlib.sha256()
    for path in parts:
        st = path.stat()
        size += st.st_size
        newest = max(newest, st.st_mtime_ns)
        names.update(path.name.encode("utf-8", "surrogateescape") + b"\0")
    return Seen(size, newest, int.from_bytes(names.digest()[:7], "big"))


def group_hash(parts: Sequence[Path]) -> str:
    """The content of a folder document: every page's name and bytes, in page order."""
    digest = hashlib.sha256(b"scan2pdf pages\0")
    for path in parts:
        digest.update(path.name.encode("utf-8", "surrogateescape") + b"\0")
        with path.open("rb") as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()
