"""convert --dry-run: each input's fate on stdout, the same decisions as a run, nothing written."""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from pathlib import Path

from .conftest import SAMPLES, run_scan2pdf
from .helpers import text_image

NULL = ("--ocr-engine", "none")
NOTE = SAMPLES / "letters" / "spanish-note.png"


def snapshot(root: Path) -> dict[str, tuple[int, str]]:
    return {
        str(p.relative_to(root)): (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_dry_run_says_what_a_run_would_do_and_writes_nothing(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    (src / "book").mkdir(parents=True)
    (src / "loose").mkdir()
    text_image(src / "loose" / "done.png", "converted before")
    text_image(src / "book" / "1.png", "page one")
    text_image(src / "book" / "2.png", "page two")
    assert run_scan2pdf("convert", src / "loose", "-o", out / "loose", *NULL).returncode == 0
    shutil.copy(src / "loose" / "done.png", src / "loose" / "copy.png")  # same content
    text_image(src / "loose" / "new.png", "not converted yet")
    (src / "loose" / "notes.txt").write_text("not a scan")
    with zipfile.ZipFile(src / "loose" / "vendor.zip", "w") as z:
        z.writestr("../escape.png", NOTE.read_bytes())
    before = snapshot(tmp_path)

    run = run_scan2pdf(
        "convert",
        src / "loose",
        src / "book",
        "-o",
        out / "loose",
        "--group-pages",
        "--dry-run",
        *NULL,
    )

    assert run.returncode == 0, run.stderr
    o = out / "loose"
    assert run.stdout.splitlines() == [
        f"reuse       loose/copy.png -> {o}/copy.pdf (same content as {src}/loose/done.png,"
        " converted before: its outputs were copied, not OCRed again)",
        f"up-to-date  loose/done.png -> {o}/done.pdf",
        f"convert     loose/new.png -> {o}/new.pdf (1 page)",
        "skip        loose/notes.txt: unsupported: Not a PDF or an image that Pillow can "
        "open, so there is nothing to convert.",
        "fail        loose/vendor.zip!/../escape.png: unsafe_archive: The archive entry's "
        "name is unsafe: it climbs out of its folder with '..'. It was not extracted. If you "
        "trust the archive, extract it with a tool you trust, check what it holds, and "
        "convert the folder.",
        f"group       book -> {o}/book.pdf (2 pages)",
    ]
    assert run.stderr.splitlines()[-1] == (
        "dry run: 1 convert, 1 fail, 1 group, 1 reuse, 1 skip, 1 up-to-date; "
        "nothing was converted or written."
    )
    assert snapshot(tmp_path) == before  # not the journal, not OUTDIR, not the inputs


def test_dry_run_into_a_new_outdir_creates_nothing(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    text_image(src / "a.png", "a")
    run = run_scan2pdf("convert", src, "-o", tmp_path / "new" / "out", "--dry-run")
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [f"convert     in/a.png -> {tmp_path}/new/out/a.pdf (1 page)"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]
