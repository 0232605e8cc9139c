"""The CPU budget holds with real Tesseract: never more busy Tesseracts than -j.

A Tesseract is a ``tesseract`` process, or a worker thread reading a page with the
Tesseract loaded in the worker (``worker/loaded.py`` names such a thread "tesseract"
while it reads; an OpenMP thread it started would inherit the name, and be counted).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import img2pdf
import pytest
from PIL import Image, ImageSequence

from scan2pdf.worker.loaded import SWITCH, available

from .conftest import SAMPLES, SCAN2PDF


def tesseracts(running: list[Process]) -> list[dict[str, str]]:
    """Tesseract programs of this run that OCR a page.

    Version and language probes (``tesseract --version``) are not OCR and not counted.
    """
    return [
        env
        for _, argv, env in by_program(running, "tesseract")
        if b"--version" not in argv and b"--list-langs" not in argv
    ]


def reading_threads(running: list[Process]) -> int:
    """Threads of this run's Python processes named "tesseract": pages read in-process."""
    count = 0
    for pid, argv, _ in by_program(running, "python"):
        named = 0
        try:
            for task in Path(f"/proc/{pid}/task").iterdir():
                with suppress(OSError):
                    named += (task / "comm").read_text().strip() == "tesseract"
            # A child forked to run the tesseract program is still "python" by its
            # arguments until its exec, which renames it: not a reader, if it is gone.
            still = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        count += named if still == argv else 0
    return count


def interpreters_started_by_workers(running: list[Process]) -> set[int]:
    """Pids of Python interpreters that a worker executed.

    /proc/PID/environ is the environment a process was *executed* with: forked processes
    (workers, OCRmyPDF's page pools) show the coordinator's, while a program a worker
    executes gets the worker's, which has OMP_THREAD_LIMIT=1 (init_worker).
    """
    return {
        pid for pid, _, env in by_program(running, "python") if env.get("OMP_THREAD_LIMIT") == "1"
    }


Process = tuple[int, list[bytes], dict[str, str]]


def processes(marker: str) -> list[Process]:
    """This run's processes (found by a unique TMPDIR in their env): one pass over /proc
    per sample, so that the sampler keeps up with pages read in a tenth of a second."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        env = dict(item.decode(errors="replace").partition("=")[::2] for item in environ if item)
        if env.get("TMPDIR") == marker:
            found.append((int(entry.name), argv, env))
    return found


def by_program(running: list[Process], command: str) -> list[Process]:
    """Those whose program's name starts with ``command``.

    By the program (argv[0]), not /proc/PID/comm: that is the main thread's name, which
    is "tesseract" while a worker's main thread reads a page.
    """
    return [p for p in running if os.path.basename(p[1][0]).startswith(command.encode())]


@dataclass
class Watched:
    """What a sampler saw of one scan2pdf run's processes, every 10 ms."""

    busy: list[int] = field(default_factory=list)  # OCR Tesseracts running, per sample
    in_process: int = 0  # samples in which a page was being read in-process
    thread_limits: set[str] = field(default_factory=set)
    started_by_workers: set[int] = field(default_factory=set)


def watched_run(inputs: Path, out: Path, budget: int, tmp: Path, engine: str = "loaded") -> Watched:
    """``scan2pdf convert INPUTS -o OUT -j BUDGET`` (must succeed), sampled as it runs;
    ``engine`` "command" runs the tesseract program for every page."""
    tmp.mkdir()
    seen = Watched()
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            now = processes(str(tmp))
            running = tesseracts(now)
            threads = reading_threads(now)
            seen.busy.append(len(running) + threads)
            seen.in_process += threads > 0
            seen.thread_limits.update(env.get("OMP_THREAD_LIMIT", "unset") for env in running)
            seen.started_by_workers.update(interpreters_started_by_workers(now))
            stop.wait(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        done = subprocess.run(
            [*SCAN2PDF, "convert", str(inputs), "-o", str(out), "-j", str(budget), "-q"],
            env={
                **without_thread_limit(os.environ),
                "TMPDIR": str(tmp),
                SWITCH: "command" if engine == "command" else "",
            },
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    finally:
        stop.set()
        watcher.join()
    assert done.returncode == 0, done.stderr
    return seen


@pytest.mark.parametrize("engine", ["loaded", "command"])
@pytest.mark.parametrize("budget", [1, 2])
def test_busy_tesseracts_never_exceed_the_budget(tmp_path: Path, budget: int, engine: str) -> None:
    if engine == "loaded" and not available():
        pytest.skip("no tesserocr built on this Tesseract (scripts/bootstrap.sh builds it)")
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(SAMPLES / "reports" / "scanned-report.pdf", src / "report.pdf")
    # Unique pages: identical files are read once. The letter's page takes a loaded
    # Tesseract about 0.5 s, long enough for two readers to be seen at work together.
    for n in range(4):
        unique_page(SAMPLES / "letters" / "spanish-note.png", src / f"note-{n}.png", n)
        unique_page(SAMPLES / "letters" / "english-letter.tif", src / f"letter-{n}.png", n)

    seen = watched_run(src, tmp_path / "out", budget, tmp_path / "tmp", engine)

    assert max(seen.busy) == budget  # the budget is used, and never exceeded
    if engine == "command":
        assert seen.thread_limits == {"1"}  # every Tesseract single-threaded
        assert seen.in_process == 0
    else:  # the pages were read in the workers (the upright check may run the program)
        assert seen.in_process > 0
        assert seen.thread_limits <= {"1"}


def test_a_file_with_two_slots_runs_its_pages_in_warm_processes(tmp_path: Path) -> None:
    """One 2-page PDF with -j 2: its pages take both shared slots, in a page pool forked
    from the warm worker, not a fresh interpreter that imports everything again (about
    2 s of CPU per file)."""
    # The letter's two pages, each stacked three times on one tall page (about 1.5 s each
    # for a loaded Tesseract), as one scanned PDF. At 0.5 s a page the sampler, slowed by
    # the rest of the suite, once saw only one of the two at work (CI, 2026-12-02).
    with Image.open(SAMPLES / "letters" / "english-letter.tif") as letter:
        pages = []
        for n, frame in enumerate(ImageSequence.Iterator(letter)):
            gray = frame.convert("L")
            tall = Image.new("L", (gray.width, gray.height * 3), 255)
            for row in range(3):
                tall.paste(gray, (0, row * gray.height))
            pages.append(tmp_path / f"page-{n}.png")
            tall.save(pages[-1], dpi=letter.info.get("dpi", (300, 300)))
    report = tmp_path / "letter.pdf"
    report.write_bytes(img2pdf.convert([str(p) for p in pages]))

    seen = watched_run(report, tmp_path / "out", 2, tmp_path / "tmp")

    assert max(seen.busy) == 2  # both pages at once: the file did get two slots
    assert seen.started_by_workers == set()


def unique_page(source: Path, target: Path, n: int) -> Path:
    """``source``'s first page as a PNG that differs from the other copies in one pixel."""
    with Image.open(source) as page:
        copy = page.convert("L")
        copy.putpixel((n, 0), 0)
        copy.save(target, dpi=page.info.get("dpi", (300, 300)))
    return target


def without_thread_limit(environ: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in environ.items() if k != "OMP_THREAD_LIMIT"}
