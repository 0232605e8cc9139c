"""The journal: resumable runs, content identity, status, retry, the failure folder,
kill -9 at random points and a full disk, all with real files and real processes."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scan2pdf.state.journal import Journal, default_path

from .conftest import SAMPLES, SCAN2PDF, run_scan2pdf
from .helpers import pdf_pages, text_image, wait_for

NOTE = SAMPLES / "letters" / "spanish-note.png"
LETTER = SAMPLES / "letters" / "english-letter.tif"
REPORT = SAMPLES / "reports" / "scanned-report.pdf"


def journal(out: Path) -> Journal:
    return Journal(default_path(out))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def batch(tmp_path: Path) -> Path:
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    shutil.copy(NOTE, src / "note.png")
    shutil.copy(LETTER, src / "sub" / "letter.tif")
    shutil.copy(REPORT, src / "report.pdf")
    return src


def test_journal_records_every_input(batch: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = run_scan2pdf("convert", batch, "-o", out)
    assert run.returncode == 0, run.stderr
    db = default_path(out)
    assert db.exists()
    with sqlite3.connect(db) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    entries = {Path(e.identity).name: e for e in journal(out).entries()}
    assert sorted(entries) == ["letter.tif", "note.png", "report.pdf"]
    letter = entries["letter.tif"]
    assert (letter.status, letter.attempts, letter.pages) == ("converted", 1, 2)
    assert letter.content == sha256(batch / "sub" / "letter.tif")
    assert letter.output == str(out / "sub" / "letter.pdf")
    assert letter.sidecar == str(out / "sub" / "letter.txt")
    assert len({e.fingerprint for e in entries.values()}) == 1


def test_second_run_skips_by_journal_and_options_matter(batch: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_scan2pdf("convert", batch, "-o", out)
    again = run_scan2pdf("convert", batch, "-o", out, "-j", "1", report=tmp_path / "a.jsonl")
    assert {r["reason"] for r in again.report} == {"up_to_date"}  # -j does not shape output
    touched = batch / "note.png"
    os.utime(touched, (time.time() + 5, time.time() + 5))  # newer, same content
    third = run_scan2pdf("convert", batch, "-o", out, report=tmp_path / "b.jsonl")
    assert {r["reason"] for r in third.report} == {"up_to_date"}
    other = run_scan2pdf("convert", batch, "-o", out, "-l", "spa", report=tmp_path / "c.jsonl")
    assert {r["status"] for r in other.report} == {"converted"}  # another language: redone


def test_changed_content_is_redone(batch: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_scan2pdf("convert", batch, "-o", out)
    text_image(batch / "note.png", "Replaced by a new scan", fmt="PNG")
    run = run_scan2pdf("convert", batch, "-o", out, report=tmp_path / "r.jsonl")
    statuses = {Path(str(r["input"])).name: r["status"] for r in run.report}
    assert statuses == {"note.png": "converted", "letter.tif": "skipped", "report.pdf": "skipped"}
    assert "new scan" in (out / "note.txt").read_text()


def test_renamed_and_copied_inputs_reuse_their_outputs(batch: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_scan2pdf("convert", batch, "-o", out)
    before = journal(out).conversions()
    (batch / "report.pdf").rename(batch / "sub" / "moved-report.pdf")
    shutil.copy(batch / "note.png", batch / "note-copy.png")
    run = run_scan2pdf("convert", batch, "-o", out, report=tmp_path / "r.jsonl")
    rows = run.by_name()
    moved, copied = rows["moved-report.pdf"], rows["note-copy.png"]
    assert (moved["status"], moved["ocr_pages"], copied["status"]) == ("converted", 0, "converted")
    assert moved["notes"] == [
        f"same content as {batch / 'report.pdf'}, converted before: "
        "its outputs were moved, not OCRed again"
    ]
    assert copied["notes"] == [
        f"same content as {batch / 'note.png'}, converted before: "
        "its outputs were copied, not OCRed again"
    ]
    assert not (out / "report.pdf").exists()  # the outputs followed the input
    assert pdf_pages(out / "sub" / "moved-report.pdf") == 2
    assert (out / "note-copy.txt").read_text() == (out / "note.txt").read_text()
    assert journal(out).conversions() == before  # nothing OCRed again
    third = run_scan2pdf("convert", batch, "-o", out, report=tmp_path / "third.jsonl")
    assert {r["reason"] for r in third.report} == {"up_to_date"}  # reused ones too


def test_status_retry_and_failure_folder(tmp_path: Path) -> None:
    src, out, failed = tmp_path / "in", tmp_path / "out", tmp_path / "failed"
    (src / "deep").mkdir(parents=True)
    shutil.copy(NOTE, src / "good.png")
    (src / "deep" / "broken.pdf").write_bytes(REPORT.read_bytes()[:300])
    first = run_scan2pdf("convert", src, "-o", out, "--failed", failed)
    assert first.returncode == 1
    status = subprocess.run(
        [*SCAN2PDF, "status", str(out)], capture_output=True, text=True, check=False
    )
    assert status.stdout == "converted  1\nfailed     1 (corrupt 1)\npending    0\n"

    kept = failed / "deep" / "broken.pdf"
    assert kept.read_bytes() == (src / "deep" / "broken.pdf").read_bytes()
    error = json.loads((failed / "deep" / "broken.pdf.error.json").read_text())
    assert (error["reason"], error["attempts"]) == ("corrupt", 1)
    assert error["message"].startswith("The PDF cannot be read (")
    assert set(error["tools"]) == {"scan2pdf", "ocrmypdf", "tesseract", "ghostscript"}

    retried = run_scan2pdf("retry", out, "--reason", "encrypted", report=tmp_path / "r0.jsonl")
    assert (retried.returncode, retried.report) == (0, [])  # nothing failed for that reason
    again = run_scan2pdf("retry", out, report=tmp_path / "r1.jsonl")
    assert again.returncode == 1  # still broken: still listed, with a second attempt
    assert journal(out).entries(status="failed")[0].attempts == 2

    shutil.copy(REPORT, src / "deep" / "broken.pdf")  # someone fixed the file
    fixed = run_scan2pdf("retry", out, report=tmp_path / "r2.jsonl")
    assert fixed.returncode == 0
    assert [r["status"] for r in fixed.report] == ["converted"]
    assert pdf_pages(out / "deep" / "broken.pdf") == 2
    status = subprocess.run(
        [*SCAN2PDF, "status", str(out)], capture_output=True, text=True, check=False
    )
    assert status.stdout == "converted  2\nfailed     0\npending    0\n"


def test_status_without_a_journal(tmp_path: Path) -> None:
    done = subprocess.run(
        [*SCAN2PDF, "status", str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert done.stderr == (
        f"Error: There is no journal at '{default_path(tmp_path)}'. Run scan2pdf convert first.\n"
    )


@pytest.mark.slow
def test_kill9_at_random_points_then_resume(tmp_path: Path) -> None:
    """kill -9 the coordinator again and again; every input ends converted exactly once."""
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for n in range(4):
        shutil.copy(REPORT, src / f"report-{n}.pdf")
        text_image(src / f"page-{n}.png", f"Page number {n} survives kills", fmt="PNG")
    chance = random.Random(20261120)
    for _ in range(4):
        proc = subprocess.Popen(
            [*SCAN2PDF, "convert", str(src), "-o", str(out), "-j", "2"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(chance.uniform(0.3, 4.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    final = run_scan2pdf("convert", src, "-o", out, "-j", "2", report=tmp_path / "r.jsonl")
    assert final.returncode == 0, final.stderr
    for path in out.rglob("*"):
        assert not path.name.endswith(".scan2pdf-part"), path
    assert sorted(p.stem for p in out.glob("*.pdf")) == sorted(p.stem for p in src.iterdir())
    for pdf in out.glob("*.pdf"):
        assert pdf_pages(pdf) == (2 if pdf.stem.startswith("report") else 1)
    # The four reports share their content: some are OCRed, the rest reuse those outputs.
    entries = {Path(e.identity).name: e.status for e in journal(out).entries()}
    assert sorted(entries) == sorted(p.name for p in src.iterdir())
    assert set(entries.values()) <= {"converted", "reused"}
    history = journal(out).conversions()
    assert set(history.values()) == {1}  # no input converted twice from the same content


def test_status_after_kill9_shows_interrupted_work_not_pending(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for n in range(4):
        text_image(src / f"page-{n}.png", f"Page {n} of an interrupted run", fmt="PNG")
    proc = subprocess.Popen(
        [*SCAN2PDF, "convert", str(src), "-o", str(out), "-j", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def running() -> bool:
            if not default_path(out).exists():
                return False
            return bool(journal(out).entries(status="running"))

        wait_for(running, 60, "a file in flight")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    left = len(journal(out).entries(status="running"))
    done = len(journal(out).entries(status="converted"))

    status = run_scan2pdf("status", out)

    assert status.returncode == 0
    assert status.stdout == (
        f"converted  {done}\nfailed     0\npending    0\n"
        f"interrupted {left} (the next run converts them)\n"
    )


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 12 MiB tmpfs, mounted for real (needs root and mount rights; skipped otherwise)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_disk_full_stops_cleanly_and_resumes(tmp_path: Path, tiny_disk: Path) -> None:
    src, out = tmp_path / "in", tiny_disk / "out"
    src.mkdir()
    for n in range(6):
        shutil.copy(REPORT, src / f"report-{n}.pdf")
    filler = tiny_disk / "filler"
    free = shutil.disk_usage(tiny_disk).free
    filler.write_bytes(b"\0" * (free - 900_000))  # room for about one converted file
    run = run_scan2pdf("convert", src, "-o", out, "-j", "1")
    assert run.returncode == 1
    assert run.stderr.splitlines()[-1].startswith("Error: No space left on the device")
    assert "Free some space and run the same command again" in run.stderr
    assert "Traceback" not in run.stderr
    for path in out.rglob("*"):
        assert not path.name.endswith(".scan2pdf-part"), path
        if path.suffix == ".pdf":
            assert pdf_pages(path) == 2
        if path.suffix == ".txt":  # never a sidecar published without its PDF
            assert path.with_suffix(".pdf").exists(), path
    assert not list((out / ".scan2pdf" / "staging").iterdir())  # swept
    # Still full: again a message and the same code, from the journal or the outputs.
    again = run_scan2pdf("convert", src, "-o", out, "-j", "1")
    assert again.returncode == 1, again.stderr
    assert "Error: No space left on the device" in again.stderr
    assert "Traceback" not in again.stderr
    status = run_scan2pdf("status", out)  # read without writing: works on a full disk
    assert status.returncode == 0, status.stderr
    assert status.stdout.startswith("converted  ")
    filler.unlink()
    resumed = run_scan2pdf("convert", src, "-o", out, "-j", "1", report=tmp_path / "r.jsonl")
    assert resumed.returncode == 0, resumed.stderr
    assert sorted(p.name for p in out.glob("*.pdf")) == [f"report-{n}.pdf" for n in range(6)]


def test_a_full_failed_folder_or_report_and_a_read_only_outdir(
    tmp_path: Path, tiny_disk: Path
) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "broken.pdf").write_bytes(b"%PDF-1.7\n%%EOF\n")
    text_image(src / "good.png", "a good page")
    (tiny_disk / "filler").write_bytes(b"\0" * shutil.disk_usage(tiny_disk).free)
    null = ("--ocr-engine", "none")

    # --failed on the full disk: noted, and the batch goes on to the good file.
    run = run_scan2pdf(
        "convert",
        src,
        "-o",
        tmp_path / "out",
        "--failed",
        tiny_disk / "failed",
        *null,
        report=tmp_path / "r.jsonl",
    )
    assert run.returncode == 1
    rows = run.by_name()
    assert rows["good.png"]["status"] == "converted"
    assert any("could not be copied to --failed" in n for n in rows["broken.pdf"]["notes"])

    report = run_scan2pdf("convert", src, "-o", tmp_path / "out2", "--report", "/dev/full", *null)
    assert report.returncode == 4
    assert "Error: Cannot use the report file (--report) '/dev/full': No space left" in (
        report.stderr
    )
    assert "Traceback" not in report.stderr

    readonly = tmp_path / "ro"
    readonly.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(readonly)], check=False
    )
    assert mounted.returncode == 0
    try:
        ro = run_scan2pdf("convert", src, "-o", readonly / "out", *null)
    finally:
        subprocess.run(["umount", "-l", str(readonly)], check=False)
    assert ro.returncode == 4
    assert ro.stderr.strip() == (
        f"Error: Cannot use the output folder '{readonly / 'out'}': Read-only file system. "
        "Choose one this user may write, with -o."
    )
