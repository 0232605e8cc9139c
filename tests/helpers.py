"""Small helpers for tests that read PDFs and make awkward inputs."""

from __future__ import annotations

import os
import re
import shutil
import stat
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pytest
from PIL import Image, ImageDraw, ImageFont, ImageStat
from pypdf import PdfReader

from scan2pdf.worker.sidecar import layer_text

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def outputs(out: Path) -> list[Path]:
    """The files a run wrote into OUTDIR, without its journal folder (.scan2pdf/)."""
    return sorted(
        p for p in out.rglob("*") if p.is_file() and p.relative_to(out).parts[0] != ".scan2pdf"
    )


def pdf_pages(path: Path) -> int:
    return len(PdfReader(path).pages)


def pdf_text(path: Path) -> str:
    """The text layer as pypdf reads it (see scan2pdf.sidecar.layer_text on NULs)."""
    reader = PdfReader(path)
    return "\f".join(layer_text(reader, i) for i in range(len(reader.pages)))


def squash(text: str) -> str:
    """Lower-case, NFC, no whitespace: compare OCR text without layout noise."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFC", text)).lower()


def text_image(
    path: Path,
    text: str,
    size: tuple[int, int] = (1000, 300),
    dpi: int | None = 300,
    mode: str = "L",
    fmt: str | None = None,
) -> Path:
    """A clean image of one line of text, for inputs the samples do not cover."""
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    try:
        font: ImageFont.FreeTypeFont | ImageFont.ImageFont = ImageFont.truetype(FONT, 56)
    except OSError:
        font = ImageFont.load_default(56)
    draw.text((40, 100), text, font=font, fill=0)
    image = image.convert(mode)
    kwargs = {"dpi": (dpi, dpi)} if dpi else {}
    image.save(path, format=fmt, **kwargs)
    return path


def encrypted_pdf(source: Path, target: Path, user_password: str) -> Path:
    with pikepdf.open(source) as pdf:
        pdf.save(target, encryption=pikepdf.Encryption(user=user_password, owner="owner"))
    return target


def rendered_lightness(pdf: Path, page: int = 0) -> tuple[float, tuple[int, int]]:
    """Mean lightness (0 black .. 255 white) of a page as a viewer draws it, and its size.

    A page of dark text on paper is mostly light; an inverted one is mostly dark.
    """
    import pypdfium2 as pdfium  # installed with OCRmyPDF 17

    document = pdfium.PdfDocument(str(pdf))
    try:
        image = document[page].render(scale=0.25).to_pil().convert("L")
    finally:
        document.close()
    return ImageStat.Stat(image).mean[0], image.size


def wait_for(predicate: Callable[[], bool], deadline: float, what: str) -> None:
    """Poll until ``predicate`` holds; fail the test with ``what`` after ``deadline`` s."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out after {deadline} s waiting for {what}")


def tesseract_shim(tmp: Path, version: str | None = None) -> tuple[dict[str, str], Path]:
    """A ``tesseract`` on PATH that logs each run's arguments, then runs the real one
    (or, with ``version``, says it is that version)."""
    real = shutil.which("tesseract")
    assert real is not None
    shim, log = tmp / "bin" / "tesseract", tmp / "tesseract.log"
    shim.parent.mkdir()
    fake = f'case "$1" in --version) echo "tesseract {version}"; exit 0;; esac\n' if version else ""
    shim.write_text(f'#!/bin/sh\necho "$@" >> "{log}"\n{fake}exec "{real}" "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    log.touch()
    return {"PATH": f"{shim.parent}{os.pathsep}{os.environ['PATH']}"}, log


def helvetica_page(pdf: pikepdf.Pdf, content: bytes) -> pikepdf.Page:
    """A Letter page of ``pdf`` drawn by ``content``, with Helvetica (not embedded) as
    its font /F1: born-digital text, as a word processor writes it."""
    helvetica = pikepdf.Dictionary(
        Type=pikepdf.Name.Font,
        Subtype=pikepdf.Name.Type1,
        BaseFont=pikepdf.Name.Helvetica,
        Encoding=pikepdf.Name.WinAnsiEncoding,
    )
    page = pikepdf.Dictionary(
        Type=pikepdf.Name.Page,
        MediaBox=[0, 0, 612, 792],
        Contents=pdf.make_stream(content),
        Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=helvetica)),
    )
    return pikepdf.Page(page)
