"""One bad file never stops the batch; each failure has a reason and a remedy."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .conftest import SAMPLES, run_scan2pdf
from .helpers import encrypted_pdf, outputs, pdf_pages, text_image


def test_bad_files_fail_alone_with_reasons(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    text_image(src / "good.png", "The batch goes on")
    (src / "truncated.pdf").write_bytes(
        (SAMPLES / "reports" / "scanned-report.pdf").read_bytes()[:300]
    )
    encrypted_pdf(SAMPLES / "reports" / "digital-memo.pdf", src / "locked.pdf", "secret")
    encrypted_pdf(SAMPLES / "reports" / "scanned-report.pdf", src / "open.pdf", "")
    (src / "garbage.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    (src / "readme.txt").write_text("not a scan")
    out = tmp_path / "out"

    run = run_scan2pdf("convert", src, "-o", out, report=tmp_path / "r.jsonl")

    assert run.returncode == 1
    rows = run.by_name()
    outcome = {name: (row["status"], row["reason"]) for name, row in rows.items()}
    assert outcome == {
        "good.png": ("converted", None),
        "open.pdf": ("converted", None),
        "truncated.pdf": ("failed", "corrupt"),
        "locked.pdf": ("failed", "encrypted"),
        "garbage.jpg": ("failed", "corrupt"),  # a JPEG signature: a damaged image
        "readme.txt": ("skipped", "unsupported"),
    }
    assert rows["locked.pdf"]["message"] == (
        "The PDF is encrypted with a password. Remove the password first (for example: "
        "qpdf --decrypt --password=PASSWORD in.pdf out.pdf) and convert the decrypted copy."
    )
    assert str(rows["truncated.pdf"]["message"]).startswith("The PDF cannot be read (")
    assert rows["open.pdf"]["notes"] == ["encryption removed (no password was needed to open it)"]
    assert pdf_pages(out / "open.pdf") == 2
    # Failed inputs leave no output at all; the good one is complete.
    assert [p.name for p in outputs(out)] == ["good.pdf", "good.txt", "open.pdf", "open.txt"]
    assert "batch goes on" in (out / "good.txt").read_text()
    assert "Traceback" not in run.stderr
    assert "failed     " in run.stderr and run.stderr.rstrip().endswith("pages/s)")


def test_verbose_shows_the_details_of_a_failure(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.7\n%%EOF\n")
    quiet = run_scan2pdf("convert", bad, "-o", tmp_path / "o", "-q")
    verbose = run_scan2pdf("convert", bad, "-o", tmp_path / "o", "-v")
    assert quiet.returncode == verbose.returncode == 1
    # Shown relative to the folder of the INPUT it came from (the test runs elsewhere).
    assert quiet.stderr.splitlines()[0].startswith("failed     bad.pdf: corrupt: The PDF cannot")
    assert "Traceback" not in quiet.stderr
    assert "Traceback" in verbose.stderr  # the details, on request only


def test_poison_names_each_fail_alone_with_their_reason(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    page = text_image(tmp_path / "page.png", "a page").read_bytes()
    (src / os.fsdecode(b"bad-\xff-name.png")).write_bytes(page)
    long_name = "x" * 250 + ".png"  # its staging name would pass 255 bytes
    (src / long_name).write_bytes(page + b"\0")  # other content: converted, not copied
    (src / "loop").symlink_to("loop")
    (src / "dangling.png").symlink_to("nowhere.png")
    (src / "good.png").write_bytes(page + b"\0\0")

    run = run_scan2pdf("convert", src, "-o", out, "--ocr-engine", "none", report=tmp_path / "r")

    assert run.returncode == 1
    got = {Path(str(r["input"])).name: (r["status"], r["reason"], r["message"]) for r in run.report}
    assert got["bad-\\xff-name.png"] == (
        "failed",
        "bad_name",
        "Its name is not valid UTF-8, which the journal, the report and the outputs need. "
        "Rename it (for example with convmv -f latin1 -t utf8, or by hand) and run again; "
        "the rest of the batch is not affected.",
    )
    assert got["loop"][:2] == ("failed", "unreadable")
    assert str(got["loop"][2]).startswith("It is a symbolic link that leads back to itself")
    assert str(got["dangling.png"][2]).startswith("It is a symbolic link to a file that does not")
    assert got[long_name][:2] == ("converted", None)
    assert got["good.png"][:2] == ("converted", None)
    assert (out / ("x" * 250 + ".pdf")).is_file()
    assert "Traceback" not in run.stderr


def test_a_sparse_giant_fails_at_once_instead_of_being_read(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    with (src / "giant.pdf").open("wb") as giant:
        giant.write(b"%PDF-1.7\n")
        giant.truncate(3 << 30)  # 3 GiB of holes: reading it would take the coordinator minutes
    text_image(src / "good.png", "still converted")

    run = run_scan2pdf("convert", src, "-o", out, "--ocr-engine", "none", report=tmp_path / "r")

    rows = run.by_name()
    assert (rows["giant.pdf"]["status"], rows["giant.pdf"]["reason"]) == ("failed", "corrupt")
    assert str(rows["giant.pdf"]["message"]).startswith(
        "It is 3.0 GiB long but only 0.0 MiB of it is on disk: a sparse"
    )
    assert rows["good.png"]["status"] == "converted"


def test_a_full_failed_disk_is_said_and_leaves_nothing_half_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 35: a full --failed disk silently dropped the copy and left an empty temp
    file; now the result says it could not be copied, and nothing is left there."""
    import errno
    import json as json_module

    from scan2pdf.core.api import convert
    from scan2pdf.state import failures

    from .engine_helpers import NULL_ENGINE

    src, out, kept = tmp_path / "in", tmp_path / "out", tmp_path / "failed"
    src.mkdir()
    (src / "broken.pdf").write_bytes(b"%PDF-1.4\n% nothing else\n")

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    for name, module in (("publish", failures), ("dump", json_module)):
        with monkeypatch.context() as patch:
            patch.setattr(module, name, full)
            results: list = []
            convert(
                [src],
                out / name,
                NULL_ENGINE,
                failed_dir=kept / name,
                force=True,
                on_result=results.append,
            )
        (result,) = results
        assert result.status == "failed"
        assert "could not be copied to --failed (No space left on device)" in result.notes
        assert [p.name for p in (kept / name).rglob("*") if p.is_file()] == [], name
