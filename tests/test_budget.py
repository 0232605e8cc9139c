"""The CPU budget holds with real Tesseract: never more busy Tesseracts than -j."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from .conftest import SAMPLES, SCAN2PDF


def tesseracts(marker: str) -> list[dict[str, str]]:
    """Tesseracts of this run that OCR a page (found by a unique TMPDIR in their env).

    Version and language probes (``tesseract --version``) are not OCR and not counted.
    """
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "tesseract":
                continue
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            if b"--version" in argv or b"--list-langs" in argv:
                continue
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        env = dict(item.decode(errors="replace").partition("=")[::2] for item in environ if item)
        if env.get("TMPDIR") == marker:
            found.append(env)
    return found


@pytest.mark.parametrize("budget", [1, 2])
def test_busy_tesseracts_never_exceed_the_budget(tmp_path: Path, budget: int) -> None:
    src, tmp = tmp_path / "in", tmp_path / "tmp"
    src.mkdir()
    tmp.mkdir()
    for n in range(3):  # long and short files, so the tail gets several slots per file
        shutil.copy(SAMPLES / "reports" / "scanned-report.pdf", src / f"report-{n}.pdf")
        shutil.copy(SAMPLES / "letters" / "spanish-note.png", src / f"note-{n}.png")
    seen: list[int] = []
    limits: set[str] = set()
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            running = tesseracts(str(tmp))
            seen.append(len(running))
            limits.update(env.get("OMP_THREAD_LIMIT", "unset") for env in running)
            stop.wait(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        done = subprocess.run(
            [*SCAN2PDF, "convert", str(src), "-o", str(tmp_path / "out"), "-j", str(budget), "-q"],
            env={**os.environ, "TMPDIR": str(tmp)},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    finally:
        stop.set()
        watcher.join()
    assert done.returncode == 0, done.stderr
    assert max(seen) == budget  # the budget is used, and never exceeded
    assert limits == {"1"}  # every Tesseract single-threaded
