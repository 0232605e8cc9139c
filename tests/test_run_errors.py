"""Run-level failures end with one or two lines, exit code 4 and no traceback (only with -v);
a stop at any moment exits 130. Real commands in-process (CliRunner), null OCR engine."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from scan2pdf.cli.commands import cli
from scan2pdf.state.journal import default_path

from .conftest import SAMPLES, SCAN2PDF
from .engine_helpers import scan
from .helpers import wait_for


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def src(tmp_path: Path) -> Path:
    scan(tmp_path / "in" / "page.png")
    return tmp_path / "in"


def convert(runner: CliRunner, *args: str | Path) -> tuple[int, str]:
    result = runner.invoke(cli, ["convert", *map(str, args), "--ocr-engine", "none"])
    return result.exit_code, result.stderr


def test_an_output_folder_that_cannot_be_created(
    runner: CliRunner, src: Path, tmp_path: Path
) -> None:
    (tmp_path / "file").write_text("in the way")
    code, err = convert(runner, src, "-o", tmp_path / "file" / "out")
    assert code == 4
    assert err == (
        f"Error: Cannot use the output folder '{tmp_path / 'file' / 'out'}': Not a directory. "
        "Choose one this user may write, with -o.\n"
    )


def test_a_report_path_that_is_a_folder(runner: CliRunner, src: Path, tmp_path: Path) -> None:
    (tmp_path / "r").mkdir()
    code, err = convert(runner, src, "-o", tmp_path / "out", "--report", tmp_path / "r")
    assert code == 2  # Click refuses a folder for a file option before anything runs
    code, err = convert(
        runner, src, "-o", tmp_path / "out", "--report", tmp_path / "in" / "page.png" / "r.jsonl"
    )
    assert code == 4
    bad = tmp_path / "in" / "page.png" / "r.jsonl"
    assert err.startswith(f"Error: Cannot use the report file (--report) '{bad}':")
    assert "Traceback" not in err


def test_a_corrupt_journal(runner: CliRunner, src: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    default_path(out).parent.mkdir(parents=True)
    default_path(out).write_bytes(b"this is not an SQLite database, it was overwritten" * 100)
    code, err = convert(runner, src, "-o", out)
    assert code == 4
    assert err == (
        f"Error: The journal '{default_path(out)}' is damaged (file is not a database). Move it "
        "aside and run again: outputs newer than their inputs are kept, the rest is converted "
        "again.\n"
    )
    result = runner.invoke(cli, ["status", str(out)])
    assert result.exit_code == 4 and "is damaged (file is not a database)" in result.stderr


def test_a_journal_locked_by_another_program(runner: CliRunner, src: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert convert(runner, src, "-o", out)[0] == 0
    holder = sqlite3.connect(default_path(out), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        scan(src / "second.png", shade=40)
        code, err = convert(runner, src, "-o", out)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert code == 4
    assert err.splitlines()[-1] == (
        f"Error: The journal '{default_path(out)}' is locked by another program. Wait for it "
        "to finish (another scan2pdf on this OUTDIR?), or give this run another --journal."
    )


def test_a_journal_from_a_newer_scan2pdf(runner: CliRunner, src: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    default_path(out).parent.mkdir(parents=True)
    with sqlite3.connect(default_path(out)) as db:
        db.execute("PRAGMA user_version = 99")
    said = (
        f"Error: The journal '{default_path(out)}' was written by a newer scan2pdf (schema 99; "
        "this one reads up to 4). Upgrade scan2pdf, or give this run another --journal.\n"
    )
    code, err = convert(runner, src, "-o", out)
    assert (code, err) == (4, said)
    # Issue 35: status and --dry-run read it as this version's instead of refusing it.
    code, err = convert(runner, src, "-o", out, "--dry-run")
    assert (code, err) == (4, said)
    status = runner.invoke(cli, ["status", str(out)])
    assert (status.exit_code, status.stderr) == (4, said)


def test_a_failed_folder_that_cannot_be_created(
    runner: CliRunner, src: Path, tmp_path: Path
) -> None:
    (tmp_path / "file").write_text("in the way")
    code, err = convert(runner, src, "-o", tmp_path / "out", "--failed", tmp_path / "file" / "f")
    assert code == 4
    assert err.startswith(
        f"Error: Cannot use the failure folder (--failed) '{tmp_path / 'file' / 'f'}'"
    )


def test_watch_refuses_a_done_folder_it_cannot_create(runner: CliRunner, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (tmp_path / "file").write_text("in the way")
    result = runner.invoke(
        cli,
        ["watch", str(inbox), "-o", str(tmp_path / "out"), "--done", str(tmp_path / "file" / "d")],
    )
    assert result.exit_code == 4
    assert result.stderr.splitlines()[-1].startswith(
        f"Error: Cannot use the done folder (--done) '{tmp_path / 'file' / 'd'}'"
    )


def test_verbose_adds_the_traceback(runner: CliRunner, src: Path, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("in the way")
    code, err = convert(runner, src, "-o", tmp_path / "file" / "out", "-v")
    assert code == 4 and "Traceback (most recent call last)" in err


def test_a_stop_before_the_first_file_exits_130(
    runner: CliRunner, src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As if SIGTERM came while the command was still starting (launch.py's listener)."""
    early = threading.Event()
    early.set()
    monkeypatch.setattr("scan2pdf.cli.handler.EARLY", early)
    code, err = convert(runner, src, "-o", tmp_path / "out")
    assert code == 130
    assert err.startswith("Interrupted: 0 converted")
    assert not (tmp_path / "out" / "page.pdf").exists()


def catches_sigterm(pid: int) -> bool:
    """The process has a handler for SIGTERM (bit 15 - 1 of SigCgt in /proc/PID/status)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    mask = next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(mask, 16) & (1 << (signal.SIGTERM - 1)))


def test_sigterm_while_the_command_starts_exits_130(tmp_path: Path) -> None:
    """A real process, stopped as early as it can listen: before any file has started."""
    process = subprocess.Popen(
        [*SCAN2PDF, "convert", str(SAMPLES), "-o", str(tmp_path / "out")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(lambda: catches_sigterm(process.pid), 30, "the command to listen for SIGTERM")
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert not list((tmp_path / "out").rglob("*.pdf"))  # nothing was converted


# ---- options and inputs refused up front (issue 11, the parts the engine made easy) ------


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--timeout", "nan", "Error: --timeout must be a finite number, not nan.\n"),
        ("--timeout", "inf", "Error: --timeout must be a finite number, not inf.\n"),
        (
            "--max-image-mpixels",
            "nan",
            "Error: --max-image-mpixels must be a finite number, not nan.\n",
        ),
        (
            "-l",
            "osd",
            "Error: 'osd' is Tesseract's orientation and script detection data, not a language "
            "to read. Use --rotate-pages for orientation; give -l the languages of the text.\n",
        ),
    ],
)
def test_options_that_cannot_work_exit_2(
    runner: CliRunner, src: Path, tmp_path: Path, option: str, value: str, message: str
) -> None:
    code, err = convert(runner, src, "-o", tmp_path / "out", option, value)
    assert (code, err) == (2, message)
    assert not (tmp_path / "out").exists()


def test_more_jobs_than_cores_are_capped_with_a_note(
    runner: CliRunner, src: Path, tmp_path: Path
) -> None:
    code, err = convert(runner, src, "-o", tmp_path / "out", "-j", "10000")
    assert code == 0
    cores = len(os.sched_getaffinity(0))
    assert err.splitlines()[0] == (
        f"warning: -j 10000 is more than the {cores} cores this process may use; using {cores}."
    )


def test_a_fifo_given_directly_fails_alone_and_never_hangs(
    runner: CliRunner, src: Path, tmp_path: Path
) -> None:
    fifo = tmp_path / "pipe.pdf"
    os.mkfifo(fifo)
    code, err = convert(runner, fifo, src / "page.png", "-o", tmp_path / "out")
    assert code == 1
    assert (
        "failed     pipe.pdf: not_a_file: It is a named pipe, device or socket. scan2pdf reads "
        "regular files only; copy the data into a file and convert that." in err
    )
    assert (tmp_path / "out" / "page.pdf").exists()


@pytest.mark.parametrize("where", ["report", "journal", "inbox-in-outdir"])
def test_watch_refuses_layouts_that_would_eat_its_own_files(
    runner: CliRunner, tmp_path: Path, where: str
) -> None:
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    args = ["watch", str(inbox), "-o", str(out)]
    if where == "report":
        args += ["--report", str(inbox / "report.jsonl")]
    elif where == "journal":
        args += ["--journal", str(inbox / "j.sqlite")]
    else:
        inbox = out / "inbox"
        inbox.mkdir(parents=True)
        args = ["watch", str(inbox), "-o", str(out)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 2
    assert "inside the inbox" in result.stderr or "is inside the output folder" in result.stderr


def test_messages_end_in_one_full_stop_and_advise_our_flags() -> None:
    """Issue 35: "Unexpected MemoryError: .", messages ending "..", and OCRmyPDF's own
    flags (--redo-ocr) in advice where scan2pdf's are meant."""
    from ocrmypdf import exceptions as ox

    from scan2pdf.errors import OcrError
    from scan2pdf.worker import engine, task

    assert OcrError("The page could not be read: stream damaged..").detail == (
        "The page could not be read: stream damaged."
    )
    job = type("J", (), {"identity": "/x.png", "index": 0})()
    outcome = task.failed_outcome(job, MemoryError(), 0.0)  # type: ignore[arg-type]
    assert outcome.result.message.startswith("Unexpected MemoryError.")
    said = engine._reason_for(
        ox.PriorOcrFoundError("page already has text! (use --force-ocr; see --redo-ocr)"), 1.0
    )
    assert said is not None
    assert "--existing-text force" in said.message and "--existing-text redo" in said.message
    assert "--force-ocr" not in said.message
