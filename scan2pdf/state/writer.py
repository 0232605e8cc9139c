"""One writer per OUTDIR: the lock every run that writes OUTDIR holds while it runs.

Two runs writing one OUTDIR (a convert beside a watch, two converts) would both decide
that a name is free and publish over each other's outputs; the journal would count both.
So a run holds ``OUTDIR/.scan2pdf/writer.lock`` (``flock``, exclusive) from before it opens
the journal until it ends. The kernel drops the lock when the holder dies, kill -9
included, so a stale lock cannot exist. The file says who holds it (pid, host, command,
since when), for the message the next run gives.

- ``convert`` and ``retry`` are refused (exit 4) while another process holds it.
- ``watch`` waits for it (a second service on the same OUTDIR is a standby that takes
  over when the first stops), and says so once.
- Calls in one process (the Python API) queue for it in turn.
- ``status`` asks whether anyone holds it: rows left ``running`` with no writer are
  interrupted work, which the next run redoes, not work in progress.

``flock`` on NFS is emulated with POSIX locks by Linux: it works between machines only
where the NFS server supports locking.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from scan2pdf.errors import LocationError, location_error

_NAME = "writer.lock"
_WAIT_STEP = 0.5
# One lock per OUTDIR within this process: flock conflicts between two open files of the
# same process too, so threads queue here first.
_IN_PROCESS: dict[Path, threading.Lock] = {}
_GUARD = threading.Lock()


def lock_path(outdir: Path) -> Path:
    return outdir / ".scan2pdf" / _NAME


class WriterLock:
    """Held for a run; ``acquire`` then ``release`` (also from ``finally``)."""

    def __init__(self, outdir: Path) -> None:
        self.outdir = outdir
        self.path = lock_path(outdir)
        self._file: BinaryIO | None = None
        with _GUARD:
            self._local = _IN_PROCESS.setdefault(outdir, threading.Lock())
        self._local_held = False

    def acquire(
        self,
        *,
        wait: bool,
        stop: threading.Event | None = None,
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        """Take the lock; ``LocationError`` naming the holder when it is taken and ``wait``
        is False; waiting, KeyboardInterrupt once ``stop`` is set."""
        while not self._local.acquire(timeout=_WAIT_STEP):
            if stop is not None and stop.is_set():
                raise KeyboardInterrupt
        self._local_held = True
        try:
            self._take(wait, stop, on_wait)
        except BaseException:
            self.release()
            raise

    def _take(
        self, wait: bool, stop: threading.Event | None, on_wait: Callable[[str], None] | None
    ) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = self.path.open("a+b")
        except OSError as exc:
            raise location_error("the output folder's lock", self.path, exc) from exc
        told = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    handle.close()
                    raise location_error("the output folder's lock", self.path, exc) from exc
            holder = describe_holder(self.path)
            if not wait:
                handle.close()
                raise LocationError(
                    f"The output folder '{self.outdir}' is being written by {holder}.",
                    "Wait for it to finish, or choose another output folder with -o: two "
                    "runs writing one folder would overwrite each other's outputs.",
                )
            if not told and on_wait is not None:
                on_wait(
                    f"waiting: the output folder is being written by {holder}; this one "
                    "starts when that stops."
                )
                told = True
            if stop is not None and stop.wait(_WAIT_STEP):
                handle.close()
                raise KeyboardInterrupt
            if stop is None:
                time.sleep(_WAIT_STEP)
        self._file = handle
        self._write_holder(handle)

    @staticmethod
    def _write_holder(handle: BinaryIO) -> None:
        about = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": _command(),
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps(about).encode())
            handle.flush()
        except OSError:
            pass  # who holds it is for messages only; the lock itself is held

    def release(self) -> None:
        if self._file is not None:
            try:
                fcntl.flock(self._file, fcntl.LOCK_UN)
            finally:
                self._file.close()
                self._file = None
        if self._local_held:
            self._local_held = False
            self._local.release()


def _command() -> str:
    """``scan2pdf watch`` for the command line, the program's file name for the API."""
    program = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    if program in ("scan2pdf", "__main__.py"):
        return " ".join(["scan2pdf", *sys.argv[1:2]])
    return program


def describe_holder(path: Path) -> str:
    """``scan2pdf (pid 123 on host, "scan2pdf watch in", since ...)`` from the lock file."""
    try:
        about = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        about = {}
    if not isinstance(about, dict) or "pid" not in about:
        return "another scan2pdf"
    command = f", '{about['command']}'" if about.get("command") else ""
    since = f", since {about['since']}" if about.get("since") else ""
    return f"another scan2pdf (pid {about['pid']} on {about.get('host', '?')}{command}{since})"


def has_writer(outdir: Path) -> bool:
    """Whether a run holds OUTDIR's lock right now (``status``: pending or interrupted)."""
    path = lock_path(outdir)
    try:
        handle = path.open("rb")
    except OSError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False
