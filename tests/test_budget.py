"""The CPU budget holds with real Tesseract: never more busy Tesseracts than -j."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .conftest import SAMPLES, SCAN2PDF


def tesseracts(marker: str) -> list[dict[str, str]]:
    """Tesseracts of this run that OCR a page (found by a unique TMPDIR in their env).

    Version and language probes (``tesseract --version``) are not OCR and not counted.
    """
    return [
        env
        for _, argv, env in processes(marker, "tesseract")
        if b"--version" not in argv and b"--list-langs" not in argv
    ]


def interpreters_started_by_workers(marker: str) -> set[int]:
    """Pids of Python interpreters that a worker executed.

    /proc/PID/environ is the environment a process was *executed* with: forked processes
    (workers, OCRmyPDF's page pools) show the coordinator's, while a program a worker
    executes gets the worker's, which has OMP_THREAD_LIMIT=1 (init_worker).
    """
    return {
        pid for pid, _, env in processes(marker, "python") if env.get("OMP_THREAD_LIMIT") == "1"
    }


def processes(marker: str, command: str) -> list[tuple[int, list[bytes], dict[str, str]]]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if not (entry / "comm").read_text().strip().startswith(command):
                continue
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        env = dict(item.decode(errors="replace").partition("=")[::2] for item in environ if item)
        if env.get("TMPDIR") == marker:
            found.append((int(entry.name), argv, env))
    return found


@dataclass
class Watched:
    """What a sampler saw of one scan2pdf run's processes, every 10 ms."""

    busy: list[int] = field(default_factory=list)  # OCR Tesseracts running, per sample
    thread_limits: set[str] = field(default_factory=set)
    started_by_workers: set[int] = field(default_factory=set)


def watched_run(inputs: Path, out: Path, budget: int, tmp: Path) -> Watched:
    """``scan2pdf convert INPUTS -o OUT -j BUDGET`` (must succeed), sampled as it runs."""
    tmp.mkdir()
    seen = Watched()
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            running = tesseracts(str(tmp))
            seen.busy.append(len(running))
            seen.thread_limits.update(env.get("OMP_THREAD_LIMIT", "unset") for env in running)
            seen.started_by_workers.update(interpreters_started_by_workers(str(tmp)))
            stop.wait(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        done = subprocess.run(
            [*SCAN2PDF, "convert", str(inputs), "-o", str(out), "-j", str(budget), "-q"],
            env={**without_thread_limit(os.environ), "TMPDIR": str(tmp)},
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


@pytest.mark.parametrize("budget", [1, 2])
def test_busy_tesseracts_never_exceed_the_budget(tmp_path: Path, budget: int) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for n in range(3):
        shutil.copy(SAMPLES / "reports" / "scanned-report.pdf", src / f"report-{n}.pdf")
        shutil.copy(SAMPLES / "letters" / "spanish-note.png", src / f"note-{n}.png")

    seen = watched_run(src, tmp_path / "out", budget, tmp_path / "tmp")

    assert max(seen.busy) == budget  # the budget is used, and never exceeded
    assert seen.thread_limits == {"1"}  # every Tesseract single-threaded


def test_a_file_with_two_slots_runs_its_pages_in_warm_processes(tmp_path: Path) -> None:
    """One 2-page PDF with -j 2: its pages take both shared slots, in a page pool forked
    from the warm worker, not a fresh interpreter that imports everything again (about
    2 s of CPU per file)."""
    report = SAMPLES / "reports" / "scanned-report.pdf"

    seen = watched_run(report, tmp_path / "out", 2, tmp_path / "tmp")

    assert max(seen.busy) == 2  # both pages at once: the file did get two slots
    assert seen.started_by_workers == set()


def without_thread_limit(environ: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in environ.items() if k != "OMP_THREAD_LIMIT"}
