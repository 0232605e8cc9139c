"""Counting a batch in the background, so a display can show totals and an ETA at once.

The pipeline consumes discovery lazily (memory stays flat on a million files), so it
cannot know the totals until the end. A second, cheap walk with the same discovery rules
runs in a daemon thread while the work starts, and reports what it has counted as it goes
and once when it is done.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from scan2pdf.core.discover import discover


@dataclass(frozen=True, slots=True)
class Totals:
    files: int
    pages: int
    # False while still counting: the numbers are a floor.
    complete: bool


# How often (in files) the counter reports what it has so far.
_EVERY = 500


def count_in_background(
    inputs: Sequence[Path],
    outdir: Path,
    tell: Callable[[Totals], None],
    stop: threading.Event,
    *,
    group_pages: bool = False,
) -> threading.Thread:
    """Start counting ``inputs`` as ``discover`` sees them; ``tell`` hears the totals from
    the counting thread, every few hundred files and once complete. A tree that cannot be
    walked is simply not counted (the run itself reports why).

    Set ``stop`` and join the thread before the program ends: a daemon thread still
    inside pikepdf's C++ when the interpreter shuts down aborts the process ("terminate
    called without an active exception", exit -6).
    """

    def count() -> None:
        files = pages = 0
        try:
            for item in discover(inputs, outdir, group_pages=group_pages):
                if stop.is_set():
                    return
                files += 1
                pages += item.work.pages if item.kind in ("pdf", "image", "pages") else 0
                if files % _EVERY == 0:
                    tell(Totals(files, pages, complete=False))
        except Exception:
            return  # the run meets the same problem and says what it is
        tell(Totals(files, pages, complete=True))

    thread = threading.Thread(target=count, name="scan2pdf-count", daemon=True)
    thread.start()
    return thread
