"""Scans placed on their page at different resolutions across and down, OCRed square.

A PDF page may draw its scan stretched: 1165x1654 pixels over a page 5.8 inches wide and
16.5 tall (200 dpi across, 100 down), as some scanner drivers write fax-mode or
misconfigured scans. OCRmyPDF renders such a page at one resolution, so the glyphs
Tesseract sees are twice as tall as they are wide, and it reads garbage (measured
2026-12-02: character error rate 0.9 on the samples' letter placed that way, with
OCRmyPDF 17.13 alone).

So before OCR each such page gets the page box its scan has at its finer resolution
(square pixels: the scan fills it undistorted), and after OCR the page - scan and text
layer together - is scaled back onto its own box by one ``cm``: the text layer lies over
the words as they are shown, and reads as the unstretched scan does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pikepdf

from scan2pdf.worker.rasterize import scan_placement

# Resolutions across and down that differ by less than this are square (rounding).
_SQUARE = 0.01


@dataclass(frozen=True, slots=True)
class Stretch:
    """A page's own box, and the scale from its square box back onto it."""

    box: tuple[float, float, float, float]
    sx: float
    sy: float


def unstretch(source: Path, target: Path) -> dict[int, Stretch]:
    """Write ``source`` to ``target`` with stretched scans squared; {} (and no file) when
    no page is stretched. Keys are 0-based page indexes."""
    stretches: dict[int, Stretch] = {}
    with pikepdf.open(source) as pdf:
        for index, page in enumerate(pdf.pages):
            placed = scan_placement(page)
            if placed is None:
                continue
            name, width_px, height_px = placed
            x0, y0, x1, y1 = (float(v) for v in page.mediabox)
            across, down = width_px * 72 / (x1 - x0), height_px * 72 / (y1 - y0)
            if abs(across - down) <= _SQUARE * max(across, down):
                continue
            dpi = max(across, down)
            width, height = width_px * 72 / dpi, height_px * 72 / dpi
            page.obj.Contents = pdf.make_stream(
                f"q {width:.4f} 0 0 {height:.4f} 0 0 cm {name} Do Q".encode()
            )
            page.obj.MediaBox = pikepdf.Array([0, 0, width, height])
            for other in ("/CropBox", "/TrimBox", "/BleedBox", "/ArtBox"):
                if other in page.obj:
                    del page.obj[other]
            stretches[index] = Stretch((x0, y0, x1, y1), (x1 - x0) / width, (y1 - y0) / height)
        if stretches:
            pdf.save(target)
    return stretches


def restretch(pdf_path: Path, stretches: dict[int, Stretch]) -> None:
    """Scale each squared page of the OCRed ``pdf_path`` back onto its own box, in place."""
    with pikepdf.open(pdf_path, allow_overwriting_input=True) as pdf:
        for index, stretch in stretches.items():
            page = pdf.pages[index]
            x0, y0, _, _ = stretch.box
            page.contents_add(
                pdf.make_stream(f"q {stretch.sx:.6f} 0 0 {stretch.sy:.6f} {x0} {y0} cm".encode()),
                prepend=True,
            )
            page.contents_add(pdf.make_stream(b"Q"))
            page.obj.MediaBox = pikepdf.Array(list(stretch.box))
            for other in ("/CropBox", "/TrimBox", "/BleedBox", "/ArtBox"):
                if other in page.obj:
                    page.obj[other] = pikepdf.Array(list(stretch.box))
        pdf.save(pdf_path)
