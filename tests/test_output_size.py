"""An output is never much larger than OCRmyPDF's own for the same input.

A born-digital letter in Helvetica (not embedded, as most office software writes it) with a
second page holding only a drawn line: OCRmyPDF OCRs the second page, finds nothing, and
its PDF/A pass must embed a Helvetica. With the sandwich renderer the empty page's text
layer carried an embedded glyphless font, which made OCRmyPDF 17.13 tell Ghostscript not to
subset fonts: 52 kB against OCRmyPDF's 7 kB. Real runs: OCRmyPDF, Tesseract, Ghostscript.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pikepdf
from pikepdf import Dictionary, Name

from .conftest import run_scan2pdf
from .helpers import helvetica_page, pdf_text, squash

LINES = (
    "Quarterly report of the harbour office, 1962.",
    "Revenue rose by four percent on the previous year.",
)


def born_digital_letter(target: Path) -> Path:
    with pikepdf.new() as pdf:
        shown = b" 0 -20 Td ".join(b"(" + line.encode() + b") Tj" for line in LINES)
        pdf.pages.append(helvetica_page(pdf, b"BT /F1 14 Tf 72 700 Td " + shown + b" ET"))
        line = pdf.make_stream(b"0.5 w 72 72 m 540 72 l S")
        pdf.pages.append(
            pikepdf.Page(Dictionary(Type=Name.Page, MediaBox=[0, 0, 612, 792], Contents=line))
        )
        pdf.save(target)
    return target


def font_names(pdf_path: Path) -> set[str]:
    with pikepdf.open(pdf_path) as pdf:
        return {
            str(font.BaseFont)
            for page in pdf.pages
            for font in page.Resources.get("/Font", {}).values()
        }


def test_a_born_digital_letter_is_no_larger_than_ocrmypdfs_output(tmp_path: Path) -> None:
    source = born_digital_letter(tmp_path / "letter.pdf")
    peer = tmp_path / "ocrmypdf.pdf"
    ocrmypdf = [sys.executable, "-m", "ocrmypdf", "-q", "--skip-text"]
    subprocess.run([*ocrmypdf, str(source), str(peer)], check=True)
    run = run_scan2pdf("convert", str(source), "-o", str(tmp_path / "out"))
    assert run.returncode == 0, run.stderr
    ours = tmp_path / "out" / "letter.pdf"
    assert ours.stat().st_size <= 1.5 * peer.stat().st_size, (
        ours.stat().st_size,
        peer.stat().st_size,
    )
    # Helvetica is embedded (PDF/A) as a subset, and the letter's own text is kept.
    (helvetica,) = font_names(ours)
    assert helvetica.endswith("+Helvetica"), helvetica
    assert all(squash(line) in squash(pdf_text(ours)) for line in LINES)
