"""A page photographed a little askew: its text layer reads back as its sidecar, word for
word, in pypdf and in poppler's pdftotext alike (worker/level.py).

The words are compared as multisets: poppler may still order a short line beside a long
one as a column of its own; what levelling prevents is lines cut into fragments of a few
letters ("ci un co wn to e th" for "the town council"), which are no longer words."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import ocrmypdf
import pytest
from PIL import Image, ImageFilter
from pillow_heif import from_pillow

from scan2pdf.worker.level import level_text_layers

from .conftest import SAMPLES, run_scan2pdf
from .helpers import pdf_text

PDFTOTEXT = shutil.which("pdftotext")
needs_poppler = pytest.mark.skipif(PDFTOTEXT is None, reason="poppler's pdftotext is absent")


def words(text: str) -> Counter[str]:
    return Counter(re.findall(r"\w+", text.lower()))


def poppler_text(pdf: Path) -> str:
    assert PDFTOTEXT is not None
    done = subprocess.run([PDFTOTEXT, str(pdf), "-"], capture_output=True, text=True, check=True)
    return done.stdout


def letter(turned: float) -> Image.Image:
    """The samples' English letter (page 1), turned ``turned`` degrees counter-clockwise."""
    with Image.open(SAMPLES / "letters" / "english-letter.tif") as tif:
        page = tif.convert("L")
    return page.rotate(turned, resample=Image.Resampling.BICUBIC, fillcolor=255)


def phone_photo(path: Path) -> Path:
    """What a phone makes of the letter: colour, on a table, 1.5 degrees askew, stored
    sideways with EXIF orientation 6 (turn 90 degrees clockwise to view), as HEIC."""
    page = letter(1.5)
    page = page.resize((page.width * 3 // 2, page.height * 3 // 2), Image.Resampling.LANCZOS)
    tint = (lambda v: v * 0.95 + 10, lambda v: v * 0.92 + 8, lambda v: v * 0.85 + 5)
    paper = Image.merge("RGB", [page.point(t) for t in tint])
    frame = Image.new("RGB", (2016, 2688), (90, 80, 70))
    frame.paste(paper, ((frame.width - paper.width) // 2, (frame.height - paper.height) // 2))
    stored = frame.filter(ImageFilter.GaussianBlur(1)).rotate(90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = 6
    from_pillow(stored).save(path, quality=90, exif=exif.tobytes())
    return path


@needs_poppler
def test_a_phone_photo_reads_back_as_its_sidecar(tmp_path: Path) -> None:
    source = phone_photo(tmp_path / "photo.heic")
    run = run_scan2pdf("convert", source, "-o", tmp_path / "out", report=tmp_path / "r.jsonl")
    assert run.returncode == 0, run.stderr
    output, sidecar = tmp_path / "out" / "photo.pdf", tmp_path / "out" / "photo.txt"
    said = words(sidecar.read_text(encoding="utf-8"))
    assert said["harbour"] == 2 and said["treasurer"] == 1  # the letter was read
    assert words(pdf_text(output)) == said  # pypdf follows the drawing order
    assert words(poppler_text(output)) == said  # poppler groups glyphs by baseline


@needs_poppler
def test_tilted_lines_are_laid_level_and_read_in_order(tmp_path: Path) -> None:
    # OCRmyPDF alone (its sandwich renderer, none of our plugins): a layer as Tesseract
    # lays it, tilted with the page, whatever scan2pdf's pipeline does with it.
    letter(2.0).save(tmp_path / "askew.png", dpi=(200, 200))
    output, sidecar = tmp_path / "askew.pdf", tmp_path / "askew.txt"
    ocrmypdf.ocr(
        tmp_path / "askew.png",
        output,
        sidecar=sidecar,
        pdf_renderer="sandwich",
        output_type="pdf",
        optimize=0,
        progress_bar=False,
    )
    said = words(sidecar.read_text(encoding="utf-8"))
    assert words(poppler_text(output)) != said  # cut into fragments of a few letters
    assert level_text_layers(output) == 6  # the title and the body's five lines
    assert words(poppler_text(output)) == said
    assert words(pdf_text(output)) == said
    assert level_text_layers(output) == 0  # level now: nothing left to do, not saved
