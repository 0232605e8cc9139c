"""A run's private folders, and the sweep of those that runs killed with -9 left behind.

- Scratch, in the system temp folder: workers keep all their temporary files (OCRmyPDF's
  included) under it.
- Staging, in ``OUTDIR/.scan2pdf/staging``: outputs are copied there before the atomic
  rename to their final path (the same filesystem, so the rename is atomic).

The coordinator removes its folders on every exit it lives through. A coordinator killed
with -9 cannot; the next run removes such folders, knowing them by the dead pid in
``owner.pid``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

_PREFIX = "scan2pdf-"
_OWNER = "owner.pid"


def new_scratch(under: Path | None = None) -> Path:
    """A fresh folder owned by this process, in ``under`` (default: the system temp folder)."""
    parent = under or Path(tempfile.gettempdir())
    parent.mkdir(parents=True, exist_ok=True)
    sweep_abandoned(parent)
    root = Path(tempfile.mkdtemp(prefix=_PREFIX, dir=parent))
    try:
        (root / _OWNER).write_text(str(os.getpid()))
    except OSError:
        # A full disk can create the file but not fill it: an empty owner file would
        # mark the folder as not ours for ever, and no sweep would remove it.
        shutil.rmtree(root, ignore_errors=True)
        raise
    return root


def sweep_abandoned(parent: Path) -> None:
    for folder in parent.glob(f"{_PREFIX}*"):
        try:
            pid = int((folder / _OWNER).read_text())
        except (OSError, ValueError):
            continue  # not ours, or still being created: leave it
        if not alive(pid):
            shutil.rmtree(folder, ignore_errors=True)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return True
