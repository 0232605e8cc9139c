"""Stopping a run at a safe point: signals only set an event, the pipeline acts on it.

A KeyboardInterrupt raised wherever the main thread happens to be could land between
publishing a PDF and journalling it, or between a sidecar and its PDF. So SIGINT (Ctrl-C)
and SIGTERM (systemd, kill) set a ``threading.Event`` instead; the pipeline checks it
between files, stops the workers at once, and ends with KeyboardInterrupt (exit 130).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


@contextmanager
def stop_on_signals(
    stop: threading.Event, signals: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM)
) -> Iterator[threading.Event]:
    """While inside, ``signals`` set ``stop``; outside the main thread this does nothing.

    Installed explicitly also because a process started in the background by a
    non-interactive shell inherits SIGINT as ignored, and Python keeps it that way.
    """
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in signals}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


# Set by a signal that came before a run was listening (the command's launcher listens
# first thing); the run that starts next then stops at once, exit code 130.
EARLY = threading.Event()


def listen_early() -> None:
    """From now on SIGINT and SIGTERM set ``EARLY`` instead of killing the process."""

    def handler(signum: int, frame: FrameType | None) -> None:
        EARLY.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)
