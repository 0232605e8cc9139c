"""The installed Tesseract languages, as a warm worker knows them: listed once, not once
per file (OCRmyPDF 17.13 alone runs `tesseract --list-langs` in every ocr() call), and
listed again when a language pack is installed while the worker lives."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from scan2pdf.core.tools import tessdata_folder

from .conftest import run_scan2pdf
from .helpers import text_image


def test_a_batch_lists_the_languages_once_per_process_not_per_file(tmp_path: Path) -> None:
    real = shutil.which("tesseract")
    assert real is not None
    shim = tmp_path / "bin" / "tesseract"
    shim.parent.mkdir()
    log = tmp_path / "list-langs.log"
    shim.write_text(
        f'#!/bin/sh\ncase "$1" in --list-langs) echo $PPID >> "{log}";; esac\nexec "{real}" "$@"\n'
    )
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for n in range(4):
        text_image(src / f"letter-{n}.png", f"Letter number {n} arrived", fmt="PNG")
    path = f"{shim.parent}{os.pathsep}{os.environ['PATH']}"
    run = run_scan2pdf("convert", src, "-o", out, "-j", "1", env={"PATH": path})
    assert run.returncode == 0, run.stderr
    assert len(list(out.glob("*.pdf"))) == 4
    # The coordinator's check of -l, and each worker's first file; not one per file.
    listed_by = log.read_text().split()
    assert len(set(listed_by)) == len(listed_by) < 4, listed_by


def test_a_language_pack_installed_while_a_worker_lives_is_seen(tmp_path: Path) -> None:
    installed = tessdata_folder()
    assert installed is not None
    tessdata = tmp_path / "tessdata"
    tessdata.mkdir()
    (tessdata / "eng.traineddata").symlink_to(installed / "eng.traineddata")
    script = (
        "import os, sys\n"
        "from scan2pdf.core.tools import current_languages\n"
        "print(sorted(current_languages()))\n"
        "print(sorted(current_languages()))\n"
        "os.symlink(sys.argv[1], sys.argv[2])\n"
        "print(sorted(current_languages()))\n"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            str(installed / "spa.traineddata"),
            str(tessdata / "spa.traineddata"),
        ],
        env={**os.environ, "TESSDATA_PREFIX": str(tessdata)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.splitlines() == ["['eng']", "['eng']", "['eng', 'spa']"]
