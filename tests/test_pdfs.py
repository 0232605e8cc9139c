"""PDF preflight: damaged, unusual and protected PDFs each get a specific outcome."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pikepdf
import pytest
from pikepdf import Array, Dictionary, Name
from PIL import Image, ImageDraw, ImageFont

from .conftest import SAMPLES, Run, run_scan2pdf
from .helpers import FONT, outputs, pdf_pages, squash

TEXT = "Odd PDFs still get read"
REPORT = SAMPLES / "reports" / "scanned-report.pdf"


def text_image(size: tuple[int, int] = (1200, 300)) -> Image.Image:
    image = Image.new("L", size, 255)
    try:
        font: ImageFont.FreeTypeFont | ImageFont.ImageFont = ImageFont.truetype(FONT, 64)
    except OSError:
        font = ImageFont.load_default(64)
    ImageDraw.Draw(image).text((40, 100), TEXT, font=font, fill=0)
    return image


def blank_pdf(size: tuple[float, float] = (612, 792)) -> pikepdf.Pdf:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=size)
    return pdf


def broken_xref(path: Path) -> None:
    data = REPORT.read_bytes()
    path.write_bytes(data[: data.rfind(b"startxref")] + b"startxref\n999\n%%EOF\n")


def no_contents(path: Path) -> None:
    pdf = blank_pdf()
    if "/Contents" in pdf.pages[0].obj:
        del pdf.pages[0].obj["/Contents"]
    pdf.save(path)


def inline_image(path: Path) -> None:
    pdf = blank_pdf()
    raw = text_image().tobytes()
    pdf.pages[0].obj.Contents = pdf.make_stream(
        b"q 576 0 0 144 18 600 cm BI /W 1200 /H 300 /CS /G /BPC 8 ID " + raw + b"\nEI Q"
    )
    pdf.save(path)


def xobject_page(path: Path, image: pikepdf.Stream, pdf: pikepdf.Pdf, matrix: bytes) -> None:
    pdf.pages[0].obj.Resources = Dictionary(XObject=Dictionary(Im=image))
    pdf.pages[0].obj.Contents = pdf.make_stream(b"q " + matrix + b" cm /Im Do Q")
    pdf.save(path)


def jpeg2000(path: Path) -> None:
    buffer = io.BytesIO()
    text_image().save(buffer, "JPEG2000")
    pdf = blank_pdf()
    jpx = pdf.make_stream(
        buffer.getvalue(),
        Type=Name.XObject,
        Subtype=Name.Image,
        Width=1200,
        Height=300,
        Filter=Name.JPXDecode,
    )
    xobject_page(path, jpx, pdf, b"576 0 0 144 18 600")


def stencil_absurd(path: Path) -> None:
    pdf = blank_pdf()
    mask = pdf.make_stream(
        bytes([0xAA]) * 8,
        Type=Name.XObject,
        Subtype=Name.Image,
        Width=8,
        Height=8,
        ImageMask=True,
        BitsPerComponent=1,
    )
    xobject_page(path, mask, pdf, b"1e9 0 0 1e9 -5e8 -5e8")


def dynamic_xfa(path: Path) -> None:
    with pikepdf.open(REPORT) as pdf:
        xdp = pdf.make_stream(b"<xdp:xdp xmlns:xdp='http://ns.adobe.com/xdp/'></xdp:xdp>")
        pdf.Root.AcroForm = Dictionary(Fields=Array([]), XFA=xdp)
        pdf.Root.NeedsRendering = True
        pdf.save(path)


@dataclass(frozen=True)
class Case:
    make: Callable[[Path], None]
    status: str
    reason: str | None = None
    pages: int | None = None
    text: str | None = None
    notes: tuple[str, ...] = ()


BLANK = ("no text found on page(s) 1 (blank?); their sidecar pages are left empty",)
CASES = {
    "broken-xref.pdf": Case(
        broken_xref,
        "converted",
        pages=2,
        text="Annual Report 1987",
        notes=(
            "damaged PDF repaired by qpdf (cross-reference table rebuilt): 2 pages found in "
            "it, none missing",
        ),
    ),
    "no-contents.pdf": Case(no_contents, "converted", pages=1, notes=BLANK),
    "inline-image.pdf": Case(inline_image, "converted", pages=1, text=TEXT),
    "jpeg2000.pdf": Case(jpeg2000, "converted", pages=1, text=TEXT),
    "stencil-absurd.pdf": Case(stencil_absurd, "converted", pages=1, notes=BLANK),
    "xfa-dynamic.pdf": Case(dynamic_xfa, "failed", reason="xfa"),
}


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Run:
    base = tmp_path_factory.mktemp("pdfs")
    (base / "in").mkdir()
    for name, case in CASES.items():
        case.make(base / "in" / name)
    return run_scan2pdf(
        "convert", base / "in", "-o", base / "out", "--timeout", "120", report=base / "report.jsonl"
    )


@pytest.mark.parametrize("name", sorted(CASES))
def test_pdf_kind_has_its_outcome(converted: Run, name: str) -> None:
    case, row = CASES[name], converted.by_name()[name]
    assert (row["status"], row["reason"]) == (case.status, case.reason)
    assert row["notes"] == list(case.notes)
    if case.status == "converted":
        assert pdf_pages(Path(str(row["output"]))) == case.pages
        if case.text:
            assert squash(case.text) in squash(Path(str(row["sidecar"])).read_text())
    else:
        assert row["output"] is None


def test_xfa_message_says_what_to_do(converted: Run) -> None:
    assert converted.by_name()["xfa-dynamic.pdf"]["message"] == (
        "The PDF is a dynamic XFA form. Its pages are drawn by Adobe's form engine at "
        "viewing time, so there is nothing to OCR; open it in Adobe Acrobat or Reader, "
        "print it to PDF, and convert that."
    )


def test_timeout_stops_one_file_and_the_batch_goes_on(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    with pikepdf.open(REPORT) as report, pikepdf.new() as long:
        for _ in range(16):
            long.pages.extend(report.pages)
        # 32 pages: about 5 s even with both slots (8 pages once took 1.96 s: too close).
        long.save(src / "long.pdf")
    text_image().save(src / "short.png", dpi=(300, 300))
    run = run_scan2pdf(
        "convert",
        src,
        "-o",
        tmp_path / "out",
        "-j",
        "2",
        "--timeout",
        "2",
        report=tmp_path / "r.jsonl",
    )
    rows = run.by_name()
    assert run.returncode == 1
    assert (rows["long.pdf"]["status"], rows["long.pdf"]["reason"]) == ("failed", "timeout")
    assert rows["long.pdf"]["message"] == (
        "Stopped after 2 s (--timeout). Raise --timeout if the file is just long, "
        "or convert it alone to find the problem."
    )
    assert rows["short.png"]["status"] == "converted"
    assert [p.name for p in outputs(tmp_path / "out")] == ["short.pdf", "short.txt"]


@pytest.mark.slow
def test_huge_page_fails_as_too_large(tmp_path: Path) -> None:
    """200 x 200 inches: rasterising it for OCR would take 3.6 gigapixels."""
    pdf = blank_pdf((14400, 14400))
    image = pdf.make_stream(
        text_image().tobytes(),
        Type=Name.XObject,
        Subtype=Name.Image,
        Width=1200,
        Height=300,
        ColorSpace=Name.DeviceGray,
        BitsPerComponent=8,
    )
    (tmp_path / "in").mkdir()
    xobject_page(tmp_path / "in" / "huge.pdf", image, pdf, b"288 0 0 72 100 14000")
    run = run_scan2pdf(
        "convert", tmp_path / "in", "-o", tmp_path / "out", report=tmp_path / "r.jsonl"
    )
    assert (run.report[0]["status"], run.report[0]["reason"]) == ("failed", "too_large")
