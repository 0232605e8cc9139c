"""What a wrapper or a person watching a run sees: JSON progress events and the bar."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console

from scan2pdf.cli.display import Display
from scan2pdf.core.counting import Totals
from scan2pdf.core.events import FileFinished, FileStarted, PageDone
from scan2pdf.core.report import FileResult

from .conftest import SAMPLES, run_scan2pdf
from .helpers import text_image


def events_of(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines()]


def test_json_progress_on_stderr(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "notes.txt").write_text("not a scan")
    text_image(src / "a.png", "First loose page")
    (src / "letters").mkdir()
    letter = src / "letters" / "letter.tif"
    letter.write_bytes((SAMPLES / "letters" / "english-letter.tif").read_bytes())

    run = run_scan2pdf("convert", src, "-o", tmp_path / "out", "--progress", "json")

    assert run.returncode == 0
    events = events_of(run.stderr)  # every line is JSON: nothing else shares stderr
    assert {e["v"] for e in events} == {1}
    kinds = [e["event"] for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "summary"
    totals = next(e for e in events if e["event"] == "totals")
    assert (totals["files"], totals["pages"]) == (3, 3)
    mine = [e for e in events if e.get("input") == str(letter.resolve())]
    assert [e["event"] for e in mine] == ["file_started", "page_done", "page_done", "file_finished"]
    assert [e.get("done") for e in mine[1:3]] == [1, 2]
    finished = mine[-1]
    assert finished["status"] == "converted" and finished["pages"] == 2
    assert finished["output"] == str(tmp_path / "out" / "letters" / "letter.pdf")
    summary = events[-1]
    assert (summary["converted"], summary["skipped"], summary["failed"]) == (2, 1, 0)
    assert summary["exit_code"] == 0 and summary["interrupted"] is False
    times = [float(str(e["t"])) for e in events]
    assert times == sorted(times)


def test_progress_file_keeps_the_display_on_stderr(tmp_path: Path) -> None:
    text_image(tmp_path / "a.png", "Page for the progress file")
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.7\n%%EOF\n")
    progress = tmp_path / "progress.jsonl"

    run = run_scan2pdf(
        "convert", tmp_path / "a.png", bad, "-o", tmp_path / "out", "--progress-file", progress
    )

    assert run.returncode == 1
    assert "converted  a.png -> " in run.stderr
    assert "failed     bad.pdf: corrupt: " in run.stderr
    events = events_of(progress.read_text())
    assert events[-1]["event"] == "summary" and events[-1]["exit_code"] == 1
    failed = next(e for e in events if e.get("status") == "failed")
    assert failed["reason"] == "corrupt"


def test_progress_file_that_cannot_be_written_exits_4(tmp_path: Path) -> None:
    text_image(tmp_path / "a.png", "Never converted")
    run = run_scan2pdf(
        "convert",
        tmp_path / "a.png",
        "-o",
        tmp_path / "out",
        "--progress-file",
        tmp_path / "missing" / "dir" / "p.jsonl",
    )
    assert run.returncode == 4
    assert run.stderr.startswith("Error: Cannot use the progress file (--progress-file)")
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "out").exists()


def test_the_bar_shows_totals_eta_and_the_files_in_flight() -> None:
    """On a terminal: files 1/3 and pages 3/5 once counted, an ETA, and what is running."""
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120, color_system=None)
    big, small = Path("/scans/volume.pdf"), Path("/scans/letter.png")
    with Display(0, console=console, roots=(Path("/scans"),)) as display:
        display.totals(Totals(files=3, pages=5, complete=True))
        display.on_event(FileStarted(big, 3))
        display.on_event(PageDone(big, 1, 3))
        display.on_event(PageDone(big, 2, 3))
        display.on_event(FileStarted(small, 1))
        result = FileResult(small, "converted", output=Path("/o/letter.pdf"), pages=1)
        display.on_event(FileFinished(result))
    drawn = screen.getvalue()  # the last frame is drawn as the bar stops
    assert "files" in drawn and "1/3" in drawn
    assert "pages" in drawn and "3/5" in drawn
    assert "now: volume.pdf 2/3" in drawn
    assert "eta" in drawn
    assert "converted  scans/letter.png -> /o/letter.pdf" in drawn
