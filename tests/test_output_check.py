"""An output OCRmyPDF's own final check cannot decode is looked at with PDFium instead.

OCRmyPDF 17.13.0 ends each file by decoding every image of the PDF it has written with
pikepdf, which cannot decode a bilevel image in a DeviceN colour space: the check raises
(``HifiPrintImageNotTranscodableError`` for JBIG2 left as it is, ``NotImplementedError``
for the CCITT image Ghostscript makes of it in PDF/A) after a good searchable PDF is in
place. Peers' test files have such PDFs (a JBIG2 scan from a print workflow). The runs
here are real (OCRmyPDF, Tesseract, Ghostscript), in-process so that one test can damage
the output between OCRmyPDF's writing it and its check.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pikepdf
import pytest
from pikepdf import Array, Dictionary, Name
from PIL import Image, ImageDraw, ImageFont, TiffImagePlugin

from scan2pdf.core.jobs import Job
from scan2pdf.core.options import Options
from scan2pdf.worker.task import convert_file
from scan2pdf.worker.verify import pages_unlike

from .helpers import FONT, pdf_pages, pdf_text, squash

LINES = ("Harbour office archive 1962", "Minutes of the meeting about the pier")
WIDTH, HEIGHT = 1700, 2200  # Letter at 200 dpi


def bilevel_scan() -> Image.Image:
    image = Image.new("1", (WIDTH, HEIGHT), 1)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, 48)
    for row, line in enumerate(LINES):
        draw.text((150, 200 + row * 90), line, font=font, fill=0)
    return image


def group4(image: Image.Image) -> bytes:
    """The image's CCITT G4 data: one strip of a TIFF Pillow (libtiff) writes."""
    saved = TiffImagePlugin.STRIP_SIZE
    TiffImagePlugin.STRIP_SIZE = 1 << 30  # one strip, so the data is one run
    try:
        buffer = io.BytesIO()
        image.save(buffer, "TIFF", compression="group4")
    finally:
        TiffImagePlugin.STRIP_SIZE = saved
    with Image.open(io.BytesIO(buffer.getvalue())) as tiff:
        offset, count = tiff.tag_v2[273][0], tiff.tag_v2[279][0]
    return buffer.getvalue()[offset : offset + count]


def jbig2(image: Image.Image) -> bytes:
    """An embedded JBIG2 stream (as PDF holds it): a page-information segment and an
    immediate generic region coded MMR, which is the same coding as CCITT G4."""

    def segment(number: int, kind: int, data: bytes) -> bytes:
        # number, type (page association 1 byte), no referred segments, page 1, length
        return struct.pack(">IBBBI", number, kind, 0, 1, len(data)) + data

    page = segment(0, 48, struct.pack(">IIIIBH", image.width, image.height, 0, 0, 0, 0))
    region_info = struct.pack(">IIIIB", image.width, image.height, 0, 0, 0)
    region = segment(1, 38, region_info + bytes([1]) + group4(image))  # flags: MMR
    return page + region


def devicen_jbig2_pdf(target: Path) -> Path:
    """One Letter page whose scan is JBIG2 in a one-ink DeviceN space (ink 1 = black)."""
    with pikepdf.new() as pdf:
        tint = pdf.make_stream(b"{1 exch sub}", FunctionType=4, Domain=[0, 1], Range=[0, 1])
        scan = pdf.make_stream(
            jbig2(bilevel_scan()),
            Type=Name.XObject,
            Subtype=Name.Image,
            Width=WIDTH,
            Height=HEIGHT,
            BitsPerComponent=1,
            ColorSpace=Array([Name.DeviceN, Array([Name("/Black")]), Name.DeviceGray, tint]),
            Decode=[0, 1],
            Filter=Name.JBIG2Decode,
        )
        page = Dictionary(
            Type=Name.Page,
            MediaBox=[0, 0, 612, 792],
            Contents=pdf.make_stream(b"q 612 0 0 792 0 0 cm /Im0 Do Q"),
            Resources=Dictionary(XObject=Dictionary(Im0=scan)),
        )
        pdf.pages.append(pikepdf.Page(page))
        pdf.save(target)
    return target


def job(tmp_path: Path, options: Options) -> Job:
    source = devicen_jbig2_pdf(tmp_path / "print.pdf")
    return Job(str(source), source, "pdf", tmp_path / "o.pdf", tmp_path / "o.txt", options, 0)


@pytest.mark.parametrize("output_type", ["auto", "pdf"])
def test_an_output_ocrmypdf_cannot_check_is_published_when_it_looks_right(
    tmp_path: Path, output_type: str
) -> None:
    outcome = convert_file(job(tmp_path, Options(output_type=output_type)), 1)
    result = outcome.result
    assert result.status == "converted", result.message
    exception = (
        "NotImplementedError" if output_type == "auto" else ("HifiPrintImageNotTranscodableError")
    )
    assert result.notes == (
        "OCRmyPDF's own check of the finished PDF stopped on an image pikepdf cannot decode "
        f"({exception}); PDFium drew every page of it like the input's, so it is published",
    )
    assert isinstance(outcome.pdf, Path)
    assert pdf_pages(outcome.pdf) == 1
    layer = squash(pdf_text(outcome.pdf))
    for line in LINES:
        assert squash(line) in layer
    assert pages_unlike(tmp_path / "print.pdf", outcome.pdf) == ()


def test_an_output_damaged_before_the_check_fails_invalid_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ocrmypdf._pipelines import _common  # where OCRmyPDF 17.13 calls its check

    real_check = _common.check_pdf

    def damage_then_check(path: Path, progress: object = None) -> bool:
        with pikepdf.open(path, allow_overwriting_input=True) as pdf:
            for image in pdf.pages[0].get_images().values():
                # the scan's data lost: PDFium draws a blank page
                image.write(b"\0" * 16, filter=Name.JBIG2Decode)
            pdf.save(path)
        return real_check(path, progress)

    monkeypatch.setattr(_common, "check_pdf", damage_then_check)
    result = convert_file(job(tmp_path, Options(output_type="pdf")), 1).result
    assert (result.status, result.reason) == ("failed", "invalid_output")
    assert result.message == (
        "OCRmyPDF could not check its output (HifiPrintImageNotTranscodableError), and "
        "page(s) 1 of it do not look like the input. Run it again with -v and "
        "--output-type pdf and report the output."
    )
    assert not (tmp_path / "o.pdf").exists()


def test_pages_unlike_sees_a_lost_scan_and_a_missing_page(tmp_path: Path) -> None:
    source = devicen_jbig2_pdf(tmp_path / "print.pdf")
    assert pages_unlike(source, source) == ()
    blank = tmp_path / "blank.pdf"
    with pikepdf.open(source) as pdf:
        for image in pdf.pages[0].get_images().values():
            image.write(b"")
        pdf.save(blank)
    assert pages_unlike(source, blank) == (1,)
    longer = tmp_path / "longer.pdf"
    with pikepdf.open(source) as pdf:
        pdf.pages.append(pdf.pages[0])
        pdf.save(longer)
    assert pages_unlike(source, longer) == (2,)
