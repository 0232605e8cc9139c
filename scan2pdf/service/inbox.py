"""Finding files in the inbox and telling when one is whole enough to take.

Files are found by scans and native file events; a file is taken only once its size and
mtime have not changed for ``settle`` seconds and it parses (a PDF opens, an image decodes
every frame). A file that stays still but never parses is taken after ``give_up`` seconds,
and fails with its reason. So is a PDF that opens only once qpdf has repaired it: that is
what a file looks like while its writer pauses (a scanner writing over SMB stops for many
seconds), so it waits ``give_up``, however long the pause; then preflight fails it as
``truncated`` if it still has pages missing, or converts it, noted, if it was only damaged.
Hidden, temporary and system files, special files and symlinks that lead out of the inbox
are never taken.
"""

from __future__ import annotations

import os
import stat
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from PIL import Image, ImageSequence

from scan2pdf.core.sniff import is_ignored, mostly_holes, sniff
from scan2pdf.core.workload import quick_to_open

# What a look at a settled file finds (``parses``).
Parse = Literal["whole", "repaired", "broken"]
# Names that tools give files while they are still being written.
_TEMPORARY_SUFFIXES = (
    ".part",
    ".partial",
    ".tmp",
    ".temp",
    ".crdownload",
    ".download",
    ".swp",
    "~",
)
# Where inotify sees only this machine's own writes: files dropped by other hosts (a copier
# writing to the share) make no events, so such inboxes are polled.
NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "fuse.sshfs",
        "9p",
        "afs",
        "ceph",
        "glusterfs",
        "davfs",
        "fuse.rclone",
    }
)


def filesystem_type(path: Path) -> str | None:
    """The type of the filesystem holding ``path`` (from /proc/self/mounts), if known."""
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return None
    real, best, kind = path.resolve(), -1, None
    for line in mounts:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = Path(fields[1].replace("\\040", " "))
        if (real == point or point in real.parents) and len(point.parts) > best:
            best, kind = len(point.parts), fields[2]
    return kind


def is_temporary(name: str) -> bool:
    return is_ignored(name) or name.lower().endswith(_TEMPORARY_SUFFIXES)


def scan(inbox: Path) -> Iterator[Path]:
    """Every file in the inbox that could be a scan, without following links out of it."""
    stack = [inbox]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if is_temporary(entry.name):
                continue
            path = Path(entry.path)
            if entry.is_dir(follow_symlinks=False):
                stack.append(path)
            elif takeable(path, inbox):
                yield path


def takeable(path: Path, inbox: Path) -> bool:
    """A regular file, or a symlink to one inside the inbox (never FIFOs, devices...)."""
    try:
        if path.is_symlink() and inbox.resolve() not in path.resolve().parents:
            return False
        return stat.S_ISREG(path.stat().st_mode)
    except (OSError, RuntimeError):  # RuntimeError: Path.resolve() in a symlink loop
        return False


@dataclass
class _Still:
    size: int
    mtime_ns: int
    since: float


@dataclass
class Settler:
    """Remembers when each pending file last changed; says when it has been still long enough."""

    settle: float
    give_up: float
    clock: Callable[[], float] = time.monotonic
    _files: dict[Path, _Still] = field(default_factory=dict)

    def observe(self, path: Path, size: int, mtime_ns: int) -> float:
        """Record what the file looks like now; return for how long it has looked so."""
        now = self.clock()
        still = self._files.get(path)
        if still is None or (still.size, still.mtime_ns) != (size, mtime_ns):
            self._files[path] = still = _Still(size, mtime_ns, now)
        return now - still.since

    def forget(self, path: Path) -> None:
        self._files.pop(path, None)

    def pending(self) -> list[Path]:
        return list(self._files)

    def ready(self, path: Path, still_for: float, parses: Callable[[], Parse | bool]) -> bool:
        """Still for ``settle`` and whole; anything still for ``give_up``, to fail with its
        reason or be converted as the pages it has allow (worker/preflight.py).

        A PDF that opens only once repaired waits for ``give_up`` too: no stillness short
        of that tells a writer's pause from a file that will stay cut short (waiting a
        further ``settle`` published a 10-page volume paused at 30% for 12 s as 2 pages).
        A damaged but finished PDF pays that wait; it is rare, and no page is lost."""
        if still_for < self.settle:
            return False
        if still_for >= self.give_up:
            return True
        found = parses()
        return found is True or found == "whole"


def parses(path: Path) -> Parse:
    """ "whole": a PDF opens as it is, an image decodes every frame; "repaired": a PDF opens
    only once qpdf has reconstructed it (what a file cut short looks like); "broken":
    neither (while a file is still incomplete). ``Settler.ready`` waits --give-up for
    "repaired" as for "broken" (a writer may only have paused); the two stay apart for
    what is said of a file, and for tests of the rule."""
    kind = sniff(path)
    if mostly_holes(path) is not None:
        return "whole"  # nothing to wait for: the pipeline refuses it at once, with why
    try:
        if kind == "pdf":
            if not quick_to_open(path):
                return "broken"  # a big PDF still being written has no xref yet: wait
            import pikepdf  # only once a PDF is dropped: the service starts lighter

            with pikepdf.open(path) as pdf:
                if len(pdf.pages) == 0:
                    return "broken"
                return "repaired" if pdf.get_warnings() else "whole"
        if kind == "image":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with Image.open(path) as image:
                    for frame in ImageSequence.Iterator(image):
                        frame.load()
            return "whole"
    except Exception:
        return "broken"
    return "whole"  # not a scan at all: nothing to wait for; it is reported as unsupported
