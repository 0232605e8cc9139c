"""Inputs (files and folder trees) -> a feed of ``Input``s, in a stable order.

Walking is a generator: a directory's entries are listed and sorted one directory at a
time, so memory follows the largest single directory, not the size of the tree.

An input at ``<INPUT>/<rel>/<name>.<ext>`` has its outputs in ``<OUTDIR>/<rel>/``, named by
the one rule in ``core/naming.py``. For that rule to give the same names for the same tree,
each folder's files come in a stable order: INPUT arguments as given; within a folder,
first the first file (by name, code-point order) of each output name, then the others,
each group by file name. An input's identity is its absolute path.

Archives (``core/archives.py``) are read as folders named after them, after the folder's
other files. With ``group_pages``, a folder of page images is one document
(``core/groups.py``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePath

from scan2pdf.core.archives import archive_inputs, archive_kind, escaped
from scan2pdf.core.groups import group_input
from scan2pdf.core.jobs import Input, Kind, Work
from scan2pdf.core.naming import natural_name
from scan2pdf.core.options import Options
from scan2pdf.core.sniff import examine, is_ignored
from scan2pdf.errors import LocationError, UsageError


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
    """A file's identity: its absolute path, symlinks kept (the name the user knows it by),
    spelled so that it is never an archive member's (``core/archives.py`` ``escaped``)."""
    return escaped(os.path.abspath(path))


def discover(inputs: Sequence[Path], outdir: Path, *, group_pages: bool = False) -> Iterator[Input]:
    """Yield one ``Input`` per candidate input file, in a stable order."""
    check_layout(inputs, outdir)
    out_real = outdir.resolve()
    # Inputs reached twice through overlapping arguments are read once.
    seen = _Visited() if len(inputs) > 1 else None
    for item in inputs:
        if item.is_dir():
            batches = _walk(item, PurePath(), out_real, is_root=True)
        else:
            batches = iter([_Listing(item.parent, PurePath(), [item], True, root_file=True)])
        for listing in batches:
            yield from _folder_inputs(listing, seen, group_pages)


def _folder_inputs(listing: _Listing, seen: _Visited | None, group_pages: bool) -> Iterator[Input]:
    """A folder's inputs: its files (or, grouped, one document of its pages), then its
    archives' members."""
    examined: list[tuple[Path, Kind, Work]] = []
    archives: list[Path] = []
    for path in listing.files:
        if seen is not None and not seen.first_visit(path):
            continue
        kind, work = examine(path)  # one read of the header per file
        # An archive by its name, unless its bytes say it is a scan (a PDF named scan.zip
        # is a PDF; an archive cut short, or an old tar, is still read for what it has).
        if archive_kind(path.name) and path.is_file() and kind not in ("pdf", "image"):
            archives.append(path)
        else:
            examined.append((path, kind, work))
    rel = listing.rel
    group = None
    if group_pages and not listing.root_file and not listing.has_folders and not archives:
        group = group_input(listing.path, rel, examined)
    if group is not None:
        yield group
        examined = [found for found in examined if found[1] not in ("image", "pdf")]
    for path, kind, work in _in_naming_order(examined):
        yield Input(identity_of(path), path, kind, rel, path.name, work)
    for path in archives:
        yield from archive_inputs(path, identity_of(path), rel)


def per_folder(items: Iterable[Input], folder_options: Mapping[str, Options]) -> Iterator[Input]:
    """Inputs under a folder named in ``folder_options`` (relative to their INPUT folder,
    as their outputs are to OUTDIR) get its options; the deepest folder wins."""
    if not folder_options:
        yield from items
        return
    chosen = sorted(
        ((PurePath(folder), options) for folder, options in folder_options.items()),
        key=lambda pair: -len(pair[0].parts),
    )
    for item in items:
        where = item.folder / (item.name if item.kind == "pages" else "")
        options = next((o for f, o in chosen if where == f or f in where.parents), None)
        yield (
            item if options is None or item.options is not None else replace(item, options=options)
        )


@dataclass(frozen=True, slots=True)
class _Listing:
    """One folder as the walk found it: its files, and whether it has subfolders."""

    path: Path
    rel: PurePath
    files: list[Path]
    has_folders: bool
    # A file given as INPUT on its own (or a folder that cannot be listed), not a listing.
    root_file: bool = False


def _walk(top: Path, rel: PurePath, out_real: Path, *, is_root: bool = False) -> Iterator[_Listing]:
    """Depth first, sorted: yield a folder's listing, then its subfolders'.

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
        yield _Listing(top.parent, rel.parent, [top], False, root_file=True)
        return
    files: list[Path] = []
    folders: list[os.DirEntry[str]] = []
    for entry in entries:
        if is_ignored(entry.name):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                if Path(entry.path).resolve() != out_real:  # OUTDIR is never read as input
                    folders.append(entry)
            elif entry.is_file(follow_symlinks=True) or (
                entry.is_symlink() and not os.path.exists(entry.path)
            ):
                # A symlink that leads nowhere is listed too: reported (unreadable, with
                # why), never silently missing. Symlinked folders are not followed.
                files.append(Path(entry.path))
        except OSError:
            files.append(Path(entry.path))  # a symlink loop, say: reported with its reason
    if files:
        yield _Listing(top, rel, files, bool(folders))
    for folder in folders:
        yield from _walk(Path(folder.path), rel / folder.name, out_real)


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


def _in_naming_order(kinds: Iterable[tuple[Path, Kind, Work]]) -> list[tuple[Path, Kind, Work]]:
    """One folder's files with their kinds and work: the first of each output name, then
    the rest."""
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
