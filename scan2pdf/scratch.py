"""The run's scratch folder in the system temp folder, and the sweep of abandoned ones.

Workers keep all their temporary files (OCRmyPDF's included) under it, and the
coordinator removes it on every exit it lives through. A coordinator killed with -9 cannot;
the next run removes such folders, recognising them by the dead pid in ``owner.pid``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

_PREFIX = "scan2pdf-"
_OWNER = "owner.pid"


def new_scratch() -> Path:
    sweep_abandoned()
    root = Path(tempfile.mkdtemp(prefix=_PREFIX))
    (root / _OWNER).write_text(str(os.getpid()))
    return root


def sweep_abandoned() -> None:
    for folder in Path(tempfile.gettempdir()).glob(f"{_PREFIX}*"):
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
