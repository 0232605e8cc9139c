"""How sure the OCR is: per-file confidence, pages to check, blank pages, and what made it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from click.testing import CliRunner
from PIL import Image

from scan2pdf.cli.commands import cli
from scan2pdf.state.journal import default_path
from scan2pdf.worker.loaded import reader

from .conftest import SAMPLES, SamplesRun, run_scan2pdf
from .test_upright import turned_copy


def test_every_converted_file_says_how_sure_its_ocr_is(samples_run: SamplesRun) -> None:
    rows = samples_run.run.by_name()
    letter = rows["english-letter.tif"]
    assert isinstance(letter["confidence"], float) and letter["confidence"] > 80
    assert (letter["low_confidence_pages"], letter["blank_pages"]) == ([], [])
    # A page with text already is not OCRed, so not rated: the memo's page 1.
    memo = rows["digital-memo.pdf"]
    assert memo["ocr_pages"] == 1 and isinstance(memo["confidence"], float)
    with sqlite3.connect(default_path(samples_run.outdir)) as db:
        made = json.loads(db.execute("SELECT made_by FROM files LIMIT 1").fetchone()[0])
    assert set(made) == {"ocrmypdf", "tesseract", "reader", "ghostscript", "traineddata"}
    assert made["reader"] == reader()  # the workers read as this process would
    assert set(made["traineddata"]) == {"eng", "spa", "chi_sim"}
    assert all(len(digest) == 16 for digest in made["traineddata"].values())


def test_review_lists_the_pages_to_check_worst_first(tmp_path: Path) -> None:
    upside_down = turned_copy(tmp_path / "down.png", 180)  # read as it is: garbage
    blank = tmp_path / "blank.png"
    page = Image.new("L", (1700, 2200), 255)
    for x in range(5):  # a few specks
        page.putpixel((300 + 200 * x, 400), 0)
    page.save(blank, dpi=(200, 200))
    run = run_scan2pdf(
        "convert",
        upside_down,
        blank,
        SAMPLES / "letters" / "english-letter.tif",
        "-o",
        tmp_path / "out",
        "--no-upright",
        report=tmp_path / "r.jsonl",
    )
    rows = run.by_name()
    assert rows["down.png"]["low_confidence_pages"] == [1]
    assert rows["blank.png"]["blank_pages"] == [1]
    assert rows["blank.png"]["confidence"] is None
    assert (
        "no text found on page(s) 1 (blank?); their sidecar pages are left empty"
        in rows["blank.png"]["notes"]
    )
    assert (tmp_path / "out" / "blank.txt").read_text() == ""
    review = CliRunner().invoke(cli, ["status", str(tmp_path / "out"), "--review"])
    assert review.exit_code == 0, review.output
    lines = review.output.splitlines()
    assert len(lines) == 2  # the letter reads clearly: not listed
    assert lines[0].startswith("    -  ") and lines[0].endswith("blank.pdf: page 1 (no text)")
    confidence = float(str(rows["down.png"]["confidence"]))
    assert (
        lines[1] == f"{confidence:5.1f}  {tmp_path / 'out' / 'down.pdf'}: page 1 ({confidence:.0f})"
    )


def test_review_says_so_when_nothing_needs_a_look(samples_run: SamplesRun) -> None:
    review = CliRunner().invoke(cli, ["status", str(samples_run.outdir), "--review"])
    assert review.exit_code == 0
    assert review.output == "Nothing to review: every page of 5 files read clearly.\n"
